package lookup

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The Chinese of every warning and every not-understood answer must be Chinese (no
// run of four English words outside code and identifiers) and carry the same
// numbers, ids and paths as the English.

// TestTraceWarningsInChinese checks the warnings of the sample world's traces and
// of traces built to raise the ones the sample world does not.
func TestTraceWarningsInChinese(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range langTraceWarnings(t) {
		seen[w.Code] = true
		checkChinese(t, w.Code+"/"+w.Stage, w.Message, w.Text("zh"))
		if got := w.Text("en"); got != w.Message {
			t.Errorf("%s: Text(en) = %q, want the Message %q", w.Code, got, w.Message)
		}
	}
	for _, code := range []string{WarnCacheMiss, WarnLength, WarnContentFilter, WarnMissingGenID, WarnProviderChange,
		WarnCostMismatch, WarnReprocessed, WarnMissingStage, WarnNoUsage, WarnDefaultZone, WarnNotAnalyzed, WarnOtherTime, WarnUnreadDate} {
		if !seen[code] {
			t.Errorf("no trace raised %s: the test does not see its Chinese", code)
		}
	}
}

// TestReportWarningsInChinese checks every warning of the sandbox reports.
func TestReportWarningsInChinese(t *testing.T) {
	e := NewSandboxReports(ReportConfig{CacheMin: DefaultCacheMin, LengthMax: DefaultLengthMax})
	n := 0
	for _, kind := range []string{"cost", "cache", "finish", "providers", "deploys"} {
		q, err := ParseReportQuery(kind, ReportParseOptions{Now: SandboxNow})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.Report(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range r.Warnings {
			n++
			checkChinese(t, kind+": "+w.Code, w.Message, w.Text("zh"))
		}
	}
	if n < 7 {
		t.Errorf("%d report warnings, want every kind of the sample world's (7)", n)
	}
}

// TestNotUnderstoodInChinese checks the answer to every report the parser refuses
// (parse_test.go's error cases and more), and to refused report words.
func TestNotUnderstoodInChinese(t *testing.T) {
	var errs []*Error
	for _, tc := range parseCases {
		if tc.wantErr != nil {
			errs = append(errs, langParseError(t, tc.text, parseCaseOptions(tc)))
		}
	}
	for _, text := range []string{"(555) 123-4567", "265-4371", "914265437 5/20", "914-265-4371 2/30", "914-265-4371 25:00",
		"914-265-4371 13pm", "nothing here", strings.Repeat("9", parseMaxTextBytes+1), "914-265-4371 5/20 1:15pn",
		"914-265-4371 2026-05-20T13:15:00+25:00", "914-265-4371 a month ago"} {
		errs = append(errs, langParseError(t, text, ParseOptions{Now: parseTestNow}))
	}
	for _, text := range []string{"", "cahce 24h", "weather 2h", "cost fortnight", "cost since 25:00", "cost 0h",
		"cost env staging", "cache 30d"} {
		_, err := ParseReportQuery(text, ReportParseOptions{Now: SandboxNow})
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("ParseReportQuery(%q) = %v, want *Error", text, err)
		}
		errs = append(errs, e)
	}
	eng := NewSandboxReports(ReportConfig{})
	for _, q := range []ReportQuery{{Kind: "weather", From: SandboxNow.Add(-time.Hour), To: SandboxNow},
		{Kind: ReportCost, From: SandboxNow, To: SandboxNow}} {
		_, err := eng.Report(context.Background(), q)
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("Report(%v) = %v, want *Error", q, err)
		}
		errs = append(errs, e)
	}
	for _, e := range errs {
		checkChinese(t, e.Message, e.Message, e.Text("zh"))
		missing, understood := e.MissingText("zh"), e.UnderstoodText("zh")
		if len(missing) != len(e.Missing) || len(understood) != len(e.Understood) {
			t.Errorf("%q: Chinese Missing %q / Understood %q do not match %q / %q", e.Message, missing, understood, e.Missing, e.Understood)
			continue
		}
		for i := range missing {
			checkChinese(t, "missing "+e.Missing[i], "", missing[i])
		}
		for i := range understood {
			checkChinese(t, "understood "+e.Understood[i], "", understood[i])
		}
		if !slices.Equal(e.MissingText("en"), e.Missing) || e.Text("en") != e.Message {
			t.Errorf("%q: English text differs from the Message and Missing", e.Message)
		}
	}
}

func langParseError(t *testing.T, text string, opt ParseOptions) *Error {
	t.Helper()
	_, err := ParseReport(text, opt)
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("ParseReport(%.40q) = %v, want *Error", text, err)
	}
	return e
}

// langTraceWarnings traces every sample report, then diagnoses traces made to
// raise the warnings the sample world has no call for.
func langTraceWarnings(t *testing.T) []Warning {
	t.Helper()
	sb := NewSandbox(0)
	svc := NewService(sb.Calls, sb.Usage, sb.Generations, ServiceConfig{Sandbox: true})
	var out []Warning
	for _, c := range SandboxReports {
		req, err := ParseReport(c.Report, ParseOptions{Now: SandboxNow})
		if err != nil {
			t.Fatalf("%s: %v", c.Report, err)
		}
		out = append(out, svc.Trace(context.Background(), req, nil).Warnings...)
	}
	at := SandboxNow.Add(-time.Hour)
	zoneless := newTrace(Request{Phone: "+18005550100", At: &at, ZoneName: "America/New_York", ZoneSource: ZoneSourceDefault}, true)
	out = append(out, zoneless.Warnings...)
	// Reports whose days were read with a warning (parse_test.go's cases).
	for _, text := range []string{"914-265-4371 5/21 9:02am; the call was 5/20 1:15pm", "914-265-4371 5/20 1:15pm, ticket 5/18", "914-265-4371 5-20"} {
		req, err := ParseReport(text, ParseOptions{Now: SandboxNow})
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		out = append(out, newTrace(req, true).Warnings...)
	}
	unanalyzed := &Trace{Call: &Call{StoreID: "store-1"}}
	unanalyzed.finish()
	out = append(out, unanalyzed.Warnings...)
	filtered := &Trace{Call: &Call{StoreID: "store-1", S3AnalysisPath: "s3://b/k"}, Stages: []Stage{
		{Stage: "triage", FinishReason: "content-filter", LogGroup: "/aws/lambda/x", Timestamp: at, InputTokens: 1200, OutputTokens: 80,
			CacheRatio: ptr(0.5), CacheReadTokens: 600},
		{Stage: StageContacts, LogGroup: "/aws/lambda/y", Timestamp: at, InputTokens: 900, OutputTokens: 40, CacheRatio: ptr(0.25),
			CacheReadTokens: 225, GenerationID: ""},
	}}
	filtered.finish()
	return append(out, filtered.Warnings...)
}

// checkChinese fails when zh is missing, reads as English, or lacks a number, id,
// path or code span of en ("" en: only the first two).
func checkChinese(t *testing.T, name, en, zh string) {
	t.Helper()
	if zh == "" || zh == en {
		t.Errorf("%s: no Chinese (%q)", name, zh)
		return
	}
	if run := englishRun(zh); run != "" {
		t.Errorf("%s: Chinese has the English %q:\n%s", name, run, zh)
	}
	for _, tok := range sameInBoth(en) {
		if !strings.Contains(zh, tok) {
			t.Errorf("%s: Chinese lacks %q of the English:\n en: %s\n zh: %s", name, tok, en, zh)
		}
	}
}

var (
	langCode      = regexp.MustCompile("`[^`]*`")
	langQuoted    = regexp.MustCompile("“[^”]*”") // the reporter's own words
	langDatum     = regexp.MustCompile(`[A-Za-z0-9_$.:/{}~<>+±@-]*[0-9/][A-Za-z0-9_$.:/{}~<>+±@-]*`)
	langWord      = regexp.MustCompile(`^[A-Za-z]+('[a-z]+)?$`)
	langCamelCase = regexp.MustCompile(`[a-z][A-Z]`)
)

// sameInBoth lists what must be the same in every language: code spans and every
// token with a digit or a slash (numbers, times, ids, paths).
func sameInBoth(en string) []string {
	out := langCode.FindAllString(en, -1)
	for _, tok := range langDatum.FindAllString(langCode.ReplaceAllString(en, " "), -1) {
		if tok = strings.TrimRight(tok, ".:"); strings.ContainsAny(tok, "0123456789") || len(tok) > 1 {
			out = append(out, tok)
		}
	}
	return out
}

func TestEnglishRun(t *testing.T) {
	tests := []struct{ name, s, want string }{
		{"english", "classify: stopped by the content filter: check the transcript", "stopped by the content"},
		{"chinese", "classify：被内容过滤（content filter）拦截：请检查转写内容", ""},
		{"code and identifiers", "请运行 `cd lambda/x && npm test tests/unit/a.test.ts`，检查 maxTokens is too small 吗", ""},
		{"quoted input", "“a few days ago” 太模糊", ""},
		{"three words", "sticky routing did 没有生效", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := englishRun(tt.s); got != tt.want {
				t.Errorf("englishRun(%q) = %q, want %q", tt.s, got, tt.want)
			}
		})
	}
}

// englishRun returns the first run of four or more English words in s outside code
// spans, identifiers (camelCase, snake_case, paths, words with digits) excepted.
func englishRun(s string) string {
	var run []string
	s = langQuoted.ReplaceAllString(langCode.ReplaceAllString(s, " | "), " | ")
	for _, f := range strings.Fields(s) {
		w := strings.TrimLeft(f, "(“\"'")
		end := strings.TrimRight(w, ",.;:!?)”\"")
		if !langWord.MatchString(end) || langCamelCase.MatchString(end) {
			run = nil
			continue
		}
		run = append(run, end)
		if len(run) >= 4 {
			return strings.Join(run, " ")
		}
		if end != w {
			run = nil // punctuation ends the phrase
		}
	}
	return ""
}
