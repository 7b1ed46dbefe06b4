package lookuptest

import (
	"testing"
	"time"

	"github.com/callytics/tracebot/lookup"
)

// ReportWorld is the sample world of reports (lookup.SandboxTraffic: 40 hours of
// generated traffic up to lookup.SandboxNow that shows every warning of §12, and
// lookup.SandboxFunctions, us-east-2 running an old build) behind wire fakes: a
// CloudWatch Logs fake evaluating the Insights queries the engine sends, and a
// Lambda fake answering GetFunction, both reached by the real SDK clients.
type ReportWorld struct {
	Logs    *LogsServer
	Lambda  *LambdaServer
	Rows    []lookup.TrafficRow
	Regions []string
	Env     string
}

// NewReportWorld loads the sample report traffic and functions into two fakes.
func NewReportWorld(tb testing.TB) *ReportWorld {
	tb.Helper()
	w := &ReportWorld{Logs: NewLogsServer(tb), Lambda: NewLambdaServer(tb), Regions: WorldRegions, Env: lookup.DefaultEnv,
		Rows: lookup.GenerateTraffic(lookup.SandboxTraffic())}
	for _, region := range w.Regions {
		w.Logs.SetLogGroups(region, expandGroups(region, w.Env)...)
	}
	w.Logs.LoadTraffic(w.Rows)
	modified := lookup.SandboxNow.Add(-3 * 24 * time.Hour)
	for region, fns := range lookup.SandboxFunctions(w.Env) {
		for name, sha := range fns {
			w.Lambda.SetFunction(region, name, LambdaFunction{CodeSHA256: sha, LastModified: modified})
		}
	}
	return w
}

func expandGroups(region, env string) []string {
	return lookup.FunctionNames(LogGroupPatterns, env, region)
}

// Engine returns a report engine over the world's fakes: one CloudWatch Logs and
// one Lambda client per region, polling at test speed. cfg's regions, functions
// and env are the world's; its thresholds are used as given (zero turns a warning
// off, so most callers pass lookup.DefaultCacheMin and lookup.DefaultLengthMax).
func (w *ReportWorld) Engine(tb testing.TB, cfg lookup.ReportConfig) *lookup.ReportEngine {
	tb.Helper()
	logs := map[string]lookup.LogsAPI{}
	fns := map[string]lookup.FunctionsAPI{}
	for _, r := range w.Regions {
		logs[r] = w.Logs.Client(tb, r)
		fns[r] = w.Lambda.RegionClient(tb, r)
	}
	cw := lookup.NewCloudWatch(lookup.CloudWatchConfig{Regions: w.Regions, LogGroups: LogGroupPatterns, Env: w.Env,
		PollRate: 1000, PollMin: 2 * time.Millisecond, PollMax: 10 * time.Millisecond, ThrottleBackoff: time.Millisecond,
		Logger: cfg.Logger}, logs)
	cfg.Env, cfg.Regions, cfg.Functions = w.Env, w.Regions, lookup.DefaultFunctions(LogGroupPatterns)
	return lookup.NewReportEngine(cw, fns, cfg)
}

// ParseOptions read report words as the world's clock and zone have them: now is
// lookup.SandboxNow, hours are New York's, windows at most 7 days.
func (w *ReportWorld) ParseOptions() lookup.ReportParseOptions {
	ny, _ := time.LoadLocation("America/New_York") // embedded by lookup (time/tzdata)
	return lookup.ReportParseOptions{Now: lookup.SandboxNow, Zone: ny, MaxRange: lookup.DefaultReportMaxRange}
}
