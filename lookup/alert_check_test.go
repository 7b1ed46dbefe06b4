package lookup_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// The checker over the Logs wire fake holding generated traffic: 30 hours from
// acStart, checked ten minutes into the hour after (the last full hour is hour
// 29, 01:00–02:00 EDT; today in New York began at hour 28).
var (
	acStart    = time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)
	acNow      = acStart.Add(30*time.Hour + 10*time.Minute)
	acDayStart = time.Date(2026, 5, 21, 4, 0, 0, 0, time.UTC)
)

func acTraffic(tune func(*lookup.TrafficConfig)) lookup.TrafficConfig {
	c := lookup.TrafficConfig{Seed: 5, Start: acStart, Hours: 30, SessionsPerHour: 12}
	if tune != nil {
		tune(&c)
	}
	return c
}

// todaySpend is Σ costUsd of the rows since local midnight, from the rows.
func todaySpend(rows []lookup.TrafficRow) float64 {
	var sum float64
	for _, r := range rows {
		if ts := r.Timestamp.Truncate(time.Second); !ts.Before(acDayStart) && ts.Before(acNow) {
			sum += *r.CostUSD
		}
	}
	return sum
}

func acConfig(budget float64) lookup.AlertConfig {
	return lookup.AlertConfig{DailyBudget: budget, CostSpike: lookup.DefaultCostSpike, CacheMin: lookup.DefaultCacheMin,
		LengthMax: lookup.DefaultLengthMax, Zone: rpZone}
}

type firing struct {
	Rule  lookup.AlertRule
	Level lookup.AlertLevel
	Stage string
}

func firings(c lookup.AlertCheck) []firing {
	var out []firing
	for _, a := range c.Alerts {
		out = append(out, firing{a.Rule, a.Level, a.Stage})
	}
	return out
}

// TestAlertCheckFiresWhatHolds: each condition built into the traffic fires its
// rule and nothing else; a quiet day fires nothing.
func TestAlertCheckFiresWhatHolds(t *testing.T) {
	tests := []struct {
		name    string
		traffic func(*lookup.TrafficConfig)
		budget  func(spend float64) float64 // 0: the budget is far away
		want    []firing
	}{
		{name: "quiet day"},
		{name: "cache collapse over the last two hours", traffic: func(c *lookup.TrafficConfig) { c.CacheCollapse = []int{28, 29} },
			want: []firing{{lookup.RuleCacheCollapse, lookup.LevelWarning, ""}}},
		{name: "one low hour is no collapse", traffic: func(c *lookup.TrafficConfig) { c.CacheCollapse = []int{29} }},
		{name: "a collapse that ended is over", traffic: func(c *lookup.TrafficConfig) { c.CacheCollapse = []int{20, 21, 22} }},
		{name: "cost spike: four times the calls", traffic: func(c *lookup.TrafficConfig) { c.Surge = &lookup.TrafficSurge{Hours: []int{29}, Factor: 4} },
			want: []firing{{lookup.RuleCostSpike, lookup.LevelWarning, ""}}},
		{name: "twice the calls is no spike", traffic: func(c *lookup.TrafficConfig) { c.Surge = &lookup.TrafficSurge{Hours: []int{29}, Factor: 2} }},
		{name: "length spike in coaching", traffic: func(c *lookup.TrafficConfig) {
			c.LengthSpike = &lookup.TrafficSpike{Stage: "coaching", Hours: []int{29}, Share: 0.5}
		}, want: []firing{{lookup.RuleLengthSpike, lookup.LevelWarning, "coaching"}}},
		{name: "budget warning", budget: func(s float64) float64 { return s / 0.85 },
			want: []firing{{lookup.RuleBudget, lookup.LevelWarning, ""}}},
		{name: "budget critical: only the highest level", budget: func(s float64) float64 { return s / 0.97 },
			want: []firing{{lookup.RuleBudget, lookup.LevelCritical, ""}}},
		{name: "budget exceeded", budget: func(s float64) float64 { return s / 1.5 },
			want: []firing{{lookup.RuleBudget, lookup.LevelExceeded, ""}}},
		{name: "budget at 79%", budget: func(s float64) float64 { return s / 0.79 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newReportWorld(t, acTraffic(tt.traffic))
			budget := 1e6
			if tt.budget != nil {
				budget = tt.budget(todaySpend(w.rows))
			}
			c := lookup.NewAlertChecker(w.engine(nil), acConfig(budget))
			got := c.Check(context.Background(), acNow, lookup.AlertInputs{FailuresKnown: true})
			if diff := gocmp.Diff(tt.want, firings(got)); diff != "" {
				t.Errorf("alerts (-want +got):\n%s\n%+v", diff, got.Alerts)
			}
			want := []lookup.AlertRule{lookup.RuleBudget, lookup.RuleCacheCollapse, lookup.RuleCostSpike, lookup.RuleLengthSpike, lookup.RuleBackendFailures}
			if diff := gocmp.Diff(want, got.Evaluated); diff != "" || len(got.Errors) > 0 {
				t.Errorf("evaluated (-want +got):\n%s\nerrors %v", diff, got.Errors)
			}
			if n := len(w.srv.Queries()); n != 3*3 {
				t.Errorf("%d Insights queries, want 3 per region (spend, cache, finish: 1 each)", n)
			}
		})
	}
}

// TestAlertCheckNumbers: the alerts' values are the rows' own sums.
func TestAlertCheckNumbers(t *testing.T) {
	w := newReportWorld(t, acTraffic(func(c *lookup.TrafficConfig) {
		c.Surge = &lookup.TrafficSurge{Hours: []int{29}, Factor: 5}
	}))
	spend := todaySpend(w.rows)
	var lastHour float64
	for _, r := range w.rows {
		if lookup.LastFullHour(acNow).Equal(r.Timestamp.Truncate(time.Hour)) {
			lastHour += *r.CostUSD
		}
	}
	got := lookup.NewAlertChecker(w.engine(nil), acConfig(spend/0.96)).Check(context.Background(), acNow, lookup.AlertInputs{})
	if len(got.Alerts) != 2 {
		t.Fatalf("alerts %+v", got.Alerts)
	}
	budget, spike := got.Alerts[0], got.Alerts[1]
	if diff := gocmp.Diff([]float64{spend, spend / 0.96 * 0.95, lastHour}, []float64{budget.Value, budget.Threshold, spike.Value}, approx); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if !budget.From.Equal(acDayStart) || !budget.To.Equal(acNow) || budget.Day != "2026-05-21" {
		t.Errorf("budget window %s–%s day %s", budget.From, budget.To, budget.Day)
	}
	if got.ReportOf(lookup.RuleCostSpike) == nil || got.ReportOf(lookup.RuleCostSpike).Spend == nil {
		t.Error("the spend report is not kept for the chart")
	}
	if diff := gocmp.Diff([]lookup.RuleSkip{{Rule: lookup.RuleBackendFailures, Reason: "needs the bot's trace records: set TRACEBOT_SSM_STATE_DATABASE_URL"}}, got.NotEvaluated); diff != "" {
		t.Errorf("not evaluated (-want +got):\n%s", diff)
	}
}

// TestAlertCheckFailingRegion: a region that fails makes its reports' rules
// errors, not "the condition does not hold": an open episode must not close.
func TestAlertCheckFailingRegion(t *testing.T) {
	w := newReportWorld(t, acTraffic(func(c *lookup.TrafficConfig) { c.CacheCollapse = []int{28, 29} }))
	w.srv.Fail("us-west-2", lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	got := lookup.NewAlertChecker(w.engine(nil), acConfig(1)).Check(context.Background(), acNow, lookup.AlertInputs{FailuresKnown: true})
	if len(got.Alerts) != 0 || !slices.Equal(got.Evaluated, []lookup.AlertRule{lookup.RuleBackendFailures}) || len(got.Errors) != 4 {
		t.Fatalf("alerts %+v evaluated %v errors %+v", got.Alerts, got.Evaluated, got.Errors)
	}
	for _, e := range got.Errors {
		if !containsAll(e.Message, "us-west-2", "AccessDenied") {
			t.Errorf("error of %s does not name the region and cause: %s", e.Rule, e.Message)
		}
	}
}

// TestAlertCheckErrorsAreTheRegionsLines: a rule's error names each failed
// region once with the report's one-line cause, never the SDK's full error
// (request ids, the HTTP exchange), whether some regions answered or none did.
func TestAlertCheckErrorsAreTheRegionsLines(t *testing.T) {
	for _, tt := range []struct {
		name   string
		failed []string
		want   string
	}{
		{"one region", []string{cwWest2}, "us-west-2: AccessDenied on logs:StartQuery (a rule never concludes from part of the regions)"},
		{"every region", cwRegions, "us-east-1: AccessDenied on logs:StartQuery; us-west-2: AccessDenied on logs:StartQuery; " +
			"us-east-2: AccessDenied on logs:StartQuery (no region could answer)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newReportWorld(t, acTraffic(nil))
			for _, r := range tt.failed {
				w.srv.Fail(r, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
			}
			got := lookup.NewAlertChecker(w.engine(nil), acConfig(1)).Check(context.Background(), acNow, lookup.AlertInputs{})
			var want []lookup.RuleError
			for _, rule := range []lookup.AlertRule{lookup.RuleBudget, lookup.RuleCacheCollapse, lookup.RuleCostSpike, lookup.RuleLengthSpike} {
				kind := map[lookup.AlertRule]string{lookup.RuleCacheCollapse: "cache", lookup.RuleLengthSpike: "finish"}[rule]
				want = append(want, lookup.RuleError{Rule: rule, Message: "report " + cmp.Or(kind, "spend") + ": " + tt.want})
			}
			if diff := gocmp.Diff(want, got.Errors, cmpopts.IgnoreFields(lookup.RuleError{}, "Err")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			for _, e := range got.Errors {
				var api smithy.APIError
				if !errors.As(e.Err, &api) || api.ErrorCode() != "AccessDeniedException" {
					t.Errorf("%s: the full cause %v is not kept for the logs", e.Rule, e.Err)
				}
			}
		})
	}
}

// TestAlertCheckSaysWhyFailuresAreUnknown: AlertInputs.Unknown is the reason
// backend_failures is not evaluated (the sandbox's), instead of asking for a
// state database.
func TestAlertCheckSaysWhyFailuresAreUnknown(t *testing.T) {
	c := lookup.NewAlertChecker(nil, lookup.AlertConfig{Zone: rpZone}) // every report rule off: no report is read
	got := c.Check(context.Background(), acNow, lookup.AlertInputs{Unknown: "not in the sandbox"})
	want := lookup.RuleSkip{Rule: lookup.RuleBackendFailures, Reason: "not in the sandbox"}
	if n := len(got.NotEvaluated); n == 0 || got.NotEvaluated[n-1] != want {
		t.Errorf("not evaluated %+v; want %+v last", got.NotEvaluated, want)
	}
}

// TestAlertCheckOffRules: thresholds at 0 (and no budget) run no report.
func TestAlertCheckOffRules(t *testing.T) {
	w := newReportWorld(t, acTraffic(func(c *lookup.TrafficConfig) { c.CacheCollapse = []int{28, 29} }))
	got := lookup.NewAlertChecker(w.engine(nil), lookup.AlertConfig{Zone: rpZone}).Check(context.Background(), acNow, lookup.AlertInputs{})
	if len(got.Alerts) != 0 || len(got.Evaluated) != 0 || len(got.NotEvaluated) != 5 || len(w.srv.Queries()) != 0 {
		t.Fatalf("alerts %v evaluated %v not evaluated %v queries %d", got.Alerts, got.Evaluated, got.NotEvaluated, len(w.srv.Queries()))
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"now", "alerts", "evaluated", "errors"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
}

// TestAlertCheckHalfHourZone: where midnight is not on a UTC hour, today's spend
// comes from a report of its own that starts at midnight.
func TestAlertCheckHalfHourZone(t *testing.T) {
	w := newReportWorld(t, acTraffic(nil))
	kolkata := mustZone("Asia/Kolkata")
	cfg := acConfig(0)
	cfg.Zone = kolkata
	local := acNow.In(kolkata)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, kolkata)
	var spend float64
	for _, r := range w.rows {
		if ts := r.Timestamp.Truncate(time.Second); !ts.Before(midnight) && ts.Before(acNow) {
			spend += *r.CostUSD
		}
	}
	cfg.DailyBudget = spend // exactly reached
	got := lookup.NewAlertChecker(w.engine(nil), cfg).Check(context.Background(), acNow, lookup.AlertInputs{})
	if len(got.Alerts) != 1 || got.Alerts[0].Level != lookup.LevelExceeded {
		t.Fatalf("alerts %+v", got.Alerts)
	}
	if diff := gocmp.Diff(spend, got.Alerts[0].Value, approx); diff != "" {
		t.Errorf("spend (-want +got):\n%s", diff)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// windowRecorder is a Reporter that records the windows it is asked for and
// answers an empty report of each kind.
type windowRecorder struct{ longest time.Duration }

func (w *windowRecorder) Report(_ context.Context, q lookup.ReportQuery) (*lookup.Report, error) {
	w.longest = max(w.longest, q.To.Sub(q.From))
	return &lookup.Report{Kind: q.Kind, From: q.From, To: q.To, Spend: &lookup.SpendReport{}, Cache: &lookup.CacheReport{},
		Finish: &lookup.FinishReport{}}, nil
}

// TestAlertCheckWindowsFitTheReportRange: serve refuses a TRACEBOT_REPORT_MAX_RANGE
// under AlertReportRange when alerts are on; no check asks for a longer window,
// at any minute of days around both DST changes, in whole- and half-hour zones.
func TestAlertCheckWindowsFitTheReportRange(t *testing.T) {
	rec := &windowRecorder{}
	for _, zone := range []*time.Location{rpZone, mustZone("Asia/Kolkata"), time.UTC} {
		c := lookup.NewAlertChecker(rec, lookup.AlertConfig{DailyBudget: 1, CostSpike: 3, CacheMin: 0.5, LengthMax: 0.2, Zone: zone})
		for _, day := range []time.Time{time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)} {
			for now := day; now.Before(day.Add(72 * time.Hour)); now = now.Add(7 * time.Minute) {
				c.Check(context.Background(), now, lookup.AlertInputs{})
			}
		}
	}
	if rec.longest > lookup.AlertReportRange {
		t.Errorf("a check asked for %s, longer than AlertReportRange (%s)", rec.longest, lookup.AlertReportRange)
	}
	t.Logf("longest window asked for: %s (AlertReportRange %s)", rec.longest, lookup.AlertReportRange)
}
