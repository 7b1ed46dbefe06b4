package lark

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"github.com/callytics/tracebot/bot"
)

// This file turns what Lark sends (over HTTP or the long connection, through the
// SDK's dispatcher) into the bot's Message and Action.

// Lark chat types and sender types.
const (
	chatP2P      = "p2p"
	senderUser   = "user"
	msgText      = "text"
	msgPost      = "post"
	toastInfo    = "info"
	toastError   = "error"
	placeholder  = "@_user_"
	traceCommand = "/trace"
)

// onMessage hands an im.message.receive_v1 event to the bot when it is for the bot:
// a direct message, or a group message that @mentions the bot itself. It answers
// at once (the bot queues the work); Lark re-pushes an event it got no answer to
// within 3 s, and the bot dedupes by event id.
func (e *Edge) onMessage(ctx context.Context, ev *larkim.P2MessageReceiveV1) error {
	m, why := e.messageFrom(ev)
	if why != "" {
		e.log.Debug("lark: message ignored", "reason", why)
		return nil
	}
	e.bot.HandleMessage(ctx, m)
	return nil
}

// messageFrom converts the event, or says why it is not for the bot.
func (e *Edge) messageFrom(ev *larkim.P2MessageReceiveV1) (bot.Message, string) {
	if ev == nil || ev.Event == nil || ev.Event.Message == nil || ev.Event.Sender == nil {
		return bot.Message{}, "incomplete event"
	}
	msg, sender := ev.Event.Message, ev.Event.Sender
	user := ""
	if sender.SenderId != nil {
		user = deref(sender.SenderId.OpenId)
	}
	self := e.BotOpenID()
	switch {
	case deref(sender.SenderType) != senderUser:
		return bot.Message{}, "sent by an app or bot"
	case user == "" || user == self:
		return bot.Message{}, "no human sender"
	case deref(msg.MessageId) == "" || deref(msg.ChatId) == "":
		return bot.Message{}, "no message or chat id"
	}
	source := bot.SourceDM
	if deref(msg.ChatType) != chatP2P {
		if self == "" {
			return bot.Message{}, "group message before the bot's open_id is known (Open)"
		}
		if !mentionsUser(msg.Mentions, self) {
			return bot.Message{}, "group message not mentioning the bot"
		}
		source = bot.SourceMention
	}
	id := deref(msg.MessageId)
	m := bot.Message{
		Platform: bot.Lark, Source: source, Channel: deref(msg.ChatId),
		Thread: id, MessageID: id, User: user,
		Text: reportText(deref(msg.MessageType), deref(msg.Content), msg.Mentions, self),
	}
	if ev.EventV2Base != nil && ev.EventV2Base.Header != nil {
		m.DeliveryID = ev.EventV2Base.Header.EventID
	}
	return m, ""
}

// mentionsUser reports whether mentions include the user with open_id self.
func mentionsUser(mentions []*larkim.MentionEvent, self string) bool {
	for _, mn := range mentions {
		if mn != nil && mn.Id != nil && deref(mn.Id.OpenId) == self {
			return true
		}
	}
	return false
}

// reportText is the report in a message: the text of a text or post message,
// with the bot's @_user_N placeholder removed, other mentions written as @name, and
// a leading /trace dropped. Other message types have no report ("").
func reportText(msgType, content string, mentions []*larkim.MentionEvent, self string) string {
	var text string
	switch msgType {
	case msgText:
		var c struct {
			Text string `json:"text"`
		}
		if json.Unmarshal([]byte(content), &c) != nil {
			return ""
		}
		text = c.Text
	case msgPost:
		text = postText(content)
	default:
		return ""
	}
	text = replaceMentions(text, mentions, self)
	return stripCommand(strings.TrimSpace(text))
}

// replaceMentions rewrites the @_user_N placeholders: the bot's go, others
// become @name. Longer keys go first so @_user_1 does not eat @_user_10.
func replaceMentions(text string, mentions []*larkim.MentionEvent, self string) string {
	ms := make([]*larkim.MentionEvent, 0, len(mentions))
	for _, mn := range mentions {
		if mn != nil && deref(mn.Key) != "" {
			ms = append(ms, mn)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return len(deref(ms[i].Key)) > len(deref(ms[j].Key)) })
	for _, mn := range ms {
		with := "@" + deref(mn.Name)
		if mn.Id != nil && deref(mn.Id.OpenId) == self {
			with = " "
		}
		text = strings.ReplaceAll(text, deref(mn.Key), with)
	}
	return leftoverPlaceholder.ReplaceAllString(text, " ")
}

// leftoverPlaceholder matches placeholders the mentions did not explain.
var leftoverPlaceholder = regexp.MustCompile(`@_user_\d+`)

// stripCommand drops a leading "/trace" (the report follows it).
func stripCommand(text string) string {
	rest, ok := strings.CutPrefix(text, traceCommand)
	if !ok || (rest != "" && !strings.ContainsAny(rest[:1], " \t\n")) {
		return text
	}
	return strings.TrimSpace(rest)
}

// postText flattens a rich-text (post) message: one line per paragraph,
// text, links and @placeholders kept. Lark sends {"title", "content"}, or the same
// under a locale key.
func postText(content string) string {
	type elem struct {
		Tag    string `json:"tag"`
		Text   string `json:"text"`
		UserID string `json:"user_id"`
		Href   string `json:"href"`
	}
	type post struct {
		Title   string   `json:"title"`
		Content [][]elem `json:"content"`
	}
	var p post
	if json.Unmarshal([]byte(content), &p) != nil {
		return ""
	}
	if p.Content == nil {
		var byLocale map[string]post
		if json.Unmarshal([]byte(content), &byLocale) != nil {
			return ""
		}
		if keys := sortedKeys(byLocale); len(keys) > 0 {
			p = byLocale[keys[0]]
		}
	}
	lines := []string{}
	if p.Title != "" {
		lines = append(lines, p.Title)
	}
	for _, para := range p.Content {
		var b strings.Builder
		for _, el := range para {
			switch el.Tag {
			case "at":
				b.WriteString(el.UserID)
			default:
				b.WriteString(el.Text)
			}
		}
		lines = append(lines, b.String())
	}
	return strings.Join(lines, "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// onCardAction hands a card.action.trigger callback (a button click) to the bot and
// answers within Lark's 3 s with a toast; the card itself is updated later with
// PATCH. A button value that does not decode gets an error toast and no effect.
func (e *Edge) onCardAction(ctx context.Context, ev *callback.CardActionTriggerEvent) (*callback.CardActionTriggerResponse, error) {
	a, ok := e.actionFrom(ev)
	if !ok {
		return toast(toastError, bot.T(e.cfg.Lang, "stale_button")), nil
	}
	ack := e.bot.HandleAction(ctx, a)
	if ack.Toast == "" {
		return &callback.CardActionTriggerResponse{}, nil
	}
	return toast(toastInfo, ack.Toast), nil
}

// actionFrom converts a click; ok is false when it carries no valid ActionValue.
func (e *Edge) actionFrom(ev *callback.CardActionTriggerEvent) (bot.Action, bool) {
	if ev == nil || ev.Event == nil || ev.Event.Action == nil || ev.Event.Operator == nil {
		return bot.Action{}, false
	}
	raw, _ := ev.Event.Action.Value[valueKey].(string)
	v, err := bot.DecodeActionValue(raw)
	if err != nil {
		e.log.Warn("lark: card action with an unreadable value", "err", err)
		return bot.Action{}, false
	}
	a := bot.Action{Platform: bot.Lark, User: ev.Event.Operator.OpenID, Value: v, DeliveryID: ev.Event.Token}
	if ev.EventV2Base != nil && ev.EventV2Base.Header != nil && ev.EventV2Base.Header.EventID != "" {
		a.DeliveryID = ev.EventV2Base.Header.EventID
	}
	if c := ev.Event.Context; c != nil {
		a.Message = bot.Ref{Channel: c.OpenChatID, ID: c.OpenMessageID}
	}
	if a.User == "" || a.Message.ID == "" {
		return bot.Action{}, false
	}
	return a, true
}

func toast(kind, text string) *callback.CardActionTriggerResponse {
	return &callback.CardActionTriggerResponse{Toast: &callback.Toast{Type: kind, Content: text}}
}
