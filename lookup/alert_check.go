package lookup

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Defaults of AlertConfig (SPEC §7).
const (
	DefaultCostSpike     = 3
	DefaultAlertInterval = 10 * time.Minute
)

// AlertConfig holds the rules' thresholds. A threshold of 0 turns its rule off;
// the budget is off until DailyBudget is set.
type AlertConfig struct {
	DailyBudget float64        // TRACEBOT_DAILY_BUDGET, USD a local day
	CostSpike   float64        // TRACEBOT_COST_SPIKE: k × the 24h median
	CacheMin    float64        // TRACEBOT_CACHE_MIN
	LengthMax   float64        // TRACEBOT_LENGTH_MAX
	Zone        *time.Location // TRACEBOT_TIME_ZONE: the budget's day, hour labels
	Env         string         // "" means the report engine's
}

// On reports whether rule is turned on by its threshold. backend_failures is
// always on (it needs the bot's trace records, which AlertInputs may lack).
func (c AlertConfig) On(rule AlertRule) bool {
	switch rule {
	case RuleBudget:
		return c.DailyBudget > 0
	case RuleCacheCollapse:
		return c.CacheMin > 0
	case RuleCostSpike:
		return c.CostSpike > 0
	case RuleLengthSpike:
		return c.LengthMax > 0
	}
	return rule == RuleBackendFailures
}

// AlertInputs are what the bot's own records tell the checker.
type AlertInputs struct {
	// FailuresKnown says whether the bot's trace failures could be read (a state
	// store is there); without them backend_failures is not evaluated.
	FailuresKnown bool
	// Unknown is why the failures are not known, when it is not for want of a
	// state store ("": the check says to set TRACEBOT_SSM_STATE_DATABASE_URL).
	Unknown      string
	Failures     []TraceFailure // those after now - BackendFailureWindow suffice
	OpenBackends []string       // backends whose backend_failures episode is open
}

// AlertCheck is the result of evaluating every rule once. Its JSON form is
// `alerts check --json` (SPEC §13). A rule is in exactly one of Evaluated,
// NotEvaluated (off, or lacking input) and Errors (its report could not be read
// whole: a rule never concludes from partial data, so an open episode is neither
// closed nor opened by it).
type AlertCheck struct {
	Now          time.Time   `json:"now"`
	Alerts       []Alert     `json:"alerts"`
	Evaluated    []AlertRule `json:"evaluated"`
	NotEvaluated []RuleSkip  `json:"not_evaluated"`
	Errors       []RuleError `json:"errors"`
	Reports      []*Report   `json:"-"` // the reports the rules read, for charts
	reportOf     map[AlertRule]*Report
}

// RuleSkip is a rule that was not evaluated, and why.
type RuleSkip struct {
	Rule   AlertRule `json:"rule"`
	Reason string    `json:"reason"`
}

// RuleError is a rule that could not be evaluated: its report failed.
type RuleError struct {
	Rule    AlertRule `json:"rule"`
	Message string    `json:"message"` // one line, no secrets: the failed regions' lines
	Err     error     `json:"-"`       // the full cause of Message, for the logs
}

// MarshalJSON writes the check with empty lists as [] and times in UTC.
func (c AlertCheck) MarshalJSON() ([]byte, error) {
	type plain AlertCheck
	p := plain(c)
	p.Now = p.Now.UTC()
	p.Alerts = orEmpty(p.Alerts)
	p.Evaluated = orEmpty(p.Evaluated)
	p.NotEvaluated = orEmpty(p.NotEvaluated)
	p.Errors = orEmpty(p.Errors)
	return json.Marshal(p)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// WasEvaluated reports whether rule was evaluated in this check: only then does
// the absence of its alerts mean its condition does not hold.
func (c AlertCheck) WasEvaluated(rule AlertRule) bool { return slices.Contains(c.Evaluated, rule) }

// ReportOf is the report rule's alerts were read from (nil for backend_failures
// and rules not evaluated): the chart of its alert.
func (c AlertCheck) ReportOf(rule AlertRule) *Report { return c.reportOf[rule] }

// AlertChecker evaluates the rules over the report engine: three reports a
// check (cost from the earlier of local midnight and 24 hours before the last
// full hour, up to now; cache and finish over the 24 full hours up to the last),
// and a fourth, cost since midnight, in a zone whose midnight is not on a UTC
// hour; each is at most two Insights queries per region. It is safe for
// concurrent use.
type AlertChecker struct {
	reports Reporter
	cfg     AlertConfig
}

// NewAlertChecker returns a checker over reports. It does no I/O.
func NewAlertChecker(reports Reporter, cfg AlertConfig) *AlertChecker {
	cfg.Zone = zoneOr(cfg.Zone)
	return &AlertChecker{reports: reports, cfg: cfg}
}

// Config returns the checker's thresholds.
func (c *AlertChecker) Config() AlertConfig { return c.cfg }

// LastFullHour is the start of the last hour that ended at or before now.
func LastFullHour(now time.Time) time.Time { return now.UTC().Truncate(time.Hour).Add(-time.Hour) }

// Check evaluates every rule once at now. It never fails as a whole: a report
// that could not be read is an error of the rules that need it.
func (c *AlertChecker) Check(ctx context.Context, now time.Time, in AlertInputs) AlertCheck {
	now = now.UTC().Truncate(time.Second)
	res := AlertCheck{Now: now, reportOf: map[AlertRule]*Report{}}
	lastFull := LastFullHour(now)
	needs := func(rules ...AlertRule) []AlertRule {
		var on []AlertRule
		for _, r := range rules {
			if c.cfg.On(r) {
				on = append(on, r)
			} else {
				res.NotEvaluated = append(res.NotEvaluated, RuleSkip{Rule: r, Reason: offReason(r)})
			}
		}
		return on
	}
	if rules := needs(RuleBudget, RuleCostSpike); len(rules) > 0 {
		c.costRules(ctx, &res, rules, now, lastFull)
	}
	if rules := needs(RuleCacheCollapse); len(rules) > 0 {
		r, err := c.report(ctx, ReportCache, lastFull.Add(-23*time.Hour), lastFull.Add(time.Hour))
		res.record(rules, r, err, func() {
			if a, ok := CacheCollapseAlert(r.Cache.Hours, lastFull, c.cfg.CacheMin, c.cfg.Zone); ok {
				res.Alerts = append(res.Alerts, a)
			}
		})
	}
	if rules := needs(RuleLengthSpike); len(rules) > 0 {
		r, err := c.report(ctx, ReportFinish, lastFull.Add(-23*time.Hour), lastFull.Add(time.Hour))
		res.record(rules, r, err, func() {
			res.Alerts = append(res.Alerts, LengthSpikeAlerts(r.Finish, lastFull, c.cfg.LengthMax, c.cfg.Zone)...)
		})
	}
	if !in.FailuresKnown {
		res.NotEvaluated = append(res.NotEvaluated, RuleSkip{Rule: RuleBackendFailures,
			Reason: cmp.Or(in.Unknown, "needs the bot's trace records: set TRACEBOT_SSM_STATE_DATABASE_URL")})
	} else {
		res.Evaluated = append(res.Evaluated, RuleBackendFailures)
		res.Alerts = append(res.Alerts, BackendFailureAlerts(in.Failures, now, in.OpenBackends)...)
	}
	res.sort()
	return res
}

// costRules evaluates budget and cost_spike from one spend report (cost per hour) over
// [min(local midnight, last full hour - 24h), now). In a zone whose midnight is
// not on a UTC hour (hourly buckets are UTC) today's spend needs a report of its
// own from midnight.
func (c *AlertChecker) costRules(ctx context.Context, res *AlertCheck, rules []AlertRule, now, lastFull time.Time) {
	local := now.In(c.cfg.Zone)
	dayStart := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, c.cfg.Zone).UTC()
	from := minTime(dayStart, lastFull.Add(-costSpikeHours*time.Hour))
	r, err := c.report(ctx, ReportSpend, from, now)
	today, todayErr := r, err
	if aligned := dayStart.Truncate(time.Hour).Equal(dayStart); !aligned && slices.Contains(rules, RuleBudget) {
		today, todayErr = c.report(ctx, ReportSpend, dayStart, now)
	}
	for _, rule := range rules {
		rep, rerr := r, err
		if rule == RuleBudget {
			rep, rerr = today, todayErr
		}
		res.record([]AlertRule{rule}, rep, rerr, func() {
			if rule == RuleCostSpike {
				if a, ok := CostSpikeAlert(rep.Spend.Hours, lastFull, c.cfg.CostSpike, c.cfg.Zone); ok {
					res.Alerts = append(res.Alerts, a)
				}
				return
			}
			spend := 0.0
			for _, h := range rep.Spend.Hours {
				if !h.Bucket.Before(dayStart.Truncate(time.Hour)) {
					spend = addUSD(spend, h.CostUSD)
				}
			}
			if a, ok := BudgetAlert(BudgetSpend{SpendUSD: spend, BudgetUSD: c.cfg.DailyBudget, DayStart: dayStart,
				Now: now, Zone: c.cfg.Zone}); ok {
				res.Alerts = append(res.Alerts, a)
			}
		})
	}
}

// report runs one report for the rules: one that a region failed is an error
// too, the first failed region's cause, though the others answered.
func (c *AlertChecker) report(ctx context.Context, kind ReportKind, from, to time.Time) (*Report, error) {
	r, err := c.reports.Report(ctx, ReportQuery{Kind: kind, From: from, To: to, Zone: c.cfg.Zone, Env: c.cfg.Env})
	if err == nil && r != nil && r.anyFailed() {
		err = fmt.Errorf("report %s: a region failed: %w", kind, r.firstCause())
	}
	return r, err
}

// ruleErrorLine is why report r (nil when there is none) could not serve a rule,
// in one line: each failed region's line as the report shows it, never err's
// full text, which carries the SDK's request details.
func ruleErrorLine(r *Report, err error) string {
	switch {
	case r != nil && r.anyFailed():
		return fmt.Sprintf("report %s: %s", r.Kind, r.failedRegions())
	case err != nil:
		return causeLine(err.Error())
	}
	return "no report"
}

// failedRegions lists each failed region's one-line cause ("us-west-2:
// AccessDenied on logs:StartQuery"), and why that stops the rules.
func (r *Report) failedRegions() string {
	var out []string
	for _, reg := range r.Regions {
		if reg.State == RegionFailed {
			out = append(out, cmp.Or(reg.Error, reg.Region+": failed"))
		}
	}
	why := "a rule never concludes from part of the regions"
	if !r.Answered() {
		why = "no region could answer"
	}
	return strings.Join(out, "; ") + " (" + why + ")"
}

// record runs eval for rules when their report was read whole, else records
// the error for each of them.
func (res *AlertCheck) record(rules []AlertRule, r *Report, err error, eval func()) {
	if err != nil || r == nil {
		msg := ruleErrorLine(r, err)
		for _, rule := range rules {
			res.Errors = append(res.Errors, RuleError{Rule: rule, Message: msg, Err: err})
		}
		return
	}
	for _, rule := range rules {
		res.Evaluated = append(res.Evaluated, rule)
		res.reportOf[rule] = r
	}
	eval()
}

// sort puts every list in rule order.
func (res *AlertCheck) sort() {
	rank := func(r AlertRule) int { return slices.Index(AlertRules, r) }
	slices.SortStableFunc(res.Alerts, func(a, b Alert) int { return rank(a.Rule) - rank(b.Rule) })
	slices.SortFunc(res.Evaluated, func(a, b AlertRule) int { return rank(a) - rank(b) })
	slices.SortFunc(res.NotEvaluated, func(a, b RuleSkip) int { return rank(a.Rule) - rank(b.Rule) })
	slices.SortFunc(res.Errors, func(a, b RuleError) int { return rank(a.Rule) - rank(b.Rule) })
}

func offReason(rule AlertRule) string {
	switch rule {
	case RuleBudget:
		return "off: TRACEBOT_DAILY_BUDGET is not set"
	case RuleCacheCollapse:
		return "off: TRACEBOT_CACHE_MIN is 0"
	case RuleCostSpike:
		return "off: TRACEBOT_COST_SPIKE is 0"
	case RuleLengthSpike:
		return "off: TRACEBOT_LENGTH_MAX is 0"
	}
	return "off"
}
