package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/callytics/tracebot/lookup/lookuptest"
)

// TestTraceVerdictOverTheWire: the CLI's S3 client (built from the standard chain,
// AWS_ENDPOINT_URL_S3, path-style) and OpenRouter client judge each sample call.
func TestTraceVerdictOverTheWire(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		report string
		want   []string
	}{
		{"(914) 265-4371 5/20 1:15pm", []string{"Verdict: model_output — the stored analysis is what the model answered (triage: call_state=voicemail"}},
		{"646-555-0134 5/21 2pm", []string{"Verdict: mapping_bug — triage answered call_state=human_conversation; the stored analysis says voicemail",
			"  triage call_state: model human_conversation, stored voicemail", "  coaching coaching.coaching_applicable: model true, stored false"}},
		{"617.555.0199 2026-05-18 16:20", []string{"Verdict: truncated_output — coaching's answer was cut off"}},
		{"+1 415 555 0123 May 19 around 9:40am", []string{"Verdict: unknown — no verdict: OpenRouter stored no content for triage (gen-1779212466-Qw3rTy)"}},
	}
	for _, tt := range tests {
		t.Run(tt.report, func(t *testing.T) {
			r := runCLI(t, "trace", tt.report)
			if r.code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			r.assertNoCanary(t)
		})
	}
	for _, req := range e.world.S3.Requests() {
		if req.Region != "us-east-1" || req.Bucket != "callytics-prod-analysis" {
			t.Errorf("S3 request %+v: want path-style in us-east-1", req)
		}
	}
	if len(e.world.S3.Requests()) != len(tests) {
		t.Errorf("%d S3 requests for %d traces", len(e.world.S3.Requests()), len(tests))
	}
}

// TestTraceJSONVerdictFields: `trace --json` has SPEC §11's fields, on the wire
// fakes and on the sandbox alike.
func TestTraceJSONVerdictFields(t *testing.T) {
	newEnv(t)
	for _, args := range [][]string{
		{"trace", "--json", "646-555-0134 5/21 2pm"},
		{"trace", "--json", "--sandbox", "646-555-0134 5/21 2pm"},
	} {
		r := runCLI(t, args...)
		var v struct {
			Verdict *struct {
				Code        string           `json:"code"`
				Message     string           `json:"message"`
				Differences []map[string]any `json:"differences"`
			} `json:"verdict"`
			Analysis map[string]any   `json:"analysis"`
			Stages   []map[string]any `json:"stages"`
			Stored   any              `json:"stored_content"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != exitOK {
			t.Fatalf("%v: exit %d, %v\n%s", args, r.code, err, r.stdout)
		}
		if v.Verdict == nil || v.Verdict.Code != "mapping_bug" || v.Verdict.Message == "" || len(v.Verdict.Differences) != 2 {
			t.Errorf("%v: verdict %+v", args, v.Verdict)
		}
		d := v.Verdict.Differences[0]
		if d["stage"] != "triage" || d["field"] != "call_state" || d["model"] != "human_conversation" || d["stored"] != "voicemail" {
			t.Errorf("%v: difference %v", args, d)
		}
		if v.Analysis["path"] != "s3://callytics-prod-analysis/2026/05/21/s-5e9b2d4c7a10.json" || v.Analysis["read"] != true || v.Analysis["error"] != "" {
			t.Errorf("%v: analysis %v", args, v.Analysis)
		}
		for _, s := range v.Stages {
			if _, ok := s["output"].(map[string]any); !ok || s["output_error"] != "" {
				t.Errorf("%v: stage %v output %v error %v", args, s["stage"], s["output"], s["output_error"])
			}
		}
		if v.Stored != nil {
			t.Errorf("%v: stored content without --show-content", args)
		}
	}
}

// Canary customer data: the transcript of a real trace, a completion that is not
// JSON and a stored analysis that is not JSON. Only --show-content may print them.
const (
	canaryTranscript = "CANARY-transcript-3c9f17 my card number is"
	canaryAnswer     = "CANARY-answer-b51e02"
	canaryAnalysis   = "CANARY-analysis-77d4aa"
)

func addCanaries(t *testing.T, w *lookuptest.World) {
	t.Helper()
	triage := `{"call_state":"voicemail","language":"en","confidence":0.61}`
	w.OpenRouter.AddContent("gen-1779299695-aBcDeFg", lookuptest.OpenRouterContent{
		Input:  lookuptest.ChatInput("You are the triage stage.", "Caller: "+canaryTranscript+" 4111"),
		Output: lookuptest.OpenRouterContentOutput{Completion: &triage},
	})
	prose := "I think " + canaryAnswer + " is a booking."
	w.OpenRouter.AddContent("gen-1779299697-hIjKlMn", lookuptest.OpenRouterContent{
		Input:  lookuptest.ChatInput("You are the classify stage.", canaryTranscript),
		Output: lookuptest.OpenRouterContentOutput{Completion: &prose},
	})
	w.S3.PutPath(t, "s3://callytics-prod-analysis/2026/05/21/s-5e9b2d4c7a10.json", []byte("not json "+canaryAnalysis))
}

// TestCustomerDataNeverLeaks runs real traces (Postgres, the Logs, OpenRouter and S3
// fakes over the real clients) with canary customer data, debug logging on, and
// looks for the canaries in everything the CLI writes by default.
func TestCustomerDataNeverLeaks(t *testing.T) {
	e := newEnv(t)
	addCanaries(t, e.world)
	t.Setenv("TRACEBOT_LOG_LEVEL", "debug")
	for _, args := range [][]string{
		{"trace", "(914) 265-4371 5/20 1:15pm"},
		{"trace", "--json", "(914) 265-4371 5/20 1:15pm"},
		{"trace", "646-555-0134 5/21 2pm"},
		{"trace", "--json", "646-555-0134 5/21 2pm"},
	} {
		r := runCLI(t, args...)
		if r.code != exitOK {
			t.Fatalf("%v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
		}
		for _, c := range []string{canaryTranscript, canaryAnswer, canaryAnalysis, "CANARY"} {
			if strings.Contains(r.stdout, c) || strings.Contains(r.stderr, c) {
				t.Fatalf("%v: canary %q leaked:\nstdout: %s\nstderr: %s", args, c, r.stdout, r.stderr)
			}
		}
		r.assertNoCanary(t)
	}
	// The error lines that the canaries caused are there, without them.
	r := runCLI(t, "trace", "(914) 265-4371 5/20 1:15pm")
	if !strings.Contains(r.stdout, "Verdict: truncated_output — classify's answer is not JSON (no JSON object in the answer)") {
		t.Errorf("want classify's not-JSON verdict:\n%s", r.stdout)
	}
	r = runCLI(t, "trace", "646-555-0134 5/21 2pm")
	if !strings.Contains(r.stdout, "is not a JSON object") {
		t.Errorf("want the analysis' not-JSON cause:\n%s", r.stdout)
	}
	// --show-content is the one way to see them, so the test can fail.
	for _, args := range [][]string{
		{"trace", "--show-content", "(914) 265-4371 5/20 1:15pm"},
		{"trace", "--json", "--show-content", "(914) 265-4371 5/20 1:15pm"},
	} {
		r := runCLI(t, args...)
		if !strings.Contains(r.stdout, canaryTranscript) || !strings.Contains(r.stdout, canaryAnswer) {
			t.Errorf("%v does not show the stored content:\n%s", args, r.stdout)
		}
		if strings.Contains(r.stderr, "CANARY") {
			t.Errorf("%v: stderr holds customer data:\n%s", args, r.stderr)
		}
		r.assertNoCanary(t)
	}
}

// TestVerdictOffReadsNothing: TRACEBOT_VERDICT=off sends no S3 request and no
// content request, and says so.
func TestVerdictOffReadsNothing(t *testing.T) {
	e := newEnv(t)
	t.Setenv("TRACEBOT_VERDICT", "off")
	r := runCLI(t, "trace", "(914) 265-4371 5/20 1:15pm")
	if r.code != exitOK || !strings.Contains(r.stdout, "Verdict: off (TRACEBOT_VERDICT=off") {
		t.Fatalf("exit %d:\n%s", r.code, r.stdout)
	}
	if n := len(e.world.S3.Requests()); n != 0 || e.world.OpenRouter.ContentRequests("gen-1779299695-aBcDeFg") != 0 {
		t.Errorf("%d S3 requests, %d content requests", n, e.world.OpenRouter.ContentRequests("gen-1779299695-aBcDeFg"))
	}
	r = runCLI(t, "check")
	if !strings.Contains(r.stdout, "- verdict") || !strings.Contains(r.stdout, "off: TRACEBOT_VERDICT=off") {
		t.Errorf("check must say the verdict is off:\n%s", r.stdout)
	}
}

func TestCheckReportsVerdictOn(t *testing.T) {
	newEnv(t)
	t.Setenv("TRACEBOT_ANALYSIS_BUCKETS", "callytics-prod-analysis")
	r := runCLI(t, "check")
	if r.code != exitOK || !strings.Contains(r.stdout, "✓ verdict") || !strings.Contains(r.stdout, "buckets callytics-prod-analysis") {
		t.Errorf("exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
