package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/callytics/tracebot/bot/larkfake"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// The fuzz targets of this file feed arbitrary Lark deliveries to the real edge
// wired to the real bot (the sandbox tracer, a memory store, the Lambda fake behind
// Reprocess), answering into a fake Lark, with the canary secrets of
// lark_leak_test.go:
//   - FuzzLarkEvents and FuzzLarkCard post the fuzzed plaintext to POST /lark/events
//     and POST /lark/card over HTTP twice: plain with the verification token to an
//     edge without an encrypt key, and encrypted and signed with the key to an edge
//     that has one, so the input reaches the parsers behind the checks;
//   - FuzzLarkForged posts arbitrary bodies with arbitrary signature headers that
//     are not a valid signature to the edge with a key;
//   - FuzzLarkWSEvent hands the fuzzed payload to what the long connection calls
//     with an event's bytes: the edge's dispatcher's Do (larkws calls it for every
//     event frame; it checks no token, the connection itself is authenticated).
//
// After an input the bot's queue is drained; then:
//   - nothing panicked: not the handler (the server's error log, and the SDK's
//     recovery answers 500), not a job ("job panicked" in the logs), not Do;
//   - a delivery is answered 200, 400, 401 or 413 (413 exactly when the body is over
//     the limit), never 500; a forged one 400, 401 or 413, and nothing reaches Lark,
//     Lambda or the store;
//   - no canary secret is in an HTTP answer, the answer of Do, anything the fake
//     Lark or Lambda received (but the app secret where Lark needs it), the logs or
//     the metrics, unless the input itself carried it where the bot may quote it;
//   - every card the bot sends is one Lark accepts (JSON with elements, at most
//     larkfake.CardLimit, shared when patched, a uuid of at most 50 characters).
//
// One target runs so: go test ./bot -run '^$' -fuzz '^FuzzLarkEvents$' -fuzztime 60s
//
// The bots and edges are built once per fuzz target and shared by its iterations:
// larkHarness is one per test and each Bot and LarkEdge starts expirable-LRU
// goroutines that never end, which would pile up an iteration at a time. Every
// iteration gets a fresh fake Lark (the edge's transport takes the open API to it),
// and a reset bot (store, rate limits, recent traces, reprocess state, update
// limiters, logs), so an input means the same thing whenever it runs.

// Limits of the fuzz world.
const (
	larkFuzzAPIHost = "lark.test" // the edge's base URL; its transport takes it to the iteration's fake
	larkFuzzMaxBody = 16 << 10    // the edge's body limit, low enough for the fuzzer to cross
	larkFuzzSettle  = 10 * time.Second
	// larkFuzzUnpaced is how many of the messages the fake creates in an iteration
	// (om_fake0001, …) get an unlimited update limiter: the edge spaces updates of one
	// message by 250 ms, which would make each traced input last half a second.
	larkFuzzUnpaced = 32
	// larkFuzzCardChat and larkFuzzCardMsg are the chat and the bot's card (sent at
	// the start of every FuzzLarkCard iteration) that the click seeds click on.
	larkFuzzCardChat = "oc_support"
	larkFuzzCardMsg  = "om_fake0001"
	larkFuzzSession  = "s-abc123def456" // the sandbox's call for larkReport
)

// larkFuzzCanaries names the canary secrets.
var larkFuzzCanaries = map[string]string{
	larkCanaryAppSecret: "app secret", larkCanaryToken: "verification token", larkCanaryKey: "encrypt key",
}

// larkFuzzTransport is the edge's HTTP transport: the open API goes to the current
// iteration's fake Lark; anything else is refused and kept for the leak check, so
// nothing leaves loopback.
type larkFuzzTransport struct {
	base *http.Transport

	mu      sync.Mutex
	fake    string   // host:port of the current fake
	refused []string // URL, headers and body of each refused request
}

func (tr *larkFuzzTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == larkFuzzAPIHost {
		tr.mu.Lock()
		fake := tr.fake
		tr.mu.Unlock()
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = "http", fake, ""
		return tr.base.RoundTrip(req)
	}
	var body bytes.Buffer
	if req.Body != nil {
		_, _ = body.ReadFrom(req.Body)
		_ = req.Body.Close()
	}
	tr.mu.Lock()
	tr.refused = append(tr.refused, fmt.Sprintf("%s %s\n%v\n%s", req.Method, req.URL, req.Header, body.Bytes()))
	tr.mu.Unlock()
	return nil, fmt.Errorf("lark fuzz: %s is not reachable, only the fake Lark", req.URL.Host)
}

// use points the transport at fake and forgets the refused requests.
func (tr *larkFuzzTransport) use(fake *larkfake.Server) {
	u, _ := url.Parse(fake.URL())
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.fake, tr.refused = u.Host, nil
}

func (tr *larkFuzzTransport) refusedRequests() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.refused...)
}

// larkFuzzWorld is what the iterations of a fuzz target share: the real bot and
// Lark edge with the canary secrets, served over HTTP. Iterations run one at a time.
type larkFuzzWorld struct {
	key     string // the edge's encrypt key; "" → plain bodies
	bot     *Bot
	edge    *LarkEdge
	srv     *httptest.Server
	net     *larkFuzzTransport
	lambda  *lookuptest.LambdaServer
	logs    *larkLogBuffer
	srvErrs *larkLogBuffer // the HTTP server's error log: "http: panic serving …", superfluous WriteHeader calls
	metrics *prometheus.Registry
}

// newLarkFuzzWorld builds the bot and the edge as newLarkHarness does (with key as
// the encrypt key), for the life of tb, and runs Open against a fake Lark.
func newLarkFuzzWorld(tb testing.TB, key string) *larkFuzzWorld {
	tb.Helper()
	w := &larkFuzzWorld{key: key, net: &larkFuzzTransport{base: &http.Transport{}}, lambda: lookuptest.NewLambdaServer(tb),
		logs: &larkLogBuffer{}, srvErrs: &larkLogBuffer{}, metrics: prometheus.NewRegistry()}
	rp, err := lookup.NewReprocessor("lambda:call-analytics-prod-reprocess", "", w.lambda.Client(tb), nil)
	if err != nil {
		tb.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		tb.Fatal(err)
	}
	metrics := NewMetrics(w.metrics)
	sb := lookup.NewSandbox(0)
	w.bot = New(Config{
		Sample: true, Workers: 4, ProgressInterval: 5 * time.Millisecond,
		Now:          func() time.Time { return lookup.SandboxNow },
		ParseOptions: lookup.ParseOptions{DefaultZone: ny, Window: 2 * time.Hour, NoTimeLookback: 168 * time.Hour},
	}, Deps{Tracer: lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true}),
		Store: NewMemoryStore(nil), Reprocessor: rp, Metrics: metrics, Logger: w.logs.logger()})
	w.edge = NewLark(LarkConfig{
		AppID: "cli_test", AppSecret: larkStaticSecret(larkCanaryAppSecret), VerificationToken: larkStaticSecret(larkCanaryToken),
		EncryptKey: larkStaticSecret(key), BaseURL: "http://" + larkFuzzAPIHost, Mode: LarkModeWebhook,
		HTTPClient: &http.Client{Transport: w.net, Timeout: larkFuzzSettle},
		Logger:     w.logs.logger(), Metrics: metrics, MaxBodyBytes: larkFuzzMaxBody,
	}, w.bot)
	w.edge.retry = larkRetry{attempts: 3, baseDelay: time.Millisecond}
	w.net.use(larkFuzzFake(tb))
	ctx, cancel := context.WithTimeout(context.Background(), larkFuzzSettle)
	defer cancel()
	if err := w.edge.Open(ctx); err != nil {
		tb.Fatalf("Open: %v", err)
	}
	mux := http.NewServeMux()
	w.edge.Routes(mux)
	w.srv = httptest.NewUnstartedServer(mux)
	w.srv.Config.ErrorLog = log.New(w.srvErrs, "", 0)
	w.srv.Start()
	tb.Cleanup(func() {
		w.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), larkFuzzSettle)
		defer cancel()
		if err := w.bot.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		w.net.base.CloseIdleConnections()
	})
	return w
}

// larkFuzzFake is a fake Lark for the canary app, closed when tb ends.
func larkFuzzFake(tb testing.TB) *larkfake.Server {
	return larkfake.New(tb, larkfake.Options{AppID: "cli_test", AppSecret: larkCanaryAppSecret, BotOpenID: "ou_bot"})
}

// larkFuzzRun is one iteration: the harness view of the world for it (its fake
// Lark, its store, its answers) and what it fed in and got out.
type larkFuzzRun struct {
	w         *larkFuzzWorld
	h         *larkHarness
	inputs    [][]byte // a canary found in them where the bot may quote it is no leak
	outs      []string // answers of Do
	lambdaReq int      // Lambda requests before the iteration
	lambdaInv int      // Lambda invocations before the iteration
}

// start begins an iteration: a fresh fake Lark that knows the messages the inputs
// name, and nothing left in the bot or the edge by earlier inputs.
func (w *larkFuzzWorld) start(t *testing.T, inputs ...[]byte) *larkFuzzRun {
	t.Helper()
	fake := larkFuzzFake(t)
	w.net.use(fake)
	t.Cleanup(w.net.base.CloseIdleConnections) // they lead to this fake
	store := NewMemoryStore(nil)
	w.bot.deps.Store = store
	w.bot.limiters.Purge()
	w.bot.recent.Purge()
	w.bot.rpState.Purge()
	w.edge.limMu.Lock()
	w.edge.limiters.Purge()
	for i := 1; i <= larkFuzzUnpaced; i++ {
		w.edge.limiters.Add(fmt.Sprintf("om_fake%04d", i), rate.NewLimiter(rate.Inf, 1))
	}
	w.edge.limMu.Unlock()
	for _, b := range []*larkLogBuffer{w.logs, w.srvErrs} {
		b.mu.Lock()
		b.buf.Reset()
		b.mu.Unlock()
	}
	for _, in := range inputs {
		larkFuzzKnow(fake, in)
	}
	h := &larkHarness{fake: fake, edge: w.edge, bot: w.bot, store: store, lambda: w.lambda, srv: w.srv,
		logs: w.logs, token: larkCanaryToken, key: w.key}
	return &larkFuzzRun{w: w, h: h, inputs: inputs, lambdaReq: w.lambda.Requests(), lambdaInv: len(w.lambda.Invocations())}
}

// larkFuzzKnow records the user's message (and chat) an event or a click names in
// fake, so that the bot can answer in its thread as it would in Lark.
func larkFuzzKnow(fake *larkfake.Server, input []byte) {
	var ids struct {
		Event struct {
			Message struct {
				ID   string `json:"message_id"`
				Chat string `json:"chat_id"`
			} `json:"message"`
			Context struct {
				ID   string `json:"open_message_id"`
				Chat string `json:"open_chat_id"`
			} `json:"context"`
		} `json:"event"`
	}
	_ = json.Unmarshal(input, &ids) // what does not decode is not named
	for _, m := range [][2]string{{ids.Event.Message.Chat, ids.Event.Message.ID}, {ids.Event.Context.Chat, ids.Event.Context.ID}} {
		if _, known := fake.Message(m[1]); m[0] != "" && m[1] != "" && !known {
			fake.AddMessage(m[0], m[1])
		}
	}
}

// postCard makes the bot send the card the click seeds click on.
func (r *larkFuzzRun) postCard(t *testing.T) {
	t.Helper()
	ref, err := r.w.edge.Post(context.Background(), Ref{Channel: larkFuzzCardChat}, larkNotice("Call "+larkFuzzSession), "")
	if err != nil || ref.ID != larkFuzzCardMsg {
		t.Fatalf("post the card to click on: %+v, %v; want message %s", ref, err, larkFuzzCardMsg)
	}
}

// deliver posts plain to path as Lark would (encrypted and signed with the world's
// key, if any) and checks the answer's status.
func (r *larkFuzzRun) deliver(t *testing.T, path string, plain []byte) {
	t.Helper()
	req := larkfake.WebhookRequest(r.h.srv.URL+path, plain, r.w.key)
	size := req.ContentLength
	status, body := r.h.do(t, req)
	form := "plain"
	if r.w.key != "" {
		form = "encrypted and signed"
	}
	larkFuzzCheckStatus(t, "POST "+path+" ("+form+")", status, body, size, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized)
}

// larkFuzzCheckStatus fails unless status is one of ok, or 413 exactly when the
// body is over the limit.
func larkFuzzCheckStatus(t *testing.T, what string, status int, body string, size int64, ok ...int) {
	t.Helper()
	tooBig := size > larkFuzzMaxBody
	switch {
	case tooBig && status != http.StatusRequestEntityTooLarge:
		t.Errorf("%s: status %d for a %d-byte body (limit %d), want 413", what, status, size, larkFuzzMaxBody)
	case !tooBig && !slices.Contains(ok, status):
		t.Errorf("%s: status %d (%q), want one of %v", what, status, body, ok)
	}
}

// check drains the bot and checks the properties every input must keep.
func (r *larkFuzzRun) check(t *testing.T) {
	t.Helper()
	r.h.drain(t)
	if p := r.w.srvErrs.String(); p != "" {
		t.Errorf("the HTTP handler failed:\n%.3000s", p)
	}
	logs := r.w.logs.String()
	if strings.Contains(logs, "job panicked") {
		t.Errorf("a job panicked:\n%.3000s", logs)
	}
	requests := r.h.fake.Requests()
	for i, req := range requests {
		body := string(req.Body)
		if larkSecretUses[req.Path] {
			body = strings.ReplaceAll(body, larkCanaryAppSecret, "")
		}
		r.noCanary(t, fmt.Sprintf("request %d to Lark %s %s", i, req.Method, req.Path), fmt.Sprint(req.Header)+req.RawQuery+"\n"+body)
		if err := larkFuzzCheckSend(req); err != nil {
			t.Errorf("request %d to Lark %s %s: Lark would refuse it: %v\n%.2000s", i, req.Method, req.Path, err, req.Body)
		}
	}
	for i, inv := range r.w.lambda.Invocations()[r.lambdaInv:] {
		r.noCanary(t, fmt.Sprintf("Lambda invocation %d", i), inv.FunctionName+"\n"+string(inv.Payload))
	}
	for i, req := range r.w.net.refusedRequests() {
		t.Errorf("request %d went elsewhere than Lark: %.500s", i, req)
		r.noCanary(t, fmt.Sprintf("request %d to elsewhere", i), req)
	}
	for i, a := range r.h.answers {
		r.noCanary(t, fmt.Sprintf("HTTP answer %d", i), a)
	}
	for i, o := range r.outs {
		r.noCanary(t, fmt.Sprintf("answer %d of Do", i), o)
	}
	r.noCanary(t, "logs", logs)
	families, err := r.w.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	r.noCanary(t, "metrics", fmt.Sprint(families))
}

// noCanary fails when text holds a canary secret the inputs did not put where the
// bot may quote it.
func (r *larkFuzzRun) noCanary(t *testing.T, where, text string) {
	t.Helper()
	for c, name := range larkFuzzCanaries {
		if strings.Contains(text, c) && !r.injected(c) {
			t.Errorf("%s holds the %s:\n%.1000s", where, name, text)
		}
	}
}

// injected reports whether an input carries c where the bot may quote it: anywhere
// but as the value of a "token" key, where Lark puts the verification token (a
// fuzzed body that copied the token into a message's text is not blamed when the
// bot quotes the text). Strings holding JSON (a message's content, a button's
// value) are looked into.
func (r *larkFuzzRun) injected(c string) bool {
	for _, in := range r.inputs {
		var v any
		if json.Unmarshal(in, &v) != nil {
			if bytes.Contains(in, []byte(c)) {
				return true
			}
			continue
		}
		if larkFuzzHolds(v, c, 0) {
			return true
		}
	}
	return false
}

func larkFuzzHolds(v any, c string, depth int) bool {
	switch v := v.(type) {
	case string:
		var inner any
		return strings.Contains(v, c) || (depth < 8 && json.Unmarshal([]byte(v), &inner) == nil && larkFuzzHolds(inner, c, depth+1))
	case []any:
		for _, x := range v {
			if larkFuzzHolds(x, c, depth+1) {
				return true
			}
		}
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && s == c && strings.EqualFold(k, "token") {
				continue
			}
			if strings.Contains(k, c) || larkFuzzHolds(x, c, depth+1) {
				return true
			}
		}
	}
	return false
}

// larkFuzzCheckSend returns why Lark would refuse a message the bot sent or
// updated as malformed (whatever the input was), or nil.
func larkFuzzCheckSend(req larkfake.Request) error {
	if !strings.HasPrefix(req.Path, "/open-apis/im/v1/messages") {
		return nil
	}
	var in struct {
		MsgType string `json:"msg_type"`
		Content string `json:"content"`
		UUID    string `json:"uuid"`
	}
	if err := json.Unmarshal(req.Body, &in); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	patch := req.Method == http.MethodPatch
	card, err := larkfake.ParseCard(in.Content)
	switch {
	case !patch && in.MsgType != larkMsgTypeInteractive:
		return fmt.Errorf("msg_type %q, want a card", in.MsgType)
	case len(in.UUID) > larkMaxUUID:
		return fmt.Errorf("uuid of %d characters", len(in.UUID))
	case len(in.Content) > larkfake.CardLimit:
		return fmt.Errorf("card of %d bytes (limit %d)", len(in.Content), larkfake.CardLimit)
	case err != nil:
		return err
	case card.Elements == nil:
		return fmt.Errorf("card without elements")
	case patch && !card.Config.UpdateMulti:
		return fmt.Errorf("patched card is not shared (update_multi)")
	}
	return nil
}

// Seeds: real-shaped deliveries, built with larkfake's builders. None holds the
// app secret or the encrypt key; the ones Lark would accept carry the
// verification token where Lark puts it.

// larkFuzzDM is a direct message from ou_alice with text.
func larkFuzzDM(id, text string) larkfake.MessageEvent {
	return larkfake.MessageEvent{EventID: "ev-" + id, Token: larkCanaryToken, AppID: "cli_test", TenantKey: "tenant_fake",
		ChatID: "oc_dm_alice", ChatType: "p2p", MessageID: "om_user" + id, SenderOpenID: "ou_alice", Text: text,
		CreateTime: lookup.SandboxNow}
}

// larkFuzzGroup is a message in a group from ou_alice, with mentions.
func larkFuzzGroup(id, text string, mentions ...larkfake.Mention) larkfake.MessageEvent {
	e := larkFuzzDM(id, text)
	e.ChatID, e.ChatType, e.Mentions = "oc_group", "group", mentions
	return e
}

var (
	larkFuzzMentionBot = larkfake.Mention{Key: "@_user_1", OpenID: "ou_bot", Name: "tracebot"}
	larkFuzzMentionBob = larkfake.Mention{Key: "@_user_2", OpenID: "ou_bob", Name: "Bob"}
)

// larkFuzzMessageSeeds are im.message.receive_v1 events and other things Lark
// sends to the events URL.
func larkFuzzMessageSeeds() [][]byte {
	post := larkFuzzGroup("7", "", larkFuzzMentionBot)
	post.MessageType = "post"
	post.Content = `{"title":"call failed","content":[[{"tag":"at","user_id":"@_user_1"},{"tag":"text","text":" ` +
		larkReport + `"}],[{"tag":"a","text":"link","href":"https://example.com"}]]}`
	zhPost := larkFuzzDM("8", "")
	zhPost.MessageType = "post"
	zhPost.Content = `{"zh_cn":{"title":"","content":[[{"tag":"text","text":"5月20日下午1点15分 914-265-4371"}]]}}`
	fromApp := larkFuzzDM("9", larkReport)
	fromApp.SenderType = "app"
	image := larkFuzzDM("10", "")
	image.MessageType, image.Content = "image", `{"image_key":"img_v2_0"}`
	wrongToken := larkFuzzDM("11", larkReport)
	wrongToken.Token = "guessed-token"
	fromBot := larkFuzzDM("12", larkReport)
	fromBot.SenderOpenID = "ou_bot"
	return [][]byte{
		larkFuzzDM("1", larkReport).JSON(),
		larkFuzzDM("2", "/trace "+larkFuzzSession).JSON(),
		larkFuzzDM("3", "5月20日下午1点15分 914-265-4371").JSON(),
		larkFuzzDM("4", "gibberish").JSON(),
		larkFuzzGroup("5", "@_user_1 "+larkReport+" @_user_2", larkFuzzMentionBot, larkFuzzMentionBob).JSON(),
		larkFuzzGroup("6", "@_user_2 "+larkReport, larkFuzzMentionBob).JSON(),
		post.JSON(), zhPost.JSON(), fromApp.JSON(), image.JSON(), wrongToken.JSON(), fromBot.JSON(),
		larkfake.URLVerification(larkCanaryToken, "ch-4f2a"),
		larkfake.URLVerification("guessed-token", "ch-4f2a"),
		[]byte(`{"schema":"2.0","header":{"event_id":"ev-13","event_type":"im.chat.member.bot.added_v1","create_time":"1779300000000","token":"` +
			larkCanaryToken + `","app_id":"cli_test","tenant_key":"tenant_fake"},"event":{"chat_id":"oc_group"}}`),
		[]byte(`{"uuid":"ev-14","token":"` + larkCanaryToken + `","ts":"1779300000.0","type":"event_callback",` +
			`"event":{"type":"message","open_chat_id":"oc_dm_alice","open_id":"ou_alice","text":"` + larkReport + `"}}`),
		[]byte(`{"header":{"token":"` + larkCanaryToken + `"}}`),
		[]byte(`{}`),
		[]byte(`[]`),
		{},
	}
}

// larkFuzzClick is a click by user on the fuzz card with the button's value.
func larkFuzzClick(id, user string, value map[string]any) larkfake.CardAction {
	return larkfake.CardAction{EventID: "ev-click-" + id, Token: larkCanaryToken, AppID: "cli_test", TenantKey: "tenant_fake",
		OperatorOpenID: user, ChatID: larkFuzzCardChat, MessageID: larkFuzzCardMsg, Value: value, CardToken: "c-" + id}
}

// larkFuzzButton is a button's value carrying v as the bot encodes it.
func larkFuzzButton(v ActionValue) map[string]any { return map[string]any{larkValueKey: v.Encode()} }

// larkFuzzCardSeeds are card.action.trigger callbacks: clicks on each of the bot's
// buttons, and broken ones.
func larkFuzzCardSeeds() [][]byte {
	at := lookup.SandboxNow.Add(-2 * time.Hour)
	elsewhere := larkFuzzClick("9", "ou_alice", larkFuzzButton(ActionValue{Action: ActRefresh, SessionID: larkFuzzSession}))
	elsewhere.ChatID, elsewhere.MessageID = "oc_dm_alice", "om_user1"
	wrongToken := larkFuzzClick("10", "ou_bob", larkFuzzButton(ActionValue{Action: ActReprocess, SessionID: larkFuzzSession}))
	wrongToken.Token = "guessed-token"
	return [][]byte{
		larkFuzzClick("1", "ou_bob", larkFuzzButton(ActionValue{Action: ActReprocess, SessionID: larkFuzzSession,
			StoreID: "store-7", TraceID: "tr-1"})).JSON(),
		larkFuzzClick("2", "ou_alice", larkFuzzButton(ActionValue{Action: ActRefresh, SessionID: larkFuzzSession})).JSON(),
		larkFuzzClick("3", "ou_alice", larkFuzzButton(ActionValue{Action: ActTraceCall, SessionID: larkFuzzSession})).JSON(),
		larkFuzzClick("4", "ou_alice", larkFuzzButton(ActionValue{Action: ActWiden, Phone: "+19142654371", At: &at,
			Zone: "America/New_York", Direction: "inbound"})).JSON(),
		larkFuzzClick("5", "ou_alice", larkFuzzButton(ActionValue{Action: ActLastWeek, Phone: "+19142654371", Zone: "Asia/Shanghai"})).JSON(),
		larkFuzzClick("6", "ou_carol", larkFuzzButton(ActionValue{Action: ActEscalate, SessionID: larkFuzzSession, TraceID: "tr-1"})).JSON(),
		larkFuzzClick("7", "ou_alice", map[string]any{larkValueKey: `{"a":"no-such-action"}`}).JSON(),
		larkFuzzClick("8", "ou_alice", map[string]any{larkValueKey: map[string]any{"a": ActRefresh}}).JSON(),
		elsewhere.JSON(), wrongToken.JSON(),
		larkFuzzClick("11", "", nil).JSON(),
		larkfake.URLVerification(larkCanaryToken, "ch-card"),
		larkFuzzDM("12", larkReport).JSON(),
		[]byte(`{"schema":"2.0","header":{"event_type":"card.action.trigger","token":"` + larkCanaryToken + `"},"event":{}}`),
	}
}

// FuzzLarkEvents: arbitrary plaintext delivered to POST /lark/events.
func FuzzLarkEvents(f *testing.F) {
	for _, s := range append(larkFuzzMessageSeeds(), larkFuzzCardSeeds()[:2]...) {
		f.Add(s)
	}
	worlds := []*larkFuzzWorld{newLarkFuzzWorld(f, ""), newLarkFuzzWorld(f, larkCanaryKey)}
	f.Fuzz(func(t *testing.T, plain []byte) {
		for _, w := range worlds {
			r := w.start(t, plain)
			r.deliver(t, "/lark/events", plain)
			r.check(t)
		}
	})
}

// FuzzLarkCard: arbitrary plaintext delivered to POST /lark/card, after the bot
// sent the card the click seeds click on.
func FuzzLarkCard(f *testing.F) {
	for _, s := range append(larkFuzzCardSeeds(), larkFuzzMessageSeeds()[:1]...) {
		f.Add(s)
	}
	worlds := []*larkFuzzWorld{newLarkFuzzWorld(f, ""), newLarkFuzzWorld(f, larkCanaryKey)}
	f.Fuzz(func(t *testing.T, plain []byte) {
		for _, w := range worlds {
			r := w.start(t, plain)
			r.postCard(t)
			r.deliver(t, "/lark/card", plain)
			r.check(t)
		}
	})
}

// FuzzLarkForged: arbitrary bodies and signature headers that do not sign the body
// with the encrypt key are refused with 4xx and have no effect.
func FuzzLarkForged(f *testing.F) {
	genuine := larkFuzzDM("1", larkReport).JSON()
	good := larkfake.Encrypt(larkCanaryKey, genuine)
	otherKey := larkfake.Encrypt("guessed-key", genuine)
	click := larkfake.Encrypt(larkCanaryKey, larkFuzzCardSeeds()[0])
	badChallenge := larkfake.Encrypt(larkCanaryKey, larkfake.URLVerification("guessed-token", "ch-1"))
	const ts, nonce = "1779300000", "n0nce"
	for _, s := range []struct {
		body          []byte
		ts, nonce     string
		sig           string
		card          bool
		signWithOther bool
	}{
		{body: good, ts: ts, nonce: nonce, signWithOther: true},
		{body: good, ts: ts, nonce: nonce, sig: larkfake.Sign(ts, nonce, larkCanaryKey, otherKey)},
		{body: good, ts: ts, nonce: nonce},
		{body: good, ts: "1", nonce: nonce, sig: larkfake.Sign(ts, nonce, larkCanaryKey, good)},
		{body: otherKey, ts: ts, nonce: nonce, signWithOther: true},
		{body: click, ts: ts, nonce: nonce, card: true, sig: "00"},
		{body: click, card: true},
		{body: badChallenge},
		{body: badChallenge, card: true},
		{body: genuine, ts: ts, nonce: nonce, sig: larkfake.Sign(ts, nonce, "", genuine)},
		{body: []byte(`{"encrypt":"bm90IGEgY2lwaGVydGV4dA=="}`), sig: "v0=zz"},
		{body: []byte(`{"encrypt":""}`), ts: "x", nonce: "y", sig: "z"},
		{body: []byte("hello"), sig: strings.Repeat("0", 64)},
		{body: bytes.Repeat([]byte("x"), larkFuzzMaxBody+1), sig: "0"},
		{},
	} {
		sig := s.sig
		if s.signWithOther {
			sig = larkfake.Sign(s.ts, s.nonce, "guessed-key", s.body)
		}
		f.Add(s.body, s.ts, s.nonce, sig, s.card)
	}
	w := newLarkFuzzWorld(f, larkCanaryKey)
	f.Fuzz(func(t *testing.T, body []byte, ts, nonce, sig string, card bool) {
		headers := map[string]string{larkevent.EventRequestTimestamp: ts, larkevent.EventRequestNonce: nonce, larkevent.EventSignature: sig}
		for _, v := range headers {
			if !larkFuzzHeaderValue(v) {
				return // not something HTTP can carry
			}
		}
		ts, nonce, sig = larkFuzzTrim(ts), larkFuzzTrim(nonce), larkFuzzTrim(sig) // as the server reads them
		if sig == larkfake.Sign(ts, nonce, larkCanaryKey, body) || (sig == "" && larkFuzzAuthenticChallenge(body)) {
			return // genuine: only the key's holder can make it
		}
		path := "/lark/events"
		if card {
			path = "/lark/card"
		}
		r := w.start(t, body, []byte(ts), []byte(nonce), []byte(sig))
		status, answer := r.h.do(t, larkRequest(t, r.h.srv.URL+path, body, headers))
		larkFuzzCheckStatus(t, "forged POST "+path, status, answer, int64(len(body)), http.StatusBadRequest, http.StatusUnauthorized)
		r.check(t)
		if n := len(r.h.fake.Requests()); n != 0 {
			t.Errorf("a forged request made %d requests to Lark", n)
		}
		if n := r.w.lambda.Requests() - r.lambdaReq; n != 0 {
			t.Errorf("a forged request made %d requests to Lambda", n)
		}
		r.h.store.mu.Lock()
		deliveries, traces := len(r.h.store.deliveries), len(r.h.store.traces)
		r.h.store.mu.Unlock()
		if deliveries+traces != 0 {
			t.Errorf("a forged request reached the bot: %d deliveries, %d traces recorded", deliveries, traces)
		}
	})
}

// larkFuzzHeaderValue reports whether v can be sent as a header value
// (httpguts.ValidHeaderFieldValue: no control character but tab).
func larkFuzzHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// larkFuzzTrim trims a header value as net/http does on reading it.
func larkFuzzTrim(v string) string { return strings.Trim(v, " \t") }

// larkFuzzAuthenticChallenge reports whether body is a url_verification challenge
// with the verification token, encrypted with the key: Lark does not sign those.
func larkFuzzAuthenticChallenge(body []byte) bool {
	plain, status, _ := larkOpen(body, larkCanaryKey)
	var env larkevent.EventFuzzy
	if status != http.StatusOK || json.Unmarshal(plain, &env) != nil || larkevent.ReqType(env.Type) != larkevent.ReqTypeChallenge {
		return false
	}
	claimed := env.Token // where Lark puts the token: the header's, when there is one
	if env.Header != nil {
		claimed = env.Header.Token
	}
	return claimed == larkCanaryToken
}

// FuzzLarkWSEvent: arbitrary event payloads as the long connection hands them to
// the edge's dispatcher (larkws's handleDataFrame calls Do with a frame's payload).
func FuzzLarkWSEvent(f *testing.F) {
	for _, s := range append(larkFuzzMessageSeeds(), larkFuzzCardSeeds()...) {
		f.Add(s)
	}
	w := newLarkFuzzWorld(f, "")
	f.Fuzz(func(t *testing.T, payload []byte) {
		r := w.start(t, payload)
		r.postCard(t)
		ctx, cancel := context.WithTimeout(context.Background(), larkFuzzSettle)
		defer cancel()
		token, err := larkSecret(ctx, w.edge.cfg.VerificationToken, "verification token")
		if err != nil {
			t.Fatal(err)
		}
		key, err := larkSecret(ctx, w.edge.cfg.EncryptKey, "encrypt key")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := w.edge.eventDispatcher(token, key).Do(ctx, payload)
		if err != nil {
			r.outs = append(r.outs, err.Error())
		}
		if resp != nil {
			data, err := json.Marshal(resp)
			if err != nil {
				t.Errorf("the answer %#v does not encode: %v", resp, err)
			}
			r.outs = append(r.outs, string(data))
		}
		r.check(t)
	})
}
