package slackfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file builds what Slack sends to an app: signed HTTP requests and the
// payloads of slash commands, events and interactions (the same payloads travel
// in Socket Mode envelopes).

// Content types of Slack's requests.
const (
	ContentForm = "application/x-www-form-urlencoded"
	ContentJSON = "application/json"
)

// Signature returns Slack's v0 request signature of body sent at timestamp ts:
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
func Signature(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Sign sets the X-Slack-Request-Timestamp and X-Slack-Signature headers Slack
// sends with body at instant at.
func Sign(h http.Header, secret string, at time.Time, body []byte) {
	ts := strconv.FormatInt(at.Unix(), 10)
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", Signature(secret, ts, body))
}

// NewRequest returns a POST of body to target with contentType, signed with secret
// at instant at, as Slack sends it.
func NewRequest(target, secret string, at time.Time, contentType string, body []byte) *http.Request {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		panic("slackfake: bad target URL: " + err.Error())
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	Sign(req.Header, secret, at, body)
	return req
}

// JSON marshals v; it panics on values that cannot be marshalled (test input).
func JSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("slackfake: " + err.Error())
	}
	return b
}

// Command is a slash command invocation.
type Command struct {
	Command     string // "/trace"
	Text        string
	TeamID      string
	ChannelID   string
	ChannelName string
	UserID      string
	UserName    string
	ResponseURL string
	TriggerID   string
	APIAppID    string
}

func (c Command) fields() map[string]string {
	return map[string]string{
		"token": "deprecated-verification-token", "team_id": c.TeamID, "team_domain": "fake",
		"channel_id": c.ChannelID, "channel_name": c.ChannelName, "user_id": c.UserID,
		"user_name": c.UserName, "command": c.Command, "text": c.Text, "api_app_id": c.APIAppID,
		"is_enterprise_install": "false", "response_url": c.ResponseURL, "trigger_id": c.TriggerID,
	}
}

// Form is the command as Slack posts it over HTTP (form-encoded).
func (c Command) Form() []byte {
	v := url.Values{}
	for k, s := range c.fields() {
		v.Set(k, s)
	}
	return []byte(v.Encode())
}

// Payload is the command as a Socket Mode slash_commands envelope carries it.
func (c Command) Payload() map[string]string { return c.fields() }

// EventCallback wraps an event as the Events API delivers it (the body of
// POST /slack/events, the payload of an events_api envelope).
func EventCallback(teamID, eventID string, event map[string]any) map[string]any {
	return map[string]any{
		"token": "deprecated-verification-token", "team_id": teamID, "api_app_id": DefaultAppID,
		"event": event, "type": "event_callback", "event_id": eventID, "event_time": 1779465600,
		"authorizations": []map[string]any{{"team_id": teamID, "user_id": DefaultBotUserID, "is_bot": true}},
	}
}

// URLVerification is the challenge Slack sends when the events URL is set.
func URLVerification(challenge string) map[string]any {
	return map[string]any{"token": "deprecated-verification-token", "challenge": challenge, "type": "url_verification"}
}

// AppMention is an app_mention event (threadTS "" for a message not in a thread).
func AppMention(channel, user, text, ts, threadTS string) map[string]any {
	ev := map[string]any{"type": "app_mention", "user": user, "text": text, "ts": ts,
		"channel": channel, "event_ts": ts}
	if threadTS != "" {
		ev["thread_ts"] = threadTS
	}
	return ev
}

// DirectMessage is a message.im event: a message in the app's DM channel.
func DirectMessage(channel, user, text, ts, threadTS string) map[string]any {
	ev := map[string]any{"type": "message", "channel_type": "im", "user": user, "text": text,
		"ts": ts, "channel": channel, "event_ts": ts, "client_msg_id": "c-" + ts}
	if threadTS != "" {
		ev["thread_ts"] = threadTS
	}
	return ev
}

// InteractionForm is an interaction payload as Slack posts it over HTTP:
// form-encoded, the JSON in the "payload" field.
func InteractionForm(payload any) []byte {
	return []byte(url.Values{"payload": {string(JSON(payload))}}.Encode())
}

// Shortcut is a message shortcut used on a message.
type Shortcut struct {
	CallbackID  string // "trace_report"
	User        string
	Channel     string
	Message     Message // the message it was used on
	TriggerID   string
	ResponseURL string
}

// Payload is the message_action interaction of s.
func (s Shortcut) Payload() map[string]any {
	msg := map[string]any{"type": "message", "user": s.Message.User, "text": s.Message.Text, "ts": s.Message.TS}
	if s.Message.ThreadTS != "" {
		msg["thread_ts"] = s.Message.ThreadTS
	}
	if s.Message.BotID != "" {
		msg["bot_id"] = s.Message.BotID
	}
	return map[string]any{
		"type": "message_action", "token": "deprecated-verification-token", "action_ts": "1779465600.1",
		"team": map[string]any{"id": DefaultTeamID, "domain": "fake"}, "user": map[string]any{"id": s.User, "name": s.User},
		"channel": map[string]any{"id": s.Channel, "name": "support"}, "callback_id": s.CallbackID,
		"trigger_id": s.TriggerID, "message_ts": s.Message.TS, "message": msg, "response_url": s.ResponseURL,
	}
}

// Button is a button found in a message's blocks.
type Button struct {
	ActionID string
	Value    string
	Text     string
	URL      string
	Style    string
	Confirm  bool // has a confirm dialog
	// ConfirmText is the dialog's text, when it has one.
	ConfirmText string
}

// Buttons lists the buttons of m's actions blocks, in order.
func Buttons(m Message) []Button {
	var blocks []block
	if json.Unmarshal(m.Blocks, &blocks) != nil {
		return nil
	}
	var out []Button
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, raw := range b.Elements {
			var el element
			if json.Unmarshal(raw, &el) != nil || el.Type != "button" {
				continue
			}
			btn := Button{ActionID: el.ActionID, Value: el.Value, URL: el.URL, Style: el.Style, Confirm: el.Confirm != nil}
			if el.Text != nil {
				btn.Text = el.Text.Text
			}
			if el.Confirm != nil && el.Confirm.Text != nil {
				btn.ConfirmText = el.Confirm.Text.Text
			}
			out = append(out, btn)
		}
	}
	return out
}

// Click is a click on a button of a message.
type Click struct {
	User        string
	Message     Message // the message carrying the button
	Button      Button
	TriggerID   string
	ResponseURL string
}

// Payload is the block_actions interaction of c.
func (c Click) Payload() map[string]any {
	m := c.Message
	msg := map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS, "bot_id": m.BotID,
		"blocks": json.RawMessage(orEmptyArray(m.Blocks))}
	container := map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "is_ephemeral": m.Ephemeral}
	if m.ThreadTS != "" {
		msg["thread_ts"] = m.ThreadTS
		container["thread_ts"] = m.ThreadTS
	}
	action := map[string]any{"type": "button", "action_id": c.Button.ActionID, "block_id": "b1",
		"text": map[string]any{"type": "plain_text", "text": c.Button.Text, "emoji": true}, "action_ts": "1779465600.2"}
	if c.Button.Value != "" {
		action["value"] = c.Button.Value
	}
	if c.Button.URL != "" {
		action["url"] = c.Button.URL
	}
	return map[string]any{
		"type": "block_actions", "token": "deprecated-verification-token", "api_app_id": DefaultAppID,
		"user":      map[string]any{"id": c.User, "username": c.User, "team_id": DefaultTeamID},
		"container": container, "trigger_id": c.TriggerID,
		"team":    map[string]any{"id": DefaultTeamID, "domain": "fake"},
		"channel": map[string]any{"id": m.Channel, "name": "support"},
		"message": msg, "response_url": c.ResponseURL, "actions": []any{action},
		"state": map[string]any{"values": map[string]any{}},
	}
}

func orEmptyArray(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("[]")
	}
	return b
}

// NewTriggerID returns a fresh trigger id, as Slack puts in every command and
// interaction.
func (s *Server) NewTriggerID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return "trig-" + strconv.Itoa(s.seq)
}

// BlockText is every text in m's blocks (section, field, context, header and
// button texts, button values and URLs), one per line, decoded from JSON.
func (m Message) BlockText() string { return blockText(m.Blocks) }

// BlockText is every text in p's blocks, as Message.BlockText.
func (p ResponsePost) BlockText() string { return blockText(p.Blocks) }

func blockText(raw json.RawMessage) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return ""
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range []string{"text", "value", "url"} {
				if s, ok := v[k].(string); ok {
					b.WriteString(s + "\n")
				}
			}
			for _, k := range sortedKeys(v) {
				if _, isString := v[k].(string); !isString {
					walk(v[k])
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
