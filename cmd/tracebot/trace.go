package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/callytics/tracebot/lookup"
)

type traceFlags struct {
	json, dryRun, sandbox bool
	showContent           bool
	session               string
	report                string
}

// parseTraceFlags accepts flags before and after the report text.
func parseTraceFlags(args []string, stderr io.Writer) (traceFlags, error) {
	var f traceFlags
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.json, "json", false, "print one JSON object (SPEC §8)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print only how the report was read; no network")
	fs.BoolVar(&f.sandbox, "sandbox", false, "use built-in sample data instead of AWS/Neon/OpenRouter")
	fs.StringVar(&f.session, "session", "", "trace this telephony_session_id")
	fs.BoolVar(&f.showContent, "show-content", false, "also print each stage's stored answer and an excerpt of its input (customer data)")
	words, err := parseInterleaved(fs, args)
	if err != nil {
		return f, err
	}
	f.report = strings.TrimSpace(strings.Join(words, " "))
	f.session = strings.TrimSpace(f.session)
	if f.report == "" && f.session == "" {
		return f, &usageError{msg: `give a report, e.g. tracebot trace "(914) 265-4371 5/20 1:15pm", or --session ID`}
	}
	return f, nil
}

func runTrace(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseTraceFlags(args, stderr)
	if ue, ok := err.(*usageError); ok {
		return printUsageError(stdout, stderr, f.json || wantsJSON(args), "trace", ue)
	}
	cfg, err := LoadConfigFromEnv()
	if err != nil {
		return err
	}
	req, perr := parseRequest(f, cfg, cfg.nowFor(f.sandbox))
	if perr != nil {
		return printNotUnderstood(stdout, f.json, req, perr)
	}
	if f.dryRun {
		return printDryRun(stdout, f.json, req)
	}
	app, err := openApp(ctx, cfg, stderr, f.sandbox)
	if err != nil {
		return err
	}
	defer app.Close()
	t := app.service.Trace(ctx, req, nil)
	out := app.scrub
	switch {
	case f.json && f.showContent:
		return printJSON(stdout, out, withContent(t), exitFor(t.Outcome))
	case f.json:
		return printJSON(stdout, out, t, exitFor(t.Outcome))
	}
	text := renderText(t)
	if f.showContent {
		var b strings.Builder
		renderContent(&b, t)
		text += b.String()
	}
	fmt.Fprint(stdout, out(text))
	return exitOr(exitFor(t.Outcome))
}

// parseRequest reads the report against now to the second (times are printed
// to the second); --session sets the session id as given, whatever its shape,
// replacing any the report names.
func parseRequest(f traceFlags, cfg Config, now time.Time) (lookup.Request, error) {
	return lookup.ParseReport(f.report, lookup.ParseOptions{
		Now: now.Truncate(time.Second), DefaultZone: cfg.TimeZone, Window: cfg.Window, NoTimeLookback: cfg.NoTimeLookback,
		SessionID: f.session,
	})
}

func exitFor(o lookup.Outcome) int {
	switch o {
	case lookup.OutcomeTraced:
		return exitOK
	case lookup.OutcomeNotUnderstood:
		return exitNotUnderstood
	case lookup.OutcomeNotFound:
		return exitNotFound
	case lookup.OutcomeCandidates:
		return exitCandidates
	default:
		return exitFailed
	}
}

func exitOr(code int) error {
	if code == exitOK {
		return nil
	}
	return exitError{code}
}

func printJSON(w io.Writer, scrub func(string) string, v any, code int) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	fmt.Fprintln(w, scrub(string(b)))
	return exitOr(code)
}

// dryRunJSON is the first block of the trace JSON: the interpretation only.
type dryRunJSON struct {
	Phone          string           `json:"phone,omitempty"` // none when the call is looked up by id
	Zone           string           `json:"zone"`
	ZoneSource     string           `json:"zone_source,omitempty"`
	At             *time.Time       `json:"at"`
	From           *time.Time       `json:"from,omitempty"`
	To             *time.Time       `json:"to,omitempty"`
	Interpretation string           `json:"interpretation,omitempty"`
	Direction      lookup.Direction `json:"direction,omitempty"`
	Env            string           `json:"env,omitempty"`
	SessionID      string           `json:"session_id,omitempty"`
	GenerationIDs  []string         `json:"generation_ids,omitempty"`
	Error          *errorJSON       `json:"error,omitempty"`
}

type errorJSON struct {
	Code       string   `json:"code"`
	Message    string   `json:"message"`
	Understood []string `json:"understood,omitempty"`
	Missing    []string `json:"missing,omitempty"`
	Examples   []string `json:"examples,omitempty"`
}

func newDryRunJSON(req lookup.Request) dryRunJSON {
	d := dryRunJSON{Phone: req.Phone, Zone: req.ZoneName, ZoneSource: req.ZoneSource, Direction: req.Direction,
		Env: req.Env, SessionID: req.SessionID, GenerationIDs: req.GenerationIDs}
	if req.At != nil {
		at := req.At.UTC().Truncate(time.Second)
		d.At = &at
	}
	if searchesWindow(req) {
		from, to := req.From.UTC().Truncate(time.Second), req.To.UTC().Truncate(time.Second)
		d.From, d.To = &from, &to
	}
	if searchesWindow(req) || req.SessionID != "" && req.At != nil {
		d.Interpretation = req.Interpretation("en")
	}
	return d
}

// searchesWindow reports whether the trace searches req's From–To window. By
// session id it does not: the call is looked up by id and its created_at read
// (the reported time, when there is one, stands in only if the database fails),
// so the window — with no time, a lookback from the clock — is not shown.
func searchesWindow(req lookup.Request) bool { return !req.From.IsZero() && req.SessionID == "" }

func printDryRun(w io.Writer, asJSON bool, req lookup.Request) error {
	if asJSON {
		return printJSON(w, identity, newDryRunJSON(req), exitOK)
	}
	fmt.Fprint(w, renderRequest(req))
	return nil
}

func printNotUnderstood(w io.Writer, asJSON bool, req lookup.Request, err error) error {
	e := &lookup.Error{Code: lookup.CodeNotUnderstood, Message: err.Error()}
	if ue, ok := err.(*lookup.Error); ok {
		e = ue
	}
	if asJSON {
		d := newDryRunJSON(req)
		d.Error = &errorJSON{Code: lookup.CodeNotUnderstood, Message: e.Message, Understood: e.Understood, Missing: e.Missing, Examples: lookup.ReportExamples}
		return printJSON(w, identity, d, exitNotUnderstood)
	}
	fmt.Fprint(w, renderNotUnderstood(e))
	return exitError{exitNotUnderstood}
}

func identity(s string) string { return s }
