package lookup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ReportKind names an investigation across calls (SPEC §12).
type ReportKind string

const (
	ReportCost      ReportKind = "cost"      // the most expensive ai_usage rows
	ReportCache     ReportKind = "cache"     // token-weighted cache hit rate per hour and model
	ReportFinish    ReportKind = "finish"    // finish reasons per hour and stage
	ReportProviders ReportKind = "providers" // provider mix per model; sessions that switched
	ReportDeploys   ReportKind = "deploys"   // each Lambda's code in each region
	// ReportSpend is cost per hour and model, with a chart: what the budget and
	// cost_spike alerts read. It is not asked for by words (ParseReportQuery
	// does not know it), only by a ReportQuery.
	ReportSpend ReportKind = "spend"
	// ReportHelp is not a report: the text asked for the list of kinds.
	ReportHelp ReportKind = "help"
)

// Warning codes of reports (SPEC §12), beside WarnCacheMiss, which traces share.
const (
	WarnLongInput          = "long_input"
	WarnCacheCollapse      = "cache_collapse"
	WarnLengthSpike        = "length_spike"
	WarnContentFilterSpike = "content_filter_spike"
	WarnProviderSwitching  = "provider_switching"
	WarnCodeDiffers        = "code_differs"
	// WarnNoLogGroup: no region has any of the env's log groups, so nothing was
	// searched (the report is then not answered).
	WarnNoLogGroup = "no_log_group"
)

// ReportQuery asks for one report, fully resolved: ParseReportQuery builds it from
// chat or CLI words, the alerts build it directly.
type ReportQuery struct {
	Kind ReportKind
	// From and To are the window [From, To) in whole seconds; zero for deploys.
	From, To time.Time
	Zone     *time.Location // hours are labelled in it; nil means UTC
	Env      string         // "" means the configured env
	// Window is how the window was asked for ("2h", "since 9am", "yesterday"),
	// for messages; empty when the caller gave From and To.
	Window string
}

// Reporter answers reports; *ReportEngine is the implementation, the bot and the
// alerts consume this.
type Reporter interface {
	// Report runs q. It returns an *Error (CodeNotUnderstood, CodeWindowTooLong)
	// when q cannot be run, and a non-nil error with a non-nil *Report when no
	// region could answer: the report then names every region's failure. A region
	// that failed while others answered is only named in Report.Regions.
	Report(ctx context.Context, q ReportQuery) (*Report, error)
}

// Report is the answer to a ReportQuery. Its JSON form is `report --json` (SPEC
// §12): the common fields, then the kind's own. A Report may be shared by every
// caller inside the cache TTL: treat it as read-only.
type Report struct {
	Kind         ReportKind
	From, To     time.Time      // zero for deploys
	Zone         *time.Location // the zone hours are labelled in
	Window       string         // as asked ("2h"), may be empty
	Regions      []ReportRegion
	BytesScanned int64   // Σ statistics.bytesScanned over every query
	ScanCostUSD  float64 // BytesScanned at $0.005 per GB (2^30 bytes)
	Warnings     []ReportWarning
	Queries      []string // the Insights queries run in each region
	Cached       bool     // served from the result cache: no query ran
	Sandbox      bool     // built from --sandbox sample data

	Cost      *CostReport
	Spend     *SpendReport
	Cache     *CacheReport
	Finish    *FinishReport
	Providers *ProvidersReport
	Deploys   *DeploysReport

	thresholds reportThresholds // the warnings' thresholds, for charts
}

type reportThresholds struct{ cacheMin, lengthMax float64 }

// ReportRegion is what one region contributed.
type ReportRegion struct {
	Region       string   `json:"region"`
	State        string   `json:"state"` // RegionRows, RegionEmpty, RegionNoGroup, RegionFailed
	BytesScanned int64    `json:"bytes_scanned"`
	Error        string   `json:"error"`                    // one line, no secrets; "" unless failed
	LogGroups    []string `json:"log_groups,omitempty"`     // groups queried
	Missing      []string `json:"missing_groups,omitempty"` // configured groups that do not exist there
	Err          error    `json:"-"`                        // the full cause of Error
}

// ReportWarning is one finding of a report, with the runbook's advice in Message.
type ReportWarning struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Stage   string     `json:"stage"` // "" when the warning is not about one stage
	From    *time.Time `json:"from"`  // the span it is about; nil when none
	To      *time.Time `json:"to"`
	zh      string     // Message in Chinese (see Text)
}

// CostReport answers `cost`: the most expensive rows and the totals.
type CostReport struct {
	Top          []CostRow `json:"top"` // most expensive first, at most 20
	TotalCostUSD float64   `json:"total_cost_usd"`
	Rows         int64     `json:"rows"`
	// InputRows are the rows that logged inputTokens: the median and the mean
	// are over them.
	InputRows int64 `json:"input_rows"`
	// MedianInputTokens is the median of those rows' input tokens, read from
	// 1%-wide logarithmic buckets: within 0.5% of the exact median (see
	// medianFromBuckets). 0 when no row logged inputTokens.
	MedianInputTokens float64 `json:"median_input_tokens"`
	MeanInputTokens   float64 `json:"mean_input_tokens"` // Σ inputTokens ÷ InputRows, exact
}

// SpendReport answers ReportSpend: cost per hour (and model), every hour of the
// window in Hours, zero where nothing was logged.
type SpendReport struct {
	TotalCostUSD float64     `json:"total_cost_usd"`
	Rows         int64       `json:"rows"`
	Series       []CostPoint `json:"series"` // per hour and model
	Hours        []CostPoint `json:"hours"`  // per hour, all models, every hour of the window
}

// CostRow is one ai_usage row of the top list.
type CostRow struct {
	Timestamp    time.Time `json:"timestamp"`
	Region       string    `json:"region"`
	SessionID    string    `json:"session_id"`
	Stage        string    `json:"stage"`
	Model        string    `json:"model"`
	Provider     string    `json:"provider"`
	GenerationID string    `json:"generation_id"`
	Link         string    `json:"link"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	CacheRatio   *float64  `json:"cache_ratio"`
	CostUSD      float64   `json:"cost_usd"`
}

// CostPoint is the cost of one hour (and model, in Series).
type CostPoint struct {
	Bucket  time.Time `json:"bucket"`
	Model   string    `json:"model,omitempty"`
	Rows    int64     `json:"rows"`
	CostUSD float64   `json:"cost_usd"`
}

// CacheReport answers `cache`: token-weighted hit rates, Σ cacheReadTokens ÷
// Σ inputTokens, never a mean of ratios.
type CacheReport struct {
	Series  []CachePoint `json:"series"` // per hour and model
	Hours   []CachePoint `json:"hours"`  // per hour, all models
	Overall CachePoint   `json:"overall"`
}

// CachePoint is the hit rate of one hour and model (Model "" for all models;
// Bucket zero for the whole window). CacheRatio is nil when no input tokens were
// logged.
type CachePoint struct {
	Bucket          time.Time `json:"-"`
	Model           string    `json:"-"`
	InputTokens     int64     `json:"input_tokens"`
	CacheReadTokens int64     `json:"cache_read_tokens"`
	CacheRatio      *float64  `json:"cache_ratio"`
}

// FinishReport answers `finish`: finish reasons per hour and stage.
type FinishReport struct {
	Series []FinishPoint `json:"series"`
	Shares []FinishShare `json:"shares"` // over the whole window, per stage
}

// FinishPoint counts one finish reason of one stage in one hour.
type FinishPoint struct {
	Bucket       time.Time `json:"bucket"`
	Stage        string    `json:"stage"`
	FinishReason string    `json:"finish_reason"`
	Count        int64     `json:"count"`
}

// FinishShare is one finish reason's share of a stage's rows.
type FinishShare struct {
	Stage        string  `json:"stage"`
	FinishReason string  `json:"finish_reason"`
	Count        int64   `json:"count"`
	Share        float64 `json:"share"`
}

// ProvidersReport answers `providers`.
type ProvidersReport struct {
	Mix              []ProviderMix `json:"mix"`
	SwitchedSessions int64         `json:"switched_sessions"` // sessions whose stages used more than one provider
	Sessions         int64         `json:"sessions"`          // sessions that logged a provider
	Examples         []string      `json:"examples"`          // some switched sessions
}

// ProviderMix is one model and provider.
type ProviderMix struct {
	Model    string  `json:"model"`
	Provider string  `json:"provider"`
	Requests int64   `json:"requests"`
	Share    float64 `json:"share"` // of that model's requests
	CostUSD  float64 `json:"cost_usd"`
}

// DeploysReport answers `deploys`.
type DeploysReport struct {
	Functions []FunctionDeploy `json:"functions"`
}

// FunctionDeploy is one configured Lambda in one region.
type FunctionDeploy struct {
	Function     string     `json:"function"`
	Pattern      string     `json:"pattern"` // the TRACEBOT_FUNCTIONS pattern it came from
	Region       string     `json:"region"`
	CodeSHA256   string     `json:"code_sha256"`
	Version      string     `json:"version"`
	LastModified *time.Time `json:"last_modified"`
	Error        string     `json:"error"` // one line; "" when read

	err     error // the full cause of Error
	missing bool  // the function is not deployed in the region
}

// reportJSON is the part of the JSON every kind shares.
type reportJSON struct {
	Kind         ReportKind      `json:"kind"`
	From         *time.Time      `json:"from"`
	To           *time.Time      `json:"to"`
	Zone         string          `json:"zone"`
	Window       string          `json:"window,omitempty"`
	Regions      []ReportRegion  `json:"regions"`
	BytesScanned int64           `json:"bytes_scanned"`
	ScanCostUSD  float64         `json:"scan_cost_usd"`
	Warnings     []ReportWarning `json:"warnings"`
	Queries      []string        `json:"queries,omitempty"`
	Cached       bool            `json:"cached,omitempty"`
	Sandbox      bool            `json:"sandbox,omitempty"`
}

// MarshalJSON writes the SPEC §12 object: times in RFC 3339 UTC, the common
// fields, then the kind's own fields.
func (r *Report) MarshalJSON() ([]byte, error) {
	c := reportJSON{Kind: r.Kind, Zone: r.ZoneName(), Window: r.Window, Regions: r.Regions,
		BytesScanned: r.BytesScanned, ScanCostUSD: r.ScanCostUSD, Warnings: r.Warnings, Queries: r.Queries,
		Cached: r.Cached, Sandbox: r.Sandbox}
	if !r.From.IsZero() {
		from, to := r.From.UTC(), r.To.UTC()
		c.From, c.To = &from, &to
	}
	if c.Regions == nil {
		c.Regions = []ReportRegion{}
	}
	if c.Warnings == nil {
		c.Warnings = []ReportWarning{}
	}
	head, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var kind any
	switch {
	case r.Cost != nil:
		kind = r.Cost
	case r.Spend != nil:
		kind = r.Spend
	case r.Cache != nil:
		kind = r.Cache
	case r.Finish != nil:
		kind = r.Finish
	case r.Providers != nil:
		kind = r.Providers
	case r.Deploys != nil:
		kind = r.Deploys
	default:
		return head, nil
	}
	body, err := json.Marshal(kind)
	if err != nil {
		return nil, fmt.Errorf("report %s: encode: %w", r.Kind, err)
	}
	if bytes.Equal(body, []byte("{}")) {
		return head, nil
	}
	out := append(head[:len(head)-1:len(head)-1], ',')
	return append(out, body[1:]...), nil
}

// ZoneName is the IANA name of the zone hours are labelled in.
func (r *Report) ZoneName() string {
	if r.Zone == nil {
		return "UTC"
	}
	return r.Zone.String()
}

// Answered reports whether at least one region could answer: it searched its
// log groups (and found rows or nothing) or, for deploys, read its functions. A
// region without any of the log groups searched nothing and answers nothing.
func (r *Report) Answered() bool {
	for _, reg := range r.Regions {
		if reg.State != RegionFailed && reg.State != RegionNoGroup {
			return true
		}
	}
	return false
}

// Sessions are the telephony session ids the report names (the cost report's top
// rows, the switched sessions' examples), once each in order: a Trace button each.
func (r *Report) Sessions() []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if r.Cost != nil {
		for _, row := range r.Cost.Top {
			add(row.SessionID)
		}
	}
	if r.Providers != nil {
		for _, s := range r.Providers.Examples {
			add(s)
		}
	}
	return out
}

// MarshalJSON writes a cache point as SPEC §12 shows it: series points with bucket
// and model, hours with bucket, the overall total with neither.
func (p CachePoint) MarshalJSON() ([]byte, error) {
	type totals struct {
		InputTokens     int64    `json:"input_tokens"`
		CacheReadTokens int64    `json:"cache_read_tokens"`
		CacheRatio      *float64 `json:"cache_ratio"`
	}
	t := totals{p.InputTokens, p.CacheReadTokens, p.CacheRatio}
	switch {
	case p.Bucket.IsZero():
		return json.Marshal(t)
	case p.Model == "":
		return json.Marshal(struct {
			Bucket time.Time `json:"bucket"`
			totals
		}{p.Bucket.UTC(), t})
	}
	return json.Marshal(struct {
		Bucket time.Time `json:"bucket"`
		Model  string    `json:"model"`
		totals
	}{p.Bucket.UTC(), p.Model, t})
}
