package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
)

// runHistory prints recent traces, reprocesses and alerts from the state database.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "only this chat user id")
	sinceText := fs.String("since", "24h", "how far back: 90m, 24h, 7d, today, since 9am (as report windows)")
	limit := fs.Int("limit", 50, "rows per list")
	if err := parseFlagsOnly(fs, args, stderr); err != nil {
		return err
	}
	if *limit <= 0 {
		fmt.Fprintln(stderr, "tracebot history: --limit must be positive, e.g. --limit 50")
		return exitError{exitUsage}
	}
	cfg, err := LoadConfigFromEnv()
	if err != nil {
		return err
	}
	since, err := historySince(*sinceText, cfg.TimeZone, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "tracebot history: --since:", err)
		return exitError{exitUsage}
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
	h, err := store.History(ctx, state.HistoryQuery{User: *user, Since: since, Limit: *limit})
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, a.scrub(renderHistory(h)))
	return nil
}

// historySince is the start of --since v before now: a span as report windows
// are read (90m, 24h, 7d, 2w, today, yesterday, since 9am in zone) or a Go
// duration (1h30m); the error says what is accepted.
func historySince(v string, zone *time.Location, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	q, err := lookup.ParseReportQuery(string(lookup.ReportCost)+" "+v,
		lookup.ReportParseOptions{Now: now, Zone: zone, MaxRange: math.MaxInt64})
	if err == nil && v != "" && q.Env == "" {
		return q.From, nil
	}
	if d, derr := time.ParseDuration(v); derr == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q: must be positive, e.g. --since 24h or --since 7d", v)
		}
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a span: try 90m, 24h, 7d, today or \"since 9am\"", v)
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
