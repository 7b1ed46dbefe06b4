package larkfake

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// This file builds what Lark sends to an app: events and callbacks in the schema
// 2.0 envelope, encrypted and signed as Lark does when an encrypt key is set.

// Mention is one @mention in a message event.
type Mention struct {
	Key    string // "@_user_1"
	OpenID string
	Name   string
}

// MessageEvent is an im.message.receive_v1 event.
type MessageEvent struct {
	EventID      string
	Token        string // the verification token
	AppID        string
	TenantKey    string
	ChatID       string
	ChatType     string // "p2p" or "group"
	MessageID    string
	SenderOpenID string
	SenderType   string // "user" (default) or "app"
	MessageType  string // "text" (default) or "post", …
	Text         string // the text of a text message
	Content      string // raw content JSON; overrides Text
	Mentions     []Mention
	CreateTime   time.Time // zero: now
}

// JSON is the event as Lark sends it.
func (e MessageEvent) JSON() []byte {
	if e.SenderType == "" {
		e.SenderType = "user"
	}
	if e.MessageType == "" {
		e.MessageType = "text"
	}
	content := e.Content
	if content == "" {
		b, _ := json.Marshal(map[string]string{"text": e.Text})
		content = string(b)
	}
	mentions := make([]map[string]any, 0, len(e.Mentions))
	for _, m := range e.Mentions {
		mentions = append(mentions, map[string]any{
			"key": m.Key, "name": m.Name, "tenant_key": e.TenantKey,
			"id": map[string]string{"open_id": m.OpenID, "union_id": "on_" + m.OpenID, "user_id": ""},
		})
	}
	ms := millis(e.CreateTime)
	return mustJSON(map[string]any{
		"schema": "2.0",
		"header": header(e.EventID, "im.message.receive_v1", e.Token, e.AppID, e.TenantKey, ms),
		"event": map[string]any{
			"sender": map[string]any{
				"sender_id":   map[string]string{"open_id": e.SenderOpenID, "union_id": "on_" + e.SenderOpenID, "user_id": ""},
				"sender_type": e.SenderType, "tenant_key": e.TenantKey,
			},
			"message": map[string]any{
				"message_id": e.MessageID, "root_id": "", "parent_id": "", "create_time": ms, "update_time": ms,
				"chat_id": e.ChatID, "chat_type": e.ChatType, "message_type": e.MessageType,
				"content": content, "mentions": mentions, "user_agent": "Mozilla/5.0 Lark/7.30",
			},
		},
	})
}

// CardAction is a card.action.trigger callback: a click on a card's button.
type CardAction struct {
	EventID        string
	Token          string // the verification token
	AppID          string
	TenantKey      string
	OperatorOpenID string
	ChatID         string
	MessageID      string
	Value          map[string]any // the button's value
	CardToken      string         // the card update token ("c-…"); default derived from EventID
}

// JSON is the callback as Lark sends it.
func (c CardAction) JSON() []byte {
	if c.CardToken == "" {
		c.CardToken = "c-" + c.EventID
	}
	return mustJSON(map[string]any{
		"schema": "2.0",
		"header": header(c.EventID, "card.action.trigger", c.Token, c.AppID, c.TenantKey, millis(time.Time{})),
		"event": map[string]any{
			"operator": map[string]any{"tenant_key": c.TenantKey, "open_id": c.OperatorOpenID, "union_id": "on_" + c.OperatorOpenID},
			"token":    c.CardToken,
			"action":   map[string]any{"value": c.Value, "tag": "button"},
			"host":     "im_message",
			"context":  map[string]string{"open_message_id": c.MessageID, "open_chat_id": c.ChatID},
		},
	})
}

// URLVerification is the challenge Lark sends when a request URL is saved.
func URLVerification(token, challenge string) []byte {
	return mustJSON(map[string]string{"challenge": challenge, "token": token, "type": "url_verification"})
}

func header(id, typ, token, appID, tenant, ms string) map[string]string {
	return map[string]string{"event_id": id, "event_type": typ, "create_time": ms, "token": token, "app_id": appID, "tenant_key": tenant}
}

func millis(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings and slices: cannot happen
	}
	return b
}

// Encrypt wraps plain as Lark does with an encrypt key: AES-256-CBC with key
// sha256(encryptKey), PKCS#7 padding, a random IV prepended, base64, in
// {"encrypt": "…"}.
func Encrypt(encryptKey string, plain []byte) []byte {
	key := sha256.Sum256([]byte(encryptKey))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	out := make([]byte, aes.BlockSize+len(padded))
	if _, err := rand.Read(out[:aes.BlockSize]); err != nil {
		panic(err)
	}
	cipher.NewCBCEncrypter(block, out[:aes.BlockSize]).CryptBlocks(out[aes.BlockSize:], padded)
	return mustJSON(map[string]string{"encrypt": base64.StdEncoding.EncodeToString(out)})
}

// Sign is X-Lark-Signature: hex sha256(timestamp + nonce + encryptKey + body).
func Sign(timestamp, nonce, encryptKey string, body []byte) string {
	sum := sha256.Sum256([]byte(timestamp + nonce + encryptKey + string(body)))
	return hex.EncodeToString(sum[:])
}

// WebhookRequest is the request Lark makes to an app's request URL with plain:
// with an encrypt key, the body is encrypted and the request signed (timestamp
// and nonce headers set); without one, plain is sent as is, unsigned.
func WebhookRequest(url string, plain []byte, encryptKey string) *http.Request {
	body := plain
	if encryptKey != "" {
		body = Encrypt(encryptKey, plain)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		panic(fmt.Sprintf("larkfake: webhook request: %v", err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if encryptKey != "" {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		nonce := randomHex(8)
		req.Header.Set("X-Lark-Request-Timestamp", ts)
		req.Header.Set("X-Lark-Request-Nonce", nonce)
		req.Header.Set("X-Lark-Signature", Sign(ts, nonce, encryptKey, body))
	}
	return req
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
