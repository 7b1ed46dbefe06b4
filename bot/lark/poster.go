package lark

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	larksdk "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
	"golang.org/x/time/rate"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/lookup"
)

// Lark open API error codes the edge acts on.
const (
	codeBotNotInChat      = 230002   // the bot is not in the chat
	codeNoAvailability    = 230013   // the user is outside the app's availability
	codeGroupSettings     = 230018   // the group's settings forbid it
	codeMessageRateLimit  = 230020   // too many messages / updates
	codeLackPermission    = 230027   // lacks necessary permissions
	codeSendDenied        = 230035   // may not send in this chat
	codeBotStopped        = 230053   // the user stopped the bot's messages
	codeScopeMissing      = 99991672 // the app lacks the API's scope
	codeFrequencyLimit    = 99991400 // API rate limit
	uUIDPrefix            = "tb-"
	maxUUID               = 50
	methodReply           = "im.message.reply"
	methodCreate          = "im.message.create"
	methodPatch           = "im.message.patch"
	receiveIDChat         = "chat_id"
	receiveIDOpenID       = "open_id"
	msgTypeInteractive    = "interactive"
	defaultRetryAttempts  = 3
	defaultRetryBaseDelay = 500 * time.Millisecond
)

// cannotPostCodes are the codes that mean the bot may not post there: they wrap
// ErrCannotPost, so the core tells the requester privately how to add the bot.
var cannotPostCodes = map[int]bool{
	codeBotNotInChat: true, codeNoAvailability: true, codeGroupSettings: true,
	codeLackPermission: true, codeSendDenied: true, codeBotStopped: true, codeScopeMissing: true,
}

// apiError is a refusal by the Lark open API. It matches ErrCannotPost (with
// errors.Is) when the bot may not post in the chat.
type apiError struct {
	Method string
	Status int // HTTP status
	Code   int
	Msg    string
	LogID  string // Lark's request id, for its support
}

// Error names the call and Lark's code and reason, without the "ErrorValue"
// that card errors end in: it quotes the card, which may hold customer data
// (a Model output answer). The log id finds the whole answer at Lark's support.
func (e *apiError) Error() string {
	s := fmt.Sprintf("lark %s: code %d: %s (HTTP %d", e.Method, e.Code, withoutErrorValue(e.Msg), e.Status)
	if e.LogID != "" {
		s += ", log id " + e.LogID
	}
	return s + ")"
}

// withoutErrorValue cuts a Lark message at its "ErrorValue:" part.
func withoutErrorValue(msg string) string {
	if i := strings.Index(msg, "ErrorValue:"); i >= 0 {
		return strings.TrimRight(msg[:i], " ;") + "; ErrorValue withheld"
	}
	return msg
}

// Is makes errors.Is(err, ErrCannotPost) true for "not allowed in this chat".
func (e *apiError) Is(target error) bool {
	return target == bot.ErrCannotPost && cannotPostCodes[e.Code]
}

// retryable reports whether the request was certainly not carried out and may
// succeed later: a rate limit, or a server error.
func (e *apiError) retryable() bool {
	return e.Code == codeMessageRateLimit || e.Code == codeFrequencyLimit ||
		e.Status >= http.StatusInternalServerError
}

// retryPolicy says how often and how patiently a refused call is tried again.
type retryPolicy struct {
	attempts  int
	baseDelay time.Duration // doubled after each attempt
}

var defaultRetry = retryPolicy{attempts: defaultRetryAttempts, baseDelay: defaultRetryBaseDelay}

// apiCall is one open API call; it returns the raw answer, the code and message
// Lark answered with, or the error that kept it from answering.
type apiCall func(ctx context.Context, c *larksdk.Client) (*larkcore.ApiResp, larkcore.CodeError, error)

// call runs fn with retries: a rate limit or server error is tried again; a
// transport error only when idempotent (the request may have been carried out).
// Failures are counted in Metrics.ChatAPIError.
func (e *Edge) call(ctx context.Context, method string, idempotent bool, fn apiCall) error {
	err := e.callOnce(ctx, method, fn)
	delay := e.retry.baseDelay
	for attempt := 1; err != nil && attempt < e.retry.attempts && retryable(err, idempotent); attempt++ {
		e.log.Warn("lark call failed, retrying", "method", method, "attempt", attempt, "err", err)
		if werr := lookup.Sleep(ctx, delay); werr != nil {
			break
		}
		delay *= 2
		err = e.callOnce(ctx, method, fn)
	}
	if err != nil {
		e.cfg.Metrics.ChatAPIError(bot.Lark, method)
	}
	return err
}

func (e *Edge) callOnce(ctx context.Context, method string, fn apiCall) error {
	c, err := e.apiClient(ctx)
	if err != nil {
		return fmt.Errorf("lark %s: %w", method, err)
	}
	resp, code, err := fn(ctx, c)
	if err != nil {
		return fmt.Errorf("lark %s: %w", method, err)
	}
	if code.Code != 0 {
		apiErr := &apiError{Method: method, Code: code.Code, Msg: code.Msg}
		if resp != nil {
			apiErr.Status, apiErr.LogID = resp.StatusCode, resp.LogId()
		}
		return apiErr
	}
	return nil
}

// retryable reports whether err is worth another attempt.
func retryable(err error, idempotent bool) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return apiErr.retryable()
	}
	return idempotent
}

// Post sends r as an interactive card: as a reply to to.Thread in its thread
// (reply_in_thread) when set, else as a new message in chat to.Channel. dedupeKey
// becomes the request's uuid, so Lark sends a retried request at most once. The
// error wraps ErrCannotPost when the bot is not in the chat or lacks permission.
func (e *Edge) Post(ctx context.Context, to bot.Ref, r bot.Reply, dedupeKey string) (bot.Ref, error) {
	content := cardContent(r, e.cfg.Lang)
	uuid := sendUUID(to.Channel+"\x00"+to.Thread, dedupeKey)
	if to.Thread != "" {
		id, chat, err := e.send(ctx, destination{parent: to.Thread}, content, uuid)
		return bot.Ref{Channel: orElse(to.Channel, chat), Thread: to.Thread, ID: id}, err
	}
	if to.Channel == "" {
		return bot.Ref{}, fmt.Errorf("lark %s: no chat to post in", methodCreate)
	}
	id, chat, err := e.send(ctx, destination{idType: receiveIDChat, receiver: to.Channel}, content, uuid)
	return bot.Ref{Channel: orElse(chat, to.Channel), ID: id}, err
}

// Update replaces the card of a message the bot sent (PATCH), spacing the updates
// of one message by patchInterval, within Lark's 5 a second.
func (e *Edge) Update(ctx context.Context, msg bot.Ref, r bot.Reply) error {
	if msg.ID == "" {
		return fmt.Errorf("lark %s: no message to update", methodPatch)
	}
	if err := e.patchLimiter(msg.ID).Wait(ctx); err != nil {
		return fmt.Errorf("lark %s: wait for the update limit: %w", methodPatch, err)
	}
	content := cardContent(r, e.cfg.Lang)
	return e.call(ctx, methodPatch, true, func(ctx context.Context, c *larksdk.Client) (*larkcore.ApiResp, larkcore.CodeError, error) {
		req := larkim.NewPatchMessageReqBuilder().MessageId(msg.ID).
			Body(larkim.NewPatchMessageReqBodyBuilder().Content(content).Build()).Build()
		resp, err := c.Im.Message.Patch(ctx, req)
		if err != nil {
			return nil, larkcore.CodeError{}, err
		}
		return resp.ApiResp, resp.CodeError, nil
	})
}

// Private answers only the requester, as a direct message from the bot (Lark's
// ephemeral cards need an extra permission and only work in groups).
func (e *Edge) Private(ctx context.Context, m bot.Message, r bot.Reply) error {
	if m.User == "" {
		return fmt.Errorf("lark %s: no user to answer privately", methodCreate)
	}
	content := cardContent(r, e.cfg.Lang)
	key := ""
	if m.DeliveryID != "" {
		sum := sha256.Sum256([]byte(content))
		key = m.DeliveryID + ":private:" + hex.EncodeToString(sum[:8])
	}
	_, _, err := e.send(ctx, destination{idType: receiveIDOpenID, receiver: m.User}, content, sendUUID("user\x00"+m.User, key))
	return err
}

// destination is where a card goes: a reply in the thread of message parent, or
// else a new message to receiver (a chat id or an open_id, per idType).
type destination struct{ parent, idType, receiver string }

// request is the open API call that sends content to d: POST
// /open-apis/im/v1/messages/:message_id/reply (reply_in_thread), or POST
// /open-apis/im/v1/messages?receive_id_type=…; the method name is for errors and
// metrics.
func (d destination) request(content, uuid string) (method string, req *larkcore.ApiReq) {
	body := map[string]any{"msg_type": msgTypeInteractive, "content": content}
	if uuid != "" {
		body["uuid"] = uuid
	}
	req = &larkcore.ApiReq{HttpMethod: http.MethodPost, Body: body, PathParams: larkcore.PathParams{},
		QueryParams: larkcore.QueryParams{}, SupportedAccessTokenTypes: []larkcore.AccessTokenType{larkcore.AccessTokenTypeTenant}}
	if d.parent != "" {
		req.ApiPath = "/open-apis/im/v1/messages/:message_id/reply"
		req.PathParams.Set("message_id", d.parent)
		body["reply_in_thread"] = true
		return methodReply, req
	}
	req.ApiPath = "/open-apis/im/v1/messages"
	req.QueryParams.Set("receive_id_type", d.idType)
	body["receive_id"] = d.receiver
	return methodCreate, req
}

// send sends content to d and returns the new message's id and chat. A uuid makes
// Lark send it at most once, so only then is a failed call retried.
func (e *Edge) send(ctx context.Context, d destination, content, uuid string) (id, chat string, err error) {
	method, req := d.request(content, uuid)
	err = e.call(ctx, method, uuid != "", func(ctx context.Context, c *larksdk.Client) (*larkcore.ApiResp, larkcore.CodeError, error) {
		resp, err := c.Do(ctx, req)
		if err != nil {
			return resp, larkcore.CodeError{}, err
		}
		var out struct {
			larkcore.CodeError
			Data struct {
				MessageID string `json:"message_id"`
				ChatID    string `json:"chat_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(resp.RawBody, &out); err != nil {
			return resp, larkcore.CodeError{}, fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
		}
		id, chat = out.Data.MessageID, out.Data.ChatID
		return resp, out.CodeError, nil
	})
	if err == nil && id == "" {
		err = fmt.Errorf("lark %s: no message id in the answer", method)
	}
	return id, chat, err
}

// patchLimiter is the update limiter of one message.
func (e *Edge) patchLimiter(id string) *rate.Limiter {
	e.limMu.Lock()
	defer e.limMu.Unlock()
	lim, ok := e.limiters.Get(id)
	if !ok {
		lim = rate.NewLimiter(rate.Every(patchInterval), 1)
		e.limiters.Add(id, lim)
	}
	return lim
}

// sendUUID is the uuid of a send: a digest of where it goes and the core's dedupe
// key (Lark keeps at most 50 characters and sends one message per uuid an hour).
// A key made of an empty delivery id (":progress") names nothing and gets none.
func sendUUID(target, dedupeKey string) string {
	if dedupeKey == "" || strings.HasPrefix(dedupeKey, ":") {
		return ""
	}
	sum := sha256.Sum256([]byte(target + "\x00" + dedupeKey))
	id := uUIDPrefix + hex.EncodeToString(sum[:])
	return id[:min(len(id), maxUUID)]
}

// orElse is a, or b when a is empty.
func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
