package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/state"
)

func TestHistoryListsTracesAndReprocesses(t *testing.T) {
	dsn := sharedPG.NewDatabase(t)
	ctx := context.Background()
	store, err := state.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, rec := range []state.TraceRecord{
		{TraceID: "tr-aaa", Platform: "slack", User: "UALICE", Phone: "+1914***4371", SessionID: "s-abc123def456", Outcome: "traced",
			CallsMS: 120, LogsMS: 1500, GenerationsMS: 400, TotalMS: 2100},
		{TraceID: "tr-bbb", Platform: "lark", User: "ou_bob", Phone: "+1312***0142", Outcome: "failed", FailedStep: "logs", TotalMS: 900,
			Failures: []state.TraceFailure{{Step: "logs", Backend: "CloudWatch us-east-2", Cause: "AccessDeniedException"}, {Step: "chat", Backend: "Lark", Cause: "code 230020"}}},
	} {
		if err := store.RecordTrace(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	rp, ok, err := store.ClaimReprocess(ctx, state.ReprocessRecord{SessionID: "s-abc123def456", Platform: "slack", RequestedBy: "UALICE"}, time.Minute)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := store.FinishReprocess(ctx, rp.ID, state.ReprocessRequested, "req-123", ""); err != nil {
		t.Fatal(err)
	}
	recordAlertHistory(t, store)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "state-database-url"), []byte(dsn), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRACEBOT_SECRETS_DIR", dir)
	t.Setenv("TRACEBOT_SSM_STATE_DATABASE_URL", "/callytics/tracebot/state-database-url")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	r := runCLI(t, "history", "--since", "1h")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"tr-aaa", "tr-bbb", "logs", "s-abc123def456", "req-123", "requested",
		"CloudWatch us-east-2, Lark", "Alerts (3)", "posted    cache_collapse", "resolved  cache_collapse", "muted     cache_collapse", "UALICE", "120/1500/400/2100"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("history lacks %q:\n%s", want, r.stdout)
		}
	}
	// --since reads spans as report windows do: days too, not only Go durations.
	for _, since := range []string{"7d", "2w", "90m", "1h30m"} {
		r := runCLI(t, "history", "--since", since)
		if r.code != exitOK || !strings.Contains(r.stdout, "tr-aaa") {
			t.Errorf("--since %s: exit %d\n%s%s", since, r.code, r.stdout, r.stderr)
		}
	}
	r = runCLI(t, "history", "--since", "7 days ago")
	if r.code != exitUsage || !strings.Contains(r.stderr, `"7 days ago" is not a span`) || strings.Contains(r.stderr, "-limit") {
		t.Errorf("--since 7 days ago: exit %d, want a one-line refusal without the flags:\n%s", r.code, r.stderr)
	}
	r = runCLI(t, "history", "--user", "ou_bob")
	if strings.Contains(r.stdout, "tr-aaa") || !strings.Contains(r.stdout, "tr-bbb") {
		t.Errorf("--user filter:\n%s", r.stdout)
	}
}

// recordAlertHistory leaves a posted, resolved and muted alert in store.
func recordAlertHistory(t *testing.T, store *state.Postgres) {
	t.Helper()
	ctx := context.Background()
	ep, _, err := store.OpenEpisode(ctx, state.AlertEpisode{Rule: "cache_collapse", Level: "warning", Message: "The cache hit rate was below 50%"})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []state.AlertPostKind{state.PostAlert, state.PostResolved} {
		p, ok, err := store.ClaimAlertPost(ctx, state.AlertPost{Rule: "cache_collapse", EpisodeID: ep.ID, Channel: "C0ALERTS", Kind: kind, Holder: "a"}, time.Minute)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		p.State, p.MessageID = state.PostDone, "1.1"
		if err := store.FinishAlertPost(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Mute(ctx, state.AlertMute{Rule: "cache_collapse", By: "UALICE", Channel: "C0ALERTS"}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
}
