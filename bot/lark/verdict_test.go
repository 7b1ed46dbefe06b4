package lark

import (
	"net/http"
	"strings"
	"testing"

	"github.com/callytics/tracebot/bot/lark/larkfake"

	"github.com/callytics/tracebot/bot"
)

// The runbook call of the sample world, and a phrase of its transcript.
const (
	transcriptMark = "Bright Smile Dental"
	testSession    = "s-abc123def456"
)

// In a group chat the result shows the verdict under the call, and Model output
// answers the clicker alone with a card "only visible to you" in that chat; the
// transcript is in that card and in nothing else the chat holds.
func TestModelOutputIsEphemeralInAGroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	ev := h.group("oc_support", "ou_alice", "@_user_1 "+testReport, larkfake.Mention{Key: "@_user_1", OpenID: "ou_bot"})
	h.deliver(t, "/lark/events", ev.JSON())
	h.drain(t)
	sent := h.sentTo(ev.MessageID)
	if len(sent) == 0 {
		t.Fatalf("no reply; logs:\n%s", h.logs)
	}
	result := cardOf(t, mustMessage(t, h.fake, sent[0].ID))
	if !strings.Contains(result.Text(), "🔎 **Model error** — the stored analysis is what the model answered (triage: call_state=voicemail") {
		t.Errorf("the result has no verdict line:\n%s", result.Text())
	}
	status, body := h.deliver(t, "/lark/card", h.click("oc_support", sent[0].ID, "ou_bob", findButton(t, result, bot.ActModelOutput)).JSON())
	if _, toast := toastOf(t, body); status != http.StatusOK || toast != "Working on it…" {
		t.Errorf("click answered %d %s", status, body)
	}
	h.drain(t)

	var shown []larkfake.Message
	for _, m := range h.fake.Sent() {
		switch {
		case m.Ephemeral:
			shown = append(shown, m)
		case strings.Contains(m.Content(), transcriptMark):
			t.Errorf("message %s (chat %s, %s %s) holds the transcript", m.ID, m.ChatID, m.ReceiveIDType, m.ReceiveID)
		}
	}
	if len(shown) != 1 || shown[0].ChatID != "oc_support" || shown[0].ReceiveID != "ou_bob" {
		t.Fatalf("ephemeral cards %+v, want one for ou_bob in oc_support", shown)
	}
	card := cardOf(t, shown[0])
	for _, want := range []string{"Model output · call " + testSession, "**triage** · `gen-1779299695-aBcDeFg` — answer (parsed JSON)",
		`"call_state": "voicemail"`, "user: Agent: Hi, you've reached " + transcriptMark} {
		if !strings.Contains(card.Text(), want) {
			t.Errorf("the card lacks %q:\n%s", want, card.Text())
		}
	}
}

// In a direct chat Lark shows no ephemeral card: the answer comes as a direct
// message instead.
func TestModelOutputInADirectChat(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{lang: "zh"})
	ev, card := h.traceDM(t, "ou_alice", testReport)
	result := cardOf(t, mustMessage(t, h.fake, card.ID))
	if !strings.Contains(result.Text(), "🔎 **模型判断有误** — 存储的分析就是模型的回答（triage：call_state=voicemail") {
		t.Errorf("the result has no Chinese verdict line:\n%s", result.Text())
	}
	h.deliver(t, "/lark/card", h.click(ev.ChatID, card.ID, "ou_alice", findButton(t, result, bot.ActModelOutput)).JSON())
	h.drain(t)
	var dms []larkfake.Message
	for _, m := range h.fake.Sent() {
		if m.Ephemeral {
			t.Errorf("an ephemeral card was accepted in a direct chat")
		}
		if m.ReceiveIDType == "open_id" && !m.Ephemeral {
			dms = append(dms, m)
		}
	}
	if len(dms) != 1 || dms[0].ReceiveID != "ou_alice" || !strings.Contains(cardOf(t, dms[0]).Text(), "模型输出 · 通话 "+testSession) ||
		!strings.Contains(dms[0].Content(), transcriptMark) {
		t.Fatalf("direct messages %+v, want the Model output answer to ou_alice", dms)
	}
	if !strings.Contains(h.logs.String(), "ephemeral answer refused; answering privately") {
		t.Errorf("the fallback is not logged:\n%s", h.logs)
	}
}
