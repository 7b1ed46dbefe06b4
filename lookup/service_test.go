package lookup_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

var newYork, _ = time.LoadLocation("America/New_York")

func parse(t testing.TB, report string) lookup.Request {
	t.Helper()
	req, err := lookup.ParseReport(report, lookup.ParseOptions{Now: lookup.SandboxNow, DefaultZone: newYork})
	if err != nil {
		t.Fatalf("parse %q: %v", report, err)
	}
	return req
}

// fastCW keeps failure paths quick in tests.
var fastCW = lookup.CloudWatchConfig{Grace: 200 * time.Millisecond, PollMin: 20 * time.Millisecond, PollRate: 50,
	ThrottleBackoff: 10 * time.Millisecond, ThrottleRetries: 2}

func newWorld(t testing.TB) *lookuptest.World {
	t.Helper()
	return lookuptest.NewWorld(t, lookup.SharedPostgres.NewDatabase(t))
}

func stageNames(tr *lookup.Trace) []string {
	var out []string
	for _, s := range tr.Stages {
		out = append(out, s.Stage)
	}
	return out
}

func warningCodes(tr *lookup.Trace) []string {
	var out []string
	for _, w := range tr.Warnings {
		out = append(out, w.Code)
	}
	sort.Strings(out)
	return out
}

// TestTraceOverTheWire walks every sample case through real Postgres, the CloudWatch
// Logs fake (JSON 1.1 via the SDK) and the OpenRouter fake.
func TestTraceOverTheWire(t *testing.T) {
	w := newWorld(t)
	svc, _ := w.Service(t, fastCW)
	tests := []struct {
		name         string
		report       string
		wantOutcome  lookup.Outcome
		wantSession  string
		wantStages   []string
		wantWarnings []string
		wantRuns     int
		wantCost     float64
	}{
		{name: "runbook example", report: "(914) 265-4371 5/20 1:15pm", wantOutcome: lookup.OutcomeTraced,
			wantSession: "s-abc123def456", wantStages: []string{"triage", "classify", "coaching"}, wantRuns: 1, wantCost: 0.001535},
		{name: "several candidates", report: "312-555-0142 5/21 10:30am", wantOutcome: lookup.OutcomeCandidates},
		{name: "missing generation id", report: "+1 415 555 0123 May 19 around 9:40am", wantOutcome: lookup.OutcomeTraced,
			wantSession: "s-7d0e2b91c3aa", wantStages: []string{"triage", "classify", "coaching"}, wantRuns: 1, wantCost: 0.002086,
			wantWarnings: []string{lookup.WarnCacheMiss, lookup.WarnMissingGenID, lookup.WarnProviderChange}},
		{name: "length", report: "617.555.0199 2026-05-18 16:20", wantOutcome: lookup.OutcomeTraced,
			wantSession: "s-91b3f0a6e2d4", wantStages: []string{"triage", "classify", "coaching"}, wantRuns: 1, wantCost: 0.005766,
			wantWarnings: []string{lookup.WarnCostMismatch, lookup.WarnLength}},
		{name: "reprocessed", report: "305-555-0187 5月17日 上午11点", wantOutcome: lookup.OutcomeTraced,
			wantSession: "s-2c8e5a7b9f13", wantStages: []string{"triage", "classify", "coaching", "contacts"}, wantRuns: 2, wantCost: 0.001635,
			wantWarnings: []string{lookup.WarnReprocessed}},
		{name: "no call", report: "(914) 265-4371 5/10 9am", wantOutcome: lookup.OutcomeNotFound},
		{name: "by session id", report: "session s-abc123def456", wantOutcome: lookup.OutcomeTraced,
			wantSession: "s-abc123def456", wantStages: []string{"triage", "classify", "coaching"}, wantRuns: 1, wantCost: 0.001535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := svc.Trace(context.Background(), parse(t, tt.report), nil)
			if tr.Outcome != tt.wantOutcome {
				t.Fatalf("outcome %s, want %s (errors %v)", tr.Outcome, tt.wantOutcome, tr.Errors)
			}
			if tt.wantOutcome != lookup.OutcomeTraced {
				return
			}
			if len(tr.Errors) != 0 {
				t.Errorf("unexpected errors: %v", tr.Errors)
			}
			if tr.Call == nil || tr.Call.TelephonySessionID != tt.wantSession {
				t.Fatalf("call %+v, want %s", tr.Call, tt.wantSession)
			}
			if diff := cmp.Diff(tt.wantStages, stageNames(tr)); diff != "" {
				t.Errorf("stages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWarnings, warningCodes(tr)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if tr.Runs != tt.wantRuns || tr.TotalCostUSD != tt.wantCost {
				t.Errorf("runs %d cost %v, want %d %v", tr.Runs, tr.TotalCostUSD, tt.wantRuns, tt.wantCost)
			}
			for _, s := range tr.Stages {
				if s.GenerationID != "" && (len(s.OpenRouter) == 0 || s.GenerationError != "") {
					t.Errorf("stage %s: generation not joined (%s)", s.Stage, s.GenerationError)
				}
			}
		})
	}
}

// TestTraceJSONContract checks the field names other tools read (SPEC §8).
func TestTraceJSONContract(t *testing.T) {
	w := newWorld(t)
	svc, _ := w.Service(t, fastCW)
	tr := svc.Trace(context.Background(), parse(t, "(914) 265-4371 5/20 1:15pm"), nil)
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"phone", "zone", "at", "from", "to", "candidates", "call", "stages", "runs",
		"total_cost_usd", "cache_ratio", "warnings", "errors", "timings_ms"} {
		if _, ok := top[k]; !ok {
			t.Errorf("trace JSON lacks %q", k)
		}
	}
	var got struct {
		Phone, Zone, At string
		Stages          []map[string]json.RawMessage `json:"stages"`
		CacheRatio      float64                      `json:"cache_ratio"`
		Timings         map[string]int64             `json:"timings_ms"`
		Candidates      []map[string]any             `json:"candidates"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Phone != "+19142654371" || got.Zone != "America/New_York" || got.At != "2026-05-20T17:15:00Z" || got.CacheRatio != 0.88 {
		t.Errorf("top-level values: %+v", got)
	}
	for _, k := range []string{"stage", "timestamp", "region", "log_group", "generation_id", "link", "model", "provider",
		"input_tokens", "output_tokens", "cache_read_tokens", "cache_ratio", "cost_usd", "finish_reason", "openrouter"} {
		if _, ok := got.Stages[0][k]; !ok {
			t.Errorf("stage JSON lacks %q", k)
		}
	}
	for _, k := range []string{"calls", "logs", "generations", "total"} {
		if _, ok := got.Timings[k]; !ok {
			t.Errorf("timings_ms lacks %q", k)
		}
	}
	if got.Candidates[0]["matched_column"] != "contact_phone" {
		t.Errorf("candidate: %v", got.Candidates[0])
	}
}

// TestFailingStepsKeepWhatOthersFound: a region refusing and OpenRouter failing
// still show the stages from CloudWatch, with one line per failure.
func TestFailingStepsKeepWhatOthersFound(t *testing.T) {
	w := newWorld(t)
	w.Logs.Fail("us-east-2", lookuptest.LogsStartQuery, "AccessDeniedException", -1)
	w.OpenRouter.Fail(500, 1000)
	svc, _ := w.Service(t, fastCW)
	tr := svc.Trace(context.Background(), parse(t, "(914) 265-4371 5/20 1:15pm"), nil)
	if tr.Outcome != lookup.OutcomeTraced || len(tr.Stages) != 3 {
		t.Fatalf("outcome %s with %d stages; errors %v", tr.Outcome, len(tr.Stages), tr.Errors)
	}
	var regionErr, genErrs int
	for _, e := range tr.Errors {
		switch {
		case e.Step == lookup.StepLogs && e.Region == "us-east-2" && strings.Contains(e.Message, "AccessDenied"):
			regionErr++
		case e.Step == lookup.StepGenerations:
			genErrs++
		}
	}
	if regionErr != 1 || genErrs != 3 {
		t.Errorf("want 1 region error and 3 generation errors, got %v", tr.Errors)
	}
	if tr.TotalCostUSD != 0.001535 {
		t.Errorf("cost from the logs should survive: %v", tr.TotalCostUSD)
	}
	// Every failed backend is named, each with its cause (seed 003's records).
	var backends []string
	for _, f := range tr.Failures() {
		backends = append(backends, f.Step+"/"+f.Backend)
		if f.Message == "" {
			t.Errorf("failure without a cause: %+v", f)
		}
	}
	want := []string{"logs/CloudWatch us-east-2", "generations/OpenRouter", "generations/OpenRouter", "generations/OpenRouter",
		"content/OpenRouter", "content/OpenRouter", "content/OpenRouter"}
	if strings.Join(backends, " ") != strings.Join(want, " ") {
		t.Errorf("failures %v, want %v", backends, want)
	}
}

func TestDatabaseDownFailsClearly(t *testing.T) {
	w := newWorld(t)
	w.DSN = "postgres://tracebot:CANARY-db-password-77@127.0.0.1:1/calls?sslmode=disable&connect_timeout=2"
	svc, _ := w.Service(t, fastCW)
	start := time.Now()
	tr := svc.Trace(context.Background(), parse(t, "(914) 265-4371 5/20 1:15pm"), nil)
	if tr.Outcome != lookup.OutcomeFailed || len(tr.Errors) != 1 || tr.Errors[0].Step != lookup.StepCalls || tr.Errors[0].Backend != "Postgres" {
		t.Fatalf("outcome %s errors %v", tr.Outcome, tr.Errors)
	}
	b, _ := json.Marshal(tr)
	if strings.Contains(string(b), "CANARY-db-password-77") {
		t.Fatal("the database password leaked into the trace")
	}
	if time.Since(start) > 15*time.Second {
		t.Errorf("a down database took %v", time.Since(start))
	}
}

func TestProgressReportsEachStep(t *testing.T) {
	w := newWorld(t)
	svc, _ := w.Service(t, fastCW)
	var seen []lookup.Progress
	svc.Trace(context.Background(), parse(t, "(914) 265-4371 5/20 1:15pm"), func(p lookup.Progress) { seen = append(seen, p) })
	last := seen[len(seen)-1]
	if last.Call == nil || !last.LogsDone || last.GenerationsDone != 3 || last.GenerationsTotal != 3 {
		t.Fatalf("final progress %+v", last)
	}
	if !slices.ContainsFunc(seen, func(p lookup.Progress) bool { return p.Call != nil && !p.LogsDone && len(p.Regions) > 0 }) {
		t.Error("no progress while the logs step ran")
	}
}

func TestBuildStagesGroupsRuns(t *testing.T) {
	at := time.Date(2026, 5, 20, 17, 0, 0, 0, time.UTC)
	g := "/aws/lambda/call-analytics-prod-ai-analysis-processor-us-east-1"
	c := "/aws/lambda/call-analytics-prod-contacts-analyzer-us-east-1"
	row := func(sec int, group, req, svc string) lookup.UsageRow {
		return lookup.UsageRow{Timestamp: at.Add(time.Duration(sec) * time.Second), LogGroup: group, RequestID: req, Service: svc, OpenRouterID: "gen-" + req + svc}
	}
	rows := []lookup.UsageRow{
		row(1, g, "r1", "triage"), row(2, g, "r1", "classify"), row(3, g, "r1", "coaching"),
		row(4, c, "c1", ""), row(600, g, "r2", ""), row(601, g, "r2", ""),
	}
	stages, runs, earlier := lookup.BuildStages(rows, "https://x/{id}")
	if diff := cmp.Diff([]string{"triage", "classify", "contacts"}, names(stages)); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	if runs != 2 || len(earlier) != 1 || !earlier[0].Equal(at.Add(time.Second)) {
		t.Errorf("runs %d earlier %v", runs, earlier)
	}
	if stages[0].Link != "https://x/gen-r2" {
		t.Errorf("link %q", stages[0].Link)
	}
}

func names(st []lookup.Stage) []string {
	var out []string
	for _, s := range st {
		out = append(out, s.Stage)
	}
	return out
}

// TestEngineersShowOnlySQLThatRan: the engineers' block shows the statement the
// call store really ran; a store that runs no SQL (the sandbox) shows none rather
// than a UTC rendering of a query nobody ran.
func TestEngineersShowOnlySQLThatRan(t *testing.T) {
	sb := lookup.NewSandbox(0)
	svc := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true})
	tr := svc.Trace(context.Background(), parse(t, "(914) 265-4371 5/20 1:15pm"), nil)
	if tr.Engineers == nil {
		t.Fatal("no engineers block")
	}
	if tr.Engineers.SQL != "" || len(tr.Engineers.SQLParams) != 0 {
		t.Errorf("sandbox trace shows SQL %q %q; it ran none", tr.Engineers.SQL, tr.Engineers.SQLParams)
	}
	if tr.Engineers.InsightsQuery == "" {
		t.Error("the Insights query that ran is missing")
	}

	w := newWorld(t)
	real, _ := w.Service(t, fastCW)
	tr = real.Trace(context.Background(), parse(t, "(914) 265-4371 5/20 1:15pm"), nil)
	if tr.Engineers == nil || !strings.Contains(tr.Engineers.SQL, "FROM calls") || len(tr.Engineers.SQLParams) == 0 {
		t.Errorf("Postgres trace engineers block = %+v, want its SQL and parameters", tr.Engineers)
	}
}

// TestTraceCarriesReportWarnings: a warning about how the report was read (another
// time outside the search) reaches the trace's warnings, its JSON and its
// interpretation, in both languages.
func TestTraceCarriesReportWarnings(t *testing.T) {
	sb := lookup.NewSandbox(0)
	svc := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true})
	tr := svc.Trace(context.Background(), parse(t, "Ticket #4521 opened 5/21 9:02 AM — customer (914) 265-4371 says the 5/20 ~1:15pm call was marked voicemail"), nil)
	const en = "also saw Wed May 20 1:15 PM EDT: if that is the call's time, put it first"
	var codes []string
	for _, w := range tr.Warnings {
		codes = append(codes, w.Code)
		if w.Code == lookup.WarnOtherTime && (w.Message != en || !strings.Contains(w.Text("zh"), "另见 5月20日 周三 下午1:15 EDT")) {
			t.Errorf("warning %q / %q", w.Message, w.Text("zh"))
		}
	}
	if !slices.Contains(codes, lookup.WarnOtherTime) {
		t.Fatalf("warnings %v lack %s", codes, lookup.WarnOtherTime)
	}
	if !strings.HasSuffix(tr.Interpretation("en"), "; "+en) || !strings.Contains(tr.Interpretation("zh"), "；另见 5月20日") {
		t.Errorf("interpretation %q / %q does not end with the warning", tr.Interpretation("en"), tr.Interpretation("zh"))
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `{"code":"other_time","message":"`+en+`"}`) {
		t.Errorf("trace JSON lacks the warning:\n%s", b)
	}
}
