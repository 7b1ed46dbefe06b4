package slack

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/secrets"

	"github.com/callytics/tracebot/bot"
)

// TestSlackLeaksNoSecret runs every Slack path with canary credentials and checks
// that no canary appears in anything sent to Slack (payloads, response_url posts),
// in the edge's HTTP answers, in the logs or in the metrics. The tokens may only
// travel as the credential of the Web API calls that need them.
func TestLeaksNoSecret(t *testing.T) {
	const (
		botToken = "xoxb-CANARY-BOT-7f3a9c2e41d8b6"
		appToken = "xapp-1-CANARY-APP-5b2e8d1f0a6c"
		signing  = "CANARYsigning0e4c7a1b9f2d6e3a"
	)
	canaries := []string{botToken, appToken, signing, "CANARY"}
	h := newHarness(t, harnessOpts{fake: slackfake.Config{BotToken: botToken, AppToken: appToken}, secret: signing})
	stop := runSocket(t, h.edge, h.fake)

	// A full trace, a reprocess, an escalation, a refusal.
	root, result := traced(t, h, testChannel)
	h.click("U0ALICE", result, actionPrefix+bot.ActReprocess)
	h.waitResult(testChannel, root.TS, "Reprocess of")
	h.click("U0BOB", result, actionPrefix+bot.ActEscalate)
	h.waitResult(testChannel, root.TS, "<!subteam^S0ONCALL>")
	ru := h.click("U0BOB", result, actionPrefix+bot.ActReprocess)
	h.waitResponse(ru, "already requested")
	// Not understood, not in channel, rate limited, forged, over Socket Mode.
	h.waitResponse(h.command(testUser, testChannel, "gibberish"), "could not read")
	h.fake.FailChannel("G0PRIVATE", "not_in_channel")
	h.waitResponse(h.command(testUser, "G0PRIVATE", testReport), "/invite @tracebot")
	h.fake.RateLimit("chat.postMessage", 1, 1)
	h.send("/slack/commands", slackfake.ContentForm, []byte("text="+botToken), "wrong-"+signing, time.Now(), nil)
	h.send("/slack/events", slackfake.ContentJSON, []byte(`{"type":"url_verification","challenge":"x"}`), signing, time.Now().Add(-time.Hour), nil)
	m := h.fake.AddMessage("D0SUPPORT", testUser, testReport, "")
	env, err := h.fake.SendEnvelope(slackfake.Envelope{Type: slackfake.EnvelopeEventsAPI,
		Payload: slackfake.EventCallback(slackfake.DefaultTeamID, "Ev0LEAK", slackfake.DirectMessage("D0SUPPORT", testUser, m.Text, m.TS, ""))})
	if err != nil {
		t.Fatal(err)
	}
	h.fake.WaitAck(t, env, 5*time.Second)
	h.waitResult("D0SUPPORT", m.TS, "Call "+testSession+"\n")
	// A refused token, its error logged the way the bot logs poster errors.
	bad := newEdge(Config{BotToken: bot.StaticSecret(secrets.New(botToken + "-rotated")), APIURL: h.fake.APIURL(),
		Logger: h.edge.cfg.Logger}, h.bot)
	if _, err := bad.Post(context.Background(), bot.Ref{Channel: testChannel}, notice("x"), ""); err == nil {
		t.Error("want invalid_auth")
	} else {
		h.edge.log.Error("post failed", "err", err)
	}
	h.shutdown()
	if err := stop(); err != nil {
		t.Errorf("socket mode: %v", err)
	}

	var outputs []struct{ where, text string }
	add := func(where, text string) { outputs = append(outputs, struct{ where, text string }{where, text}) }
	for i, c := range h.fake.Calls() {
		add(fmt.Sprintf("call %d %s", i, c.Method), c.Method+"\n"+c.Payload())
		switch {
		case c.Method == "apps.connections.open" && c.Token != appToken,
			c.Method == "response_url" && c.Token != "",
			c.Method != "apps.connections.open" && c.Method != "response_url" && c.Token != botToken && c.Token != botToken+"-rotated":
			t.Errorf("call %d %s carried the wrong credential", i, c.Method)
		}
	}
	for i, p := range h.fake.ResponsePosts() {
		add(fmt.Sprintf("response post %d", i), p.URL+p.Text+string(p.Blocks))
	}
	h.ownOutputs(add)
	for _, o := range outputs {
		for _, c := range canaries {
			if strings.Contains(o.text, c) {
				t.Errorf("%s contains the canary %q:\n%.600s", o.where, c, o.text)
			}
		}
	}
	if !strings.Contains(h.logs.String(), "forged request refused") || !strings.Contains(h.logs.String(), "invalid_auth") {
		t.Errorf("the logs should show the refusals (so the leak check saw them):\n%.2000s", h.logs.String())
	}
	if len(h.fake.CallsTo("chat.update")) == 0 || len(h.fake.ResponsePosts()) < 3 || h.lambda.Requests() != 1 {
		t.Errorf("the scenario did not run every path")
	}
}

// ownOutputs hands add what the edge and the bot wrote themselves: every HTTP
// answer (headers and body), the logs and the metrics.
func (h *harness) ownOutputs(add func(where, text string)) {
	h.t.Helper()
	h.mu.Lock()
	for i, body := range h.responses {
		add(fmt.Sprintf("HTTP answer %d", i), body+fmt.Sprint(h.headers[i]))
	}
	h.mu.Unlock()
	add("logs", h.logs.String())
	families, err := h.metrics.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	add("metrics", fmt.Sprint(families))
}
