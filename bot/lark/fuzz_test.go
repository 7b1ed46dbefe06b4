package lark

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
	"sync/atomic"
	"testing"
	"time"

	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/lark/larkfake"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"

	"github.com/callytics/tracebot/bot"
)

// The fuzz targets of this file feed arbitrary Lark deliveries to the real edge
// wired to the real bot (the sandbox tracer, a memory store, the Lambda fake behind
// Reprocess), answering into a fake Lark, with the canary secrets of
// leak_test.go:
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
// One target runs so: go test ./bot/lark -run '^$' -fuzz '^FuzzEvents$' -fuzztime 60s
//
// Every input gets a fresh fake Lark (the edge's transport takes the open API to
// it), bot, edge, store, logs and metrics, so it means the same thing whenever it
// runs; the bot is shut down after it (nothing of the bot or the edge outlives
// that: TestShutdownLeavesNoGoroutine), so the iterations pile nothing up.

// Limits of the fuzz world.
const (
	fuzzAPIHost = "lark.test" // the edge's base URL; its transport takes it to the iteration's fake
	fuzzMaxBody = 16 << 10    // the edge's body limit, low enough for the fuzzer to cross
	fuzzSettle  = 10 * time.Second
	// fuzzUnpaced is how many of the messages the fake creates in an iteration
	// (om_fake0001, …) get an unlimited update limiter: the edge spaces updates of one
	// message by 250 ms, which would make each traced input last half a second.
	fuzzUnpaced = 32
	// fuzzCardChat and fuzzCardMsg are the chat and the bot's card (sent at
	// the start of every FuzzLarkCard iteration) that the click seeds click on.
	fuzzCardChat = "oc_support"
	fuzzCardMsg  = "om_fake0001"
	fuzzSession  = "s-abc123def456" // the sandbox's call for testReport
)

// fuzzCanaries names the canary secrets.
var fuzzCanaries = map[string]string{
	canaryAppSecret: "app secret", canaryToken: "verification token", canaryKey: "encrypt key",
}

// fuzzTransport is the edge's HTTP transport: the open API goes to the current
// iteration's fake Lark; anything else is refused and kept for the leak check, so
// nothing leaves loopback.
type fuzzTransport struct {
	base *http.Transport

	mu      sync.Mutex
	fake    string   // host:port of the current fake
	refused []string // URL, headers and body of each refused request
}

func (tr *fuzzTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == fuzzAPIHost {
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
func (tr *fuzzTransport) use(fake *larkfake.Server) {
	u, _ := url.Parse(fake.URL())
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.fake, tr.refused = u.Host, nil
}

func (tr *fuzzTransport) refusedRequests() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.refused...)
}

// fuzzWorld is what the iterations of a fuzz target share: the Lambda fake behind
// Reprocess, the edges' transport, and the HTTP server in front of the current
// iteration's edge. Everything else is built afresh for each input
// (fuzzWorld.start). Iterations run one at a time.
type fuzzWorld struct {
	key     string // the edges' encrypt key; "" → plain bodies
	srv     *httptest.Server
	routes  atomic.Pointer[http.ServeMux] // the current iteration's edge
	net     *fuzzTransport
	lambda  *lookuptest.LambdaServer
	srvErrs *bottest.Logs // the HTTP server's error log: "http: panic serving …", superfluous WriteHeader calls
}

// newFuzzWorld starts what the iterations share, for the life of tb.
func newFuzzWorld(tb testing.TB, key string) *fuzzWorld {
	tb.Helper()
	w := &fuzzWorld{key: key, net: &fuzzTransport{base: &http.Transport{}}, lambda: lookuptest.NewLambdaServer(tb),
		srvErrs: &bottest.Logs{}}
	w.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		w.routes.Load().ServeHTTP(rw, req)
	}))
	w.srv.Config.ErrorLog = log.New(w.srvErrs, "", 0)
	w.srv.Start()
	tb.Cleanup(func() {
		w.srv.Close()
		w.net.base.CloseIdleConnections()
	})
	return w
}

// fuzzFake is a fake Lark for the canary app, closed when tb ends.
func fuzzFake(tb testing.TB) *larkfake.Server {
	return larkfake.New(tb, larkfake.Options{AppID: "cli_test", AppSecret: canaryAppSecret, BotOpenID: "ou_bot"})
}

// fuzzRun is one iteration: the harness view of it (a fresh fake Lark, bot, edge
// and store, as newHarness builds them but with the canary secrets and the edge
// knowing its open_id without a call), and what it fed in and got out.
type fuzzRun struct {
	w         *fuzzWorld
	h         *harness
	store     *countingStore
	metrics   *prometheus.Registry
	inputs    [][]byte // a canary found in them where the bot may quote it is no leak
	outs      []string // answers of Do
	lambdaReq int      // Lambda requests before the iteration
	lambdaInv int      // Lambda invocations before the iteration
}

// start begins an iteration with a new bot and edge, so nothing earlier inputs
// did (deliveries, rate limits, recent traces, reprocess state, update limiters,
// logs) changes what this one means; the fake knows the messages the inputs name.
func (w *fuzzWorld) start(t *testing.T, inputs ...[]byte) *fuzzRun {
	t.Helper()
	fake := fuzzFake(t)
	w.net.use(fake)
	t.Cleanup(w.net.base.CloseIdleConnections) // they lead to this fake
	r := &fuzzRun{w: w, store: &countingStore{Memory: state.NewMemory(nil)}, metrics: prometheus.NewRegistry(),
		inputs: inputs, lambdaReq: w.lambda.Requests(), lambdaInv: len(w.lambda.Invocations())}
	logs := &bottest.Logs{}
	w.srvErrs.Reset()
	rp, err := lookup.NewReprocessor("lambda:call-analytics-prod-reprocess", "", w.lambda.Client(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	metrics := bot.NewMetrics(r.metrics)
	sb := lookup.NewSandbox(0)
	b := bot.New(bot.Config{
		Sandbox: true, Workers: 4, ProgressInterval: 5 * time.Millisecond,
		Now: func() time.Time { return lookup.SandboxNow }, ParseOptions: bottest.ParseOptions(t),
	}, bot.Deps{Tracer: lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true}),
		Store: r.store, Reprocessor: rp, Metrics: metrics, Logger: logs.Logger()})
	edge := New(Config{
		AppID: "cli_test", AppSecret: staticSecret(canaryAppSecret), VerificationToken: staticSecret(canaryToken),
		EncryptKey: staticSecret(w.key), BaseURL: "http://" + fuzzAPIHost, Mode: ModeWebhook,
		HTTPClient: &http.Client{Transport: w.net, Timeout: fuzzSettle},
		Logger:     logs.Logger(), Metrics: metrics, MaxBodyBytes: fuzzMaxBody,
	}, b)
	edge.retry = retryPolicy{attempts: 3, baseDelay: time.Millisecond}
	edge.self.Store(&identity{OpenID: "ou_bot", Name: "tracebot"})
	for i := 1; i <= fuzzUnpaced; i++ {
		edge.limiters.Add(fmt.Sprintf("om_fake%04d", i), rate.NewLimiter(rate.Inf, 1))
	}
	mux := http.NewServeMux()
	edge.Routes(mux)
	w.routes.Store(mux)
	for _, in := range inputs {
		fuzzKnow(fake, in)
	}
	r.h = &harness{fake: fake, edge: edge, bot: b, store: r.store.Memory, lambda: w.lambda, srv: w.srv,
		logs: logs, token: canaryToken, key: w.key}
	t.Cleanup(func() { r.settle(t) }) // a target that returned early leaves nothing running
	return r
}

// settle waits until everything the input started is over, and shuts the bot down,
// which leaves no goroutine of its behind.
func (r *fuzzRun) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fuzzSettle)
	defer cancel()
	if err := r.h.bot.Shutdown(ctx); err != nil {
		t.Fatalf("the bot's work still runs after %s: %v", fuzzSettle, err)
	}
}

// countingStore counts what reaches the bot's store.
type countingStore struct {
	*state.Memory
	claims, traces atomic.Int64
}

func (s *countingStore) ClaimDelivery(ctx context.Context, platform, id string, ttl time.Duration) (bool, error) {
	s.claims.Add(1)
	return s.Memory.ClaimDelivery(ctx, platform, id, ttl)
}

func (s *countingStore) RecordTrace(ctx context.Context, rec state.TraceRecord) error {
	s.traces.Add(1)
	return s.Memory.RecordTrace(ctx, rec)
}

// fuzzKnow records the user's message (and chat) an event or a click names in
// fake, so that the bot can answer in its thread as it would in Lark.
func fuzzKnow(fake *larkfake.Server, input []byte) {
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
func (r *fuzzRun) postCard(t *testing.T) {
	t.Helper()
	ref, err := r.h.edge.Post(context.Background(), bot.Ref{Channel: fuzzCardChat}, notice("Call "+fuzzSession), "")
	if err != nil || ref.ID != fuzzCardMsg {
		t.Fatalf("post the card to click on: %+v, %v; want message %s", ref, err, fuzzCardMsg)
	}
}

// deliver posts plain to path as Lark would (encrypted and signed with the world's
// key, if any) and checks the answer's status.
func (r *fuzzRun) deliver(t *testing.T, path string, plain []byte) {
	t.Helper()
	req := larkfake.WebhookRequest(r.h.srv.URL+path, plain, r.w.key)
	size := req.ContentLength
	status, body := r.h.do(t, req)
	form := "plain"
	if r.w.key != "" {
		form = "encrypted and signed"
	}
	fuzzCheckStatus(t, "POST "+path+" ("+form+")", status, body, size, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized)
}

// fuzzCheckStatus fails unless status is one of ok, or 413 exactly when the
// body is over the limit.
func fuzzCheckStatus(t *testing.T, what string, status int, body string, size int64, ok ...int) {
	t.Helper()
	tooBig := size > fuzzMaxBody
	switch {
	case tooBig && status != http.StatusRequestEntityTooLarge:
		t.Errorf("%s: status %d for a %d-byte body (limit %d), want 413", what, status, size, fuzzMaxBody)
	case !tooBig && !slices.Contains(ok, status):
		t.Errorf("%s: status %d (%q), want one of %v", what, status, body, ok)
	}
}

// check drains the bot and checks the properties every input must keep.
func (r *fuzzRun) check(t *testing.T) {
	t.Helper()
	r.h.drain(t)
	if p := r.w.srvErrs.String(); p != "" {
		t.Errorf("the HTTP handler failed:\n%.3000s", p)
	}
	logs := r.h.logs.String()
	if strings.Contains(logs, "job panicked") {
		t.Errorf("a job panicked:\n%.3000s", logs)
	}
	requests := r.h.fake.Requests()
	for i, req := range requests {
		body := string(req.Body)
		if secretUses[req.Path] {
			body = strings.ReplaceAll(body, canaryAppSecret, "")
		}
		r.noCanary(t, fmt.Sprintf("request %d to Lark %s %s", i, req.Method, req.Path), fmt.Sprint(req.Header)+req.RawQuery+"\n"+body)
		if err := fuzzCheckSend(req); err != nil {
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
	families, err := r.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	r.noCanary(t, "metrics", fmt.Sprint(families))
}

// noCanary fails when text holds a canary secret the inputs did not put where the
// bot may quote it.
func (r *fuzzRun) noCanary(t *testing.T, where, text string) {
	t.Helper()
	for c, name := range fuzzCanaries {
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
func (r *fuzzRun) injected(c string) bool {
	for _, in := range r.inputs {
		var v any
		if json.Unmarshal(in, &v) != nil {
			if bytes.Contains(in, []byte(c)) {
				return true
			}
			continue
		}
		if fuzzHolds(v, c, 0) {
			return true
		}
	}
	return false
}

func fuzzHolds(v any, c string, depth int) bool {
	switch v := v.(type) {
	case string:
		var inner any
		return strings.Contains(v, c) || (depth < 8 && json.Unmarshal([]byte(v), &inner) == nil && fuzzHolds(inner, c, depth+1))
	case []any:
		for _, x := range v {
			if fuzzHolds(x, c, depth+1) {
				return true
			}
		}
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && s == c && strings.EqualFold(k, "token") {
				continue
			}
			if strings.Contains(k, c) || fuzzHolds(x, c, depth+1) {
				return true
			}
		}
	}
	return false
}

// fuzzCheckSend returns why Lark would refuse a message the bot sent or
// updated as malformed (whatever the input was), or nil.
func fuzzCheckSend(req larkfake.Request) error {
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
	case !patch && in.MsgType != msgTypeInteractive:
		return fmt.Errorf("msg_type %q, want a card", in.MsgType)
	case len(in.UUID) > maxUUID:
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

// fuzzDM is a direct message from ou_alice with text.
func fuzzDM(id, text string) larkfake.MessageEvent {
	return larkfake.MessageEvent{EventID: "ev-" + id, Token: canaryToken, AppID: "cli_test", TenantKey: "tenant_fake",
		ChatID: "oc_dm_alice", ChatType: "p2p", MessageID: "om_user" + id, SenderOpenID: "ou_alice", Text: text,
		CreateTime: lookup.SandboxNow}
}

// fuzzGroup is a message in a group from ou_alice, with mentions.
func fuzzGroup(id, text string, mentions ...larkfake.Mention) larkfake.MessageEvent {
	e := fuzzDM(id, text)
	e.ChatID, e.ChatType, e.Mentions = "oc_group", "group", mentions
	return e
}

var (
	fuzzMentionBot = larkfake.Mention{Key: "@_user_1", OpenID: "ou_bot", Name: "tracebot"}
	fuzzMentionBob = larkfake.Mention{Key: "@_user_2", OpenID: "ou_bob", Name: "Bob"}
)

// fuzzMessageSeeds are im.message.receive_v1 events and other things Lark
// sends to the events URL.
func fuzzMessageSeeds() [][]byte {
	post := fuzzGroup("7", "", fuzzMentionBot)
	post.MessageType = "post"
	post.Content = `{"title":"call failed","content":[[{"tag":"at","user_id":"@_user_1"},{"tag":"text","text":" ` +
		testReport + `"}],[{"tag":"a","text":"link","href":"https://example.com"}]]}`
	zhPost := fuzzDM("8", "")
	zhPost.MessageType = "post"
	zhPost.Content = `{"zh_cn":{"title":"","content":[[{"tag":"text","text":"5月20日下午1点15分 914-265-4371"}]]}}`
	fromApp := fuzzDM("9", testReport)
	fromApp.SenderType = "app"
	image := fuzzDM("10", "")
	image.MessageType, image.Content = "image", `{"image_key":"img_v2_0"}`
	wrongToken := fuzzDM("11", testReport)
	wrongToken.Token = "guessed-token"
	fromBot := fuzzDM("12", testReport)
	fromBot.SenderOpenID = "ou_bot"
	return [][]byte{
		fuzzDM("1", testReport).JSON(),
		fuzzDM("2", "/trace "+fuzzSession).JSON(),
		fuzzDM("3", "5月20日下午1点15分 914-265-4371").JSON(),
		fuzzDM("4", "gibberish").JSON(),
		fuzzGroup("5", "@_user_1 "+testReport+" @_user_2", fuzzMentionBot, fuzzMentionBob).JSON(),
		fuzzGroup("6", "@_user_2 "+testReport, fuzzMentionBob).JSON(),
		post.JSON(), zhPost.JSON(), fromApp.JSON(), image.JSON(), wrongToken.JSON(), fromBot.JSON(),
		larkfake.URLVerification(canaryToken, "ch-4f2a"),
		larkfake.URLVerification("guessed-token", "ch-4f2a"),
		[]byte(`{"schema":"2.0","header":{"event_id":"ev-13","event_type":"im.chat.member.bot.added_v1","create_time":"1779300000000","token":"` +
			canaryToken + `","app_id":"cli_test","tenant_key":"tenant_fake"},"event":{"chat_id":"oc_group"}}`),
		[]byte(`{"uuid":"ev-14","token":"` + canaryToken + `","ts":"1779300000.0","type":"event_callback",` +
			`"event":{"type":"message","open_chat_id":"oc_dm_alice","open_id":"ou_alice","text":"` + testReport + `"}}`),
		[]byte(`{"header":{"token":"` + canaryToken + `"}}`),
		[]byte(`{}`),
		[]byte(`[]`),
		{},
	}
}

// fuzzClick is a click by user on the fuzz card with the button's value.
func fuzzClick(id, user string, value map[string]any) larkfake.CardAction {
	return larkfake.CardAction{EventID: "ev-click-" + id, Token: canaryToken, AppID: "cli_test", TenantKey: "tenant_fake",
		OperatorOpenID: user, ChatID: fuzzCardChat, MessageID: fuzzCardMsg, Value: value, CardToken: "c-" + id}
}

// fuzzButton is a button's value carrying v as the bot encodes it.
func fuzzButton(v bot.ActionValue) map[string]any { return map[string]any{valueKey: v.Encode()} }

// fuzzCardSeeds are card.action.trigger callbacks: clicks on each of the bot's
// buttons, and broken ones.
func fuzzCardSeeds() [][]byte {
	at := lookup.SandboxNow.Add(-2 * time.Hour)
	elsewhere := fuzzClick("9", "ou_alice", fuzzButton(bot.ActionValue{Action: bot.ActRefresh, SessionID: fuzzSession}))
	elsewhere.ChatID, elsewhere.MessageID = "oc_dm_alice", "om_user1"
	wrongToken := fuzzClick("10", "ou_bob", fuzzButton(bot.ActionValue{Action: bot.ActReprocess, SessionID: fuzzSession}))
	wrongToken.Token = "guessed-token"
	return [][]byte{
		fuzzClick("1", "ou_bob", fuzzButton(bot.ActionValue{Action: bot.ActReprocess, SessionID: fuzzSession,
			StoreID: "store-7", TraceID: "tr-1"})).JSON(),
		fuzzClick("2", "ou_alice", fuzzButton(bot.ActionValue{Action: bot.ActRefresh, SessionID: fuzzSession})).JSON(),
		fuzzClick("3", "ou_alice", fuzzButton(bot.ActionValue{Action: bot.ActTraceCall, SessionID: fuzzSession})).JSON(),
		fuzzClick("4", "ou_alice", fuzzButton(bot.ActionValue{Action: bot.ActWiden, Phone: "+19142654371", At: &at,
			Zone: "America/New_York", Direction: "inbound"})).JSON(),
		fuzzClick("5", "ou_alice", fuzzButton(bot.ActionValue{Action: bot.ActLastWeek, Phone: "+19142654371", Zone: "Asia/Shanghai"})).JSON(),
		fuzzClick("6", "ou_carol", fuzzButton(bot.ActionValue{Action: bot.ActEscalate, SessionID: fuzzSession, TraceID: "tr-1"})).JSON(),
		fuzzClick("7", "ou_alice", map[string]any{valueKey: `{"a":"no-such-action"}`}).JSON(),
		fuzzClick("8", "ou_alice", map[string]any{valueKey: map[string]any{"a": bot.ActRefresh}}).JSON(),
		elsewhere.JSON(), wrongToken.JSON(),
		fuzzClick("11", "", nil).JSON(),
		larkfake.URLVerification(canaryToken, "ch-card"),
		fuzzDM("12", testReport).JSON(),
		[]byte(`{"schema":"2.0","header":{"event_type":"card.action.trigger","token":"` + canaryToken + `"},"event":{}}`),
	}
}

// FuzzLarkEvents: arbitrary plaintext delivered to POST /lark/events.
func FuzzEvents(f *testing.F) {
	for _, s := range append(fuzzMessageSeeds(), fuzzCardSeeds()[:2]...) {
		f.Add(s)
	}
	worlds := []*fuzzWorld{newFuzzWorld(f, ""), newFuzzWorld(f, canaryKey)}
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
func FuzzCard(f *testing.F) {
	for _, s := range append(fuzzCardSeeds(), fuzzMessageSeeds()[:1]...) {
		f.Add(s)
	}
	worlds := []*fuzzWorld{newFuzzWorld(f, ""), newFuzzWorld(f, canaryKey)}
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
func FuzzForged(f *testing.F) {
	genuine := fuzzDM("1", testReport).JSON()
	good := larkfake.Encrypt(canaryKey, genuine)
	otherKey := larkfake.Encrypt("guessed-key", genuine)
	click := larkfake.Encrypt(canaryKey, fuzzCardSeeds()[0])
	badChallenge := larkfake.Encrypt(canaryKey, larkfake.URLVerification("guessed-token", "ch-1"))
	const ts, nonce = "1779300000", "n0nce"
	for _, s := range []struct {
		body          []byte
		ts, nonce     string
		sig           string
		card          bool
		signWithOther bool
	}{
		{body: good, ts: ts, nonce: nonce, signWithOther: true},
		{body: good, ts: ts, nonce: nonce, sig: larkfake.Sign(ts, nonce, canaryKey, otherKey)},
		{body: good, ts: ts, nonce: nonce},
		{body: good, ts: "1", nonce: nonce, sig: larkfake.Sign(ts, nonce, canaryKey, good)},
		{body: otherKey, ts: ts, nonce: nonce, signWithOther: true},
		{body: click, ts: ts, nonce: nonce, card: true, sig: "00"},
		{body: click, card: true},
		{body: badChallenge},
		{body: badChallenge, card: true},
		{body: genuine, ts: ts, nonce: nonce, sig: larkfake.Sign(ts, nonce, "", genuine)},
		{body: []byte(`{"encrypt":"bm90IGEgY2lwaGVydGV4dA=="}`), sig: "v0=zz"},
		{body: []byte(`{"encrypt":""}`), ts: "x", nonce: "y", sig: "z"},
		{body: []byte("hello"), sig: strings.Repeat("0", 64)},
		{body: bytes.Repeat([]byte("x"), fuzzMaxBody+1), sig: "0"},
		{},
	} {
		sig := s.sig
		if s.signWithOther {
			sig = larkfake.Sign(s.ts, s.nonce, "guessed-key", s.body)
		}
		f.Add(s.body, s.ts, s.nonce, sig, s.card)
	}
	w := newFuzzWorld(f, canaryKey)
	f.Fuzz(func(t *testing.T, body []byte, ts, nonce, sig string, card bool) {
		headers := map[string]string{larkevent.EventRequestTimestamp: ts, larkevent.EventRequestNonce: nonce, larkevent.EventSignature: sig}
		for _, v := range headers {
			if !fuzzHeaderValue(v) {
				return // not something HTTP can carry
			}
		}
		ts, nonce, sig = fuzzTrim(ts), fuzzTrim(nonce), fuzzTrim(sig) // as the server reads them
		if sig == larkfake.Sign(ts, nonce, canaryKey, body) || (sig == "" && fuzzAuthenticChallenge(body)) {
			return // genuine: only the key's holder can make it
		}
		path := "/lark/events"
		if card {
			path = "/lark/card"
		}
		r := w.start(t, body, []byte(ts), []byte(nonce), []byte(sig))
		status, answer := r.h.do(t, request(t, r.h.srv.URL+path, body, headers))
		fuzzCheckStatus(t, "forged POST "+path, status, answer, int64(len(body)), http.StatusBadRequest, http.StatusUnauthorized)
		r.check(t)
		if n := len(r.h.fake.Requests()); n != 0 {
			t.Errorf("a forged request made %d requests to Lark", n)
		}
		if n := r.w.lambda.Requests() - r.lambdaReq; n != 0 {
			t.Errorf("a forged request made %d requests to Lambda", n)
		}
		if deliveries, traces := r.store.claims.Load(), r.store.traces.Load(); deliveries+traces != 0 {
			t.Errorf("a forged request reached the bot: %d deliveries, %d traces recorded", deliveries, traces)
		}
	})
}

// fuzzHeaderValue reports whether v can be sent as a header value
// (httpguts.ValidHeaderFieldValue: no control character but tab).
func fuzzHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// fuzzTrim trims a header value as net/http does on reading it.
func fuzzTrim(v string) string { return strings.Trim(v, " \t") }

// fuzzAuthenticChallenge reports whether body is a url_verification challenge
// with the verification token, encrypted with the key: Lark does not sign those.
func fuzzAuthenticChallenge(body []byte) bool {
	plain, status, _ := openBody(body, canaryKey)
	var env larkevent.EventFuzzy
	if status != http.StatusOK || json.Unmarshal(plain, &env) != nil || larkevent.ReqType(env.Type) != larkevent.ReqTypeChallenge {
		return false
	}
	claimed := env.Token // where Lark puts the token: the header's, when there is one
	if env.Header != nil {
		claimed = env.Header.Token
	}
	return claimed == canaryToken
}

// FuzzLarkWSEvent: arbitrary event payloads as the long connection hands them to
// the edge's dispatcher (larkws's handleDataFrame calls Do with a frame's payload).
func FuzzWSEvent(f *testing.F) {
	for _, s := range append(fuzzMessageSeeds(), fuzzCardSeeds()...) {
		f.Add(s)
	}
	w := newFuzzWorld(f, "")
	f.Fuzz(func(t *testing.T, payload []byte) {
		r := w.start(t, payload)
		r.postCard(t)
		ctx, cancel := context.WithTimeout(context.Background(), fuzzSettle)
		defer cancel()
		token, err := readSecret(ctx, r.h.edge.cfg.VerificationToken, "verification token")
		if err != nil {
			t.Fatal(err)
		}
		key, err := readSecret(ctx, r.h.edge.cfg.EncryptKey, "encrypt key")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := r.h.edge.eventDispatcher(token, key).Do(ctx, payload)
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
