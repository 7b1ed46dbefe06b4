package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/callytics/tracebot/bot/lark/larkfake"
	"github.com/callytics/tracebot/bot/slack/slackfake"
)

const (
	e2eLarkApp    = "cli_e2e"
	e2eLarkSecret = "lark-e2e-app-secret-6d1f"
	e2eLarkToken  = "lark-e2e-verify-2b7c"
)

// chatCluster is a cluster whose replicas run the real `serve` (no sandbox) on
// both platforms against the wire fakes: Postgres calls, Logs, OpenRouter and S3
// through the real clients, the Slack and Lark fakes, a Postgres state store, and
// debug logs. The world holds the canary customer data of addCanaries.
func chatCluster(t *testing.T) (*env, *cluster, *larkfake.Server) {
	t.Helper()
	e := newEnv(t)
	addCanaries(t, e.world)
	lf := larkfake.New(t, larkfake.Options{AppID: e2eLarkApp, AppSecret: e2eLarkSecret})
	c := newCluster(t) // after newEnv: the replicas inherit its endpoints
	c.args = []string{"serve"}
	u, err := url.Parse(e.world.DSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), canaryDBPassword)
	for name, value := range map[string]string{"neon-database-url": u.String(), "openrouter-api-key": canaryRouterKey,
		"lark-app-secret": e2eLarkSecret, "lark-verification-token": e2eLarkToken} {
		c.writeSecret(t, name, value)
	}
	c.env = append(c.env, "TRACEBOT_LOG_LEVEL=debug", "TRACEBOT_ESCALATION_MENTION=S0ONCALL", "TRACEBOT_LARK_APP_ID="+e2eLarkApp,
		"TRACEBOT_LARK_MODE=webhook", "TRACEBOT_LARK_BASE_URL="+lf.URL())
	return e, c, lf
}

// TestChatCustomerDataNeverLeaks runs real traces in chat over the real clients,
// with canary customer data in a stored transcript, in a model answer that is not
// JSON (so not a compared field) and in a stored analysis that is not JSON. The
// canaries must reach no channel message on either platform (posts and updates,
// their notification text included), no log line (debug level), no metric and no
// row of the state database; the Model output answers, shown to the clicker
// alone, do hold the transcript and the answer, so the test can fail.
func TestChatCustomerDataNeverLeaks(t *testing.T) {
	_, c, lf := chatCluster(t)
	r := c.start(t)

	// Slack: the runbook call, its Model output and an escalation.
	c.slash(t, r, "(914) 265-4371 5/20 1:15pm")
	msg, _ := c.resultMessage(t)
	if !strings.Contains(msg.BlockText(), "🔎 *Truncated output* — classify's answer is not JSON (no JSON object in the answer)") {
		t.Errorf("the Slack result has no verdict line:\n%s", msg.BlockText())
	}
	answer := click(t, c, r, msg, "tracebot:model_output:")
	c.slack.Wait(t, 20*time.Second, "the Model output answer", func() bool { return responseHolding(c.slack, answer, "Model output · call") })
	click(t, c, r, msg, "tracebot:escalate:")
	c.slack.Wait(t, 20*time.Second, "the handoff", func() bool {
		for _, m := range c.slack.Messages("CSUPPORT") {
			if strings.Contains(m.BlockText(), "escalation from") && strings.Contains(m.BlockText(), "Truncated output") {
				return true
			}
		}
		return false
	})

	// Lark: the same call in a group (Model output as an ephemeral card), and the
	// call whose stored analysis is not JSON in a direct chat.
	larkTrace(t, c, r, lf, "oc_support", "group", "(914) 265-4371 5/20 1:15pm", true)
	larkTrace(t, c, r, lf, "oc_dm_alice", "p2p", "646-555-0134 5/21 2pm", false)

	// A group message not meant for the bot is ignored at debug level: the logs
	// below are at debug level indeed.
	chatter := larkfake.MessageEvent{EventID: "ev-chatter", Token: e2eLarkToken, AppID: e2eLarkApp, TenantKey: "tenant_fake",
		ChatID: "oc_support", ChatType: "group", MessageID: "om_chatter", SenderOpenID: "ou_carol", Text: "lunch?", CreateTime: time.Now()}
	larkPost(t, r, "/lark/events", chatter.JSON())

	metrics := get(t, "http://"+r.addr+"/metrics")
	rows := stateRows(t, c.state)
	// Stop the replica so that its logs are complete (and no longer written).
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := <-r.done
	r.done <- err // for the cleanup

	canaries := []string{canaryTranscript, canaryAnswer, canaryAnalysis, "CANARY"}
	var private []string
	check := func(where, text string) {
		t.Helper()
		for _, canary := range canaries {
			if strings.Contains(text, canary) {
				t.Errorf("%s holds the canary %q:\n%.800s", where, canary, text)
			}
		}
	}
	for _, call := range c.slack.Calls() {
		if call.Method == "response_url" {
			private = append(private, call.Payload())
			continue
		}
		check("slack "+call.Method, call.Payload())
	}
	for _, m := range lf.Sent() {
		if m.Ephemeral {
			private = append(private, strings.Join(m.Contents, "\n"))
			continue
		}
		check("lark message "+m.ID+" ("+m.ReceiveIDType+" "+m.ReceiveID+")", strings.Join(m.Contents, "\n"))
	}
	for _, req := range lf.Requests() {
		if req.Path != "/open-apis/ephemeral/v1/send" {
			check("lark request "+req.Method+" "+req.Path, string(req.Body))
		}
	}
	check("logs", r.logs.String())
	check("metrics", metrics)
	check("state database", rows)

	all := strings.Join(private, "\n")
	if !strings.Contains(all, canaryTranscript) || !strings.Contains(all, canaryAnswer) || strings.Count(all, "Model output · call") < 2 {
		t.Errorf("the private Model output answers (Slack and Lark) do not show the stored content:\n%.3000s", all)
	}
	for _, want := range []string{`"level":"DEBUG"`, `"msg":"model output shown"`, "verdict: stored analysis not read"} {
		if !strings.Contains(r.logs.String(), want) {
			t.Errorf("the logs lack %q, so the check did not see every path:\n%.3000s", want, r.logs)
		}
	}
	if !strings.Contains(rows, "s-abc123def456") || !strings.Contains(rows, "s-5e9b2d4c7a10") {
		t.Errorf("the state database holds no record of the traces, so the check saw nothing:\n%.2000s", rows)
	}
}

// click clicks the button whose action id starts with prefix on msg and returns
// the click's response_url.
func click(t *testing.T, c *cluster, r *replica, msg slackfake.Message, prefix string) string {
	t.Helper()
	for _, b := range slackfake.Buttons(msg) {
		if strings.HasPrefix(b.ActionID, prefix) {
			cl := slackfake.Click{User: "UENG1", Message: msg, Button: b, TriggerID: c.slack.NewTriggerID(), ResponseURL: c.slack.NewResponseURL()}
			if code := r.send(t, "/slack/interactivity", slackfake.InteractionForm(cl.Payload())); code != http.StatusOK {
				t.Fatalf("click %s: HTTP %d", prefix, code)
			}
			return cl.ResponseURL
		}
	}
	t.Fatalf("no %s button: %+v", prefix, slackfake.Buttons(msg))
	return ""
}

func responseHolding(s *slackfake.Server, u, want string) bool {
	for _, p := range s.ResponsePosts() {
		if p.URL == u && strings.Contains(p.Text+p.BlockText(), want) {
			return true
		}
	}
	return false
}

// larkTrace asks for report in chat (a group mention or a direct message) and
// waits for the result card; with modelOutput it clicks Model output and waits
// for the answer (an ephemeral card in a group).
func larkTrace(t *testing.T, c *cluster, r *replica, lf *larkfake.Server, chat, chatType, report string, modelOutput bool) {
	t.Helper()
	id := "om_user_" + chat
	lf.AddMessage(chat, id)
	ev := larkfake.MessageEvent{EventID: "ev-" + chat, Token: e2eLarkToken, AppID: e2eLarkApp, TenantKey: "tenant_fake",
		ChatID: chat, ChatType: chatType, MessageID: id, SenderOpenID: "ou_alice", Text: report, CreateTime: time.Now()}
	if chatType == "group" {
		ev.Text, ev.Mentions = "@_user_1 "+report, []larkfake.Mention{{Key: "@_user_1", OpenID: "ou_bot"}}
	} else {
		lf.SetP2PChat("ou_alice", chat)
	}
	larkPost(t, r, "/lark/events", ev.JSON())
	var result larkfake.Message
	var button map[string]any
	c.slack.Wait(t, 30*time.Second, "the Lark result in "+chat, func() bool {
		for _, m := range lf.Sent() {
			card, err := larkfake.ParseCard(m.Content())
			if m.ParentID != id || err != nil {
				continue
			}
			for _, b := range card.Buttons() {
				if v, _ := b.Value["v"].(string); strings.Contains(v, `"a":"model_output"`) {
					result, button = m, b.Value
					return true
				}
			}
		}
		return false
	})
	if !modelOutput {
		return
	}
	act := larkfake.CardAction{EventID: "ev-click-" + chat, Token: e2eLarkToken, AppID: e2eLarkApp, TenantKey: "tenant_fake",
		OperatorOpenID: "ou_bob", ChatID: chat, MessageID: result.ID, Value: button}
	larkPost(t, r, "/lark/card", act.JSON())
	c.slack.Wait(t, 20*time.Second, "the ephemeral Model output card", func() bool {
		for _, m := range lf.Sent() {
			if m.Ephemeral && m.ChatID == chat && m.ReceiveID == "ou_bob" {
				return true
			}
		}
		return false
	})
}

func larkPost(t *testing.T, r *replica, path string, body []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(larkfake.WebhookRequest("http://"+r.addr+path, body, ""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d", path, resp.StatusCode)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// stateRows is every row of every table of the state database, as JSON lines.
func stateRows(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tables, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(tables, pgx.RowTo[string])
	if err != nil || len(names) == 0 {
		t.Fatalf("state tables %v: %v", names, err)
	}
	var b strings.Builder
	for _, name := range names {
		rows, err := conn.Query(ctx, "SELECT row_to_json(t)::text FROM "+name+" t")
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(name + "\n" + strings.Join(lines, "\n") + "\n")
	}
	return b.String()
}
