package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/lookup"
)

// slackGoldenReplies builds every kind of reply the bot sends with the core's own
// builders, from traces of the sandbox world.
func slackGoldenReplies(t *testing.T, lang string) map[string]Reply {
	t.Helper()
	r := replies{lang: lang, sample: true, reprocess: true, cooldown: 10 * time.Minute, escalation: true}
	req, tr := slackSandboxTrace(t, "(914) 265-4371 5/20 1:15pm")
	main, extra := r.result(tr, req, nil)
	if len(extra) != 1 {
		t.Fatalf("want the engineers' follow-up, got %d extra replies", len(extra))
	}
	rec := ReprocessRecord{SessionID: tr.Call.TelephonySessionID, RequestedBy: "U0ALICE", RequestedAt: lookup.SandboxNow,
		Outcome: ReprocessRequested}
	afterReprocess, _ := r.result(tr, req, &rec)
	candReq, cand := slackSandboxTrace(t, "312-555-0142 5/21 10:30am")
	candidates, _ := r.result(cand, candReq, nil)
	nfReq, nf := slackSandboxTrace(t, "(914) 265-4371 5/10 9am")
	notFound, _ := r.result(nf, nfReq, nil)
	lenReq, length := slackSandboxTrace(t, "617.555.0199 2026-05-18 16:20")
	lengthResult, _ := r.result(length, lenReq, nil)
	mgReq, missingGen := slackSandboxTrace(t, "+1 415 555 0123 May 19 around 9:40am")
	missingGenResult, _ := r.result(missingGen, mgReq, nil)
	_, err := lookup.ParseReport("customer says the analysis is wrong", slackParseOptions(t))
	if err == nil {
		t.Fatal("want a report that is not understood")
	}
	call := *tr.Call
	return map[string]Reply{
		"root":                r.root(req, "U0SUPPORT"),
		"progress":            r.progress(req, slackGoldenProgress(call)),
		"result":              main,
		"engineers":           extra[0],
		"result_reprocessed":  afterReprocess,
		"result_length":       lengthResult,
		"result_missing_gen":  missingGenResult,
		"candidates":          candidates,
		"not_found":           notFound,
		"not_understood":      r.notUnderstood(err),
		"reprocess_announced": r.notice("reprocess_done", code(call.TelephonySessionID), mention("U0ALICE"), "request id", code("4c1c6b0e-1b7e-4a7e-9a53-7a4b5e0f9d21")),
		"already_requested": r.notice("reprocess_again", code(call.TelephonySessionID), mention("U0ALICE"),
			clock(lookup.SandboxNow), clock(lookup.SandboxNow.Add(10*time.Minute))),
		"escalate":    r.notice("escalate", groupMention("S0ONCALL"), mention("U0BOB"), r.summary(tr)),
		"cannot_post": r.notice("cannot_post"),
	}
}

// slackGoldenProgress is a trace half done: call found, logs running.
func slackGoldenProgress(call lookup.Call) lookup.Progress {
	return lookup.Progress{Phone: "+19142654371", Call: &call, CallsDone: true, Regions: []lookup.RegionStatus{
		{Region: "us-east-1", State: lookup.RegionRows, Rows: 3},
		{Region: "us-west-2", State: lookup.RegionRunning},
		{Region: "us-east-2", State: lookup.RegionNoGroup},
	}}
}

func slackParseOptions(t *testing.T) lookup.ParseOptions {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return lookup.ParseOptions{Now: lookup.SandboxNow, DefaultZone: ny, Window: 2 * time.Hour, NoTimeLookback: 168 * time.Hour}
}

// slackSandboxTrace traces report in the sandbox world with a fixed trace id, so
// the result is the same on every run.
func slackSandboxTrace(t *testing.T, report string) (lookup.Request, *lookup.Trace) {
	t.Helper()
	req, err := lookup.ParseReport(report, slackParseOptions(t))
	if err != nil {
		t.Fatalf("parse %q: %v", report, err)
	}
	sb := lookup.NewSandbox(0)
	svc := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true})
	tr := svc.Trace(context.Background(), req, nil)
	tr.TraceID = "t-golden0001"
	tr.TimingsMS = lookup.Timings{}
	for i := range tr.Regions {
		tr.Regions[i].ElapsedMS = 0
	}
	return req, tr
}

// TestSlackGolden renders every reply kind to Block Kit and compares it with
// testdata/slack/<kind>.golden (English) and <kind>.zh.golden (Chinese). Every
// rendering must also pass the fake Slack's Block Kit checks.
func TestSlackGolden(t *testing.T) {
	for _, lang := range []string{"en", "zh"} {
		for name, r := range slackGoldenReplies(t, lang) {
			file := name + ".golden"
			if lang != "en" {
				file = name + "." + lang + ".golden"
			}
			t.Run(file, func(t *testing.T) {
				msgs := renderSlack(r, lang)
				validateSlack(t, msgs)
				var got bytes.Buffer
				enc := json.NewEncoder(&got)
				enc.SetEscapeHTML(false) // keep <url|label> readable
				enc.SetIndent("", "  ")
				if err := enc.Encode(msgs); err != nil {
					t.Fatal(err)
				}
				slackCheckGolden(t, filepath.Join("testdata", "slack", file), got.Bytes())
			})
		}
	}
}

// slackCheckGolden compares got with the golden file, or rewrites it under -update.
func slackCheckGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if slackGoldenUpdate() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run Golden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); run with -update if the change is intended:\n%s", path, diff)
	}
}
