package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/lark"
	"github.com/callytics/tracebot/bot/slack"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/secrets"
)

// checker prints one ✓/✗/?/off line per part and remembers whether any failed
// (✗; "?", not verified, is not a failure).
type checker struct {
	w      io.Writer
	scrub  func(string) string
	failed bool
}

func (c *checker) ok(part, detail string) { fmt.Fprintf(c.w, "✓ %-28s %s\n", part, c.scrub(detail)) }
func (c *checker) off(part, detail string) {
	fmt.Fprintf(c.w, "- %-28s off: %s\n", part, c.scrub(detail))
}

// note is a part whose state could not be established: neither ✓ nor ✗, and
// not a failure.
func (c *checker) note(part, detail string) { fmt.Fprintf(c.w, "? %-28s %s\n", part, c.line(detail)) }

func (c *checker) bad(part, detail string) {
	c.failed = true
	fmt.Fprintf(c.w, "✗ %-28s %s\n", part, c.line(detail))
}

// line is detail scrubbed and on one line, as each part has one: a cause of
// several lines (pgx lists each connection attempt, the same cause twice when
// it tried with and without TLS) keeps each distinct line once.
func (c *checker) line(detail string) string {
	var out []string
	for _, l := range strings.Split(c.scrub(detail), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, " ")
}

func (c *checker) result(part string, err error, okDetail string) {
	if err != nil {
		c.bad(part, err.Error())
		return
	}
	c.ok(part, okDetail)
}

// runCheck resolves the configuration and every secret (names only, never values),
// connects to each backend and verifies the log groups exist. Without AWS
// credentials it still checks what needs none when the secrets are files (the
// databases, OpenRouter, the chat platforms) and marks the AWS parts ✗.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iam := fs.Bool("iam", false, "print the least-privilege IAM policy for this configuration")
	if err := parseFlagsOnly(fs, args, stderr); err != nil {
		return err
	}
	cfg, err := LoadConfigFromEnv()
	if err != nil {
		fmt.Fprintln(stdout, "✗ config", err)
		return exitError{exitFailed}
	}
	if *iam {
		return printIAM(ctx, stdout, stderr, cfg)
	}
	c := &checker{w: stdout, scrub: identity}
	c.ok("config", fmt.Sprintf("env %s, regions %s", cfg.Env, strings.Join(cfg.Regions, ",")))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Credentials are required here only when the secrets come from SSM.
	a, awsCfg, err := openBase(ctx, cfg, stderr, slog.LevelError+4, false) // quiet: check prints its own lines
	if err != nil {
		c.bad("aws config", err.Error())
		return exitError{exitFailed}
	}
	c.scrub = a.scrub
	noAWS := requireCredentials(ctx, awsCfg, cfg.SecretsDir, a.log)
	if noAWS != nil {
		c.bad("aws credentials", noAWS.Error())
	}
	if !checkSecrets(ctx, c, a) {
		fmt.Fprintln(stdout, "(backends not checked: required secrets are missing)")
		return exitError{exitFailed}
	}
	if err := a.openBackends(ctx, awsCfg); err != nil {
		c.bad("backends", err.Error())
		return exitError{exitFailed}
	}
	defer a.Close()
	dbUp := checkBackends(ctx, c, a, noAWS)
	checkStateDB(ctx, c, a)
	checkVerdict(ctx, c, a, awsCfg.Region, dbUp, noAWS)
	checkOptional(c, cfg, noAWS)
	checkAlerts(ctx, c, a)
	if c.failed {
		return exitError{exitFailed}
	}
	return nil
}

// checkSecrets loads every secret name: the trace's required ones, the platforms'
// as optional (absent → that platform is off). It reports whether every secret
// could be resolved.
func checkSecrets(ctx context.Context, c *checker, a *app) bool {
	n := a.cfg.SSM
	source := "SSM"
	if a.cfg.SecretsDir != "" {
		source = "files in " + a.cfg.SecretsDir
	}
	required := []string{n.DatabaseURL, n.OpenRouterKey}
	if n.StateDatabaseURL != "" {
		required = append(required, n.StateDatabaseURL)
	}
	if a.cfg.LarkAppID != "" {
		required = append(required, n.LarkAppSecret)
		if a.cfg.LarkMode == "webhook" {
			required = append(required, n.LarkVerificationToken)
		}
	}
	err := a.secrets.Load(ctx, required...)
	if err != nil && !errors.Is(err, secrets.ErrMissing) {
		c.bad("secrets ("+source+")", err.Error())
		return false
	}
	optional := []string{n.SlackBotToken, n.SlackSigningSecret, n.SlackAppToken}
	if a.cfg.LarkAppID != "" {
		optional = append(optional, n.LarkVerificationToken, n.LarkEncryptKey)
	}
	_ = a.secrets.LoadOptional(ctx, optional...)
	ok := true
	for _, st := range a.secrets.Status(ctx) {
		switch {
		case st.Absent:
			c.off(st.Name, "not set (optional)")
		case st.OK:
			c.ok(st.Name, "resolved ("+source+")")
		default:
			c.bad(st.Name, st.Reason)
			ok = false
		}
	}
	return ok
}

// notChecked is the line of an AWS part when there are no AWS credentials.
const notChecked = "not checked: no AWS credentials (see aws credentials)"

// checkBackends pings the calls database, finds the log groups of each region
// (not without AWS credentials: noAWS) and tries the OpenRouter key. It reports
// whether the calls database answered.
func checkBackends(ctx context.Context, c *checker, a *app, noAWS error) (dbUp bool) {
	err := a.pg.Ping(ctx)
	c.result("postgres", err, "connected")
	for _, g := range a.logGroups(ctx, noAWS) {
		part := "cloudwatch " + g.Region
		switch {
		case g.Error != "":
			c.bad(part, g.Error)
		case len(g.Found) == 0:
			c.bad(part, "no log groups found: "+strings.Join(g.Missing, ", "))
		case len(g.Missing) > 0:
			c.ok(part, fmt.Sprintf("%s (missing here: %s)", strings.Join(g.Found, ", "), strings.Join(g.Missing, ", ")))
		default:
			c.ok(part, strings.Join(g.Found, ", "))
		}
	}
	c.result("openrouter", a.router.Check(ctx), "key accepted by "+a.cfg.OpenRouterURL)
	return err == nil
}

// logGroups is each region's log groups, or without AWS credentials (noAWS) a
// line per region saying they were not checked.
func (a *app) logGroups(ctx context.Context, noAWS error) []lookup.GroupCheck {
	if noAWS == nil {
		return a.logs.CheckGroups(ctx, "")
	}
	out := make([]lookup.GroupCheck, len(a.cfg.Regions))
	for i, r := range a.cfg.Regions {
		out[i] = lookup.GroupCheck{Region: r, Error: notChecked}
	}
	return out
}

// checkStateDB opens the state database as serve does (so the migrations it
// lacks are applied), pings it and closes it; unset, it is off.
func checkStateDB(ctx context.Context, c *checker, a *app) {
	if a.cfg.SSM.StateDatabaseURL == "" {
		c.off("state database", "TRACEBOT_SSM_STATE_DATABASE_URL is not set (in-memory state, one replica)")
		return
	}
	store, err := a.openStateDB(ctx)
	if err == nil {
		err = store.Ping(ctx)
		store.Close()
	}
	c.result("state database", err, "connected, migrations applied")
}

// checkVerdict reports the verdict's reads (SPEC §11) as off, or on with where
// they read from, and proves the S3 read on a real object: the newest call's
// s3_analysis_path, its first byte only (the policy of check --iam grants
// s3:GetObject alone, so a missing key or HeadBucket could not tell "works" from
// "denied"). When no object can be picked (the calls database is down, no call
// has a path, its bucket is not one the bot may read) the read is not verified,
// which is neither ✓ nor ✗. The object's content is never printed.
func checkVerdict(ctx context.Context, c *checker, a *app, region string, dbUp bool, noAWS error) {
	if !a.cfg.Verdict {
		c.off("verdict", "TRACEBOT_VERDICT=off (stored content and analyses are not read)")
		return
	}
	if a.analyses == nil || region == "" {
		c.bad("verdict", "the S3 client needs a region: set AWS_REGION (or TRACEBOT_VERDICT=off)")
		return
	}
	buckets := "any bucket a call's s3_analysis_path names"
	if len(a.cfg.AnalysisBuckets) > 0 {
		buckets = "buckets " + strings.Join(a.cfg.AnalysisBuckets, ", ")
	}
	on := fmt.Sprintf("on: stored content from %s, analyses from S3 (%s, %s)", a.cfg.OpenRouterURL, region, buckets)
	if noAWS != nil {
		c.bad("verdict", on+"; S3 "+notChecked)
		return
	}
	path, why := analysisToProbe(ctx, a, dbUp)
	if why != "" {
		c.note("verdict", on+" (S3 read not verified: "+why+")")
		return
	}
	if err := a.analyses.ProbeAnalysis(ctx, path); err != nil {
		c.bad("verdict", on+"; "+lookup.AnalysisCause(path, err))
		return
	}
	c.ok("verdict", on+"; read "+path+" (the newest call's analysis)")
}

// newestPathTimeout bounds check's search for an analysis to read.
var newestPathTimeout = 5 * time.Second

// analysisToProbe is the newest call's s3_analysis_path, or why there is none to
// read.
func analysisToProbe(ctx context.Context, a *app, dbUp bool) (path, why string) {
	if !dbUp {
		return "", "the calls database is down, so no call's analysis to read"
	}
	// Bounded: calls may have no index on created_at alone, and check must not
	// keep a big table's scan running.
	qctx, cancel := context.WithTimeout(ctx, newestPathTimeout)
	defer cancel()
	path, err := a.pg.NewestAnalysisPath(qctx)
	switch {
	case err != nil && qctx.Err() != nil:
		return "", fmt.Sprintf("finding the newest call's analysis took over %s", newestPathTimeout)
	case err != nil:
		return "", "the calls database could not be read: " + err.Error()
	case path == "":
		return "", "no call has an s3_analysis_path"
	}
	if bucket, _, err := lookup.ParseS3Path(path); err == nil && len(a.cfg.AnalysisBuckets) > 0 && !slices.Contains(a.cfg.AnalysisBuckets, bucket) {
		return "", "the newest call's analysis is in bucket " + bucket + ", not in TRACEBOT_ANALYSIS_BUCKETS"
	}
	return path, ""
}

// checkOptional reports the reprocess target (✗ without AWS credentials: it is
// a Lambda or SQS call) and Lark as off when they are not configured.
func checkOptional(c *checker, cfg Config, noAWS error) {
	switch {
	case cfg.ReprocessTarget == "":
		c.off("reprocess", "TRACEBOT_REPROCESS_TARGET is not set")
	case noAWS != nil:
		c.bad("reprocess", "target "+cfg.ReprocessTarget+": "+notChecked)
	default:
		c.ok("reprocess", "target "+cfg.ReprocessTarget)
	}
	if cfg.LarkAppID == "" {
		c.off("lark", "TRACEBOT_LARK_APP_ID is not set")
	}
}

// checkAlerts shows the alerts on or off, the rules' thresholds and, for each
// channel, whether the bot can post there (Slack conversations.info membership,
// Lark is_in_chat).
func checkAlerts(ctx context.Context, c *checker, a *app) {
	cfg := a.cfg
	if len(cfg.AlertChannels) == 0 {
		c.off("alerts", "TRACEBOT_ALERT_CHANNELS is not set")
		return
	}
	var rules []string
	ac := alertConfig(cfg, false)
	for _, r := range lookup.AlertRules {
		state := "on"
		if !ac.On(r) {
			state = "off"
		}
		rules = append(rules, string(r)+" "+state)
	}
	c.ok("alerts", fmt.Sprintf("every %s to %s (%s)", cfg.AlertInterval, strings.Join(cfg.AlertChannels, ", "), strings.Join(rules, ", ")))
	b := bot.New(bot.Config{Lang: cfg.Lang}, bot.Deps{Logger: a.log})
	defer func() { _ = b.Shutdown(context.WithoutCancel(ctx)) }()
	checkers := map[bot.Platform]func(context.Context, string) (string, error){}
	n := cfg.SSM
	if a.present(ctx, n.SlackBotToken) {
		checkers[bot.Slack] = slack.New(slack.Config{BotToken: a.secretFunc(n.SlackBotToken), APIURL: cfg.SlackAPIURL, Logger: a.log}, b).CheckChannel
	}
	if cfg.LarkAppID != "" && a.present(ctx, n.LarkAppSecret) {
		checkers[bot.Lark] = lark.New(lark.Config{AppID: cfg.LarkAppID, AppSecret: a.secretFunc(n.LarkAppSecret),
			BaseURL: cfg.LarkBaseURL, Logger: a.log}, b).CheckChannel
	}
	for _, ch := range cfg.AlertChannels {
		p := bot.ChannelPlatform(ch)
		part := "alert channel " + ch
		check, ok := checkers[p]
		if !ok {
			c.bad(part, p.Name()+" is not configured: the bot cannot post there")
			continue
		}
		found, err := check(ctx, ch)
		c.result(part, err, p.Name()+" "+found)
	}
}
