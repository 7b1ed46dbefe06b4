package lookup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/callytics/tracebot/lookup/insights"
)

// The sample world of reports: 40 hours of generated traffic up to SandboxNow,
// evaluated by the same Insights evaluator the tests' wire fake uses, so `report
// --sandbox` runs the real engine, merge and warnings. Every warning of §12 shows
// in the default windows: cost 2h (long inputs, cache misses), cache 24h (a
// collapse overnight), finish 24h (coaching truncated one afternoon, contacts
// filtered one evening), providers 24h (switching), deploys (us-east-2 runs an
// old ai-analysis-processor).

// SandboxAccount is the account id of the sample world's log groups.
const SandboxAccount = "123456789012"

// SandboxTraffic is the sample world's traffic configuration.
func SandboxTraffic() TrafficConfig {
	start := SandboxNow.Add(-40 * time.Hour)
	hour := func(t time.Time) int { return int(t.Sub(start) / time.Hour) }
	collapse := hour(time.Date(2026, 5, 22, 6, 0, 0, 0, time.UTC)) // 2–5am EDT
	return TrafficConfig{
		Seed: 20260522, Start: start, Hours: 40, SessionsPerHour: 12,
		LongInput: 3, CacheMiss: 2,
		CacheCollapse:      []int{collapse, collapse + 1, collapse + 2},
		LengthSpike:        &TrafficSpike{Stage: "coaching", Hours: []int{hour(time.Date(2026, 5, 21, 19, 0, 0, 0, time.UTC)), hour(time.Date(2026, 5, 21, 20, 0, 0, 0, time.UTC))}, Share: 0.4},
		ContentFilterSpike: &TrafficSpike{Stage: StageContacts, Hours: []int{hour(time.Date(2026, 5, 22, 1, 0, 0, 0, time.UTC))}, Share: 0.35},
		SwitchShare:        0.08,
	}
}

// SandboxFunctions are the sample world's Lambda functions: name → CodeSha256
// per region; us-east-2 still runs an older ai-analysis-processor.
func SandboxFunctions(env string) map[string]map[string]string {
	const current, old, contacts = "k7Qm3vX9pL2sT8wY4rN6bH1jC5fD0gA=", "Zx1Cv2Bn3Mq4Wr5Et6Yu7Io8Pa9Sd0F=", "pQ9wE8rT7yU6iO5pA4sD3fG2hJ1kL0z="
	out := map[string]map[string]string{}
	for _, region := range sandboxRegions {
		code := current
		if region == "us-east-2" {
			code = old
		}
		out[region] = map[string]string{
			"call-analytics-" + env + "-ai-analysis-processor-" + region: code,
			"call-analytics-" + env + "-contacts-analyzer-" + region:     contacts,
		}
	}
	return out
}

// NewSandboxReports returns a report engine over the sample world. cfg's
// thresholds and TTLs are used as given; regions, functions and env are the
// sample world's.
func NewSandboxReports(cfg ReportConfig) *ReportEngine {
	store := insights.NewStore(SandboxAccount)
	groups := map[string][]string{}
	for _, row := range GenerateTraffic(SandboxTraffic()) {
		store.Add(row.Region, row.LogGroup, row.Event())
		if !slices.Contains(groups[row.Region], row.LogGroup) {
			groups[row.Region] = append(groups[row.Region], row.LogGroup)
		}
	}
	logs, fns := map[string]LogsAPI{}, map[string]FunctionsAPI{}
	code := SandboxFunctions(DefaultEnv)
	for _, region := range sandboxRegions {
		logs[region] = &sandboxLogs{region: region, store: store, groups: groups[region], queries: map[string]insights.Result{}}
		fns[region] = sandboxLambda{region: region, code: code[region]}
	}
	patterns := []string{"/aws/lambda/call-analytics-{env}-ai-analysis-processor-{region}", "/aws/lambda/call-analytics-{env}-contacts-analyzer-{region}"}
	cw := NewCloudWatch(CloudWatchConfig{Regions: sandboxRegions, LogGroups: patterns, Env: DefaultEnv,
		PollMin: time.Millisecond, PollMax: 5 * time.Millisecond, PollRate: 1000, Logger: cfg.Logger}, logs)
	cfg.Env, cfg.Regions, cfg.Functions, cfg.Sandbox = DefaultEnv, sandboxRegions, DefaultFunctions(patterns), true
	return NewReportEngine(cw, fns, cfg)
}

// sandboxLogs is an in-process CloudWatch Logs API of one region: queries are
// evaluated at StartQuery and complete at the first poll.
type sandboxLogs struct {
	region string
	store  *insights.Store
	groups []string

	mu      sync.Mutex
	next    int
	queries map[string]insights.Result
}

var _ LogsAPI = (*sandboxLogs)(nil)

func sandboxAPIError(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient}
}

func (s *sandboxLogs) StartQuery(_ context.Context, in *cloudwatchlogs.StartQueryInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	for _, g := range in.LogGroupNames {
		if !slices.Contains(s.groups, g) {
			return nil, sandboxAPIError("ResourceNotFoundException", "Log group '"+g+"' does not exist")
		}
	}
	res, err := s.store.Run(s.region, in.LogGroupNames, aws.ToString(in.QueryString),
		time.Unix(aws.ToInt64(in.StartTime), 0).UTC(), time.Unix(aws.ToInt64(in.EndTime), 0).UTC(), int(aws.ToInt32(in.Limit)))
	if err != nil {
		return nil, sandboxAPIError("MalformedQueryException", err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	id := fmt.Sprintf("sandbox-%s-%d", s.region, s.next)
	s.queries[id] = res
	return &cloudwatchlogs.StartQueryOutput{QueryId: aws.String(id)}, nil
}

func (s *sandboxLogs) GetQueryResults(_ context.Context, in *cloudwatchlogs.GetQueryResultsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	s.mu.Lock()
	res, ok := s.queries[aws.ToString(in.QueryId)]
	delete(s.queries, aws.ToString(in.QueryId))
	s.mu.Unlock()
	if !ok {
		return nil, sandboxAPIError("ResourceNotFoundException", "no such query")
	}
	out := &cloudwatchlogs.GetQueryResultsOutput{Status: types.QueryStatusComplete, Statistics: &types.QueryStatistics{
		RecordsMatched: res.Statistics.RecordsMatched, RecordsScanned: res.Statistics.RecordsScanned, BytesScanned: res.Statistics.BytesScanned}}
	for _, r := range res.Rows {
		fields := make([]types.ResultField, 0, len(r))
		for _, f := range r {
			fields = append(fields, types.ResultField{Field: aws.String(f.Name), Value: aws.String(f.Value)})
		}
		out.Results = append(out.Results, fields)
	}
	return out, nil
}

func (s *sandboxLogs) StopQuery(context.Context, *cloudwatchlogs.StopQueryInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StopQueryOutput, error) {
	return &cloudwatchlogs.StopQueryOutput{Success: true}, nil
}

func (s *sandboxLogs) DescribeLogGroups(_ context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	out := &cloudwatchlogs.DescribeLogGroupsOutput{}
	for _, g := range s.groups {
		if strings.HasPrefix(g, aws.ToString(in.LogGroupNamePrefix)) {
			out.LogGroups = append(out.LogGroups, types.LogGroup{LogGroupName: aws.String(g)})
		}
	}
	return out, nil
}

// sandboxLambda answers GetFunction for one region's sample functions.
type sandboxLambda struct {
	region string
	code   map[string]string
}

func (s sandboxLambda) GetFunction(_ context.Context, in *lambda.GetFunctionInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	name := aws.ToString(in.FunctionName)
	sha, ok := s.code[name]
	if !ok {
		return nil, sandboxAPIError("ResourceNotFoundException", "Function not found: "+name)
	}
	modified := "2026-05-19T21:04:11.000+0000"
	if s.region == "us-east-2" && strings.Contains(name, "ai-analysis") {
		modified = "2026-05-02T15:40:27.000+0000"
	}
	return &lambda.GetFunctionOutput{Configuration: &lambdatypes.FunctionConfiguration{
		FunctionName: aws.String(name), CodeSha256: aws.String(sha), Version: aws.String("$LATEST"), LastModified: aws.String(modified)}}, nil
}
