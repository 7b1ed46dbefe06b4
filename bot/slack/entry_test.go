package slack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/bot/slack/slackfake"

	"github.com/callytics/tracebot/bot"
)

// TestSlackEntryPoints checks what each kind of Slack delivery becomes for the
// bot, through signed HTTP requests built the way Slack builds them.
func TestEntryPoints(t *testing.T) {
	const botUser = slackfake.DefaultBotUserID
	report := testReport
	userMsg := slackfake.Message{Channel: "C1", TS: "1779465600.000010", User: "U0CUSTOMER", Text: report}
	threadMsg := slackfake.Message{Channel: "C1", TS: "1779465600.000020", ThreadTS: "1779465600.000010", User: "U0CUSTOMER", Text: "  " + report + "\n"}
	ownMsg := slackfake.Message{Channel: "C1", TS: "1779465600.000030", User: botUser, BotID: slackfake.DefaultBotID, Text: "Tracing +19142654371"}
	otherBotMsg := slackfake.Message{Channel: "C1", TS: "1779465600.000040", User: "U0ZENDESK", BotID: "B0ZENDESK", Text: report}
	reprocess := bot.ActionValue{Action: bot.ActReprocess, SessionID: testSession, StoreID: "st-1", TraceID: "t-1"}
	resultMsg := slackfake.Message{Channel: "C1", TS: "1779465600.000050", ThreadTS: "1779465600.000001", User: botUser, BotID: slackfake.DefaultBotID}
	rootMsg := slackfake.Message{Channel: "C1", TS: "1779465600.000060", ThreadTS: "1779465600.000060", User: botUser, BotID: slackfake.DefaultBotID}
	dm := func(mod func(map[string]any)) map[string]any {
		ev := slackfake.DirectMessage("D1", "U0SUPPORT", report, "1779465600.000070", "")
		if mod != nil {
			mod(ev)
		}
		return ev
	}
	event := func(id string, ev map[string]any) func(*stubEdge) (string, string, []byte) {
		return func(*stubEdge) (string, string, []byte) {
			return "/slack/events", slackfake.ContentJSON, slackfake.JSON(slackfake.EventCallback("T1", id, ev))
		}
	}
	interaction := func(p map[string]any) func(*stubEdge) (string, string, []byte) {
		return func(*stubEdge) (string, string, []byte) {
			return "/slack/interactivity", slackfake.ContentForm, slackfake.InteractionForm(p)
		}
	}
	click := func(m slackfake.Message, actionID, value string) map[string]any {
		return slackfake.Click{User: "U0ALICE", Message: m, TriggerID: "trig-9", ResponseURL: "https://hooks.example/r/9",
			Button: slackfake.Button{ActionID: actionID, Value: value, Text: "Reprocess"}}.Payload()
	}
	shortcut := func(m slackfake.Message) map[string]any {
		return slackfake.Shortcut{CallbackID: "trace_report", User: "U0SUPPORT", Channel: "C1", Message: m,
			TriggerID: "trig-7", ResponseURL: "https://hooks.example/r/7"}.Payload()
	}
	tests := []struct {
		name     string
		request  func(*stubEdge) (path, contentType string, body []byte)
		messages []bot.Message
		actions  []bot.Action
	}{
		{"slash command", func(*stubEdge) (string, string, []byte) {
			c := slackfake.Command{Command: "/trace", Text: " " + report + " ", ChannelID: "C1", UserID: "U0SUPPORT",
				TriggerID: "trig-1", ResponseURL: "https://hooks.example/r/1"}
			return "/slack/commands", slackfake.ContentForm, c.Form()
		}, []bot.Message{{Platform: bot.Slack, Source: bot.SourceCommand, DeliveryID: "command:trig-1", Channel: "C1",
			User: "U0SUPPORT", Text: report, ResponseURL: "https://hooks.example/r/1"}}, nil},
		{"mention, the bot's mention removed", event("Ev1", slackfake.AppMention("C1", "U0SUPPORT", "<@"+botUser+"> "+report, "1779465600.000080", "")),
			[]bot.Message{{Platform: bot.Slack, Source: bot.SourceMention, DeliveryID: "event:Ev1", Channel: "C1",
				Thread: "1779465600.000080", MessageID: "1779465600.000080", User: "U0SUPPORT", Text: report}}, nil},
		{"mention in a thread answers in that thread", event("Ev2", slackfake.AppMention("C1", "U0SUPPORT", report+" <@"+botUser+"|tracebot>", "1779465600.000090", "1779465600.000010")),
			[]bot.Message{{Platform: bot.Slack, Source: bot.SourceMention, DeliveryID: "event:Ev2", Channel: "C1",
				Thread: "1779465600.000010", MessageID: "1779465600.000090", User: "U0SUPPORT", Text: report}}, nil},
		{"mention by a bot ignored", event("Ev3", func() map[string]any {
			ev := slackfake.AppMention("C1", "U0ZENDESK", "<@"+botUser+"> "+report, "1779465600.000100", "")
			ev["bot_id"] = "B0ZENDESK"
			return ev
		}()), nil, nil},
		{"mention in a DM left to message.im", event("Ev4", slackfake.AppMention("D1", "U0SUPPORT", "<@"+botUser+"> "+report, "1779465600.000110", "")), nil, nil},
		{"direct message", event("Ev5", dm(nil)), []bot.Message{{Platform: bot.Slack, Source: bot.SourceDM, DeliveryID: "event:Ev5",
			Channel: "D1", Thread: "1779465600.000070", MessageID: "1779465600.000070", User: "U0SUPPORT", Text: report}}, nil},
		{"the bot's own DM ignored", event("Ev6", dm(func(ev map[string]any) { ev["user"] = botUser; ev["bot_id"] = slackfake.DefaultBotID })), nil, nil},
		{"the bot's own user ignored even without bot_id", event("Ev7", dm(func(ev map[string]any) { ev["user"] = botUser })), nil, nil},
		{"another bot's message ignored", event("Ev8", dm(func(ev map[string]any) { ev["subtype"] = "bot_message"; ev["bot_id"] = "B0X" })), nil, nil},
		{"an edited message ignored", event("Ev9", dm(func(ev map[string]any) {
			ev["subtype"] = "message_changed"
			ev["message"] = map[string]any{"type": "message", "user": "U0SUPPORT", "text": report, "ts": "1779465600.000070"}
		})), nil, nil},
		{"a channel message ignored", event("Ev10", dm(func(ev map[string]any) { ev["channel_type"] = "channel"; ev["channel"] = "C1" })), nil, nil},
		{"shortcut on a message", interaction(shortcut(userMsg)), []bot.Message{{Platform: bot.Slack, Source: bot.SourceShortcut,
			DeliveryID: "shortcut:trig-7", Channel: "C1", Thread: userMsg.TS, MessageID: userMsg.TS, User: "U0SUPPORT",
			Text: report, ResponseURL: "https://hooks.example/r/7"}}, nil},
		{"shortcut on a reply answers in its thread", interaction(shortcut(threadMsg)), []bot.Message{{Platform: bot.Slack, Source: bot.SourceShortcut,
			DeliveryID: "shortcut:trig-7", Channel: "C1", Thread: threadMsg.ThreadTS, MessageID: threadMsg.TS, User: "U0SUPPORT",
			Text: report, ResponseURL: "https://hooks.example/r/7"}}, nil},
		{"shortcut on another bot's message is a report", interaction(shortcut(otherBotMsg)), []bot.Message{{Platform: bot.Slack, Source: bot.SourceShortcut,
			DeliveryID: "shortcut:trig-7", Channel: "C1", Thread: otherBotMsg.TS, MessageID: otherBotMsg.TS, User: "U0SUPPORT",
			Text: report, ResponseURL: "https://hooks.example/r/7"}}, nil},
		{"shortcut on the bot's own message refused", interaction(shortcut(ownMsg)), nil, nil},
		{"other shortcut ignored", interaction(func() map[string]any {
			p := shortcut(userMsg)
			p["callback_id"] = "something_else"
			return p
		}()), nil, nil},
		{"button in a thread", interaction(click(resultMsg, "tracebot:reprocess:0", reprocess.Encode())), nil, []bot.Action{{
			Platform: bot.Slack, DeliveryID: "action:trig-9", Message: bot.Ref{Channel: "C1", Thread: resultMsg.ThreadTS, ID: resultMsg.TS},
			User: "U0ALICE", ResponseURL: "https://hooks.example/r/9", Value: reprocess}}},
		{"button on a thread's parent", interaction(click(rootMsg, "tracebot:refresh:1", bot.ActionValue{Action: bot.ActRefresh, SessionID: "s-1"}.Encode())), nil, []bot.Action{{
			Platform: bot.Slack, DeliveryID: "action:trig-9", Message: bot.Ref{Channel: "C1", ID: rootMsg.TS},
			User: "U0ALICE", ResponseURL: "https://hooks.example/r/9", Value: bot.ActionValue{Action: bot.ActRefresh, SessionID: "s-1"}}}},
		{"link button needs nothing", interaction(click(resultMsg, "tracebot-link:3", "")), nil, nil},
		{"unknown button value refused", interaction(click(resultMsg, "tracebot:nuke:0", `{"a":"nuke"}`)), nil, nil},
		{"garbled button value refused", interaction(click(resultMsg, "tracebot:reprocess:0", `reprocess s-1`)), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStubEdge(t, nil)
			s.edge.self.Store(newIdentity(botUser, slackfake.DefaultBotID, "T1"))
			path, ct, body := tc.request(s)
			if status := s.post(t, path, ct, body); status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			msgs, acts := s.stub.got()
			if diff := cmp.Diff(tc.messages, msgs); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.actions, acts); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSlackRefusalsAnswerPrivately: a refused button or the bot's own message
// gets a private answer, never silence.
func TestRefusalsAnswerPrivately(t *testing.T) {
	s := newStubEdge(t, nil)
	s.edge.self.Store(newIdentity(slackfake.DefaultBotUserID, slackfake.DefaultBotID, "T1"))
	ru := s.fake.NewResponseURL()
	own := slackfake.Message{Channel: "C1", TS: "1779465600.000030", User: slackfake.DefaultBotUserID, BotID: slackfake.DefaultBotID, Text: "x"}
	p := slackfake.Shortcut{CallbackID: "trace_report", User: "U0SUPPORT", Channel: "C1", Message: own, TriggerID: "t1", ResponseURL: ru}.Payload()
	if st := s.post(t, "/slack/interactivity", slackfake.ContentForm, slackfake.InteractionForm(p)); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	ru2 := s.fake.NewResponseURL()
	c := slackfake.Click{User: "U0ALICE", Message: own, TriggerID: "t2", ResponseURL: ru2,
		Button: slackfake.Button{ActionID: "tracebot:nuke:0", Value: `{"a":"nuke"}`}}.Payload()
	if st := s.post(t, "/slack/interactivity", slackfake.ContentForm, slackfake.InteractionForm(c)); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	s.fake.Wait(t, 5*time.Second, "two private answers", func() bool { return len(s.fake.ResponsePosts()) == 2 })
	for _, want := range []struct{ url, text string }{{ru, "one of my own messages"}, {ru2, "no longer supported"}} {
		found := false
		for _, p := range s.fake.ResponsePosts() {
			if p.URL == want.url && p.ResponseType == "ephemeral" && strings.Contains(p.BlockText(), want.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("no ephemeral answer %q at %s: %+v", want.text, want.url, s.fake.ResponsePosts())
		}
	}
}

// TestSlackMentionBeforeOpen: without auth.test the edge still drops the leading
// mention of an app_mention, and never takes a bot's message.
func TestMentionBeforeOpen(t *testing.T) {
	s := newStubEdge(t, nil)
	ev := slackfake.AppMention("C1", "U0SUPPORT", "<@U0ANYBOT> "+testReport, "1.2", "")
	s.post(t, "/slack/events", slackfake.ContentJSON, slackfake.JSON(slackfake.EventCallback("T1", "Ev1", ev)))
	msgs, _ := s.stub.got()
	if len(msgs) != 1 || msgs[0].Text != testReport {
		t.Fatalf("got %+v", msgs)
	}
	if s.edge.BotUserID() != "" {
		t.Errorf("BotUserID before Open = %q", s.edge.BotUserID())
	}
	if err := s.edge.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.edge.BotUserID() != slackfake.DefaultBotUserID {
		t.Errorf("BotUserID after Open = %q", s.edge.BotUserID())
	}
}

// TestSlackPrivateAnswersAreBounded: the edge's own private answers (a refused
// button, the bot's own message) are sent in the background, at most a bound at
// once; past it they are dropped rather than piled up.
func TestPrivateAnswersAreBounded(t *testing.T) {
	release := make(chan struct{})
	var arrived atomic.Int32
	hold := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		<-release
		_, _ = io.WriteString(w, "ok")
	}))
	defer hold.Close()
	s := newStubEdge(t, nil)
	s.edge.self.Store(newIdentity(slackfake.DefaultBotUserID, slackfake.DefaultBotID, "T1"))
	own := slackfake.Message{Channel: "C1", TS: "1779465600.000030", User: slackfake.DefaultBotUserID, BotID: slackfake.DefaultBotID, Text: "x"}
	const requests = 40
	for i := range requests {
		p := slackfake.Shortcut{CallbackID: "trace_report", User: "U0SUPPORT", Channel: "C1", Message: own,
			TriggerID: fmt.Sprintf("t%d", i), ResponseURL: fmt.Sprintf("%s/r/%d", hold.URL, i)}.Payload()
		if st := s.post(t, "/slack/interactivity", slackfake.ContentForm, slackfake.InteractionForm(p)); st != http.StatusOK {
			t.Fatalf("status %d", st)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for arrived.Load() < maxPrivateAnswers && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.edge.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := arrived.Load(); n != maxPrivateAnswers {
		t.Errorf("private answers sent = %d, want the bound %d (of %d)", n, maxPrivateAnswers, requests)
	}
}
