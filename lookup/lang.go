package lookup

import (
	"fmt"
	"strings"
)

// The domain's own sentences (trace and report warnings, the answers to a report
// that could not be read) are built in English and in Chinese side by side, from
// the same arguments, so numbers, stages, session ids, paths and commands are the
// same in both. The English stays the exported Message (and the JSON of --json);
// Text(lang) gives the reply language's.

// sentence is one sentence in English and Chinese.
type sentence struct{ en, zh string }

// say formats en and zh with the same args (zh may reorder them with %[n]s).
func say(en, zh string, args ...any) sentence {
	return sentence{fmt.Sprintf(en, args...), fmt.Sprintf(zh, args...)}
}

// plus appends o to s in both languages.
func (s sentence) plus(o sentence) sentence { return sentence{s.en + o.en, s.zh + o.zh} }

// isChinese reports whether lang asks for Chinese ("zh", "zh-CN", …), as
// Request.Interpretation reads it.
func isChinese(lang string) bool { return strings.HasPrefix(strings.ToLower(lang), "zh") }

// inLang returns zh when lang is Chinese and zh is set, else en.
func inLang(lang, en, zh string) string {
	if zh != "" && isChinese(lang) {
		return zh
	}
	return en
}

// Text is the warning in lang ("zh" for Chinese, anything else English).
func (w Warning) Text(lang string) string { return inLang(lang, w.Message, w.zh) }

// Text is the warning in lang ("zh" for Chinese, anything else English).
func (w ReportWarning) Text(lang string) string { return inLang(lang, w.Message, w.zh) }

// Text is the error's message in lang ("zh" for Chinese, anything else English).
func (e *Error) Text(lang string) string { return inLang(lang, e.Message, e.zh) }

// MissingText is Missing in lang: what a better report would contain.
func (e *Error) MissingText(lang string) []string { return listInLang(lang, e.Missing, e.missingZH) }

// UnderstoodText is Understood in lang: what was read of the report.
func (e *Error) UnderstoodText(lang string) []string {
	return listInLang(lang, e.Understood, e.understoodZH)
}

func listInLang(lang string, en, zh []string) []string {
	if !isChinese(lang) || len(zh) != len(en) {
		return en
	}
	out := make([]string, len(en))
	for i := range en {
		out[i] = inLang(lang, en[i], zh[i])
	}
	return out
}

// errorSay returns a user-facing error worded in both languages.
func errorSay(code string, s sentence) *Error {
	return &Error{Code: code, Message: s.en, zh: s.zh}
}
