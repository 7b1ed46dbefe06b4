package bot

import (
	"bytes"
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

	"github.com/callytics/tracebot/bot/slackfake"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
	"github.com/callytics/tracebot/secrets"
)

// Test identities.
const (
	slackTestSecret  = "8f14e45fceea167a5a36dedd4bea2543"
	slackTestChannel = "C0SUPPORT"
	slackTestUser    = "U0SUPPORT"
	slackTestReport  = "(914) 265-4371 5/20 1:15pm"
	slackTestSession = "s-abc123def456"
)

// slackLogBuffer collects log output from many goroutines.
type slackLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *slackLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *slackLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// slackSleeps records the rate-limit waits of an edge instead of waiting them.
type slackSleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *slackSleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *slackSleeps) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// slackHarness is the whole Slack side of tracebot against fakes: the fake Slack,
// the real bot over the sandbox world and a memory store, the Lambda fake behind
// Reprocess, and the edge's HTTP endpoints on a test server.
type slackHarness struct {
	t       *testing.T
	fake    *slackfake.Server
	bot     *Bot
	edge    *SlackEdge
	srv     *httptest.Server
	lambda  *lookuptest.LambdaServer
	logs    *slackLogBuffer
	sleeps  *slackSleeps
	metrics *prometheus.Registry
	secret  string

	mu        sync.Mutex
	responses []string // bodies of the edge's HTTP answers
	headers   []http.Header
}

type slackHarnessOpts struct {
	fake      slackfake.Config
	secret    string // signing secret; "" → slackTestSecret
	bot       func(*Config)
	edge      func(*SlackConfig)
	sandboxMS int // delay of each sandbox backend call, so progress can be seen
}

func newSlackHarness(t *testing.T, o slackHarnessOpts) *slackHarness {
	t.Helper()
	if o.secret == "" {
		o.secret = slackTestSecret
	}
	h := &slackHarness{t: t, fake: slackfake.New(t, o.fake), lambda: lookuptest.NewLambdaServer(t),
		logs: &slackLogBuffer{}, sleeps: &slackSleeps{}, metrics: prometheus.NewRegistry(), secret: o.secret}
	fc := h.fake.Config()
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := NewMetrics(h.metrics)
	rp, err := lookup.NewReprocessor("lambda:call-analytics-prod-reprocess", "", h.lambda.Client(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Sample: true, Workers: 4, ProgressInterval: time.Millisecond, EscalationMention: "S0ONCALL",
		Now:          func() time.Time { return lookup.SandboxNow },
		ParseOptions: slackParseOptions(t),
	}
	if o.bot != nil {
		o.bot(&cfg)
	}
	sb := lookup.NewSandbox(time.Duration(o.sandboxMS) * time.Millisecond)
	tracer := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true, Logger: logger})
	h.bot = New(cfg, Deps{Tracer: tracer, Store: NewMemoryStore(nil), Reprocessor: rp, Metrics: metrics, Logger: logger})
	ecfg := SlackConfig{
		BotToken:      StaticSecret(secrets.New(fc.BotToken)),
		SigningSecret: StaticSecret(secrets.New(o.secret)),
		AppToken:      StaticSecret(secrets.New(fc.AppToken)),
		APIURL:        h.fake.APIURL(),
		Logger:        logger,
		Metrics:       metrics,
	}
	if o.edge != nil {
		o.edge(&ecfg)
	}
	h.edge = NewSlack(ecfg, h.bot)
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
func (h *slackHarness) shutdown() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.bot.Shutdown(ctx); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
}

// send posts a request signed at instant at with secret to the edge and returns
// the status and body of the answer.
func (h *slackHarness) send(path, contentType string, body []byte, secret string, at time.Time, hdr http.Header) (int, string) {
	h.t.Helper()
	req := slackfake.NewRequest(h.srv.URL+path, secret, at, contentType, body)
	for k, v := range hdr {
		req.Header[k] = v
	}
	return h.do(req)
}

func (h *slackHarness) do(req *http.Request) (int, string) {
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
func (h *slackHarness) signed(path, contentType string, body []byte, hdr http.Header) string {
	h.t.Helper()
	status, out := h.send(path, contentType, body, h.secret, time.Now(), hdr)
	if status != http.StatusOK {
		h.t.Fatalf("%s: status %d %q", path, status, out)
	}
	return out
}

// command runs /trace text as user in channel and returns the command's
// response_url.
func (h *slackHarness) command(user, channel, text string) string {
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
func (h *slackHarness) event(eventID string, ev map[string]any, hdr http.Header) {
	h.t.Helper()
	body := slackfake.JSON(slackfake.EventCallback(slackfake.DefaultTeamID, eventID, ev))
	h.signed("/slack/events", slackfake.ContentJSON, body, hdr)
}

// interact delivers an interaction payload.
func (h *slackHarness) interact(payload map[string]any) {
	h.t.Helper()
	h.signed("/slack/interactivity", slackfake.ContentForm, slackfake.InteractionForm(payload), nil)
}

// click clicks the button whose action id starts with prefix on m, as user, and
// returns the click's response_url.
func (h *slackHarness) click(user string, m slackfake.Message, prefix string) string {
	h.t.Helper()
	c := h.clickPayload(user, m, prefix)
	h.interact(c.Payload())
	return c.ResponseURL
}

func (h *slackHarness) clickPayload(user string, m slackfake.Message, prefix string) slackfake.Click {
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
func (h *slackHarness) botReplies(channel, ts string) []slackfake.Message {
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
func (h *slackHarness) waitResult(channel, ts, want string) slackfake.Message {
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
func (h *slackHarness) rootMessage(channel string) slackfake.Message {
	h.t.Helper()
	var root slackfake.Message
	h.fake.Wait(h.t, 10*time.Second, "a root message", func() bool {
		for _, m := range h.fake.Messages(channel) {
			if m.BotID != "" && m.ThreadTS == "" && !m.Ephemeral {
				root = m
				return true
			}
		}
		return false
	})
	return root
}

// waitResponse waits for a post to response URL u holding want.
func (h *slackHarness) waitResponse(u, want string) slackfake.ResponsePost {
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
func (h *slackHarness) failedCalls() []slackfake.Call {
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
	messages []Message
	actions  []Action
}

func (s *stubHandler) HandleMessage(_ context.Context, m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
}

func (s *stubHandler) HandleAction(_ context.Context, a Action) Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions = append(s.actions, a)
	return Ack{}
}

func (s *stubHandler) got() ([]Message, []Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...), append([]Action(nil), s.actions...)
}

// stubEdge is an edge over the fake Slack that hands requests to a stub.
type stubEdge struct {
	fake *slackfake.Server
	edge *SlackEdge
	stub *stubHandler
	srv  *httptest.Server
}

func newStubEdge(t *testing.T, mod func(*SlackConfig)) *stubEdge {
	t.Helper()
	s := &stubEdge{fake: slackfake.New(t, slackfake.Config{}), stub: &stubHandler{}}
	cfg := SlackConfig{
		BotToken:      StaticSecret(secrets.New(s.fake.Config().BotToken)),
		SigningSecret: StaticSecret(secrets.New(slackTestSecret)),
		AppToken:      StaticSecret(secrets.New(s.fake.Config().AppToken)),
		APIURL:        s.fake.APIURL(),
	}
	if mod != nil {
		mod(&cfg)
	}
	s.edge = newSlackEdge(cfg, s.stub)
	mux := http.NewServeMux()
	s.edge.Routes(mux)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// post sends a request signed with slackTestSecret now and returns the status.
func (s *stubEdge) post(t *testing.T, path, contentType string, body []byte) int {
	t.Helper()
	req := slackfake.NewRequest(s.srv.URL+path, slackTestSecret, time.Now(), contentType, body)
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// slackCounter sums the samples of counter name whose label has value.
func slackCounter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
