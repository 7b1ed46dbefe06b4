package bot

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/internal/golden"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
)

// The core's goldens are the Reply of each situation, as JSON, under
// testdata/replies/<situation>.json (English) and <situation>.zh.json (Chinese).
// They are what a change of wording moves; the platforms render fixed Reply
// fixtures of their own (bot/slack/testdata, bot/lark/testdata), so their goldens
// move only when their rendering does.
//
//	go test ./bot -run Golden -update

// goldenReplies builds the Reply of every situation with the core's builders,
// from traces of the sample world.
func goldenReplies(t *testing.T, lang string) map[string]Reply {
	t.Helper()
	r := replies{lang: lang, sandbox: true, reprocess: true, cooldown: 10 * time.Minute, escalation: true, modelOutput: true,
		mention: "S0ONCALL", zone: mustZone(t, "America/New_York")}
	req, tr := goldenTrace(t, "(914) 265-4371 5/20 1:15pm")
	main, extra := r.result(tr, req, nil)
	if len(extra) != 1 {
		t.Fatalf("want the engineers' follow-up, got %d extra replies", len(extra))
	}
	rec := state.ReprocessRecord{SessionID: tr.Call.TelephonySessionID, RequestedBy: "U0ALICE", RequestedAt: lookup.SandboxNow,
		Outcome: state.ReprocessRequested}
	afterReprocess, _ := r.result(tr, req, &rec)
	candReq, cand := goldenTrace(t, "312-555-0142 5/21 10:30am")
	candidates, _ := r.result(cand, candReq, nil)
	nfReq, nf := goldenTrace(t, "(914) 265-4371 5/10 9am")
	notFound, _ := r.result(nf, nfReq, nil)
	lenReq, length := goldenTrace(t, "617.555.0199 2026-05-18 16:20")
	lengthResult, _ := r.result(length, lenReq, nil)
	mgReq, missingGen := goldenTrace(t, "+1 415 555 0123 May 19 around 9:40am")
	missingGenResult, _ := r.result(missingGen, mgReq, nil)
	mbReq, mapping := goldenTrace(t, "646-555-0134 5/21 2pm")
	mappingResult, _ := r.result(mapping, mbReq, nil)
	_, err := lookup.ParseReport("customer says the analysis is wrong", goldenParseOptions(t))
	if err == nil {
		t.Fatal("want a report that is not understood")
	}
	failed, _ := r.result(&lookup.Trace{TraceID: "t-golden0001", Outcome: lookup.OutcomeFailed,
		Errors: []lookup.StepError{{Step: lookup.StepCalls, Message: "calls database: connection refused"}}}, req, nil)
	call := *tr.Call
	session := code(call.TelephonySessionID)
	return map[string]Reply{
		"root":                r.root(req, "U0SUPPORT"),
		"progress_start":      r.progress(req, lookup.Progress{Phone: req.Phone}),
		"progress":            r.progress(req, goldenProgress(call)),
		"result":              main,
		"engineers":           extra[0],
		"result_reprocessed":  afterReprocess,
		"result_length":       lengthResult,
		"result_missing_gen":  missingGenResult,
		"result_mapping_bug":  mappingResult,
		"model_output":        r.modelOutputAnswer(call.TelephonySessionID, goldenContents(t, tr)),
		"model_output_length": r.modelOutputAnswer(length.Call.TelephonySessionID, goldenContents(t, length)),
		"model_output_none":   r.modelOutputAnswer(missingGen.Call.TelephonySessionID, goldenContents(t, missingGen)),
		"candidates":          candidates,
		"not_found":           notFound,
		"not_understood":      r.notUnderstood(err),
		"failed":              failed,
		"reprocess_announced": r.notice("reprocess_done", session, mention("U0ALICE"), "request id", code("4c1c6b0e-1b7e-4a7e-9a53-7a4b5e0f9d21")),
		"already_requested": r.notice("reprocess_again", session, mention("U0ALICE"),
			clock(lookup.SandboxNow), clock(lookup.SandboxNow.Add(10*time.Minute))),
		"reprocess_pending": r.notice("reprocess_pending", session, mention("U0ALICE")),
		"reprocess_refused": r.notice("reprocess_refused", session, mention("U0ALICE"), "AccessDeniedException: not authorized"),
		"reprocess_unknown": r.notice("reprocess_unknown", session, mention("U0ALICE"),
			"no answer from the target (EOF); the request may have been accepted"),
		"not_allowed": r.notice("not_allowed"),
		"escalate":    r.handoff(groupMention("S0ONCALL"), mention("U0BOB"), mapping.Call.TelephonySessionID, mapping),
		"cannot_post": r.notice("cannot_post"),
		"busy":        r.notice("busy"),
		// Alerts (SPEC §13): a collapse firing, a critical budget, a resolution, a mute.
		"alert_firing":          r.alert(goldenCollapse(), "12"),
		"alert_budget_critical": r.alert(goldenBudget(), "13"),
		"alert_resolved":        r.alertResolved(goldenCollapse(), goldenEpisode(), lookup.SandboxNow),
		"alert_muted": r.alertMuted(state.AlertMute{Rule: "length_spike", Subject: "coaching", By: "U0ALICE",
			At: lookup.SandboxNow, Until: lookup.SandboxNow.Add(DefaultMuteFor)}, DefaultMuteFor),
	}
}

// goldenCollapse is the collapse alert of the sample world's night, as the rule
// writes it.
func goldenCollapse() lookup.Alert {
	low := func(h int, v float64) lookup.AlertHour {
		return lookup.AlertHour{Bucket: time.Date(2026, 5, 22, h, 0, 0, 0, time.UTC), Value: v}
	}
	hours := []lookup.CachePoint{{Bucket: low(6, 0.12).Bucket, InputTokens: 1000, CacheRatio: ptr(0.12)},
		{Bucket: low(7, 0.14).Bucket, InputTokens: 1000, CacheRatio: ptr(0.14)}}
	a, ok := lookup.CacheCollapseAlert(hours, low(7, 0).Bucket, lookup.DefaultCacheMin, mustZoneOrUTC("America/New_York"))
	if !ok {
		panic("the golden collapse does not fire")
	}
	return a
}

// goldenBudget is the critical level of a $10 budget at $9.62.
func goldenBudget() lookup.Alert {
	ny := mustZoneOrUTC("America/New_York")
	a, ok := lookup.BudgetAlert(lookup.BudgetSpend{SpendUSD: 9.62, BudgetUSD: 10, DayStart: time.Date(2026, 5, 22, 4, 0, 0, 0, time.UTC),
		Now: lookup.SandboxNow, Zone: ny})
	if !ok || a.Level != lookup.LevelCritical {
		panic("the golden budget is not critical")
	}
	return a
}

func goldenEpisode() state.AlertEpisode {
	closed := lookup.SandboxNow.Add(-10 * time.Minute)
	return state.AlertEpisode{ID: "12", Rule: "cache_collapse", OpenedAt: time.Date(2026, 5, 22, 8, 10, 0, 0, time.UTC), ClosedAt: &closed}
}

func ptr(v float64) *float64 { return &v }

func mustZoneOrUTC(name string) *time.Location {
	if z, err := time.LoadLocation(name); err == nil {
		return z
	}
	return time.UTC
}

// goldenProgress is a trace half done: call found, logs running.
func goldenProgress(call lookup.Call) lookup.Progress {
	return lookup.Progress{Phone: "+19142654371", Call: &call, CallsDone: true, Regions: []lookup.RegionStatus{
		{Region: "us-east-1", State: lookup.RegionRows, Rows: 3},
		{Region: "us-west-2", State: lookup.RegionRunning},
		{Region: "us-east-2", State: lookup.RegionNoGroup},
	}}
}

func goldenParseOptions(t *testing.T) lookup.ParseOptions {
	t.Helper()
	return lookup.ParseOptions{Now: lookup.SandboxNow, DefaultZone: mustZone(t, "America/New_York"), Window: 2 * time.Hour, NoTimeLookback: 168 * time.Hour}
}

// goldenTrace traces report in the sample world with a fixed trace id and no
// timings, so the result is the same on every run.
func goldenTrace(t *testing.T, report string) (lookup.Request, *lookup.Trace) {
	t.Helper()
	req, err := lookup.ParseReport(report, goldenParseOptions(t))
	if err != nil {
		t.Fatalf("parse %q: %v", report, err)
	}
	tr := goldenService().Trace(context.Background(), req, nil)
	tr.TraceID = "t-golden0001"
	tr.TimingsMS = lookup.Timings{}
	for i := range tr.Regions {
		tr.Regions[i].ElapsedMS = 0
	}
	return req, tr
}

// goldenService is the sample world with the verdict on.
func goldenService() *lookup.Service {
	sb := lookup.NewSandbox(0)
	return lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true, Contents: sb.Contents, Analyses: sb.Analyses})
}

// goldenContents fetches the stored content of tr's stages again, as a Model
// output click does.
func goldenContents(t *testing.T, tr *lookup.Trace) []lookup.Stage {
	t.Helper()
	stages, err := goldenService().StoredContents(context.Background(), tr.ContentRefs())
	if err != nil {
		t.Fatal(err)
	}
	return stages
}

// TestReplyGolden compares the Reply of every situation with its golden.
func TestReplyGolden(t *testing.T) { checkReplyGoldens(t, goldenReplies) }

// checkReplyGoldens compares the Replies build makes in each language with their
// goldens, testdata/replies/<name>.json (English) and <name>.zh.json.
func checkReplyGoldens(t *testing.T, build func(t *testing.T, lang string) map[string]Reply) {
	for _, lang := range []string{"en", "zh"} {
		for name, r := range build(t, lang) {
			file := name + ".json"
			if lang != "en" {
				file = name + "." + lang + ".json"
			}
			t.Run(file, func(t *testing.T) {
				golden.Check(t, filepath.Join("testdata", "replies", file), golden.JSON(t, r))
			})
		}
	}
}
