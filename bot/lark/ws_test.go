package lark

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot"
)

// runLarkWS starts RunWS and returns a stop function that cancels it and returns
// its result.
func runLarkWS(t *testing.T, h *harness) (stop func() error) {
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

func waitWS(t *testing.T, h *harness, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.fake.WaitWSConnections(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// push sends an event over the long connection and returns the answer's data.
func push(t *testing.T, h *harness, payload []byte) []byte {
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
func TestLongConnection(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	stop := runLarkWS(t, h)
	waitWS(t, h, 1)

	ev := h.dm("ou_alice", testReport)
	push(t, h, ev.JSON())
	h.drain(t)
	sent := h.sentTo(ev.MessageID)
	if len(sent) == 0 || cardOf(t, sent[0]).Header == nil {
		t.Fatalf("the message over the long connection was not traced; sent %+v", h.fake.Sent())
	}

	refresh := findButton(t, cardOf(t, sent[0]), bot.ActRefresh)
	data := push(t, h, h.click(ev.ChatID, sent[0].ID, "ou_alice", refresh).JSON())
	if kind, text := toastOf(t, string(data)); kind != "info" || text != "Working on it…" {
		t.Errorf("card action answered %s %q", kind, text)
	}
	h.drain(t)

	h.fake.DropWSConnections()
	waitWS(t, h, 2)
	again := h.dm("ou_bob", testReport)
	push(t, h, again.JSON())
	h.drain(t)
	if len(h.sentTo(again.MessageID)) == 0 {
		t.Error("no trace after the connection was re-established")
	}

	if err := stop(); err != nil {
		t.Errorf("RunWS after cancel = %v, want nil", err)
	}
	noGoroutines(t, "oapi-sdk-go/v3/ws.", "lark.(*Edge).RunWS")
	if _, open := h.fake.WSConnections(); open != 0 {
		eventually(t, func() bool { _, open := h.fake.WSConnections(); return open == 0 }, "the long connection is still open")
	}
}

// Cancelling before the connection is up stops cleanly too.
func TestLongConnectionCancelEarly(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	stop := runLarkWS(t, h)
	if err := stop(); err != nil {
		t.Errorf("RunWS = %v, want nil", err)
	}
	noGoroutines(t, "oapi-sdk-go/v3/ws.", "lark.(*Edge).RunWS")
}

// Credentials Lark refuses end RunWS with an error instead of retrying forever.
func TestLongConnectionRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.edge.cfg.AppSecret = staticSecret("not-the-app-secret")
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

// noGoroutines waits until no goroutine's stack mentions any of frames.
func noGoroutines(t *testing.T, frames ...string) {
	t.Helper()
	var leaked string
	eventually(t, func() bool {
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

func eventually(t *testing.T, ok func() bool, what string) {
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
