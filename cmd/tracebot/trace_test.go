package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/callytics/tracebot/lookup/lookuptest"
	"github.com/callytics/tracebot/secrets/secretstest"
)

// Canary secret values: none may appear in any output.
const (
	canaryDBPassword = "CANARY-pg-pw-5f0c1e9a"
	canaryRouterKey  = "sk-or-v1-CANARY-7b3d2e6f91aa"
)

// env is a terminal pointed at real clients and wire-level fakes: SSM, CloudWatch
// Logs and S3 through the SDK's standard endpoint variables, Postgres for real.
type env struct {
	world *lookuptest.World
	ssm   *secretstest.SSMServer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dsn := sharedPG.NewDatabase(t)
	w := lookuptest.NewWorld(t, dsn)
	w.OpenRouter.SetKey(canaryRouterKey)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), canaryDBPassword) // trust auth ignores it
	ssm := secretstest.NewSSMServer(t, map[string]string{
		"/callytics/neon-database-url":  u.String(),
		"/callytics/openrouter-api-key": canaryRouterKey,
	})
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test-secret-key",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL_SSM": ssm.URL, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": w.Logs.URL(), "AWS_ENDPOINT_URL_S3": w.S3.URL(),
		"TRACEBOT_OPENROUTER_URL": w.OpenRouter.URL(), "TRACEBOT_NOW": "2026-05-22T16:00:00Z",
		"TRACEBOT_REGION_GRACE": "200ms",
	} {
		t.Setenv(k, v)
	}
	return &env{world: w, ssm: ssm}
}

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return result{code: exitCode(err, &errOut), stdout: out.String(), stderr: errOut.String()}
}

func (r result) assertNoCanary(t *testing.T) {
	t.Helper()
	for _, c := range []string{canaryDBPassword, canaryRouterKey, url.QueryEscape(canaryDBPassword)} {
		if strings.Contains(r.stdout, c) || strings.Contains(r.stderr, c) {
			t.Fatalf("canary %q leaked:\nstdout: %s\nstderr: %s", c, r.stdout, r.stderr)
		}
	}
}

func TestTraceExitCodes(t *testing.T) {
	newEnv(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"traced", []string{"trace", "(914) 265-4371 5/20 1:15pm"}, exitOK, "gen-1779299695-aBcDeFg"},
		{"traced json", []string{"trace", "--json", "(914) 265-4371 5/20 1:15pm"}, exitOK, `"total_cost_usd": 0.001535`},
		{"flags after the report", []string{"trace", "(914) 265-4371 5/20 1:15pm", "--json"}, exitOK, `"outcome": "traced"`},
		{"session flag", []string{"trace", "--session", "s-abc123def456"}, exitOK, "s-abc123def456"},
		{"not understood", []string{"trace", "the analysis is wrong"}, exitNotUnderstood, "Examples"},
		{"not understood json", []string{"trace", "--json", "5/20 1:15pm"}, exitNotUnderstood, `"code": "not_understood"`},
		{"not found", []string{"trace", "(914) 265-4371 5/10 9am"}, exitNotFound, "No call found"},
		{"unknown session", []string{"trace", "--session", "s-doesnotexist"}, exitNotFound, ""},
		{"unknown short session", []string{"trace", "--session", "s-nope"}, exitNotFound, "s-nope"},
		{"unknown digitless session", []string{"trace", "--json", "--session", "callabc"}, exitNotFound, `"outcome": "not_found"`},
		{"candidates", []string{"trace", "312-555-0142 5/21 10:30am"}, exitCandidates, "s-4f1a9c0e7d21"},
		{"dry run", []string{"trace", "--dry-run", "--json", "(914) 265-4371 5/20 1:15pm"}, exitOK, `"at": "2026-05-20T17:15:00Z"`},
		{"no report", []string{"trace"}, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, r.stdout)
			}
			r.assertNoCanary(t)
		})
	}
}

func TestTraceJSONIsOneObjectOnStdout(t *testing.T) {
	newEnv(t)
	r := runCLI(t, "trace", "--json", "(914) 265-4371 5/20 1:15pm")
	var v map[string]any
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Fatal("stdout holds more than one JSON value")
	}
	if v["phone"] != "+19142654371" || v["at"] != "2026-05-20T17:15:00Z" {
		t.Errorf("json: phone %v at %v", v["phone"], v["at"])
	}
}

// TestNoSecretInAnyOutput runs a succeeding and a failing trace (text and JSON) and
// check, with canary secrets, and looks for them everywhere the CLI writes.
func TestNoSecretInAnyOutput(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"trace", "(914) 265-4371 5/20 1:15pm"},
		{"trace", "--json", "(914) 265-4371 5/20 1:15pm"},
	} {
		runCLI(t, args...).assertNoCanary(t)
	}
	// Failing: OpenRouter refuses the key, then the database is unreachable.
	e.world.OpenRouter.SetKey("some-other-key")
	r := runCLI(t, "trace", "--json", "(914) 265-4371 5/20 1:15pm")
	if !strings.Contains(r.stdout, "unauthorized") {
		t.Errorf("want an unauthorized generation error:\n%s", r.stdout)
	}
	r.assertNoCanary(t)
	runCLI(t, "check").assertNoCanary(t)
	e.ssm.SetParam("/callytics/neon-database-url", "postgres://tracebot:"+canaryDBPassword+"@127.0.0.1:1/calls?connect_timeout=1")
	for _, args := range [][]string{
		{"trace", "(914) 265-4371 5/20 1:15pm"},
		{"trace", "--json", "(914) 265-4371 5/20 1:15pm"},
		{"check"},
	} {
		r := runCLI(t, args...)
		if r.code == exitOK {
			t.Errorf("%v with the database down exited 0", args)
		}
		r.assertNoCanary(t)
	}
}

func TestCheckReportsEachPart(t *testing.T) {
	e := newEnv(t)
	r := runCLI(t, "check")
	if r.code != exitOK {
		t.Fatalf("check exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"✓ /callytics/neon-database-url", "✓ /callytics/openrouter-api-key", "✓ postgres",
		"✓ cloudwatch us-east-1", "✓ openrouter", "- reprocess", "off:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, r.stdout)
		}
	}
	r.assertNoCanary(t)

	e.ssm.DeleteParam("/callytics/openrouter-api-key")
	r = runCLI(t, "check")
	if r.code == exitOK || !strings.Contains(r.stdout, "✗ /callytics/openrouter-api-key") {
		t.Errorf("a missing secret must be ✗ and exit non-zero (exit %d):\n%s", r.code, r.stdout)
	}

	// A part's failure is one line, however many lines its cause has (pgx lists
	// each connection attempt on its own).
	closed := closedAddr(t)
	e.ssm.SetParam("/callytics/openrouter-api-key", canaryRouterKey)
	e.ssm.SetParam("/callytics/neon-database-url", "postgres://tracebot@"+closed+"/calls")
	r = runCLI(t, "check")
	for _, line := range strings.Split(strings.TrimRight(r.stdout, "\n"), "\n") {
		if !strings.HasPrefix(line, "✓ ") && !strings.HasPrefix(line, "✗ ") && !strings.HasPrefix(line, "- ") && !strings.HasPrefix(line, "? ") {
			t.Errorf("check line %q is not a part's line:\n%s", line, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "✗ postgres") || !strings.Contains(r.stdout, "connection refused") {
		t.Errorf("a database that refuses must be ✗ with its cause:\n%s", r.stdout)
	}
}

func TestSandboxNeedsNoCloud(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing may be reached
	r := runCLI(t, "trace", "--sandbox", "(914) 265-4371 5/20 1:15pm")
	if r.code != exitOK || !strings.Contains(r.stdout, "SAMPLE DATA") || !strings.Contains(r.stdout, "s-abc123def456") {
		t.Fatalf("sandbox: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	t.Setenv("TRACEBOT_WINDOW", "two hours")
	t.Setenv("TRACEBOT_POLL_RATE", "fast")
	r := runCLI(t, "trace", "--sandbox", "(914) 265-4371 5/20 1:15pm")
	if r.code != exitFailed || !strings.Contains(r.stderr, "TRACEBOT_WINDOW") || !strings.Contains(r.stderr, "TRACEBOT_POLL_RATE") {
		t.Fatalf("exit %d stderr %s", r.code, r.stderr)
	}
}

// TestSSMFailuresExitClearly: SSM refusing or lacking a parameter stops the trace
// with a message naming the problem (the names, never values).
func TestSSMFailuresExitClearly(t *testing.T) {
	e := newEnv(t)
	e.ssm.DeleteParam("/callytics/openrouter-api-key")
	r := runCLI(t, "trace", "(914) 265-4371 5/20 1:15pm")
	if r.code != exitFailed || !strings.Contains(r.stderr, "secrets: missing /callytics/openrouter-api-key") {
		t.Errorf("missing parameter: exit %d stderr %q", r.code, r.stderr)
	}
	r.assertNoCanary(t)

	e.ssm.Fail("AccessDeniedException", 400)
	r = runCLI(t, "trace", "(914) 265-4371 5/20 1:15pm")
	if r.code != exitFailed || !strings.Contains(r.stderr, "AccessDenied") {
		t.Errorf("SSM refusing: exit %d stderr %q", r.code, r.stderr)
	}
	r.assertNoCanary(t)

	t.Setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	r = runCLI(t, "trace", "(914) 265-4371 5/20 1:15pm")
	if r.code != exitFailed || !strings.Contains(r.stderr, "secrets: load") {
		t.Errorf("SSM unreachable: exit %d stderr %q", r.code, r.stderr)
	}
}

// TestJSONUsageErrorsAreJSON: with --json, stdout always holds one JSON object,
// usage errors included, so scripts never get an empty stdout.
func TestJSONUsageErrorsAreJSON(t *testing.T) {
	for _, args := range [][]string{
		{"trace", "--json", ""},
		{"trace", "--json"},
		{"trace", "--json", "--no-such-flag", "(914) 265-4371 5/20"},
	} {
		r := runCLI(t, args...)
		var v struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Errorf("%q: stdout is not one JSON object (%v):\n%q", args, err, r.stdout)
			continue
		}
		if r.code != exitUsage || v.Error.Code != "usage" || v.Error.Message == "" {
			t.Errorf("%q: exit %d, error %+v; want exit %d and code usage with a message", args, r.code, v.Error, exitUsage)
		}
	}
}

// TestNoCredentialsSaysWhatToDo: with no AWS credentials anywhere, check, trace and
// serve --sandbox say so in one line a person can act on, not the SDK's chain.
func TestNoCredentialsSaysWhatToDo(t *testing.T) {
	setNoCredentials(t)
	for _, args := range [][]string{{"check"}, {"trace", "(914) 265-4371 5/20 1:15pm"}} {
		r := runCLI(t, args...)
		out := r.stdout + r.stderr
		if r.code != exitFailed || !strings.Contains(out, "no AWS credentials were found") ||
			!strings.Contains(out, "AWS_PROFILE") || !strings.Contains(out, "TRACEBOT_SECRETS_DIR") {
			t.Errorf("%q: exit %d, want the credentials hint:\n%s", args, r.code, out)
		}
		for _, raw := range []string{"ec2imds", "GetMetadata", "IMDS"} {
			if strings.Contains(out, raw) {
				t.Errorf("%q: output shows the SDK's raw chain (%q):\n%s", args, raw, out)
			}
		}
	}
	t.Setenv("TRACEBOT_LOG_LEVEL", "debug")
	r := runCLI(t, "trace", "(914) 265-4371 5/20 1:15pm")
	if !strings.Contains(r.stderr, `"msg":"aws: credentials from the standard chain failed"`) || !strings.Contains(r.stderr, "ec2imds") {
		t.Errorf("TRACEBOT_LOG_LEVEL=debug: the raw cause is not in the debug log:\n%s", r.stderr)
	}
}

// setNoCredentials leaves the SDK's standard chain nothing to find.
func setNoCredentials(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "TRACEBOT_SECRETS_DIR": "",
	} {
		t.Setenv(k, v)
	}
}

// TestJSONFailuresAreJSON: with --json, a run that fails before it has anything to
// print (bad configuration, no AWS credentials) or a command line alerts cannot
// run still puts one JSON object on stdout, and the exit code says which.
func TestJSONFailuresAreJSON(t *testing.T) {
	type errorObject struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	check := func(t *testing.T, args []string, code int, errCode, mentions string) {
		t.Helper()
		r := runCLI(t, args...)
		var v errorObject
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		if err := dec.Decode(&v); err != nil || dec.More() {
			t.Errorf("%q: stdout is not one JSON object (%v):\n%q", args, err, r.stdout)
			return
		}
		if r.code != code || v.Error.Code != errCode || !strings.Contains(v.Error.Message, mentions) {
			t.Errorf("%q: exit %d, error %+v; want exit %d, code %s, a message naming %q", args, r.code, v.Error, code, errCode, mentions)
		}
	}
	t.Run("usage", func(t *testing.T) {
		check(t, []string{"alerts", "--json"}, exitUsage, "usage", "alerts check")
		check(t, []string{"alerts", "check", "--json", "--no-such-flag"}, exitUsage, "usage", "-no-such-flag")
		check(t, []string{"alerts", "check", "--json", "now"}, exitUsage, "usage", "now")
	})
	t.Run("bad configuration", func(t *testing.T) {
		t.Setenv("TRACEBOT_WINDOW", "two hours")
		for _, args := range [][]string{
			{"trace", "--json", "--sandbox", "(914) 265-4371 5/20 1:15pm"},
			{"report", "--sandbox", "cost", "--json"},
			{"alerts", "check", "--sandbox", "--json"},
		} {
			check(t, args, exitFailed, "failed", "TRACEBOT_WINDOW")
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		setNoCredentials(t)
		for _, args := range [][]string{
			{"trace", "--json", "(914) 265-4371 5/20 1:15pm"},
			{"report", "--json", "cost"},
			{"alerts", "check", "--json"},
		} {
			check(t, args, exitFailed, "failed", "no AWS credentials were found")
		}
	})
}

// TestSDKWarningsGoToTheDebugLog: on a machine whose instance metadata service
// refuses a token (the SDK then warns "falling back to IMDSv1" with its raw chain
// of causes), the commands still print only their one-line hint; the SDK's line
// is in the debug log.
func TestSDKWarningsGoToTheDebugLog(t *testing.T) {
	setNoCredentials(t)
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut { // the IMDSv2 token
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(imds.Close)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	// The SDK's default logger writes to the process's stderr: run the binary.
	bin := tracebotBinary(t)
	for _, args := range [][]string{{"trace", "(914) 265-4371 5/20 1:15pm"}, {"report", "cost"}, {"alerts", "check"}, {"check"}, {"check", "--iam"}} {
		out, _ := exec.Command(bin, args...).CombinedOutput()
		if strings.Contains(string(out), "IMDS") || strings.Contains(string(out), "ec2imds") {
			t.Errorf("%q prints the SDK's warning:\n%s", args, out)
		}
	}
	t.Setenv("TRACEBOT_LOG_LEVEL", "debug")
	out, _ := exec.Command(bin, "trace", "(914) 265-4371 5/20 1:15pm").CombinedOutput()
	if !strings.Contains(string(out), `"msg":"aws sdk: falling back to IMDSv1`) {
		t.Errorf("the SDK's warning is not in the debug log:\n%s", out)
	}
}

// TestDryRunShowsWhatIsSearched: by session id the call is looked up by id, so
// the dry run shows no phone and no window (with no time in the report, a
// lookback from the clock); times are whole seconds, as everywhere.
func TestDryRunShowsWhatIsSearched(t *testing.T) {
	t.Setenv("TRACEBOT_NOW", "") // the clock, with its nanoseconds
	r := runCLI(t, "trace", "--dry-run", "--json", "--session", "s-abc123def456")
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != exitOK {
		t.Fatalf("exit %d, %v:\n%s", r.code, err, r.stdout)
	}
	for _, field := range []string{"phone", "from", "to", "interpretation"} {
		if _, ok := v[field]; ok {
			t.Errorf("--session alone: %q is shown (%v)", field, v[field])
		}
	}
	if v["session_id"] != "s-abc123def456" || v["at"] != nil {
		t.Errorf("session_id %v at %v", v["session_id"], v["at"])
	}
	r = runCLI(t, "trace", "--dry-run", "--session", "s-abc123def456")
	if strings.Contains(r.stdout, "window") || strings.Contains(r.stdout, "last 7 days") || !strings.Contains(r.stdout, "looked up by id") {
		t.Errorf("--session alone, text:\n%s", r.stdout)
	}

	for _, args := range [][]string{{"(914) 265-4371"}, {"(914) 265-4371 today 9am"}, {"--session", "s-abc123def456", "5/20 1:15pm"}} {
		r := runCLI(t, append([]string{"trace", "--dry-run", "--json"}, args...)...)
		var times map[string]*string
		_ = json.Unmarshal([]byte(r.stdout), &times)
		for _, field := range []string{"at", "from", "to"} {
			if s := times[field]; s != nil && strings.Contains(*s, ".") {
				t.Errorf("%q: %s %q has fractions of a second", args, field, *s)
			}
		}
		if times["from"] == nil && args[0] != "--session" {
			t.Errorf("%q: no window shown:\n%s", args, r.stdout)
		}
	}
}
