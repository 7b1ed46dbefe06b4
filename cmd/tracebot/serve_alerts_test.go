package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/lark/larkfake"
	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// alertCluster is what alerting replicas share: a Logs fake with generated
// traffic, a fake Slack and a fake Lark, and one real Postgres state database.
type alertCluster struct {
	*cluster
	logs  *lookuptest.LogsServer
	lark  *larkfake.Server
	hour  time.Time // the last full hour at TRACEBOT_NOW
	fixed time.Time // TRACEBOT_NOW
	state string    // the state database
}

func newAlertCluster(t *testing.T, traffic lookup.TrafficConfig) *alertCluster {
	t.Helper()
	c := &alertCluster{cluster: &cluster{slack: slackfake.New(t, slackfake.Config{}), args: []string{"serve"}},
		logs: lookuptest.NewLogsServer(t), lark: larkfake.New(t, larkfake.Options{AppSecret: e2eLarkSecret})}
	for _, r := range reportRegions {
		c.logs.SetLogGroups(r, "/aws/lambda/call-analytics-prod-ai-analysis-processor-"+r, "/aws/lambda/call-analytics-prod-contacts-analyzer-"+r)
	}
	c.logs.LoadTraffic(lookup.GenerateTraffic(traffic))
	c.hour = traffic.Start.Add(time.Duration(traffic.Hours-1) * time.Hour)
	c.fixed = c.hour.Add(70 * time.Minute)
	dir := t.TempDir()
	c.state = sharedPG.NewDatabase(t)
	for name, value := range map[string]string{
		"slack-bot-token": c.slack.Config().BotToken, "slack-signing-secret": e2eSigningSecret,
		"state-database-url": c.state, "neon-database-url": sharedPG.NewDatabase(t),
		"openrouter-api-key": "sk-or-unused", "lark-app-secret": e2eLarkSecret, "lark-verification-token": "e2e-verification",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.env = append(os.Environ(),
		"TRACEBOT_SECRETS_DIR="+dir, "TRACEBOT_SSM_STATE_DATABASE_URL=/callytics/tracebot/state-database-url",
		"TRACEBOT_SLACK_API_URL="+c.slack.APIURL(), "TRACEBOT_LARK_APP_ID="+c.lark.Options().AppID,
		"TRACEBOT_LARK_BASE_URL="+c.lark.URL(), "TRACEBOT_LARK_MODE=webhook",
		"TRACEBOT_ALERT_CHANNELS=C0ALERTS,oc_alerts", "TRACEBOT_ALERT_INTERVAL=1s", "TRACEBOT_DAILY_BUDGET=0.5",
		"TRACEBOT_REPORT_CACHE_TTL=1ms", "TRACEBOT_NOW="+c.fixed.Format(time.RFC3339), "TRACEBOT_POLL_RATE=100/s",
		"TRACEBOT_ESCALATION_MENTION=S0ONCALL",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="+c.logs.URL())
	return c
}

// alertRoots are the alert messages (not thread replies) in each channel, by the
// rule named in their header.
func (c *alertCluster) alertRoots() (slackRoots, larkRoots map[string]int) {
	slackRoots, larkRoots = map[string]int{}, map[string]int{}
	for _, m := range c.slack.Messages("C0ALERTS") {
		if m.ThreadTS == "" && !m.Ephemeral {
			slackRoots[alertRuleOf(m.Text)]++
		}
	}
	for _, m := range c.lark.Sent() {
		if m.ChatID == "oc_alerts" && m.ParentID == "" {
			larkRoots[alertRuleOf(m.Content())]++
		}
	}
	return slackRoots, larkRoots
}

// alertRuleOf is the rule an alert message names.
func alertRuleOf(text string) string {
	for rule, name := range map[string]string{"budget": "daily budget", "cache_collapse": "cache collapse",
		"cost_spike": "cost spike", "length_spike": "length spike", "backend_failures": "backend failures"} {
		if strings.Contains(text, "Alert: "+name) {
			return rule
		}
	}
	return "?"
}

// rootOf is the Slack alert message of rule.
func (c *alertCluster) rootOf(rule string) slackfake.Message {
	for _, m := range c.slack.Messages("C0ALERTS") {
		if m.ThreadTS == "" && alertRuleOf(m.Text) == rule {
			return m
		}
	}
	return slackfake.Message{}
}

// sharedCharts are the files shared in a thread of the Slack alert channel.
func (c *alertCluster) sharedCharts() []slackfake.File {
	var out []slackfake.File
	for _, f := range c.slack.Files() {
		if f.Shared && f.Channel == "C0ALERTS" && f.ThreadTS != "" {
			out = append(out, f)
		}
	}
	return out
}

func buttonWith(t *testing.T, m slackfake.Message, value string) slackfake.Button {
	t.Helper()
	for _, b := range slackfake.Buttons(m) {
		if strings.Contains(b.Value, value) {
			return b
		}
	}
	t.Fatalf("no button with %s on %q", value, m.Text)
	return slackfake.Button{}
}

// threadReplies counts the bot's replies containing text in each channel.
func (c *alertCluster) threadReplies(text string) (slackN, larkN int) {
	for _, m := range c.slack.Messages("C0ALERTS") {
		if m.ThreadTS != "" && strings.Contains(m.Text+string(m.Blocks), text) {
			slackN++
		}
	}
	for _, m := range c.lark.Sent() {
		if m.ChatID == "oc_alerts" && m.ParentID != "" && strings.Contains(m.Content(), text) {
			larkN++
		}
	}
	return slackN, larkN
}

func (c *alertCluster) waitRoots(t *testing.T, want map[string]int, what string) {
	t.Helper()
	c.slack.Wait(t, 60*time.Second, what, func() bool {
		s, l := c.alertRoots()
		return equalCounts(s, want) && equalCounts(l, want)
	})
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// holdFor checks for d that the alert roots stay want (nothing is posted twice).
func (c *alertCluster) holdFor(t *testing.T, d time.Duration, want map[string]int, logs ...*replica) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if s, l := c.alertRoots(); !equalCounts(s, want) || !equalCounts(l, want) {
			var out strings.Builder
			for _, r := range logs {
				out.WriteString(r.logs.String())
			}
			t.Fatalf("alert messages changed: slack %v lark %v, want %v each\n%s", s, l, want, out.String())
		}
	}
}

// addHour loads more traffic into the last full hour: sessions each region, the
// ai-analysis prompts still missing the cache, a share of coaching rows length.
func (c *alertCluster) addHour(seed uint64, sessions int, lengthShare float64) {
	cfg := lookup.TrafficConfig{Seed: seed, Start: c.hour, Hours: 1, SessionsPerHour: sessions, CacheCollapse: []int{0}}
	if lengthShare > 0 {
		cfg.LengthSpike = &lookup.TrafficSpike{Stage: "coaching", Hours: []int{0}, Share: lengthShare}
	}
	c.logs.LoadTraffic(lookup.GenerateTraffic(cfg))
}

// TestTwoReplicasPostEachAlertOnce: two real `serve` replicas on one state
// database, checking every second, post each alert exactly once in a Slack
// channel and a Lark chat over a minute of checks, although the first checks meet a failing Insights
// region and the first posts meet rate limits; a restart does not repost; a
// mute clicked through one replica holds on both; a cleared condition is
// resolved once in each thread.
func TestTwoReplicasPostEachAlertOnce(t *testing.T) {
	start := time.Date(2026, 5, 21, 10, 0, 0, 0, time.UTC)
	c := newAlertCluster(t, lookup.TrafficConfig{Seed: 21, Start: start, Hours: 30, SessionsPerHour: 12,
		CacheCollapse: []int{28, 29}, Surge: &lookup.TrafficSurge{Hours: []int{29}, Factor: 5},
		LengthSpike: &lookup.TrafficSpike{Stage: "coaching", Hours: []int{29}, Share: 0.5}})
	c.logs.Fail("us-west-2", lookuptest.LogsStartQuery, "AccessDeniedException", 8) // the first two checks cannot conclude
	c.slack.RateLimit("chat.postMessage", 2, 1)
	c.lark.Fail(larkfake.OpCreate, larkfake.CodeRateLimited, http.StatusBadRequest, 1, "too many requests")
	begin := time.Now()
	a, b := c.start(t), c.start(t)

	all := map[string]int{"budget": 1, "cache_collapse": 1, "cost_spike": 1, "length_spike": 1}
	c.waitRoots(t, all, "each alert once in each channel")
	// Over a minute of 1 s intervals from the start, nothing is posted again.
	c.holdFor(t, max(6*time.Second, time.Minute-time.Since(begin)), all, a, b)
	if !logged(a.logs.String()+b.logs.String(), "alert rule not evaluated", "us-west-2") {
		t.Error("the failing region was never met: no check was delayed")
	}
	if n := len(c.slack.CallsTo("chat.postMessage")); n < 4+2 {
		t.Errorf("%d chat.postMessage calls: the rate limits were not met", n)
	}

	// Each alert that has a chart got it in its thread, once: on Slack a shared
	// upload, on Lark an uploaded image.
	c.slack.Wait(t, 20*time.Second, "a chart in each alert's thread", func() bool { return len(c.sharedCharts()) == 4 })
	if n := len(c.lark.Images()); n != 4 {
		t.Errorf("%d images uploaded to Lark, want 4 (cost twice, cache, finish)", n)
	}
	// Details runs the alert's report in its thread.
	spike := c.rootOf("cost_spike")
	details := slackfake.Click{User: "U0ONCALL", Message: spike, Button: buttonWith(t, spike, `"a":"report"`),
		TriggerID: c.slack.NewTriggerID(), ResponseURL: c.slack.NewResponseURL()}
	if code := a.send(t, "/slack/interactivity", slackfake.InteractionForm(details.Payload())); code != http.StatusOK {
		t.Fatalf("details click: HTTP %d", code)
	}
	c.slack.Wait(t, 30*time.Second, "the cost report in the cost_spike thread", func() bool {
		for _, m := range c.slack.Replies("C0ALERTS", spike.TS) {
			if strings.Contains(m.Text+string(m.Blocks), "Cost: the most expensive AI calls") && strings.Contains(string(m.Blocks), "Total") {
				return true
			}
		}
		return false
	})

	// A restart of one replica does not repost the open episodes.
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-a.done
	a.done <- nil
	a = c.start(t)
	c.holdFor(t, 4*time.Second, all, a, b)

	// Mute length_spike through replica b (Slack), then let it clear and fire
	// again: the resolution is posted in both threads, the new episode nowhere.
	lengthMsg := c.rootOf("length_spike")
	click := slackfake.Click{User: "U0ONCALL", Message: lengthMsg, Button: buttonWith(t, lengthMsg, `"a":"mute"`), TriggerID: c.slack.NewTriggerID(), ResponseURL: c.slack.NewResponseURL()}
	if code := b.send(t, "/slack/interactivity", slackfake.InteractionForm(click.Payload())); code != http.StatusOK {
		t.Fatalf("mute click: HTTP %d", code)
	}
	c.slack.Wait(t, 20*time.Second, "who muted, in the thread", func() bool {
		n, _ := c.threadReplies("muted")
		return n == 1
	})
	c.addHour(77, 120, 0) // coaching: 90 of 540 rows length, 17%
	c.slack.Wait(t, 30*time.Second, "length_spike resolved in both threads", func() bool {
		s, l := c.threadReplies("Resolved")
		return s == 1 && l == 1
	})
	c.addHour(78, 120, 1) // 450 of 900, 50%: a new episode, muted
	time.Sleep(4 * time.Second)
	c.holdFor(t, 2*time.Second, all, a, b)
	if s, l := c.threadReplies("Resolved"); s != 1 || l != 1 {
		t.Errorf("resolutions: slack %d, lark %d; want 1 each", s, l)
	}
	c.assertMutedEpisode(t)
	if n := len(c.sharedCharts()); n != 4 {
		t.Errorf("%d charts shared in the Slack alert threads, want 4 (the alerts'; the Details cost report has none)", n)
	}
	assertAlertMetrics(t, a, b)
}

// assertMutedEpisode: length_spike's second episode is open and has no post
// claimed in any channel.
func (c *alertCluster) assertMutedEpisode(t *testing.T) {
	t.Helper()
	store, err := state.OpenPostgres(t.Context(), c.state)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	eps, err := store.UnsettledEpisodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps {
		if ep.Rule != "length_spike" {
			continue
		}
		posts, err := store.AlertPosts(t.Context(), ep.ID)
		if err != nil || ep.ClosedAt != nil || len(posts) != 0 {
			t.Errorf("the muted episode %+v has posts %+v (%v)", ep, posts, err)
		}
		return
	}
	t.Errorf("no open length_spike episode after it fired again: %+v", eps)
}

// assertAlertMetrics: /metrics of the replicas count the episodes they opened.
func assertAlertMetrics(t *testing.T, replicas ...*replica) {
	t.Helper()
	for _, r := range replicas {
		resp, err := http.Get("http://" + r.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), `tracebot_alerts_total{level="warning",rule="length_spike"}`) {
			return
		}
	}
	t.Error("no replica's /metrics counts the length_spike episodes in tracebot_alerts_total")
}

// logged reports whether one log line holds every part.
func logged(logs string, parts ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		if containsEvery(line, parts) {
			return true
		}
	}
	return false
}

func containsEvery(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
