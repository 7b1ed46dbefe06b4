package slack

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
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

// The fuzz targets of this file feed arbitrary Slack deliveries to the real edge
// (the HTTP handlers through a recorder, Socket Mode through the fake's
// WebSocket), wired to the real bot over the sandbox world, a memory store and the
// Lambda fake, answering into a fake Slack. After an input the bot's queue is
// drained and the private answers sent from goroutines of their own are waited
// for; then:
//   - nothing panicked (a panic in a job is recovered and logged as "job panicked");
//   - a signed request is answered 200, 400 or 413 (413 exactly when the body is
//     over the limit), never 401 or 500; a forged one 401 and causes nothing;
//   - no canary credential appears in an HTTP answer, a Socket Mode ack, anything
//     Slack, a response_url or Lambda received, the logs or the metrics, and the
//     tokens travel only as the credential of the calls that need them;
//   - Slack never refuses what the bot sends as malformed (invalid_blocks, …).
//
// One target runs so: go test ./bot/slack -run '^$' -fuzz '^FuzzEvents$' -fuzztime 60s
//
// Every input gets a fresh fake Slack, bot, edge, store, logs and metrics, so it
// means the same thing whenever it runs; the bot and the edge are shut down after
// it (Shutdown leaves no goroutine of theirs: TestShutdownLeavesNoGoroutine), so
// the iterations do not pile anything up.

// Canary credentials and limits of the fuzz world. The seeds never contain the
// canaries; an input that happens to contain one is not blamed for echoing it.
const (
	fuzzBotToken = "xoxb-CANARY-FUZZ-BOT-3d9e71c04b"
	fuzzAppToken = "xapp-1-CANARY-FUZZ-APP-8a2f65e1d7"
	fuzzSigning  = "CANARYfuzzSigning5c0b8e2d4f7a19"
	// The edge's Web API host, and the response_url host of the seeds: the edge's
	// transport takes both to the iteration's fake Slack, where the first
	// fuzzResponseURLs response URLs are registered.
	fuzzAPIHost      = "slack.test"
	fuzzHooks        = "hooks.slack.test"
	fuzzResponseURLs = 3
	fuzzMaxBody      = 16 << 10 // the edge's body limit, low enough for the fuzzer to cross
	fuzzMaxEnvelope  = 16 << 10 // larger Socket Mode payloads are not sent
	fuzzEdgeURL      = "http://tracebot.test"
	fuzzSettle       = 10 * time.Second // bound on the work one input may cause
)

var fuzzCanaries = []string{fuzzBotToken, fuzzAppToken, fuzzSigning, "CANARY"}

// fuzzRefusedCodes are the Slack answers that mean the bot sent something
// malformed, whatever the input was.
var fuzzRefusedCodes = []string{"invalid_blocks", "msg_too_long", "no_text", "invalid_form_data", "invalid_payload"}

// fuzzRU is the n-th response_url of an iteration, as the seeds spell it.
func fuzzRU(n int) string { return fmt.Sprintf("https://%s/response/%d", fuzzHooks, n) }

// fuzzTransport is the edge's HTTP transport. The Web API and the seeds'
// response URLs go to the current iteration's fake Slack; any other request (a
// fuzzed response_url) is refused and kept, so nothing leaves loopback and even a
// refused request is checked for secrets.
type fuzzTransport struct {
	base *http.Transport

	mu      sync.Mutex
	fake    string   // host:port of the current fake Slack
	refused []string // URL, headers and body of each refused request
}

func (tr *fuzzTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host, path := req.URL.Host, req.URL.Path
	if (host == fuzzAPIHost && strings.HasPrefix(path, "/api/")) || (host == fuzzHooks && strings.HasPrefix(path, "/response/")) {
		tr.mu.Lock()
		fake := tr.fake
		tr.mu.Unlock()
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = "http", fake, ""
		return tr.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		_ = req.Body.Close()
	}
	tr.mu.Lock()
	tr.refused = append(tr.refused, fmt.Sprintf("%s %s\n%v\n%s", req.Method, req.URL, req.Header, body))
	tr.mu.Unlock()
	return nil, errors.New("slack fuzz: only the fake Slack is reachable")
}

// use points the transport at fake and forgets the refused requests.
func (tr *fuzzTransport) use(fake *slackfake.Server) {
	u, _ := url.Parse(fake.APIURL())
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
// Reprocess and the edges' transport. Everything else is built afresh for each
// input (fuzzWorld.start). Iterations run one at a time.
type fuzzWorld struct {
	net    *fuzzTransport
	lambda *lookuptest.LambdaServer
}

func newFuzzWorld(tb testing.TB) *fuzzWorld {
	tb.Helper()
	w := &fuzzWorld{net: &fuzzTransport{base: &http.Transport{}}, lambda: lookuptest.NewLambdaServer(tb)}
	tb.Cleanup(w.net.base.CloseIdleConnections)
	return w
}

// fuzzRun is one iteration: a fresh fake Slack, bot and edge (as newHarness builds
// them, with canary credentials and the edge signed in as slackfake's bot without
// a call), and what it fed in and got out.
type fuzzRun struct {
	w         *fuzzWorld
	fake      *slackfake.Server
	bot       *bot.Bot
	edge      *Edge
	mux       *http.ServeMux
	logs      *bottest.Logs
	metrics   *prometheus.Registry
	inputs    [][]byte // a canary found in them may be echoed
	answers   []string // the edge's HTTP answers (body and headers)
	acks      []string // payloads of the Socket Mode acks
	lambdaReq int      // Lambda requests before the iteration
	lambdaInv int      // Lambda invocations before the iteration
}

// start begins an iteration with a new bot and edge, so nothing earlier inputs
// did (deliveries seen, cooldowns, rate limits, recent traces, group members,
// logs) changes what this one means.
func (w *fuzzWorld) start(t *testing.T, inputs ...[]byte) *fuzzRun {
	t.Helper()
	fake := slackfake.New(t, slackfake.Config{BotToken: fuzzBotToken, AppToken: fuzzAppToken})
	for range fuzzResponseURLs {
		fake.NewResponseURL()
	}
	w.net.use(fake)
	t.Cleanup(w.net.base.CloseIdleConnections) // they lead to this fake
	r := &fuzzRun{w: w, fake: fake, logs: &bottest.Logs{}, metrics: prometheus.NewRegistry(), inputs: inputs,
		lambdaReq: w.lambda.Requests(), lambdaInv: len(w.lambda.Invocations())}
	logger := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := bot.NewMetrics(r.metrics)
	rp, err := lookup.NewReprocessor("lambda:call-analytics-prod-reprocess", "", w.lambda.Client(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	sb := lookup.NewSandbox(0)
	tracer := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true, Logger: logger})
	r.bot = bot.New(bot.Config{
		Sandbox: true, Workers: 4, ProgressInterval: time.Millisecond, EscalationMention: "S0ONCALL",
		Now: func() time.Time { return lookup.SandboxNow }, ParseOptions: bottest.ParseOptions(t),
	}, bot.Deps{Tracer: tracer, Store: state.NewMemory(nil), Reprocessor: rp, Metrics: metrics, Logger: logger})
	r.edge = New(Config{
		BotToken:      bot.StaticSecret(secrets.New(fuzzBotToken)),
		SigningSecret: bot.StaticSecret(secrets.New(fuzzSigning)),
		AppToken:      bot.StaticSecret(secrets.New(fuzzAppToken)),
		APIURL:        "http://" + fuzzAPIHost + "/api/",
		HTTPClient:    &http.Client{Transport: w.net, Timeout: fuzzSettle},
		Logger:        logger,
		Metrics:       metrics,
		MaxBodyBytes:  fuzzMaxBody,
	}, r.bot)
	r.edge.sleep = (&sleeps{}).sleep
	r.edge.self.Store(newIdentity(slackfake.DefaultBotUserID, slackfake.DefaultBotID, slackfake.DefaultTeamID))
	r.mux = http.NewServeMux()
	r.edge.Routes(r.mux)
	t.Cleanup(func() { r.settle(t) }) // a target that returned early leaves nothing running
	return r
}

// serve runs req through the edge's HTTP handlers and keeps the answer.
func (r *fuzzRun) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r.mux.ServeHTTP(rec, req)
	r.answers = append(r.answers, rec.Body.String()+"\n"+fmt.Sprint(rec.Header()))
	return rec
}

// post sends body to path, signed now with the signing secret, as Slack does,
// with the headers of hdr added.
func (r *fuzzRun) post(path, contentType string, body []byte, hdr http.Header) *httptest.ResponseRecorder {
	req := slackfake.NewRequest(fuzzEdgeURL+path, fuzzSigning, time.Now(), contentType, body)
	for k, v := range hdr {
		req.Header[k] = v
	}
	return r.serve(req)
}

// settle waits until everything the input started is over: the bot's jobs and
// refusals and the edge's private answers. It shuts both down, which leaves no
// goroutine of theirs behind.
func (r *fuzzRun) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fuzzSettle)
	defer cancel()
	if err := r.bot.Shutdown(ctx); err != nil {
		t.Fatalf("the bot's work still runs after %s: %v", fuzzSettle, err)
	}
	if err := r.edge.Shutdown(ctx); err != nil {
		t.Fatalf("the edge's private answers still run after %s: %v", fuzzSettle, err)
	}
}

// fuzzPoll waits, at a fine grain, until cond holds, and fails t after fuzzSettle.
// (slackfake's Wait checks every 50 ms at worst, too coarse for a fuzz iteration.)
func fuzzPoll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(fuzzSettle)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done after %s", what, fuzzSettle)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

type fuzzOutput struct{ where, text string }

// outputs is everything tracebot said to the outside world in the iteration.
func (r *fuzzRun) outputs(t *testing.T) []fuzzOutput {
	t.Helper()
	var out []fuzzOutput
	add := func(where, text string) { out = append(out, fuzzOutput{where, text}) }
	for i, c := range r.fake.Calls() {
		add(fmt.Sprintf("Slack call %d %s", i, c.Method), c.Method+"\n"+c.Payload())
	}
	for i, p := range r.fake.ResponsePosts() {
		add(fmt.Sprintf("response_url post %d", i), p.URL+"\n"+p.Text+"\n"+string(p.Blocks))
	}
	for i, inv := range r.w.lambda.Invocations()[r.lambdaInv:] {
		add(fmt.Sprintf("Lambda invocation %d", i), inv.FunctionName+"\n"+string(inv.Payload))
	}
	for i, req := range r.w.net.refusedRequests() {
		add(fmt.Sprintf("request to elsewhere %d", i), req)
	}
	for i, a := range r.answers {
		add(fmt.Sprintf("HTTP answer %d", i), a)
	}
	for i, a := range r.acks {
		add(fmt.Sprintf("Socket Mode ack %d", i), a)
	}
	add("logs", r.logs.String())
	families, err := r.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	add("metrics", fmt.Sprint(families))
	return out
}

// check settles the iteration and checks the properties every input must keep.
func (r *fuzzRun) check(t *testing.T) {
	t.Helper()
	r.settle(t)
	if logs := r.logs.String(); strings.Contains(logs, "job panicked") {
		t.Errorf("a job panicked:\n%.3000s", logs)
	}
	for _, o := range r.outputs(t) {
		for _, c := range fuzzCanaries {
			if strings.Contains(o.text, c) && !r.echoes(c) {
				t.Errorf("%s contains the canary %q:\n%.1000s", o.where, c, o.text)
			}
		}
	}
	for i, c := range r.fake.Calls() {
		want := fuzzBotToken
		switch c.Method {
		case "response_url":
			want = ""
		case "apps.connections.open":
			want = fuzzAppToken
		}
		if c.Token != want {
			t.Errorf("Slack call %d %s carried the wrong credential", i, c.Method)
		}
		for _, code := range fuzzRefusedCodes {
			if c.Error == code {
				t.Errorf("Slack refused call %d %s as %s:\n%.2000s", i, c.Method, code, c.Payload())
			}
		}
	}
}

// echoes reports whether s was in the input, so finding it in an output is no leak.
func (r *fuzzRun) echoes(s string) bool {
	for _, in := range r.inputs {
		if strings.Contains(string(in), s) {
			return true
		}
	}
	return false
}

// checkSignedStatus: a correctly signed request is answered 200, 400 (it does not
// parse) or 413 (exactly when the body is over the limit); a 200 for a command or
// an interaction has no body.
func checkSignedStatus(t *testing.T, rec *httptest.ResponseRecorder, body []byte, emptyAck bool) {
	t.Helper()
	switch st := rec.Code; {
	case st != http.StatusOK && st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge:
		t.Errorf("status %d for a signed request (body %q)", st, rec.Body.String())
	case (st == http.StatusRequestEntityTooLarge) != (len(body) > fuzzMaxBody):
		t.Errorf("status %d for a %d-byte body (limit %d)", st, len(body), fuzzMaxBody)
	case st == http.StatusOK && emptyAck && rec.Body.Len() > 0:
		t.Errorf("ack body %q, want empty", rec.Body.String())
	}
}

// Seeds: real-shaped deliveries, built the way Slack builds them.

func fuzzCommand(text, responseURL string) slackfake.Command {
	return slackfake.Command{Command: "/trace", Text: text, TeamID: slackfake.DefaultTeamID, ChannelID: testChannel,
		ChannelName: "support", UserID: testUser, UserName: "support", ResponseURL: responseURL,
		TriggerID: "trig-1", APIAppID: slackfake.DefaultAppID}
}

func fuzzCommandSeeds() [][]byte {
	return [][]byte{
		fuzzCommand(testReport, fuzzRU(1)).Form(),
		fuzzCommand("gibberish", fuzzRU(1)).Form(),
		fuzzCommand("", fuzzRU(2)).Form(),
		fuzzCommand(testSession, "").Form(),
		fuzzCommand("<@"+slackfake.DefaultBotUserID+"> "+testReport, fuzzRU(3)).Form(),
		fuzzCommand("5月20日下午1点15分 914-265-4371", fuzzRU(1)).Form(),
		fuzzCommand("not a report", "https://elsewhere.test/r/1").Form(),
		fuzzCommand("gen-1779299695-aBcDeFg", fuzzRU(2)).Form(),
		fuzzCommand(strings.Repeat(testReport+" ", 600), fuzzRU(1)).Form(), // over the body limit
		[]byte("command=%2Ftrace&text=%zz"),
		[]byte("text=" + url.QueryEscape(testReport) + "&channel_id=&user_id=&response_url="),
		{},
	}
}

var (
	fuzzUserMsg = slackfake.Message{Channel: testChannel, TS: "1779465600.000010", User: "U0CUSTOMER", Text: testReport}
	fuzzOwnMsg  = slackfake.Message{Channel: testChannel, TS: "1779465600.000030", User: slackfake.DefaultBotUserID,
		BotID: slackfake.DefaultBotID, Text: "Tracing +19142654371"}
	fuzzResultMsg = slackfake.Message{Channel: testChannel, TS: "1779465600.000050", ThreadTS: "1779465600.000001",
		User: slackfake.DefaultBotUserID, BotID: slackfake.DefaultBotID}
)

func fuzzShortcut(m slackfake.Message, callbackID string) map[string]any {
	return slackfake.Shortcut{CallbackID: callbackID, User: testUser, Channel: m.Channel, Message: m,
		TriggerID: "trig-7", ResponseURL: fuzzRU(1)}.Payload()
}

func fuzzClick(actionID, value string) map[string]any {
	return slackfake.Click{User: "U0ALICE", Message: fuzzResultMsg, TriggerID: "trig-9", ResponseURL: fuzzRU(2),
		Button: slackfake.Button{ActionID: actionID, Value: value, Text: "Go"}}.Payload()
}

func fuzzButton(v bot.ActionValue) map[string]any {
	return fuzzClick(actionPrefix+v.Action+":0", v.Encode())
}

// fuzzInteractionSeeds are interaction payloads (the JSON of the form field).
func fuzzInteractionSeeds() [][]byte {
	at := lookup.SandboxNow.Add(-2 * time.Hour)
	payloads := []any{
		fuzzShortcut(fuzzUserMsg, traceShortcutID),
		fuzzShortcut(fuzzOwnMsg, traceShortcutID),
		fuzzShortcut(fuzzUserMsg, "something_else"),
		fuzzButton(bot.ActionValue{Action: bot.ActReprocess, SessionID: testSession, StoreID: "st-1", TraceID: "t-1"}),
		fuzzButton(bot.ActionValue{Action: bot.ActRefresh, SessionID: testSession, TraceID: "t-1"}),
		fuzzButton(bot.ActionValue{Action: bot.ActEscalate, SessionID: testSession, TraceID: "t-1"}),
		fuzzButton(bot.ActionValue{Action: bot.ActTraceCall, SessionID: testSession, Phone: "+19142654371", At: &at,
			Zone: "America/New_York", Direction: "inbound"}),
		fuzzButton(bot.ActionValue{Action: bot.ActWiden, Phone: "+19142654371", At: &at, Zone: "America/New_York"}),
		fuzzButton(bot.ActionValue{Action: bot.ActLastWeek, Phone: "+19142654371", Zone: "Asia/Shanghai"}),
		fuzzClick(actionPrefix+"nuke:0", `{"a":"nuke"}`),
		fuzzClick(actionPrefix+"reprocess:0", "reprocess s-1"),
		fuzzClick(linkPrefix+"3", ""),
		map[string]any{"type": "view_submission", "trigger_id": "trig-3", "user": map[string]any{"id": testUser}},
	}
	seeds := make([][]byte, 0, len(payloads)+4)
	for _, p := range payloads {
		seeds = append(seeds, slackfake.JSON(p))
	}
	return append(seeds, []byte("{}"), []byte("null"), []byte(`{"type":"block_actions","actions":[{"action_id":"tracebot:x","value":"{"}]}`),
		[]byte(`{"type":"message_action","callback_id":"trace_report","message":{"text":"9142654371 today"}}`))
}

func fuzzEventSeeds() [][]byte {
	botUser := slackfake.DefaultBotUserID
	cb := func(id string, ev map[string]any) []byte {
		return slackfake.JSON(slackfake.EventCallback(slackfake.DefaultTeamID, id, ev))
	}
	dm := slackfake.DirectMessage("D0SUPPORT", testUser, testReport, "1779465600.000070", "")
	edited := slackfake.DirectMessage("D0SUPPORT", testUser, testReport, "1779465600.000071", "")
	edited["subtype"] = "message_changed"
	edited["message"] = map[string]any{"type": "message", "user": testUser, "text": testReport, "ts": "1779465600.000071"}
	own := slackfake.DirectMessage("D0SUPPORT", botUser, "Tracing", "1779465600.000072", "")
	own["bot_id"] = slackfake.DefaultBotID
	return [][]byte{
		cb("Ev1", slackfake.AppMention(testChannel, testUser, "<@"+botUser+"> "+testReport, "1779465600.000080", "")),
		cb("Ev2", slackfake.AppMention(testChannel, testUser, testReport+" <@"+botUser+"|tracebot>", "1779465600.000090", "1779465600.000010")),
		cb("Ev3", slackfake.AppMention("D0SUPPORT", testUser, "<@"+botUser+"> "+testReport, "1779465600.000110", "")),
		cb("Ev4", dm),
		cb("Ev5", edited),
		cb("Ev6", own),
		cb("Ev7", map[string]any{"type": "reaction_added", "user": testUser, "reaction": "eyes"}),
		cb("Ev8", nil),
		slackfake.JSON(slackfake.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")),
		[]byte(`{"token":"x","type":"app_rate_limited","team_id":"TFAKE","minute_rate_limited":1779465600,"api_app_id":"AFAKE"}`),
		[]byte(`{"type":"event_callback","event_id":"Ev9","event":{"type":"message","channel_type":"im","user":"U1","text":"s-1"}}`),
		[]byte("{}"), []byte("not json"), {},
	}
}

// fuzzMinimizeTime bounds how long the fuzzer minimizes an input, unless
// -fuzzminimizetime is given. Go minimizes every input that finds new coverage,
// for up to 60 s by default; an input here costs milliseconds (a whole trace for a
// valid report), so the default would spend a 10 s CI run (.ci/fuzz) minimizing
// the first input found, and the failures of minimization candidates are not
// reported.
const fuzzMinimizeTime = "2s"

// fuzzShortMinimize applies fuzzMinimizeTime; the coordinator reads the flag when
// f.Fuzz starts.
func fuzzShortMinimize(f *testing.F) {
	f.Helper()
	given := false
	flag.Visit(func(fl *flag.Flag) { given = given || fl.Name == "test.fuzzminimizetime" })
	if given {
		return
	}
	if err := flag.Set("test.fuzzminimizetime", fuzzMinimizeTime); err != nil {
		f.Fatal(err)
	}
}

// The targets taking bodies also take how a delivery repeats: a replayed request,
// Slack's retry of an event.

// FuzzSlackCommands posts arbitrary signed bodies to POST /slack/commands, once,
// or twice when replay is set (a signed request may be replayed for five minutes).
func FuzzCommands(f *testing.F) {
	fuzzShortMinimize(f)
	for i, s := range fuzzCommandSeeds() {
		f.Add(s, i == 0)
	}
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, replay bool) {
		r := w.start(t, body)
		for range fuzzDeliveries(replay) {
			checkSignedStatus(t, r.post("/slack/commands", slackfake.ContentForm, body, nil), body, true)
		}
		r.check(t)
	})
}

// FuzzSlackInteractivity posts arbitrary signed interaction payloads to
// POST /slack/interactivity, once or twice: the form field "payload" holds
// payload, and tail is appended to the form as it is, so any form can be reached.
func FuzzInteractivity(f *testing.F) {
	fuzzShortMinimize(f)
	seeds := fuzzInteractionSeeds()
	for i, s := range seeds {
		f.Add(s, []byte(nil), i == 3)
	}
	f.Add(seeds[0], []byte("&payload=second"), false)
	f.Add(seeds[3], []byte("%zz"), false)
	f.Add([]byte(nil), []byte("&other=1"), false)
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, payload, tail []byte, replay bool) {
		r := w.start(t, payload, tail)
		body := append([]byte("payload="+url.QueryEscape(string(payload))), tail...)
		for range fuzzDeliveries(replay) {
			checkSignedStatus(t, r.post("/slack/interactivity", slackfake.ContentForm, body, nil), body, true)
		}
		r.check(t)
	})
}

// FuzzSlackEvents posts arbitrary signed bodies to POST /slack/events; when retry
// is not 0 the body is delivered again as Slack's retry number retry.
func FuzzEvents(f *testing.F) {
	fuzzShortMinimize(f)
	for i, s := range fuzzEventSeeds() {
		f.Add(s, uint8(min(i, 1)))
	}
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, retry uint8) {
		r := w.start(t, body)
		checkSignedStatus(t, r.post("/slack/events", slackfake.ContentJSON, body, nil), body, false)
		if retry > 0 {
			hdr := http.Header{"X-Slack-Retry-Num": {strconv.Itoa(int(retry))}, "X-Slack-Retry-Reason": {"http_timeout"}}
			checkSignedStatus(t, r.post("/slack/events", slackfake.ContentJSON, body, hdr), body, false)
		}
		r.check(t)
	})
}

// fuzzDeliveries is how many times a delivery is sent.
func fuzzDeliveries(replay bool) int {
	if replay {
		return 2
	}
	return 1
}

// Bits of FuzzSlackForgedRequests' flags.
const (
	fuzzNoTimestamp = 1 << iota // drop X-Slack-Request-Timestamp
	fuzzNoSignature             // drop X-Slack-Signature
	fuzzTampered                // append to the body after signing
)

var fuzzSlackPaths = []struct{ path, contentType string }{
	{"/slack/commands", slackfake.ContentForm},
	{"/slack/interactivity", slackfake.ContentForm},
	{"/slack/events", slackfake.ContentJSON},
}

// FuzzSlackForgedRequests sends requests that are not Slack's: unsigned, signed
// with another secret or a made-up signature, stale or from the future, or changed
// after signing. Each must get 401 (or 413 when the body is over the limit and the
// headers pass, since the body must be read to check it) and cause nothing: Slack,
// the response URLs and Lambda hear nothing.
//
// The request is sent at now+skew seconds. signature is sent as it is; "" means
// the signature of the body by secret, "" meaning the real signing secret. A
// genuine, fresh request is not a forgery and is left to the other targets.
func FuzzForgedRequests(f *testing.F) {
	fuzzShortMinimize(f)
	click := slackfake.InteractionForm(json.RawMessage(fuzzInteractionSeeds()[3]))
	for i, body := range [][]byte{fuzzCommandSeeds()[0], click, fuzzEventSeeds()[0]} {
		e := uint8(i)
		f.Add(e, uint8(0), body, int64(0), "not-the-signing-secret", "")
		f.Add(e, uint8(0), body, int64(-360), "", "")
		f.Add(e, uint8(0), body, int64(600), "", "")
		f.Add(e, uint8(fuzzTampered), body, int64(0), "", "")
		f.Add(e, uint8(fuzzNoTimestamp|fuzzNoSignature), body, int64(0), "", "")
		f.Add(e, uint8(0), body, int64(0), "", "v0=zz")
		f.Add(e, uint8(0), body, int64(0), "", "v1=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	}
	f.Add(uint8(2), uint8(0), []byte(`{"type":"url_verification","challenge":"x"}`), int64(-3600), "", "")
	f.Add(uint8(0), uint8(0), []byte(strings.Repeat("text=x&", 3000)), int64(0), "wrong", "")
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, endpoint, flags uint8, body []byte, skew int64, secret, signature string) {
		ep := fuzzSlackPaths[int(endpoint)%len(fuzzSlackPaths)]
		if secret == "" {
			secret = fuzzSigning
		}
		ts := strconv.FormatInt(time.Now().Unix()+skew, 10)
		if signature == "" {
			signature = slackfake.Signature(secret, ts, body)
		}
		sent := body
		if flags&fuzzTampered != 0 {
			sent = append(append([]byte(nil), body...), '&')
		}
		genuine := flags&(fuzzNoTimestamp|fuzzNoSignature) == 0 && signature == slackfake.Signature(fuzzSigning, ts, sent)
		if genuine && skew >= -302 && skew <= 302 {
			return // Slack's own request, fresh (or too close to the limit to call)
		}
		r := w.start(t, body, []byte(secret), []byte(signature))
		req := slackfake.NewRequest(fuzzEdgeURL+ep.path, fuzzSigning, time.Now(), ep.contentType, sent)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", signature)
		if flags&fuzzNoTimestamp != 0 {
			req.Header.Del("X-Slack-Request-Timestamp")
		}
		if flags&fuzzNoSignature != 0 {
			req.Header.Del("X-Slack-Signature")
		}
		if st := r.serve(req).Code; st != http.StatusUnauthorized && (st != http.StatusRequestEntityTooLarge || len(sent) <= fuzzMaxBody) {
			t.Errorf("%s: status %d for a forged request, want 401", ep.path, st)
		}
		r.check(t)
		if calls := r.fake.Calls(); len(calls) != 0 {
			t.Errorf("a forged request caused Slack calls: %+v", calls)
		}
		if n := len(r.fake.ResponsePosts()) + w.lambda.Requests() - r.lambdaReq + len(w.net.refusedRequests()); n != 0 {
			t.Errorf("a forged request caused %d outbound requests", n)
		}
	})
}

// runSocket runs the edge's Socket Mode against the iteration's fake until stop,
// which returns what RunSocketMode returned. It is runSocket at the grain of
// fuzzPoll: waiting for the connection through slackfake's Wait costs 50 ms.
func (r *fuzzRun) runSocket(t *testing.T) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.edge.RunSocketMode(ctx) }()
	t.Cleanup(cancel)
	fuzzPoll(t, "the Socket Mode connection", func() bool { return r.fake.SocketConnections() > 0 })
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(fuzzSettle):
			return errors.New("RunSocketMode did not stop after cancel")
		}
	}
}

type fuzzEnvelope struct {
	typ     string
	payload []byte
}

// fuzzEnvelopeSeeds are Socket Mode envelopes: type and payload.
func fuzzEnvelopeSeeds() []fuzzEnvelope {
	events, interactions := fuzzEventSeeds(), fuzzInteractionSeeds()
	cmd := fuzzCommand(testReport, fuzzRU(1)).Payload()
	gibberish := fuzzCommand("gibberish", fuzzRU(2)).Payload()
	return []fuzzEnvelope{
		{slackfake.EnvelopeEventsAPI, events[0]}, {slackfake.EnvelopeEventsAPI, events[3]},
		{slackfake.EnvelopeEventsAPI, events[5]}, {slackfake.EnvelopeEventsAPI, events[6]},
		{slackfake.EnvelopeEventsAPI, events[7]}, {slackfake.EnvelopeEventsAPI, []byte("{}")},
		{slackfake.EnvelopeSlashCommands, slackfake.JSON(cmd)}, {slackfake.EnvelopeSlashCommands, slackfake.JSON(gibberish)},
		{slackfake.EnvelopeSlashCommands, []byte("[]")},
		{slackfake.EnvelopeInteractive, interactions[0]}, {slackfake.EnvelopeInteractive, interactions[1]},
		{slackfake.EnvelopeInteractive, interactions[3]}, {slackfake.EnvelopeInteractive, interactions[9]},
		{slackfake.EnvelopeInteractive, []byte(`"x"`)},
		{"unknown_type", []byte("{}")}, {"", []byte("null")},
	}
}

// FuzzSlackSocketEnvelope sends arbitrary Socket Mode envelopes (type, payload,
// retry attempt and reason) from the fake's WebSocket to the real RunSocketMode.
// The edge has no function taking a raw envelope: slack-go reads the frame and
// hands the edge a parsed event, so this target drives the whole path. Every
// envelope must be acknowledged (Slack redelivers others), and RunSocketMode must
// stop cleanly afterwards. "hello" and "disconnect" are the connection's own
// messages and are not sent; a payload that is not JSON cannot be framed.
func FuzzSocketEnvelope(f *testing.F) {
	fuzzShortMinimize(f)
	for i, s := range fuzzEnvelopeSeeds() {
		retry, reason := 0, ""
		if i == 1 {
			retry, reason = 1, "timeout"
		}
		f.Add(s.typ, s.payload, retry, reason)
	}
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, typ string, payload []byte, retry int, reason string) {
		if typ == "hello" || typ == "disconnect" || !json.Valid(payload) || len(payload) > fuzzMaxEnvelope {
			return
		}
		r := w.start(t, []byte(typ), payload, []byte(reason))
		stop := r.runSocket(t)
		env, err := r.fake.SendEnvelope(slackfake.Envelope{Type: typ, Payload: json.RawMessage(payload),
			RetryAttempt: retry, RetryReason: reason})
		if err != nil {
			t.Fatal(err)
		}
		fuzzPoll(t, "the ack of "+env, func() bool {
			_, ok := r.fake.Acked(env)
			return ok
		})
		if err := stop(); err != nil {
			t.Errorf("RunSocketMode = %v after cancel, want nil", err)
		}
		ack, _ := r.fake.Acked(env)
		r.acks = append(r.acks, string(ack))
		r.check(t)
	})
}

// TestFuzzWorld checks that the fuzz targets reach what they claim to: a seed
// command is traced and answered in the fake Slack, a seed response_url reaches
// the fake's response URLs, a foreign one stays on this machine, a new iteration
// forgets earlier deliveries, and the logs are among the outputs searched.
func TestFuzzWorld(t *testing.T) {
	w := newFuzzWorld(t)
	resultPosted := func(fake *slackfake.Server) bool {
		for _, m := range fake.Messages(testChannel) {
			if m.ThreadTS != "" && strings.Contains(m.BlockText(), "Call "+testSession+"\n") {
				return true
			}
		}
		return false
	}
	for i := range 2 { // the same delivery in two iterations is traced twice
		t.Run(fmt.Sprintf("a seed command is traced %d", i), func(t *testing.T) {
			r := w.start(t)
			checkSignedStatus(t, r.post("/slack/commands", slackfake.ContentForm, fuzzCommandSeeds()[0], nil), fuzzCommandSeeds()[0], true)
			r.check(t)
			if !resultPosted(r.fake) {
				t.Errorf("no trace result in the fake Slack: %+v", r.fake.Messages(testChannel))
			}
		})
	}
	t.Run("a seed response_url reaches the fake", func(t *testing.T) {
		r := w.start(t)
		r.post("/slack/interactivity", slackfake.ContentForm, slackfake.InteractionForm(json.RawMessage(fuzzInteractionSeeds()[1])), nil)
		r.check(t)
		if posts := r.fake.ResponsePosts(); len(posts) != 1 || !strings.HasSuffix(posts[0].URL, "/response/1") {
			t.Errorf("response posts: %+v", posts)
		}
	})
	t.Run("a foreign response_url stays here", func(t *testing.T) {
		r := w.start(t)
		r.post("/slack/commands", slackfake.ContentForm, fuzzCommandSeeds()[6], nil)
		r.check(t)
		if refused := w.net.refusedRequests(); len(refused) == 0 || !strings.Contains(refused[0], "elsewhere.test") {
			t.Errorf("refused requests: %q", refused)
		}
	})
	t.Run("the logs are searched", func(t *testing.T) {
		r := w.start(t)
		_, _ = r.logs.Write([]byte("token=" + fuzzBotToken))
		found := false
		for _, o := range r.outputs(t) {
			found = found || (o.where == "logs" && strings.Contains(o.text, fuzzBotToken))
		}
		if !found {
			t.Error("a canary in the logs is not among the outputs checked")
		}
	})
}
