// Package lookup is tracebot's domain: a support report becomes a Request, and the
// Service walks the runbook's steps (calls in Postgres → ai_usage lines in CloudWatch
// Logs Insights → OpenRouter generations) to produce a Trace. It knows nothing of chat.
package lookup

import (
	"context"
	"encoding/json"
	"time"
)

// Direction narrows which phone column of calls is matched.
type Direction string

const (
	DirectionAny      Direction = ""
	DirectionInbound  Direction = "inbound"  // the customer called: from_phone_number
	DirectionOutbound Direction = "outbound" // the store called the customer: to_phone_number
)

// Request is what a report asks for, fully resolved: an E.164 number, an absolute
// window in an explicit zone, and the options found in the text.
type Request struct {
	Text       string         `json:"-"`
	Phone      string         `json:"phone"`       // E.164, empty when only ids were given
	Zone       *time.Location `json:"-"`           // zone the report's times were read in
	ZoneName   string         `json:"zone"`        // IANA name, or the offset ("+08:00") when the text gave only one
	ZoneSource string         `json:"zone_source"` // "text", "phone" or "default"
	At         *time.Time     `json:"at"`          // reported instant; nil when no time was given
	From       time.Time      `json:"from"`
	To         time.Time      `json:"to"`
	Window     time.Duration  `json:"-"` // ± around At; 0 for a whole day or a lookback
	WholeDay   bool           `json:"whole_day,omitempty"`
	Lookback   bool           `json:"lookback,omitempty"` // no time given: From..To is the last TRACEBOT_NO_TIME_LOOKBACK
	Direction  Direction      `json:"direction,omitempty"`
	Env        string         `json:"env,omitempty"` // "test", "pre", "prod" when the text names one
	SessionID  string         `json:"session_id,omitempty"`
	// GenerationIDs start the walk at step 4.
	GenerationIDs []string `json:"generation_ids,omitempty"`
	// Warnings are about how the text was read (WarnOtherTime): Interpretation
	// ends with them and a trace of the request carries them.
	Warnings []Warning `json:"warnings,omitempty"`
}

// Call is one row of the calls table.
type Call struct {
	TelephonySessionID string    `json:"telephony_session_id"`
	CreatedAt          time.Time `json:"created_at"`
	StoreID            string    `json:"store_id"`
	FranchiseID        string    `json:"franchise_id"`
	FromPhoneNumber    string    `json:"from_phone_number"`
	ToPhoneNumber      string    `json:"to_phone_number"`
	ContactPhone       string    `json:"contact_phone"`
	MatchedColumn      string    `json:"matched_column,omitempty"`
	S3AnalysisPath     string    `json:"s3_analysis_path"`
	// Direction is derived: inbound when the contact is the caller, outbound when
	// the contact was called; empty when the row does not say.
	Direction Direction `json:"direction,omitempty"`
}

// CallQuery selects calls by number inside a window.
type CallQuery struct {
	Phone     string
	From, To  time.Time  // absolute instants; the store converts to its own zone
	At        *time.Time // candidates are sorted by distance from At (newest first when nil)
	Direction Direction
	Limit     int // 0 means the store's default
}

// CallStore finds calls (step 2).
type CallStore interface {
	// FindCalls returns the calls matching q, closest to q.At first. No match is an
	// empty slice, not an error.
	FindCalls(ctx context.Context, q CallQuery) ([]Call, error)
	// CallBySession returns the call with that telephony_session_id, or an *Error
	// with code CodeNotFound.
	CallBySession(ctx context.Context, sessionID string) (Call, error)
}

// UsageQuery asks for the ai_usage lines of one call.
type UsageQuery struct {
	SessionID string
	CreatedAt time.Time
	Env       string // overrides the configured {env} when set
	// OnRegion, when set, is called as each region's status changes (for live progress).
	OnRegion func(RegionStatus)
}

// UsageRow is one ai_usage log line. Optional fields are pointers: the runbook says
// openrouterId, provider, cacheReadTokens and costUsd may be absent.
type UsageRow struct {
	Timestamp       time.Time `json:"timestamp"`
	Region          string    `json:"region"`
	LogGroup        string    `json:"log_group"`
	RequestID       string    `json:"request_id,omitempty"`
	Service         string    `json:"service,omitempty"`
	OpenRouterID    string    `json:"openrouter_id,omitempty"`
	Provider        string    `json:"provider,omitempty"`
	Model           string    `json:"model,omitempty"`
	InputTokens     int64     `json:"input_tokens"`
	OutputTokens    int64     `json:"output_tokens"`
	CacheReadTokens *int64    `json:"cache_read_tokens"`
	CacheReadRatio  *float64  `json:"cache_read_ratio"`
	CostUSD         *float64  `json:"cost_usd"`
	FinishReason    string    `json:"finish_reason,omitempty"`
}

// Region states reported in RegionStatus.State.
const (
	RegionQueued  = "queued"
	RegionRunning = "running"
	RegionRows    = "rows"     // finished with rows
	RegionEmpty   = "empty"    // finished, nothing found
	RegionStopped = "stopped"  // stopped after another region answered
	RegionNoGroup = "no_group" // none of the log groups exist in this region
	RegionFailed  = "failed"
)

// RegionStatus is what happened in one region during step 3.
type RegionStatus struct {
	Region        string   `json:"region"`
	State         string   `json:"state"`
	LogGroups     []string `json:"log_groups"`               // groups queried
	MissingGroups []string `json:"missing_groups,omitempty"` // configured groups that do not exist there
	QueryID       string   `json:"query_id,omitempty"`
	Rows          int      `json:"rows"`
	Error         string   `json:"error,omitempty"` // one line, no secrets
	ElapsedMS     int64    `json:"elapsed_ms"`
}

// UsageResult is the outcome of step 3 across regions.
type UsageResult struct {
	Rows    []UsageRow     `json:"rows"`
	Regions []RegionStatus `json:"regions"`
	Query   string         `json:"query"` // the Insights query text that was run
	From    time.Time      `json:"from"`  // time range of the last attempt
	To      time.Time      `json:"to"`
	Widened bool           `json:"widened"` // the +24h range was needed
}

// UsageSearcher finds ai_usage lines (step 3). A region that fails is reported in
// UsageResult.Regions; the error is non-nil only when no region could be searched.
type UsageSearcher interface {
	SearchUsage(ctx context.Context, q UsageQuery) (UsageResult, error)
}

// Generation is OpenRouter's record of one generation (GET /generation?id=).
type Generation struct {
	ID                     string          `json:"id"`
	Model                  string          `json:"model"`
	ProviderName           string          `json:"provider_name"`
	TotalCost              float64         `json:"total_cost"`
	TokensPrompt           int64           `json:"tokens_prompt"`
	TokensCompletion       int64           `json:"tokens_completion"`
	NativeTokensPrompt     int64           `json:"native_tokens_prompt"`
	NativeTokensCompletion int64           `json:"native_tokens_completion"`
	NativeTokensCached     int64           `json:"native_tokens_cached"`
	Latency                float64         `json:"latency"` // ms
	GenerationTime         float64         `json:"generation_time"`
	FinishReason           string          `json:"finish_reason"`
	NativeFinishReason     string          `json:"native_finish_reason"`
	CreatedAt              string          `json:"created_at"`
	Raw                    json.RawMessage `json:"-"` // the API's data object, verbatim
}

// GenerationFetcher reads generations (step 4). Errors say whether a retry could help
// through IsRetryable.
type GenerationFetcher interface {
	FetchGeneration(ctx context.Context, id string) (Generation, error)
}

// ContentFetcher reads what OpenRouter stored of a generation (SPEC §11). Nothing
// stored (input/output logging off, zero data retention) is a Content whose Stored
// is false, not an error; errors are failures to ask (see IsRetryable).
type ContentFetcher interface {
	FetchContent(ctx context.Context, id string) (Content, error)
}

// AnalysisReader reads a call's stored analysis, the JSON object at its
// s3_analysis_path (SPEC §11). Errors name the path and never the object's content;
// AnalysisCause turns one into the verdict's one-line cause.
type AnalysisReader interface {
	ReadAnalysis(ctx context.Context, path string) (map[string]any, error)
}
