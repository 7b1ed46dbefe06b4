package lookup

import (
	"encoding/json"
	"time"
)

// Outcome says how a trace ended; the CLI maps it to an exit code.
type Outcome string

const (
	OutcomeTraced        Outcome = "traced"         // a call was traced (steps may have partly failed: see Errors)
	OutcomeNotUnderstood Outcome = "not_understood" // the report could not be read
	OutcomeNotFound      Outcome = "not_found"      // no call matched
	OutcomeCandidates    Outcome = "candidates"     // several calls matched; pick one
	OutcomeFailed        Outcome = "failed"         // a step failed so that no stage could be shown
)

// Step names, as used in StepError.Step, timings and progress.
const (
	StepParse       = "parse"
	StepCalls       = "calls"
	StepLogs        = "logs"
	StepGenerations = "generations"
)

// Trace is the result of one lookup. Its JSON form is the `trace --json` contract of
// SPEC §8: field names are read by other tools and must not change.
type Trace struct {
	TraceID      string         `json:"trace_id"`
	Outcome      Outcome        `json:"outcome"`
	Phone        string         `json:"phone"`
	Zone         string         `json:"zone"`
	ZoneSource   string         `json:"zone_source,omitempty"`
	At           *time.Time     `json:"at"`
	From         time.Time      `json:"from"`
	To           time.Time      `json:"to"`
	Interpreted  string         `json:"interpretation"`
	Direction    Direction      `json:"direction,omitempty"`
	Candidates   []Call         `json:"candidates"`
	Call         *Call          `json:"call"`
	Stages       []Stage        `json:"stages"`
	Runs         int            `json:"runs"`
	EarlierRuns  []time.Time    `json:"earlier_runs,omitempty"`
	TotalCostUSD float64        `json:"total_cost_usd"`
	CacheRatio   *float64       `json:"cache_ratio"`
	Warnings     []Warning      `json:"warnings"`
	Errors       []StepError    `json:"errors"`
	Regions      []RegionStatus `json:"regions,omitempty"`
	// Verdict and Analysis are SPEC §11's judgement and the read it rests on; nil
	// (null) when the verdict is off (TRACEBOT_VERDICT=off) or no call was traced.
	Verdict   *Verdict        `json:"verdict"`
	Analysis  *AnalysisStatus `json:"analysis"`
	Engineers *EngineersBlock `json:"engineers,omitempty"`
	TimingsMS Timings         `json:"timings_ms"`
	Sandbox   bool            `json:"sandbox,omitempty"` // built from the --sandbox world

	interpretedZH string // Interpreted in Chinese (see Interpretation)
}

// Interpretation is how the report's time was read (Interpreted) in lang: "zh"
// for Chinese, anything else English.
func (t *Trace) Interpretation(lang string) string {
	return inLang(lang, t.Interpreted, t.interpretedZH)
}

// Stage is one LLM call of the pipeline: its ai_usage line joined with its
// OpenRouter generation.
type Stage struct {
	Stage           string          `json:"stage"`
	Timestamp       time.Time       `json:"timestamp"`
	Region          string          `json:"region"`
	LogGroup        string          `json:"log_group"`
	RequestID       string          `json:"request_id,omitempty"`
	GenerationID    string          `json:"generation_id"`
	Link            string          `json:"link"`
	Model           string          `json:"model"`
	Provider        string          `json:"provider"`
	InputTokens     int64           `json:"input_tokens"`
	OutputTokens    int64           `json:"output_tokens"`
	CacheReadTokens int64           `json:"cache_read_tokens"`
	CacheRatio      *float64        `json:"cache_ratio"`
	CostUSD         *float64        `json:"cost_usd"`
	FinishReason    string          `json:"finish_reason"`
	OpenRouter      json.RawMessage `json:"openrouter"`
	// GenerationError is set when the generation could not be read (one line).
	GenerationError string `json:"generation_error,omitempty"`
	// Output is the stage's answer parsed as one JSON object (SPEC §11), null when
	// there is none; OutputError says why a stored answer could not be parsed.
	Output      json.RawMessage `json:"output"`
	OutputError string          `json:"output_error"`
	// Content is ContentStored, ContentNone or ContentFailed once the stored
	// content was asked for ("" when it was not); ContentError is the one-line cause
	// when it is not stored or failed.
	Content      string `json:"content,omitempty"`
	ContentError string `json:"content_error,omitempty"`

	generation *Generation
	content    *Content
	answer     Answer
	// contentFailed: reading the stored content failed at OpenRouter itself.
	contentFailed bool
	// noGeneration: OpenRouter has no generation of this id (a 404 after retries).
	noGeneration bool
}

// Generation returns the OpenRouter record joined to the stage, or nil.
func (s Stage) Generation() *Generation { return s.generation }

// StoredContent returns what OpenRouter stored of the stage's generation, or nil
// when it was not asked for or the fetch failed. Its completion and input are
// customer data: show them only to a person who asked (trace --show-content, the
// private Model output answer), never in a channel, a log or metrics.
func (s Stage) StoredContent() *Content { return s.content }

// Answer returns the stage's raw completion as stored, "" when none was stored.
func (s Stage) Answer() string {
	if s.content == nil {
		return ""
	}
	return s.content.Completion()
}

// Cost is what the stage cost: the log's costUsd, else OpenRouter's total_cost
// (as Trace.TotalCostUSD counts it), else nil.
func (s Stage) Cost() *float64 {
	if s.CostUSD == nil && s.generation != nil {
		return &s.generation.TotalCost
	}
	return s.CostUSD
}

// CutOff reports whether the stage's answer does not parse because the model
// was cut off (finish reason length): OutputError then says so in English.
func (s Stage) CutOff() bool { return s.OutputError == stageCutOffError }

// InputExcerpt returns about maxRunes runes of the stage's stored input (see
// Content.InputExcerpt), "" when none was stored. Customer data: see StoredContent.
func (s Stage) InputExcerpt(maxRunes int) string {
	if s.content == nil {
		return ""
	}
	return s.content.InputExcerpt(maxRunes)
}

// Warning is a diagnostic from the runbook's debug scenarios.
type Warning struct {
	Code    string `json:"code"`
	Stage   string `json:"stage,omitempty"`
	Message string `json:"message"`
	zh      string // Message in Chinese (see Text)
}

// Warning codes.
const (
	WarnCacheMiss        = "cache_miss"
	WarnLength           = "length"
	WarnContentFilter    = "content_filter"
	WarnMissingGenID     = "missing_generation_id"
	WarnProviderChange   = "provider_change"
	WarnCostMismatch     = "cost_mismatch"
	WarnReprocessed      = "reprocessed"
	WarnMissingStage     = "missing_stage"
	WarnNoUsage          = "no_usage"
	WarnWidened          = "widened"
	WarnDefaultZone      = "default_zone"
	WarnNotAnalyzed      = "not_analyzed"
	WarnGenerationFailed = "generation_unavailable"
	// Warnings about the report itself (Request.Warnings), which the
	// interpretation states too.
	WarnOtherTime  = "other_time"  // the text names another day or time, outside the search
	WarnUnreadDate = "unread_date" // a month-day like 5-20 was not read as a date
)

// StepError is a one-line cause of a failed step (or region), without secrets.
type StepError struct {
	Step    string `json:"step"`
	Region  string `json:"region,omitempty"`
	Message string `json:"message"`
	// Backend names the backend that failed (StepBackend: "OpenRouter",
	// "CloudWatch us-east-2", …); "" when the error is an answer about the
	// request (no such call, not a generation id) rather than a failure.
	Backend string `json:"backend,omitempty"`
}

// Timings are per-step wall times in milliseconds.
type Timings struct {
	Calls       int64 `json:"calls"`
	Logs        int64 `json:"logs"`
	Generations int64 `json:"generations"` // step 4, the content fetches beside it included
	Content     int64 `json:"content"`     // the slowest stored-content fetch
	Analysis    int64 `json:"analysis"`    // the stored analysis read (overlaps logs and generations)
	Total       int64 `json:"total"`
}

// EngineersBlock is what whoever takes over the thread needs to continue by hand.
type EngineersBlock struct {
	SQL           string              `json:"sql,omitempty"`
	SQLParams     []string            `json:"sql_params,omitempty"`
	InsightsQuery string              `json:"insights_query,omitempty"`
	InsightsFrom  *time.Time          `json:"insights_from,omitempty"`
	InsightsTo    *time.Time          `json:"insights_to,omitempty"`
	LogGroups     map[string][]string `json:"log_groups,omitempty"` // region → groups
	ConsoleLinks  []RegionLink        `json:"console_links,omitempty"`
}

// RegionLink is a CloudWatch console link for one region.
type RegionLink struct {
	Region string `json:"region"`
	URL    string `json:"url"`
}

// Progress is a snapshot of a running trace, passed to the progress callback each
// time a step (or a region) moves.
type Progress struct {
	Phone            string
	Call             *Call
	CallsDone        bool
	Candidates       int
	Regions          []RegionStatus
	LogsDone         bool
	GenerationsTotal int
	GenerationsDone  int
}
