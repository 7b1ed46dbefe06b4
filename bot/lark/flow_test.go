package lark

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/lark/larkfake"

	"github.com/callytics/tracebot/bot"
)

const testReport = "(914) 265-4371 5/20 1:15pm"

// A direct message is answered in the thread of the triggering message: one card
// shows progress, is updated in place, and ends as the result; the engineers'
// block follows in the same thread.
func TestDMTraceRepliesInThread(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{sandboxDelay: 20 * time.Millisecond})
	ev, card := h.traceDM(t, "ou_alice", testReport)

	sent := h.sentTo(ev.MessageID)
	if len(sent) != 2 {
		t.Fatalf("replies to the message = %d, want the result card and the engineers' block", len(sent))
	}
	for _, m := range sent {
		if !m.ReplyInThread || m.ChatID != ev.ChatID || m.MsgType != "interactive" || m.UUID == "" {
			t.Errorf("reply %s: in thread %v, chat %s, type %s, uuid %q; want an interactive card in the thread with a uuid",
				m.ID, m.ReplyInThread, m.ChatID, m.MsgType, m.UUID)
		}
	}
	if len(card.Contents) < 3 {
		t.Fatalf("the card was sent and updated %d times, want progress, at least one progress update and the result", len(card.Contents))
	}
	first, err := larkfake.ParseCard(card.Contents[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.Text(), "✓ number +19142654371") || len(first.Buttons()) != 0 {
		t.Errorf("first card is not the progress:\n%s", first.Text())
	}
	for i, c := range card.Contents[1 : len(card.Contents)-1] {
		if p, _ := larkfake.ParseCard(c); p.Header != nil || len(p.Buttons()) != 0 {
			t.Errorf("update %d is not progress:\n%s", i+1, p.Text())
		}
	}
	result := cardOf(t, card)
	if result.Header == nil || result.Header.Title.Content != "Call s-abc123def456" {
		t.Errorf("final card header = %+v, want the call", result.Header)
	}
	findButton(t, result, bot.ActReprocess)
	findButton(t, result, bot.ActRefresh)
	if eng := cardOf(t, sent[1]); eng.Header == nil || eng.Header.Title.Content != "For engineers" {
		t.Errorf("second reply is not the engineers' block:\n%s", eng.Text())
	}
}

// Lark re-pushes an event it got no answer to; the same event_id is traced once,
// even when the copies arrive together.
func TestRedeliveryTracesOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	ev := h.dm("ou_alice", testReport)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if status, body := h.deliver(t, "/lark/events", ev.JSON()); status != http.StatusOK {
				t.Errorf("delivery answered %d %s", status, body)
			}
		})
	}
	wg.Wait()
	h.drain(t)
	if got := len(h.sentTo(ev.MessageID)); got != 2 {
		t.Errorf("replies = %d, want one trace (result + engineers' block)", got)
	}
}

// The webhook answers at once; the trace runs on the worker pool afterwards.
func TestAnswersBeforeTracing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{gated: true})
	ev := h.dm("ou_alice", testReport)
	start := time.Now()
	status, body := h.deliver(t, "/lark/events", ev.JSON())
	if status != http.StatusOK || !strings.Contains(body, "success") {
		t.Fatalf("answer %d %s", status, body)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("answered after %s, Lark re-pushes after 3s", took)
	}
	for _, m := range h.sentTo(ev.MessageID) {
		if c := cardOf(t, m); c.Header != nil {
			t.Fatalf("a result was posted before the trace ran:\n%s", c.Text())
		}
	}
	h.gate.release()
	h.drain(t)
	if sent := h.sentTo(ev.MessageID); len(sent) == 0 || cardOf(t, sent[0]).Header == nil {
		t.Error("no result after the trace ran")
	}
}

func TestGroupMessages(t *testing.T) {
	t.Parallel()
	botMention := larkfake.Mention{Key: "@_user_1", OpenID: "ou_bot", Name: "tracebot"}
	carol := larkfake.Mention{Key: "@_user_1", OpenID: "ou_carol", Name: "Carol"}
	tests := []struct {
		name     string
		text     string
		mentions []larkfake.Mention
		traced   bool
	}{
		{"@bot is traced", "@_user_1 " + testReport, []larkfake.Mention{botMention}, true},
		{"@someone else is not for the bot", "@_user_1 " + testReport, []larkfake.Mention{carol}, false},
		{"no mention is not for the bot", testReport, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{})
			ev := h.group("oc_support", "ou_alice", tc.text, tc.mentions...)
			if status, _ := h.deliver(t, "/lark/events", ev.JSON()); status != http.StatusOK {
				t.Fatalf("answer %d", status)
			}
			h.drain(t)
			if got := len(h.fake.Sent()) > 0; got != tc.traced {
				t.Errorf("bot answered = %v, want %v; sent %+v", got, tc.traced, h.fake.Sent())
			}
		})
	}
}

// When the bot is not in the chat, the requester is told privately (a DM) how to
// add it, and the failure is counted.
func TestCannotPostAnswersPrivately(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := newHarness(t, harnessOpts{registry: reg})
	h.fake.RemoveBot("oc_private")
	ev := h.group("oc_private", "ou_alice", "@_user_1 "+testReport, larkfake.Mention{Key: "@_user_1", OpenID: "ou_bot"})
	h.deliver(t, "/lark/events", ev.JSON())
	h.drain(t)

	sent := h.fake.Sent()
	if len(sent) != 1 || sent[0].ReceiveIDType != "open_id" || sent[0].ReceiveID != "ou_alice" {
		t.Fatalf("sent %+v, want one direct message to ou_alice", sent)
	}
	if text := cardOf(t, sent[0]).Text(); !strings.Contains(text, "settings → Bots") {
		t.Errorf("private answer does not say how to add the bot:\n%s", text)
	}
	if n := bottest.Counter(t, reg, "tracebot_chat_api_errors_total", "method", methodReply); n != 1 {
		t.Errorf("chat API errors counted = %v, want 1", n)
	}
}

// Three people click Reprocess at once: exactly one request reaches the target,
// it is announced once in the thread, the card shows who requested it, and the
// others are told privately.
func TestConcurrentReprocessClicks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	ev, card := h.traceDM(t, "ou_alice", testReport)
	v := findButton(t, cardOf(t, card), bot.ActReprocess)

	users := []string{"ou_alice", "ou_bob", "ou_carol"}
	toasts := make([]string, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			status, body := h.deliver(t, "/lark/card", h.click(ev.ChatID, card.ID, u, v).JSON())
			if status != http.StatusOK {
				t.Errorf("click by %s answered %d %s", u, status, body)
				return
			}
			_, toasts[i] = toastOf(t, body)
		})
	}
	wg.Wait()
	h.drain(t)

	for i, toast := range toasts {
		if toast != "Working on it…" {
			t.Errorf("toast for %s = %q", users[i], toast)
		}
	}
	if got := len(h.lambda.Invocations()); got != 1 {
		t.Fatalf("reprocess requests = %d, want exactly 1", got)
	}
	var announced []larkfake.Message
	for _, m := range h.sentTo(card.ID) {
		if strings.Contains(cardOf(t, m).Text(), "Reprocess of") {
			announced = append(announced, m)
		}
	}
	if len(announced) != 1 || !announced[0].ReplyInThread {
		t.Errorf("announcements in the thread = %d, want 1 (in thread)", len(announced))
	}
	result := cardOf(t, mustMessage(t, h.fake, card.ID))
	for _, b := range result.Buttons() {
		if buttonValue(t, b).Action == bot.ActReprocess {
			t.Error("the result card still offers Reprocess")
		}
	}
	if !strings.Contains(result.Text(), "Reprocess requested by <at id=") {
		t.Errorf("the result card does not say who requested the reprocess:\n%s", result.Text())
	}
	var private int
	for _, m := range h.fake.Sent() {
		if m.ReceiveIDType == "open_id" && strings.Contains(cardOf(t, m).Text(), "already requested") ||
			m.ReceiveIDType == "open_id" && strings.Contains(cardOf(t, m).Text(), "being requested") {
			private++
		}
	}
	if private != 2 {
		t.Errorf("private 'already requested' answers = %d, want 2", private)
	}
}

// Refresh redraws the result in place; an unreadable button value gets an error
// toast and no effect.
func TestCardActions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{escalation: "ou_oncall"})
	ev, card := h.traceDM(t, "ou_alice", testReport)
	updates := len(card.Contents)

	status, body := h.deliver(t, "/lark/card", h.click(ev.ChatID, card.ID, "ou_bob", findButton(t, cardOf(t, card), bot.ActRefresh)).JSON())
	if kind, _ := toastOf(t, body); status != http.StatusOK || kind != "info" {
		t.Fatalf("refresh answered %d %s", status, body)
	}
	h.drain(t)
	if got := mustMessage(t, h.fake, card.ID); len(got.Contents) <= updates || cardOf(t, got).Header == nil {
		t.Errorf("refresh did not redraw the result in place (%d → %d contents)", updates, len(got.Contents))
	}

	h.deliver(t, "/lark/card", h.click(ev.ChatID, card.ID, "ou_bob", findButton(t, cardOf(t, card), bot.ActEscalate)).JSON())
	h.drain(t)
	var escalated bool
	for _, m := range h.sentTo(card.ID) {
		escalated = escalated || strings.Contains(cardOf(t, m).Text(), "<at id=ou_oncall></at> — escalation from <at id=ou_bob></at>")
	}
	if !escalated {
		t.Error("escalate did not mention the on-call in the thread")
	}

	before := len(h.fake.Sent())
	bad := h.click(ev.ChatID, card.ID, "ou_bob", bot.ActionValue{})
	bad.Value = map[string]any{"v": `{"a":"drop_tables"}`}
	status, body = h.deliver(t, "/lark/card", bad.JSON())
	if kind, text := toastOf(t, body); status != http.StatusOK || kind != "error" || text != bot.T("en", "stale_button") {
		t.Errorf("bad value answered %d %s", status, body)
	}
	h.drain(t)
	if len(h.fake.Sent()) != before {
		t.Error("a click with a bad value had an effect")
	}
}

// TRACEBOT_LANG=zh: cards, notes and private answers are in Chinese.
func TestChinese(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{lang: "zh"})
	_, card := h.traceDM(t, "ou_alice", "(914) 265-4371 5月20日 下午1:15")
	c := cardOf(t, card)
	if c.Header == nil || c.Header.Title.Content != "通话 s-abc123def456" || !strings.Contains(c.Elements[0].Elements[0].Content, "示例数据") {
		t.Errorf("result card is not in Chinese:\n%s", c.Text())
	}
	ev := h.dm("ou_bob", "帮我查一下今天早上那通电话")
	h.deliver(t, "/lark/events", ev.JSON())
	h.drain(t)
	var answered bool
	for _, m := range h.fake.Sent() {
		answered = answered || m.ReceiveID == "ou_bob" && strings.Contains(cardOf(t, m).Text(), "抱歉，没能看懂")
	}
	if !answered {
		t.Error("a report that was not understood got no private answer in Chinese")
	}
}

func mustMessage(t *testing.T, f *larkfake.Server, id string) larkfake.Message {
	t.Helper()
	m, ok := f.Message(id)
	if !ok {
		t.Fatalf("no message %s", id)
	}
	return m
}
