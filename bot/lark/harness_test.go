package lark

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/lark/larkfake"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
	"github.com/callytics/tracebot/secrets"

	"github.com/callytics/tracebot/bot"
)

// harness is a bot with its Lark edge wired to a fake Lark, served over HTTP.
type harness struct {
	fake   *larkfake.Server
	edge   *Edge
	bot    *bot.Bot
	store  *state.Memory
	lambda *lookuptest.LambdaServer
	world  *lookuptest.ReportWorld // set when harnessOpts.reports
	srv    *httptest.Server
	logs   *bottest.Logs
	gate   *gatedTracer
	token  string // verification token
	key    string // encrypt key ("" → plain bodies)
	events atomic.Int64

	mu      sync.Mutex
	answers []string // every webhook answer, headers and body
}

type harnessOpts struct {
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
	reports       bool                 // answer reports from the report world over the wire fakes
}

// newLarkHarness builds the harness; the edge has run Open.
func newHarness(t *testing.T, o harnessOpts) *harness {
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
	h := &harness{token: o.token, key: o.encryptKey, logs: &bottest.Logs{}, store: state.NewMemory(nil)}
	h.fake = larkfake.New(t, larkfake.Options{AppID: "cli_test", AppSecret: o.appSecret, BotOpenID: "ou_bot"})
	sb := lookup.NewSandbox(o.sandboxDelay)
	svc := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true, Contents: sb.Contents, Analyses: sb.Analyses})
	var tracer bot.Tracer = svc
	if o.gated {
		h.gate = &gatedTracer{inner: tracer, open: make(chan struct{})}
		tracer = h.gate
	}
	deps := bot.Deps{Tracer: tracer, Contents: svc, Store: h.store, Logger: h.logs.Logger()}
	if !o.noReprocess {
		h.lambda = lookuptest.NewLambdaServer(t)
		rp, err := lookup.NewReprocessor("lambda:call-analytics-prod-reprocess", "", h.lambda.Client(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		deps.Reprocessor = rp
	}
	var metrics *bot.Metrics
	if o.registry != nil {
		metrics = bot.NewMetrics(o.registry)
	}
	deps.Metrics = metrics
	var reportOptions lookup.ReportParseOptions
	if o.reports {
		h.world = lookuptest.NewReportWorld(t)
		deps.Reporter = h.world.Engine(t, lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax})
		reportOptions = h.world.ParseOptions()
	}
	h.bot = bot.New(bot.Config{
		ReportParseOptions: reportOptions,
		Lang:               o.lang, Sandbox: true, Workers: 4, ProgressInterval: o.progressEvery,
		EscalationMention: o.escalation, ReprocessAllowed: o.allowed,
		Now:          func() time.Time { return lookup.SandboxNow },
		ParseOptions: lookup.ParseOptions{DefaultZone: bottest.ParseOptions(t).DefaultZone, Window: 2 * time.Hour, NoTimeLookback: 168 * time.Hour},
	}, deps)
	t.Cleanup(func() { _ = h.bot.Shutdown(context.Background()) })
	h.edge = New(Config{
		AppID: "cli_test", AppSecret: staticSecret(o.appSecret), VerificationToken: staticSecret(o.token),
		EncryptKey: staticSecret(o.encryptKey), BaseURL: h.fake.URL(), Mode: ModeWebhook, Lang: o.lang,
		Logger: h.logs.Logger(), Metrics: metrics,
	}, h.bot)
	h.edge.retry = retryPolicy{attempts: 3, baseDelay: time.Millisecond}
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

func staticSecret(v string) bot.SecretFunc {
	return func(context.Context) (secrets.Secret, error) { return secrets.New(v), nil }
}

// deliver sends event JSON to path as Lark would (encrypted and signed when the
// harness has an encrypt key) and returns the answer's status and body.
func (h *harness) deliver(t *testing.T, path string, event []byte) (int, string) {
	t.Helper()
	return h.do(t, larkfake.WebhookRequest(h.srv.URL+path, event, h.key))
}

func (h *harness) do(t *testing.T, req *http.Request) (int, string) {
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
func (h *harness) dm(user, text string) larkfake.MessageEvent {
	n := h.events.Add(1)
	chat, msg := "oc_dm_"+user, "om_user"+itoa(n)
	h.fake.AddMessage(chat, msg)
	h.fake.SetP2PChat(user, chat) // the bot's direct chat with user, where DMs land
	return larkfake.MessageEvent{EventID: "ev-" + itoa(n), Token: h.token, AppID: "cli_test", TenantKey: "tenant_fake",
		ChatID: chat, ChatType: "p2p", MessageID: msg, SenderOpenID: user, Text: text, CreateTime: lookup.SandboxNow}
}

// group is a group message event in chat from user, mentioning mentions.
func (h *harness) group(chat, user, text string, mentions ...larkfake.Mention) larkfake.MessageEvent {
	e := h.dm(user, text)
	e.ChatID, e.ChatType, e.Mentions = chat, "group", mentions
	h.fake.AddMessage(chat, e.MessageID)
	return e
}

// click is a card action on message msg in chat by user, with the button's value.
func (h *harness) click(chat, msg, user string, v bot.ActionValue) larkfake.CardAction {
	n := h.events.Add(1)
	return larkfake.CardAction{EventID: "ev-click-" + itoa(n), Token: h.token, AppID: "cli_test", TenantKey: "tenant_fake",
		OperatorOpenID: user, ChatID: chat, MessageID: msg, Value: map[string]any{valueKey: v.Encode()}}
}

// drain waits until the bot has no queued or running job.
func (h *harness) drain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := h.bot.Idle(ctx); err != nil {
		t.Fatalf("bot jobs did not finish: %v", err)
	}
}

// sentTo returns the bot's messages that reply to parent.
func (h *harness) sentTo(parent string) []larkfake.Message {
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
func (h *harness) traceDM(t *testing.T, user, text string) (larkfake.MessageEvent, larkfake.Message) {
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

// cardOf parses a message's current card.
func cardOf(t *testing.T, m larkfake.Message) larkfake.Card {
	t.Helper()
	c, err := larkfake.ParseCard(m.Content())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// buttonValue decodes a card button's ActionValue.
func buttonValue(t *testing.T, b larkfake.Button) bot.ActionValue {
	t.Helper()
	raw, _ := b.Value[valueKey].(string)
	v, err := bot.DecodeActionValue(raw)
	if err != nil {
		t.Fatalf("button %q: %v", b.Text.Content, err)
	}
	return v
}

// findButton returns the card's button for action, or fails.
func findButton(t *testing.T, c larkfake.Card, action string) bot.ActionValue {
	t.Helper()
	for _, b := range c.Buttons() {
		if b.Value != nil && buttonValue(t, b).Action == action {
			return buttonValue(t, b)
		}
	}
	t.Fatalf("no %s button in card:\n%s", action, c.Text())
	return bot.ActionValue{}
}

// toastOf reads the toast of a card action answer.
func toastOf(t *testing.T, body string) (kind, text string) {
	t.Helper()
	var out struct {
		Toast struct{ Type, Content string } `json:"toast"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("card action answer %q: %v", body, err)
	}
	return out.Toast.Type, out.Toast.Content
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// gatedTracer holds every trace until open is closed.
type gatedTracer struct {
	inner bot.Tracer
	open  chan struct{}
	once  sync.Once
}

func (g *gatedTracer) Trace(ctx context.Context, req lookup.Request, progress func(lookup.Progress)) *lookup.Trace {
	select {
	case <-g.open:
	case <-ctx.Done():
	}
	return g.inner.Trace(ctx, req, progress)
}

func (g *gatedTracer) release() { g.once.Do(func() { close(g.open) }) }
