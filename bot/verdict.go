package bot

import (
	"strings"
	"unicode/utf8"

	"github.com/callytics/tracebot/lookup"
)

// This file puts SPEC §11's verdict in chat: one line under the call that says
// what happened and what to look at next, and the differing fields, model against
// stored. English shows the verdict's own message; other languages word the same
// verdict from its facts (lookup.VerdictFacts) with the sentences of i18n.go, so
// nothing is machine-translated. Everything here is fit for a channel: the
// verdict holds compared fields' values, never an answer or an input.

// Bounds of the verdict section.
const (
	maxVerdictDiffs = 5  // difference lines; the rest are counted
	maxValueRunes   = 60 // of one value shown in a difference
)

// verdictSection is the verdict line and its differences, or "" when there is no
// verdict (TRACEBOT_VERDICT=off, or no call was traced).
func (r replies) verdictSection(v *lookup.Verdict) string {
	if v == nil {
		return ""
	}
	lines := []string{r.t("v_line", r.verdictLabel(v), literal(r.verdictMessage(v)))}
	n := min(len(v.Differences), maxVerdictDiffs)
	for _, d := range v.Differences[:n] {
		lines = append(lines, r.t("v_diff", code(d.Field), literal(d.Stage), code(clip(d.ModelText(), maxValueRunes)),
			code(clip(d.StoredText(), maxValueRunes))))
	}
	if more := len(v.Differences) - n; more > 0 {
		lines = append(lines, r.t("v_more", more))
	}
	return strings.Join(lines, "\n")
}

// verdictLabel is the verdict's code as a short label ("Mapping bug"); a code this
// bot does not know shows as it is.
func (r replies) verdictLabel(v *lookup.Verdict) string {
	if _, ok := texts["v_"+v.Code]; !ok {
		return v.Code
	}
	return r.t("v_" + v.Code)
}

// verdictMessage is the verdict's one line in the reply's language: the message
// itself in English, else the same verdict worded from its facts. An unknown
// verdict's "no verdict: " is left to the label.
func (r replies) verdictMessage(v *lookup.Verdict) string {
	if r.lang != "zh" {
		return strings.TrimPrefix(v.Message, noVerdict)
	}
	return r.verdictWords(v)
}

// noVerdict opens the message of an unknown verdict.
const noVerdict = "no verdict: "

// verdictWords words v from its facts in the reply's language. In English it says
// what v.Message says (the tests hold the two together), without an unknown
// verdict's "no verdict: ", and naming a failed content read without its cause.
func (r replies) verdictWords(v *lookup.Verdict) string {
	f := v.Facts
	var parts []string
	switch v.Code {
	case lookup.VerdictTruncated:
		s := r.t("vw_not_json", f.Stage, f.Reason)
		if f.CutOff {
			s = r.t("vw_cut_off", f.Stage, f.Look, f.MaxTokens)
		}
		if len(f.Also) > 0 {
			s += r.t("vw_also", r.list(f.Also))
		}
		parts = append(parts, s)
	case lookup.VerdictMappingBug:
		s := r.t("vw_mapping", f.Stage, f.Field, f.Model, f.Stored, f.Look)
		if f.Count > 1 {
			s += r.t("vw_differ", f.Count)
		}
		parts = append(parts, s)
	case lookup.VerdictModelOutput:
		agree := ""
		if f.Count > 1 {
			agree = r.t("vw_agree", f.Count)
		}
		parts = append(parts, r.t("vw_model", f.Stage, f.Field, f.Model, agree, f.Look))
	default:
		if f.Reason != "" {
			parts = append(parts, f.Reason)
		}
	}
	if len(f.NotStored) > 0 {
		parts = append(parts, r.t("vw_not_stored", r.list(f.NotStored)))
	}
	if len(f.Unreadable) > 0 {
		parts = append(parts, r.t("vw_unreadable", r.list(f.Unreadable)))
	}
	return strings.Join(parts, r.t("vw_sep"))
}

// list joins names as the reply's language lists them.
func (r replies) list(names []string) string { return strings.Join(names, r.t("vw_list")) }

// verdictSummary is what the notification text adds for a verdict: its label.
func (r replies) verdictSummary(v *lookup.Verdict) string {
	if v == nil {
		return ""
	}
	return r.t("v_summary", r.verdictLabel(v))
}

// clip cuts s to at most n runes, ending in "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
