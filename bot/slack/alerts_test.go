package slack

import (
	"context"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/secrets"
)

// TestAlertThroughRateLimits: Slack answering 429 beyond the edge's retries
// delays the alert to the next interval; it is posted once, not lost.
func TestAlertThroughRateLimits(t *testing.T) {
	fake := slackfake.New(t, slackfake.Config{})
	b := bot.New(bot.Config{}, bot.Deps{})
	t.Cleanup(func() { _ = b.Shutdown(context.Background()) })
	New(Config{BotToken: bot.StaticSecret(secrets.New(fake.Config().BotToken)), APIURL: fake.APIURL(), RateRetries: 1}, b)
	collapse := lookup.Alert{Rule: lookup.RuleCacheCollapse, Level: lookup.LevelWarning, Value: 0.2, Threshold: 0.5,
		From: time.Date(2026, 5, 22, 14, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 22, 16, 0, 0, 0, time.UTC),
		Report: lookup.ReportCache, Message: "The cache hit rate was below 50% in each of the last 2 full hours."}
	checker := bottest.Checker(func(now time.Time) lookup.AlertCheck {
		return lookup.AlertCheck{Now: now, Alerts: []lookup.Alert{collapse}, Evaluated: []lookup.AlertRule{lookup.RuleCacheCollapse}}
	})
	alerts := bot.NewAlerts(b, bot.AlertsConfig{Channels: []string{"C0ALERTS"}, Interval: time.Minute, Holder: "a"},
		checker, state.NewMemory(nil))
	fake.RateLimit("chat.postMessage", 3, 1) // two per call (one retry): the first interval fails
	for i := range 3 {
		if err := alerts.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := len(fake.Messages("C0ALERTS")), min(i, 1); got != want {
			t.Fatalf("after interval %d: %d messages, want %d", i+1, got, want)
		}
	}
	if n := len(fake.CallsTo("chat.postMessage")); n != 4 {
		t.Errorf("%d chat.postMessage calls, want 4 (3 refused, 1 posted)", n)
	}
}
