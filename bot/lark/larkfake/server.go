// Package larkfake is a fake Lark/Feishu open platform for tests: the open API the
// bot calls (tenant_access_token/internal, bot/v3/info, im/v1 messages create,
// reply and patch, ephemeral/v1/send, im/v1 images,
// chats/:chat_id/members/is_in_chat), the long connection's gateway (the
// bootstrap endpoint and a websocket speaking the SDK's protobuf frames), and
// builders for what Lark sends (events and card callbacks, plain or encrypted and
// signed as Lark does).
//
// Point the SDK at it with lark.WithOpenBaseUrl(s.URL()) and
// larkws.WithDomain(s.URL()). It behaves like Lark where the bot depends on it:
// tenant tokens are required and checked, the bot must be in a chat to post,
// replies and sends with a uuid already used return the first message, card
// content is checked (JSON, 30 KB, update_multi for PATCH), and more than 5
// updates a second of one message are refused.
package larkfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Lark error codes the fake answers with.
const (
	CodeOK                  = 0
	CodeInvalidParam        = 230001
	CodeBotNotInChat        = 230002
	CodeNotSender           = 230017
	CodeRateLimited         = 230020
	CodeContentTooLong      = 230025
	CodeAppSecretInvalid    = 10014
	CodeTenantTokenInvalid  = 99991663
	CodeMissingAccessToken  = 99991661
	CodeInternalServerError = 230099
)

// CardLimit is the largest card content Lark accepts (30 KB).
const CardLimit = 30 * 1024

// PatchesPerSecond is how many updates of one message Lark allows a second.
const PatchesPerSecond = 5

// Op names an open API operation, for Fail.
type Op string

// Operations.
const (
	OpToken     Op = "tenant_access_token"
	OpBotInfo   Op = "bot.info"
	OpCreate    Op = "im.message.create"
	OpReply     Op = "im.message.reply"
	OpPatch     Op = "im.message.patch"
	OpEphemeral Op = "ephemeral.send"
	OpInChat    Op = "im.chat.members.is_in_chat"
	OpWSStart   Op = "ws.endpoint"
)

// Options describe the app the fake serves.
type Options struct {
	AppID     string // default "cli_fake"
	AppSecret string // required: the tenant token and ws bootstrap check it
	BotOpenID string // default "ou_bot"
	BotName   string // default "tracebot"
	TenantKey string // default "tenant_fake"
}

func (o *Options) setDefaults() {
	if o.AppID == "" {
		o.AppID = "cli_fake"
	}
	if o.BotOpenID == "" {
		o.BotOpenID = "ou_bot"
	}
	if o.BotName == "" {
		o.BotName = "tracebot"
	}
	if o.TenantKey == "" {
		o.TenantKey = "tenant_fake"
	}
}

// Message is a message the fake holds: one a test added (a user's), or one the
// bot sent.
type Message struct {
	ID       string
	ChatID   string
	ParentID string // the message replied to
	RootID   string // the thread's first message
	ThreadID string // set for replies in a thread
	MsgType  string // "interactive", "text"
	// Contents holds the content as sent, then after each PATCH; the last is current.
	Contents      []string
	UUID          string
	ReplyInThread bool
	FromBot       bool
	ReceiveIDType string // how a sent message was addressed (create; "open_id" for an ephemeral card)
	ReceiveID     string
	// Ephemeral is set on a card only ReceiveID sees in ChatID (ephemeral/v1/send).
	Ephemeral bool
}

// Content is the message's current content.
func (m Message) Content() string { return m.Contents[len(m.Contents)-1] }

// Request is one request the fake received, kept for leak checks. Long-connection
// answers from the client are recorded with Method "WS".
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Server is the fake. All methods are safe for concurrent use.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu        sync.Mutex
	seq       int
	messages  map[string]*Message
	order     []string
	uuids     map[string]string // uuid → message id
	outOf     map[string]bool   // chats the bot is not in
	p2p       map[string]string // open_id → p2p chat id
	patches   map[string][]time.Time
	requests  []Request
	faults    map[Op]*fault
	tokenHits int
	images    []Image

	ws *gateway
}

type fault struct {
	code, status, times int // times < 0: every request
	msg                 string
}

// New starts a fake, closed when the test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	opts.setDefaults()
	if opts.AppSecret == "" {
		tb.Fatal("larkfake: Options.AppSecret is required")
	}
	s := &Server{
		opts: opts, messages: map[string]*Message{}, uuids: map[string]string{}, outOf: map[string]bool{},
		p2p: map[string]string{}, patches: map[string][]time.Time{}, faults: map[Op]*fault{},
	}
	s.ws = newGateway(s)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /open-apis/auth/v3/tenant_access_token/internal", s.serveToken)
	mux.HandleFunc("GET /open-apis/bot/v3/info", s.authed(OpBotInfo, s.serveBotInfo))
	mux.HandleFunc("POST /open-apis/im/v1/messages", s.authed(OpCreate, s.serveCreate))
	mux.HandleFunc("POST /open-apis/im/v1/messages/{id}/reply", s.authed(OpReply, s.serveReply))
	mux.HandleFunc("PATCH /open-apis/im/v1/messages/{id}", s.authed(OpPatch, s.servePatch))
	mux.HandleFunc("POST /open-apis/ephemeral/v1/send", s.authed(OpEphemeral, s.serveEphemeral))
	mux.HandleFunc("POST /open-apis/im/v1/images", s.authed(OpImage, s.serveImage))
	mux.HandleFunc("GET /open-apis/im/v1/chats/{chat}/members/is_in_chat", s.authed(OpInChat, s.serveIsInChat))
	mux.HandleFunc("POST /callback/ws/endpoint", s.ws.serveEndpoint)
	mux.HandleFunc("GET /ws", s.ws.serveSocket)
	s.srv = httptest.NewServer(s.record(mux))
	tb.Cleanup(func() {
		s.ws.closeAll()
		s.srv.Close()
	})
	return s
}

// URL is the base URL, for lark.WithOpenBaseUrl and larkws.WithDomain.
func (s *Server) URL() string { return s.srv.URL }

// Options returns the app the fake serves (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// TenantToken is the token the fake issues to the app. It depends only on the
// app's id and secret, so a token the SDK cached (its cache is process-wide) from
// another fake with the same app stays valid.
func (s *Server) TenantToken() string {
	sum := sha256.Sum256([]byte("larkfake\x00" + s.opts.AppID + "\x00" + s.opts.AppSecret))
	return "t-" + hex.EncodeToString(sum[:16])
}

// AddMessage records a user's message in chat, so the bot can reply to it.
func (s *Server) AddMessage(chatID, messageID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages[messageID] = &Message{ID: messageID, ChatID: chatID, MsgType: "text", Contents: []string{`{"text":""}`}}
}

// RemoveBot takes the bot out of chat: posting there fails with CodeBotNotInChat.
func (s *Server) RemoveBot(chatID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outOf[chatID] = true
}

// SetP2PChat says which chat a direct message to openID lands in (default
// "oc_p2p_<openID>").
func (s *Server) SetP2PChat(openID, chatID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p2p[openID] = chatID
}

// Fail makes the next times requests of op fail with Lark code and HTTP status;
// times <= 0 fails every one. A failed request changes nothing.
func (s *Server) Fail(op Op, code, status, times int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times <= 0 {
		times = -1
	}
	s.faults[op] = &fault{code: code, status: status, times: times, msg: msg}
}

// Messages returns every message, in the order they were added or sent.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.copyOf(id))
	}
	return out
}

// Sent returns the messages the bot sent, in order.
func (s *Server) Sent() []Message {
	var out []Message
	for _, m := range s.Messages() {
		if m.FromBot {
			out = append(out, m)
		}
	}
	return out
}

// Message returns one message by id.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.messages[id]; !ok {
		return Message{}, false
	}
	return s.copyOf(id), true
}

func (s *Server) copyOf(id string) Message {
	m := *s.messages[id]
	m.Contents = slices.Clone(m.Contents)
	return m
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r
		out[i].Header = r.Header.Clone()
		out[i].Body = slices.Clone(r.Body)
	}
	return out
}

// TokenRequests is how many tenant tokens were asked for.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenHits
}

// record keeps a copy of each request.
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		s.addRequest(Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		next.ServeHTTP(w, r)
	})
}

func (s *Server) addRequest(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

// takeFault returns the injected failure for op, if any is left.
func (s *Server) takeFault(op Op) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults[op]
	if f == nil || f.times == 0 {
		return nil
	}
	if f.times > 0 {
		f.times--
	}
	c := *f
	return &c
}

// answer writes Lark's JSON envelope {"code", "msg", ...extra}.
func answer(w http.ResponseWriter, status, code int, msg string, extra map[string]any) {
	out := map[string]any{"code": code, "msg": msg}
	for k, v := range extra {
		out[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Tt-Logid", "log-fake-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenHits++
	s.mu.Unlock()
	if f := s.takeFault(OpToken); f != nil {
		answer(w, f.status, f.code, f.msg, nil)
		return
	}
	var in struct {
		AppID     string `json:"app_id"`
		AppSecret string `json:"app_secret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.AppID != s.opts.AppID || in.AppSecret != s.opts.AppSecret {
		answer(w, http.StatusBadRequest, CodeAppSecretInvalid, "app secret invalid", nil)
		return
	}
	answer(w, http.StatusOK, CodeOK, "ok", map[string]any{"tenant_access_token": s.TenantToken(), "expire": 7200})
}

// authed checks the tenant token and injected failures before h.
func (s *Server) authed(op Op, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch {
		case auth == "":
			answer(w, http.StatusBadRequest, CodeMissingAccessToken, "Missing access token for authorization.", nil)
			return
		case auth != "Bearer "+s.TenantToken():
			answer(w, http.StatusBadRequest, CodeTenantTokenInvalid, "Invalid access token for authorization.", nil)
			return
		}
		if f := s.takeFault(op); f != nil {
			answer(w, f.status, f.code, f.msg, nil)
			return
		}
		h(w, r)
	}
}

// serveIsInChat answers whether the bot (the tenant token's app) is in the chat:
// it is in every chat but those RemoveBot took it out of.
func (s *Server) serveIsInChat(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	in := !s.outOf[r.PathValue("chat")]
	s.mu.Unlock()
	answer(w, http.StatusOK, CodeOK, "success", map[string]any{"data": map[string]any{"is_in_chat": in}})
}

func (s *Server) serveBotInfo(w http.ResponseWriter, _ *http.Request) {
	answer(w, http.StatusOK, CodeOK, "ok", map[string]any{"bot": map[string]any{
		"activate_status": 2, "app_name": s.opts.BotName, "avatar_url": "", "ip_white_list": []string{},
		"open_id": s.opts.BotOpenID,
	}})
}

// sendBody is the body of create and reply.
type sendBody struct {
	ReceiveID     string `json:"receive_id"`
	MsgType       string `json:"msg_type"`
	Content       string `json:"content"`
	UUID          string `json:"uuid"`
	ReplyInThread bool   `json:"reply_in_thread"`
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request) {
	var in sendBody
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		answer(w, http.StatusBadRequest, CodeInvalidParam, "invalid request body", nil)
		return
	}
	idType := r.URL.Query().Get("receive_id_type")
	chat := in.ReceiveID
	switch idType {
	case "chat_id":
	case "open_id":
		chat = s.p2pChat(in.ReceiveID)
	default:
		answer(w, http.StatusBadRequest, CodeInvalidParam, "invalid receive_id_type", nil)
		return
	}
	if in.ReceiveID == "" {
		answer(w, http.StatusBadRequest, CodeInvalidParam, "receive_id is empty", nil)
		return
	}
	s.send(w, in, Message{ChatID: chat, ReceiveIDType: idType, ReceiveID: in.ReceiveID})
}

func (s *Server) serveReply(w http.ResponseWriter, r *http.Request) {
	var in sendBody
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		answer(w, http.StatusBadRequest, CodeInvalidParam, "invalid request body", nil)
		return
	}
	parent, ok := s.Message(r.PathValue("id"))
	if !ok {
		answer(w, http.StatusBadRequest, CodeInvalidParam, "message not found: "+r.PathValue("id"), nil)
		return
	}
	m := Message{ChatID: parent.ChatID, ParentID: parent.ID, RootID: firstNonEmpty(parent.RootID, parent.ID), ReplyInThread: in.ReplyInThread}
	if in.ReplyInThread {
		m.ThreadID = firstNonEmpty(parent.ThreadID, "omt_"+parent.ID)
	}
	s.send(w, in, m)
}

// send checks and stores a message (or finds the one its uuid already sent).
func (s *Server) send(w http.ResponseWriter, in sendBody, m Message) {
	if code, msg := checkContent(in.MsgType, in.Content, false); code != CodeOK {
		answer(w, http.StatusBadRequest, code, msg, nil)
		return
	}
	if len(in.UUID) > 50 {
		answer(w, http.StatusBadRequest, CodeInvalidParam, "uuid is longer than 50 characters", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outOf[m.ChatID] {
		answer(w, http.StatusBadRequest, CodeBotNotInChat, "Bot/User can NOT be out of the chat.", nil)
		return
	}
	if key := s.unknownImage(in.MsgType, in.Content); key != "" {
		answer(w, http.StatusBadRequest, CodeInvalidParam, "invalid image key "+strconv.Quote(key), nil)
		return
	}
	if id, ok := s.uuids[in.UUID]; ok && in.UUID != "" {
		writeMessage(w, s.messages[id], s.opts)
		return
	}
	s.seq++
	m.ID = fmt.Sprintf("om_fake%04d", s.seq)
	m.MsgType, m.Contents, m.UUID, m.FromBot = in.MsgType, []string{in.Content}, in.UUID, true
	s.messages[m.ID] = &m
	s.order = append(s.order, m.ID)
	if in.UUID != "" {
		s.uuids[in.UUID] = m.ID
	}
	writeMessage(w, &m, s.opts)
}

func writeMessage(w http.ResponseWriter, m *Message, o Options) {
	ms := strconv.FormatInt(time.Now().UnixMilli(), 10)
	answer(w, http.StatusOK, CodeOK, "success", map[string]any{"data": map[string]any{
		"message_id": m.ID, "root_id": m.RootID, "parent_id": m.ParentID, "thread_id": m.ThreadID,
		"msg_type": m.MsgType, "create_time": ms, "update_time": ms, "deleted": false, "updated": false,
		"chat_id": m.ChatID,
		"sender":  map[string]any{"id": o.AppID, "id_type": "app_id", "sender_type": "app", "tenant_key": o.TenantKey},
		"body":    map[string]any{"content": m.Content()},
	}})
}

func (s *Server) servePatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Content string `json:"content"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		answer(w, http.StatusBadRequest, CodeInvalidParam, "invalid request body", nil)
		return
	}
	if code, msg := checkContent("interactive", in.Content, true); code != CodeOK {
		answer(w, http.StatusBadRequest, code, msg, nil)
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	switch {
	case !ok:
		answer(w, http.StatusBadRequest, CodeInvalidParam, "message not found: "+id, nil)
		return
	case !m.FromBot || m.MsgType != "interactive":
		answer(w, http.StatusBadRequest, CodeNotSender, "Only cards the bot sent can be updated.", nil)
		return
	case s.unknownImage(m.MsgType, in.Content) != "":
		answer(w, http.StatusBadRequest, CodeInvalidParam, "invalid image key", nil)
		return
	case !s.patchAllowed(id, time.Now()):
		answer(w, http.StatusBadRequest, CodeRateLimited, "This operation triggers the frequency limit.", nil)
		return
	}
	m.Contents = append(m.Contents, in.Content)
	answer(w, http.StatusOK, CodeOK, "success", nil)
}

// unknownImage is the first image key a card shows that the fake never issued
// (""; also for other message types); the caller holds s.mu.
func (s *Server) unknownImage(msgType, content string) string {
	if msgType != "interactive" {
		return ""
	}
	card, err := ParseCard(content)
	if err != nil {
		return ""
	}
	for _, key := range card.ImageKeys() {
		if !s.knownImage(key) {
			return key
		}
	}
	return ""
}

// patchAllowed applies the per-message update limit; the caller holds s.mu.
func (s *Server) patchAllowed(id string, now time.Time) bool {
	recent := s.patches[id][:0]
	for _, t := range s.patches[id] {
		if now.Sub(t) < time.Second {
			recent = append(recent, t)
		}
	}
	if len(recent) >= PatchesPerSecond {
		s.patches[id] = recent
		return false
	}
	s.patches[id] = append(recent, now)
	return true
}

// serveEphemeral takes a card that only open_id sees in group chat chat_id. As on
// Lark, the bot must be in the chat, the chat must be a group (a direct chat —
// one SetP2PChat named, or the default "oc_p2p_…" — is refused) and the card is an
// object, not a string. The code of the refusal is the fake's choice: the bot
// treats every refusal alike.
func (s *Server) serveEphemeral(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ChatID  string          `json:"chat_id"`
		OpenID  string          `json:"open_id"`
		MsgType string          `json:"msg_type"`
		Card    json.RawMessage `json:"card"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ChatID == "" || in.OpenID == "" || len(in.Card) == 0 || in.Card[0] != '{' {
		answer(w, http.StatusBadRequest, CodeInvalidParam, "chat_id, open_id and a card object are required", nil)
		return
	}
	if code, msg := checkContent(in.MsgType, string(in.Card), false); code != CodeOK {
		answer(w, http.StatusBadRequest, code, msg, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.outOf[in.ChatID]:
		answer(w, http.StatusBadRequest, CodeBotNotInChat, "Bot/User can NOT be out of the chat.", nil)
		return
	case s.isP2P(in.ChatID):
		answer(w, http.StatusBadRequest, CodeInvalidParam, "ephemeral cards can only be sent in group chats", nil)
		return
	}
	s.seq++
	m := &Message{ID: fmt.Sprintf("om_fake%04d", s.seq), ChatID: in.ChatID, MsgType: in.MsgType, Contents: []string{string(in.Card)},
		FromBot: true, ReceiveIDType: "open_id", ReceiveID: in.OpenID, Ephemeral: true}
	s.messages[m.ID] = m
	s.order = append(s.order, m.ID)
	answer(w, http.StatusOK, CodeOK, "success", map[string]any{"data": map[string]any{"message_id": m.ID}})
}

// isP2P reports whether chat is a direct chat with the bot; the caller holds s.mu.
func (s *Server) isP2P(chat string) bool {
	if strings.HasPrefix(chat, "oc_p2p_") {
		return true
	}
	for _, c := range s.p2p {
		if c == chat {
			return true
		}
	}
	return false
}

func (s *Server) p2pChat(openID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.p2p[openID]; ok {
		return c
	}
	return "oc_p2p_" + openID
}

// checkContent checks a message's content as Lark does for the fields the bot
// uses: text is {"text"}, interactive is a card of at most CardLimit bytes whose
// elements are a list, whose buttons carry object values, and which is shared
// (update_multi) when it is to be updated.
func checkContent(msgType, content string, patch bool) (int, string) {
	switch msgType {
	case "text":
		var t struct {
			Text *string `json:"text"`
		}
		if json.Unmarshal([]byte(content), &t) != nil || t.Text == nil {
			return CodeInvalidParam, "text content must be {\"text\": ...}"
		}
		return CodeOK, ""
	case "interactive":
	default:
		return CodeInvalidParam, "unsupported msg_type " + strconv.Quote(msgType)
	}
	if len(content) > CardLimit {
		return CodeContentTooLong, "The length of the message content reaches its limit."
	}
	var card Card
	if err := json.Unmarshal([]byte(content), &card); err != nil {
		return CodeInvalidParam, "card content is not valid JSON: " + err.Error()
	}
	if card.Elements == nil {
		return CodeInvalidParam, "card has no elements"
	}
	if patch && !card.Config.UpdateMulti {
		return CodeInvalidParam, "only shared cards (config.update_multi) can be updated"
	}
	return CodeOK, ""
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
