package lark

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestShutdownLeavesNoGoroutine: a bot and its Lark edge that traced over the
// webhook, answered a report (chart uploaded), took a click and ran the long
// connection leave no goroutine behind once
// shut down (net/http's own connections, which belong to the test's servers and
// transports, aside).
func TestShutdownLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	h := newHarness(t, harnessOpts{reports: true})
	stop := runLarkWS(t, h)
	waitWS(t, h, 1)
	ev, card := h.traceDM(t, "ou_alice", testReport)
	h.deliver(t, "/lark/card", h.click(ev.ChatID, card.ID, "ou_bob", findButton(t, cardOf(t, card), "refresh")).JSON())
	h.drain(t)
	if sent := h.askReport(t, h.dm("ou_alice", "cache 24h")); len(sent) != 2 {
		t.Fatalf("the report sent %d replies, want the result and the chart", len(sent))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.bot.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	h.srv.Close()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	// The SDK's long-connection client (ws.NewClient, once per RunWS) starts a
	// cache cleanup goroutine that it means to stop from a finalizer, but the
	// goroutine keeps its cache reachable, so it never stops: one per RunWS, the
	// SDK's (pinned at v3.12.0), not the edge's.
	err := goleak.Find(before,
		goleak.IgnoreTopFunction("github.com/larksuite/oapi-sdk-go/v3/cache.(*cron).start"),
		goleak.IgnoreAnyFunction("net/http.(*Server).Serve"),
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http/httptest.(*Server).goServe.func1"))
	if err != nil {
		t.Error(err)
	}
}
