package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callytics/tracebot/bot/state"
)

// runHistory prints recent traces, reprocesses and alerts from the state database.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "only this chat user id")
	since := fs.Duration("since", 24*time.Hour, "how far back")
	limit := fs.Int("limit", 50, "rows per list")
	if err := parseFlagsOnly(fs, args, stderr); err != nil {
		return err
	}
	if *since <= 0 || *limit <= 0 {
		fmt.Fprintln(stderr, "tracebot history: --since and --limit must be positive, e.g. --since 24h --limit 50")
		return exitError{exitUsage}
	}
	cfg, err := LoadConfigFromEnv()
	if err != nil {
		return err
	}
	if cfg.SSM.StateDatabaseURL == "" {
		fmt.Fprintln(stderr, "tracebot history: no state database (set TRACEBOT_SSM_STATE_DATABASE_URL); the in-memory state of a running bot is not readable from here")
		return exitError{exitFailed}
	}
	a, _, err := openBase(ctx, cfg, stderr, slog.LevelWarn, false)
	if err != nil {
		return err
	}
	store, err := a.openStateDB(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	h, err := store.History(ctx, state.HistoryQuery{User: *user, Since: time.Now().Add(-*since), Limit: *limit})
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, a.scrub(renderHistory(h)))
	return nil
}

func renderHistory(h state.History) string {
	b := new(strings.Builder)
	fmt.Fprintf(b, "Traces (%d)\n", len(h.Traces))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN (UTC)\tTRACE\tUSER\tPLATFORM\tPHONE\tSESSION\tOUTCOME\tFAILED STEP\tMS CALLS/LOGS/GEN/TOTAL\tFAILED BACKENDS")
	for _, t := range h.Traces {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d/%d/%d\t%s\n", fmtUTC(t.CreatedAt), orDash(t.TraceID), orDash(t.User),
			t.Platform, orDash(t.Phone), orDash(t.SessionID), t.Outcome, orDash(t.FailedStep),
			t.CallsMS, t.LogsMS, t.GenerationsMS, t.TotalMS, failedBackends(t.Failures))
	}
	tw.Flush()
	fmt.Fprintf(b, "\nReprocesses (%d)\n", len(h.Reprocesses))
	tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN (UTC)\tSESSION\tREQUESTED BY\tPLATFORM\tOUTCOME\tAWS ID\tERROR")
	for _, r := range h.Reprocesses {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", fmtUTC(r.RequestedAt), r.SessionID, orDash(r.RequestedBy),
			r.Platform, r.Outcome, orDash(r.AWSRequestID), orDash(r.Error))
	}
	tw.Flush()
	fmt.Fprintf(b, "\nAlerts (%d)\n", len(h.Alerts))
	tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN (UTC)\tEVENT\tRULE\tLEVEL\tSUBJECT\tCHANNEL\tBY\tUNTIL\tMESSAGE")
	for _, e := range h.Alerts {
		until := "—"
		if e.Until != nil {
			until = fmtUTC(*e.Until)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", fmtUTC(e.At), e.Event, e.Rule, orDash(e.Level), orDash(e.Subject),
			orDash(e.Channel), orDash(e.By), until, orDash(clip(e.Message, 120)))
	}
	tw.Flush()
	return b.String()
}

// failedBackends lists a trace's failed backends: "OpenRouter, CloudWatch us-east-2".
func failedBackends(fs []state.TraceFailure) string {
	var names []string
	for _, f := range fs {
		if !slices.Contains(names, f.Backend) {
			names = append(names, f.Backend)
		}
	}
	return orDash(strings.Join(names, ", "))
}

// clip cuts s to n runes.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
