package lark

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
)

// firing is an alert checker in which every rule was evaluated and alerts hold.
func firing(alerts ...lookup.Alert) bottest.Checker {
	return func(now time.Time) lookup.AlertCheck {
		return lookup.AlertCheck{Now: now, Alerts: alerts, Evaluated: lookup.AlertRules}
	}
}

// TestAlertAfterARestartIsNotTakenForTheLastOne: without a state DB a restart
// numbers episodes from 1 again. Lark sends one message per uuid an hour, so an
// alert's send key must name its episode beyond that number, or the first alert
// after a restart is swallowed as a repeat of the one before it.
func TestAlertAfterARestartIsNotTakenForTheLastOne(t *testing.T) {
	h := newHarness(t, harnessOpts{noReprocess: true})
	to := lookup.SandboxNow
	collapse := lookup.Alert{Rule: lookup.RuleCacheCollapse, Level: lookup.LevelWarning, Value: 0.2, Threshold: 0.5,
		From: to.Add(-2 * time.Hour), To: to, Report: lookup.ReportCache, Message: "The cache hit rate collapsed."}
	budget := lookup.Alert{Rule: lookup.RuleBudget, Level: lookup.LevelWarning, Value: 8.1, Threshold: 8, Day: "2026-05-22",
		From: to.Add(-12 * time.Hour), To: to, Report: lookup.ReportCost, Message: "Today's AI spend is $8.10."}
	cfg := bot.AlertsConfig{Channels: []string{"oc_alerts"}, Interval: time.Minute, Holder: "tracebot"}
	for _, check := range []bottest.Checker{firing(collapse), firing(budget)} { // a restart between the two: memory forgets
		if err := bot.NewAlerts(h.bot, cfg, check, state.NewMemory(nil)).Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, m := range h.fake.Sent() {
		if m.ChatID == "oc_alerts" && m.ParentID == "" && strings.Contains(m.Content(), "Alert") {
			got = append(got, m.Content())
		}
	}
	if len(got) != 2 || !strings.Contains(got[1], "daily budget") {
		t.Errorf("%d alerts in the chat, want the collapse and then the budget:\n%s", len(got), strings.Join(got, "\n"))
	}
}
