package lookup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/callytics/tracebot/lookup/expiring"
)

// Defaults of ReportConfig (SPEC §7).
const (
	DefaultReportMaxRange = 7 * 24 * time.Hour
	DefaultReportCacheTTL = 2 * time.Minute
	DefaultCacheMin       = 0.5
	DefaultLengthMax      = 0.2
	defaultReportTimeout  = 60 * time.Second
	// ReportTopRows is how many rows the cost report lists.
	ReportTopRows = 20
	// scanPricePerGB is Logs Insights' price per GB (2^30 bytes) scanned.
	scanPricePerGB  = 0.005
	reportCacheSize = 256
)

// ReportConfig tunes the report engine. Zero durations mean the defaults; the
// thresholds are used as given (the CLI passes TRACEBOT_CACHE_MIN and
// TRACEBOT_LENGTH_MAX), and 0 turns their warning off.
type ReportConfig struct {
	Env            string        // TRACEBOT_ENV: the default {env}
	Regions        []string      // TRACEBOT_REGIONS: where deploys looks
	Functions      []string      // TRACEBOT_FUNCTIONS: Lambda name patterns with {env} and {region}
	MaxRange       time.Duration // TRACEBOT_REPORT_MAX_RANGE, 7d: the longest window
	CacheTTL       time.Duration // TRACEBOT_REPORT_CACHE_TTL, 2m: how long a report is reused
	CacheMin       float64       // TRACEBOT_CACHE_MIN: hit rate below which the cache collapsed
	LengthMax      float64       // TRACEBOT_LENGTH_MAX: share of length (or content-filter) in one stage-hour
	GenerationLink string        // TRACEBOT_GENERATION_LINK, "{id}" replaced
	Timeout        time.Duration // one report's deadline, 60s
	Sandbox        bool          // label every report as sample data
	Logger         *slog.Logger
}

func (c ReportConfig) withDefaults() ReportConfig {
	c.Env = cwOr(c.Env, DefaultEnv)
	c.Regions = cwUnique(c.Regions)
	c.Functions = cwUnique(c.Functions)
	c.MaxRange = cwOr(c.MaxRange, DefaultReportMaxRange)
	c.CacheTTL = cwOr(c.CacheTTL, DefaultReportCacheTTL)
	c.GenerationLink = cwOr(c.GenerationLink, "https://openrouter.ai/activity/{id}")
	c.Timeout = cwOr(c.Timeout, defaultReportTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ReportEngine answers the reports of SPEC §12: each kind is at most two Logs
// Insights stats/sort queries per region, run in every region at once and merged
// exactly (sums and counts first, ratios last), and deploys reads each Lambda's
// configuration. Finished reports are cached for CacheTTL per kind, env and
// minute-rounded window, and concurrent identical reports share one run (and
// hear the same progress). It starts no goroutine of its own beyond a report's
// run, and is safe for concurrent use.
type ReportEngine struct {
	cfg     ReportConfig
	logs    InsightsQuerier
	lambdas map[string]FunctionsAPI // region → client
	cache   *expiring.Cache[string, *Report]
	flight  singleflight.Group

	watchMu  sync.Mutex
	watches  map[string]*reportWatch // cache key → who hears the run's progress
	watchSeq int
}

var _ ProgressReporter = (*ReportEngine)(nil)

// NewReportEngine returns an engine over logs (a *CloudWatch) and one Lambda
// client per region for deploys (nil: deploys fails in every region). It does no
// I/O.
func NewReportEngine(logs InsightsQuerier, lambdas map[string]FunctionsAPI, cfg ReportConfig) *ReportEngine {
	cfg = cfg.withDefaults()
	return &ReportEngine{cfg: cfg, logs: logs, lambdas: lambdas,
		cache: expiring.New[string, *Report](reportCacheSize, cfg.CacheTTL), watches: map[string]*reportWatch{}}
}

// Report runs q (see Reporter). A report every region answered is cached; one
// served from the cache has Cached set and started no query.
func (e *ReportEngine) Report(ctx context.Context, q ReportQuery) (*Report, error) {
	return e.ReportWithProgress(ctx, q, nil)
}

// ReportWithProgress is Report that also calls progress (when not nil) as the
// report gets on (see ProgressReporter).
func (e *ReportEngine) ReportWithProgress(ctx context.Context, q ReportQuery, progress func(ReportProgress)) (*Report, error) {
	if err := e.validate(&q); err != nil {
		return nil, err
	}
	key := e.cacheKey(q)
	if r, ok := e.cache.Get(key); ok {
		return reportCopy(r, true), nil
	}
	if progress != nil {
		defer e.listen(key, progress)()
	}
	ch := e.flight.DoChan(key, func() (any, error) {
		// Detached from the first caller: the others wait on the same run.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.Timeout)
		defer cancel()
		defer e.finished(key)
		r, err := e.run(ctx, q, e.progressOf(key, q.Kind))
		if err == nil && !r.anyFailed() {
			e.cache.Add(key, r)
		}
		return r, err
	})
	select {
	case res := <-ch:
		r, _ := res.Val.(*Report)
		return reportCopy(r, false), res.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("report %s: %w", q.Kind, context.Cause(ctx))
	}
}

// reportCopy gives each caller its own top-level Report (nested slices are
// shared and read-only).
func reportCopy(r *Report, cached bool) *Report {
	if r == nil {
		return nil
	}
	c := *r
	c.Cached = cached
	return &c
}

func (r *Report) anyFailed() bool {
	for _, reg := range r.Regions {
		if reg.State == RegionFailed {
			return true
		}
	}
	return false
}

// validate checks the kind and the window against MaxRange.
func (e *ReportEngine) validate(q *ReportQuery) error {
	if q.Zone == nil {
		q.Zone = time.UTC
	}
	if _, ok := reportKindsByName[q.Kind]; !ok || q.Kind == ReportHelp {
		return errorSay(CodeNotUnderstood, say("%q is not a report; try %s", "%q 不是报告；试试 %s", string(q.Kind), reportKindList()))
	}
	if q.Kind == ReportDeploys {
		q.From, q.To = time.Time{}, time.Time{}
		return nil
	}
	q.From, q.To = q.From.UTC().Truncate(time.Second), q.To.UTC().Truncate(time.Second)
	if !q.To.After(q.From) {
		return errorSay(CodeNotUnderstood, say("that window is empty: it must end after it starts", "这个时间窗口是空的：结束时间必须晚于开始时间"))
	}
	return windowTooLong(q.To.Sub(q.From), e.cfg.MaxRange)
}

// windowTooLong is the refusal of a window over max, saying why.
func windowTooLong(d, max time.Duration) error {
	if d <= max {
		return nil
	}
	return errorSay(CodeWindowTooLong, say("A report covers at most %s (TRACEBOT_REPORT_MAX_RANGE), and %s is longer: "+
		"Logs Insights bills per GB scanned, so a longer window costs more than it tells. Ask for %s or less.",
		"一份报告最多覆盖 %s（TRACEBOT_REPORT_MAX_RANGE），%s 超出了：Logs Insights 按扫描的 GB 计费，"+
			"窗口越长花费越多，得到的信息却不会更多。请查询 %s 或更短的时间。",
		reportSpan(max), reportSpan(d), reportSpan(max)))
}

func (e *ReportEngine) cacheKey(q ReportQuery) string {
	env := cwOr(q.Env, e.cfg.Env)
	return strings.Join([]string{string(q.Kind), env, q.Zone.String(),
		q.From.Truncate(time.Minute).Format(time.RFC3339), q.To.Truncate(time.Minute).Format(time.RFC3339)}, "|")
}

// run builds one report; answered hears each region's state as it arrives.
func (e *ReportEngine) run(ctx context.Context, q ReportQuery, answered func(ReportRegion)) (*Report, error) {
	r := &Report{Kind: q.Kind, From: q.From, To: q.To, Zone: q.Zone, Window: q.Window, Sandbox: e.cfg.Sandbox,
		thresholds: reportThresholds{e.cfg.CacheMin, e.cfg.LengthMax}}
	if q.Kind == ReportDeploys {
		e.deploys(ctx, q, r, answered)
	} else {
		kind := reportKindsByName[q.Kind].impl
		r.Queries = kind.queries()
		answers := e.logs.QueryRegions(ctx, RegionQueries{Env: q.Env, Queries: r.Queries, From: q.From, To: q.To,
			Answered: func(a RegionAnswer) { answered(reportRegion(a)) }})
		var ok []RegionAnswer
		for _, a := range answers {
			rr := reportRegion(a)
			r.BytesScanned += rr.BytesScanned
			r.Regions = append(r.Regions, rr)
			if a.State != RegionFailed {
				ok = append(ok, a)
			}
		}
		kind.merge(e, q, r, ok)
		if w, ok := noLogGroupWarning(r, cwOr(q.Env, e.cfg.Env)); ok {
			r.Warnings = append(r.Warnings, w)
		}
	}
	r.ScanCostUSD = roundUSD(float64(r.BytesScanned) / (1 << 30) * scanPricePerGB)
	if !r.Answered() {
		return r, fmt.Errorf("report %s: no region could answer: %w", q.Kind, r.firstCause())
	}
	return r, nil
}

// ErrNoLogGroup is the cause of a report no region could answer because none of
// them has any of the configured log groups for the env.
var ErrNoLogGroup = errors.New("no region has any of the env's log groups (TRACEBOT_LOG_GROUPS)")

// noLogGroupWarning says plainly that nothing was searched when no region that
// answered has a log group for env: a wrong env or TRACEBOT_LOG_GROUPS pattern,
// not a quiet period.
func noLogGroupWarning(r *Report, env string) (ReportWarning, bool) {
	var regions, missing []string
	for _, reg := range r.Regions {
		switch reg.State {
		case RegionRows, RegionEmpty:
			return ReportWarning{}, false
		case RegionNoGroup:
			regions = append(regions, reg.Region)
			missing = append(missing, reg.Missing...)
		}
	}
	if len(regions) == 0 {
		return ReportWarning{}, false
	}
	example := ""
	if len(missing) > 0 {
		example = " (" + missing[0] + ")"
	}
	msg := say("Nothing was searched: none of the log groups for env %q exists in %s%s, so this is no quiet period. "+
		"Check the env (TRACEBOT_ENV, --env or “env test”) and the patterns of TRACEBOT_LOG_GROUPS; `tracebot check` shows which groups exist.",
		"什么都没有查询：env %[1]q 的日志组在 %[2]s 都不存在%[3]s，这不是没有流量。"+
			"请检查 env（TRACEBOT_ENV、--env 或 “env test”）和 TRACEBOT_LOG_GROUPS 的模式；`tracebot check` 会列出哪些日志组存在。",
		env, strings.Join(regions, ", "), example)
	return ReportWarning{Code: WarnNoLogGroup, Message: msg.en, zh: msg.zh}, true
}

// reportRegion is what region answer a contributes to a report.
func reportRegion(a RegionAnswer) ReportRegion {
	return ReportRegion{Region: a.Region, State: a.State, BytesScanned: int64(math.Round(a.BytesScanned)), Error: a.Error,
		LogGroups: a.LogGroups, Missing: a.MissingGroups, Err: a.Err}
}

func (r *Report) firstCause() error {
	for _, reg := range r.Regions {
		if reg.Err != nil {
			return reg.Err
		}
	}
	for _, w := range r.Warnings {
		if w.Code == WarnNoLogGroup {
			return ErrNoLogGroup
		}
	}
	if len(r.Regions) == 0 {
		return errors.New("no regions configured")
	}
	return errors.New(r.Regions[0].Error)
}

// reportKind is one kind's queries and merge.
type reportKind interface {
	// queries are the Insights queries every region runs (at most two).
	queries() []string
	// merge fills r from the answers of the regions that answered, exactly:
	// sums and counts across regions first, ratios last.
	merge(e *ReportEngine, q ReportQuery, r *Report, answers []RegionAnswer)
}

// ReportKindInfo describes a kind for help texts.
type ReportKindInfo struct {
	Kind          ReportKind
	DefaultWindow time.Duration // 0 for deploys
	Example       string        // what to type, e.g. "cost 2h"
	Summary       string        // one line
	impl          reportKind
}

// ReportKinds lists every report kind in help order, with one example each.
var ReportKinds = []ReportKindInfo{
	{ReportCost, 2 * time.Hour, "cost 2h", "the 20 most expensive AI calls, total cost", costKind{}},
	{ReportCache, 24 * time.Hour, "cache 24h", "cache hit rate per hour and model", cacheKind{}},
	{ReportFinish, 24 * time.Hour, "finish since 9am", "finish reasons per hour and stage (length, content-filter)", finishKind{}},
	{ReportProviders, 24 * time.Hour, "providers yesterday", "provider mix per model; sessions that switched provider", providersKind{}},
	{ReportDeploys, 0, "deploys", "each Lambda's code (CodeSha256) in each region", nil},
}

// internalReportKinds are run for the alerts, never asked for by words.
var internalReportKinds = []ReportKindInfo{
	{ReportSpend, 0, "", "cost per hour and model (the budget and cost_spike alerts)", spendKind{}},
}

var reportKindsByName = func() map[ReportKind]ReportKindInfo {
	m := map[ReportKind]ReportKindInfo{}
	for _, k := range append(slices.Clone(ReportKinds), internalReportKinds...) {
		m[k.Kind] = k
	}
	return m
}()

func reportKindList() string {
	names := make([]string, 0, len(ReportKinds))
	for _, k := range ReportKinds {
		names = append(names, string(k.Kind))
	}
	return strings.Join(names, ", ")
}
