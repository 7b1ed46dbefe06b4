package lark

import (
	"bytes"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/lark/larkfake"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// These tests ask for reports across calls as people do in Lark: events in over
// the webhook, the real bot over the report world (CloudWatch Logs and Lambda wire
// fakes evaluating what the engine sends), cards and the chart through the SDK
// into the fake Lark.

var botMention = larkfake.Mention{Key: "@_user_1", OpenID: "ou_bot", Name: "tracebot"}

// askReport delivers ev and waits for the bot's work to end; it returns the bot's
// replies to the message, the result card first.
func (h *harness) askReport(t *testing.T, ev larkfake.MessageEvent) []larkfake.Message {
	t.Helper()
	if status, body := h.deliver(t, "/lark/events", ev.JSON()); status != http.StatusOK {
		t.Fatalf("deliver: %d %s", status, body)
	}
	h.drain(t)
	sent := h.sentTo(ev.MessageID)
	if len(sent) == 0 {
		t.Fatalf("no reply to %s; logs:\n%s", ev.MessageID, h.logs)
	}
	return sent
}

// chartReply checks that m is a card in the thread showing a PNG chart the bot
// uploaded (at least 800×400) and returns the image.
func (h *harness) chartReply(t *testing.T, m larkfake.Message, chat string) larkfake.Image {
	t.Helper()
	if !m.ReplyInThread || m.ChatID != chat {
		t.Errorf("chart message %s: in thread %v, chat %s; want in the thread, in %s", m.ID, m.ReplyInThread, m.ChatID, chat)
	}
	keys := cardOf(t, m).ImageKeys()
	if len(keys) != 1 {
		t.Fatalf("chart card shows %d images:\n%s", len(keys), m.Content())
	}
	for _, img := range h.fake.Images() {
		if img.Key != keys[0] {
			continue
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(img.Content))
		if err != nil || img.Type != "message" || cfg.Width < 800 || cfg.Height < 400 {
			t.Errorf("chart %s: type %s, %v %+v; want a message PNG of at least 800×400", img.Key, img.Type, err, cfg)
		}
		return img
	}
	t.Fatalf("the card shows %s, which was never uploaded", keys[0])
	return larkfake.Image{}
}

func TestReportEachKindInADirectMessage(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := newHarness(t, harnessOpts{reports: true, registry: reg})
	for _, c := range []struct {
		words string
		want  []string
		chart bool
	}{
		{"/trace cost 2h", []string{"**Total** $0.2373 over 288 rows", "Session: `s-b5e2b18475c7`", "**long_input**", "**cache_miss**",
			"Data scanned:", "[Trace s-b5e2b18475c7]"}, false},
		{"cache 24h", []string{"Overall **80%**", "**cache_collapse**", "prompts-cache-invariant.test.ts"}, true},
		{"finish 24h", []string{"coaching — Finish reason: length", "**length_spike**", "**content_filter_spike**"}, true},
		{"providers 24h", []string{"used more than one provider", "**provider_switching**", "[Trace s-02c1e6a05e23]"}, false},
		{"deploys", []string{"`Zx1Cv2Bn3Mq4…`", "**code_differs**"}, false},
	} {
		ev := h.dm("ou_alice", c.words)
		sent := h.askReport(t, ev)
		result := cardOf(t, sent[0])
		if len(sent[0].Contents) < 3 {
			t.Errorf("%s: the card was sent and updated %d times; want progress, region progress and the result", c.words, len(sent[0].Contents))
		}
		for _, want := range c.want {
			if !strings.Contains(result.Text(), want) {
				t.Errorf("%s: the card lacks %q:\n%s", c.words, want, result.Text())
			}
		}
		if first, _ := larkfake.ParseCard(sent[0].Contents[0]); !strings.Contains(first.Text(), "asking every region") {
			t.Errorf("%s: the first card is not the progress:\n%s", c.words, first.Text())
		}
		switch {
		case c.chart && len(sent) != 2:
			t.Errorf("%s: %d replies, want the result and the chart", c.words, len(sent))
		case c.chart:
			h.chartReply(t, sent[1], ev.ChatID)
		case len(sent) != 1:
			t.Errorf("%s has no chart, but %d replies were sent", c.words, len(sent))
		}
	}
	if n := len(h.fake.Images()); n != 2 {
		t.Errorf("%d images uploaded, want cache and finish", n)
	}
	if n := bottest.Counter(t, reg, "tracebot_reports_total", "outcome", "answered"); n != 5 {
		t.Errorf("reports answered = %v, want 5", n)
	}
}

// @bot in a group answers in the thread of that message; help and refusals are
// private (a direct message), and start no query.
func TestReportInAGroupAndRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{reports: true})
	ev := h.group("oc_support", "ou_bob", "@_user_1 cache 24h", botMention)
	sent := h.askReport(t, ev)
	if len(sent) != 2 || !strings.Contains(cardOf(t, sent[0]).Text(), "**cache_collapse**") {
		t.Fatalf("group report: %d replies", len(sent))
	}
	h.chartReply(t, sent[1], "oc_support")

	queries := len(h.world.Logs.Queries())
	for _, c := range []struct{ words, want string }{
		{"@_user_1 help", "`/trace cost 2h` — the 20 most expensive AI calls"},
		{"@_user_1 /trace cahce 24h", "Did you mean “cache 24h”?"},
		{"@_user_1 cost 9d", "A report covers at most 7d"},
		{"@_user_1 cost banana", "I could not read the window “banana”"},
	} {
		ev := h.group("oc_support", "ou_bob", c.words, botMention)
		h.deliver(t, "/lark/events", ev.JSON())
		h.drain(t)
		if n := len(h.sentTo(ev.MessageID)); n != 0 {
			t.Errorf("%s: %d replies in the group, want a private answer only", c.words, n)
		}
		found := false
		for _, m := range h.fake.Sent() {
			text := cardOf(t, m).Text()
			if m.ReceiveIDType == "open_id" && m.ReceiveID == "ou_bob" && strings.Contains(text, c.want) && strings.Contains(text, "`/trace deploys`") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no direct message to ou_bob holding %q and the kinds", c.words, c.want)
		}
	}
	if n := len(h.world.Logs.Queries()); n != queries {
		t.Errorf("refused words ran %d queries", n-queries)
	}
}

// A failing region is named and the rest still answers (a chart included, for a
// kind that has one); a cost row's Trace button traces that session in the
// report's thread.
func TestReportFailingRegionAndTraceButton(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{reports: true})
	h.world.Logs.Fail("us-west-2", lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	ev := h.dm("ou_alice", "cost 2h")
	sent := h.askReport(t, ev)
	result := cardOf(t, sent[0])
	for _, want := range []string{"**Could not check everything:**", "✗ us-west-2: AccessDenied on logs:StartQuery", "us-west-2 ✗ failed", "**Total**"} {
		if !strings.Contains(result.Text(), want) {
			t.Errorf("the card lacks %q:\n%s", want, result.Text())
		}
	}
	if len(sent) != 1 {
		t.Fatalf("%d replies, want the result (cost has no chart)", len(sent))
	}
	finish := h.dm("ou_alice", "finish 24h")
	if got := h.askReport(t, finish); len(got) != 2 {
		t.Errorf("finish with a failed region: %d replies, want the result and the chart", len(got))
	} else {
		h.chartReply(t, got[1], finish.ChatID)
	}

	v := findButton(t, result, bot.ActTraceCall)
	if v.SessionID == "" {
		t.Fatalf("Trace button without a session: %+v", v)
	}
	status, body := h.deliver(t, "/lark/card", h.click(ev.ChatID, sent[0].ID, "ou_carol", v).JSON())
	if kind, toast := toastOf(t, body); status != http.StatusOK || kind != "info" || toast != "Working on it…" {
		t.Fatalf("click answered %d %s", status, body)
	}
	h.drain(t)
	traced := h.sentTo(sent[0].ID)
	if len(traced) != 1 || !traced[0].ReplyInThread || traced[0].ThreadID != sent[0].ThreadID {
		t.Fatalf("the click's trace: %+v; want one reply in the report's thread %s", traced, sent[0].ThreadID)
	}
	// The sandbox's calls database does not hold the report world's sessions: the
	// trace ends saying so, which shows it traced this session.
	if text := cardOf(t, traced[0]).Text(); !strings.Contains(text, `no call with telephony_session_id "`+v.SessionID+`"`) {
		t.Errorf("the trace did not trace %s:\n%s", v.SessionID, text)
	}
}
