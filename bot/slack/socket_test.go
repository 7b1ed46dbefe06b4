package slack

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/secrets"

	"github.com/callytics/tracebot/bot"
)

// runSocket starts RunSocketMode and waits for the connection; stop cancels it
// and returns what RunSocketMode returned.
func runSocket(t *testing.T, e *Edge, fake *slackfake.Server) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.RunSocketMode(ctx) }()
	fake.WaitSockets(t, 1, 10*time.Second)
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("RunSocketMode did not stop after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func TestSocketModeEvent(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	stop := runSocket(t, h.edge, h.fake)
	m := h.fake.AddMessage(testChannel, testUser, "<@"+slackfake.DefaultBotUserID+"> "+testReport, "")
	payload := slackfake.EventCallback(slackfake.DefaultTeamID, "Ev0SOCKET", slackfake.AppMention(testChannel, testUser, m.Text, m.TS, ""))
	first, err := h.fake.SendEnvelope(slackfake.Envelope{Type: slackfake.EnvelopeEventsAPI, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	h.fake.WaitAck(t, first, 5*time.Second)
	// Slack did not see the ack in time and delivers again: same event_id.
	again, err := h.fake.SendEnvelope(slackfake.Envelope{Type: slackfake.EnvelopeEventsAPI, Payload: payload, RetryAttempt: 1, RetryReason: "timeout"})
	if err != nil {
		t.Fatal(err)
	}
	h.fake.WaitAck(t, again, 5*time.Second)
	h.waitResult(testChannel, m.TS, "Call "+testSession+"\n")
	h.shutdown()
	if n := len(h.botReplies(testChannel, m.TS)); n != 2 {
		t.Errorf("want one trace (result + engineers), got %d bot messages", n)
	}
	if err := stop(); err != nil {
		t.Errorf("RunSocketMode after cancel = %v, want nil", err)
	}
	h.fake.Wait(t, 5*time.Second, "the socket closed", func() bool { return h.fake.SocketConnections() == 0 })
}

func TestSocketModeCommandAndInteraction(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	runSocket(t, h.edge, h.fake)
	cmd := slackfake.Command{Command: "/trace", Text: testReport, TeamID: slackfake.DefaultTeamID, ChannelID: testChannel,
		UserID: testUser, TriggerID: h.fake.NewTriggerID(), ResponseURL: h.fake.NewResponseURL()}
	env, err := h.fake.SendEnvelope(slackfake.Envelope{Type: slackfake.EnvelopeSlashCommands, Payload: cmd.Payload()})
	if err != nil {
		t.Fatal(err)
	}
	h.fake.WaitAck(t, env, 5*time.Second)
	root := h.rootMessage(testChannel)
	result := h.waitResult(testChannel, root.TS, `"a":"refresh"`)

	click := h.clickPayload(testUser, result, actionPrefix+bot.ActEscalate)
	env, err = h.fake.SendEnvelope(slackfake.Envelope{Type: slackfake.EnvelopeInteractive, Payload: click.Payload()})
	if err != nil {
		t.Fatal(err)
	}
	h.fake.WaitAck(t, env, 5*time.Second)
	h.waitResult(testChannel, root.TS, "<!subteam^S0ONCALL>")

	report := h.fake.AddMessage(testChannel, "U0CUSTOMER", "312-555-0142 5/21 10:30am", "")
	sc := slackfake.Shortcut{CallbackID: "trace_report", User: testUser, Channel: testChannel, Message: report,
		TriggerID: h.fake.NewTriggerID(), ResponseURL: h.fake.NewResponseURL()}
	env, err = h.fake.SendEnvelope(slackfake.Envelope{Type: slackfake.EnvelopeInteractive, Payload: sc.Payload()})
	if err != nil {
		t.Fatal(err)
	}
	h.fake.WaitAck(t, env, 5*time.Second)
	h.waitResult(testChannel, report.TS, "Which one?")
}

// An envelope slack-go cannot parse (an event tracebot does not subscribe to) is
// still acknowledged, so Slack stops redelivering it.
func TestSocketModeAcksUnknownEvents(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	runSocket(t, h.edge, h.fake)
	payload := slackfake.EventCallback(slackfake.DefaultTeamID, "Ev0ODD", map[string]any{"type": "no_such_event_type", "user": "U1"})
	env, err := h.fake.SendEnvelope(slackfake.Envelope{Type: slackfake.EnvelopeEventsAPI, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	h.fake.WaitAck(t, env, 5*time.Second)
}

func TestSocketModeReconnects(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	runSocket(t, h.edge, h.fake)
	h.fake.RequestDisconnect()
	h.fake.Wait(t, 10*time.Second, "a second apps.connections.open", func() bool {
		return len(h.fake.CallsTo("apps.connections.open")) >= 2
	})
	h.fake.WaitSockets(t, 1, 10*time.Second)
	m := h.fake.AddMessage("D0SUPPORT", testUser, testReport, "")
	var env string
	h.fake.Wait(t, 10*time.Second, "the envelope sent on the new connection", func() bool {
		id, err := h.fake.SendEnvelope(slackfake.Envelope{Type: slackfake.EnvelopeEventsAPI,
			Payload: slackfake.EventCallback(slackfake.DefaultTeamID, "Ev0AFTER", slackfake.DirectMessage("D0SUPPORT", testUser, m.Text, m.TS, ""))})
		env = id
		return err == nil
	})
	h.fake.WaitAck(t, env, 5*time.Second)
	h.waitResult("D0SUPPORT", m.TS, "Call "+testSession+"\n")
}

func TestSocketModeBadAppToken(t *testing.T) {
	var mu sync.Mutex
	var failures []string
	s := newStubEdge(t, func(c *Config) {
		c.AppToken = bot.StaticSecret(secrets.New("xapp-revoked-token"))
		c.OnAuthFailure = func(which string) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, which)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.edge.RunSocketMode(ctx)
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("RunSocketMode = %v, want invalid_auth", err)
	}
	if strings.Contains(err.Error(), "xapp-revoked") {
		t.Errorf("error quotes the token: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failures) != 1 || failures[0] != AppTokenName {
		t.Errorf("auth failures = %v", failures)
	}

	s2 := newStubEdge(t, func(c *Config) { c.AppToken = nil })
	if err := s2.edge.RunSocketMode(ctx); err == nil {
		t.Error("RunSocketMode without an app token must fail")
	}
}
