package slack

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/slack/slackfake"
)

// netGoroutines are net/http's own goroutines (the test servers' connections and
// the clients' idle keep-alives): they belong to the servers and transports of the
// test, not to the bot or the edge.
var netGoroutines = []goleak.Option{
	goleak.IgnoreAnyFunction("net/http.(*Server).Serve"),
	goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
	goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	goleak.IgnoreAnyFunction("net/http/httptest.(*Server).goServe.func1"),
}

// TestShutdownLeavesNoGoroutine: a bot and its Slack edge that traced, answered a
// report (chart uploaded), answered privately, refused work and ran Socket Mode
// leave no goroutine behind once shut down (the expirable LRU caches they, and the
// report engine, used to hold started cleanup goroutines that never ended, which
// is why the fuzzers once shared one bot).
func TestShutdownLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	h := newHarness(t, harnessOpts{reports: true, bot: func(c *bot.Config) { c.QueueSize = 1; c.Workers = 1 }})
	stop := runSocket(t, h.edge, h.fake)
	h.command(testUser, testChannel, testReport)
	for range 3 { // the queue holds one: some of these are refused
		h.command(testUser, testChannel, testReport)
	}
	root := h.rootMessage(testChannel)
	h.waitResult(testChannel, root.TS, "Call "+testSession)
	h.fake.Wait(t, 20*time.Second, "the queue to empty", func() bool { return h.bot.Idle(context.Background()) == nil })
	h.command(testUser, testChannel, "cache 24h")
	h.chartIn(testChannel, h.reportRoot(testChannel, "cache").TS)
	own := slackfake.Message{Channel: testChannel, TS: "1779465600.000030", User: slackfake.DefaultBotUserID, BotID: slackfake.DefaultBotID}
	h.interact(slackfake.Shortcut{CallbackID: "trace_report", User: testUser, Channel: testChannel, Message: own,
		TriggerID: h.fake.NewTriggerID(), ResponseURL: h.fake.NewResponseURL()}.Payload())
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.bot.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.edge.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	h.srv.Close()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if err := goleak.Find(append(netGoroutines, before)...); err != nil {
		t.Error(err)
	}
}
