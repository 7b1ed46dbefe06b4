package slack

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/insights"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// TestReportsLeakNoSecretNorCustomerContent asks for every report kind, help and
// refusals, with a region failing, canary credentials, and ai_usage lines that
// carry a customer's words (a prompt and a transcript, as a careless logger would
// write them) in the most expensive row of the window. No canary may reach Slack
// (messages, files, response_url posts), the edge's HTTP answers, the logs or the
// metrics; the bot token travels only as the Web API's credential.
func TestReportsLeakNoSecretNorCustomerContent(t *testing.T) {
	const (
		botToken = "xoxb-CANARY-REPORT-3c9a7e1f5b"
		signing  = "CANARYreportsigning4d8e2b6a1f"
		customer = "CANARY-CUSTOMER-my card number is 4111"
	)
	h := newHarness(t, harnessOpts{reports: true, fake: slackfake.Config{BotToken: botToken}, secret: signing})
	group, line := customerLine(t, h.world, customer)
	h.world.Logs.AddEvents("us-east-1", group, line)
	h.world.Logs.Fail("us-east-2", lookuptest.LogsStartQuery, "AccessDeniedException", 0)

	for _, words := range []string{"cost 2h", "cache 24h", "finish 24h", "providers 24h", "deploys"} {
		h.command(testUser, testChannel, words)
		h.waitResult(testChannel, h.reportRoot(testChannel, strings.Fields(words)[0]).TS, "Regions:")
	}
	for _, words := range []string{"help", "cahce 24h", "cost 9d"} {
		h.waitResponse(h.command(testUser, testChannel, words), "`/trace deploys`")
	}
	h.shutdown()
	cost := h.waitResult(testChannel, h.reportRoot(testChannel, "cost").TS, "*Total*")
	if !strings.Contains(cost.BlockText(), "s-canary00001") {
		t.Fatalf("the customer's row is not the cost report's top row, so the test proves nothing:\n%s", cost.BlockText())
	}

	var outputs []struct{ where, text string }
	add := func(where, text string) { outputs = append(outputs, struct{ where, text string }{where, text}) }
	for i, c := range h.fake.Calls() {
		add(fmt.Sprintf("call %d %s", i, c.Method), c.Method+"\n"+c.Payload())
		if c.Method != "response_url" && c.Token != botToken {
			t.Errorf("call %d %s carried the wrong credential", i, c.Method)
		}
	}
	for _, m := range h.fake.Messages(testChannel) {
		add("message "+m.TS, m.Text+string(m.Blocks))
	}
	for _, f := range h.fake.Files() {
		add("file "+f.Name, f.Name+f.Title+f.AltText+string(f.Content))
	}
	for i, p := range h.fake.ResponsePosts() {
		add(fmt.Sprintf("response post %d", i), p.Text+string(p.Blocks))
	}
	h.ownOutputs(add)
	for _, o := range outputs {
		for _, c := range []string{botToken, signing, customer, "CANARY"} {
			if strings.Contains(o.text, c) {
				t.Errorf("%s holds the canary %q:\n%.600s", o.where, c, o.text)
			}
		}
	}
	if len(h.fake.Files()) != 2 || !bytes.Contains(h.fake.Files()[0].Content, []byte("PNG")) {
		t.Error("the scenario did not upload the charts it checks")
	}
}

// customerLine is the most expensive ai_usage line of the cost window (a copy of
// one of the world's us-east-1 lines), logged with a customer's words beside the
// usage fields; it returns the line and its group.
func customerLine(t *testing.T, w *lookuptest.ReportWorld, words string) (string, insights.Event) {
	t.Helper()
	for _, r := range w.Rows {
		if r.Region != "us-east-1" || r.Timestamp.Before(lookup.SandboxNow.Add(-time.Hour)) || r.CostUSD == nil {
			continue
		}
		cost := 0.25
		r.SessionID, r.RequestID, r.OpenRouterID, r.CostUSD = "s-canary00001", "req-canary", "gen-1779463800-CanaryRow001", &cost
		ev := r.Event()
		ev.Fields["prompt"] = "Summarise: " + words
		ev.Fields["transcript"] = words
		ev.Fields["@message"] = strings.TrimSuffix(ev.Fields["@message"], "}") + `,"transcript":"` + words + `"}`
		return r.LogGroup, ev
	}
	t.Fatal("no us-east-1 line in the last hour")
	return "", insights.Event{}
}
