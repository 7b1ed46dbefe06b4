// Package slackfake is a fake Slack for tests: the Web API methods tracebot calls
// (auth.test, chat.postMessage, chat.update, chat.postEphemeral,
// usergroups.users.list, conversations.info, apps.connections.open, and the
// external file upload: files.getUploadURLExternal, the upload URL,
// files.completeUploadExternal), response_url endpoints, and a
// Socket Mode WebSocket endpoint speaking Slack's envelope protocol. It also builds
// requests the way Slack sends them to an app (signed slash commands, interactivity
// payloads, Events API callbacks).
//
// The fake answers like Slack: the same JSON shapes, error codes (invalid_auth,
// not_in_channel, message_not_found, invalid_blocks, msg_too_long, ratelimited
// with Retry-After), and Block Kit limits are enforced, so a message Slack would
// refuse is refused here too. Every call is recorded with its full payload; the
// token it carried is kept apart so tests can check payloads for leaks.
//
// slack-go's slacktest lacks chat.update and Socket Mode, hence this package.
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of Config.
const (
	DefaultBotToken  = "xoxb-fake-bot-token"
	DefaultAppToken  = "xapp-fake-app-token"
	DefaultBotUserID = "UTRACEBOT"
	DefaultBotID     = "BTRACEBOT"
	DefaultTeamID    = "TFAKE"
	DefaultAppID     = "AFAKE"
)

// Config sets who the fake bot is and which tokens it accepts. Zero fields take
// the defaults above.
type Config struct {
	BotToken  string // required by the bot methods
	AppToken  string // required by apps.connections.open
	BotUserID string // auth.test user_id; the author of the bot's messages
	BotID     string // auth.test bot_id
	TeamID    string
	// PingInterval is how often the Socket Mode endpoint pings each connection
	// (slack-go reconnects when it hears no ping for 30 s). Default 2 s.
	PingInterval time.Duration
}

func (c *Config) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.BotToken, DefaultBotToken)
	def(&c.AppToken, DefaultAppToken)
	def(&c.BotUserID, DefaultBotUserID)
	def(&c.BotID, DefaultBotID)
	def(&c.TeamID, DefaultTeamID)
	if c.PingInterval <= 0 {
		c.PingInterval = 2 * time.Second
	}
}

// Call is one request the fake received.
type Call struct {
	Method string // Web API method ("chat.postMessage"), or "response_url"
	// Token is the credential the call carried (form field or bearer token). It is
	// kept out of Params so that payloads can be checked for leaked secrets.
	Token string
	// Params holds every other form field, or the JSON body's top-level fields
	// (strings as they are, anything else as JSON text).
	Params map[string]string
	Status int    // HTTP status answered
	Error  string // Slack error code answered; "" when ok
	At     time.Time
}

// Payload is the call's parameters as one text ("key=value" lines, sorted), for
// searching.
func (c Call) Payload() string {
	keys := make([]string, 0, len(c.Params))
	for k := range c.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + c.Params[k] + "\n")
	}
	return b.String()
}

// Message is a message as the fake holds it, after any updates.
type Message struct {
	Channel   string
	TS        string
	ThreadTS  string // "" for a root message
	User      string // author; for an ephemeral message, the one who sees it
	BotID     string // set on the bot's messages
	Text      string
	Blocks    json.RawMessage // "" when none
	Ephemeral bool
	Edits     int      // chat.update calls applied
	Files     []string // ids of the files shared with this message (see Files)
}

// ResponsePost is one message posted to a response_url.
type ResponsePost struct {
	URL             string
	ResponseType    string // "ephemeral" or "in_channel"
	Text            string
	Blocks          json.RawMessage
	ThreadTS        string
	ReplaceOriginal bool
}

// Server is the fake. All methods are safe for concurrent use.
type Server struct {
	cfg Config
	srv *httptest.Server

	mu           sync.Mutex
	calls        []Call
	messages     []*Message
	seq          int
	channelFault map[string]string // channel → error code for chat methods
	rateLimits   map[string]*rateLimit
	latency      time.Duration
	groups       map[string][]string
	responseURLs map[string]bool
	responses    []ResponsePost
	changed      chan struct{} // closed and replaced whenever a call is recorded
	files        map[string]*File
	fileOrder    []string

	sock socketState
}

type rateLimit struct{ times, retryAfter int }

// New starts a fake Slack, closed when the test ends.
func New(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s := Start(cfg)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake Slack; the caller must Close it.
func Start(cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{
		cfg:          cfg,
		channelFault: map[string]string{},
		rateLimits:   map[string]*rateLimit{},
		groups:       map[string][]string{},
		responseURLs: map[string]bool{},
		changed:      make(chan struct{}),
		files:        map[string]*File{},
	}
	s.sock.init()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("POST /response/{id}", s.serveResponseURL)
	mux.HandleFunc("POST /upload/{id}", s.serveUpload)
	mux.HandleFunc("/socket/{id}", s.serveSocket)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close shuts the fake down, Socket Mode connections included.
func (s *Server) Close() {
	s.sock.closeAll()
	s.srv.Close()
}

// Config returns the fake's settings (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// APIURL is the Web API base URL ("http://127.0.0.1:port/api/"), for
// TRACEBOT_SLACK_API_URL.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// NewResponseURL returns a fresh response_url, as Slack puts in a slash command or
// interaction payload.
func (s *Server) NewResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	u := s.srv.URL + "/response/" + strconv.Itoa(s.seq)
	s.responseURLs[u] = true
	return u
}

// FailChannel makes chat.postMessage, chat.update and chat.postEphemeral in
// channel answer with code, e.g. "not_in_channel", "channel_not_found",
// "is_archived". An empty code removes the fault.
func (s *Server) FailChannel(channel, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.channelFault, channel)
		return
	}
	s.channelFault[channel] = code
}

// RateLimit makes the next times calls of method answer 429 with Retry-After
// retryAfter seconds.
func (s *Server) RateLimit(method string, times, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimits[method] = &rateLimit{times: times, retryAfter: retryAfter}
}

// SetLatency delays every Web API answer by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetUserGroup declares a user group and its members for usergroups.users.list.
func (s *Server) SetUserGroup(id string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = slices.Clone(users)
}

// AddMessage puts a message by user in channel (under threadTS when set), as if a
// person had posted it, and returns it with its ts.
func (s *Server) AddMessage(channel, user, text, threadTS string) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Message{Channel: channel, TS: s.nextTS(), ThreadTS: threadTS, User: user, Text: text}
	s.messages = append(s.messages, m)
	return *m
}

// Calls returns every call received, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsTo returns the calls of one method, in order.
func (s *Server) CallsTo(method string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns the messages of channel (ephemeral ones included), oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel {
			out = append(out, *m)
		}
	}
	return out
}

// Replies returns the non-ephemeral replies in the thread headed by ts.
func (s *Server) Replies(channel, ts string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.ThreadTS == ts && !m.Ephemeral {
			out = append(out, m)
		}
	}
	return out
}

// ResponsePosts returns the messages posted to response URLs, in order.
func (s *Server) ResponsePosts() []ResponsePost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.responses)
}

// Wait blocks until cond holds, re-checking whenever a call is recorded, or fails
// tb after timeout.
func (s *Server) Wait(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-time.After(50 * time.Millisecond): // conditions may also depend on socket acks
		case <-deadline.C:
			tb.Fatalf("slackfake: timed out after %s waiting for %s", timeout, what)
			return
		}
	}
}

// nextTS returns a new message timestamp; the caller holds s.mu.
func (s *Server) nextTS() string {
	s.seq++
	return fmt.Sprintf("1779465600.%06d", s.seq)
}

// record stores a call; the caller holds s.mu.
func (s *Server) record(c Call) {
	c.At = time.Now()
	s.calls = append(s.calls, c)
	close(s.changed)
	s.changed = make(chan struct{})
}

// request is a parsed Web API request.
type request struct {
	token  string
	params map[string]string
}

// readRequest reads a form or JSON body and the token it carries.
func readRequest(r *http.Request) (request, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return request{}, err
	}
	req := request{params: map[string]string{}}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		req.token = tok
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "application/json":
		if len(strings.TrimSpace(string(body))) == 0 || string(body) == "null" {
			break
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return req, err
		}
		for k, v := range m {
			var str string
			if json.Unmarshal(v, &str) == nil {
				req.params[k] = str
			} else {
				req.params[k] = string(v)
			}
		}
	default:
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return req, err
		}
		for k := range vals {
			req.params[k] = vals.Get(k)
		}
	}
	if tok, ok := req.params["token"]; ok {
		if req.token == "" {
			req.token = tok
		}
		delete(req.params, "token")
	}
	return req, nil
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	req, err := readRequest(r)
	if err != nil {
		s.answer(w, Call{Method: method}, http.StatusBadRequest, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	call := Call{Method: method, Token: req.token, Params: req.params}
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
		}
	}
	if rl := s.takeRateLimit(method); rl > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(rl))
		s.answer(w, call, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	if code := s.authError(method, req.token); code != "" {
		s.answer(w, call, http.StatusOK, map[string]any{"ok": false, "error": code})
		return
	}
	out := s.dispatch(method, req)
	s.answer(w, call, http.StatusOK, out)
}

// answer records the call with its outcome and writes out as JSON.
func (s *Server) answer(w http.ResponseWriter, c Call, status int, out map[string]any) {
	c.Status = status
	if ok, _ := out["ok"].(bool); !ok {
		c.Error, _ = out["error"].(string)
	}
	s.mu.Lock()
	s.record(c)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// takeRateLimit returns the Retry-After to answer method with, or 0.
func (s *Server) takeRateLimit(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	rl := s.rateLimits[method]
	if rl == nil || rl.times <= 0 {
		return 0
	}
	rl.times--
	return rl.retryAfter
}

// authError checks the token a method needs.
func (s *Server) authError(method, token string) string {
	want := s.cfg.BotToken
	if method == "apps.connections.open" {
		want = s.cfg.AppToken
	}
	switch {
	case token == "":
		return "not_authed"
	case token != want:
		return "invalid_auth"
	}
	return ""
}

func (s *Server) dispatch(method string, req request) map[string]any {
	switch method {
	case "auth.test":
		return map[string]any{"ok": true, "url": "https://fake.slack.com/", "team": "Fake", "user": "tracebot",
			"team_id": s.cfg.TeamID, "user_id": s.cfg.BotUserID, "bot_id": s.cfg.BotID}
	case "chat.postMessage":
		return s.postMessage(req.params, false)
	case "chat.postEphemeral":
		return s.postMessage(req.params, true)
	case "chat.update":
		return s.update(req.params)
	case "usergroups.users.list":
		return s.groupMembers(req.params["usergroup"])
	case "files.getUploadURLExternal":
		return s.getUploadURL(req.params)
	case "files.completeUploadExternal":
		return s.completeUpload(req.params)
	case "conversations.info":
		return s.conversationInfo(req.params["channel"])
	case "apps.connections.open":
		return map[string]any{"ok": true, "url": s.sock.newURL(s.srv.URL)}
	}
	return map[string]any{"ok": false, "error": "unknown_method"}
}

func fail(code string, details ...string) map[string]any {
	out := map[string]any{"ok": false, "error": code}
	if len(details) > 0 {
		msgs := make([]string, len(details))
		for i, d := range details {
			msgs[i] = "[ERROR] " + d
		}
		out["errors"] = details
		out["response_metadata"] = map[string]any{"messages": msgs}
	}
	return out
}

// checkContent applies Slack's checks to a message's text and blocks.
func checkContent(p map[string]string) map[string]any {
	if len([]rune(p["text"])) > MaxMessageText {
		return fail("msg_too_long")
	}
	blocks := p["blocks"]
	if blocks != "" {
		if err := ValidateBlocks([]byte(blocks)); err != nil {
			return fail("invalid_blocks", err.Error())
		}
	}
	if strings.TrimSpace(p["text"]) == "" && (blocks == "" || blocks == "[]") {
		return fail("no_text")
	}
	return nil
}

func (s *Server) postMessage(p map[string]string, ephemeral bool) map[string]any {
	ch := p["channel"]
	if ch == "" {
		return fail("channel_not_found")
	}
	if bad := checkContent(p); bad != nil {
		return bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := s.channelFault[ch]; code != "" {
		return fail(code)
	}
	m := &Message{Channel: ch, ThreadTS: p["thread_ts"], User: s.cfg.BotUserID, BotID: s.cfg.BotID,
		Text: p["text"], Blocks: rawBlocks(p["blocks"]), TS: s.nextTS()}
	if ephemeral {
		if p["user"] == "" {
			return fail("user_not_in_channel")
		}
		m.User, m.Ephemeral = p["user"], true
	}
	s.messages = append(s.messages, m)
	if ephemeral {
		return map[string]any{"ok": true, "message_ts": m.TS}
	}
	return map[string]any{"ok": true, "channel": ch, "ts": m.TS,
		"message": map[string]any{"type": "message", "text": m.Text, "user": m.User, "bot_id": m.BotID, "ts": m.TS, "thread_ts": m.ThreadTS}}
}

func (s *Server) update(p map[string]string) map[string]any {
	ch, ts := p["channel"], p["ts"]
	if bad := checkContent(p); bad != nil {
		return bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := s.channelFault[ch]; code != "" {
		return fail(code)
	}
	for _, m := range s.messages {
		if m.Channel != ch || m.TS != ts || m.Ephemeral {
			continue
		}
		if m.User != s.cfg.BotUserID {
			return fail("cant_update_message")
		}
		m.Text, m.Edits = p["text"], m.Edits+1
		if b, ok := p["blocks"]; ok {
			m.Blocks = rawBlocks(b)
		}
		return map[string]any{"ok": true, "channel": ch, "ts": ts, "text": m.Text}
	}
	return fail("message_not_found")
}

func rawBlocks(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// conversationInfo answers conversations.info: every channel exists and has the
// bot as a member, unless FailChannel said otherwise (channel_not_found: it does
// not exist; not_in_channel: the bot is not a member; is_archived: archived).
// Channels whose id starts with G are private.
func (s *Server) conversationInfo(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := s.channelFault[id]
	if id == "" || code == "channel_not_found" {
		return fail("channel_not_found")
	}
	return map[string]any{"ok": true, "channel": map[string]any{"id": id, "name": strings.ToLower(id), "is_channel": true,
		"is_member": code != "not_in_channel", "is_archived": code == "is_archived", "is_private": strings.HasPrefix(id, "G")}}
}

func (s *Server) groupMembers(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	users, ok := s.groups[id]
	if !ok {
		return fail("no_such_subteam")
	}
	return map[string]any{"ok": true, "users": slices.Clone(users)}
}

// serveResponseURL takes a message posted to a response_url (JSON, no token).
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	u := s.srv.URL + r.URL.Path
	req, err := readRequest(r)
	call := Call{Method: "response_url", Token: req.token, Params: req.params}
	s.mu.Lock()
	known := s.responseURLs[u]
	s.mu.Unlock()
	switch {
	case err != nil:
		s.answer(w, call, http.StatusBadRequest, fail("invalid_payload"))
		return
	case !known:
		s.answer(w, call, http.StatusNotFound, fail("expired_url"))
		return
	}
	if bad := checkContent(req.params); bad != nil {
		s.answer(w, call, http.StatusBadRequest, bad)
		return
	}
	post := ResponsePost{URL: u, ResponseType: req.params["response_type"], Text: req.params["text"],
		Blocks: rawBlocks(req.params["blocks"]), ThreadTS: req.params["thread_ts"],
		ReplaceOriginal: req.params["replace_original"] == "true"}
	s.mu.Lock()
	s.responses = append(s.responses, post)
	s.mu.Unlock()
	s.answer(w, call, http.StatusOK, map[string]any{"ok": true})
}
