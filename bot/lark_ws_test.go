package bot

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// runLarkWS starts RunWS and returns a stop function that cancels it and returns
// its result.
func runLarkWS(t *testing.T, h *larkHarness) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.edge.RunWS(ctx) }()
	var stopped bool
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("RunWS did not return after its context ended")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func larkWaitWS(t *testing.T, h *larkHarness, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.fake.WaitWSConnections(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// larkPush sends an event over the long connection and returns the answer's data.
func larkPush(t *testing.T, h *larkHarness, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ans, err := h.fake.PushEvent(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Code != 200 {
		t.Fatalf("the client answered %d", ans.Code)
	}
	return ans.Data
}

// Over the long connection: messages and clicks arrive through the same
// dispatcher, a dropped connection is re-established by the SDK, and cancelling
// the context closes it and leaves no SDK goroutine behind.
func TestLarkLongConnection(t *testing.T) {
	h := newLarkHarness(t, larkHarnessOpts{})
	stop := runLarkWS(t, h)
	larkWaitWS(t, h, 1)

	ev := h.dm("ou_alice", larkReport)
	larkPush(t, h, ev.JSON())
	h.drain(t)
	sent := h.sentTo(ev.MessageID)
	if len(sent) == 0 || larkCardOf(t, sent[0]).Header == nil {
		t.Fatalf("the message over the long connection was not traced; sent %+v", h.fake.Sent())
	}

	refresh := larkFindButton(t, larkCardOf(t, sent[0]), ActRefresh)
	data := larkPush(t, h, h.click(ev.ChatID, sent[0].ID, "ou_alice", refresh).JSON())
	if kind, text := larkToastOf(t, string(data)); kind != "info" || text != "Working on it…" {
		t.Errorf("card action answered %s %q", kind, text)
	}
	h.drain(t)

	h.fake.DropWSConnections()
	larkWaitWS(t, h, 2)
	again := h.dm("ou_bob", larkReport)
	larkPush(t, h, again.JSON())
	h.drain(t)
	if len(h.sentTo(again.MessageID)) == 0 {
		t.Error("no trace after the connection was re-established")
	}

	if err := stop(); err != nil {
		t.Errorf("RunWS after cancel = %v, want nil", err)
	}
	larkNoGoroutines(t, "oapi-sdk-go/v3/ws.", "bot.(*LarkEdge).RunWS")
	if _, open := h.fake.WSConnections(); open != 0 {
		larkEventually(t, func() bool { _, open := h.fake.WSConnections(); return open == 0 }, "the long connection is still open")
	}
}

// Cancelling before the connection is up stops cleanly too.
func TestLarkLongConnectionCancelEarly(t *testing.T) {
	h := newLarkHarness(t, larkHarnessOpts{})
	stop := runLarkWS(t, h)
	if err := stop(); err != nil {
		t.Errorf("RunWS = %v, want nil", err)
	}
	larkNoGoroutines(t, "oapi-sdk-go/v3/ws.", "bot.(*LarkEdge).RunWS")
}

// Credentials Lark refuses end RunWS with an error instead of retrying forever.
func TestLarkLongConnectionRefused(t *testing.T) {
	h := newLarkHarness(t, larkHarnessOpts{})
	h.edge.cfg.AppSecret = larkStaticSecret("not-the-app-secret")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.edge.RunWS(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("RunWS = %v (ctx %v), want a prompt error", err, ctx.Err())
	}
	if !strings.Contains(err.Error(), "app secret invalid") || strings.Contains(err.Error(), "not-the-app-secret") {
		t.Errorf("error %q: want Lark's reason and no secret", err)
	}
	if h.edge.cfg.AppSecret = nil; h.edge.RunWS(ctx) == nil {
		t.Error("RunWS without an app secret succeeded")
	}
}

// larkNoGoroutines waits until no goroutine's stack mentions any of frames.
func larkNoGoroutines(t *testing.T, frames ...string) {
	t.Helper()
	var leaked string
	larkEventually(t, func() bool {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(stacks, "\n\n") {
			for _, f := range frames {
				if strings.Contains(g, f) {
					leaked = g
					return false
				}
			}
		}
		return true
	}, "goroutines left behind")
	if t.Failed() {
		t.Logf("leaked goroutine:\n%s", leaked)
	}
}

func larkEventually(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Error(what)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
