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
		{TraceID: "tr-aaa", Platform: "slack", User: "UALICE", Phone: "+1914***4371", SessionID: "s-abc123def456", Outcome: "traced", TotalMS: 2100},
		{TraceID: "tr-bbb", Platform: "lark", User: "ou_bob", Phone: "+1312***0142", Outcome: "failed", FailedStep: "logs", TotalMS: 900},
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
	for _, want := range []string{"tr-aaa", "tr-bbb", "logs", "s-abc123def456", "req-123", "requested"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("history lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, "history", "--user", "ou_bob")
	if strings.Contains(r.stdout, "tr-aaa") || !strings.Contains(r.stdout, "tr-bbb") {
		t.Errorf("--user filter:\n%s", r.stdout)
	}
}
