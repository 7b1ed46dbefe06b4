package lookup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"golang.org/x/sync/semaphore"
)

// Defaults of CloudWatchConfig (SPEC §7).
const (
	DefaultRegionGrace = 2 * time.Second
	DefaultMaxQueries  = 8
	DefaultPollRate    = 5.0
	DefaultEnv         = "prod"
)

// The Insights time ranges of step 3: [created−5m, created+1h], then once
// [created−5m, created+24h] when the first range found nothing anywhere.
const (
	usageRangeBefore = 5 * time.Minute
	usageRangeAfter  = time.Hour
	usageRangeWide   = 24 * time.Hour
)

// CloudWatchConfig tunes the CloudWatch Logs Insights searcher. Zero values mean the
// defaults.
type CloudWatchConfig struct {
	Regions    []string      // TRACEBOT_REGIONS
	LogGroups  []string      // patterns with {env} and {region} (TRACEBOT_LOG_GROUPS)
	Env        string        // TRACEBOT_ENV: the default {env}, "prod"
	Grace      time.Duration // TRACEBOT_REGION_GRACE, 2s: other regions' time once one returned rows
	MaxQueries int           // TRACEBOT_MAX_QUERIES, 8: Insights queries in flight, process-wide
	PollRate   float64       // TRACEBOT_POLL_RATE, 5: GetQueryResults calls/s per region, process-wide
	Logger     *slog.Logger

	// PollMin is the wait before a query's first GetQueryResults (100ms); then a
	// query is polled as often as the region's poll rate allows (every 1/PollRate,
	// at most PollMax apart), so a finished query is noticed within a fraction of a
	// second. Under load the shared per-region limiter spaces polls out further.
	PollMin, PollMax time.Duration
	// ThrottleBackoff is the first wait after a throttled call (200ms); it doubles
	// per retry up to 16×, with jitter, for at most ThrottleRetries (5) retries.
	ThrottleBackoff time.Duration
	ThrottleRetries int
	// GroupTTL is how long a log group's existence is remembered (10m).
	GroupTTL time.Duration
	// StopTimeout bounds one best-effort StopQuery call (5s); it runs even when the
	// search's context has ended, so abandoned queries stop burning money. A
	// StartQuery already sent when the context ends is given as long to answer,
	// so the query it started can be stopped too.
	StopTimeout time.Duration
	// BatchWindow is the longest a step-3 search waits for others to share its
	// query (50ms), and only while another search's query is starting: a lone
	// search starts at once. BatchSessions bounds the sessions of one shared query
	// (50, at most 100: Insights returns 10,000 rows and each session may have
	// 100); 1 turns batching off.
	BatchWindow   time.Duration
	BatchSessions int
}

// pollRateMargin keeps the per-region limiter just under TRACEBOT_POLL_RATE.
const pollRateMargin = 0.95

// pollEvery is the steady wait between two polls of one query.
func (c CloudWatchConfig) pollEvery() time.Duration {
	return min(max(c.PollMin, time.Duration(float64(time.Second)/c.PollRate)), c.PollMax)
}

func (c CloudWatchConfig) withDefaults() CloudWatchConfig {
	c.Regions = cwUnique(c.Regions)
	c.Env = cwOr(c.Env, DefaultEnv)
	c.Grace = cwOr(c.Grace, DefaultRegionGrace)
	c.MaxQueries = cwOr(c.MaxQueries, DefaultMaxQueries)
	c.PollRate = cwOr(c.PollRate, DefaultPollRate)
	c.PollMin = cwOr(c.PollMin, 100*time.Millisecond)
	c.PollMax = max(cwOr(c.PollMax, time.Second), c.PollMin)
	c.ThrottleBackoff = cwOr(c.ThrottleBackoff, 200*time.Millisecond)
	c.ThrottleRetries = cwOr(c.ThrottleRetries, 5)
	c.GroupTTL = cwOr(c.GroupTTL, 10*time.Minute)
	c.StopTimeout = cwOr(c.StopTimeout, 5*time.Second)
	c.BatchWindow = cwOr(c.BatchWindow, DefaultBatchWindow)
	c.BatchSessions = min(cwOr(c.BatchSessions, DefaultBatchSessions), cwMaxRows/cwRowsPerSession)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// cwUnique drops blanks and repeats, keeping the first occurrence's place.
func cwUnique(list []string) []string {
	var out []string
	for _, v := range list {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// cwOr returns def when v is not positive (or empty).
func cwOr[T int | float64 | time.Duration | string](v, def T) T {
	var zero T
	if v <= zero {
		return def
	}
	return v
}

// LogsAPI is the part of cloudwatchlogs.Client the searcher uses.
type LogsAPI interface {
	StartQuery(ctx context.Context, in *cloudwatchlogs.StartQueryInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error)
	GetQueryResults(ctx context.Context, in *cloudwatchlogs.GetQueryResultsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error)
	StopQuery(ctx context.Context, in *cloudwatchlogs.StopQueryInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StopQueryOutput, error)
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
}

var _ LogsAPI = (*cloudwatchlogs.Client)(nil)

// CloudWatch finds ai_usage lines with CloudWatch Logs Insights (step 3): one query
// per region, all regions at once. The in-flight cap and the per-region poll rate
// are shared by every search of one CloudWatch, so build one per process. It is
// safe for concurrent use.
type CloudWatch struct {
	cfg      CloudWatchConfig
	clients  map[string]LogsAPI
	limits   map[string]*cwPollLimits // per region: GetQueryResults and DescribeQueries calls
	queries  *semaphore.Weighted      // Insights queries in flight
	inFlight atomic.Int64
	groups   *cwGroupCache
	batcher  *cwBatcher
	observer atomic.Pointer[func(searches int)]
	log      *slog.Logger
}

var _ UsageSearcher = (*CloudWatch)(nil)

// NewCloudWatch returns a searcher over clients, one per region of cfg.Regions. It
// does no I/O. A configured region without a client fails in every search.
func NewCloudWatch(cfg CloudWatchConfig, clients map[string]LogsAPI) *CloudWatch {
	cfg = cfg.withDefaults()
	c := &CloudWatch{
		cfg:     cfg,
		clients: clients,
		limits:  map[string]*cwPollLimits{},
		queries: semaphore.NewWeighted(int64(cfg.MaxQueries)),
		groups:  newCWGroupCache(cfg.GroupTTL),
		log:     cfg.Logger,
	}
	c.batcher = newCWBatcher(c)
	for _, region := range cfg.Regions {
		c.limits[region] = newCWPollLimits(cfg.PollRate)
	}
	return c
}

// InFlight is how many Insights queries hold a slot of the MaxQueries cap now:
// being started, running, or being stopped.
func (c *CloudWatch) InFlight() int { return int(c.inFlight.Load()) }

// ObserveTraceQueries sets fn to be told, each time a step-3 query starts, how
// many searches it serves (more than one when concurrent searches share it). fn
// runs on the searcher's goroutines and must be quick; nil stops the reports.
func (c *CloudWatch) ObserveTraceQueries(fn func(searches int)) {
	if fn == nil {
		c.observer.Store(nil)
		return
	}
	c.observer.Store(&fn)
}

// LogGroups expands the configured patterns for region and env ("" means the
// configured env): {env} and {region} are replaced; empty results and duplicates
// are dropped.
func (c *CloudWatch) LogGroups(region, env string) []string {
	if env == "" {
		env = c.cfg.Env
	}
	expand := strings.NewReplacer("{env}", env, "{region}", region)
	out := make([]string, 0, len(c.cfg.LogGroups))
	for _, p := range c.cfg.LogGroups {
		out = append(out, expand.Replace(p))
	}
	return cwUnique(out)
}

// SearchUsage runs the SPEC §3 query for q.SessionID in every region, first over
// [CreatedAt−5m, CreatedAt+1h] and, only if no region found a line, once more over
// [CreatedAt−5m, CreatedAt+24h]. Concurrent searches share queries (see
// cwBatcher): the rows are still exactly the session's within its own range, at
// most 100 per region, and Query, From and To are the query that found them (the
// shared one, over the union of the ranges; the session's own when its share of
// a shared query was cut by the row limit and asked again). Rows come back
// sorted by timestamp; each region's outcome is in Regions (in configured order)
// and is also reported to q.OnRegion, serially, as it changes. The error is non-nil when q is invalid (a
// *Error with CodeInvalid) or when every region failed; it then wraps the first
// region's cause and the result still holds every region's status.
func (c *CloudWatch) SearchUsage(ctx context.Context, q UsageQuery) (UsageResult, error) {
	if err := cwValidate(q); err != nil {
		return UsageResult{}, err
	}
	s := &cwSearch{c: c, q: q, env: q.Env, causes: map[string]error{}}
	if s.env == "" {
		s.env = c.cfg.Env
	}
	res := s.attempt(ctx, c.cfg.Regions, nil, usageRangeAfter)
	if len(res.Rows) == 0 && s.worthWidening(ctx, res) {
		res = s.attempt(ctx, s.widenRegions(res), res.Regions, usageRangeWide)
		res.Widened = true
	}
	return res, s.allFailed(res)
}

func cwValidate(q UsageQuery) error {
	switch {
	case strings.TrimSpace(q.SessionID) == "":
		return Errorf(CodeInvalid, "no telephony session id to search the logs for")
	case strings.IndexFunc(q.SessionID, unicode.IsControl) >= 0:
		return Errorf(CodeInvalid, "the telephony session id %q contains control characters", q.SessionID)
	case q.CreatedAt.IsZero():
		return Errorf(CodeInvalid, "no call time to search the logs around")
	}
	return nil
}

// cwSearch is one SearchUsage call.
type cwSearch struct {
	c   *CloudWatch
	q   UsageQuery
	env string

	reportMu sync.Mutex // serialises q.OnRegion

	causesMu sync.Mutex
	causes   map[string]error // region → why it failed, in full
}

func (s *cwSearch) report(rs RegionStatus) {
	if s.q.OnRegion == nil {
		return
	}
	s.reportMu.Lock()
	defer s.reportMu.Unlock()
	s.q.OnRegion(rs)
}

func (s *cwSearch) setCause(region string, err error) {
	s.causesMu.Lock()
	defer s.causesMu.Unlock()
	s.causes[region] = err
}

func (s *cwSearch) cause(region string) error {
	s.causesMu.Lock()
	defer s.causesMu.Unlock()
	return s.causes[region]
}

// cwErrGraceOver is the cause that stops the other regions once one had rows and
// the grace has passed.
var cwErrGraceOver = errors.New("another region answered and the grace period is over")

// attempt queries regions concurrently over [created−5m, created+after]; statuses
// of the configured regions not in regions are taken from carried.
func (s *cwSearch) attempt(ctx context.Context, regions []string, carried []RegionStatus, after time.Duration) UsageResult {
	from := s.q.CreatedAt.Add(-usageRangeBefore).UTC().Truncate(time.Second)
	to := s.q.CreatedAt.Add(after).UTC().Truncate(time.Second)
	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var grace sync.Once
	var timer atomic.Pointer[time.Timer]
	defer func() {
		if t := timer.Load(); t != nil {
			t.Stop()
		}
	}()
	answered := func() {
		grace.Do(func() { timer.Store(time.AfterFunc(s.c.cfg.Grace, func() { stop(cwErrGraceOver) })) })
	}

	outcomes := make([]cwRegionOutcome, len(regions))
	runs := make([]*cwRegionRun, len(regions))
	var need []string
	for i, region := range regions {
		runs[i] = &cwRegionRun{s: s, region: region, from: from, to: to, answered: answered}
		if o, done := runs[i].prepare(ctx); done {
			outcomes[i], runs[i] = o, nil
		} else {
			need = append(need, region)
		}
	}
	var m *cwMember
	if len(need) > 0 {
		m = s.c.batcher.join(s.env, s.q.SessionID, from, to, need, false)
	}
	var wg sync.WaitGroup
	for i, r := range runs {
		if r != nil {
			r.set(RegionQueued) // after joining: a search reported queued waits in a batch
			wg.Go(func() { outcomes[i] = r.await(stopCtx, m.seats[r.region]) })
		}
	}
	wg.Wait()
	query := UsageQueryText(s.q.SessionID)
	if src := cwQuerySource(outcomes, m); src != nil {
		if text, qFrom, qTo, ok := src.query(); ok {
			query, from, to = text, qFrom, qTo
		}
	}
	return s.merge(outcomes, carried, query, from, to)
}

// cwQuerySource is the member whose query the search names: the one that found
// rows in the first region that had some (a search whose share of a truncated
// batch was asked again alone names its own query), else the attempt's member.
func cwQuerySource(outcomes []cwRegionOutcome, m *cwMember) *cwMember {
	for _, o := range outcomes {
		if o.by != nil {
			return o.by
		}
	}
	return m
}

// merge orders the regions as configured and the rows by timestamp.
func (s *cwSearch) merge(outcomes []cwRegionOutcome, carried []RegionStatus, query string, from, to time.Time) UsageResult {
	res := UsageResult{Query: query, From: from, To: to, Rows: []UsageRow{}}
	byRegion := map[string]cwRegionOutcome{}
	for _, o := range outcomes {
		byRegion[o.status.Region] = o
	}
	for _, st := range carried {
		if _, ok := byRegion[st.Region]; !ok {
			byRegion[st.Region] = cwRegionOutcome{status: st}
		}
	}
	for _, region := range s.c.cfg.Regions {
		o := byRegion[region]
		res.Regions = append(res.Regions, o.status)
		res.Rows = append(res.Rows, o.rows...)
	}
	cwSortRows(res.Rows)
	return res
}

// worthWidening reports whether the +24h range could find what the first range
// did not: some region was searched and came back empty, and the caller still
// waits. When every region failed or has no group, a wider range cannot help.
func (s *cwSearch) worthWidening(ctx context.Context, res UsageResult) bool {
	if ctx.Err() != nil {
		return false
	}
	for _, r := range res.Regions {
		if r.State == RegionEmpty {
			return true
		}
	}
	return false
}

// widenRegions are the regions worth a second query: those that were searched or
// failed, not those without any log group.
func (s *cwSearch) widenRegions(res UsageResult) []string {
	var out []string
	for _, r := range res.Regions {
		if r.State != RegionNoGroup {
			out = append(out, r.Region)
		}
	}
	return out
}

// allFailed is the error of a search where no region could be searched.
func (s *cwSearch) allFailed(res UsageResult) error {
	if len(res.Regions) == 0 {
		return errors.New("cloudwatch: no regions configured")
	}
	var first error
	for _, r := range res.Regions {
		if r.State != RegionFailed {
			return nil
		}
		if first == nil {
			first = s.cause(r.Region)
		}
	}
	if first == nil {
		first = errors.New(res.Regions[0].Error)
	}
	err := fmt.Errorf("cloudwatch: every region failed: %w", first)
	if cwRetryable(first) {
		return &RetryableError{Err: err}
	}
	return err
}
