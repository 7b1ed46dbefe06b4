package lookup

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/callytics/tracebot/lookup/numfmt"
)

// The rules of SPEC §13, each a pure function of report results (or of the bot's
// trace failures). A threshold of 0 turns a rule off; the checker does not call
// an off rule, and each function also returns nothing for it.

// Budget levels in percent of the daily budget, highest first.
var budgetLevels = []struct {
	level   AlertLevel
	percent float64
}{{LevelExceeded, 100}, {LevelCritical, 95}, {LevelWarning, 80}}

// BudgetSpend is today's spend for the budget rule.
type BudgetSpend struct {
	SpendUSD  float64   // Σ costUsd since DayStart
	BudgetUSD float64   // TRACEBOT_DAILY_BUDGET; 0: off
	DayStart  time.Time // local midnight in Zone
	Now       time.Time
	Zone      *time.Location
}

// BudgetAlert is the highest level today's spend has reached: warning at 80% of
// the budget, critical at 95%, exceeded at 100% (reaching a level's amount
// exactly reaches it). ok is false below 80% or with no budget.
func BudgetAlert(s BudgetSpend) (a Alert, ok bool) {
	if s.BudgetUSD <= 0 {
		return Alert{}, false
	}
	for _, l := range budgetLevels {
		// Compare in whole percents so 80% of $10 is exactly $8.
		if s.SpendUSD*100 < l.percent*s.BudgetUSD {
			continue
		}
		amount := s.BudgetUSD * l.percent / 100
		day := s.DayStart.In(zoneOr(s.Zone)).Format(time.DateOnly)
		return Alert{Rule: RuleBudget, Level: l.level, Value: s.SpendUSD, Threshold: amount,
			From: s.DayStart.UTC(), To: s.Now.UTC(), Day: day, Report: ReportCost,
			Message: fmt.Sprintf("Today's AI spend (%s, %s) is %s: %s of the %s daily budget, the %s level (%s, %s) is reached.",
				day, zoneOr(s.Zone), usd(s.SpendUSD), percent(s.SpendUSD/s.BudgetUSD), usd(s.BudgetUSD), l.level,
				percent(l.percent/100), usd(amount)),
		}, true
	}
	return Alert{}, false
}

// CacheCollapseAlert fires when the token-weighted hit rate (all models) was
// below min in each of the two full hours ending at lastFull+1h. An hour that
// logged no input tokens has no rate and is not below anything.
func CacheCollapseAlert(hours []CachePoint, lastFull time.Time, min float64, zone *time.Location) (Alert, bool) {
	if min <= 0 {
		return Alert{}, false
	}
	want := []time.Time{lastFull.Add(-time.Hour), lastFull}
	var low []AlertHour
	for _, h := range want {
		i := slices.IndexFunc(hours, func(p CachePoint) bool { return p.Bucket.Equal(h) })
		if i < 0 || hours[i].CacheRatio == nil || *hours[i].CacheRatio >= min {
			return Alert{}, false
		}
		low = append(low, AlertHour{Bucket: h.UTC(), Value: *hours[i].CacheRatio})
	}
	worst := slices.MaxFunc(low, func(a, b AlertHour) int { return cmp.Compare(a.Value, b.Value) })
	from, to := want[0], lastFull.Add(time.Hour)
	names := namesFor(from, to, zone)
	var each []string
	for _, h := range low {
		each = append(each, names.hour(h.Bucket).en+" "+percent(h.Value))
	}
	return Alert{Rule: RuleCacheCollapse, Level: LevelWarning, Value: worst.Value, Threshold: min,
		From: from.UTC(), To: to.UTC(), Report: ReportCache, Hours: low,
		Message: fmt.Sprintf("The cache hit rate was below %s in each of the last 2 full hours, %s (%s). "+
			"Check lambda/ai-analysis-processor/src/core/stages/prompts.ts for a ${...} interpolation in the prompt prefix "+
			"and run the cache invariant test (runbook scenario 3).",
			percent(min), names.span(from, to).en, strings.Join(each, ", ")),
	}, true
}

// costSpikeHours is how many hours before the last full hour make its baseline.
const costSpikeHours = 24

// AlertReportRange is the longest report window one alert check asks for: the spend
// report over today (up to 24 hours) and the costSpikeHours+1 hours before now.
// TRACEBOT_REPORT_MAX_RANGE must be at least this when alerts are on.
const AlertReportRange = (24 + costSpikeHours + 1) * time.Hour

// CostSpikeAlert fires when the cost of the hour starting at lastFull is above
// k × the median hourly cost of the 24 hours before it. hours must hold every
// hour of that span (SpendReport.Hours is zero-filled); with fewer, or a median of
// 0 (no baseline), it does not fire.
func CostSpikeAlert(hours []CostPoint, lastFull time.Time, k float64, zone *time.Location) (Alert, bool) {
	if k <= 0 {
		return Alert{}, false
	}
	cost := map[time.Time]float64{}
	for _, h := range hours {
		cost[h.Bucket.UTC()] = h.CostUSD
	}
	last, ok := cost[lastFull.UTC()]
	if !ok {
		return Alert{}, false
	}
	var before []float64
	for i := costSpikeHours; i >= 1; i-- {
		v, ok := cost[lastFull.UTC().Add(-time.Duration(i)*time.Hour)]
		if !ok {
			return Alert{}, false
		}
		before = append(before, v)
	}
	med := median(before)
	threshold := k * med
	if med <= 0 || last <= threshold {
		return Alert{}, false
	}
	from, to := lastFull, lastFull.Add(time.Hour)
	return Alert{Rule: RuleCostSpike, Level: LevelWarning, Value: last, Threshold: threshold, Baseline: med,
		From: from.UTC(), To: to.UTC(), Report: ReportCost,
		Message: fmt.Sprintf("AI spend in %s was %s, %.1f× the median hourly cost of the 24 hours before (%s); the threshold is %g× (%s). "+
			"Look for long inputs or cache misses in the cost report (runbook scenario 2).",
			namesFor(from, to, zone).span(from, to).en, usd(last), last/med, usd(med), k, usd(threshold)),
	}, true
}

// median of values (not empty).
func median(values []float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// LengthSpikeAlerts fire, per stage, when the share of `length` finishes among
// the stage's rows in the hour starting at lastFull is above max and the stage
// had at least 20 rows then. They are in pipeline order.
func LengthSpikeAlerts(f *FinishReport, lastFull time.Time, max float64, zone *time.Location) []Alert {
	if max <= 0 || f == nil {
		return nil
	}
	var out []Alert
	from, to := lastFull.UTC(), lastFull.Add(time.Hour).UTC()
	for _, stage := range f.Stages() {
		share, rows := f.HourShare(from, stage, FinishLength)
		if rows < spikeMinRows || share <= max {
			continue
		}
		lambda, tokens := "ai-analysis-processor", 4096
		if stage == StageContacts {
			lambda, tokens = "contacts-analyzer", 4000
		}
		out = append(out, Alert{Rule: RuleLengthSpike, Level: LevelWarning, Value: share, Threshold: max, Stage: stage,
			From: from, To: to, Report: ReportFinish, Rows: rows,
			Message: fmt.Sprintf("%s: %s of %d rows finished \"length\" in %s (above %s): the output was truncated. "+
				"%s's maxTokens is %d; look for an unusually long transcript first, then raise it in a PR (runbook scenario 5).",
				stage, percent(share), rows, namesFor(from, to, zone).span(from, to).en, percent(max), lambda, tokens),
		})
	}
	return out
}

// Backend failure rule: at least this many traces in this window.
const (
	BackendFailureWindow = 10 * time.Minute
	BackendFailureMin    = 5
)

// BackendFailureAlerts fire per backend when at least 5 distinct traces recorded
// a failure from it in the 10 minutes up to now (failures at or before
// now-10m are outside), and go on firing for a backend in open (its episode is
// open) until 10 minutes pass without a new failure. Value is the number of
// traces in the window. They are ordered by backend.
func BackendFailureAlerts(failures []TraceFailure, now time.Time, open []string) []Alert {
	since := now.Add(-BackendFailureWindow)
	type tally struct {
		traces      map[string]bool
		causes      map[string]int
		first, last time.Time
	}
	by := map[string]*tally{}
	for _, f := range failures {
		if f.Backend == "" || !f.At.After(since) || f.At.After(now) {
			continue
		}
		t := by[f.Backend]
		if t == nil {
			t = &tally{traces: map[string]bool{}, causes: map[string]int{}, first: f.At, last: f.At}
			by[f.Backend] = t
		}
		t.traces[cmp.Or(f.TraceID, f.At.String())] = true
		t.causes[causeSignature(f.Cause)]++
		t.first, t.last = minTime(t.first, f.At), maxTime(t.last, f.At)
	}
	var out []Alert
	for _, backend := range slices.Sorted(maps.Keys(by)) {
		t := by[backend]
		n := len(t.traces)
		if n < BackendFailureMin && !slices.Contains(open, backend) {
			continue
		}
		cause := commonest(t.causes)
		out = append(out, Alert{Rule: RuleBackendFailures, Level: LevelCritical, Value: float64(n),
			Threshold: BackendFailureMin, Backend: backend, Cause: cause, From: since.UTC(), To: now.UTC(),
			Message: fmt.Sprintf("%s %s on %d traces in 10 min: %s", backend, cause, n, failureHint(backend, cause)),
		})
	}
	return out
}

// commonest is the most frequent key (ties: the first in order).
func commonest(counts map[string]int) string {
	best, n := "", 0
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if counts[k] > n {
			best, n = k, counts[k]
		}
	}
	return best
}

var (
	httpStatusPattern = regexp.MustCompile(`\bHTTP (\d{3})\b`)
	awsErrorPattern   = regexp.MustCompile(`\b([A-Z][A-Za-z]+(?:Exception|Error|Denied))\b`)
	slackErrorPattern = regexp.MustCompile(`\b(ratelimited|invalid_auth|not_authed|token_revoked|token_expired|account_inactive)\b`)
	larkCodePattern   = regexp.MustCompile(`\bcode (\d{4,})\b`)
)

// causeSignature reduces a one-line cause to what failures of one kind share:
// the HTTP status, the AWS or Slack error code, the Lark code, a timeout or a
// refused connection; else "errors".
func causeSignature(cause string) string {
	if m := httpStatusPattern.FindStringSubmatch(cause); m != nil {
		return m[1]
	}
	for _, p := range []*regexp.Regexp{awsErrorPattern, slackErrorPattern} {
		if m := p.FindStringSubmatch(cause); m != nil {
			return m[1]
		}
	}
	if m := larkCodePattern.FindStringSubmatch(cause); m != nil {
		return "code " + m[1]
	}
	lower := strings.ToLower(cause)
	for _, s := range []string{"timed out", "connection refused", "no such host", "connection reset"} {
		if strings.Contains(lower, s) {
			return s
		}
	}
	return "errors"
}

// failureHint is the first thing to check for a backend failing with cause.
func failureHint(backend, cause string) string {
	switch {
	case backend == BackendOpenRouter && (cause == "401" || cause == "403"):
		return "was the key rotated? Check the OpenRouter key in SSM."
	case backend == BackendOpenRouter && cause == "402":
		return "are the OpenRouter credits used up?"
	case cause == "429" || cause == "ratelimited" || strings.Contains(cause, "Throttling"):
		return "rate limited: is something else using the same quota?"
	case backend == BackendPostgres:
		return "is Neon up, and did the database password rotate?"
	case strings.HasPrefix(backend, BackendCloudWatch) && strings.Contains(cause, "AccessDenied"):
		return "does the IAM policy still allow logs:StartQuery there? (tracebot check --iam)"
	case strings.HasPrefix(backend, BackendCloudWatch):
		return "is Logs Insights answering in that region? (tracebot check)"
	case backend == BackendS3:
		return "can the bot still read the analysis bucket? (tracebot check --iam)"
	case backend == "Slack" || backend == "Lark":
		return "was the bot's token or app secret rotated, or is the platform down?"
	}
	return "see the bot's logs for the full errors (tracebot history shows the traces)."
}

func usd(v float64) string { return numfmt.Dollars(v) }

func zoneOr(z *time.Location) *time.Location {
	if z == nil {
		return time.UTC
	}
	return z
}
