package slack

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// These tests ask for reports across calls as people do in Slack: signed requests
// in, the real bot over the report world (CloudWatch Logs and Lambda wire fakes
// evaluating what the engine sends), every answer through slack-go into the fake
// Slack, the chart through its external upload flow.

// reportRoot waits for the bot's root message of a /trace <kind> report.
func (h *harness) reportRoot(channel, kind string) slackfake.Message {
	h.t.Helper()
	return h.rootWhere(channel, "the root of a "+kind+" report", func(m slackfake.Message) bool {
		return strings.Contains(m.Text, "Report "+kind+",")
	})
}

// chartIn waits for a chart shared in the thread of ts and checks it is a PNG
// of at least 800×400.
func (h *harness) chartIn(channel, ts string) slackfake.File {
	h.t.Helper()
	var file slackfake.File
	h.fake.Wait(h.t, 10*time.Second, "a chart in thread "+ts, func() bool {
		for _, f := range h.fake.Files() {
			if f.Channel == channel && f.ThreadTS == ts {
				file = f
				return true
			}
		}
		return false
	})
	cfg, err := png.DecodeConfig(bytes.NewReader(file.Content))
	if err != nil || cfg.Width < 800 || cfg.Height < 400 {
		h.t.Errorf("chart %s is not a PNG of at least 800×400: %v %+v", file.Name, err, cfg)
	}
	if !strings.HasSuffix(file.Name, ".png") || file.Title == "" || file.AltText == "" {
		h.t.Errorf("chart %q titled %q, alt %q", file.Name, file.Title, file.AltText)
	}
	return file
}

func TestReportSlashCommandsEachKind(t *testing.T) {
	h := newHarness(t, harnessOpts{reports: true})
	for _, c := range []struct {
		words, kind string
		want        []string
		chart       bool
	}{
		{"cost 2h", "cost", []string{"Cost: the most expensive AI calls", "*Total* $0.2373 over 288 rows", "`s-b5e2b18475c7`",
			"gen-1779465015-ZF2nNMCCfRjJ", "*long_input*", "*cache_miss*", "Data scanned:", `"a":"trace_call"`}, false},
		{"cache 24h", "cache", []string{"Overall *80%*", "The 3 worst hours", "*cache_collapse*", "prompts-cache-invariant.test.ts"}, true},
		{"finish 24h", "finish", []string{"Finish reasons per stage", "coaching · length", "*length_spike*", "maxTokens is 4096",
			"*content_filter_spike*"}, true},
		{"providers 24h", "providers", []string{"Providers per model", "AtlasCloud", "used more than one provider", "*provider_switching*"}, false},
		{"deploys", "deploys", []string{"call-analytics-prod-ai-analysis-processor-us-east-2", "`Zx1Cv2Bn3Mq4…`", "*code_differs*", "cdk deploy"}, false},
	} {
		{
			h.command(testUser, testChannel, c.words)
			root := h.reportRoot(testChannel, c.kind)
			if !strings.Contains(root.Text, "requested by <@"+testUser+">") {
				t.Errorf("root: %q", root.Text)
			}
			result := h.waitResult(testChannel, root.TS, "Regions: us-east-1 ✓")
			for _, want := range c.want {
				if !strings.Contains(result.BlockText(), want) {
					t.Errorf("%s: the answer lacks %q:\n%s", c.words, want, result.BlockText())
				}
			}
			if result.Edits < 2 {
				t.Errorf("the progress message was edited %d times; want region progress, then the result", result.Edits)
			}
			if c.chart {
				h.chartIn(testChannel, root.TS)
			}
		}
	}
	h.shutdown()
	files := h.fake.Files()
	if len(files) != 2 {
		t.Errorf("%d charts shared, want cache and finish", len(files))
	}
	if bad := h.failedCalls(); len(bad) > 0 {
		t.Errorf("Slack refused calls: %+v", bad)
	}
	if n := bottest.Counter(t, h.metrics, "tracebot_reports_total", "outcome", "answered"); n != 5 {
		t.Errorf("tracebot_reports_total{outcome=answered} = %v, want 5", n)
	}
}

// The same words in a mention, a DM and the message shortcut answer in that
// message's thread, chart included (cost has none).
func TestReportMentionDMAndShortcut(t *testing.T) {
	h := newHarness(t, harnessOpts{reports: true})
	mention := h.fake.AddMessage(testChannel, testUser, "<@"+slackfake.DefaultBotUserID+"> cache 24h", "")
	h.event("Ev0RMENTION", slackfake.AppMention(testChannel, testUser, mention.Text, mention.TS, ""), nil)
	h.waitResult(testChannel, mention.TS, "*cache_collapse*")
	h.chartIn(testChannel, mention.TS)

	dm := h.fake.AddMessage("D0SUPPORT", testUser, "finish since 9am", "")
	h.event("Ev0RDM", slackfake.DirectMessage("D0SUPPORT", testUser, dm.Text, dm.TS, ""), nil)
	h.waitResult("D0SUPPORT", dm.TS, "since 9am")
	h.chartIn("D0SUPPORT", dm.TS)

	report := h.fake.AddMessage(testChannel, "U0OTHER", "cost 2h", "")
	h.interact(slackfake.Shortcut{CallbackID: "trace_report", User: testUser, Channel: testChannel, Message: report,
		TriggerID: h.fake.NewTriggerID(), ResponseURL: h.fake.NewResponseURL()}.Payload())
	h.waitResult(testChannel, report.TS, "*Total* $0.2373")
	h.shutdown()
	if n := len(h.fake.Files()); n != 2 {
		t.Errorf("%d charts shared, want the mention's and the DM's", n)
	}
	for _, m := range h.fake.Messages(testChannel) {
		if m.BotID != "" && m.ThreadTS == "" {
			t.Errorf("a mention or shortcut must not post a root message: %+v", m.Text)
		}
	}
}

// Help, a misspelt kind and bad windows are answered privately with the kinds;
// nothing is posted in the channel and no query runs.
func TestReportHelpAndRefusals(t *testing.T) {
	h := newHarness(t, harnessOpts{reports: true})
	for _, c := range []struct{ words, want string }{
		{"help", "`/trace finish since 9am` — finish reasons per stage"},
		{"cahce 24h", "Did you mean “cache 24h”?"},
		{"cost 9d", "A report covers at most 7d (TRACEBOT_REPORT_MAX_RANGE), and 9d is longer: Logs Insights bills per GB scanned"},
		{"cost banana", "I could not read the window “banana”"},
	} {
		ru := h.command(testUser, testChannel, c.words)
		answer := h.waitResponse(ru, c.want)
		for _, want := range []string{"`/trace cost 2h`", "`/trace deploys`", "`/trace (914) 265-4371 5/20 1:15pm`"} {
			if !strings.Contains(answer.BlockText(), want) {
				t.Errorf("%s: the answer lacks %q:\n%s", c.words, want, answer.BlockText())
			}
		}
		if answer.ResponseType != "ephemeral" {
			t.Errorf("%s: answered %q, want ephemeral", c.words, answer.ResponseType)
		}
	}
	h.shutdown()
	for _, m := range h.fake.Messages(testChannel) {
		if m.BotID != "" {
			t.Errorf("posted in the channel: %q", m.Text)
		}
	}
	if n := len(h.world.Logs.Queries()); n != 0 {
		t.Errorf("%d Insights queries for refused words", n)
	}
}

// A region that fails is named; the other regions' answer, and the chart, stand.
// A report that fails in every region says why, without a stack trace.
func TestReportRegionFailures(t *testing.T) {
	h := newHarness(t, harnessOpts{reports: true})
	h.world.Logs.Fail("us-east-2", lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	h.command(testUser, testChannel, "cache 24h")
	root := h.reportRoot(testChannel, "cache")
	result := h.waitResult(testChannel, root.TS, "Regions:")
	for _, want := range []string{"*Could not check everything:*", "✗ us-east-2: AccessDenied on logs:StartQuery", "us-east-2 ✗ failed", "Overall"} {
		if !strings.Contains(result.BlockText(), want) {
			t.Errorf("the answer lacks %q:\n%s", want, result.BlockText())
		}
	}
	h.chartIn(testChannel, root.TS)

	for _, r := range []string{"us-east-1", "us-west-2"} {
		h.world.Logs.Fail(r, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	}
	h.command(testUser, testChannel, "finish 24h")
	root = h.reportRoot(testChannel, "finish")
	failed := h.waitResult(testChannel, root.TS, "failed in every region")
	for _, want := range []string{"✗ us-east-1: AccessDenied on logs:StartQuery", "✗ us-west-2: AccessDenied", "✗ us-east-2: AccessDenied"} {
		if !strings.Contains(failed.BlockText(), want) {
			t.Errorf("the failure lacks %q:\n%s", want, failed.BlockText())
		}
	}
	h.shutdown()
	if strings.Contains(failed.BlockText(), "goroutine") || strings.Contains(failed.BlockText(), ".go:") {
		t.Errorf("a stack trace in the channel:\n%s", failed.BlockText())
	}
	for _, f := range h.fake.Files() {
		if f.ThreadTS == root.TS {
			t.Error("a report no region answered has no chart")
		}
	}
	if n := bottest.Counter(t, h.metrics, "tracebot_reports_total", "outcome", "partial"); n != 1 {
		t.Errorf("reports{outcome=partial} = %v", n)
	}
	if n := bottest.Counter(t, h.metrics, "tracebot_reports_total", "outcome", "failed"); n != 1 {
		t.Errorf("reports{outcome=failed} = %v", n)
	}
}

// A cost row's Trace button starts the trace of that session, in the report's
// thread.
func TestReportTraceButtonTracesTheSession(t *testing.T) {
	h := newHarness(t, harnessOpts{reports: true})
	h.command(testUser, testChannel, "cost 2h")
	root := h.reportRoot(testChannel, "cost")
	result := h.waitResult(testChannel, root.TS, "*Total*")
	var trace slackfake.Button
	for _, b := range slackfake.Buttons(result) {
		if strings.HasPrefix(b.ActionID, actionPrefix+bot.ActTraceCall) {
			trace = b
			break
		}
	}
	if trace.Text != "Trace s-b5e2b18475c7" {
		t.Fatalf("first Trace button %+v; buttons %+v", trace, slackfake.Buttons(result))
	}
	h.interact(slackfake.Click{User: "U0ENGINEER", Message: result, Button: trace, TriggerID: h.fake.NewTriggerID(),
		ResponseURL: h.fake.NewResponseURL()}.Payload())
	// The sandbox's calls database does not hold the report world's sessions, so
	// the trace ends saying so: what matters is that it traced this session here.
	h.waitResult(testChannel, root.TS, `no call with telephony_session_id "s-b5e2b18475c7"`)
	h.shutdown()
}
