package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callytics/tracebot/bot/state"
)

// runHistory prints recent traces and reprocesses from the state database.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "only this chat user id")
	since := fs.Duration("since", 24*time.Hour, "how far back")
	limit := fs.Int("limit", 50, "rows per list")
	if err := fs.Parse(args); err != nil {
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
	if err := a.secrets.Load(ctx, cfg.SSM.StateDatabaseURL); err != nil {
		return err
	}
	dsn, err := a.secrets.Get(ctx, cfg.SSM.StateDatabaseURL)
	if err != nil {
		return err
	}
	store, err := state.OpenPostgres(ctx, dsn.Reveal())
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
	fmt.Fprintln(tw, "WHEN (UTC)\tTRACE\tUSER\tPLATFORM\tPHONE\tSESSION\tOUTCOME\tFAILED STEP\tTOTAL")
	for _, t := range h.Traces {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%dms\n", fmtUTC(t.CreatedAt), orDash(t.TraceID), orDash(t.User),
			t.Platform, orDash(t.Phone), orDash(t.SessionID), t.Outcome, orDash(t.FailedStep), t.TotalMS)
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
	return b.String()
}
