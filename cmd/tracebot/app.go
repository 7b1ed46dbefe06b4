package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/logging"

	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/secrets"
)

// app holds what a command needs (the trace service, the report engine, secrets,
// logs), built explicitly from Config.
type app struct {
	cfg      Config
	log      *slog.Logger
	secrets  *secrets.Store
	scrubber *secrets.Scrubber
	pg       *lookup.PostgresStore
	logs     *lookup.CloudWatch
	router   *lookup.OpenRouter
	analyses *lookup.S3Analysis // nil when TRACEBOT_VERDICT=off
	service  *lookup.Service
	reports  *lookup.ReportEngine
	level    slog.Level // of log
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

// openApp builds what a terminal trace needs: the sandbox (no cloud access at all),
// else the real backends with secrets from SSM or TRACEBOT_SECRETS_DIR.
func openApp(ctx context.Context, cfg Config, stderr io.Writer, sandbox bool) (*app, error) {
	a := newApp(cfg, stderr, slog.LevelWarn)
	var awsCfg aws.Config
	if !sandbox {
		var err error
		if a, awsCfg, err = openBase(ctx, cfg, stderr, slog.LevelWarn, true); err != nil {
			return nil, err
		}
	}
	if err := a.openService(ctx, awsCfg, sandbox, 0); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func newApp(cfg Config, stderr io.Writer, level slog.Level) *app {
	if cfg.LogLevel != nil {
		level = *cfg.LogLevel
	}
	a := &app{cfg: cfg, scrubber: secrets.NewScrubber(), level: level}
	a.log = newLogger(stderr, a.scrubber, level)
	return a
}

// openBase loads AWS configuration and the secret store every command needs.
// backends says whether the run will call AWS services beyond SSM; AWS
// credentials are required then, or when the secrets come from SSM.
func openBase(ctx context.Context, cfg Config, stderr io.Writer, level slog.Level, backends bool) (*app, aws.Config, error) {
	a := newApp(cfg, stderr, level)
	level = a.level
	awsCfg, err := loadAWS(ctx, a.currentLog)
	if err != nil {
		return nil, aws.Config{}, err
	}
	if backends || cfg.SecretsDir == "" {
		if err := requireCredentials(ctx, awsCfg, cfg.SecretsDir, a.log); err != nil {
			return nil, aws.Config{}, err
		}
	}
	a.secrets = newSecretStore(cfg, awsCfg, a.log)
	a.scrubber = a.secrets.Scrubber()
	a.log = newLogger(stderr, a.scrubber, level)
	return a, awsCfg, nil
}

// openService builds the trace service: the sandbox, each of its answers delayed
// by delay, or the real backends.
func (a *app) openService(ctx context.Context, awsCfg aws.Config, sandbox bool, delay time.Duration) error {
	if sandbox {
		sb := lookup.NewSandbox(delay)
		cfg := a.serviceConfig(true)
		if a.cfg.Verdict {
			cfg.Contents, cfg.Analyses = sb.Contents, sb.Analyses
		}
		a.service = lookup.NewService(sb.Calls, sb.Usage, sb.Generations, cfg)
		return nil
	}
	if err := a.secrets.Load(ctx, a.cfg.SSM.DatabaseURL, a.cfg.SSM.OpenRouterKey); err != nil {
		return err
	}
	if err := a.openBackends(ctx, awsCfg); err != nil {
		return err
	}
	cfg := a.serviceConfig(false)
	if a.analyses != nil {
		cfg.Contents, cfg.Analyses = a.router, a.analyses
	}
	a.service = lookup.NewService(a.pg, a.logs, a.router, cfg)
	return nil
}

// noCredentials is what a person sees when the SDK's standard chain found no
// AWS credentials at all, worded from the configuration: with the secrets in
// files (secretsDir set) they are still needed for the AWS services themselves.
func noCredentials(secretsDir string) error {
	const how = "no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or run with an IAM role)"
	if secretsDir != "" {
		return errors.New(how + "; the secrets are read from TRACEBOT_SECRETS_DIR, but CloudWatch Logs, S3 and Lambda need them")
	}
	return errors.New(how + ", or put the secrets in TRACEBOT_SECRETS_DIR")
}

// requireCredentials resolves AWS credentials once through the standard chain, so a
// machine without any gets one actionable line (noCredentials, worded for
// secretsDir) instead of the SDK's chain of causes (kept in the debug log). The
// credentials are cached for later calls.
func requireCredentials(ctx context.Context, awsCfg aws.Config, secretsDir string, log *slog.Logger) error {
	if awsCfg.Credentials == nil {
		return noCredentials(secretsDir)
	}
	_, err := awsCfg.Credentials.Retrieve(ctx)
	if err == nil {
		return nil
	}
	log.Debug("aws: credentials from the standard chain failed", "err", err)
	// The chain falls back to the EC2 instance role when nothing else is configured.
	if aws.IsCredentialsProvider(awsCfg.Credentials, (*ec2rolecreds.Provider)(nil)) {
		return noCredentials(secretsDir)
	}
	return fmt.Errorf("aws: get credentials: %w", err)
}

// loadAWS reads AWS configuration only through the SDK's standard chain, so
// AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL(_<SERVICE>) keep working. The
// SDK's own log lines (such as its IMDS fallback warning, with the raw chain of
// causes) go to log at debug level: the commands say what failed in their own
// words. log is called for each line, so it may return a logger set up later.
func loadAWS(ctx context.Context, log func() *slog.Logger) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithLogger(logging.LoggerFunc(
		func(c logging.Classification, format string, v ...any) {
			log().Debug("aws sdk: "+fmt.Sprintf(format, v...), "classification", string(c))
		})))
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws: load config: %w", err)
	}
	return cfg, nil
}

// currentLog returns a's logger as it is when called (openBase replaces it once the
// secrets' scrubber exists).
func (a *app) currentLog() *slog.Logger { return a.log }

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
	if a.cfg.Verdict {
		a.analyses = lookup.NewS3Analysis(s3Client(awsCfg),
			lookup.S3AnalysisConfig{Buckets: a.cfg.AnalysisBuckets, Logger: a.log})
	}
	return nil
}

// s3Client builds the S3 client of the stored analyses from the SDK's standard
// chain. An endpoint override (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL) is addressed
// path-style, as local and S3-compatible servers expect; the SDK's note that a
// response had no checksum to validate is not logged.
func s3Client(awsCfg aws.Config) *s3.Client {
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = o.BaseEndpoint != nil
		o.DisableLogOutputChecksumValidationSkipped = true
	})
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

// openReports builds the report engine: over the sample world, or over the
// searcher of the trace service when there is one (so traces and reports share
// the in-flight cap and the poll limiter), else a searcher of its own. Reports
// need AWS only: no database and no OpenRouter key.
func (a *app) openReports(awsCfg aws.Config, sandbox bool) {
	if sandbox {
		a.reports = lookup.NewSandboxReports(a.reportConfig())
		return
	}
	if a.logs == nil {
		a.logs = lookup.NewCloudWatch(a.cloudWatchConfig(), logsClients(awsCfg, a.cfg.Regions))
	}
	a.reports = lookup.NewReportEngine(a.logs, lambdaClients(awsCfg, a.cfg.Regions), a.reportConfig())
}

func (a *app) reportConfig() lookup.ReportConfig {
	return lookup.ReportConfig{
		Env: a.cfg.Env, Regions: a.cfg.Regions, Functions: a.cfg.Functions, MaxRange: a.cfg.ReportMaxRange,
		CacheTTL: a.cfg.ReportCacheTTL, CacheMin: a.cfg.CacheMin, LengthMax: a.cfg.LengthMax,
		GenerationLink: a.cfg.GenerationLink, Timeout: a.cfg.TraceTimeout, Logger: a.log,
	}
}

// lambdaClients builds one Lambda client per region from the SDK's standard chain
// (AWS_ENDPOINT_URL_LAMBDA keeps working), for the deploys report.
func lambdaClients(awsCfg aws.Config, regions []string) map[string]lookup.FunctionsAPI {
	clients := make(map[string]lookup.FunctionsAPI, len(regions))
	for _, r := range regions {
		clients[r] = lambda.NewFromConfig(awsCfg, func(o *lambda.Options) { o.Region = r })
	}
	return clients
}

// openStateDB opens the state database named by TRACEBOT_SSM_STATE_DATABASE_URL
// (the caller checks it is set) with its connection string from the secret store.
func (a *app) openStateDB(ctx context.Context) (*state.Postgres, error) {
	name := a.cfg.SSM.StateDatabaseURL
	if err := a.secrets.Load(ctx, name); err != nil {
		return nil, err
	}
	dsn, err := a.secrets.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return state.OpenPostgres(ctx, dsn.Reveal())
}
