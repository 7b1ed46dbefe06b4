package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/numfmt"
)

// runAlerts answers `tracebot alerts check [--json] [--sandbox]` (SPEC §13):
// every rule evaluated once at now (TRACEBOT_NOW honoured), nothing posted.
// Exit 0 when every rule that is on could be evaluated, 1 when one could not.
func runAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "tracebot alerts check [--json] [--sandbox]"
	if len(args) == 0 || args[0] != "check" {
		return printUsageError(stdout, stderr, wantsJSON(args), "alerts", &usageError{msg: "the subcommand is check: " + usage})
	}
	fs := flag.NewFlagSet("alerts check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object (SPEC §13)")
	sandbox := fs.Bool("sandbox", false, "evaluate the built-in sample world instead of AWS")
	words, err := parseInterleaved(fs, args[1:])
	if err == nil && len(words) > 0 {
		err = &usageError{msg: fmt.Sprintf("unexpected arguments %q: %s", words, usage)}
	}
	if ue, ok := err.(*usageError); ok {
		return printUsageError(stdout, stderr, *asJSON || wantsJSON(args), "alerts check", ue)
	}
	cfg, err := LoadConfigFromEnv()
	if err != nil {
		return err
	}
	a, err := openReportsApp(ctx, cfg, stderr, *sandbox)
	if err != nil {
		return err
	}
	now := cfg.nowFor(*sandbox)
	in, closeState, err := a.alertInputs(ctx, now, *sandbox)
	if err != nil {
		return err
	}
	defer closeState()
	check := lookup.NewAlertChecker(a.reports, alertConfig(cfg, *sandbox)).Check(ctx, now, in)
	code := exitOK
	if len(check.Errors) > 0 {
		code = exitFailed
	}
	if *asJSON {
		return printJSON(stdout, a.scrub, check, code)
	}
	fmt.Fprint(stdout, a.scrub(renderAlertCheck(check, cfg.TimeZone, *sandbox)))
	return exitOr(code)
}

// alertConfig is the rules' thresholds from the configuration; the sample world
// has a daily budget of its own when TRACEBOT_DAILY_BUDGET is not set, so its
// spend shows a level (set to 0, the rule is off there too).
func alertConfig(cfg Config, sandbox bool) lookup.AlertConfig {
	budget := cfg.DailyBudget
	if sandbox && !cfg.DailyBudgetSet {
		budget = lookup.SandboxDailyBudget
	}
	return lookup.AlertConfig{DailyBudget: budget, CostSpike: cfg.CostSpike, CacheMin: cfg.CacheMin,
		LengthMax: cfg.LengthMax, Zone: cfg.TimeZone, Env: cfg.Env}
}

// openReportsApp builds what a report or an alert check needs: the report engine
// over AWS (configuration and credentials; no secret is read and no database
// opened here) or over the sample world, and the secret store the alert check
// reads the state database's name from.
func openReportsApp(ctx context.Context, cfg Config, stderr io.Writer, sandbox bool) (*app, error) {
	if sandbox {
		a := newApp(cfg, stderr, slog.LevelWarn)
		a.openReports(aws.Config{}, true)
		return a, nil
	}
	a, awsCfg, err := openBase(ctx, cfg, stderr, slog.LevelWarn, true)
	if err != nil {
		return nil, err
	}
	a.openReports(awsCfg, false)
	return a, nil
}

// sandboxNoFailures is why backend_failures is not evaluated with --sandbox:
// the sample world has no bot whose traces could fail, state database or not.
const sandboxNoFailures = "the sandbox does not evaluate it: its sample world keeps no trace records of the bot"

// alertInputs reads the bot's trace failures of the last ten minutes and its
// open backend episodes from the state database; without one (or in the
// sandbox, which never opens it) backend_failures is not evaluated.
func (a *app) alertInputs(ctx context.Context, now time.Time, sandbox bool) (lookup.AlertInputs, func(), error) {
	if sandbox {
		return lookup.AlertInputs{Unknown: sandboxNoFailures}, func() {}, nil
	}
	if a.cfg.SSM.StateDatabaseURL == "" {
		return lookup.AlertInputs{}, func() {}, nil
	}
	store, err := a.openStateDB(ctx)
	if err != nil {
		return lookup.AlertInputs{}, nil, err
	}
	in, err := storeAlertInputs(ctx, store, now)
	if err != nil {
		store.Close()
		return lookup.AlertInputs{}, nil, err
	}
	return in, store.Close, nil
}

// storeAlertInputs is what the store says for backend_failures at now.
func storeAlertInputs(ctx context.Context, store state.AlertStore, now time.Time) (lookup.AlertInputs, error) {
	eps, err := store.UnsettledEpisodes(ctx)
	if err != nil {
		return lookup.AlertInputs{}, err
	}
	return bot.AlertInputsFrom(ctx, store, now, eps)
}

// renderAlertCheck is the check for a terminal.
func renderAlertCheck(c lookup.AlertCheck, zone *time.Location, sandbox bool) string {
	b := new(strings.Builder)
	if sandbox {
		b.WriteString("SAMPLE DATA (--sandbox)\n")
	}
	fmt.Fprintf(b, "Alerts at %s (%s)\n\n", c.Now.In(zone).Format("Mon Jan 2 15:04 MST"), zone)
	if len(c.Alerts) == 0 {
		b.WriteString("No rule fires.\n")
	}
	for _, al := range c.Alerts {
		what := string(al.Rule)
		if s := al.Subject(); s != "" {
			what += " (" + s + ")"
		}
		fmt.Fprintf(b, "! %s %s: %s\n  value %s, threshold %s, %s → %s\n", what, al.Level, al.Message,
			alertUnit(al.Rule, al.Value), alertUnit(al.Rule, al.Threshold),
			al.From.In(zone).Format("Jan 2 15:04"), al.To.In(zone).Format("Jan 2 15:04 MST"))
	}
	var names []string
	for _, r := range c.Evaluated {
		names = append(names, string(r))
	}
	fmt.Fprintf(b, "\nEvaluated: %s\n", orDash(strings.Join(names, ", ")))
	for _, s := range c.NotEvaluated {
		fmt.Fprintf(b, "Not evaluated: %s (%s)\n", s.Rule, s.Reason)
	}
	for _, e := range c.Errors {
		fmt.Fprintf(b, "✗ %s could not be evaluated: %s\n", e.Rule, e.Message)
	}
	return b.String()
}

func alertUnit(rule lookup.AlertRule, v float64) string {
	switch rule {
	case lookup.RuleBudget, lookup.RuleCostSpike:
		return numfmt.Dollars(v)
	case lookup.RuleCacheCollapse, lookup.RuleLengthSpike:
		return numfmt.Percent(&v)
	}
	return fmt.Sprintf("%g traces", v)
}
