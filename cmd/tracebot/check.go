package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/lark"
	"github.com/callytics/tracebot/bot/slack"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/secrets"
)

// checker prints one ✓/✗/off line per part and remembers whether any failed.
type checker struct {
	w      io.Writer
	scrub  func(string) string
	failed bool
}

func (c *checker) ok(part, detail string) { fmt.Fprintf(c.w, "✓ %-28s %s\n", part, c.scrub(detail)) }
func (c *checker) off(part, detail string) {
	fmt.Fprintf(c.w, "- %-28s off: %s\n", part, c.scrub(detail))
}
func (c *checker) bad(part, detail string) {
	c.failed = true
	fmt.Fprintf(c.w, "✗ %-28s %s\n", part, strings.Join(strings.Fields(c.scrub(detail)), " ")) // one line per part
}

func (c *checker) result(part string, err error, okDetail string) {
	if err != nil {
		c.bad(part, err.Error())
		return
	}
	c.ok(part, okDetail)
}

// runCheck resolves the configuration and every secret (names only, never values),
// connects to each backend and verifies the log groups exist.
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
	a, awsCfg, err := openBase(ctx, cfg, stderr, slog.LevelError+4, true) // quiet: check prints its own lines
	if err != nil {
		c.bad("aws config", err.Error())
		return exitError{exitFailed}
	}
	c.scrub = a.scrub
	checkSecrets(ctx, c, a)
	if c.failed {
		fmt.Fprintln(stdout, "(backends not checked: required secrets are missing)")
		return exitError{exitFailed}
	}
	if err := a.openBackends(ctx, awsCfg); err != nil {
		c.bad("backends", err.Error())
		return exitError{exitFailed}
	}
	defer a.Close()
	checkBackends(ctx, c, a)
	checkVerdict(c, a, awsCfg.Region)
	checkOptional(c, cfg)
	checkAlerts(ctx, c, a)
	if c.failed {
		return exitError{exitFailed}
	}
	return nil
}

// checkSecrets loads every secret name: the trace's required ones, the platforms'
// as optional (absent → that platform is off).
func checkSecrets(ctx context.Context, c *checker, a *app) {
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
		return
	}
	optional := []string{n.SlackBotToken, n.SlackSigningSecret, n.SlackAppToken}
	if a.cfg.LarkAppID != "" {
		optional = append(optional, n.LarkVerificationToken, n.LarkEncryptKey)
	}
	_ = a.secrets.LoadOptional(ctx, optional...)
	for _, st := range a.secrets.Status(ctx) {
		switch {
		case st.Absent:
			c.off(st.Name, "not set (optional)")
		case st.OK:
			c.ok(st.Name, "resolved ("+source+")")
		default:
			c.bad(st.Name, st.Reason)
		}
	}
}

func checkBackends(ctx context.Context, c *checker, a *app) {
	c.result("postgres", a.pg.Ping(ctx), "connected")
	for _, g := range a.logs.CheckGroups(ctx, "") {
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
}

// checkVerdict reports the verdict's reads (SPEC §11) as off, or on with where they
// read from; S3 needs a region for its client (no object is read).
func checkVerdict(c *checker, a *app, region string) {
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
	c.ok("verdict", fmt.Sprintf("on: stored content from %s, analyses from S3 (%s, %s)", a.cfg.OpenRouterURL, region, buckets))
}

func checkOptional(c *checker, cfg Config) {
	if cfg.ReprocessTarget == "" {
		c.off("reprocess", "TRACEBOT_REPROCESS_TARGET is not set")
	} else {
		c.ok("reprocess", "target "+cfg.ReprocessTarget)
	}
	if cfg.SSM.StateDatabaseURL == "" {
		c.off("state database", "TRACEBOT_SSM_STATE_DATABASE_URL is not set (in-memory state, one replica)")
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
