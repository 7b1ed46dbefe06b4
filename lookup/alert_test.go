package lookup_test

import (
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/lookup"
)

// The rules' tests: each threshold at its edge (SPEC §13). The budget's levels
// are reached at their amount; the other rules need a value strictly beyond.

var (
	alNow      = time.Date(2026, 5, 22, 16, 10, 0, 0, time.UTC)
	alLastFull = time.Date(2026, 5, 22, 15, 0, 0, 0, time.UTC)
	alDayStart = time.Date(2026, 5, 22, 4, 0, 0, 0, time.UTC) // midnight EDT
)

func TestBudgetAlertLevels(t *testing.T) {
	tests := []struct {
		name          string
		spend, budget float64
		want          lookup.AlertLevel // "" = none
		threshold     float64
	}{
		{"below 80%", 7.99, 10, "", 0},
		{"exactly 80%", 8, 10, lookup.LevelWarning, 8},
		{"between", 9.49, 10, lookup.LevelWarning, 8},
		{"exactly 95%", 9.5, 10, lookup.LevelCritical, 9.5},
		{"just under 100%", 9.999, 10, lookup.LevelCritical, 9.5},
		{"exactly 100%", 10, 10, lookup.LevelExceeded, 10},
		{"over", 31.4, 10, lookup.LevelExceeded, 10},
		{"odd budget at 80%", 0.8 * 37.3, 37.3, lookup.LevelWarning, 0.8 * 37.3},
		{"no budget: off", 100, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := lookup.BudgetAlert(lookup.BudgetSpend{SpendUSD: tt.spend, BudgetUSD: tt.budget,
				DayStart: alDayStart, Now: alNow, Zone: rpZone})
			if ok != (tt.want != "") || a.Level != tt.want {
				t.Fatalf("BudgetAlert(%g of %g) = %q, %v; want %q", tt.spend, tt.budget, a.Level, ok, tt.want)
			}
			if !ok {
				return
			}
			if diff := gocmp.Diff([]any{a.Rule, a.Value, a.Threshold, a.From, a.To, a.Day, a.Report},
				[]any{lookup.RuleBudget, tt.spend, tt.threshold, alDayStart, alNow, "2026-05-22", lookup.ReportCost}, approx); diff != "" {
				t.Errorf("alert (-got +want):\n%s", diff)
			}
			if a.EpisodeKey() != string(tt.want)+"/2026-05-22" || a.Resolves() {
				t.Errorf("episode %q, resolves %v: want one per level and day, ending silently", a.EpisodeKey(), a.Resolves())
			}
		})
	}
}

func cacheHours(rates ...*float64) []lookup.CachePoint {
	var out []lookup.CachePoint
	for i, r := range rates {
		out = append(out, lookup.CachePoint{Bucket: alLastFull.Add(time.Duration(i-len(rates)+1) * time.Hour), InputTokens: 1000, CacheRatio: r})
	}
	return out
}

func f(v float64) *float64 { return &v }

func TestCacheCollapseAlert(t *testing.T) {
	tests := []struct {
		name  string
		hours []lookup.CachePoint
		min   float64
		want  bool
		value float64
	}{
		{"both hours below", cacheHours(f(0.9), f(0.3), f(0.49)), 0.5, true, 0.49},
		{"the older hour at the minimum", cacheHours(f(0.5), f(0.1)), 0.5, false, 0},
		{"the last hour at the minimum", cacheHours(f(0.1), f(0.5)), 0.5, false, 0},
		{"only the last hour below", cacheHours(f(0.9), f(0.1)), 0.5, false, 0},
		{"an hour without tokens", cacheHours(nil, f(0.1)), 0.5, false, 0},
		{"an hour missing", cacheHours(f(0.1)), 0.5, false, 0},
		{"earlier hours below only", cacheHours(f(0.1), f(0.1), f(0.9), f(0.9)), 0.5, false, 0},
		{"off at 0", cacheHours(f(0), f(0)), 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := lookup.CacheCollapseAlert(tt.hours, alLastFull, tt.min, rpZone)
			if ok != tt.want {
				t.Fatalf("fired %v, want %v: %+v", ok, tt.want, a)
			}
			if ok && (a.Value != tt.value || a.Threshold != tt.min || !a.From.Equal(alLastFull.Add(-time.Hour)) ||
				!a.To.Equal(alLastFull.Add(time.Hour)) || len(a.Hours) != 2 || a.Report != lookup.ReportCache) {
				t.Errorf("alert %+v", a)
			}
		})
	}
}

// costHours are the 24 hours before the last full hour at base each, then the
// last full hour at last.
func costHours(base func(i int) float64, last float64) []lookup.CostPoint {
	var out []lookup.CostPoint
	for i := 24; i >= 1; i-- {
		out = append(out, lookup.CostPoint{Bucket: alLastFull.Add(-time.Duration(i) * time.Hour), CostUSD: base(i)})
	}
	return append(out, lookup.CostPoint{Bucket: alLastFull, CostUSD: last})
}

func TestCostSpikeAlert(t *testing.T) {
	flat := func(int) float64 { return 0.5 }
	halves := func(i int) float64 { // twelve hours at 0.4, twelve at 0.6: median 0.5
		if i%2 == 0 {
			return 0.4
		}
		return 0.6
	}
	tests := []struct {
		name      string
		hours     []lookup.CostPoint
		k         float64
		want      bool
		threshold float64
	}{
		{"above k × median", costHours(flat, 1.51), 3, true, 1.5},
		{"exactly k × median", costHours(flat, 1.5), 3, false, 0},
		{"median of an even count", costHours(halves, 1.5001), 3, true, 1.5},
		{"one expensive hour in the baseline does not move the median", costHours(func(i int) float64 {
			if i == 3 {
				return 40
			}
			return 0.5
		}, 1.6), 3, true, 1.5},
		{"no baseline: median 0", costHours(func(int) float64 { return 0 }, 5), 3, false, 0},
		{"baseline incomplete", costHours(flat, 9)[2:], 3, false, 0},
		{"off at 0", costHours(flat, 9), 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := lookup.CostSpikeAlert(tt.hours, alLastFull, tt.k, rpZone)
			if ok != tt.want {
				t.Fatalf("fired %v, want %v: %+v", ok, tt.want, a)
			}
			if !ok {
				return
			}
			if diff := gocmp.Diff([]any{a.Threshold, a.Baseline, a.From, a.To}, []any{tt.threshold, tt.threshold / tt.k, alLastFull, alLastFull.Add(time.Hour)}, approx); diff != "" {
				t.Errorf("alert (-got +want):\n%s", diff)
			}
		})
	}
}

// finishHour is one stage's rows in the last full hour: n finished length of total.
func finishHour(stage string, length, total int64) []lookup.FinishPoint {
	out := []lookup.FinishPoint{{Bucket: alLastFull, Stage: stage, FinishReason: "stop", Count: total - length}}
	if length > 0 {
		out = append(out, lookup.FinishPoint{Bucket: alLastFull, Stage: stage, FinishReason: lookup.FinishLength, Count: length})
	}
	return out
}

func TestLengthSpikeAlerts(t *testing.T) {
	earlier := []lookup.FinishPoint{{Bucket: alLastFull.Add(-time.Hour), Stage: "coaching", FinishReason: lookup.FinishLength, Count: 50}}
	tests := []struct {
		name   string
		series []lookup.FinishPoint
		max    float64
		want   []string // stages
	}{
		{"share above with 20 rows", finishHour("coaching", 5, 20), 0.2, []string{"coaching"}},
		{"share exactly at max", finishHour("coaching", 4, 20), 0.2, nil},
		{"19 rows are too few", finishHour("coaching", 10, 19), 0.2, nil},
		{"per stage, pipeline order", append(finishHour(lookup.StageContacts, 9, 30), finishHour("triage", 7, 21)...), 0.2, []string{"triage", lookup.StageContacts}},
		{"an earlier hour does not count", append(earlier, finishHour("coaching", 1, 40)...), 0.2, nil},
		{"off at 0", finishHour("coaching", 20, 20), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range lookup.LengthSpikeAlerts(&lookup.FinishReport{Series: tt.series}, alLastFull, tt.max, rpZone) {
				got = append(got, a.Stage)
				if a.Subject() != a.Stage || a.EpisodeKey() != a.Stage || a.Threshold != tt.max || a.Rows < 20 {
					t.Errorf("alert %+v", a)
				}
			}
			if diff := gocmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stages (-want +got):\n%s", diff)
			}
		})
	}
}

// failures are n traces failing at backend with cause, one a minute back from at.
func failures(backend, cause string, n int, at time.Time) []lookup.TraceFailure {
	var out []lookup.TraceFailure
	for i := range n {
		out = append(out, lookup.TraceFailure{TraceID: backend + cause + string(rune('a'+i)), At: at.Add(-time.Duration(i) * time.Minute),
			Backend: backend, Cause: cause})
	}
	return out
}

func TestBackendFailureAlerts(t *testing.T) {
	or401 := "classify: openrouter gen-1: unauthorized (HTTP 401: invalid key; check /callytics/openrouter-api-key)"
	dup := failures(lookup.BackendOpenRouter, or401, 4, alNow)
	dup = append(dup, lookup.TraceFailure{TraceID: dup[0].TraceID, At: alNow, Backend: lookup.BackendOpenRouter, Cause: or401})
	tests := []struct {
		name     string
		failures []lookup.TraceFailure
		open     []string
		want     []string // messages
	}{
		{"five traces fire", failures(lookup.BackendOpenRouter, or401, 5, alNow),
			nil, []string{"OpenRouter 401 on 5 traces in 10 min: was the key rotated? Check the OpenRouter key in SSM."}},
		{"six traces, the example of SPEC §13", failures(lookup.BackendOpenRouter, or401, 6, alNow.Add(-time.Second)),
			nil, []string{"OpenRouter 401 on 6 traces in 10 min: was the key rotated? Check the OpenRouter key in SSM."}},
		{"four traces do not", failures(lookup.BackendOpenRouter, or401, 4, alNow), nil, nil},
		{"a trace failing twice counts once", dup, nil, nil},
		{"a failure exactly 10 minutes old is outside", failures(lookup.BackendOpenRouter, or401, 5, alNow.Add(-6*time.Minute)), nil, nil},
		{"per backend", append(failures("CloudWatch us-east-2", "cloudwatch us-east-2: AccessDeniedException: not authorized", 5, alNow),
			failures(lookup.BackendPostgres, "calls database: dial tcp: connection refused", 5, alNow)...), nil, []string{
			"CloudWatch us-east-2 AccessDeniedException on 5 traces in 10 min: does the IAM policy still allow logs:StartQuery there? (tracebot check --iam)",
			"Postgres connection refused on 5 traces in 10 min: is Neon up, and did the database password rotate?"}},
		{"an open episode goes on while failures come", failures(lookup.BackendOpenRouter, or401, 1, alNow.Add(-9*time.Minute)),
			[]string{lookup.BackendOpenRouter}, []string{"OpenRouter 401 on 1 traces in 10 min: was the key rotated? Check the OpenRouter key in SSM."}},
		{"an open episode ends 10 minutes after the last failure", failures(lookup.BackendOpenRouter, or401, 5, alNow.Add(-10*time.Minute)),
			[]string{lookup.BackendOpenRouter}, nil},
		{"slack rate limits", failures("Slack", "slack chat.update C1: slack rate limit exceeded, retry after 30s (ratelimited)", 5, alNow),
			nil, []string{"Slack ratelimited on 5 traces in 10 min: rate limited: is something else using the same quota?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range lookup.BackendFailureAlerts(tt.failures, alNow, tt.open) {
				got = append(got, a.Message)
				if a.Level != lookup.LevelCritical || a.Threshold != 5 || a.Subject() != a.Backend || !a.To.Equal(alNow) {
					t.Errorf("alert %+v", a)
				}
			}
			if diff := gocmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStepBackend(t *testing.T) {
	for _, tt := range []struct{ step, region, want string }{
		{lookup.StepCalls, "", "Postgres"}, {lookup.StepLogs, "us-east-2", "CloudWatch us-east-2"},
		{lookup.StepGenerations, "", "OpenRouter"}, {lookup.StepS3, "", "S3"}, {lookup.StepParse, "", ""},
	} {
		if got := lookup.StepBackend(tt.step, tt.region); got != tt.want {
			t.Errorf("StepBackend(%s, %s) = %q, want %q", tt.step, tt.region, got, tt.want)
		}
	}
}

func TestAlertDetailsQuery(t *testing.T) {
	spike := lookup.Alert{Rule: lookup.RuleCostSpike, Report: lookup.ReportCost, From: alLastFull, To: alLastFull.Add(time.Hour)}
	budget := lookup.Alert{Rule: lookup.RuleBudget, Report: lookup.ReportCost, From: alDayStart, To: alNow}
	collapse := lookup.Alert{Rule: lookup.RuleCacheCollapse, Report: lookup.ReportCache, From: alLastFull.Add(-time.Hour), To: alLastFull.Add(time.Hour)}
	for _, tt := range []struct {
		a        lookup.Alert
		from, to time.Time
	}{
		{spike, alLastFull.Add(-24 * time.Hour), alLastFull.Add(time.Hour)},
		{budget, alDayStart, alNow},
		{collapse, alLastFull.Add(-23 * time.Hour), alLastFull.Add(time.Hour)},
	} {
		q, ok := tt.a.DetailsQuery(rpZone)
		if !ok || q.Kind != tt.a.Report || !q.From.Equal(tt.from) || !q.To.Equal(tt.to) || q.Zone != rpZone {
			t.Errorf("%s: %+v %v, want %s %s–%s", tt.a.Rule, q, ok, tt.a.Report, tt.from, tt.to)
		}
	}
	if _, ok := (lookup.Alert{Rule: lookup.RuleBackendFailures}).DetailsQuery(rpZone); ok {
		t.Error("backend_failures has no report")
	}
}

// TestAlertHoursAcrossMidnight: an alert's span names only clocks within one day
// and both days when it crosses midnight.
func TestAlertHoursAcrossMidnight(t *testing.T) {
	low := func(lastFull time.Time) []lookup.CachePoint {
		return []lookup.CachePoint{{Bucket: lastFull.Add(-time.Hour), InputTokens: 1000, CacheRatio: f(0.2)},
			{Bucket: lastFull, InputTokens: 1000, CacheRatio: f(0.3)}}
	}
	midnight := time.Date(2026, 5, 22, 4, 0, 0, 0, time.UTC) // 00:00 EDT
	for _, tt := range []struct {
		lastFull time.Time
		want     string
	}{
		{alLastFull, "in each of the last 2 full hours, 10:00–12:00 EDT (10:00 EDT 20%, 11:00 EDT 30%)"},
		{midnight, "in each of the last 2 full hours, Thu May 21 23:00–Fri May 22 01:00 EDT (Thu May 21 23:00 EDT 20%, Fri May 22 00:00 EDT 30%)"},
	} {
		a, ok := lookup.CacheCollapseAlert(low(tt.lastFull), tt.lastFull, 0.5, rpZone)
		if !ok || !strings.Contains(a.Message, tt.want) {
			t.Errorf("fired %v: %s\nwant %q", ok, a.Message, tt.want)
		}
	}
}
