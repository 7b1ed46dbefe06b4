package main

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/callytics/tracebot/lookup/lookuptest"
	"github.com/callytics/tracebot/lookup/pgtest"
)

// stateDBParam is the SSM name of the state database in these tests.
const stateDBParam = "/callytics/tracebot/state-database-url"

// withPassword is dsn with its password replaced by pw (trust auth ignores it).
func withPassword(t *testing.T, dsn, pw string) *url.URL {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u
}

// closedAddr is a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// partLine is the check's line for part ("" when there is none).
func partLine(out, part string) string {
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 2 && strings.HasPrefix(strings.TrimSpace(strings.SplitN(l, " ", 2)[1]), part+" ") {
			return l
		}
	}
	return ""
}

// TestCheckConnectsToTheStateDatabase: a configured state database is opened
// (as serve opens it), pinged and closed: ✓ when it answers, ✗ with a one-line
// cause and no password when it does not.
func TestCheckConnectsToTheStateDatabase(t *testing.T) {
	e := newEnv(t)
	t.Setenv("TRACEBOT_SSM_STATE_DATABASE_URL", stateDBParam)
	u := withPassword(t, sharedPG.NewDatabase(t), canaryDBPassword)
	e.ssm.SetParam(stateDBParam, u.String())
	r := runCLI(t, "check")
	if l := partLine(r.stdout, "state database"); !strings.HasPrefix(l, "✓ ") || r.code != exitOK {
		t.Errorf("exit %d, state database line %q:\n%s%s", r.code, l, r.stdout, r.stderr)
	}
	r.assertNoCanary(t)

	u.Host = closedAddr(t)
	e.ssm.SetParam(stateDBParam, u.String())
	r = runCLI(t, "check")
	l := partLine(r.stdout, "state database")
	if !strings.HasPrefix(l, "✗ ") || !strings.Contains(l, "connection refused") || r.code == exitOK {
		t.Errorf("exit %d, state database line %q; want ✗ with the cause:\n%s", r.code, l, r.stdout)
	}
	if strings.Count(l, "connection refused") != 1 {
		t.Errorf("the cause is repeated: %q", l)
	}
	if l := partLine(r.stdout, "postgres"); !strings.HasPrefix(l, "✓ ") {
		t.Errorf("the calls database is up: %q", l)
	}
	r.assertNoCanary(t)
}

// TestCheckReadsTheNewestAnalysis: the verdict is ✓ only once the newest call's
// stored analysis was read from S3 (its first byte, through the trace's S3
// client), ✗ with S3's cause when it cannot be, and neither when there is no
// object to read. The object's content is never printed.
func TestCheckReadsTheNewestAnalysis(t *testing.T) {
	e := newEnv(t)
	const path = "s3://callytics-prod-analysis/2026/05/22/s-0c4ec4e0c4e0.json"
	const content = `{"call_state":"CANARY-analysis-content"}`
	if err := pgtest.InsertCalls(t.Context(), e.world.DSN, pgtest.CallRow{TelephonySessionID: "s-0c4ec4e0c4e0",
		ContactPhone: "+13125550199", CreatedAt: "2026-05-22 15:00:00", S3AnalysisPath: path}); err != nil {
		t.Fatal(err)
	}
	e.world.S3.PutPath(t, path, []byte(content))
	verdict := func(t *testing.T, mark string, says ...string) result {
		t.Helper()
		r := runCLI(t, "check")
		l := partLine(r.stdout, "verdict")
		if !strings.HasPrefix(l, mark+" ") {
			t.Errorf("verdict line %q, want %s:\n%s%s", l, mark, r.stdout, r.stderr)
		}
		for _, s := range says {
			if !strings.Contains(l, s) {
				t.Errorf("verdict line %q lacks %q", l, s)
			}
		}
		if strings.Contains(r.stdout+r.stderr, "CANARY-analysis-content") || strings.Contains(r.stdout+r.stderr, "call_state") {
			t.Errorf("check printed the object's content:\n%s%s", r.stdout, r.stderr)
		}
		if (mark == "✗") != (r.code != exitOK) && mark != "?" {
			t.Errorf("verdict %s but exit %d", mark, r.code)
		}
		r.assertNoCanary(t)
		return r
	}

	t.Run("read", func(t *testing.T) {
		verdict(t, "✓", "read "+path)
		var got []lookuptest.S3Request
		for _, req := range e.world.S3.Requests() {
			if req.Key == "2026/05/22/s-0c4ec4e0c4e0.json" {
				got = append(got, req)
			}
		}
		if len(got) != 1 || got[0].Method != "GET" || got[0].Range != "bytes=0-0" || got[0].Region != "us-east-1" {
			t.Errorf("S3 requests for the newest analysis: %+v; want one GET of its first byte", got)
		}
	})
	t.Run("missing object", func(t *testing.T) {
		e.world.S3.Delete(path)
		defer e.world.S3.PutPath(t, path, []byte(content))
		verdict(t, "✗", "S3 NoSuchKey on "+path)
	})
	t.Run("denied", func(t *testing.T) { // as S3 answers without s3:GetObject
		e.world.S3.Deny("callytics-prod-analysis")
		verdict(t, "✗", "S3 AccessDenied on "+path)
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL_S3", "http://"+closedAddr(t))
		t.Setenv("AWS_MAX_ATTEMPTS", "1")
		verdict(t, "✗", "cannot reach AWS")
	})
	t.Run("no bucket", func(t *testing.T) {
		const elsewhere = "s3://callytics-gone-analysis/2026/05/22/s-0c4ec4e0c4e1.json"
		if err := pgtest.InsertCalls(t.Context(), e.world.DSN, pgtest.CallRow{TelephonySessionID: "s-0c4ec4e0c4e1",
			CreatedAt: "2026-05-22 15:30:00", S3AnalysisPath: elsewhere}); err != nil {
			t.Fatal(err)
		}
		verdict(t, "✗", "S3 NoSuchBucket on "+elsewhere)
		t.Setenv("TRACEBOT_ANALYSIS_BUCKETS", "callytics-prod-analysis")
		verdict(t, "?", "S3 read not verified", "bucket callytics-gone-analysis, not in TRACEBOT_ANALYSIS_BUCKETS")
	})
	t.Run("calls table busy", func(t *testing.T) { // the newest-path query is bounded
		conn, err := pgx.Connect(t.Context(), e.world.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		tx, err := conn.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		if _, err := tx.Exec(t.Context(), "LOCK TABLE calls IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		defer func(d time.Duration) { newestPathTimeout = d }(newestPathTimeout)
		newestPathTimeout = 300 * time.Millisecond
		verdict(t, "?", "S3 read not verified: finding the newest call's analysis took over 300ms")
	})
	t.Run("no call has an analysis", func(t *testing.T) {
		dsn := sharedPG.NewDatabase(t)
		if err := pgtest.CreateCallsTable(t.Context(), dsn); err != nil {
			t.Fatal(err)
		}
		e.ssm.SetParam("/callytics/neon-database-url", withPassword(t, dsn, canaryDBPassword).String())
		r := verdict(t, "?", "S3 read not verified: no call has an s3_analysis_path")
		if r.code != exitOK {
			t.Errorf("a read that could not be tried fails the check: exit %d\n%s", r.code, r.stdout)
		}
	})
	t.Run("calls database down", func(t *testing.T) {
		e.ssm.SetParam("/callytics/neon-database-url", "postgres://tracebot:"+canaryDBPassword+"@"+closedAddr(t)+"/calls")
		verdict(t, "?", "S3 read not verified: the calls database is down")
	})
}

// TestCheckWithoutAWSCredentials: with the secrets in files and no AWS
// credentials, check still checks the parts that need none and marks the AWS
// parts ✗; the hint does not tell to use TRACEBOT_SECRETS_DIR, which is set.
func TestCheckWithoutAWSCredentials(t *testing.T) {
	e := newEnv(t)
	setNoCredentials(t)
	dir := t.TempDir()
	for name, value := range map[string]string{
		"neon-database-url":  withPassword(t, e.world.DSN, canaryDBPassword).String(),
		"openrouter-api-key": canaryRouterKey,
		"state-database-url": withPassword(t, sharedPG.NewDatabase(t), canaryDBPassword).String(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TRACEBOT_SECRETS_DIR", dir)
	t.Setenv("TRACEBOT_SSM_STATE_DATABASE_URL", stateDBParam)
	t.Setenv("TRACEBOT_REPROCESS_TARGET", "lambda:call-analytics-prod-reprocess")
	r := runCLI(t, "check")
	if r.code != exitFailed {
		t.Errorf("exit %d, want %d", r.code, exitFailed)
	}
	for part, mark := range map[string]string{
		"aws credentials": "✗", "/callytics/neon-database-url": "✓", "postgres": "✓", "openrouter": "✓", "state database": "✓",
		"cloudwatch us-east-1": "✗", "cloudwatch us-east-2": "✗", "verdict": "✗", "reprocess": "✗",
	} {
		if l := partLine(r.stdout, part); !strings.HasPrefix(l, mark+" ") {
			t.Errorf("%s line %q, want %s:\n%s", part, l, mark, r.stdout)
		}
	}
	out := r.stdout + r.stderr
	if !strings.Contains(out, "no AWS credentials were found") || strings.Contains(out, "put the secrets in TRACEBOT_SECRETS_DIR") {
		t.Errorf("the hint must not suggest TRACEBOT_SECRETS_DIR, which is set:\n%s", out)
	}
	r.assertNoCanary(t)

	r = runCLI(t, "trace", "(914) 265-4371 5/20 1:15pm")
	if r.code != exitFailed || !strings.Contains(r.stderr, "no AWS credentials were found") || strings.Contains(r.stderr, "put the secrets in") {
		t.Errorf("trace: exit %d, want the hint without the secrets directory:\n%s", r.code, r.stderr)
	}
}
