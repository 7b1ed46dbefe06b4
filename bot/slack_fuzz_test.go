package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/slackfake"
	"github.com/callytics/tracebot/lookup"
)

// The fuzz targets of this file feed arbitrary Slack deliveries to the real edge
// (HTTP handlers through a recorder, Socket Mode through the fake's WebSocket),
// wired to the real bot over the sandbox world, a memory store, the Lambda fake and
// the fake Slack. Every iteration gets a fresh harness, so an input means the same
// thing whenever it runs. After an input the bot is shut down (its jobs drained)
// and the private answers sent from goroutines of their own are waited for; then:
//   - nothing panicked (a panic in a job is recovered and logged as "job panicked");
//   - the HTTP status is 200, 400 or 413 for a signed request (413 exactly when the
//     body is over the limit), 401 for a forged one;
//   - no canary credential appears in an HTTP answer, in a Socket Mode ack, in
//     anything Slack, a response_url or Lambda received, in the logs or in the
//     metrics; the tokens travel only as the credential of the calls needing them;
//   - Slack never refuses what the bot posts as malformed (invalid_blocks, …).
//
// Run one: go test ./bot -run '^$' -fuzz '^FuzzSlackEvents$' -fuzztime 60s

// Canary credentials and limits of the fuzz harness. The seeds never contain the
// canaries; an input that happens to contain one is not blamed for echoing it.
const (
	fuzzBotToken = "xoxb-CANARY-FUZZ-BOT-3d9e71c04b"
	fuzzAppToken = "xapp-1-CANARY-FUZZ-APP-8a2f65e1d7"
	fuzzSigning  = "CANARYfuzzSigning5c0b8e2d4f7a19"
	// fuzzHooks is the response_url host of the seeds: the edge's transport takes
	// its /response/N paths to the fake Slack, where the first fuzzResponseURLs
	// response URLs are registered in every iteration.
	fuzzHooks        = "hooks.slack.test"
	fuzzResponseURLs = 3
	fuzzMaxBody      = 16 << 10 // the edge's body limit, low enough for the fuzzer to cross
	fuzzMaxEnvelope  = 16 << 10 // larger Socket Mode payloads are not sent
	fuzzEdgeURL      = "http://tracebot.test"
	fuzzSettle       = 10 * time.Second // bound on the work an input may cause
)

var fuzzCanaries = []string{fuzzBotToken, fuzzAppToken, fuzzSigning, "CANARY"}

// fuzzRefusedCodes are the Slack answers that mean the bot sent something
// malformed, whatever the input was.
var fuzzRefusedCodes = []string{"invalid_blocks", "msg_too_long", "no_text", "invalid_form_data", "invalid_payload"}

// fuzzRU is the n-th response_url of an iteration, as the seeds spell it.
func fuzzRU(n int) string { return fmt.Sprintf("https://%s/response/%d", fuzzHooks, n) }

// slackFuzzTransport is the edge's HTTP transport. Calls to the fake Slack go
// through, the seeds' response_url host is taken to the fake's response URLs, and
// any other request (a fuzzed response_url) is refused and kept, so nothing leaves
// loopback and even a refused request is checked for secrets.
type slackFuzzTransport struct {
	fake string // host:port of the fake Slack
	base *http.Transport

	mu      sync.Mutex
	refused []string // URL, headers and body of each refused request
}

func (tr *slackFuzzTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req.URL.Host == tr.fake:
	case req.URL.Host == fuzzHooks && strings.HasPrefix(req.URL.Path, "/response/"):
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = "http", tr.fake, ""
	default:
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
	return tr.base.RoundTrip(req)
}

func (tr *slackFuzzTransport) refusedRequests() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.refused...)
}

// slackFuzz is one iteration's world: the Slack harness with canary credentials,
// the edge's routes for a recorder, and the guarding transport.
type slackFuzz struct {
	*slackHarness
	mux  *http.ServeMux
	net  *slackFuzzTransport
	acks []string // payloads of the Socket Mode acks
	// before are the detached goroutines that existed before the iteration.
	before map[string]bool
}

func newSlackFuzz(t *testing.T) *slackFuzz {
	t.Helper()
	tr := &slackFuzzTransport{base: &http.Transport{}}
	h := newSlackHarness(t, slackHarnessOpts{
		fake:   slackfake.Config{BotToken: fuzzBotToken, AppToken: fuzzAppToken},
		secret: fuzzSigning,
		edge: func(c *SlackConfig) {
			u, err := url.Parse(c.APIURL)
			if err != nil {
				t.Fatal(err)
			}
			tr.fake = u.Host
			c.HTTPClient = &http.Client{Transport: tr, Timeout: fuzzSettle}
			c.MaxBodyBytes = fuzzMaxBody
		},
	})
	t.Cleanup(tr.base.CloseIdleConnections)
	for range fuzzResponseURLs {
		h.fake.NewResponseURL()
	}
	mux := http.NewServeMux()
	h.edge.Routes(mux)
	return &slackFuzz{slackHarness: h, mux: mux, net: tr, before: detachedGoroutines()}
}

// serve runs req through the edge's HTTP handlers and keeps the answer.
func (f *slackFuzz) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	f.mu.Lock()
	f.responses = append(f.responses, rec.Body.String())
	f.headers = append(f.headers, rec.Header().Clone())
	f.mu.Unlock()
	return rec
}

// post sends body to path, signed now with the signing secret, as Slack does.
func (f *slackFuzz) post(path, contentType string, body []byte) *httptest.ResponseRecorder {
	return f.serve(slackfake.NewRequest(fuzzEdgeURL+path, f.secret, time.Now(), contentType, body))
}

// settle waits until everything the input started is over: the bot's jobs
// (Shutdown drains them) and the private answers the edge and the bot send from
// goroutines of their own.
func (f *slackFuzz) settle(t *testing.T) {
	t.Helper()
	f.shutdown()
	fuzzPoll(t, "the private answers", func() bool {
		for id := range detachedGoroutines() {
			if !f.before[id] {
				return false
			}
		}
		return true
	})
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

// detachedFuncs are the functions whose goroutines nobody waits for: private
// answers sent without holding up the request.
var detachedFuncs = []string{"bot.(*SlackEdge).answerPrivately.func", "bot.(*Bot).refuse.func"}

// detachedGoroutines returns the ids of the goroutines running a detachedFuncs.
func detachedGoroutines() map[string]bool {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	ids := map[string]bool{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, fn := range detachedFuncs {
			if strings.Contains(g, fn) {
				if fields := strings.Fields(g); len(fields) > 1 {
					ids[fields[1]] = true
				}
			}
		}
	}
	return ids
}

type slackFuzzOutput struct{ where, text string }

// outputs is everything tracebot said to the outside world in the iteration.
func (f *slackFuzz) outputs(t *testing.T) []slackFuzzOutput {
	t.Helper()
	var out []slackFuzzOutput
	add := func(where, text string) { out = append(out, slackFuzzOutput{where, text}) }
	for i, c := range f.fake.Calls() {
		add(fmt.Sprintf("Slack call %d %s", i, c.Method), c.Method+"\n"+c.Payload())
	}
	for i, p := range f.fake.ResponsePosts() {
		add(fmt.Sprintf("response_url post %d", i), p.URL+"\n"+p.Text+"\n"+string(p.Blocks))
	}
	for i, inv := range f.lambda.Invocations() {
		add(fmt.Sprintf("Lambda invocation %d", i), inv.FunctionName+"\n"+string(inv.Payload))
	}
	for i, r := range f.net.refusedRequests() {
		add(fmt.Sprintf("request to elsewhere %d", i), r)
	}
	f.mu.Lock()
	for i, body := range f.responses {
		add(fmt.Sprintf("HTTP answer %d", i), body+"\n"+fmt.Sprint(f.headers[i]))
	}
	f.mu.Unlock()
	for i, a := range f.acks {
		add(fmt.Sprintf("Socket Mode ack %d", i), a)
	}
	add("logs", f.logs.String())
	families, err := f.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	add("metrics", fmt.Sprint(families))
	return out
}

// check settles the iteration and checks the properties every input must keep.
// inputs are what was fed in: a canary found in them may be echoed.
func (f *slackFuzz) check(t *testing.T, inputs ...[]byte) {
	t.Helper()
	f.settle(t)
	if logs := f.logs.String(); strings.Contains(logs, "job panicked") {
		t.Errorf("a job panicked:\n%.3000s", logs)
	}
	for _, o := range f.outputs(t) {
		for _, c := range fuzzCanaries {
			if strings.Contains(o.text, c) && !fuzzInputsContain(inputs, c) {
				t.Errorf("%s contains the canary %q:\n%.1000s", o.where, c, o.text)
			}
		}
	}
	for i, c := range f.fake.Calls() {
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

func fuzzInputsContain(inputs [][]byte, s string) bool {
	for _, in := range inputs {
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
	return slackfake.Command{Command: "/trace", Text: text, TeamID: slackfake.DefaultTeamID, ChannelID: slackTestChannel,
		ChannelName: "support", UserID: slackTestUser, UserName: "support", ResponseURL: responseURL,
		TriggerID: "trig-1", APIAppID: slackfake.DefaultAppID}
}

func fuzzCommandSeeds() [][]byte {
	seeds := [][]byte{
		fuzzCommand(slackTestReport, fuzzRU(1)).Form(),
		fuzzCommand("gibberish", fuzzRU(1)).Form(),
		fuzzCommand("", fuzzRU(2)).Form(),
		fuzzCommand(slackTestSession, "").Form(),
		fuzzCommand("<@"+slackfake.DefaultBotUserID+"> "+slackTestReport, fuzzRU(3)).Form(),
		fuzzCommand("5月20日下午1点15分 914-265-4371", fuzzRU(1)).Form(),
		fuzzCommand("not a report", "https://elsewhere.test/r/1").Form(),
		fuzzCommand("gen-1779299695-aBcDeFg", fuzzRU(2)).Form(),
		fuzzCommand(strings.Repeat(slackTestReport+" ", 600), fuzzRU(1)).Form(), // over the body limit
		[]byte("command=%2Ftrace&text=%zz"),
		[]byte("text=" + url.QueryEscape(slackTestReport) + "&channel_id=&user_id=&response_url="),
		{},
	}
	return seeds
}

var (
	fuzzUserMsg = slackfake.Message{Channel: slackTestChannel, TS: "1779465600.000010", User: "U0CUSTOMER", Text: slackTestReport}
	fuzzOwnMsg  = slackfake.Message{Channel: slackTestChannel, TS: "1779465600.000030", User: slackfake.DefaultBotUserID,
		BotID: slackfake.DefaultBotID, Text: "Tracing +19142654371"}
	fuzzResultMsg = slackfake.Message{Channel: slackTestChannel, TS: "1779465600.000050", ThreadTS: "1779465600.000001",
		User: slackfake.DefaultBotUserID, BotID: slackfake.DefaultBotID}
)

func fuzzShortcut(m slackfake.Message, callbackID string) map[string]any {
	return slackfake.Shortcut{CallbackID: callbackID, User: slackTestUser, Channel: m.Channel, Message: m,
		TriggerID: "trig-7", ResponseURL: fuzzRU(1)}.Payload()
}

func fuzzClick(actionID, value string) map[string]any {
	return slackfake.Click{User: "U0ALICE", Message: fuzzResultMsg, TriggerID: "trig-9", ResponseURL: fuzzRU(2),
		Button: slackfake.Button{ActionID: actionID, Value: value, Text: "Go"}}.Payload()
}

func fuzzButton(v ActionValue) map[string]any {
	return fuzzClick(slackActionPrefix+v.Action+":0", v.Encode())
}

// fuzzInteractionSeeds are interaction payloads (the JSON of the form field).
func fuzzInteractionSeeds() [][]byte {
	at := lookup.SandboxNow.Add(-2 * time.Hour)
	payloads := []any{
		fuzzShortcut(fuzzUserMsg, slackTraceShortcutID),
		fuzzShortcut(fuzzOwnMsg, slackTraceShortcutID),
		fuzzShortcut(fuzzUserMsg, "something_else"),
		fuzzButton(ActionValue{Action: ActReprocess, SessionID: slackTestSession, StoreID: "st-1", TraceID: "t-1"}),
		fuzzButton(ActionValue{Action: ActRefresh, SessionID: slackTestSession, TraceID: "t-1"}),
		fuzzButton(ActionValue{Action: ActEscalate, SessionID: slackTestSession, TraceID: "t-1"}),
		fuzzButton(ActionValue{Action: ActTraceCall, SessionID: slackTestSession, Phone: "+19142654371", At: &at,
			Zone: "America/New_York", Direction: "inbound"}),
		fuzzButton(ActionValue{Action: ActWiden, Phone: "+19142654371", At: &at, Zone: "America/New_York"}),
		fuzzButton(ActionValue{Action: ActLastWeek, Phone: "+19142654371", Zone: "Asia/Shanghai"}),
		fuzzClick(slackActionPrefix+"nuke:0", `{"a":"nuke"}`),
		fuzzClick(slackActionPrefix+"reprocess:0", "reprocess s-1"),
		fuzzClick(slackLinkPrefix+"3", ""),
		map[string]any{"type": "view_submission", "trigger_id": "trig-3", "user": map[string]any{"id": slackTestUser}},
	}
	seeds := make([][]byte, 0, len(payloads)+4)
	for _, p := range payloads {
		seeds = append(seeds, slackfake.JSON(p))
	}
	return append(seeds, []byte("{}"), []byte("null"), []byte(`{"type":"block_actions","actions":[{"action_id":"tracebot:x","value":"{"}]}`),
		[]byte(`{"type":"message_action","callback_id":"trace_report","message":{"text":"9142654371 today"}}`))
}

func fuzzEventSeeds() [][]byte {
	bot := slackfake.DefaultBotUserID
	cb := func(id string, ev map[string]any) []byte {
		return slackfake.JSON(slackfake.EventCallback(slackfake.DefaultTeamID, id, ev))
	}
	dm := slackfake.DirectMessage("D0SUPPORT", slackTestUser, slackTestReport, "1779465600.000070", "")
	edited := slackfake.DirectMessage("D0SUPPORT", slackTestUser, slackTestReport, "1779465600.000071", "")
	edited["subtype"] = "message_changed"
	edited["message"] = map[string]any{"type": "message", "user": slackTestUser, "text": slackTestReport, "ts": "1779465600.000071"}
	own := slackfake.DirectMessage("D0SUPPORT", bot, "Tracing", "1779465600.000072", "")
	own["bot_id"] = slackfake.DefaultBotID
	return [][]byte{
		cb("Ev1", slackfake.AppMention(slackTestChannel, slackTestUser, "<@"+bot+"> "+slackTestReport, "1779465600.000080", "")),
		cb("Ev2", slackfake.AppMention(slackTestChannel, slackTestUser, slackTestReport+" <@"+bot+"|tracebot>", "1779465600.000090", "1779465600.000010")),
		cb("Ev3", slackfake.AppMention("D0SUPPORT", slackTestUser, "<@"+bot+"> "+slackTestReport, "1779465600.000110", "")),
		cb("Ev4", dm),
		cb("Ev5", edited),
		cb("Ev6", own),
		cb("Ev7", map[string]any{"type": "reaction_added", "user": slackTestUser, "reaction": "eyes"}),
		cb("Ev8", nil),
		slackfake.JSON(slackfake.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")),
		[]byte(`{"token":"x","type":"app_rate_limited","team_id":"TFAKE","minute_rate_limited":1779465600,"api_app_id":"AFAKE"}`),
		[]byte(`{"type":"event_callback","event_id":"Ev9","event":{"type":"message","channel_type":"im","user":"U1","text":"s-1"}}`),
		[]byte("{}"), []byte("not json"), {},
	}
}

// FuzzSlackCommands posts arbitrary signed bodies to POST /slack/commands.
func FuzzSlackCommands(f *testing.F) {
	for _, s := range fuzzCommandSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fz := newSlackFuzz(t)
		rec := fz.post("/slack/commands", slackfake.ContentForm, body)
		checkSignedStatus(t, rec, body, true)
		fz.check(t, body)
	})
}

// FuzzSlackInteractivity posts arbitrary signed interaction payloads to
// POST /slack/interactivity: the form field "payload" holds payload, and tail is
// appended to the form as it is, so any form can be reached.
func FuzzSlackInteractivity(f *testing.F) {
	for _, s := range fuzzInteractionSeeds() {
		f.Add(s, []byte(nil))
	}
	f.Add(fuzzInteractionSeeds()[0], []byte("&payload=second"))
	f.Add(fuzzInteractionSeeds()[3], []byte("%zz"))
	f.Add([]byte(nil), []byte("&other=1"))
	f.Fuzz(func(t *testing.T, payload, tail []byte) {
		fz := newSlackFuzz(t)
		body := append([]byte("payload="+url.QueryEscape(string(payload))), tail...)
		rec := fz.post("/slack/interactivity", slackfake.ContentForm, body)
		checkSignedStatus(t, rec, body, true)
		fz.check(t, payload, tail)
	})
}

// FuzzSlackEvents posts arbitrary signed bodies to POST /slack/events.
func FuzzSlackEvents(f *testing.F) {
	for _, s := range fuzzEventSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fz := newSlackFuzz(t)
		rec := fz.post("/slack/events", slackfake.ContentJSON, body)
		checkSignedStatus(t, rec, body, false)
		fz.check(t, body)
	})
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
func FuzzSlackForgedRequests(f *testing.F) {
	cmd, click, ev := fuzzCommandSeeds()[0], slackfake.InteractionForm(json.RawMessage(fuzzInteractionSeeds()[3])), fuzzEventSeeds()[0]
	for i, body := range [][]byte{cmd, click, ev} {
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
		fz := newSlackFuzz(t)
		req := slackfake.NewRequest(fuzzEdgeURL+ep.path, fuzzSigning, time.Now(), ep.contentType, sent)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", signature)
		if flags&fuzzNoTimestamp != 0 {
			req.Header.Del("X-Slack-Request-Timestamp")
		}
		if flags&fuzzNoSignature != 0 {
			req.Header.Del("X-Slack-Signature")
		}
		rec := fz.serve(req)
		if st := rec.Code; st != http.StatusUnauthorized && (st != http.StatusRequestEntityTooLarge || len(sent) <= fuzzMaxBody) {
			t.Errorf("%s: status %d for a forged request, want 401", ep.path, st)
		}
		fz.check(t, body, []byte(secret), []byte(signature))
		if calls := fz.fake.Calls(); len(calls) != 1 || calls[0].Method != "auth.test" {
			t.Errorf("a forged request caused Slack calls: %+v", calls)
		}
		if n := len(fz.fake.ResponsePosts()) + fz.lambda.Requests() + len(fz.net.refusedRequests()); n != 0 {
			t.Errorf("a forged request caused %d outbound requests", n)
		}
	})
}

// fuzzEnvelopeSeeds are Socket Mode envelopes: type and payload.
func fuzzEnvelopeSeeds() []struct {
	typ     string
	payload []byte
} {
	events, interactions := fuzzEventSeeds(), fuzzInteractionSeeds()
	cmd := fuzzCommand(slackTestReport, fuzzRU(1)).Payload()
	gibberish := fuzzCommand("gibberish", fuzzRU(2)).Payload()
	type seed = struct {
		typ     string
		payload []byte
	}
	return []seed{
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
func FuzzSlackSocketEnvelope(f *testing.F) {
	for i, s := range fuzzEnvelopeSeeds() {
		retry, reason := 0, ""
		if i == 1 {
			retry, reason = 1, "timeout"
		}
		f.Add(s.typ, s.payload, retry, reason)
	}
	f.Fuzz(func(t *testing.T, typ string, payload []byte, retry int, reason string) {
		if typ == "hello" || typ == "disconnect" || !json.Valid(payload) || len(payload) > fuzzMaxEnvelope {
			return
		}
		fz := newSlackFuzz(t)
		stop := runSocket(t, fz.edge, fz.fake)
		env, err := fz.fake.SendEnvelope(slackfake.Envelope{Type: typ, Payload: json.RawMessage(payload),
			RetryAttempt: retry, RetryReason: reason})
		if err != nil {
			t.Fatal(err)
		}
		fuzzPoll(t, "the ack of "+env, func() bool {
			_, ok := fz.fake.Acked(env)
			return ok
		})
		if err := stop(); err != nil {
			t.Errorf("RunSocketMode = %v after cancel, want nil", err)
		}
		ack, _ := fz.fake.Acked(env)
		fz.acks = append(fz.acks, string(ack))
		fz.check(t, []byte(typ), payload, []byte(reason))
	})
}

// TestSlackFuzzHarness checks that the fuzz targets reach what they claim to:
// a seed command is traced and answered in the fake Slack, a seed response_url
// reaches the fake's response URLs, a foreign one stays on this machine, and the
// logs are among the outputs searched for canaries.
func TestSlackFuzzHarness(t *testing.T) {
	t.Run("a seed command is traced", func(t *testing.T) {
		fz := newSlackFuzz(t)
		rec := fz.post("/slack/commands", slackfake.ContentForm, fuzzCommandSeeds()[0])
		checkSignedStatus(t, rec, fuzzCommandSeeds()[0], true)
		fz.check(t)
		if len(fz.botReplies(slackTestChannel, fz.rootMessage(slackTestChannel).TS)) == 0 {
			t.Error("no trace result in the thread")
		}
	})
	t.Run("a seed response_url reaches the fake", func(t *testing.T) {
		fz := newSlackFuzz(t)
		fz.post("/slack/interactivity", slackfake.ContentForm, slackfake.InteractionForm(json.RawMessage(fuzzInteractionSeeds()[1])))
		fz.check(t)
		if posts := fz.fake.ResponsePosts(); len(posts) != 1 || !strings.HasSuffix(posts[0].URL, "/response/1") {
			t.Errorf("response posts: %+v", posts)
		}
	})
	t.Run("a foreign response_url stays here", func(t *testing.T) {
		fz := newSlackFuzz(t)
		fz.post("/slack/commands", slackfake.ContentForm, fuzzCommandSeeds()[6])
		fz.check(t)
		if r := fz.net.refusedRequests(); len(r) == 0 || !strings.Contains(r[0], "elsewhere.test") {
			t.Errorf("refused requests: %q", r)
		}
	})
	t.Run("the checks see a leak", func(t *testing.T) {
		fz := newSlackFuzz(t)
		_, _ = fz.logs.Write([]byte("token=" + fuzzBotToken))
		found := false
		for _, o := range fz.outputs(t) {
			found = found || strings.Contains(o.text, fuzzBotToken)
		}
		if !found {
			t.Error("a canary in the logs is not among the outputs checked")
		}
		fz.shutdown()
	})
}
