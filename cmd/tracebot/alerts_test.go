package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/bot/lark/larkfake"
	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

func TestAlertConfig(t *testing.T) {
	cfg, err := LoadConfig(mapEnv(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AlertChannels != nil || cfg.AlertInterval != 10*time.Minute || cfg.DailyBudget != 0 || cfg.CostSpike != 3 {
		t.Errorf("defaults: %v %v %v %v", cfg.AlertChannels, cfg.AlertInterval, cfg.DailyBudget, cfg.CostSpike)
	}
	cfg, err = LoadConfig(mapEnv(map[string]string{"TRACEBOT_ALERT_CHANNELS": "C0ALERTS, oc_a1b2c3, G0PRIVATE1",
		"TRACEBOT_ALERT_INTERVAL": "1s", "TRACEBOT_DAILY_BUDGET": "12.5", "TRACEBOT_COST_SPIKE": "0"}))
	if err != nil || !slicesEqual(cfg.AlertChannels, []string{"C0ALERTS", "oc_a1b2c3", "G0PRIVATE1"}) ||
		cfg.AlertInterval != time.Second || cfg.DailyBudget != 12.5 || cfg.CostSpike != 0 {
		t.Errorf("set: %v %v %v %v %v", err, cfg.AlertChannels, cfg.AlertInterval, cfg.DailyBudget, cfg.CostSpike)
	}
	for _, tt := range []struct{ name, value string }{
		{"TRACEBOT_ALERT_CHANNELS", "#alerts"}, {"TRACEBOT_ALERT_CHANNELS", "C0ALERTS,ou_someone"},
		{"TRACEBOT_ALERT_INTERVAL", "999ms"}, {"TRACEBOT_ALERT_INTERVAL", "often"},
		{"TRACEBOT_DAILY_BUDGET", "$50"}, {"TRACEBOT_DAILY_BUDGET", "-5"}, {"TRACEBOT_COST_SPIKE", "three"},
	} {
		_, err := LoadConfig(mapEnv(map[string]string{tt.name: tt.value}))
		if err == nil || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("%s=%q: error %v does not name the variable", tt.name, tt.value, err)
		}
	}
	// One check reads up to 49h of cost: a shorter report range would refuse it.
	short := map[string]string{"TRACEBOT_ALERT_CHANNELS": "C0ALERTS", "TRACEBOT_REPORT_MAX_RANGE": "48h"}
	if _, err := LoadConfig(mapEnv(short)); err == nil || !strings.Contains(err.Error(), "TRACEBOT_REPORT_MAX_RANGE") {
		t.Errorf("alerts on with a 48h report range: error %v does not name TRACEBOT_REPORT_MAX_RANGE", err)
	}
	short["TRACEBOT_REPORT_MAX_RANGE"] = "49h"
	if _, err := LoadConfig(mapEnv(short)); err != nil {
		t.Errorf("alerts on with a 49h report range: %v", err)
	}
	delete(short, "TRACEBOT_ALERT_CHANNELS")
	short["TRACEBOT_REPORT_MAX_RANGE"] = "2h"
	if _, err := LoadConfig(mapEnv(short)); err != nil {
		t.Errorf("alerts off with a 2h report range: %v", err)
	}
}

// TestServeStopsOnBadAlertConfig: serve names the variable and does not start.
func TestServeStopsOnBadAlertConfig(t *testing.T) {
	t.Setenv("TRACEBOT_ALERT_INTERVAL", "100ms")
	t.Setenv("TRACEBOT_ALERT_CHANNELS", "alerts-room")
	r := runCLI(t, "serve", "--sandbox")
	if r.code != exitFailed || !strings.Contains(r.stderr, "TRACEBOT_ALERT_INTERVAL") || !strings.Contains(r.stderr, "TRACEBOT_ALERT_CHANNELS") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
}

// alertEnvNow is "now" of the alert commands' tests: traffic covers the 30
// hours before its hour.
var alertEnvNow = time.Date(2026, 5, 22, 16, 10, 0, 0, time.UTC)

// newAlertEnv points the terminal at a Logs fake holding 30 hours of generated
// traffic up to alertEnvNow's hour, tuned by tune.
func newAlertEnv(t *testing.T, tune func(*lookup.TrafficConfig)) *lookuptest.LogsServer {
	t.Helper()
	logs := lookuptest.NewLogsServer(t)
	for _, r := range reportRegions {
		logs.SetLogGroups(r, "/aws/lambda/call-analytics-prod-ai-analysis-processor-"+r, "/aws/lambda/call-analytics-prod-contacts-analyzer-"+r)
	}
	traffic := lookup.TrafficConfig{Seed: 3, Start: alertEnvNow.Truncate(time.Hour).Add(-30 * time.Hour), Hours: 30, SessionsPerHour: 12}
	if tune != nil {
		tune(&traffic)
	}
	logs.LoadTraffic(lookup.GenerateTraffic(traffic))
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test-secret-key",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": logs.URL(), "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:1",
		"TRACEBOT_NOW": alertEnvNow.Format(time.RFC3339), "TRACEBOT_POLL_RATE": "100/s", "TRACEBOT_SECRETS_DIR": t.TempDir(),
	} {
		t.Setenv(k, v)
	}
	return logs
}

type alertCheckJSON struct {
	Now    time.Time `json:"now"`
	Alerts []struct {
		Rule, Level, Message, Stage string
		Value, Threshold            float64
		From, To                    time.Time
	} `json:"alerts"`
	Evaluated []string `json:"evaluated"`
	Errors    []struct{ Rule, Message string }
}

func decodeAlertCheck(t *testing.T, r result) alertCheckJSON {
	t.Helper()
	var c alertCheckJSON
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatalf("stdout is not the check's JSON: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	return c
}

// TestAlertsCheckCommand: `alerts check --json` fires exactly the rules whose
// conditions the generated traffic holds, none on a quiet day, and exits 1 when
// a rule could not be evaluated.
func TestAlertsCheckCommand(t *testing.T) {
	tests := []struct {
		name    string
		traffic func(*lookup.TrafficConfig)
		env     map[string]string
		fail    string // a region whose StartQuery is refused
		code    int
		want    []string // rule/level/stage
	}{
		{name: "quiet day", code: exitOK},
		{name: "collapse, spike, length, budget", traffic: func(c *lookup.TrafficConfig) {
			c.CacheCollapse = []int{28, 29}
			c.Surge = &lookup.TrafficSurge{Hours: []int{29}, Factor: 5}
			c.LengthSpike = &lookup.TrafficSpike{Stage: "coaching", Hours: []int{29}, Share: 0.5}
		}, env: map[string]string{"TRACEBOT_DAILY_BUDGET": "0.5"}, code: exitOK,
			want: []string{"budget/exceeded/", "cache_collapse/warning/", "cost_spike/warning/", "length_spike/warning/coaching"}},
		{name: "thresholds turned off", traffic: func(c *lookup.TrafficConfig) {
			c.CacheCollapse = []int{28, 29}
			c.Surge = &lookup.TrafficSurge{Hours: []int{29}, Factor: 5}
		}, env: map[string]string{"TRACEBOT_CACHE_MIN": "0", "TRACEBOT_COST_SPIKE": "0"}, code: exitOK},
		{name: "a failing region", traffic: func(c *lookup.TrafficConfig) { c.CacheCollapse = []int{28, 29} },
			fail: "us-east-2", code: exitFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := newAlertEnv(t, tt.traffic)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.fail != "" {
				logs.Fail(tt.fail, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
			}
			r := runCLI(t, "alerts", "check", "--json")
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			c := decodeAlertCheck(t, r)
			var got []string
			for _, a := range c.Alerts {
				got = append(got, a.Rule+"/"+a.Level+"/"+a.Stage)
				if a.Message == "" || a.From.IsZero() || !a.To.After(a.From) {
					t.Errorf("alert %+v", a)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
			if !c.Now.Equal(alertEnvNow) {
				t.Errorf("now %s, want TRACEBOT_NOW", c.Now)
			}
			if tt.fail != "" && (len(c.Errors) != 3 || !strings.Contains(c.Errors[0].Message, "us-east-2")) {
				t.Errorf("errors %+v, want the three report rules naming the region", c.Errors)
			}
			if slicesContain(c.Evaluated, "backend_failures") {
				t.Error("backend_failures evaluated without a state database")
			}
		})
	}
}

func slicesContain(s []string, v string) bool {
	return strings.Contains("\x00"+strings.Join(s, "\x00")+"\x00", "\x00"+v+"\x00")
}

func TestAlertsCheckSandboxAndText(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing may be reached
	r := runCLI(t, "alerts", "check", "--sandbox")
	if r.code != exitOK || !strings.Contains(r.stdout, "SAMPLE DATA") || !strings.Contains(r.stdout, "! budget critical") ||
		!strings.Contains(r.stdout, "Not evaluated: backend_failures") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "alerts"); r.code != exitUsage {
		t.Errorf("alerts without check: exit %d", r.code)
	}
}

// TestAlertsCheckSandboxSettings: the sandbox says why backend_failures is not
// evaluated there (a state database is configured, but the sandbox reads no
// trace records), and keeps its own daily budget only when TRACEBOT_DAILY_BUDGET
// is absent: set to 0, the budget rule is off there too.
func TestAlertsCheckSandboxSettings(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing may be reached
	t.Setenv("TRACEBOT_SECRETS_DIR", t.TempDir())
	t.Setenv("TRACEBOT_SSM_STATE_DATABASE_URL", "/callytics/tracebot/state-database-url")
	r := runCLI(t, "alerts", "check", "--sandbox")
	const why = "Not evaluated: backend_failures (the sandbox does not evaluate it: its sample world keeps no trace records of the bot)"
	if r.code != exitOK || !strings.Contains(r.stdout, why) || strings.Contains(r.stdout, "set TRACEBOT_SSM_STATE_DATABASE_URL") ||
		!strings.Contains(r.stdout, "! budget critical") {
		t.Errorf("exit %d, want %q and the sample budget:\n%s%s", r.code, why, r.stdout, r.stderr)
	}
	t.Setenv("TRACEBOT_DAILY_BUDGET", "0")
	r = runCLI(t, "alerts", "check", "--sandbox", "--json")
	var c struct {
		Alerts       []struct{ Rule string }         `json:"alerts"`
		Evaluated    []string                        `json:"evaluated"`
		NotEvaluated []struct{ Rule, Reason string } `json:"not_evaluated"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || r.code != exitOK {
		t.Fatalf("exit %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	for _, a := range c.Alerts {
		if a.Rule == "budget" {
			t.Errorf("TRACEBOT_DAILY_BUDGET=0 in the sandbox: the budget fired: %+v", c.Alerts)
		}
	}
	if slicesContain(c.Evaluated, "budget") {
		t.Errorf("TRACEBOT_DAILY_BUDGET=0: budget evaluated (%v)", c.Evaluated)
	}
}

// TestCheckShowsAlertChannels: check lists the rules on and off and verifies the
// bot can post in each alert channel.
func TestCheckShowsAlertChannels(t *testing.T) {
	e := newEnv(t)
	sl := slackfake.New(t, slackfake.Config{})
	sl.FailChannel("G0OUTSIDE", "not_in_channel")
	lk := larkfake.New(t, larkfake.Options{AppSecret: "lark-secret-for-check"})
	lk.RemoveBot("oc_gone")
	e.ssm.SetParam("/callytics/tracebot/slack-bot-token", sl.Config().BotToken)
	e.ssm.SetParam("/callytics/tracebot/lark-app-secret", "lark-secret-for-check")
	t.Setenv("TRACEBOT_SLACK_API_URL", sl.APIURL())
	t.Setenv("TRACEBOT_LARK_APP_ID", lk.Options().AppID)
	t.Setenv("TRACEBOT_LARK_BASE_URL", lk.URL())
	t.Setenv("TRACEBOT_ALERT_CHANNELS", "C0ALERTS,G0OUTSIDE,oc_alerts,oc_gone")
	t.Setenv("TRACEBOT_DAILY_BUDGET", "50")
	r := runCLI(t, "check")
	for _, want := range []string{"✓ alerts", "budget on", "backend_failures on", "✓ alert channel C0ALERTS", "✗ alert channel G0OUTSIDE",
		"not a member of this private channel", "✓ alert channel oc_alerts", "✗ alert channel oc_gone", "not in the chat"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code == exitOK {
		t.Error("a channel the bot cannot post in must fail the check")
	}
	r.assertNoCanary(t)
}

// TestAlertsCheckReadsTheBotsTraceRecords: with the state database configured,
// backend_failures is evaluated from the traces' failed backends.
func TestAlertsCheckReadsTheBotsTraceRecords(t *testing.T) {
	newAlertEnv(t, nil)
	dsn := sharedPG.NewDatabase(t)
	store, err := state.OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for i := range 6 {
		if err := store.RecordTrace(t.Context(), state.TraceRecord{TraceID: fmt.Sprintf("tr-%d", i), Outcome: "traced",
			CreatedAt: alertEnvNow.Add(-time.Duration(i) * time.Minute), Failures: []state.TraceFailure{{Step: "generations",
				Backend: "OpenRouter", Cause: "classify: openrouter gen-1: unauthorized (HTTP 401: invalid key)"}}}); err != nil {
			t.Fatal(err)
		}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), canaryDBPassword) // trust auth ignores it
	dir := os.Getenv("TRACEBOT_SECRETS_DIR")
	if err := os.WriteFile(filepath.Join(dir, "state-database-url"), []byte(u.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRACEBOT_SSM_STATE_DATABASE_URL", "/callytics/tracebot/state-database-url")
	r := runCLI(t, "alerts", "check", "--json")
	c := decodeAlertCheck(t, r)
	if r.code != exitOK || len(c.Alerts) != 1 || c.Alerts[0].Rule != "backend_failures" ||
		c.Alerts[0].Message != "OpenRouter 401 on 6 traces in 10 min: was the key rotated? Check the OpenRouter key in SSM." ||
		!slicesContain(c.Evaluated, "backend_failures") {
		t.Fatalf("exit %d alerts %+v evaluated %v\n%s", r.code, c.Alerts, c.Evaluated, r.stderr)
	}
	r.assertNoCanary(t)
}
