package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/lark"
	"github.com/callytics/tracebot/bot/slack"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/secrets"
)

// shutdownGrace bounds how long in-flight traces may finish after SIGTERM.
const shutdownGrace = 25 * time.Second

// server is a running `tracebot serve`: the bot, its chat edges and HTTP endpoints.
type server struct {
	*app
	reg      *prometheus.Registry
	metrics  *bot.Metrics
	state    state.Store
	bot      *bot.Bot
	slack    *slack.Edge
	lark     *lark.Edge
	mux      *http.ServeMux
	loops    []func(context.Context) error // Socket Mode, the Lark long connection
	platform []string
	alerts   *bot.Alerts // nil: TRACEBOT_ALERT_CHANNELS is not set
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sandbox := fs.Bool("sandbox", false, "answer every trace from built-in sample data")
	if err := parseFlagsOnly(fs, args, stderr); err != nil {
		return err
	}
	cfg, err := LoadConfigFromEnv()
	if err != nil {
		return err
	}
	s, err := openServer(ctx, cfg, stderr, *sandbox)
	if err != nil {
		return err
	}
	defer s.close()
	return s.run(ctx)
}

// openServer builds everything and connects to the chat platforms; it fails with a
// clear message when a required secret is missing or no platform is configured.
func openServer(ctx context.Context, cfg Config, stderr io.Writer, sandbox bool) (*server, error) {
	a, awsCfg, err := openBase(ctx, cfg, stderr, slog.LevelInfo, !sandbox)
	if err != nil {
		return nil, err
	}
	s := &server{app: a, reg: prometheus.NewRegistry(), mux: http.NewServeMux()}
	if err := s.openTracing(ctx, awsCfg, sandbox); err != nil {
		a.Close()
		return nil, err
	}
	if err := s.openBot(ctx, awsCfg, sandbox); err != nil {
		s.close()
		return nil, err
	}
	if err := s.openPlatforms(ctx); err != nil {
		s.close()
		return nil, err
	}
	if err := s.openAlerts(sandbox); err != nil {
		s.close()
		return nil, err
	}
	s.routes()
	return s, nil
}

// openAlerts builds the alert scheduler when TRACEBOT_ALERT_CHANNELS is set. A
// channel of a platform that is off is a configuration error.
func (s *server) openAlerts(sandbox bool) error {
	if len(s.cfg.AlertChannels) == 0 {
		s.log.Info("alerts off: TRACEBOT_ALERT_CHANNELS is not set")
		return nil
	}
	for _, ch := range s.cfg.AlertChannels {
		p := bot.ChannelPlatform(ch)
		if (p == bot.Slack && s.slack == nil) || (p == bot.Lark && s.lark == nil) {
			return fmt.Errorf("config: TRACEBOT_ALERT_CHANNELS=%q: %s is a %s channel, and %s is not configured", ch, ch, p.Name(), p.Name())
		}
	}
	checker := lookup.NewAlertChecker(s.reports, alertConfig(s.cfg, sandbox)) // the engine reports in chat use

	s.alerts = bot.NewAlerts(s.bot, bot.AlertsConfig{Channels: s.cfg.AlertChannels, Interval: s.cfg.AlertInterval,
		Holder: replicaID(), FailuresKnown: true}, checker, s.state)
	s.log.Info("alerts on", "channels", s.cfg.AlertChannels, "interval", s.cfg.AlertInterval.String())
	return nil
}

// replicaID names this process in the alert lease and post claims.
func replicaID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// serveWorkers is how many traces (and actions) serve runs at once. Traces mostly
// wait on the backends, and concurrent traces share their step-3 queries, so a
// burst of reports is best traced together: with fewer workers it is traced in
// waves, each wave starting its own queries (SPEC §10: 50 different traces at
// once within 3× one trace). Insights stays bounded by TRACEBOT_MAX_QUERIES.
const serveWorkers = 64

// sandboxDelay slows the sandbox's answers under serve, so progress can be watched.
const sandboxDelay = 300 * time.Millisecond

func (s *server) openTracing(ctx context.Context, awsCfg aws.Config, sandbox bool) error {
	delay := time.Duration(0)
	if sandbox {
		s.log.Warn("sandbox: every trace answers from built-in sample data")
		delay = sandboxDelay
	}
	if err := s.openService(ctx, awsCfg, sandbox, delay); err != nil {
		return err
	}
	if s.logs != nil {
		s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracebot_insights_queries_in_flight", Help: "CloudWatch Logs Insights queries running now (capped by TRACEBOT_MAX_QUERIES).",
		}, func() float64 { return float64(s.logs.InFlight()) }))
		s.registerBatchMetrics()
	}
	return nil
}

// registerBatchMetrics counts how concurrent traces share step-3 queries.
func (s *server) registerBatchMetrics() {
	sessions := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tracebot_insights_trace_query_sessions",
		Help:    "Trace searches (sessions) one step-3 Insights query served; more than 1 when concurrent traces shared it.",
		Buckets: []float64{1, 2, 5, 10, 20, 50, 100},
	})
	saved := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tracebot_insights_queries_saved_total",
		Help: "Step-3 Insights queries not started because a trace shared another trace's query.",
	})
	s.reg.MustRegister(sessions, saved)
	s.logs.ObserveTraceQueries(func(n int) {
		sessions.Observe(float64(n))
		saved.Add(float64(n - 1))
	})
}

func (s *server) openBot(ctx context.Context, awsCfg aws.Config, sandbox bool) error {
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = bot.NewMetrics(s.reg)
	state, err := s.openState(ctx)
	if err != nil {
		return err
	}
	s.state = state
	rp, err := s.reprocessor(awsCfg)
	if err != nil {
		return err
	}
	now := time.Now
	if !s.cfg.Now.IsZero() {
		fixed := s.cfg.Now
		now = func() time.Time { return fixed }
	} else if sandbox {
		now = func() time.Time { return lookup.SandboxNow }
	}
	// Reports share the trace service's CloudWatch searcher (s.logs): one in-flight
	// cap and poll limiter for both; --sandbox answers from the sample world.
	s.openReports(awsCfg, sandbox)
	s.bot = bot.New(bot.Config{
		Lang: s.cfg.Lang, AllowedChannels: s.cfg.AllowedChannels, EscalationMention: s.cfg.EscalationMention,
		ReprocessAllowed: s.cfg.ReprocessAllowed, ReprocessCooldown: s.cfg.ReprocessCooldown,
		RateLimit: s.cfg.RateLimit.N, RatePer: s.cfg.RateLimit.Per, Now: now, Sandbox: sandbox, TraceTimeout: s.cfg.TraceTimeout,
		Workers:            serveWorkers,
		ParseOptions:       lookup.ParseOptions{DefaultZone: s.cfg.TimeZone, Window: s.cfg.Window, NoTimeLookback: s.cfg.NoTimeLookback},
		ReportParseOptions: lookup.ReportParseOptions{Zone: s.cfg.TimeZone, MaxRange: s.cfg.ReportMaxRange},
	}, bot.Deps{Tracer: s.service, Contents: s.service, Store: state, Reprocessor: rp, Metrics: s.metrics, Logger: s.log, Reporter: s.reports})
	return nil
}

// openState is the Postgres state store when TRACEBOT_SSM_STATE_DATABASE_URL is set,
// else the in-memory one (one replica only).
func (s *server) openState(ctx context.Context) (state.Store, error) {
	if s.cfg.SSM.StateDatabaseURL == "" {
		s.log.Warn("state is in memory: run one replica only (set TRACEBOT_SSM_STATE_DATABASE_URL to share cooldowns and dedupe)")
		return state.NewMemory(nil), nil
	}
	return s.openStateDB(ctx)
}

// reprocessor is nil (no button) unless TRACEBOT_REPROCESS_TARGET is set.
func (s *server) reprocessor(awsCfg aws.Config) (lookup.Reprocessor, error) {
	if s.cfg.ReprocessTarget == "" {
		return nil, nil
	}
	target, err := lookup.ParseReprocessTarget(s.cfg.ReprocessTarget)
	if err != nil {
		return nil, err
	}
	region := func(o *string) {
		if target.Region != "" {
			*o = target.Region
		}
	}
	lc := lambda.NewFromConfig(awsCfg, func(o *lambda.Options) { region(&o.Region) })
	qc := sqs.NewFromConfig(awsCfg, func(o *sqs.Options) { region(&o.Region) })
	return lookup.NewReprocessor(s.cfg.ReprocessTarget, s.cfg.ReprocessPayload, lc, qc)
}

// secretFunc binds a secret name to the store, so rotation is picked up.
func (a *app) secretFunc(name string) bot.SecretFunc {
	return func(ctx context.Context) (secrets.Secret, error) { return a.secrets.Get(ctx, name) }
}

// present reports whether an optional secret resolved.
func (a *app) present(ctx context.Context, name string) bool {
	v, err := a.secrets.Get(ctx, name)
	return err == nil && !v.IsZero()
}

// openPlatforms turns on Slack and/or Lark: a platform whose secrets are absent is off.
func (s *server) openPlatforms(ctx context.Context) error {
	n := s.cfg.SSM
	if err := s.secrets.LoadOptional(ctx, n.SlackBotToken, n.SlackSigningSecret, n.SlackAppToken); err != nil {
		return err
	}
	if s.present(ctx, n.SlackBotToken) && (s.present(ctx, n.SlackSigningSecret) || s.present(ctx, n.SlackAppToken)) {
		if err := s.openSlack(ctx); err != nil {
			return err
		}
	}
	if s.cfg.LarkAppID != "" {
		if err := s.openLark(ctx); err != nil {
			return err
		}
	}
	if len(s.platform) == 0 {
		return fmt.Errorf("no chat platform is configured: put a Slack bot token (%s) and signing secret (%s) in SSM, or set TRACEBOT_LARK_APP_ID",
			n.SlackBotToken, n.SlackSigningSecret)
	}
	return nil
}

func (s *server) openSlack(ctx context.Context) error {
	n := s.cfg.SSM
	sc := slack.Config{
		BotToken: s.secretFunc(n.SlackBotToken), SigningSecret: s.secretFunc(n.SlackSigningSecret),
		APIURL: s.cfg.SlackAPIURL, Lang: s.cfg.Lang, Logger: s.log, Metrics: s.metrics,
		OnAuthFailure: func(which string) {
			if which == slack.AppTokenName {
				s.secrets.Invalidate(n.SlackAppToken)
			} else {
				s.secrets.Invalidate(n.SlackBotToken)
			}
		},
	}
	socket := s.present(ctx, n.SlackAppToken)
	if socket {
		sc.AppToken = s.secretFunc(n.SlackAppToken)
	}
	s.slack = slack.New(sc, s.bot)
	if err := s.slack.Open(ctx); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	s.slack.Routes(s.mux)
	if socket {
		s.loops = append(s.loops, s.slack.RunSocketMode)
		s.platform = append(s.platform, "slack (socket mode + http)")
	} else {
		s.platform = append(s.platform, "slack (http)")
	}
	return nil
}

func (s *server) openLark(ctx context.Context) error {
	n := s.cfg.SSM
	// The long connection needs only the app secret; webhooks are verified with the
	// verification token (and the encrypt key, when one is set).
	required := []string{n.LarkAppSecret}
	if s.cfg.LarkMode == lark.ModeWebhook {
		required = append(required, n.LarkVerificationToken)
	}
	if err := s.secrets.Load(ctx, required...); err != nil {
		return fmt.Errorf("lark: %w", err)
	}
	if err := s.secrets.LoadOptional(ctx, n.LarkVerificationToken, n.LarkEncryptKey); err != nil {
		return fmt.Errorf("lark: %w", err)
	}
	lc := lark.Config{
		AppID: s.cfg.LarkAppID, AppSecret: s.secretFunc(n.LarkAppSecret), VerificationToken: s.secretFunc(n.LarkVerificationToken),
		BaseURL: s.cfg.LarkBaseURL, Mode: s.cfg.LarkMode, Lang: s.cfg.Lang, Logger: s.log, Metrics: s.metrics,
	}
	if s.present(ctx, n.LarkEncryptKey) {
		lc.EncryptKey = s.secretFunc(n.LarkEncryptKey)
	}
	s.lark = lark.New(lc, s.bot)
	if err := s.lark.Open(ctx); err != nil {
		return fmt.Errorf("lark: %w", err)
	}
	if s.cfg.LarkMode == lark.ModeWS {
		s.loops = append(s.loops, s.lark.RunWS)
	} else {
		s.lark.Routes(s.mux)
	}
	s.platform = append(s.platform, "lark ("+s.cfg.LarkMode+")")
	return nil
}

func (s *server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
}

// ready is 200 while the bot takes work, its secrets resolve and its databases answer.
func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var problems []string
	if !s.bot.Accepting() {
		problems = append(problems, "shutting down")
	}
	for _, st := range s.secrets.Status(ctx) {
		if !st.OK {
			problems = append(problems, "secret "+st.Name+": "+st.Reason)
		}
	}
	if err := s.state.Ping(ctx); err != nil {
		problems = append(problems, "state store: "+err.Error())
	}
	if s.pg != nil {
		if err := s.pg.Ping(ctx); err != nil {
			problems = append(problems, "calls database: "+err.Error())
		}
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, p := range problems {
			_, _ = io.WriteString(w, s.scrub(p)+"\n")
		}
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

// run serves until ctx ends (SIGTERM), then shuts down in order: close the
// connections to Slack and Lark (so they deliver to other replicas), stop intake
// while HTTP still answers (/readyz 503, new requests told to retry), finish
// in-flight traces up to shutdownGrace, stop the HTTP server, and return nil.
func (s *server) run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, loop := range s.loops {
		wg.Go(func() { s.keepRunning(loopCtx, loop) })
	}
	if s.alerts != nil {
		wg.Go(func() { s.alerts.Run(loopCtx) })
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.log.Info("tracebot serving", "addr", ln.Addr().String(), "platforms", s.platform, "version", Version)

	select {
	case err := <-serveErr:
		stopLoops()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: no new work, finishing what is in flight", "grace", shutdownGrace)
	down, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	stopLoops()
	if err := s.bot.Shutdown(down); err != nil {
		s.log.Warn("in-flight work did not finish in time", "err", err)
	}
	if s.slack != nil {
		_ = s.slack.Shutdown(down) // its private answers
	}
	_ = srv.Shutdown(down)
	wg.Wait()
	s.log.Info("stopped")
	return nil
}

// keepRunning restarts a connection loop (Socket Mode, the Lark long connection)
// that ended with an error — e.g. a rotated token that was refetched — with backoff,
// until ctx ends.
func (s *server) keepRunning(ctx context.Context, loop func(context.Context) error) {
	wait := time.Second
	for ctx.Err() == nil {
		start := time.Now()
		err := loop(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.Error("connection loop ended; restarting", "err", err, "in", wait)
		if time.Since(start) > time.Minute {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (s *server) close() {
	if s.state != nil {
		s.state.Close()
	}
	s.app.Close()
}
