package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// canaryAWSSecret is the AWS secret access key of the leak tests: like the other
// canaries, it may appear in no output.
const canaryAWSSecret = "CANARY-aws-secret-0e41c9d2b7"

// TestReportsAndAlertsLeakNoSecret runs `report` (every kind, text and JSON, with a
// chart) and `alerts check` (with the state database) with canary secrets in
// the environment, the secrets directory and the state database's URL, debug
// logging on, answering and then failing everywhere (every region refused, every
// Lambda refused, the state database unreachable), and looks for the canaries in
// all they print.
func TestReportsAndAlertsLeakNoSecret(t *testing.T) {
	logs := newAlertEnv(t, func(c *lookup.TrafficConfig) { c.CacheCollapse = []int{28, 29} })
	fns := lookuptest.NewLambdaServer(t)
	for _, r := range reportRegions {
		fns.SetFunction(r, "call-analytics-prod-ai-analysis-processor-"+r, lookuptest.LambdaFunction{CodeSHA256: "sha", LastModified: alertEnvNow})
		fns.SetFunction(r, "call-analytics-prod-contacts-analyzer-"+r, lookuptest.LambdaFunction{CodeSHA256: "sha", LastModified: alertEnvNow})
	}
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", fns.URL())
	t.Setenv("AWS_SECRET_ACCESS_KEY", canaryAWSSecret)
	t.Setenv("TRACEBOT_LOG_LEVEL", "debug")
	t.Setenv("TRACEBOT_DAILY_BUDGET", "0.5")
	dir := os.Getenv("TRACEBOT_SECRETS_DIR")
	u, err := url.Parse(sharedPG.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), canaryDBPassword) // trust auth ignores it
	writeSecret := func(name, value string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeSecret("state-database-url", u.String())
	writeSecret("neon-database-url", u.String())
	writeSecret("openrouter-api-key", canaryRouterKey)
	t.Setenv("TRACEBOT_SSM_STATE_DATABASE_URL", "/callytics/tracebot/state-database-url")

	png := filepath.Join(t.TempDir(), "chart.png")
	runs := [][]string{
		{"report", "cost", "2h"}, {"report", "--json", "cost"}, {"report", "cache", "--png", png}, {"report", "--json", "finish"},
		{"report", "providers"}, {"report", "--json", "deploys"}, {"alerts", "check"}, {"alerts", "check", "--json"},
	}
	look := func(phase string, wantOK bool) {
		t.Helper()
		for _, args := range runs {
			r := runCLI(t, args...)
			if (r.code == exitOK) != wantOK {
				t.Errorf("%s: %q exit %d\n%s\n%s", phase, args, r.code, r.stdout, r.stderr)
			}
			r.assertNoCanary(t)
			if strings.Contains(r.stdout+r.stderr, canaryAWSSecret) {
				t.Fatalf("%s: %q printed the AWS secret key:\n%s\n%s", phase, args, r.stdout, r.stderr)
			}
		}
	}
	look("answering", true)

	for _, r := range reportRegions {
		logs.Fail(r, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
		fns.FailGetFunction(r, "AccessDeniedException", 403, 0)
	}
	u.Host = "127.0.0.1:1"
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	writeSecret("state-database-url", u.String()) // every run reads the directory afresh
	look("failing", false)
}
