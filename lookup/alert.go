package lookup

import (
	"errors"
	"slices"
	"time"

	"github.com/aws/smithy-go"
)

// AlertRule names one rule of SPEC §13.
type AlertRule string

// The rules, in the order they are evaluated and listed.
const (
	RuleBudget          AlertRule = "budget"
	RuleCacheCollapse   AlertRule = "cache_collapse"
	RuleCostSpike       AlertRule = "cost_spike"
	RuleLengthSpike     AlertRule = "length_spike"
	RuleBackendFailures AlertRule = "backend_failures"
)

// AlertRules lists every rule in evaluation order.
var AlertRules = []AlertRule{RuleBudget, RuleCacheCollapse, RuleCostSpike, RuleLengthSpike, RuleBackendFailures}

// KnownRule reports whether r names a rule.
func KnownRule(r AlertRule) bool { return slices.Contains(AlertRules, r) }

// AlertLevel is how serious an alert is.
type AlertLevel string

// Levels. The budget has three (80%, 95%, 100% of the daily budget); the spikes
// and the collapse are warnings; failing backends are critical (traces fail).
const (
	LevelWarning  AlertLevel = "warning"
	LevelCritical AlertLevel = "critical"
	LevelExceeded AlertLevel = "exceeded"
)

// Escalates reports whether the level calls for TRACEBOT_ESCALATION_MENTION.
func (l AlertLevel) Escalates() bool { return l == LevelCritical || l == LevelExceeded }

// Alert is one rule whose condition holds at a check. Value and Threshold are in
// the rule's own unit: USD for budget (today's spend and the level's amount) and
// cost_spike (the hour's cost and k × the median), a ratio for cache_collapse and
// length_spike, a count of traces for backend_failures. Its JSON form is the
// `alerts check --json` item of SPEC §13.
type Alert struct {
	Rule      AlertRule  `json:"rule"`
	Level     AlertLevel `json:"level"`
	Message   string     `json:"message"` // one paragraph in English, the numbers and the runbook's advice
	Value     float64    `json:"value"`
	Threshold float64    `json:"threshold"`
	From      time.Time  `json:"from"` // the span the numbers are about [From, To)
	To        time.Time  `json:"to"`
	Stage     string     `json:"stage"`             // length_spike: the stage; "" otherwise
	Backend   string     `json:"backend,omitempty"` // backend_failures: "OpenRouter", "CloudWatch us-east-2", …
	// Cause is, for backend_failures, what most of the failures said ("HTTP 401",
	// "AccessDeniedException", "timed out").
	Cause string `json:"cause,omitempty"`
	// Day is, for budget, the local day (TRACEBOT_TIME_ZONE) the spend is of,
	// "2026-05-22".
	Day string `json:"day,omitempty"`
	// Report is the §12 report that shows the numbers (the Details button), ""
	// for backend_failures.
	Report ReportKind `json:"report,omitempty"`
	// Hours are, for cache_collapse, the hours below the minimum and their rates.
	Hours []AlertHour `json:"hours,omitempty"`
	// Baseline is, for cost_spike, the median hourly cost the hour is compared with.
	Baseline float64 `json:"baseline,omitempty"`
	// Rows is, for length_spike, how many rows the stage had in the hour.
	Rows int64 `json:"rows,omitempty"`
}

// AlertHour is one hour's value (a cache hit rate).
type AlertHour struct {
	Bucket time.Time `json:"bucket"`
	Value  float64   `json:"value"`
}

// Subject is what the alert is about within its rule: the stage of a
// length_spike, the backend of backend_failures, "" otherwise. A mute holds for
// one rule and subject.
func (a Alert) Subject() string {
	switch a.Rule {
	case RuleLengthSpike:
		return a.Stage
	case RuleBackendFailures:
		return a.Backend
	}
	return ""
}

// EpisodeKey names the episode the alert belongs to within its rule (SPEC §13):
// a budget level on one local day, a stage, a backend, or the rule itself. Two
// checks that see the same key see the same episode while it stays open.
func (a Alert) EpisodeKey() string {
	if a.Rule == RuleBudget {
		return string(a.Level) + "/" + a.Day
	}
	return a.Subject()
}

// Resolves reports whether the end of the alert's episode is announced. A budget
// episode ends with its day, silently: spend does not go down.
func (a Alert) Resolves() bool { return a.Rule != RuleBudget }

// TraceFailure is one backend a trace of the bot's failed at, as the bot's
// records keep it (seed 003): which trace, when, the backend named from the step
// (StepBackend, or Slack/Lark) and the one-line cause, never customer content.
type TraceFailure struct {
	TraceID string    `json:"trace_id"`
	At      time.Time `json:"at"`
	Backend string    `json:"backend"`
	Cause   string    `json:"cause"`
}

// Backends of the trace steps, as alerts name them.
const (
	BackendPostgres   = "Postgres"
	BackendCloudWatch = "CloudWatch"
	BackendOpenRouter = "OpenRouter"
	BackendS3         = "S3"
)

// StepS3 is the step that reads the stored analysis (SPEC §11).
const StepS3 = "analysis"

// StepBackend names the backend a step talks to: Postgres for calls, CloudWatch
// <region> for logs, OpenRouter for generations, S3 for the stored analysis; ""
// for a step that talks to none (parse).
func StepBackend(step, region string) string {
	switch step {
	case StepCalls:
		return BackendPostgres
	case StepLogs:
		if region == "" {
			return BackendCloudWatch
		}
		return BackendCloudWatch + " " + region
	case StepGenerations:
		return BackendOpenRouter
	case StepS3:
		return BackendS3
	}
	return ""
}

// StepContent is the step that reads the stages' stored content (SPEC §11).
const StepContent = "content"

// Failures are every backend that failed in the trace, partial results
// included, each with its one-line cause: the steps' errors that name a backend,
// the stored analysis when S3 failed, and each stage whose stored content
// OpenRouter failed to give. Answers about the request (no such call, no
// generation, no stored object) are not failures.
func (t *Trace) Failures() []StepError {
	var out []StepError
	for _, e := range t.Errors {
		if e.Backend != "" {
			out = append(out, e)
		}
	}
	if a := t.Analysis; a != nil && a.Backend != "" {
		out = append(out, StepError{Step: StepS3, Backend: a.Backend, Message: a.Error})
	}
	for _, s := range t.Stages {
		if s.contentFailed {
			out = append(out, StepError{Step: StepContent, Backend: BackendOpenRouter, Message: s.Stage + ": " + s.ContentError})
		}
	}
	return out
}

// s3Failure reports whether a failed read of the stored analysis is S3's own
// failure (denied, throttled, unreachable), not a missing or unusable object.
func s3Failure(err error) bool {
	var api smithy.APIError
	switch {
	case errors.Is(err, ErrAnalysisPath), errors.Is(err, ErrBucketNotAllowed), errors.Is(err, ErrAnalysisTooLarge),
		errors.Is(err, ErrAnalysisNotJSON):
		return false
	case errors.As(err, &api):
		return api.ErrorCode() != "NoSuchKey" && api.ErrorCode() != "NotFound"
	}
	return err != nil
}

// backendFailure reports whether err is a backend's failure rather than an
// answer about the request (not found, not a valid id, not understood).
func backendFailure(err error) bool {
	switch ErrorCode(err) {
	case CodeNotFound, CodeInvalid, CodeNotUnderstood, CodeCandidates:
		return false
	}
	return err != nil
}

// DetailsQuery is the §12 report that shows the alert's numbers (its Details
// button): cache or finish over the 24 hours up to the alert's end, cost over
// the spiked hour and the 24 before it, or over today so far for the budget.
// ok is false for an alert no report shows (backend_failures).
func (a Alert) DetailsQuery(zone *time.Location) (q ReportQuery, ok bool) {
	if a.Report == "" {
		return ReportQuery{}, false
	}
	// No Window: the report is named by its span, which a later click does not move.
	q = ReportQuery{Kind: a.Report, From: a.To.Add(-24 * time.Hour), To: a.To, Zone: zoneOr(zone)}
	switch a.Rule {
	case RuleBudget:
		q.From = a.From
	case RuleCostSpike:
		q.From = a.From.Add(-costSpikeHours * time.Hour)
	}
	return q, true
}
