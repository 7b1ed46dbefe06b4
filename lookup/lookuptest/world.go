package lookuptest

import (
	"context"
	"testing"
	"time"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/pgtest"
	"github.com/callytics/tracebot/secrets"
)

// World is the sandbox data of lookup.NewSandboxData loaded into real backends: the
// calls in a Postgres database, the ai_usage lines in a fake CloudWatch Logs, the
// generations and their stored content in a fake OpenRouter and the stored analyses
// in a fake S3, all reached over the wire by the real clients.
type World struct {
	Data       lookup.SandboxData
	DSN        string
	Logs       *LogsServer
	OpenRouter *OpenRouterServer
	S3         *S3Server
	Regions    []string
	Env        string
}

// WorldRegions are the regions the world's log groups live in.
var WorldRegions = []string{"us-east-1", "us-west-2", "us-east-2"}

// NewWorld loads the sandbox data into dsn (a fresh database) and three fakes.
func NewWorld(tb testing.TB, dsn string) *World {
	tb.Helper()
	w := &World{Data: lookup.NewSandboxData(), DSN: dsn, Logs: NewLogsServer(tb),
		OpenRouter: NewOpenRouterServer(tb), S3: NewS3Server(tb), Regions: WorldRegions, Env: "prod"}
	ctx := context.Background()
	if err := pgtest.CreateCallsTable(ctx, dsn); err != nil {
		tb.Fatal(err)
	}
	rows := make([]pgtest.CallRow, 0, len(w.Data.Calls))
	for _, c := range w.Data.Calls {
		rows = append(rows, pgtest.CallRow{TelephonySessionID: c.TelephonySessionID, StoreID: c.StoreID,
			FranchiseID: c.FranchiseID, FromPhoneNumber: c.FromPhoneNumber, ToPhoneNumber: c.ToPhoneNumber,
			ContactPhone: c.ContactPhone, CreatedAt: c.CreatedAt.UTC().Format("2006-01-02 15:04:05"),
			S3AnalysisPath: c.S3AnalysisPath})
	}
	if err := pgtest.InsertCalls(ctx, dsn, rows...); err != nil {
		tb.Fatal(err)
	}
	for _, region := range w.Regions {
		w.Logs.SetLogGroups(region, w.groups(region)...)
	}
	for session, lines := range w.Data.Rows {
		for _, r := range lines {
			w.Logs.AddRows(r.Region, session, logsRow(session, r))
		}
	}
	for _, g := range w.Data.Generations {
		w.OpenRouter.AddGeneration(GenFromLookup(g))
	}
	w.loadVerdictData(tb)
	return w
}

// loadVerdictData puts the stored contents into the OpenRouter fake and the stored
// analyses into the S3 fake (whose buckets all exist, so a missing one is NoSuchKey).
func (w *World) loadVerdictData(tb testing.TB) {
	tb.Helper()
	for id, c := range w.Data.Contents {
		completion := c.Completion
		w.OpenRouter.AddContent(id, OpenRouterContent{Input: c.Input, Output: OpenRouterContentOutput{Completion: &completion}})
	}
	for _, c := range w.Data.Calls {
		if bucket, _, err := lookup.ParseS3Path(c.S3AnalysisPath); err == nil {
			w.S3.CreateBucket(bucket)
		}
	}
	for path, obj := range w.Data.Analyses {
		w.S3.PutPath(tb, path, obj)
	}
}

// WorldS3Region is the region of the world's S3 client.
const WorldS3Region = "us-east-1"

// Analyses returns an analysis reader over the world's S3 fake (the real SDK client).
func (w *World) Analyses(tb testing.TB, cfg lookup.S3AnalysisConfig) *lookup.S3Analysis {
	tb.Helper()
	return lookup.NewS3Analysis(w.S3.Client(tb, WorldS3Region), cfg)
}

// groups are the log groups of the default TRACEBOT_LOG_GROUPS patterns.
func (w *World) groups(region string) []string {
	return []string{
		"/aws/lambda/call-analytics-" + w.Env + "-ai-analysis-processor-" + region,
		"/aws/lambda/call-analytics-" + w.Env + "-contacts-analyzer-" + region,
	}
}

// LogGroupPatterns are the TRACEBOT_LOG_GROUPS defaults the world matches.
var LogGroupPatterns = []string{
	"/aws/lambda/call-analytics-{env}-ai-analysis-processor-{region}",
	"/aws/lambda/call-analytics-{env}-contacts-analyzer-{region}",
}

func logsRow(session string, r lookup.UsageRow) LogsRow {
	return LogsRow{Timestamp: r.Timestamp, LogGroup: r.LogGroup, Fields: lookup.UsageFields(session, r)}
}

// CloudWatch returns a searcher over the world's fake, one real SDK client per region.
func (w *World) CloudWatch(tb testing.TB, cfg lookup.CloudWatchConfig) *lookup.CloudWatch {
	tb.Helper()
	clients := map[string]lookup.LogsAPI{}
	for _, r := range w.Regions {
		clients[r] = w.Logs.Client(tb, r)
	}
	cfg.Regions, cfg.LogGroups, cfg.Env = w.Regions, LogGroupPatterns, w.Env
	return lookup.NewCloudWatch(cfg, clients)
}

// Service wires a lookup.Service over the world's backends with default settings
// (short 404 retries so failure tests are quick), the verdict on.
func (w *World) Service(tb testing.TB, cw lookup.CloudWatchConfig) (*lookup.Service, *lookup.PostgresStore) {
	tb.Helper()
	return w.ServiceWith(tb, cw, lookup.ServiceConfig{})
}

// ServiceWith is Service with cfg; its Contents and Analyses, when nil, are the
// world's OpenRouter client and S3 reader.
func (w *World) ServiceWith(tb testing.TB, cw lookup.CloudWatchConfig, cfg lookup.ServiceConfig) (*lookup.Service, *lookup.PostgresStore) {
	tb.Helper()
	pg, err := lookup.OpenPostgres(context.Background(), w.DSN, time.UTC)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pg.Close)
	or := lookup.NewOpenRouter(lookup.OpenRouterConfig{BaseURL: w.OpenRouter.URL(), Key: StaticKey(OpenRouterDefaultKey),
		NotFoundFor: 300 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if cfg.Contents == nil {
		cfg.Contents = or
	}
	if cfg.Analyses == nil {
		cfg.Analyses = w.Analyses(tb, lookup.S3AnalysisConfig{})
	}
	return lookup.NewService(pg, w.CloudWatch(tb, cw), or, cfg), pg
}

// StaticKey returns a key getter for lookup.OpenRouterConfig.Key.
func StaticKey(key string) func(context.Context) (secrets.Secret, error) {
	s := secrets.New(key)
	return func(context.Context) (secrets.Secret, error) { return s, nil }
}
