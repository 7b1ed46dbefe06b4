package bot

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
)

// This file turns what Lark sends (over HTTP or the long connection, through the
// SDK's dispatcher) into the bot's Message and Action.

// Lark chat types and sender types.
const (
	larkChatP2P      = "p2p"
	larkSenderUser   = "user"
	larkMsgText      = "text"
	larkMsgPost      = "post"
	larkToastInfo    = "info"
	larkToastError   = "error"
	larkPlaceholder  = "@_user_"
	larkTraceCommand = "/trace"
)

// onMessage hands an im.message.receive_v1 event to the bot when it is for the bot:
// a direct message, or a group message that @mentions the bot itself. It answers
// at once (the bot queues the work); Lark re-pushes an event it got no answer to
// within 3 s, and the bot dedupes by event id.
func (e *LarkEdge) onMessage(ctx context.Context, ev *larkim.P2MessageReceiveV1) error {
	m, why := e.messageFrom(ev)
	if why != "" {
		e.log.Debug("lark: message ignored", "reason", why)
		return nil
	}
	e.bot.HandleMessage(ctx, m)
	return nil
}

// messageFrom converts the event, or says why it is not for the bot.
func (e *LarkEdge) messageFrom(ev *larkim.P2MessageReceiveV1) (Message, string) {
	if ev == nil || ev.Event == nil || ev.Event.Message == nil || ev.Event.Sender == nil {
		return Message{}, "incomplete event"
	}
	msg, sender := ev.Event.Message, ev.Event.Sender
	user := ""
	if sender.SenderId != nil {
		user = larkDeref(sender.SenderId.OpenId)
	}
	self := e.BotOpenID()
	switch {
	case larkDeref(sender.SenderType) != larkSenderUser:
		return Message{}, "sent by an app or bot"
	case user == "" || user == self:
		return Message{}, "no human sender"
	case larkDeref(msg.MessageId) == "" || larkDeref(msg.ChatId) == "":
		return Message{}, "no message or chat id"
	}
	source := SourceDM
	if larkDeref(msg.ChatType) != larkChatP2P {
		if self == "" {
			return Message{}, "group message before the bot's open_id is known (Open)"
		}
		if !larkMentions(msg.Mentions, self) {
			return Message{}, "group message not mentioning the bot"
		}
		source = SourceMention
	}
	id := larkDeref(msg.MessageId)
	m := Message{
		Platform: Lark, Source: source, Channel: larkDeref(msg.ChatId),
		Thread: id, MessageID: id, User: user,
		Text: larkReportText(larkDeref(msg.MessageType), larkDeref(msg.Content), msg.Mentions, self),
	}
	if ev.EventV2Base != nil && ev.EventV2Base.Header != nil {
		m.DeliveryID = ev.EventV2Base.Header.EventID
	}
	return m, ""
}

// larkMentions reports whether mentions include the user with open_id self.
func larkMentions(mentions []*larkim.MentionEvent, self string) bool {
	for _, mn := range mentions {
		if mn != nil && mn.Id != nil && larkDeref(mn.Id.OpenId) == self {
			return true
		}
	}
	return false
}

// larkReportText is the report in a message: the text of a text or post message,
// with the bot's @_user_N placeholder removed, other mentions written as @name, and
// a leading /trace dropped. Other message types have no report ("").
func larkReportText(msgType, content string, mentions []*larkim.MentionEvent, self string) string {
	var text string
	switch msgType {
	case larkMsgText:
		var c struct {
			Text string `json:"text"`
		}
		if json.Unmarshal([]byte(content), &c) != nil {
			return ""
		}
		text = c.Text
	case larkMsgPost:
		text = larkPostText(content)
	default:
		return ""
	}
	text = larkReplaceMentions(text, mentions, self)
	return larkStripCommand(strings.TrimSpace(text))
}

// larkReplaceMentions rewrites the @_user_N placeholders: the bot's go, others
// become @name. Longer keys go first so @_user_1 does not eat @_user_10.
func larkReplaceMentions(text string, mentions []*larkim.MentionEvent, self string) string {
	ms := make([]*larkim.MentionEvent, 0, len(mentions))
	for _, mn := range mentions {
		if mn != nil && larkDeref(mn.Key) != "" {
			ms = append(ms, mn)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return len(larkDeref(ms[i].Key)) > len(larkDeref(ms[j].Key)) })
	for _, mn := range ms {
		with := "@" + larkDeref(mn.Name)
		if mn.Id != nil && larkDeref(mn.Id.OpenId) == self {
			with = " "
		}
		text = strings.ReplaceAll(text, larkDeref(mn.Key), with)
	}
	return larkLeftoverPlaceholder.ReplaceAllString(text, " ")
}

// larkLeftoverPlaceholder matches placeholders the mentions did not explain.
var larkLeftoverPlaceholder = regexp.MustCompile(`@_user_\d+`)

// larkStripCommand drops a leading "/trace" (the report follows it).
func larkStripCommand(text string) string {
	rest, ok := strings.CutPrefix(text, larkTraceCommand)
	if !ok || (rest != "" && !strings.ContainsAny(rest[:1], " \t\n")) {
		return text
	}
	return strings.TrimSpace(rest)
}

// larkPostText flattens a rich-text (post) message: one line per paragraph,
// text, links and @placeholders kept. Lark sends {"title", "content"}, or the same
// under a locale key.
func larkPostText(content string) string {
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
		if keys := larkSortedKeys(byLocale); len(keys) > 0 {
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

func larkSortedKeys[V any](m map[string]V) []string {
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
func (e *LarkEdge) onCardAction(ctx context.Context, ev *callback.CardActionTriggerEvent) (*callback.CardActionTriggerResponse, error) {
	a, ok := e.actionFrom(ev)
	if !ok {
		return larkToast(larkToastError, t(e.cfg.Lang, "stale_button")), nil
	}
	ack := e.bot.HandleAction(ctx, a)
	if ack.Toast == "" {
		return &callback.CardActionTriggerResponse{}, nil
	}
	return larkToast(larkToastInfo, ack.Toast), nil
}

// actionFrom converts a click; ok is false when it carries no valid ActionValue.
func (e *LarkEdge) actionFrom(ev *callback.CardActionTriggerEvent) (Action, bool) {
	if ev == nil || ev.Event == nil || ev.Event.Action == nil || ev.Event.Operator == nil {
		return Action{}, false
	}
	raw, _ := ev.Event.Action.Value[larkValueKey].(string)
	v, err := DecodeActionValue(raw)
	if err != nil {
		e.log.Warn("lark: card action with an unreadable value", "err", err)
		return Action{}, false
	}
	a := Action{Platform: Lark, User: ev.Event.Operator.OpenID, Value: v, DeliveryID: ev.Event.Token}
	if ev.EventV2Base != nil && ev.EventV2Base.Header != nil && ev.EventV2Base.Header.EventID != "" {
		a.DeliveryID = ev.EventV2Base.Header.EventID
	}
	if c := ev.Event.Context; c != nil {
		a.Message = Ref{Channel: c.OpenChatID, ID: c.OpenMessageID}
	}
	if a.User == "" || a.Message.ID == "" {
		return Action{}, false
	}
	return a, true
}

func larkToast(kind, text string) *callback.CardActionTriggerResponse {
	return &callback.CardActionTriggerResponse{Toast: &callback.Toast{Type: kind, Content: text}}
}
