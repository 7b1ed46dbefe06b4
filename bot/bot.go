package bot

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
)

// Tracer runs a trace; *lookup.Service implements it.
type Tracer interface {
	Trace(ctx context.Context, req lookup.Request, progress func(lookup.Progress)) *lookup.Trace
}

// Config tunes the bot. Zero values get the defaults of SPEC §7.
type Config struct {
	Lang              string
	AllowedChannels   []string
	EscalationMention string // user or group id; empty: no Escalate button
	ReprocessAllowed  []string
	ReprocessCooldown time.Duration
	RateLimit         int           // traces per user per RatePer
	RatePer           time.Duration //
	Workers           int           // traces and actions run at once
	QueueSize         int           // waiting jobs before "busy"
	ParseOptions      lookup.ParseOptions
	Now               func() time.Time // "now" for reading reports; nil: the clock
	Sandbox           bool
	ProgressInterval  time.Duration // min gap between updates of one message
	DeliveryTTL       time.Duration // how long a delivery id is remembered
	// TraceTimeout is the deadline of one whole trace (TRACEBOT_TRACE_TIMEOUT); a job
	// may run TraceTimeout + PostMargin, the margin covering the posts around it.
	TraceTimeout time.Duration
	PostMargin   time.Duration
	// ReportParseOptions read report words (TRACEBOT_TIME_ZONE, TRACEBOT_REPORT_MAX_RANGE);
	// their Now is ignored: Now above is used.
	ReportParseOptions lookup.ReportParseOptions
}

// maxRefusals bounds the refusals being sent at once.
const maxRefusals = 8

func (c *Config) setDefaults() {
	if c.ReprocessCooldown <= 0 {
		c.ReprocessCooldown = 10 * time.Minute
	}
	if c.RateLimit <= 0 {
		c.RateLimit = 20
	}
	if c.RatePer <= 0 {
		c.RatePer = time.Minute
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 256
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = 400 * time.Millisecond
	}
	if c.DeliveryTTL <= 0 {
		c.DeliveryTTL = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TraceTimeout <= 0 {
		c.TraceTimeout = time.Minute // lookup.ServiceConfig's default
	}
	if c.PostMargin <= 0 {
		c.PostMargin = time.Minute
	}
}

// Store is the part of the state store the bot uses; *state.Memory and
// *state.Postgres implement it (see state.Store for the contract of each method).
// The bot imports state for the records, state imports nothing of the bot: the
// records are plain data, and the `history` command reads them without a bot.
type Store interface {
	ClaimDelivery(ctx context.Context, platform, id string, ttl time.Duration) (bool, error)
	ClaimReprocess(ctx context.Context, rec state.ReprocessRecord, cooldown time.Duration) (state.ReprocessRecord, bool, error)
	FinishReprocess(ctx context.Context, id string, outcome state.ReprocessOutcome, awsRequestID, errMsg string) error
	RecordTrace(ctx context.Context, rec state.TraceRecord) error
	Mute(ctx context.Context, m state.AlertMute, d time.Duration) (state.AlertMute, error)
}

var _ Store = state.Store(nil)

// Deps are the bot's collaborators.
type Deps struct {
	Tracer      Tracer
	Store       Store              // nil: no dedupe, no records, no Reprocess
	Reprocessor lookup.Reprocessor // nil: no Reprocess button
	Contents    ContentReader      // nil: no Model output button
	Metrics     *Metrics           // nil: no metrics
	Logger      *slog.Logger
	Reporter    Reporter // nil: reports across calls are off (the bot says so)
}

// Ack is the immediate answer to a button click (Lark shows Toast).
type Ack struct{ Toast string }

// Bot turns chat requests into traces and replies. It is safe for concurrent use.
type Bot struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	replies replies

	mu      sync.RWMutex
	posters map[Platform]Poster
	closed  bool

	jobs     chan job
	workers  sync.WaitGroup
	pending  sync.WaitGroup // queued or running jobs
	refusals *Errands       // private answers to requests that were not queued

	limiters *lru.Cache[string, *rate.Limiter]        // per user; an idle one is full again anyway
	recent   *expiring[string, recentTrace]           // trace id → what a re-render needs
	rpState  *expiring[string, state.ReprocessRecord] // session id → the reprocess holding its cooldown
}

// recentTrace is kept so buttons can re-render a result without tracing again.
type recentTrace struct {
	trace *lookup.Trace
	req   lookup.Request
}

type job struct {
	name string
	ctx  context.Context // the request's values, without its cancellation
	run  func(ctx context.Context)
}

// refusalTimeout bounds the sending of one refusal.
const refusalTimeout = 10 * time.Second

// New builds a bot and starts its worker pool. It does no network I/O.
func New(cfg Config, deps Deps) *Bot {
	cfg.setDefaults()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bot{
		cfg: cfg, deps: deps, log: deps.Logger,
		replies: replies{lang: cfg.Lang, sandbox: cfg.Sandbox, reprocess: deps.Reprocessor != nil,
			cooldown: cfg.ReprocessCooldown, escalation: cfg.EscalationMention != "", modelOutput: deps.Contents != nil,
			mention: cfg.EscalationMention, zone: cfg.ParseOptions.DefaultZone},
		posters:  map[Platform]Poster{},
		jobs:     make(chan job, cfg.QueueSize),
		refusals: NewErrands(maxRefusals, refusalTimeout, deps.Logger),
		recent:   newExpiring[string, recentTrace](500, 24*time.Hour),
		rpState:  newExpiring[string, state.ReprocessRecord](2000, cfg.ReprocessCooldown),
	}
	b.limiters, _ = lru.New[string, *rate.Limiter](10000) // fails only for a size <= 0
	for range cfg.Workers {
		b.workers.Add(1)
		go b.work()
	}
	return b
}

// AddPoster makes a platform available for replies.
func (b *Bot) AddPoster(p Platform, poster Poster) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.posters[p] = poster
}

func (b *Bot) poster(p Platform) Poster {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.posters[p]
}

func (b *Bot) work() {
	defer b.workers.Done()
	for j := range b.jobs {
		b.runJob(j)
	}
}

func (b *Bot) runJob(j job) {
	defer b.pending.Done()
	defer b.deps.Metrics.jobs(-1)
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("job panicked", "job", j.name, "panic", r)
		}
	}()
	ctx, cancel := context.WithTimeout(j.ctx, b.cfg.TraceTimeout+b.cfg.PostMargin)
	defer cancel()
	j.run(ctx)
}

// errBusy and errClosed say why a job was not queued.
var (
	errBusy   = errors.New("queue full")
	errClosed = errors.New("shutting down")
)

// submit queues a job without blocking. The job runs with ctx's values but not
// its cancellation (the request ends when the edge acknowledges it), under a
// deadline of its own.
func (b *Bot) submit(ctx context.Context, name string, run func(ctx context.Context)) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errClosed
	}
	b.pending.Add(1)
	select {
	case b.jobs <- job{name: name, ctx: context.WithoutCancel(ctx), run: run}:
		b.deps.Metrics.jobs(1)
		return nil
	default:
		b.pending.Done()
		return errBusy
	}
}

// Accepting reports whether the bot still takes new work (false once shutting down).
func (b *Bot) Accepting() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return !b.closed
}

// Shutdown stops taking work and waits, until ctx ends, for queued and running
// jobs and the refusals being sent. Everything the bot started has ended when it
// returns nil: the bot holds no goroutine afterwards.
func (b *Bot) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.jobs)
	}
	b.mu.Unlock()
	if err := b.Idle(ctx); err != nil {
		return err
	}
	if err := waitFor(ctx, b.workers.Wait); err != nil {
		return err
	}
	return b.refusals.Wait(ctx) // and the refusals of requests that came meanwhile
}

// Idle waits until no job is queued or running and no refusal is being sent, or
// until ctx ends (then it returns ctx's error). New work may arrive meanwhile.
func (b *Bot) Idle(ctx context.Context) error {
	if err := waitFor(ctx, b.pending.Wait); err != nil {
		return err
	}
	return b.refusals.Wait(ctx)
}

// HandleMessage queues a trace request and returns at once. The job gets ctx's
// values (not its cancellation); a request whose ctx is already done was abandoned
// (the platform will deliver it again) and is not queued. The edge must not pass
// the bot's own messages or other bots'.
func (b *Bot) HandleMessage(ctx context.Context, m Message) {
	if abandoned(ctx, b.log, m.Platform, "message") {
		return
	}
	err := b.submit(ctx, "message", func(ctx context.Context) { b.handleMessage(ctx, m) })
	if err != nil {
		b.refuse(ctx, m, err)
	}
}

// HandleAction queues a button click and returns at once, with the toast to show
// (empty when ctx is already done: the click is then not queued).
func (b *Bot) HandleAction(ctx context.Context, a Action) Ack {
	if abandoned(ctx, b.log, a.Platform, "action "+a.Value.Action) {
		return Ack{}
	}
	m := a.asMessage()
	err := b.submit(ctx, "action "+a.Value.Action, func(ctx context.Context) { b.handleAction(ctx, a) })
	if err != nil {
		b.refuse(ctx, m, err)
		return Ack{Toast: b.replies.t(refusalKey(err))}
	}
	return Ack{Toast: b.replies.t("working")}
}

// abandoned reports (and logs) a request whose context ended before it was queued.
func abandoned(ctx context.Context, log *slog.Logger, p Platform, what string) bool {
	if ctx.Err() == nil {
		return false
	}
	log.Warn("request abandoned before it was queued", "platform", p, "request", what, "cause", context.Cause(ctx).Error())
	return true
}

func refusalKey(err error) string {
	if errors.Is(err, errClosed) {
		return "shutting_down"
	}
	return "busy"
}

// refuse tells the requester their job was not taken. At most maxRefusals are sent
// at once; past that they are dropped (and the drop logged), so the refusals do
// not add to the overload they report.
func (b *Bot) refuse(ctx context.Context, m Message, err error) {
	b.log.Warn("request refused", "platform", m.Platform, "reason", err.Error())
	b.refusals.Go(ctx, "refusal", func(ctx context.Context) {
		b.private(ctx, m, b.replies.notice(refusalKey(err)))
	})
}

func (a Action) asMessage() Message {
	return Message{Platform: a.Platform, Channel: a.Message.Channel, Thread: a.Message.ThreadRef().Thread,
		User: a.User, ResponseURL: a.ResponseURL, DeliveryID: a.DeliveryID}
}

// firstDelivery reports whether this delivery is new (a retried one is handled once).
// A store failure lets the request through: answering twice beats not answering.
func (b *Bot) firstDelivery(ctx context.Context, p Platform, id string) bool {
	if id == "" || b.deps.Store == nil {
		return true
	}
	ok, err := b.deps.Store.ClaimDelivery(ctx, string(p), id, b.cfg.DeliveryTTL)
	if err != nil {
		b.log.Error("claim delivery", "platform", p, "err", err)
		return true
	}
	return ok
}

func (b *Bot) channelAllowed(ch string) bool {
	return len(b.cfg.AllowedChannels) == 0 || slices.Contains(b.cfg.AllowedChannels, ch)
}

func (b *Bot) allowTrace(user string) bool {
	lim, ok := b.limiters.Get(user)
	if !ok {
		// PeekOrAdd, not Add: two first requests at once share one limiter (each
		// adding its own would give the user a second burst).
		fresh := rate.NewLimiter(rate.Every(b.cfg.RatePer/time.Duration(b.cfg.RateLimit)), b.cfg.RateLimit)
		if lim, ok, _ = b.limiters.PeekOrAdd(user, fresh); !ok {
			lim = fresh
		}
	}
	return lim.Allow()
}

// private answers only the requester; failures are logged.
func (b *Bot) private(ctx context.Context, m Message, r Reply) {
	p := b.poster(m.Platform)
	if p == nil {
		return
	}
	if err := p.Private(ctx, m, r); err != nil {
		b.log.Warn("private answer failed", "platform", m.Platform, "err", err)
	}
}
