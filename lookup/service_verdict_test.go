package lookup_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// verdictCase is one sample call and the verdict it must get.
type verdictCase struct {
	name, report, code string
	message            []string // substrings of the message
	diffs              []string // "stage field model→stored"
}

var verdictCases = []verdictCase{
	{name: "runbook example", report: "(914) 265-4371 5/20 1:15pm", code: lookup.VerdictModelOutput,
		message: []string{"the stored analysis is what the model answered (triage: call_state=voicemail; 7 fields agree)", "transcribe-processor"}},
	{name: "mapping bug", report: "646-555-0134 5/21 2pm", code: lookup.VerdictMappingBug,
		message: []string{"triage answered call_state=human_conversation; the stored analysis says voicemail", "(ai-analysis-processor post-process) is wrong (2 fields differ)"},
		diffs:   []string{`triage call_state "human_conversation"→"voicemail"`, "coaching coaching.coaching_applicable true→false"}},
	{name: "truncated", report: "617.555.0199 2026-05-18 16:20", code: lookup.VerdictTruncated,
		message: []string{"coaching's answer was cut off (finish reason length)", "maxTokens"}},
	{name: "nothing stored", report: "+1 415 555 0123 May 19 around 9:40am", code: lookup.VerdictUnknown,
		message: []string{"no verdict: OpenRouter stored no content for triage (gen-1779212466-Qw3rTy), coaching (gen-1779212472-Zx9CvB)"}},
	{name: "reprocessed", report: "305-555-0187 5月17日 上午11点", code: lookup.VerdictModelOutput},
	{name: "generation ids only", report: "gen-1779299695-aBcDeFg", code: lookup.VerdictUnknown,
		message: []string{"no verdict: no call was traced (only generation ids), so there is no stored analysis"}},
	{name: "candidate by session", report: "session s-4f1a9c0e7d21", code: lookup.VerdictUnknown,
		message: []string{"S3 NoSuchKey on s3://callytics-prod-analysis/2026/05/21/s-4f1a9c0e7d21.json"}},
}

func diffStrings(v *lookup.Verdict) []string {
	var out []string
	for _, d := range v.Differences {
		out = append(out, d.Stage+" "+d.Field+" "+string(d.Model)+"→"+string(d.Stored))
	}
	return out
}

func checkVerdict(t *testing.T, tr *lookup.Trace, tc verdictCase) {
	t.Helper()
	if tr.Outcome != lookup.OutcomeTraced || tr.Verdict == nil || tr.Analysis == nil {
		t.Fatalf("outcome %s verdict %+v analysis %+v errors %v", tr.Outcome, tr.Verdict, tr.Analysis, tr.Errors)
	}
	if tr.Verdict.Code != tc.code {
		t.Errorf("verdict %s (%s), want %s", tr.Verdict.Code, tr.Verdict.Message, tc.code)
	}
	for _, m := range tc.message {
		if !strings.Contains(tr.Verdict.Message, m) {
			t.Errorf("message %q lacks %q", tr.Verdict.Message, m)
		}
	}
	if diff := cmp.Diff(tc.diffs, diffStrings(tr.Verdict)); diff != "" {
		t.Errorf("differences (-want +got):\n%s", diff)
	}
	if strings.Contains(tr.Verdict.Message, "\n") {
		t.Errorf("message is not one line: %q", tr.Verdict.Message)
	}
}

// TestVerdictOverTheWire gets every verdict code through the real clients: the S3
// SDK against the S3 fake, HTTP against the OpenRouter fake, real Postgres.
func TestVerdictOverTheWire(t *testing.T) {
	svc, _ := newWorld(t).Service(t, fastCW)
	for _, tc := range verdictCases {
		t.Run(tc.name, func(t *testing.T) {
			checkVerdict(t, svc.Trace(context.Background(), parse(t, tc.report), nil), tc)
		})
	}
}

// TestVerdictSandbox: the sandbox answers as the wire fakes loaded with the same data.
func TestVerdictSandbox(t *testing.T) {
	sb := lookup.NewSandbox(0)
	svc := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true, Contents: sb.Contents, Analyses: sb.Analyses})
	for _, tc := range verdictCases {
		t.Run(tc.name, func(t *testing.T) {
			checkVerdict(t, svc.Trace(context.Background(), parse(t, tc.report), nil), tc)
		})
	}
}

func TestVerdictStageFields(t *testing.T) {
	svc, _ := newWorld(t).Service(t, fastCW)
	tr := svc.Trace(context.Background(), parse(t, "617.555.0199 2026-05-18 16:20"), nil)
	got := map[string][3]string{}
	for _, s := range tr.Stages {
		got[s.Stage] = [3]string{s.Content, string(s.Output), s.OutputError}
	}
	want := map[string][3]string{
		"triage":   {"stored", `{"call_state":"human_conversation","confidence":0.95,"language":"en"}`, ""},
		"classify": {"stored", `{"intent":"billing_question","staff_name":"Priya","tasks":["Email the itemized invoice"]}`, ""},
		"coaching": {"stored", "", "truncated: finish reason length"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	if a := tr.Analysis; a.Path != "s3://callytics-prod-analysis/2026/05/18/s-91b3f0a6e2d4.json" || !a.Read || a.Error != "" {
		t.Errorf("analysis %+v", a)
	}
	if !strings.HasPrefix(tr.Stages[2].Answer(), `{"coaching_applicable":true`) || !strings.Contains(tr.Stages[2].InputExcerpt(400), "user: Agent: Priya from billing") {
		t.Errorf("coaching answer %q excerpt %q", tr.Stages[2].Answer(), tr.Stages[2].InputExcerpt(400))
	}
}

// TestVerdictReadFailures: each way either read fails leaves the rest of the trace
// intact, with verdict unknown and a one-line cause without secrets.
func TestVerdictReadFailures(t *testing.T) {
	const path = "s3://callytics-prod-analysis/2026/05/20/s-abc123def456.json"
	tests := []struct {
		name  string
		setup func(*lookuptest.World)
		cause string
	}{
		{"s3 timeout", func(w *lookuptest.World) { w.S3.SetLatency(3 * time.Second) }, "S3 read of " + path + " timed out"},
		{"s3 403", func(w *lookuptest.World) { w.S3.Deny("callytics-prod-analysis") }, "S3 AccessDenied on " + path},
		{"s3 404", func(w *lookuptest.World) { w.S3.Delete(path) }, "S3 NoSuchKey on " + path},
		{"s3 5xx storm", func(w *lookuptest.World) { w.S3.Fail("InternalError", 500, 0) }, "S3 InternalError on " + path + " (after 3 attempts)"},
		{"s3 over 1 MB", func(w *lookuptest.World) {
			w.S3.PutPath(t, path, []byte(`{"x":"`+strings.Repeat("a", 1<<20)+`"}`))
		}, "the stored analysis " + path + " is over 1 MB (not read)"},
		{"s3 not JSON", func(w *lookuptest.World) { w.S3.PutPath(t, path, []byte("<html>oops</html>")) }, "the stored analysis " + path + " is not a JSON object"},
		{"content timeout", func(w *lookuptest.World) { w.OpenRouter.SetContentLatency(3 * time.Second) }, "could not read the stored content of triage (gen-1779299695-aBcDeFg), classify (gen-1779299697-hIjKlMn), coaching (gen-1779299700-oPqRsTu): timed out"},
		{"content 403", func(w *lookuptest.World) { w.OpenRouter.FailContent(http.StatusForbidden, 100) }, "could not read the stored content of triage (gen-1779299695-aBcDeFg), classify (gen-1779299697-hIjKlMn), coaching (gen-1779299700-oPqRsTu): unauthorized (HTTP 403"},
		{"content 404", func(w *lookuptest.World) { w.OpenRouter.FailContent(http.StatusNotFound, 100) }, "OpenRouter stored no content for triage (gen-1779299695-aBcDeFg), classify (gen-1779299697-hIjKlMn), coaching (gen-1779299700-oPqRsTu)"},
		{"content 5xx storm", func(w *lookuptest.World) { w.OpenRouter.FailContent(http.StatusServiceUnavailable, 100) }, "coaching (gen-1779299700-oPqRsTu): gave up after 5 attempts: HTTP 503: Service Unavailable"},
		{"content over 1 MB", func(w *lookuptest.World) {
			big := []byte(`{"data":{"input":{"prompt":"` + strings.Repeat("a", 1<<20) + `"},"output":{"completion":"{}"}}}`)
			allContent(w, big)
		}, "coaching (gen-1779299700-oPqRsTu): response over 1048576 bytes (not read)"},
		{"content not JSON", func(w *lookuptest.World) {
			allContent(w, []byte("<html>502 Bad Gateway</html>"))
		}, "coaching (gen-1779299700-oPqRsTu): decode response: invalid JSON at byte 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			tt.setup(w)
			svc, _ := w.ServiceWith(t, fastCW, lookup.ServiceConfig{AnalysisTimeout: 300 * time.Millisecond, GenerationsTimeout: 2 * time.Second})
			tr := svc.Trace(context.Background(), parse(t, "(914) 265-4371 5/20 1:15pm"), nil)
			checkIntact(t, tr)
			v := tr.Verdict
			if v == nil || v.Code != lookup.VerdictUnknown {
				t.Fatalf("verdict %+v", v)
			}
			if !strings.Contains(v.Message, tt.cause) || strings.ContainsAny(v.Message, "\n\r") {
				t.Errorf("message %q lacks %q (or is not one line)", v.Message, tt.cause)
			}
			if strings.Contains(v.Message, lookuptest.OpenRouterDefaultKey) || strings.Contains(v.Message, "s3-fake-secret") {
				t.Errorf("message holds a secret: %q", v.Message)
			}
		})
	}
}

// allContent makes every stage of the runbook example answer body on /generation/content.
func allContent(w *lookuptest.World, body []byte) {
	for _, id := range []string{"gen-1779299695-aBcDeFg", "gen-1779299697-hIjKlMn", "gen-1779299700-oPqRsTu"} {
		w.OpenRouter.AddContentRaw(id, body)
	}
}

// checkIntact: the runbook example's trace is whole whatever happened to the reads.
func checkIntact(t *testing.T, tr *lookup.Trace) {
	t.Helper()
	if tr.Outcome != lookup.OutcomeTraced || len(tr.Errors) != 0 || len(tr.Stages) != 3 || tr.TotalCostUSD != 0.001535 {
		t.Fatalf("trace not intact: %s, %d stages, cost %v, errors %v", tr.Outcome, len(tr.Stages), tr.TotalCostUSD, tr.Errors)
	}
	for _, s := range tr.Stages {
		if len(s.OpenRouter) == 0 || s.GenerationError != "" {
			t.Errorf("stage %s: generation not joined (%s)", s.Stage, s.GenerationError)
		}
	}
}

// TestVerdictOff: without the two readers nothing is read and no verdict is made.
func TestVerdictOff(t *testing.T) {
	w := newWorld(t)
	sb := lookup.NewSandbox(0)
	svc := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{})
	tr := svc.Trace(context.Background(), parse(t, "(914) 265-4371 5/20 1:15pm"), nil)
	if tr.Verdict != nil || tr.Analysis != nil || tr.Stages[0].Content != "" {
		t.Errorf("verdict %+v analysis %+v content %q", tr.Verdict, tr.Analysis, tr.Stages[0].Content)
	}
	b, _ := json.Marshal(tr)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	if _, ok := v["verdict"]; !ok || v["verdict"] != nil {
		t.Errorf(`"verdict" must be present and null: %v`, v["verdict"])
	}
	if n := len(w.S3.Requests()); n != 0 {
		t.Errorf("%d S3 requests", n)
	}
}

// TestVerdictJSONContract checks SPEC §11's field names.
func TestVerdictJSONContract(t *testing.T) {
	svc, _ := newWorld(t).Service(t, fastCW)
	tr := svc.Trace(context.Background(), parse(t, "646-555-0134 5/21 2pm"), nil)
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Verdict  map[string]json.RawMessage   `json:"verdict"`
		Analysis map[string]json.RawMessage   `json:"analysis"`
		Stages   []map[string]json.RawMessage `json:"stages"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"code", "message", "differences"} {
		if _, ok := v.Verdict[k]; !ok {
			t.Errorf("verdict lacks %q", k)
		}
	}
	for _, k := range []string{"path", "read", "error"} {
		if _, ok := v.Analysis[k]; !ok {
			t.Errorf("analysis lacks %q", k)
		}
	}
	var diffs []map[string]json.RawMessage
	_ = json.Unmarshal(v.Verdict["differences"], &diffs)
	if len(diffs) == 0 || len(diffs[0]) != 4 || diffs[0]["field"] == nil || diffs[0]["stored"] == nil {
		t.Errorf("differences %v", diffs)
	}
	for _, s := range v.Stages {
		if _, ok := s["output"]; !ok {
			t.Error("stage lacks output")
		}
		if _, ok := s["output_error"]; !ok {
			t.Error("stage lacks output_error")
		}
	}
}

// TestStoredContentsAgain: what a Model output button on another replica does — a
// fresh Service (its own OpenRouter client) fetches the stages' content from refs.
func TestStoredContentsAgain(t *testing.T) {
	w := newWorld(t)
	svc, _ := w.Service(t, fastCW)
	tr := svc.Trace(context.Background(), parse(t, "617.555.0199 2026-05-18 16:20"), nil)
	refs := tr.ContentRefs()
	raw, err := json.Marshal(refs)
	if err != nil || len(refs) != 3 {
		t.Fatalf("refs %v (%v)", refs, err)
	}
	var back []lookup.ContentRef
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	other, _ := w.Service(t, fastCW)
	stages, err := other.StoredContents(context.Background(), back)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stages {
		if s.Answer() != tr.Stages[i].Answer() || s.InputExcerpt(lookup.InputExcerptRunes) != tr.Stages[i].InputExcerpt(lookup.InputExcerptRunes) ||
			s.OutputError != tr.Stages[i].OutputError || string(s.Output) != string(tr.Stages[i].Output) {
			t.Errorf("stage %s differs from the trace's", s.Stage)
		}
	}
	if stages[2].OutputError != "truncated: finish reason length" {
		t.Errorf("coaching: %q (the finish reason must travel in the ref)", stages[2].OutputError)
	}
	if w.OpenRouter.ContentRequests("gen-1779135583-LmNoPq") != 2 {
		t.Errorf("the other replica must fetch again: %d requests", w.OpenRouter.ContentRequests("gen-1779135583-LmNoPq"))
	}
	sb := lookup.NewSandbox(0)
	if _, err := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{}).StoredContents(context.Background(), refs); err != lookup.ErrVerdictOff {
		t.Errorf("verdict off: %v", err)
	}
}

// TestVerdictNamesAMissingGeneration: a generation OpenRouter does not know is
// named as missing, not blamed on its content logging; a stage given by
// generation id alone shows OpenRouter's cost.
func TestVerdictNamesAMissingGeneration(t *testing.T) {
	w := newWorld(t)
	svc, _ := w.ServiceWith(t, fastCW, lookup.ServiceConfig{GenerationsTimeout: 5 * time.Second})
	tr := svc.Trace(context.Background(), parse(t, "gen-doesnotexist gen-1779299695-aBcDeFg"), nil)
	if len(tr.Stages) != 2 {
		t.Fatalf("stages %+v", tr.Stages)
	}
	missing, known := tr.Stages[0], tr.Stages[1]
	if missing.Content != lookup.ContentFailed || !strings.Contains(missing.ContentError, "not found") {
		t.Errorf("missing generation's content %q (%q), want failed: not found", missing.Content, missing.ContentError)
	}
	if v := tr.Verdict; v == nil || strings.Contains(v.Message, "logging off") || !strings.Contains(v.Message, "gen-doesnotexist") {
		t.Errorf("verdict %+v: must name gen-doesnotexist as missing, not as unlogged", v)
	}
	if known.Content != lookup.ContentStored {
		t.Errorf("known generation's content %q (%q)", known.Content, known.ContentError)
	}
	if c := known.Cost(); known.CostUSD != nil || c == nil || *c != tr.TotalCostUSD || *c == 0 {
		t.Errorf("cost of a stage known only to OpenRouter: log %v, Cost() %v, total %v", known.CostUSD, c, tr.TotalCostUSD)
	}
}
