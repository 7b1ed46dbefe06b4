package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/secrets"
)

// app holds what a trace needs, built explicitly from Config.
type app struct {
	cfg      Config
	log      *slog.Logger
	secrets  *secrets.Store
	scrubber *secrets.Scrubber
	pg       *lookup.PostgresStore
	logs     *lookup.CloudWatch
	router   *lookup.OpenRouter
	service  *lookup.Service
}

// scrub removes every known secret value from text leaving the process.
func (a *app) scrub(s string) string { return a.scrubber.Scrub(s) }

// Close releases the database pool.
func (a *app) Close() {
	if a.pg != nil {
		a.pg.Close()
	}
}

// newLogger writes JSON logs to w, scrubbed of every known secret value.
func newLogger(w io.Writer, sc *secrets.Scrubber, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(sc.Writer(w), &slog.HandlerOptions{Level: level}))
}

// openApp builds the trace service: the sample world with sandbox, else the real
// backends with secrets from SSM or TRACEBOT_SECRETS_DIR.
func openApp(ctx context.Context, cfg Config, stderr io.Writer, sandbox bool) (*app, error) {
	if sandbox {
		a := &app{cfg: cfg, scrubber: secrets.NewScrubber()}
		a.log = newLogger(stderr, a.scrubber, slog.LevelWarn)
		sb := lookup.NewSandbox(0)
		a.service = lookup.NewService(sb.Calls, sb.Usage, sb.Generations, a.serviceConfig(true))
		return a, nil
	}
	a, awsCfg, err := openBase(ctx, cfg, stderr, slog.LevelWarn)
	if err != nil {
		return nil, err
	}
	if err := a.secrets.Load(ctx, cfg.SSM.DatabaseURL, cfg.SSM.OpenRouterKey); err != nil {
		return nil, err
	}
	if err := a.openBackends(ctx, awsCfg); err != nil {
		return nil, err
	}
	a.service = lookup.NewService(a.pg, a.logs, a.router, a.serviceConfig(false))
	return a, nil
}

// loadAWS reads AWS configuration only through the SDK's standard chain, so
// AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL(_<SERVICE>) keep working.
func loadAWS(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws: load config: %w", err)
	}
	return cfg, nil
}

func newSecretStore(cfg Config, awsCfg aws.Config, log *slog.Logger) *secrets.Store {
	var src secrets.Source
	if cfg.SecretsDir != "" {
		src = secrets.DirSource{Dir: cfg.SecretsDir}
	} else {
		src = secrets.NewSSMSource(ssm.NewFromConfig(awsCfg))
	}
	return secrets.NewStore(src, cfg.SecretsTTL, secrets.WithLogger(log))
}

func (a *app) openBackends(ctx context.Context, awsCfg aws.Config) error {
	dsn, err := a.secrets.Get(ctx, a.cfg.SSM.DatabaseURL)
	if err != nil {
		return err
	}
	a.pg, err = lookup.OpenPostgres(ctx, dsn.Reveal(), a.cfg.DBTimeZone)
	if err != nil {
		return err
	}
	a.logs = lookup.NewCloudWatch(a.cloudWatchConfig(), logsClients(awsCfg, a.cfg.Regions))
	a.router = lookup.NewOpenRouter(lookup.OpenRouterConfig{
		BaseURL: a.cfg.OpenRouterURL,
		KeyName: a.cfg.SSM.OpenRouterKey,
		Key: func(ctx context.Context) (secrets.Secret, error) {
			return a.secrets.Get(ctx, a.cfg.SSM.OpenRouterKey)
		},
		OnAuthFailure: func() { a.secrets.Invalidate(a.cfg.SSM.OpenRouterKey) },
		Logger:        a.log,
	})
	return nil
}

func (a *app) cloudWatchConfig() lookup.CloudWatchConfig {
	return lookup.CloudWatchConfig{
		Regions: a.cfg.Regions, LogGroups: a.cfg.LogGroups, Env: a.cfg.Env, Grace: a.cfg.RegionGrace,
		MaxQueries: a.cfg.MaxQueries, PollRate: a.cfg.PollRate.PerSecond(), Logger: a.log,
	}
}

// logsClients builds one CloudWatch Logs client per region from the SDK's standard
// chain, so AWS_ENDPOINT_URL(_CLOUDWATCH_LOGS) and profiles keep working.
func logsClients(awsCfg aws.Config, regions []string) map[string]lookup.LogsAPI {
	clients := make(map[string]lookup.LogsAPI, len(regions))
	for _, r := range regions {
		clients[r] = cloudwatchlogs.NewFromConfig(awsCfg, func(o *cloudwatchlogs.Options) { o.Region = r })
	}
	return clients
}

func (a *app) serviceConfig(sandbox bool) lookup.ServiceConfig {
	return lookup.ServiceConfig{
		GenerationLink: a.cfg.GenerationLink,
		TraceTimeout:   a.cfg.TraceTimeout,
		Sandbox:        sandbox,
		Logger:         a.log,
	}
}
