package slack

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
	"github.com/callytics/tracebot/secrets"

	"github.com/callytics/tracebot/bot"
)

// Test identities.
const (
	testSecret  = "8f14e45fceea167a5a36dedd4bea2543"
	testChannel = "C0SUPPORT"
	testUser    = "U0SUPPORT"
	testReport  = "(914) 265-4371 5/20 1:15pm"
	testSession = "s-abc123def456"
)

// sleeps records the rate-limit waits of an edge instead of waiting them.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// harness is the whole Slack side of tracebot against fakes: the fake Slack,
// the real bot over the sandbox world and a memory store, the Lambda fake behind
// Reprocess, and the edge's HTTP endpoints on a test server.
type harness struct {
	t       *testing.T
	fake    *slackfake.Server
	bot     *bot.Bot
	edge    *Edge
	srv     *httptest.Server
	lambda  *lookuptest.LambdaServer
	world   *lookuptest.ReportWorld // set when harnessOpts.reports
	logs    *bottest.Logs
	sleeps  *sleeps
	metrics *prometheus.Registry
	secret  string

	mu        sync.Mutex
	responses []string // bodies of the edge's HTTP answers
	headers   []http.Header
}

type harnessOpts struct {
	fake      slackfake.Config
	secret    string // signing secret; "" → testSecret
	bot       func(*bot.Config)
	edge      func(*Config)
	sandboxMS int  // delay of each sandbox backend call, so progress can be seen
	reports   bool // answer reports from the report world over the wire fakes
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	if o.secret == "" {
		o.secret = testSecret
	}
	h := &harness{t: t, fake: slackfake.New(t, o.fake), lambda: lookuptest.NewLambdaServer(t),
		logs: &bottest.Logs{}, sleeps: &sleeps{}, metrics: prometheus.NewRegistry(), secret: o.secret}
	fc := h.fake.Config()
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := bot.NewMetrics(h.metrics)
	rp, err := lookup.NewReprocessor("lambda:call-analytics-prod-reprocess", "", h.lambda.Client(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := bot.Config{
		Sandbox: true, Workers: 4, ProgressInterval: time.Millisecond, EscalationMention: "S0ONCALL",
		Now:          func() time.Time { return lookup.SandboxNow },
		ParseOptions: bottest.ParseOptions(t),
	}
	if o.bot != nil {
		o.bot(&cfg)
	}
	sb := lookup.NewSandbox(time.Duration(o.sandboxMS) * time.Millisecond)
	tracer := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true, Logger: logger,
		Contents: sb.Contents, Analyses: sb.Analyses})
	deps := bot.Deps{Tracer: tracer, Contents: tracer, Store: state.NewMemory(nil), Reprocessor: rp, Metrics: metrics, Logger: logger}
	if o.reports {
		h.world = lookuptest.NewReportWorld(t)
		deps.Reporter = h.world.Engine(t, lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax, Logger: logger})
		cfg.ReportParseOptions = h.world.ParseOptions()
	}
	h.bot = bot.New(cfg, deps)
	ecfg := Config{
		BotToken:      bot.StaticSecret(secrets.New(fc.BotToken)),
		SigningSecret: bot.StaticSecret(secrets.New(o.secret)),
		AppToken:      bot.StaticSecret(secrets.New(fc.AppToken)),
		APIURL:        h.fake.APIURL(),
		Logger:        logger,
		Metrics:       metrics,
	}
	if o.edge != nil {
		o.edge(&ecfg)
	}
	h.edge = New(ecfg, h.bot)
	h.edge.sleep = h.sleeps.sleep
	if err := h.edge.Open(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	mux := http.NewServeMux()
	h.edge.Routes(mux)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	t.Cleanup(func() { h.shutdown() })
	return h
}

// shutdown waits for the bot's in-flight work; nothing happens after it.
func (h *harness) shutdown() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.bot.Shutdown(ctx); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
}

// send posts a request signed at instant at with secret to the edge and returns
// the status and body of the answer.
func (h *harness) send(path, contentType string, body []byte, secret string, at time.Time, hdr http.Header) (int, string) {
	h.t.Helper()
	req := slackfake.NewRequest(h.srv.URL+path, secret, at, contentType, body)
	for k, v := range hdr {
		req.Header[k] = v
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) (int, string) {
	h.t.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s: %v", req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h.mu.Lock()
	h.responses = append(h.responses, string(b))
	h.headers = append(h.headers, resp.Header.Clone())
	h.mu.Unlock()
	return resp.StatusCode, string(b)
}

// signed sends a correctly signed request and requires a 200.
func (h *harness) signed(path, contentType string, body []byte, hdr http.Header) string {
	h.t.Helper()
	status, out := h.send(path, contentType, body, h.secret, time.Now(), hdr)
	if status != http.StatusOK {
		h.t.Fatalf("%s: status %d %q", path, status, out)
	}
	return out
}

// command runs /trace text as user in channel and returns the command's
// response_url.
func (h *harness) command(user, channel, text string) string {
	h.t.Helper()
	ru := h.fake.NewResponseURL()
	c := slackfake.Command{Command: "/trace", Text: text, TeamID: slackfake.DefaultTeamID, ChannelID: channel,
		ChannelName: "support", UserID: user, UserName: "support", ResponseURL: ru, TriggerID: h.fake.NewTriggerID(),
		APIAppID: slackfake.DefaultAppID}
	if out := h.signed("/slack/commands", slackfake.ContentForm, c.Form(), nil); out != "" {
		h.t.Errorf("slash command ack body = %q, want empty", out)
	}
	return ru
}

// event delivers an Events API event.
func (h *harness) event(eventID string, ev map[string]any, hdr http.Header) {
	h.t.Helper()
	body := slackfake.JSON(slackfake.EventCallback(slackfake.DefaultTeamID, eventID, ev))
	h.signed("/slack/events", slackfake.ContentJSON, body, hdr)
}

// interact delivers an interaction payload.
func (h *harness) interact(payload map[string]any) {
	h.t.Helper()
	h.signed("/slack/interactivity", slackfake.ContentForm, slackfake.InteractionForm(payload), nil)
}

// click clicks the button whose action id starts with prefix on m, as user, and
// returns the click's response_url.
func (h *harness) click(user string, m slackfake.Message, prefix string) string {
	h.t.Helper()
	c := h.clickPayload(user, m, prefix)
	h.interact(c.Payload())
	return c.ResponseURL
}

func (h *harness) clickPayload(user string, m slackfake.Message, prefix string) slackfake.Click {
	h.t.Helper()
	for _, b := range slackfake.Buttons(m) {
		if strings.HasPrefix(b.ActionID, prefix) {
			return slackfake.Click{User: user, Message: m, Button: b, TriggerID: h.fake.NewTriggerID(),
				ResponseURL: h.fake.NewResponseURL()}
		}
	}
	h.t.Fatalf("no button %q on message %s: %+v", prefix, m.TS, slackfake.Buttons(m))
	return slackfake.Click{}
}

// botReplies are the bot's non-ephemeral messages in the thread of ts.
func (h *harness) botReplies(channel, ts string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range h.fake.Replies(channel, ts) {
		if m.BotID != "" {
			out = append(out, m)
		}
	}
	return out
}

// waitResult waits until a bot message in the thread of ts holds want (in its
// blocks) and returns it.
func (h *harness) waitResult(channel, ts, want string) slackfake.Message {
	h.t.Helper()
	var found slackfake.Message
	h.fake.Wait(h.t, 10*time.Second, "a reply holding "+want, func() bool {
		for _, m := range h.botReplies(channel, ts) {
			if strings.Contains(m.BlockText(), want) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// rootMessage waits for the bot's root message in channel.
func (h *harness) rootMessage(channel string) slackfake.Message {
	h.t.Helper()
	return h.rootWhere(channel, "a root message", func(slackfake.Message) bool { return true })
}

// rootWhere waits for the bot's first root message in channel that is what
// (holds says which).
func (h *harness) rootWhere(channel, what string, holds func(slackfake.Message) bool) slackfake.Message {
	h.t.Helper()
	var root slackfake.Message
	h.fake.Wait(h.t, 10*time.Second, what, func() bool {
		for _, m := range h.fake.Messages(channel) {
			if m.BotID != "" && m.ThreadTS == "" && !m.Ephemeral && holds(m) {
				root = m
				return true
			}
		}
		return false
	})
	return root
}

// waitResponse waits for a post to response URL u holding want.
func (h *harness) waitResponse(u, want string) slackfake.ResponsePost {
	h.t.Helper()
	var found slackfake.ResponsePost
	h.fake.Wait(h.t, 10*time.Second, "a response_url post holding "+want, func() bool {
		for _, p := range h.fake.ResponsePosts() {
			if p.URL == u && strings.Contains(p.Text+"\n"+p.BlockText(), want) {
				found = p
				return true
			}
		}
		return false
	})
	return found
}

// failedCalls lists calls the fake refused, which a correct edge never makes
// (except where a test provokes them).
func (h *harness) failedCalls() []slackfake.Call {
	var out []slackfake.Call
	for _, c := range h.fake.Calls() {
		if c.Error != "" {
			out = append(out, c)
		}
	}
	return out
}

// stubHandler records what the edge hands to the bot.
type stubHandler struct {
	mu       sync.Mutex
	messages []bot.Message
	actions  []bot.Action
}

func (s *stubHandler) HandleMessage(_ context.Context, m bot.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
}

func (s *stubHandler) HandleAction(_ context.Context, a bot.Action) bot.Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions = append(s.actions, a)
	return bot.Ack{}
}

func (s *stubHandler) got() ([]bot.Message, []bot.Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bot.Message(nil), s.messages...), append([]bot.Action(nil), s.actions...)
}

// stubEdge is an edge over the fake Slack that hands requests to a stub.
type stubEdge struct {
	fake *slackfake.Server
	edge *Edge
	stub *stubHandler
	srv  *httptest.Server
}

func newStubEdge(t *testing.T, mod func(*Config)) *stubEdge {
	t.Helper()
	s := &stubEdge{fake: slackfake.New(t, slackfake.Config{}), stub: &stubHandler{}}
	cfg := Config{
		BotToken:      bot.StaticSecret(secrets.New(s.fake.Config().BotToken)),
		SigningSecret: bot.StaticSecret(secrets.New(testSecret)),
		AppToken:      bot.StaticSecret(secrets.New(s.fake.Config().AppToken)),
		APIURL:        s.fake.APIURL(),
	}
	if mod != nil {
		mod(&cfg)
	}
	s.edge = newEdge(cfg, s.stub)
	mux := http.NewServeMux()
	s.edge.Routes(mux)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// post sends a request signed with testSecret now and returns the status.
func (s *stubEdge) post(t *testing.T, path, contentType string, body []byte) int {
	t.Helper()
	req := slackfake.NewRequest(s.srv.URL+path, testSecret, time.Now(), contentType, body)
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
