package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/bot/larkfake"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
	"github.com/callytics/tracebot/secrets"
)

// larkHarness is a bot with its Lark edge wired to a fake Lark, served over HTTP.
type larkHarness struct {
	fake   *larkfake.Server
	edge   *LarkEdge
	bot    *Bot
	store  *MemoryStore
	lambda *lookuptest.LambdaServer
	srv    *httptest.Server
	logs   *larkLogBuffer
	gate   *larkGatedTracer
	token  string // verification token
	key    string // encrypt key ("" → plain bodies)
	events atomic.Int64

	mu      sync.Mutex
	answers []string // every webhook answer, headers and body
}

type larkHarnessOpts struct {
	lang          string
	encryptKey    string
	appSecret     string // "" → a unique one
	token         string // "" → "verify-token"
	sandboxDelay  time.Duration
	noReprocess   bool
	gated         bool // the tracer waits for gate.open
	allowed       []string
	escalation    string
	progressEvery time.Duration
	registry      *prometheus.Registry // set: the edge records metrics there
}

// newLarkHarness builds the harness; the edge has run Open.
func newLarkHarness(t *testing.T, o larkHarnessOpts) *larkHarness {
	t.Helper()
	if o.appSecret == "" {
		o.appSecret = "app-secret-" + strings.ReplaceAll(t.Name(), "/", "-")
	}
	if o.token == "" {
		o.token = "verify-token"
	}
	if o.progressEvery == 0 {
		o.progressEvery = 5 * time.Millisecond
	}
	h := &larkHarness{token: o.token, key: o.encryptKey, logs: &larkLogBuffer{}, store: NewMemoryStore(nil)}
	h.fake = larkfake.New(t, larkfake.Options{AppID: "cli_test", AppSecret: o.appSecret, BotOpenID: "ou_bot"})
	sb := lookup.NewSandbox(o.sandboxDelay)
	var tracer Tracer = lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true})
	if o.gated {
		h.gate = &larkGatedTracer{inner: tracer, open: make(chan struct{})}
		tracer = h.gate
	}
	deps := Deps{Tracer: tracer, Store: h.store, Logger: h.logs.logger()}
	if !o.noReprocess {
		h.lambda = lookuptest.NewLambdaServer(t)
		rp, err := lookup.NewReprocessor("lambda:call-analytics-prod-reprocess", "", h.lambda.Client(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		deps.Reprocessor = rp
	}
	h.bot = New(Config{
		Lang: o.lang, Sample: true, Workers: 4, ProgressInterval: o.progressEvery,
		EscalationMention: o.escalation, ReprocessAllowed: o.allowed,
		Now:          func() time.Time { return lookup.SandboxNow },
		ParseOptions: lookup.ParseOptions{DefaultZone: mustZone(t, "America/New_York"), Window: 2 * time.Hour, NoTimeLookback: 168 * time.Hour},
	}, deps)
	t.Cleanup(func() { _ = h.bot.Shutdown(context.Background()) })
	var metrics *Metrics
	if o.registry != nil {
		metrics = NewMetrics(o.registry)
	}
	h.edge = NewLark(LarkConfig{
		AppID: "cli_test", AppSecret: larkStaticSecret(o.appSecret), VerificationToken: larkStaticSecret(o.token),
		EncryptKey: larkStaticSecret(o.encryptKey), BaseURL: h.fake.URL(), Mode: LarkModeWebhook, Lang: o.lang,
		Logger: h.logs.logger(), Metrics: metrics,
	}, h.bot)
	h.edge.retry = larkRetry{attempts: 3, baseDelay: time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.edge.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	mux := http.NewServeMux()
	h.edge.Routes(mux)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

func larkStaticSecret(v string) SecretFunc {
	return func(context.Context) (secrets.Secret, error) { return secrets.New(v), nil }
}

// deliver sends event JSON to path as Lark would (encrypted and signed when the
// harness has an encrypt key) and returns the answer's status and body.
func (h *larkHarness) deliver(t *testing.T, path string, event []byte) (int, string) {
	t.Helper()
	return h.do(t, larkfake.WebhookRequest(h.srv.URL+path, event, h.key))
}

func (h *larkHarness) do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	h.mu.Lock()
	h.answers = append(h.answers, fmt.Sprint(resp.Header)+"\n"+string(body))
	h.mu.Unlock()
	return resp.StatusCode, string(body)
}

// dm is a direct message event from user with text, whose message the fake knows.
func (h *larkHarness) dm(user, text string) larkfake.MessageEvent {
	n := h.events.Add(1)
	chat, msg := "oc_dm_"+user, "om_user"+larkItoa(n)
	h.fake.AddMessage(chat, msg)
	return larkfake.MessageEvent{EventID: "ev-" + larkItoa(n), Token: h.token, AppID: "cli_test", TenantKey: "tenant_fake",
		ChatID: chat, ChatType: "p2p", MessageID: msg, SenderOpenID: user, Text: text, CreateTime: lookup.SandboxNow}
}

// group is a group message event in chat from user, mentioning mentions.
func (h *larkHarness) group(chat, user, text string, mentions ...larkfake.Mention) larkfake.MessageEvent {
	e := h.dm(user, text)
	e.ChatID, e.ChatType, e.Mentions = chat, "group", mentions
	h.fake.AddMessage(chat, e.MessageID)
	return e
}

// click is a card action on message msg in chat by user, with the button's value.
func (h *larkHarness) click(chat, msg, user string, v ActionValue) larkfake.CardAction {
	n := h.events.Add(1)
	return larkfake.CardAction{EventID: "ev-click-" + larkItoa(n), Token: h.token, AppID: "cli_test", TenantKey: "tenant_fake",
		OperatorOpenID: user, ChatID: chat, MessageID: msg, Value: map[string]any{larkValueKey: v.Encode()}}
}

// drain waits until the bot has no queued or running job.
func (h *larkHarness) drain(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() { h.bot.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("bot jobs did not finish")
	}
}

// sentTo returns the bot's messages that reply to parent.
func (h *larkHarness) sentTo(parent string) []larkfake.Message {
	var out []larkfake.Message
	for _, m := range h.fake.Sent() {
		if m.ParentID == parent {
			out = append(out, m)
		}
	}
	return out
}

// traceDM runs a DM trace of text by user to the end and returns the result card
// message (the progress message, updated in place).
func (h *larkHarness) traceDM(t *testing.T, user, text string) (larkfake.MessageEvent, larkfake.Message) {
	t.Helper()
	ev := h.dm(user, text)
	if status, body := h.deliver(t, "/lark/events", ev.JSON()); status != http.StatusOK {
		t.Fatalf("deliver: %d %s", status, body)
	}
	h.drain(t)
	sent := h.sentTo(ev.MessageID)
	if len(sent) == 0 {
		t.Fatalf("no reply to %s; sent: %+v; logs:\n%s", ev.MessageID, h.fake.Sent(), h.logs)
	}
	return ev, sent[0]
}

// larkCardOf parses a message's current card.
func larkCardOf(t *testing.T, m larkfake.Message) larkfake.Card {
	t.Helper()
	c, err := larkfake.ParseCard(m.Content())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// larkButtonValue decodes a card button's ActionValue.
func larkButtonValue(t *testing.T, b larkfake.Button) ActionValue {
	t.Helper()
	raw, _ := b.Value[larkValueKey].(string)
	v, err := DecodeActionValue(raw)
	if err != nil {
		t.Fatalf("button %q: %v", b.Text.Content, err)
	}
	return v
}

// larkFindButton returns the card's button for action, or fails.
func larkFindButton(t *testing.T, c larkfake.Card, action string) ActionValue {
	t.Helper()
	for _, b := range c.Buttons() {
		if b.Value != nil && larkButtonValue(t, b).Action == action {
			return larkButtonValue(t, b)
		}
	}
	t.Fatalf("no %s button in card:\n%s", action, c.Text())
	return ActionValue{}
}

// larkToastOf reads the toast of a card action answer.
func larkToastOf(t *testing.T, body string) (kind, text string) {
	t.Helper()
	var out struct {
		Toast struct{ Type, Content string } `json:"toast"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("card action answer %q: %v", body, err)
	}
	return out.Toast.Type, out.Toast.Content
}

func larkItoa(n int64) string { return strconv.FormatInt(n, 10) }

// larkGatedTracer holds every trace until open is closed.
type larkGatedTracer struct {
	inner Tracer
	open  chan struct{}
	once  sync.Once
}

func (g *larkGatedTracer) Trace(ctx context.Context, req lookup.Request, progress func(lookup.Progress)) *lookup.Trace {
	select {
	case <-g.open:
	case <-ctx.Done():
	}
	return g.inner.Trace(ctx, req, progress)
}

func (g *larkGatedTracer) release() { g.once.Do(func() { close(g.open) }) }

// larkLogBuffer collects logs (every level) for assertions.
type larkLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *larkLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *larkLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *larkLogBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
