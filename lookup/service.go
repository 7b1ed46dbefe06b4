package lookup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// ServiceConfig tunes the walk.
type ServiceConfig struct {
	GenerationLink string        // TRACEBOT_GENERATION_LINK, "{id}" replaced
	TraceTimeout   time.Duration // TRACEBOT_TRACE_TIMEOUT, the whole trace
	// Per-step deadlines, each also bounded by the trace deadline.
	CallsTimeout       time.Duration
	LogsTimeout        time.Duration
	GenerationsTimeout time.Duration
	Sandbox            bool // results come from the --sandbox world
	Logger             *slog.Logger
	// Contents and Analyses are the verdict's two reads (SPEC §11): each stage's
	// stored content (fetched beside its generation, within GenerationsTimeout) and
	// the call's stored analysis (read from the moment the call is known, within
	// AnalysisTimeout, default 10s). The verdict is made only when both are set:
	// leave them nil for TRACEBOT_VERDICT=off.
	Contents        ContentFetcher
	Analyses        AnalysisReader
	AnalysisTimeout time.Duration
}

func (c *ServiceConfig) setDefaults() {
	if c.GenerationLink == "" {
		c.GenerationLink = "https://openrouter.ai/activity/{id}"
	}
	if c.TraceTimeout <= 0 {
		c.TraceTimeout = 60 * time.Second
	}
	if c.CallsTimeout <= 0 {
		c.CallsTimeout = 10 * time.Second
	}
	if c.LogsTimeout <= 0 {
		c.LogsTimeout = 45 * time.Second
	}
	if c.GenerationsTimeout <= 0 {
		c.GenerationsTimeout = 20 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.AnalysisTimeout <= 0 {
		c.AnalysisTimeout = 10 * time.Second
	}
}

// Service runs the four steps of the runbook. It is safe for concurrent use.
type Service struct {
	calls CallStore
	usage UsageSearcher
	gens  GenerationFetcher
	cfg   ServiceConfig
}

// NewService wires the three backends. It does no I/O.
func NewService(calls CallStore, usage UsageSearcher, gens GenerationFetcher, cfg ServiceConfig) *Service {
	cfg.setDefaults()
	return &Service{calls: calls, usage: usage, gens: gens, cfg: cfg}
}

// Trace walks the steps for req and returns what it found. It never returns nil:
// failures are recorded in Trace.Errors and Trace.Outcome, and a failing step never
// hides what the others found. progress, when not nil, is called from the trace's
// goroutines (serially) as steps move.
func (s *Service) Trace(ctx context.Context, req Request, progress func(Progress)) *Trace {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.TraceTimeout)
	defer cancel()

	t := newTrace(req, s.cfg.Sandbox)
	w := &walk{svc: s, req: req, t: t, report: newReporter(req.Phone, progress)}
	w.run(ctx)
	t.finish()
	t.TimingsMS.Total = time.Since(start).Milliseconds()
	s.cfg.Logger.Info("trace done", "trace_id", t.TraceID, "outcome", t.Outcome,
		"phone", MaskPhone(req.Phone), "session", sessionOf(t), "stages", len(t.Stages),
		"errors", len(t.Errors), "ms", t.TimingsMS.Total)
	return t
}

func newTrace(req Request, sandbox bool) *Trace {
	t := &Trace{
		TraceID:       newTraceID(),
		Phone:         req.Phone,
		Zone:          req.ZoneName,
		ZoneSource:    req.ZoneSource,
		From:          req.From.UTC(),
		To:            req.To.UTC(),
		Interpreted:   req.Interpretation("en"),
		Direction:     req.Direction,
		interpretedZH: req.Interpretation("zh"),
		Candidates:    []Call{},
		Stages:        []Stage{},
		Warnings:      []Warning{},
		Errors:        []StepError{},
		Sandbox:       sandbox,
	}
	if req.At != nil {
		at := req.At.UTC()
		t.At = &at
	}
	if req.ZoneSource == "default" && req.Phone != "" && req.At != nil {
		t.warn(WarnDefaultZone, "", say("the number has no single time zone; times were read in %s",
			"这个号码没有唯一的时区；时间按 %s 读取", req.ZoneName))
	}
	t.Warnings = append(t.Warnings, req.Warnings...)
	return t
}

func newTraceID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "tr-" + hex.EncodeToString(b[:])
}

func sessionOf(t *Trace) string {
	if t.Call == nil {
		return ""
	}
	return t.Call.TelephonySessionID
}

// walk is the state of one trace while it runs.
type walk struct {
	svc      *Service
	req      Request
	t        *Trace
	report   *reporter
	analysis <-chan analysisRead // the stored analysis, once the call is known
}

func (w *walk) run(ctx context.Context) {
	defer w.judge()
	if w.req.SessionID == "" && w.req.Phone == "" && len(w.req.GenerationIDs) > 0 {
		w.generationsOnly(ctx)
		return
	}
	call, ok := w.findCall(ctx)
	if !ok {
		return
	}
	w.t.Call = &call
	w.readAnalysis(ctx, call)
	w.report.update(func(p *Progress) { p.Call = &call; p.CallsDone = true })
	rows, ok := w.searchUsage(ctx, call)
	if !ok {
		return
	}
	w.t.Stages, w.t.Runs, w.t.EarlierRuns = BuildStages(rows, w.svc.cfg.GenerationLink)
	w.fetchGenerations(ctx)
}

// findCall is step 2. ok is false when the walk must stop here (outcome set).
func (w *walk) findCall(ctx context.Context) (Call, bool) {
	start := time.Now()
	defer func() { w.t.TimingsMS.Calls = time.Since(start).Milliseconds() }()
	ctx, cancel := context.WithTimeout(ctx, w.svc.cfg.CallsTimeout)
	defer cancel()

	if w.req.SessionID != "" {
		return w.callBySession(ctx)
	}
	q := CallQuery{Phone: w.req.Phone, From: w.req.From, To: w.req.To, At: w.req.At, Direction: w.req.Direction}
	w.t.Engineers = &EngineersBlock{}
	w.t.Engineers.SQL, w.t.Engineers.SQLParams = w.svc.engineersSQL(q)
	calls, err := w.svc.calls.FindCalls(ctx, q)
	if err != nil {
		w.fail(StepCalls, "", err)
		w.t.Outcome = OutcomeFailed
		return Call{}, false
	}
	w.t.Candidates = append(w.t.Candidates, calls...)
	w.report.update(func(p *Progress) { p.Candidates = len(calls); p.CallsDone = len(calls) != 1 })
	switch len(calls) {
	case 0:
		w.t.Outcome = OutcomeNotFound
		return Call{}, false
	case 1:
		return calls[0], true
	default:
		w.t.Outcome = OutcomeCandidates
		return Call{}, false
	}
}

func (w *walk) callBySession(ctx context.Context) (Call, bool) {
	call, err := w.svc.calls.CallBySession(ctx, w.req.SessionID)
	if err == nil {
		w.t.Candidates = append(w.t.Candidates, call)
		return call, true
	}
	if ErrorCode(err) == CodeNotFound {
		w.t.Outcome = OutcomeNotFound
		w.t.Errors = append(w.t.Errors, StepError{Step: StepCalls, Message: fmt.Sprintf("no call with telephony_session_id %q", w.req.SessionID)})
		return Call{}, false
	}
	w.fail(StepCalls, "", err)
	if w.req.At == nil {
		w.t.Outcome = OutcomeFailed
		return Call{}, false
	}
	// The database is down but the report gave a time: search the logs around it.
	return Call{TelephonySessionID: w.req.SessionID, CreatedAt: w.req.At.UTC()}, true
}

// searchUsage is step 3.
func (w *walk) searchUsage(ctx context.Context, call Call) ([]UsageRow, bool) {
	start := time.Now()
	defer func() { w.t.TimingsMS.Logs = time.Since(start).Milliseconds() }()
	ctx, cancel := context.WithTimeout(ctx, w.svc.cfg.LogsTimeout)
	defer cancel()

	q := UsageQuery{SessionID: call.TelephonySessionID, CreatedAt: call.CreatedAt, Env: w.req.Env,
		OnRegion: func(rs RegionStatus) { w.report.update(func(p *Progress) { p.setRegion(rs) }) }}
	res, err := w.svc.usage.SearchUsage(ctx, q)
	w.t.Regions = res.Regions
	w.addEngineersLogs(res)
	for _, r := range res.Regions {
		if r.State == RegionFailed {
			w.t.Errors = append(w.t.Errors, StepError{Step: StepLogs, Region: r.Region, Message: r.Error,
				Backend: StepBackend(StepLogs, r.Region)})
		}
	}
	w.report.update(func(p *Progress) { p.Regions = res.Regions; p.LogsDone = true })
	if err != nil {
		if len(res.Regions) == 0 {
			w.fail(StepLogs, "", err)
		}
		w.t.Outcome = OutcomeFailed
		return nil, false
	}
	if res.Widened && len(res.Rows) > 0 {
		w.t.warn(WarnWidened, "", say("no ai_usage lines within an hour of the call; found them in the 24-hour range",
			"通话前后一小时内没有 ai_usage 日志；在 24 小时范围内找到了"))
	}
	return res.Rows, true
}

func (w *walk) addEngineersLogs(res UsageResult) {
	if w.t.Engineers == nil {
		w.t.Engineers = &EngineersBlock{}
	}
	e := w.t.Engineers
	e.InsightsQuery = res.Query
	if !res.From.IsZero() {
		from, to := res.From.UTC(), res.To.UTC()
		e.InsightsFrom, e.InsightsTo = &from, &to
	}
	e.LogGroups = map[string][]string{}
	for _, r := range res.Regions {
		if len(r.LogGroups) > 0 {
			e.LogGroups[r.Region] = r.LogGroups
		}
	}
	// Link the regions that had rows; when none had, every region searched.
	for _, want := range []func(RegionStatus) bool{
		func(r RegionStatus) bool { return r.State == RegionRows && len(r.LogGroups) > 0 },
		func(r RegionStatus) bool { return len(r.LogGroups) > 0 },
	} {
		for _, r := range res.Regions {
			if want(r) {
				e.ConsoleLinks = append(e.ConsoleLinks, RegionLink{Region: r.Region, URL: ConsoleLink(r.Region, r.LogGroups, res.Query, res.From, res.To)})
			}
		}
		if len(e.ConsoleLinks) > 0 {
			return
		}
	}
}

// fetchGenerations is step 4: every stage with an id, concurrently.
func (w *walk) fetchGenerations(ctx context.Context) {
	start := time.Now()
	defer func() { w.t.TimingsMS.Generations = time.Since(start).Milliseconds() }()
	ctx, cancel := context.WithTimeout(ctx, w.svc.cfg.GenerationsTimeout)
	defer cancel()

	stages := w.t.Stages
	total := 0
	for _, st := range stages {
		if st.GenerationID != "" {
			total++
		}
	}
	w.report.update(func(p *Progress) { p.GenerationsTotal = total })
	var mu sync.Mutex
	var g errgroup.Group
	for i := range stages {
		if stages[i].GenerationID == "" {
			continue
		}
		g.Go(func() error {
			gen, err := w.svc.gens.FetchGeneration(ctx, stages[i].GenerationID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				stages[i].GenerationError = errLine(err)
				stages[i].noGeneration = ErrorCode(err) == CodeNotFound
				se := StepError{Step: StepGenerations, Message: stages[i].Stage + ": " + errLine(err)}
				if backendFailure(err) {
					se.Backend = BackendOpenRouter
				}
				w.t.Errors = append(w.t.Errors, se)
			} else {
				stages[i].join(gen)
			}
			w.report.update(func(p *Progress) { p.GenerationsDone++ })
			return nil
		})
		w.fetchContent(ctx, &g, &mu, &stages[i], start)
	}
	_ = g.Wait()
	for i := range stages {
		stages[i].contentOfMissingGeneration()
	}
}

// generationsOnly serves a report that names gen-… ids and nothing else.
func (w *walk) generationsOnly(ctx context.Context) {
	for _, id := range w.req.GenerationIDs {
		w.t.Stages = append(w.t.Stages, Stage{Stage: fmt.Sprintf("generation %d", len(w.t.Stages)+1),
			GenerationID: id, Link: generationLink(w.svc.cfg.GenerationLink, id)})
	}
	w.fetchGenerations(ctx)
}

func (w *walk) fail(step, region string, err error) {
	w.svc.cfg.Logger.Warn("trace step failed", "trace_id", w.t.TraceID, "step", step, "region", region, "err", err)
	se := StepError{Step: step, Region: region, Message: errLine(err)}
	if backendFailure(err) {
		se.Backend = StepBackend(step, region)
	}
	w.t.Errors = append(w.t.Errors, se)
}

// ErrorLine is err as one line for a reply or a record (at most 300
// characters; a user-facing error's message; "timed out" for a deadline): the
// full chain is logged instead.
func ErrorLine(err error) string { return errLine(err) }

// errLine shortens an error for a reply: the full chain is logged instead.
func errLine(err error) string {
	var ue *Error
	if errors.As(err, &ue) {
		return ue.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return causeLine(err.Error())
}

// reporter serializes progress callbacks and keeps the snapshot they see.
type reporter struct {
	mu sync.Mutex
	p  Progress
	fn func(Progress)
}

func newReporter(phone string, fn func(Progress)) *reporter {
	return &reporter{p: Progress{Phone: phone}, fn: fn}
}

func (r *reporter) update(change func(*Progress)) {
	if r.fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	change(&r.p)
	snap := r.p
	snap.Regions = append([]RegionStatus(nil), r.p.Regions...)
	r.fn(snap)
}

func (p *Progress) setRegion(rs RegionStatus) {
	for i := range p.Regions {
		if p.Regions[i].Region == rs.Region {
			p.Regions[i] = rs
			return
		}
	}
	p.Regions = append(p.Regions, rs)
}

// sqlDescriber is implemented by call stores that can show the SQL they run.
type sqlDescriber interface {
	CallsSQL(q CallQuery) (query string, args []any)
}

// engineersSQL is the exact statement and parameters of step 2, for the reply, or
// nothing when the call store runs no SQL it can show (the sandbox).
func (s *Service) engineersSQL(q CallQuery) (string, []string) {
	d, ok := s.calls.(sqlDescriber)
	if !ok {
		return "", nil
	}
	query, args := d.CallsSQL(q)
	params := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			params[i] = fmt.Sprintf("$%d=%s", i+1, v.Format("2006-01-02 15:04:05"))
		case *time.Time:
			if v == nil {
				params[i] = fmt.Sprintf("$%d=NULL", i+1)
			} else {
				params[i] = fmt.Sprintf("$%d=%s", i+1, v.Format("2006-01-02 15:04:05"))
			}
		default:
			params[i] = fmt.Sprintf("$%d=%v", i+1, v)
		}
	}
	return query, params
}
