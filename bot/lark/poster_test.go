package lark

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/lark/larkfake"

	"github.com/callytics/tracebot/bot"
)

func notice(text string) bot.Reply {
	return bot.Reply{Text: text, Blocks: []bot.Block{{Kind: bot.BlockText, Text: text}}}
}

func TestPostRootThenThread(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	root, err := h.edge.Post(ctx, bot.Ref{Channel: "oc_support"}, notice("Tracing **+19142654371**"), "ev-1:root")
	if err != nil {
		t.Fatal(err)
	}
	reply, err := h.edge.Post(ctx, root.ThreadRef(), notice("progress"), "ev-1:progress")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(bot.Ref{Channel: "oc_support", Thread: root.ID, ID: reply.ID}, reply); diff != "" {
		t.Errorf("reply ref (-want +got):\n%s", diff)
	}
	m := mustMessage(t, h.fake, reply.ID)
	if m.ParentID != root.ID || !m.ReplyInThread || m.ChatID != "oc_support" {
		t.Errorf("reply %+v, want in the thread of %s", m, root.ID)
	}
	if r := mustMessage(t, h.fake, root.ID); r.ReceiveIDType != "chat_id" || r.ReceiveID != "oc_support" {
		t.Errorf("root sent to %s %s, want chat_id oc_support", r.ReceiveIDType, r.ReceiveID)
	}
}

// A retried send with the same dedupe key is sent once (Lark's uuid); different
// keys, or none, are sent each time.
func TestPostDedupeKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	h.fake.AddMessage("oc_1", "om_user")
	to := bot.Ref{Channel: "oc_1", Thread: "om_user"}
	first, err := h.edge.Post(ctx, to, notice("one"), "ev-7:progress")
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.edge.Post(ctx, to, notice("one"), "ev-7:progress")
	if err != nil || again.ID != first.ID {
		t.Errorf("retried send = %v, %v; want the first message %s", again, err, first.ID)
	}
	for _, key := range []string{"ev-8:progress", "", ":progress", ""} {
		if _, err := h.edge.Post(ctx, to, notice("one"), key); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(h.sentTo("om_user")); got != 5 {
		t.Errorf("messages = %d, want 5 (one per distinct key, one per keyless send)", got)
	}
	if uuid := mustMessage(t, h.fake, first.ID).UUID; len(uuid) > 50 || !strings.HasPrefix(uuid, "tb-") {
		t.Errorf("uuid %q: want tb-… of at most 50 characters", uuid)
	}
}

// Updates of one message are spaced under Lark's 5 a second, so none is refused.
func TestUpdateRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.edge.retry = retryPolicy{attempts: 1} // a refused update must not be hidden by a retry
	ctx := context.Background()
	msg, err := h.edge.Post(ctx, bot.Ref{Channel: "oc_1"}, notice("0"), "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const updates = 7
	for i := range updates {
		if err := h.edge.Update(ctx, msg, notice(strings.Repeat("x", i+1))); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("%d updates took %s: faster than Lark allows", updates, took)
	}
	if got := len(mustMessage(t, h.fake, msg.ID).Contents); got != updates+1 {
		t.Errorf("contents = %d, want %d", got, updates+1)
	}
}

func TestPosterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		op         larkfake.Op
		code       int
		status     int
		times      int
		cannotPost bool
		ok         bool // succeeds after retries
	}{
		{"bot not in chat", larkfake.OpReply, 230002, http.StatusBadRequest, 0, true, false},
		{"lacks permission", larkfake.OpReply, 230027, http.StatusBadRequest, 0, true, false},
		{"scope missing", larkfake.OpReply, 99991672, http.StatusBadRequest, 0, true, false},
		{"rate limited once", larkfake.OpReply, 230020, http.StatusBadRequest, 1, false, true},
		{"server error once", larkfake.OpReply, 1500, http.StatusInternalServerError, 1, false, true},
		{"rate limited always", larkfake.OpReply, 230020, http.StatusBadRequest, 0, false, false},
		{"invalid card is not retried", larkfake.OpReply, 230099, http.StatusBadRequest, 1, false, false},
		{"token refused", larkfake.OpToken, 10014, http.StatusBadRequest, 0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			h := newHarness(t, harnessOpts{registry: reg})
			h.fake.AddMessage("oc_1", "om_user")
			h.fake.Fail(tc.op, tc.code, tc.status, tc.times, "injected")
			if tc.op == larkfake.OpToken {
				h.edge.cfg.AppSecret = staticSecret("rotated-" + t.Name()) // no token cached for it yet
			}
			ref, err := h.edge.Post(context.Background(), bot.Ref{Channel: "oc_1", Thread: "om_user"}, notice("hi"), "k1")
			if tc.ok {
				if err != nil || ref.ID == "" || len(h.sentTo("om_user")) != 1 {
					t.Fatalf("Post = %v, %v; want one message after a retry", ref, err)
				}
				return
			}
			if err == nil {
				t.Fatal("Post succeeded")
			}
			if got := errors.Is(err, bot.ErrCannotPost); got != tc.cannotPost {
				t.Errorf("errors.Is(%v, ErrCannotPost) = %v, want %v", err, got, tc.cannotPost)
			}
			method := methodReply
			if n := bottest.Counter(t, reg, "tracebot_chat_api_errors_total", "method", method); n != 1 {
				t.Errorf("errors counted for %s = %v, want 1", method, n)
			}
			if !strings.HasPrefix(err.Error(), "lark "+method+": ") {
				t.Errorf("error %q does not name the call", err)
			}
		})
	}
}

func TestPrivateIsADirectMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.fake.SetP2PChat("ou_alice", "oc_dm_alice")
	m := bot.Message{Platform: bot.Lark, Channel: "oc_group", User: "ou_alice", DeliveryID: "ev-3"}
	for range 2 { // a retried private answer is sent once
		if err := h.edge.Private(context.Background(), m, notice("only for you")); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.edge.Private(context.Background(), m, notice("something else")); err != nil {
		t.Fatal(err)
	}
	sent := h.fake.Sent()
	if len(sent) != 2 {
		t.Fatalf("sent %d messages, want 2", len(sent))
	}
	for _, s := range sent {
		if s.ChatID != "oc_dm_alice" || s.ReceiveIDType != "open_id" || s.ReceiveID != "ou_alice" {
			t.Errorf("private answer went to %s (%s %s), want the DM with ou_alice", s.ChatID, s.ReceiveIDType, s.ReceiveID)
		}
	}
	if err := h.edge.Private(context.Background(), bot.Message{Platform: bot.Lark}, notice("x")); err == nil {
		t.Error("a private answer without a user succeeded")
	}
}

// An oversized reply still goes out as one card Lark accepts.
func TestPostOversizedReply(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	r := bot.Reply{Blocks: []bot.Block{{Kind: bot.BlockHeader, Text: "For engineers"}, {Kind: bot.BlockCode, Text: strings.Repeat("fields @timestamp\n", 5000)},
		{Kind: bot.BlockButtons, Buttons: []bot.Button{{Label: "Refresh", Value: bot.ActionValue{Action: bot.ActRefresh, SessionID: "s-1"}}}}}}
	ref, err := h.edge.Post(context.Background(), bot.Ref{Channel: "oc_1"}, r, "")
	if err != nil {
		t.Fatal(err)
	}
	c := cardOf(t, mustMessage(t, h.fake, ref.ID))
	if len(c.Buttons()) != 1 || !strings.Contains(c.Text(), "shortened") {
		t.Errorf("oversized card lost its button or its note:\n%.300s", c.Text())
	}
}

func TestUpdateWithoutMessage(t *testing.T) {
	t.Parallel()
	e := New(Config{AppID: "cli_test"}, nil)
	if err := e.Update(context.Background(), bot.Ref{Channel: "oc_1"}, notice("x")); err == nil {
		t.Error("an update without a message id succeeded")
	}
}

// TestCheckChannel: is_in_chat, asked with the tenant token, says whether the bot
// is in the chat.
func TestCheckChannel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.fake.RemoveBot("oc_gone")
	if _, err := h.edge.CheckChannel(context.Background(), "oc_alerts"); err != nil {
		t.Errorf("oc_alerts: %v", err)
	}
	if _, err := h.edge.CheckChannel(context.Background(), "oc_gone"); !errors.Is(err, bot.ErrCannotPost) {
		t.Errorf("oc_gone: %v, want ErrCannotPost", err)
	}
}

// TestRefusedCardErrorQuotesNoContent: Lark's card errors end in "ErrorValue:"
// and the offending value, taken from the card — which may be a Model output
// answer (customer data). The error keeps Lark's code and reason for the logs,
// not the value.
func TestRefusedCardErrorQuotesNoContent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.fake.AddMessage("oc_1", "om_user")
	h.fake.Fail(larkfake.OpReply, 230099, http.StatusBadRequest, 1,
		"Failed to create card content, ext=ErrCode: 11310; ErrMsg: element content invalid; ErrorValue: Caller: my CANARY-7f3a account;")
	_, err := h.edge.Post(context.Background(), bot.Ref{Channel: "oc_1", Thread: "om_user"}, notice("hi"), "k1")
	if err == nil {
		t.Fatal("Post succeeded")
	}
	if strings.Contains(err.Error(), "CANARY") || !strings.Contains(err.Error(), "ErrMsg: element content invalid") {
		t.Errorf("error %q: want Lark's reason without the card's value", err)
	}
}
