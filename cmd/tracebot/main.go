// Command tracebot traces a customer's phone call through the AI pipeline — calls in
// Postgres, ai_usage lines in CloudWatch Logs Insights, generations on OpenRouter,
// the stored analysis in S3 — and reports across calls, from a terminal (trace,
// report, alerts check, check, history) or from chat (serve).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

// Exit codes of SPEC §8. A command line that cannot be run (an unknown flag,
// no report, a word a command does not take) is input not understood: exit 2,
// as SPEC §8 lists no other code.
const (
	exitOK            = 0
	exitFailed        = 1
	exitNotUnderstood = 2
	exitNotFound      = 3
	exitCandidates    = 4
	exitUsage         = exitNotUnderstood
)

const usage = `tracebot traces a customer's phone call through the AI analysis pipeline.

Usage:
  tracebot trace [--json] [--dry-run] [--sandbox] [--session ID] [--show-content] "<report>"
  tracebot report <cost|cache|finish|providers|deploys> [window] [--json] [--png FILE] [--env E] [--sandbox]
  tracebot serve [--sandbox]
  tracebot check [--iam]
  tracebot history [--user U] [--since 24h]
  tracebot alerts check [--json] [--sandbox]
  tracebot version

Examples:
  tracebot trace --sandbox "(914) 265-4371 5/20 1:15pm"
  tracebot trace "+1 914 265 4371 2026-05-20 下午 1:15 左右"
  tracebot trace --session s-abc123def456
  tracebot report --sandbox cache 24h --png cache.png

Configuration is read from TRACEBOT_* environment variables and AWS's standard chain;
secrets come from SSM Parameter Store (or TRACEBOT_SECRETS_DIR). See README.md.
`

// exitError carries an exit code; its message, if any, has already been printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	var ee exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintln(stderr, "tracebot:", err)
		return exitFailed
	}
}

// run dispatches a subcommand. Everything it needs comes through its arguments.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{exitUsage}
	}
	switch args[0] {
	case "trace":
		return failureAsJSON(args[1:], stdout, runTrace(ctx, args[1:], stdout, stderr))
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "report":
		return failureAsJSON(args[1:], stdout, runReport(ctx, args[1:], stdout, stderr))
	case "history":
		return runHistory(ctx, args[1:], stdout, stderr)
	case "alerts":
		return failureAsJSON(args[1:], stdout, runAlerts(ctx, args[1:], stdout, stderr))
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "tracebot", Version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "tracebot: unknown command %q\n\n%s", args[0], usage)
		return exitError{exitUsage}
	}
}

// failureAsJSON answers, when args ask for --json, a failure that printed nothing
// (a bad configuration, no AWS credentials, a secret that does not resolve) with
// one {"error": {"code": "failed", "message"}} object on stdout, so that a script
// always gets JSON; the error is returned as it is, for its line on stderr and
// exit 1. Errors that carry an exit code have printed their own answer.
func failureAsJSON(args []string, stdout io.Writer, err error) error {
	var ee exitError
	if err == nil || errors.As(err, &ee) || !wantsJSON(args) {
		return err
	}
	_ = printJSON(stdout, identity, map[string]errorJSON{"error": {Code: "failed", Message: err.Error()}}, exitOK)
	return err
}
