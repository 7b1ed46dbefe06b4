package lark

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"github.com/callytics/tracebot/bot/lark/larkfake"

	"github.com/callytics/tracebot/bot"
)

func decodeMessage(t *testing.T, ev larkfake.MessageEvent) *larkim.P2MessageReceiveV1 {
	t.Helper()
	var out larkim.P2MessageReceiveV1
	if err := json.Unmarshal(ev.JSON(), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestMessageFrom(t *testing.T) {
	t.Parallel()
	botMention := larkfake.Mention{Key: "@_user_1", OpenID: "ou_bot", Name: "tracebot"}
	other := larkfake.Mention{Key: "@_user_2", OpenID: "ou_carol", Name: "Carol"}
	base := larkfake.MessageEvent{EventID: "ev-1", ChatID: "oc_1", ChatType: "p2p", MessageID: "om_1", SenderOpenID: "ou_alice"}
	with := func(f func(*larkfake.MessageEvent)) larkfake.MessageEvent { e := base; f(&e); return e }
	dm := bot.Message{Platform: bot.Lark, Source: bot.SourceDM, DeliveryID: "ev-1", Channel: "oc_1", Thread: "om_1", MessageID: "om_1", User: "ou_alice"}
	withText := func(m bot.Message, src bot.Source, text string) bot.Message { m.Source, m.Text = src, text; return m }

	tests := []struct {
		name    string
		ev      larkfake.MessageEvent
		want    bot.Message
		ignored bool
	}{
		{"direct message", with(func(e *larkfake.MessageEvent) { e.Text = "(914) 265-4371 5/20 1:15pm" }),
			withText(dm, bot.SourceDM, "(914) 265-4371 5/20 1:15pm"), false},
		{"slash command in a DM", with(func(e *larkfake.MessageEvent) { e.Text = "/trace  (914) 265-4371 5/20" }),
			withText(dm, bot.SourceDM, "(914) 265-4371 5/20"), false},
		{"a word starting with /trace is kept", with(func(e *larkfake.MessageEvent) { e.Text = "/traces are slow" }),
			withText(dm, bot.SourceDM, "/traces are slow"), false},
		{"group @bot", with(func(e *larkfake.MessageEvent) {
			e.ChatType, e.Text, e.Mentions = "group", "@_user_1 (914) 265-4371 5/20 1:15pm", []larkfake.Mention{botMention}
		}), withText(dm, bot.SourceMention, "(914) 265-4371 5/20 1:15pm"), false},
		{"group @bot with /trace and another mention", with(func(e *larkfake.MessageEvent) {
			e.ChatType, e.Text, e.Mentions = "group", "@_user_1 /trace 914-265-4371 for @_user_2", []larkfake.Mention{botMention, other}
		}), withText(dm, bot.SourceMention, "914-265-4371 for @Carol"), false},
		{"group @someone else", with(func(e *larkfake.MessageEvent) {
			e.ChatType, e.Text, e.Mentions = "group", "@_user_2 (914) 265-4371", []larkfake.Mention{other}
		}), bot.Message{}, true},
		{"group without mention", with(func(e *larkfake.MessageEvent) { e.ChatType, e.Text = "group", "(914) 265-4371" }), bot.Message{}, true},
		{"sent by an app", with(func(e *larkfake.MessageEvent) { e.SenderType, e.Text = "app", "(914) 265-4371" }), bot.Message{}, true},
		{"sent by the bot itself", with(func(e *larkfake.MessageEvent) { e.SenderOpenID, e.Text = "ou_bot", "(914) 265-4371" }), bot.Message{}, true},
		{"rich text (post)", with(func(e *larkfake.MessageEvent) {
			e.ChatType, e.MessageType, e.Mentions = "group", "post", []larkfake.Mention{botMention}
			e.Content = `{"title":"","content":[[{"tag":"at","user_id":"@_user_1","user_name":"tracebot"},{"tag":"text","text":" (914) 265-4371"}],[{"tag":"text","text":"5月20日 下午1:15"}]]}`
		}), withText(dm, bot.SourceMention, "(914) 265-4371\n5月20日 下午1:15"), false},
		{"rich text under a locale", with(func(e *larkfake.MessageEvent) {
			e.MessageType = "post"
			e.Content = `{"zh_cn":{"title":"报告","content":[[{"tag":"text","text":"914-265-4371 "},{"tag":"a","text":"link","href":"https://x"}]]}}`
		}), withText(dm, bot.SourceDM, "报告\n914-265-4371 link"), false},
		{"an image has no report", with(func(e *larkfake.MessageEvent) { e.MessageType, e.Content = "image", `{"image_key":"img_1"}` }),
			withText(dm, bot.SourceDM, ""), false},
	}
	e := New(Config{AppID: "cli_test"}, nil)
	e.self.Store(&identity{OpenID: "ou_bot"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, why := e.messageFrom(decodeMessage(t, tc.ev))
			if (why != "") != tc.ignored {
				t.Fatalf("ignored = %q, want ignored %v", why, tc.ignored)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// Before Open has learnt the bot's open_id, no group message can be known to be
// for the bot; direct messages still are.
func TestMessageFromBeforeOpen(t *testing.T) {
	t.Parallel()
	e := New(Config{AppID: "cli_test"}, nil)
	ev := larkfake.MessageEvent{EventID: "ev-1", ChatID: "oc_1", ChatType: "group", MessageID: "om_1", SenderOpenID: "ou_alice",
		Text: "@_user_1 914-265-4371", Mentions: []larkfake.Mention{{Key: "@_user_1", OpenID: "ou_bot"}}}
	if _, why := e.messageFrom(decodeMessage(t, ev)); why == "" {
		t.Error("a group message was taken before the bot knew its open_id")
	}
	ev.ChatType = "p2p"
	if _, why := e.messageFrom(decodeMessage(t, ev)); why != "" {
		t.Errorf("a direct message was ignored before Open: %s", why)
	}
}

func TestActionFrom(t *testing.T) {
	t.Parallel()
	v := bot.ActionValue{Action: bot.ActRefresh, SessionID: "s-1", TraceID: "tr-1"}
	click := larkfake.CardAction{EventID: "ev-9", OperatorOpenID: "ou_alice", ChatID: "oc_1", MessageID: "om_card",
		Value: map[string]any{"v": v.Encode()}, CardToken: "c-123"}
	decode := func(c larkfake.CardAction) *callback.CardActionTriggerEvent {
		var ev callback.CardActionTriggerEvent
		if err := json.Unmarshal(c.JSON(), &ev); err != nil {
			t.Fatal(err)
		}
		return &ev
	}
	e := New(Config{AppID: "cli_test"}, nil)
	got, ok := e.actionFrom(decode(click))
	want := bot.Action{Platform: bot.Lark, DeliveryID: "ev-9", Message: bot.Ref{Channel: "oc_1", ID: "om_card"}, User: "ou_alice", Value: v}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("action ok=%v (-want +got):\n%s", ok, diff)
	}

	noID := click
	noID.EventID = ""
	if got, _ := e.actionFrom(decode(noID)); got.DeliveryID != "c-123" {
		t.Errorf("without an event id, DeliveryID = %q, want the card token", got.DeliveryID)
	}
	for name, value := range map[string]map[string]any{
		"unknown action": {"v": `{"a":"format_disk"}`},
		"not JSON":       {"v": "reprocess s-1"},
		"no value":       {},
		"value not text": {"v": 42},
	} {
		bad := click
		bad.Value = value
		if _, ok := e.actionFrom(decode(bad)); ok {
			t.Errorf("%s: a click with value %v was taken", name, value)
		}
	}
}
