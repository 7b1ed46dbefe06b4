package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/callytics/tracebot/lookup"
)

type reportFlags struct {
	json, sandbox bool
	png, env      string
	words         string
}

// parseReportFlags accepts flags before and after the words.
func parseReportFlags(args []string, stderr io.Writer) (reportFlags, error) {
	var f reportFlags
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.json, "json", false, "print one JSON object (SPEC §12)")
	fs.BoolVar(&f.sandbox, "sandbox", false, "answer from the built-in sample world instead of AWS")
	fs.StringVar(&f.png, "png", "", "write the report's chart to this PNG file")
	fs.StringVar(&f.env, "env", "", "{env} of the log groups and functions: test, pre or prod")
	words, err := parseInterleaved(fs, args)
	if err != nil {
		return f, err
	}
	f.words = strings.TrimSpace(strings.Join(words, " "))
	switch f.env {
	case "", "test", "pre", "prod":
	default:
		return f, &usageError{msg: fmt.Sprintf("--env %q: want test, pre or prod", f.env)}
	}
	if err := checkWritable(f.png); err != nil {
		return f, &usageError{msg: fmt.Sprintf("--png: %v", err)}
	}
	return f, nil
}

// checkWritable fails when path cannot be written, before any query is paid for;
// it leaves no file behind and an existing one as it was.
func checkWritable(path string) error {
	if path == "" {
		return nil
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_ = f.Close()
	if errors.Is(statErr, os.ErrNotExist) {
		_ = os.Remove(path)
	}
	return nil
}

// runReport answers `tracebot report <kind> [window]` (SPEC §8, §12): exit 0
// answered (some regions may have failed: see regions), 2 not understood or the
// window too long, 1 no region could answer.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseReportFlags(args, stderr)
	if ue, ok := err.(*usageError); ok {
		return printUsageError(stdout, stderr, f.json || wantsJSON(args), "report", ue)
	}
	cfg, err := LoadConfigFromEnv()
	if err != nil {
		return err
	}
	q, err := parseReportWords(f, cfg)
	if err != nil {
		return printReportRefusal(stdout, f.json, err)
	}
	if q.Kind == lookup.ReportHelp {
		return printReportHelp(stdout, f.json)
	}
	a, err := openReportsApp(ctx, cfg, stderr, f.sandbox)
	if err != nil {
		return err
	}
	r, err := a.reports.Report(ctx, q)
	if r == nil {
		if lookup.ErrorCode(err) != "" {
			return printReportRefusal(stdout, f.json, err)
		}
		return err
	}
	code := exitOK
	if err != nil {
		a.log.Error("report: no region could answer", "kind", q.Kind, "err", err)
		code = exitFailed
	}
	chart := writeChart(f.png, r, stderr)
	if f.json {
		return printJSON(stdout, a.scrub, r, code)
	}
	fmt.Fprint(stdout, a.scrub(renderReport(r)+chart))
	return exitOr(code)
}

// parseReportWords reads the words against now (TRACEBOT_NOW, or the sample
// world's now with --sandbox); --env overrides an env in the words.
func parseReportWords(f reportFlags, cfg Config) (lookup.ReportQuery, error) {
	now := cfg.nowFor(f.sandbox)
	words := f.words
	if words == "" {
		words = "help"
	}
	q, err := lookup.ParseReportQuery(words, lookup.ReportParseOptions{Now: now, Zone: cfg.TimeZone, MaxRange: cfg.ReportMaxRange})
	if f.env != "" {
		q.Env = f.env
	}
	if f.words == "" && err == nil {
		return q, lookup.Errorf(lookup.CodeNotUnderstood, "Which report? Give a kind, e.g. tracebot report cost 2h.")
	}
	return q, err
}

// reportKindJSON is one kind in `report help --json`.
type reportKindJSON struct {
	Kind          lookup.ReportKind `json:"kind"`
	DefaultWindow string            `json:"default_window"` // "" for deploys
	Example       string            `json:"example"`
	Summary       string            `json:"summary"`
}

// printReportHelp lists every kind with an example: the help text, or with --json
// {"kind": "help", "kinds": [{"kind", "default_window", "example", "summary"}]}.
func printReportHelp(w io.Writer, asJSON bool) error {
	if !asJSON {
		fmt.Fprint(w, lookup.ReportHelpText())
		return nil
	}
	kinds := make([]reportKindJSON, 0, len(lookup.ReportKinds))
	for _, k := range lookup.ReportKinds {
		window := ""
		if k.DefaultWindow > 0 {
			window = fmt.Sprintf("%gh", k.DefaultWindow.Hours())
		}
		kinds = append(kinds, reportKindJSON{Kind: k.Kind, DefaultWindow: window, Example: k.Example, Summary: k.Summary})
	}
	return printJSON(w, identity, map[string]any{"kind": lookup.ReportHelp, "kinds": kinds}, exitOK)
}

// printReportRefusal answers words that are not a report, or a window that is too
// long (exit 2): the reason and the kinds, or {"error": {"code", "message"}}.
func printReportRefusal(w io.Writer, asJSON bool, err error) error {
	var e *lookup.Error
	if !errors.As(err, &e) {
		e = &lookup.Error{Code: lookup.CodeNotUnderstood, Message: err.Error()}
	}
	if asJSON {
		return printJSON(w, identity, map[string]errorJSON{"error": {Code: e.Code, Message: e.Message}}, exitNotUnderstood)
	}
	fmt.Fprintln(w, e.Message)
	if e.Code == lookup.CodeNotUnderstood {
		fmt.Fprint(w, "\n"+lookup.ReportHelpText())
	}
	return exitError{exitNotUnderstood}
}

// writeChart writes the chart to path when asked; the line it returns tells the
// reader where it went (or why not). Failing to write is reported, not fatal:
// the numbers are still printed.
func writeChart(path string, r *lookup.Report, stderr io.Writer) string {
	if path == "" {
		return ""
	}
	png, err := lookup.ReportChart(r)
	if errors.Is(err, lookup.ErrNoChart) {
		fmt.Fprintf(stderr, "tracebot report: %s has no chart; %s not written\n", r.Kind, path)
		return ""
	}
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tracebot report: chart not written: %v\n", err)
		return ""
	}
	return fmt.Sprintf("Chart: %s\n", path)
}
