package main

import (
	"strings"
	"testing"
)

// TestConfigRefusesValuesThatCannotWork: a value that reads as the right type but
// would fail later (at AWS, at serve's start, in every link) stops the run at start
// with the variable named; the good forms next to them are accepted.
func TestConfigRefusesValuesThatCannotWork(t *testing.T) {
	tests := []struct {
		name, value, why string // why: "" when the value is fine
	}{
		{"TRACEBOT_REGIONS", "us-east-9x", "AWS region names"},
		{"TRACEBOT_REGIONS", "us-east-1, us-gov-west-1,ap-southeast-2", ""},
		{"TRACEBOT_LOG_GROUPS", ",", "at least one log-group pattern"},
		{"TRACEBOT_FUNCTIONS", " , ", "at least one Lambda name pattern"},
		{"TRACEBOT_GENERATION_LINK", "https://openrouter.ai/activity/", "with {id}"},
		{"TRACEBOT_GENERATION_LINK", "openrouter.ai/activity/{id}", "http(s) URL"},
		{"TRACEBOT_GENERATION_LINK", "https://openrouter.example/g/{id}?x=1", ""},
		{"TRACEBOT_ANALYSIS_BUCKETS", "s3://callytics-prod-analysis", "no s3://"},
		{"TRACEBOT_ANALYSIS_BUCKETS", "Callytics_Analysis", "S3 bucket names"},
		{"TRACEBOT_ANALYSIS_BUCKETS", "callytics-prod-analysis,callytics.test.analysis", ""},
		{"TRACEBOT_REPROCESS_TARGET", "lambda:", `function name ""`},
		{"TRACEBOT_REPROCESS_TARGET", "sqs:https://sqs.us-east-1.amazonaws.com/123456789012/reprocess", ""},
		{"TRACEBOT_REPROCESS_PAYLOAD", `{"id":"{session_id}"`, "not valid JSON"},
		{"TRACEBOT_REPROCESS_PAYLOAD", `{"id":"{sessionid}"}`, "sessionid"},
		{"TRACEBOT_REPROCESS_PAYLOAD", `{"id":"{session_id}","who":"{requested_by}","on":"{platform}"}`, ""},
		{"TRACEBOT_ADDR", "8080", "host:port"},
		{"TRACEBOT_ADDR", "127.0.0.1:", "host:port"},
		{"TRACEBOT_ADDR", "127.0.0.1:9090", ""},
		{"TRACEBOT_SSM_DATABASE_URL", "callytics neon url", "SSM parameter name"},
		{"TRACEBOT_SSM_STATE_DATABASE_URL", "/callytics/tracebot/state-db_url.v2", ""},
		// Every number: NaN passes < and > comparisons, and would silently turn a rule off.
		{"TRACEBOT_CACHE_MIN", "NaN", "a share from 0 to 1"},
		{"TRACEBOT_CACHE_MIN", "nan", "a share from 0 to 1"},
		{"TRACEBOT_CACHE_MIN", "-Inf", "a share from 0 to 1"},
		{"TRACEBOT_CACHE_MIN", "0.35", ""},
		{"TRACEBOT_LENGTH_MAX", "NaN", "a share from 0 to 1"},
		{"TRACEBOT_LENGTH_MAX", "+Inf", "a share from 0 to 1"},
		{"TRACEBOT_LENGTH_MAX", "0", ""},
		{"TRACEBOT_DAILY_BUDGET", "NaN", "an amount of USD"},
		{"TRACEBOT_DAILY_BUDGET", "Inf", "an amount of USD"},
		{"TRACEBOT_DAILY_BUDGET", "1e3", ""},
		{"TRACEBOT_COST_SPIKE", "NaN", "a factor like 3"},
		{"TRACEBOT_COST_SPIKE", "infinity", "a factor like 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := LoadConfig(mapEnv(map[string]string{tt.name: tt.value}))
			switch {
			case tt.why == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.why != "" && err == nil:
				t.Errorf("accepted; want an error saying %q", tt.why)
			case tt.why != "" && (!strings.Contains(err.Error(), "config: "+tt.name+"=") || !strings.Contains(err.Error(), tt.why)):
				t.Errorf("error %q does not name %s and say %q", err, tt.name, tt.why)
			}
		})
	}
}

// TestCommandLines: each command's flags, words it does not take, and -h.
func TestCommandLines(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing may be reached
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"check", "everything"}, exitUsage, `unexpected arguments ["everything"]`},
		{[]string{"check", "--iam", "now"}, exitUsage, "unexpected arguments"},
		{[]string{"serve", "--sandbox", "extra"}, exitUsage, "unexpected arguments"},
		{[]string{"history", "bob"}, exitUsage, "unexpected arguments"},
		{[]string{"history", "--since", "-1h"}, exitUsage, "must be positive"},
		{[]string{"history", "--since", "soon"}, exitUsage, `--since: "soon" is not a span: try 90m, 24h, 7d`},
		{[]string{"history", "--limit", "0"}, exitUsage, "must be positive"},
		{[]string{"trace", "-h"}, exitOK, "-show-content"},
		{[]string{"report", "--help"}, exitOK, "-png"},
		{[]string{"alerts", "check", "-h"}, exitOK, "-sandbox"},
		{[]string{"check", "-h"}, exitOK, "-iam"},
		{[]string{"history", "-h"}, exitOK, "-since"},
		{[]string{"trace", "--no-such-flag", "x"}, exitUsage, "flag provided but not defined"},
	}
	for _, tt := range tests {
		r := runCLI(t, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tt.args, r.code, r.stderr, tt.code, tt.stderr)
		}
	}
}

// TestHelpNamesEveryFlag: `tracebot help` shows every flag of every command.
func TestHelpNamesEveryFlag(t *testing.T) {
	r := runCLI(t, "help")
	for _, flag := range []string{"--json", "--dry-run", "--sandbox", "--session ID", "--show-content", "--png FILE", "--env E",
		"--iam", "--user U", "--since 24h", "alerts check"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("help lacks %s:\n%s", flag, r.stdout)
		}
	}
}

// TestUsageErrorsExitTwo: a command line that cannot be run is input not
// understood, exit 2 (SPEC §8 lists 0–4 for trace and 0–2 for report, nothing
// else); with --json stdout still holds the one error object.
func TestUsageErrorsExitTwo(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing may be reached
	for _, args := range [][]string{
		{"trace", "--json"}, {"trace", "--bogus", "x"}, {"report", "cost", "-2h"}, {"report", "--sandbox", "cost", "--env", "staging"},
		{"report", "--json", "cost", "--env", "staging"}, {"alerts"}, {"alerts", "check", "now"}, {"check", "everything"},
		{"history", "--since", "soon"}, {"serve", "extra"}, {}, {"bogus"},
	} {
		r := runCLI(t, args...)
		if r.code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		if wantsJSON(args) && !strings.HasPrefix(r.stdout, `{`) {
			t.Errorf("%q: stdout is not the JSON error object: %q", args, r.stdout)
		}
	}
}
