package lookup_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

const (
	cwEast1 = "us-east-1"
	cwWest2 = "us-west-2"
	cwEast2 = "us-east-2"
)

var (
	cwRegions  = []string{cwEast1, cwWest2, cwEast2}
	cwPatterns = []string{
		"/aws/lambda/call-analytics-{env}-ai-analysis-processor-{region}",
		"/aws/lambda/call-analytics-{env}-contacts-analyzer-{region}",
	}
	// cwCreated is the runbook call's created_at.
	cwCreated = time.Date(2026, 5, 20, 17, 14, 52, 0, time.UTC)
)

func cwAIGroup(region string) string {
	return "/aws/lambda/call-analytics-prod-ai-analysis-processor-" + region
}

func cwContactsGroup(region string) string {
	return "/aws/lambda/call-analytics-prod-contacts-analyzer-" + region
}

// newLogsWorld is a fake where both groups exist in every test region.
func newLogsWorld(t testing.TB) *lookuptest.LogsServer {
	srv := lookuptest.NewLogsServer(t)
	for _, r := range cwRegions {
		srv.SetLogGroups(r, cwAIGroup(r), cwContactsGroup(r))
	}
	return srv
}

// newCWSearcher is a searcher over srv with test-speed intervals; tune adjusts it.
func newCWSearcher(t testing.TB, srv *lookuptest.LogsServer, tune func(*lookup.CloudWatchConfig)) *lookup.CloudWatch {
	cfg := lookup.CloudWatchConfig{
		Regions:         cwRegions,
		LogGroups:       cwPatterns,
		Grace:           100 * time.Millisecond,
		PollRate:        1000,
		PollMin:         2 * time.Millisecond,
		PollMax:         10 * time.Millisecond,
		ThrottleBackoff: time.Millisecond,
	}
	if tune != nil {
		tune(&cfg)
	}
	clients := map[string]lookup.LogsAPI{}
	for _, r := range cfg.Regions {
		clients[r] = srv.Client(t, r)
	}
	return lookup.NewCloudWatch(cfg, clients)
}

// cwUsageLine is an ai_usage line of a pipeline stage.
func cwUsageLine(at time.Time, group, service, genID string) lookuptest.LogsRow {
	return lookuptest.LogsRow{Timestamp: at, LogGroup: group, Fields: map[string]string{
		"@requestId": "7f3c9a12-0b1e-4d2a-9c55-000000000001", "service": service,
		"openrouterId": genID, "provider": "AtlasCloud", "model": "deepseek/deepseek-v4-flash",
		"inputTokens": "5120", "outputTokens": "312", "cacheReadTokens": "4710",
		"cacheReadRatio": "0.92", "costUsd": "0.000122", "finishReason": "stop",
	}}
}

func cwQuery(session string) lookup.UsageQuery {
	return lookup.UsageQuery{SessionID: session, CreatedAt: cwCreated}
}

// cwStatusOpts compares RegionStatus without the parts that vary from run to run.
var cwStatusOpts = cmpopts.IgnoreFields(lookup.RegionStatus{}, "QueryID", "ElapsedMS")

func cwStatus(region, state string, rows int) lookup.RegionStatus {
	return lookup.RegionStatus{Region: region, State: state, Rows: rows,
		LogGroups: []string{cwAIGroup(region), cwContactsGroup(region)}}
}

func TestSearchUsageFindsRowsInOneRegion(t *testing.T) {
	srv := newLogsWorld(t)
	g := cwAIGroup(cwWest2)
	srv.AddRows(cwWest2, "s-abc123def456",
		cwUsageLine(cwCreated.Add(70*time.Second), g, "coaching", "gen-3"),
		cwUsageLine(cwCreated.Add(40*time.Second), g, "triage", "gen-1"),
		cwUsageLine(cwCreated.Add(55*time.Second), g, "classify", "gen-2"),
		lookuptest.LogsRow{Timestamp: cwCreated.Add(90 * time.Second), LogGroup: cwContactsGroup(cwWest2), Fields: map[string]string{
			"@requestId": "req-contacts", "model": "qwen/qwen3", "inputTokens": "800", "outputTokens": "20"}},
		cwUsageLine(cwCreated.Add(2*time.Hour), g, "triage", "gen-outside-range"),
	)
	srv.AddRows(cwWest2, "s-other", cwUsageLine(cwCreated.Add(time.Minute), g, "triage", "gen-other"))
	cw := newCWSearcher(t, srv, nil)

	res, err := cw.SearchUsage(context.Background(), cwQuery("s-abc123def456"))
	if err != nil {
		t.Fatal(err)
	}

	stage := func(sec int, service, gen string) lookup.UsageRow {
		return lookup.UsageRow{
			Timestamp: cwCreated.Add(time.Duration(sec) * time.Second), Region: cwWest2, LogGroup: g,
			RequestID: "7f3c9a12-0b1e-4d2a-9c55-000000000001", Service: service, OpenRouterID: gen,
			Provider: "AtlasCloud", Model: "deepseek/deepseek-v4-flash", InputTokens: 5120, OutputTokens: 312,
			CacheReadTokens: new(int64(4710)), CacheReadRatio: new(0.92), CostUSD: new(0.000122), FinishReason: "stop",
		}
	}
	wantRows := []lookup.UsageRow{
		stage(40, "triage", "gen-1"), stage(55, "classify", "gen-2"), stage(70, "coaching", "gen-3"),
		{Timestamp: cwCreated.Add(90 * time.Second), Region: cwWest2, LogGroup: cwContactsGroup(cwWest2),
			RequestID: "req-contacts", Model: "qwen/qwen3", InputTokens: 800, OutputTokens: 20},
	}
	if diff := cmp.Diff(wantRows, res.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	wantRegions := []lookup.RegionStatus{cwStatus(cwEast1, lookup.RegionEmpty, 0), cwStatus(cwWest2, lookup.RegionRows, 4), cwStatus(cwEast2, lookup.RegionEmpty, 0)}
	if diff := cmp.Diff(wantRegions, res.Regions, cwStatusOpts); diff != "" {
		t.Errorf("regions (-want +got):\n%s", diff)
	}
	from, to := cwCreated.Add(-5*time.Minute), cwCreated.Add(time.Hour)
	if res.Widened || !res.From.Equal(from) || !res.To.Equal(to) || res.Query != lookup.UsageQueryText("s-abc123def456") {
		t.Errorf("widened=%v range=[%v, %v] query=%q, want one-hour range and the session's query", res.Widened, res.From, res.To, res.Query)
	}

	var got []lookuptest.LogsQuery
	for _, q := range srv.Queries() {
		got = append(got, lookuptest.LogsQuery{Region: q.Region, LogGroups: q.LogGroups, SessionID: q.SessionID, Start: q.Start, End: q.End})
	}
	var want []lookuptest.LogsQuery
	for _, r := range cwRegions {
		want = append(want, lookuptest.LogsQuery{Region: r, LogGroups: []string{cwAIGroup(r), cwContactsGroup(r)},
			SessionID: "s-abc123def456", Start: from, End: to})
	}
	sortQueries := cmpopts.SortSlices(func(a, b lookuptest.LogsQuery) bool { return a.Region < b.Region })
	if diff := cmp.Diff(want, got, sortQueries); diff != "" {
		t.Errorf("StartQuery calls (-want +got):\n%s", diff)
	}
}

func TestSearchUsageParsesFields(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]string
		want   lookup.UsageRow
	}{
		{
			name:   "decimal token counts",
			fields: map[string]string{"inputTokens": "5120.0", "outputTokens": "312", "cacheReadTokens": "0.0"},
			want:   lookup.UsageRow{InputTokens: 5120, OutputTokens: 312, CacheReadTokens: new(int64(0))},
		},
		{
			name:   "absent and null optionals",
			fields: map[string]string{"openrouterId": "gen-9", "costUsd": "null", "cacheReadRatio": ""},
			want:   lookup.UsageRow{OpenRouterID: "gen-9"},
		},
		{
			name:   "zero ratio is present",
			fields: map[string]string{"cacheReadRatio": "0", "costUsd": "1e-4", "finishReason": "length"},
			want:   lookup.UsageRow{CacheReadRatio: new(0.0), CostUSD: new(0.0001), FinishReason: "length"},
		},
		{
			name:   "unreadable numbers leave the rest of the row",
			fields: map[string]string{"inputTokens": "many", "costUsd": "n/a", "service": "classify"},
			want:   lookup.UsageRow{Service: "classify"},
		},
		{
			name:   "unknown fields are ignored",
			fields: map[string]string{"telephonySessionId": "s-1", "@message": "ai_usage {...}", "model": "m"},
			want:   lookup.UsageRow{Model: "m"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newLogsWorld(t)
			at := cwCreated.Add(time.Minute)
			srv.AddRows(cwEast1, "s-1", lookuptest.LogsRow{Timestamp: at, LogGroup: cwAIGroup(cwEast1), Fields: tt.fields})
			res, err := newCWSearcher(t, srv, nil).SearchUsage(context.Background(), cwQuery("s-1"))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Timestamp, want.Region, want.LogGroup = at, cwEast1, cwAIGroup(cwEast1)
			if diff := cmp.Diff([]lookup.UsageRow{want}, res.Rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSearchUsageSkipsMissingGroup(t *testing.T) {
	srv := newLogsWorld(t)
	// The contacts analyzer is not deployed in us-east-2; names sharing its prefix
	// exist and span two DescribeLogGroups pages.
	srv.SetLogGroups(cwEast2, cwAIGroup(cwEast2), cwContactsGroup(cwEast2)+"-canary", cwContactsGroup(cwEast2)+"-old")
	srv.SetDescribePageSize(1)
	srv.AddRows(cwEast2, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast2), "triage", "gen-1"))
	cw := newCWSearcher(t, srv, nil)

	res, err := cw.SearchUsage(context.Background(), cwQuery("s-1"))
	if err != nil {
		t.Fatal(err)
	}
	want := []lookup.RegionStatus{
		cwStatus(cwEast1, lookup.RegionEmpty, 0), cwStatus(cwWest2, lookup.RegionEmpty, 0),
		{Region: cwEast2, State: lookup.RegionRows, Rows: 1, LogGroups: []string{cwAIGroup(cwEast2)}, MissingGroups: []string{cwContactsGroup(cwEast2)}},
	}
	if diff := cmp.Diff(want, res.Regions, cwStatusOpts); diff != "" {
		t.Errorf("regions (-want +got):\n%s", diff)
	}
	if len(res.Rows) != 1 {
		t.Errorf("got %d rows, want 1", len(res.Rows))
	}
	// ResourceNotFound, then the query again on the group that exists; one page
	// for the group found, two for the one that is not.
	if got, want := [2]int{srv.Calls(cwEast2, lookuptest.LogsStartQuery), srv.Calls(cwEast2, lookuptest.LogsDescribeLogGroups)}, [2]int{2, 3}; got != want {
		t.Errorf("StartQuery, DescribeLogGroups calls = %v, want %v", got, want)
	}

	// The missing group is remembered: the next search asks for the other only.
	if _, err := cw.SearchUsage(context.Background(), cwQuery("s-1")); err != nil {
		t.Fatal(err)
	}
	if got, want := [2]int{srv.Calls(cwEast2, lookuptest.LogsStartQuery), srv.Calls(cwEast2, lookuptest.LogsDescribeLogGroups)}, [2]int{3, 3}; got != want {
		t.Errorf("after a second search: StartQuery, DescribeLogGroups calls = %v, want %v", got, want)
	}
}

func TestSearchUsageRegionWithoutGroups(t *testing.T) {
	t.Run("one region", func(t *testing.T) {
		srv := newLogsWorld(t)
		srv.SetLogGroups(cwEast2)
		srv.AddRows(cwEast1, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-1"))
		cw := newCWSearcher(t, srv, nil)
		for range 2 {
			res, err := cw.SearchUsage(context.Background(), cwQuery("s-1"))
			if err != nil {
				t.Fatal(err)
			}
			want := []lookup.RegionStatus{cwStatus(cwEast1, lookup.RegionRows, 1), cwStatus(cwWest2, lookup.RegionEmpty, 0),
				{Region: cwEast2, State: lookup.RegionNoGroup, MissingGroups: []string{cwAIGroup(cwEast2), cwContactsGroup(cwEast2)}}}
			if diff := cmp.Diff(want, res.Regions, cwStatusOpts); diff != "" {
				t.Errorf("regions (-want +got):\n%s", diff)
			}
		}
		if got := srv.Calls(cwEast2, lookuptest.LogsStartQuery); got != 1 {
			t.Errorf("StartQuery calls in %s = %d, want 1 (the second search knows no group exists)", cwEast2, got)
		}
	})
	t.Run("every region", func(t *testing.T) {
		srv := lookuptest.NewLogsServer(t)
		res, err := newCWSearcher(t, srv, nil).SearchUsage(context.Background(), cwQuery("s-1"))
		if err != nil {
			t.Fatalf("no log groups anywhere is not an error, got %v", err)
		}
		var states []string
		for _, r := range res.Regions {
			states = append(states, r.State)
		}
		want := []string{lookup.RegionNoGroup, lookup.RegionNoGroup, lookup.RegionNoGroup}
		if !slices.Equal(states, want) || res.Widened || len(res.Rows) != 0 {
			t.Errorf("states %v widened %v rows %d, want %v, not widened, no rows", states, res.Widened, len(res.Rows), want)
		}
	})
}

func TestSearchUsageRetriesThrottling(t *testing.T) {
	tests := []struct {
		name      string
		op, code  string
		times     int
		wantState string
		wantCalls int
		wantError string
	}{
		{"StartQuery throttled twice", lookuptest.LogsStartQuery, "ThrottlingException", 2, lookup.RegionRows, 3, ""},
		{"StartQuery over the concurrent query limit", lookuptest.LogsStartQuery, "LimitExceededException", 3, lookup.RegionRows, 4, ""},
		{"GetQueryResults throttled twice", lookuptest.LogsGetQueryResults, "ThrottlingException", 2, lookup.RegionRows, 3, ""},
		{"throttled beyond the retries", lookuptest.LogsStartQuery, "ThrottlingException", 0, lookup.RegionFailed, 4,
			"us-east-1: Throttling on logs:StartQuery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newLogsWorld(t)
			srv.AddRows(cwEast1, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-1"))
			srv.AddRows(cwWest2, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwWest2), "triage", "gen-2"))
			srv.Fail(cwEast1, tt.op, tt.code, tt.times)
			// A long grace: us-west-2 answers at once, and under load us-east-1's
			// retries could outlast the default 100 ms and be stopped, which is not
			// what this test is about.
			cw := newCWSearcher(t, srv, func(c *lookup.CloudWatchConfig) { c.ThrottleRetries, c.Grace = 3, 30*time.Second })

			res, err := cw.SearchUsage(context.Background(), cwQuery("s-1"))
			if err != nil {
				t.Fatal(err)
			}
			got := res.Regions[0]
			if got.State != tt.wantState || got.Error != tt.wantError {
				t.Errorf("%s: state %q error %q, want %q %q", cwEast1, got.State, got.Error, tt.wantState, tt.wantError)
			}
			if n := srv.Calls(cwEast1, tt.op); n != tt.wantCalls {
				t.Errorf("%s calls = %d, want %d", tt.op, n, tt.wantCalls)
			}
		})
	}
}

func TestSearchUsagePollsUntilComplete(t *testing.T) {
	srv := newLogsWorld(t)
	srv.SetReady(cwWest2, 4, 0)
	srv.AddRows(cwWest2, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwWest2), "triage", "gen-1"))
	cw := newCWSearcher(t, srv, nil)
	var states []string
	q := cwQuery("s-1")
	q.OnRegion = func(rs lookup.RegionStatus) {
		if rs.Region == cwWest2 {
			states = append(states, rs.State) // no lock: calls are serialised
		}
	}

	res, err := cw.SearchUsage(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{lookup.RegionQueued, lookup.RegionRunning, lookup.RegionRows}; !slices.Equal(states, want) {
		t.Errorf("reported states %v, want %v", states, want)
	}
	if len(res.Rows) != 1 || res.Rows[0].OpenRouterID != "gen-1" {
		t.Errorf("rows %+v, want gen-1", res.Rows)
	}
	if n := srv.Calls(cwWest2, lookuptest.LogsGetQueryResults); n != 5 {
		t.Errorf("GetQueryResults calls = %d, want 5 (4 Scheduled/Running, then Complete)", n)
	}
}

func TestSearchUsageWidensTo24Hours(t *testing.T) {
	tests := []struct {
		name        string
		after       time.Duration // line's time after created_at
		wantWidened bool
		wantEnds    []time.Duration // queried ranges' ends after created_at
	}{
		{"found within the hour", 30 * time.Minute, false, []time.Duration{time.Hour}},
		{"found five hours later", 5 * time.Hour, true, []time.Duration{time.Hour, 24 * time.Hour}},
		{"not found at all", 30 * time.Hour, true, []time.Duration{time.Hour, 24 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newLogsWorld(t)
			srv.AddRows(cwEast2, "s-1", cwUsageLine(cwCreated.Add(tt.after), cwAIGroup(cwEast2), "triage", "gen-1"))
			res, err := newCWSearcher(t, srv, nil).SearchUsage(context.Background(), cwQuery("s-1"))
			if err != nil {
				t.Fatal(err)
			}
			wantRows := 1
			if tt.after > 24*time.Hour {
				wantRows = 0
			}
			last := tt.wantEnds[len(tt.wantEnds)-1]
			if len(res.Rows) != wantRows || res.Widened != tt.wantWidened ||
				!res.From.Equal(cwCreated.Add(-5*time.Minute)) || !res.To.Equal(cwCreated.Add(last)) {
				t.Errorf("rows %d widened %v range [%v, %v], want %d rows, widened %v, range to created+%v",
					len(res.Rows), res.Widened, res.From, res.To, wantRows, tt.wantWidened, last)
			}
			var ends []time.Duration
			for _, q := range srv.Queries() {
				ends = append(ends, q.End.Sub(cwCreated))
			}
			var want []time.Duration
			for _, e := range tt.wantEnds {
				want = append(want, e, e, e)
			}
			if diff := cmp.Diff(want, ends); diff != "" {
				t.Errorf("queried range ends (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSearchUsageStopsOtherRegionsAfterGrace(t *testing.T) {
	srv := newLogsWorld(t)
	srv.SetReady(cwWest2, 0, time.Hour)
	srv.SetReady(cwEast2, 0, time.Hour)
	srv.AddRows(cwEast1, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-1"))
	const grace = 150 * time.Millisecond
	cw := newCWSearcher(t, srv, func(c *lookup.CloudWatchConfig) { c.Grace = grace })

	start := time.Now()
	res, err := cw.SearchUsage(context.Background(), cwQuery("s-1"))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed < grace || elapsed > grace+time.Second {
		t.Errorf("search took %v, want about the answer plus the %v grace", elapsed, grace)
	}
	want := []lookup.RegionStatus{cwStatus(cwEast1, lookup.RegionRows, 1), cwStatus(cwWest2, lookup.RegionStopped, 0), cwStatus(cwEast2, lookup.RegionStopped, 0)}
	if diff := cmp.Diff(want, res.Regions, cwStatusOpts); diff != "" {
		t.Errorf("regions (-want +got):\n%s", diff)
	}
	for _, r := range res.Regions[1:] {
		if got := srv.Stopped(r.Region); r.QueryID == "" || !slices.Equal(got, []string{r.QueryID}) {
			t.Errorf("%s: StopQuery called for %v, want its query %q", r.Region, got, r.QueryID)
		}
	}
	if srv.Stopped(cwEast1) != nil {
		t.Errorf("the region that answered was stopped: %v", srv.Stopped(cwEast1))
	}
	if srv.Running() != 0 || cw.InFlight() != 0 {
		t.Errorf("after the search: %d queries running at the fake, %d in flight, want 0", srv.Running(), cw.InFlight())
	}
}

func TestSearchUsageRegionErrors(t *testing.T) {
	srv := newLogsWorld(t)
	srv.AddRows(cwEast1, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-1"))
	srv.Fail(cwEast2, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	srv.Fail(cwWest2, lookuptest.LogsGetQueryResults, "AccessDeniedException", 0)

	res, err := newCWSearcher(t, srv, nil).SearchUsage(context.Background(), cwQuery("s-1"))
	if err != nil {
		t.Fatalf("one region answered, so no error; got %v", err)
	}
	got := map[string][2]string{}
	for _, r := range res.Regions {
		got[r.Region] = [2]string{r.State, r.Error}
	}
	want := map[string][2]string{
		cwEast1: {lookup.RegionRows, ""},
		cwWest2: {lookup.RegionFailed, "us-west-2: AccessDenied on logs:GetQueryResults"},
		cwEast2: {lookup.RegionFailed, "us-east-2: AccessDenied on logs:StartQuery"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("region states (-want +got):\n%s", diff)
	}
	if len(res.Rows) != 1 {
		t.Errorf("got %d rows, want 1", len(res.Rows))
	}
	if n := len(srv.Stopped(cwWest2)); n != 1 {
		t.Errorf("StopQuery calls in %s after its poll failed = %d, want 1", cwWest2, n)
	}
}

func TestSearchUsageEveryRegionFails(t *testing.T) {
	srv := newLogsWorld(t)
	for _, r := range cwRegions {
		srv.Fail(r, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	}
	res, err := newCWSearcher(t, srv, nil).SearchUsage(context.Background(), cwQuery("s-1"))
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" || lookup.IsRetryable(err) {
		t.Fatalf("error %v, want a non-retryable AccessDeniedException", err)
	}
	if len(res.Regions) != 3 || res.Regions[2].Error != "us-east-2: AccessDenied on logs:StartQuery" {
		t.Errorf("regions %+v, want every region's status", res.Regions)
	}
	for _, r := range cwRegions {
		if n := srv.Calls(r, lookuptest.LogsStartQuery); n != 1 {
			t.Errorf("%s: StartQuery calls = %d, want 1 (no widening when nothing was searched)", r, n)
		}
	}
}

func TestSearchUsageQueryEndsWithoutCompleting(t *testing.T) {
	for _, st := range []types.QueryStatus{types.QueryStatusFailed, types.QueryStatusTimeout, types.QueryStatusCancelled, types.QueryStatusUnknown} {
		t.Run(string(st), func(t *testing.T) {
			srv := newLogsWorld(t)
			srv.SetQueryStatus(cwWest2, st)
			srv.AddRows(cwEast1, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-1"))
			res, err := newCWSearcher(t, srv, nil).SearchUsage(context.Background(), cwQuery("s-1"))
			if err != nil {
				t.Fatal(err)
			}
			got := res.Regions[1]
			if want := "us-west-2: Insights query ended " + string(st); got.State != lookup.RegionFailed || got.Error != want {
				t.Errorf("state %q error %q, want failed %q", got.State, got.Error, want)
			}
			if s := srv.Stopped(cwWest2); s != nil {
				t.Errorf("StopQuery called for a query that had ended: %v", s)
			}
		})
	}
}

func TestSearchUsageCapsQueriesInFlight(t *testing.T) {
	srv := newLogsWorld(t)
	srv.SetReady("", 0, 20*time.Millisecond)
	const searches = 6
	for i := range searches {
		srv.AddRows(cwEast1, fmt.Sprintf("s-%d", i), cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen"))
	}
	cw := newCWSearcher(t, srv, func(c *lookup.CloudWatchConfig) { c.MaxQueries = 2; c.Grace = 10 * time.Second })

	done := make(chan struct{})
	maxSeen := make(chan int)
	go func() { // sample the searcher's own count while the searches run
		most := 0
		for {
			select {
			case <-done:
				maxSeen <- most
				return
			default:
				most = max(most, cw.InFlight())
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, searches)
	for i := range searches {
		wg.Go(func() {
			res, err := cw.SearchUsage(context.Background(), cwQuery(fmt.Sprintf("s-%d", i)))
			if err == nil && len(res.Rows) != 1 {
				err = fmt.Errorf("search %d: %d rows, want 1; regions %+v", i, len(res.Rows), res.Regions)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	close(done)

	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := srv.MaxRunning(); got != 2 {
		t.Errorf("at most %d queries ran at once at the fake, want exactly the cap of 2", got)
	}
	if got := <-maxSeen; got > 2 {
		t.Errorf("InFlight reached %d, want ≤ 2", got)
	}
	if n := cw.InFlight(); n != 0 {
		t.Errorf("InFlight after the searches = %d, want 0", n)
	}
}

// TestSearchUsageRespectsPollRate runs many searches whose queries take a while,
// polling as fast as the configuration allows, and checks that no region ever saw
// more GetQueryResults calls in a second than the shared limit. The limiter (burst
// 1) never grants more than rate calls in any one-second window, but the fake
// times a call when it reaches its handler, and scheduling delays between grant
// and arrival (under -race, on a busy machine) can squeeze calls granted up to
// 2/rate apart into one window: hence the tolerance of 2 calls. Each search
// runs its own queries (no batching): searches that shared one query per region
// would poll three queries in all, too few to load the limiter reliably.
func TestSearchUsageRespectsPollRate(t *testing.T) {
	const rate = 20
	srv := newLogsWorld(t)
	srv.SetReady("", 0, 600*time.Millisecond)
	const searches = 10
	for i := range searches {
		srv.AddRows(cwEast1, fmt.Sprintf("s-%d", i), cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen"))
	}
	cw := newCWSearcher(t, srv, func(c *lookup.CloudWatchConfig) {
		c.PollRate, c.MaxQueries, c.BatchSessions = rate, 100, 1
		c.PollMin, c.PollMax = time.Millisecond, 2*time.Millisecond
	})

	var wg sync.WaitGroup
	errs := make([]error, searches)
	for i := range searches {
		wg.Go(func() {
			res, err := cw.SearchUsage(context.Background(), cwQuery(fmt.Sprintf("s-%d", i)))
			if err == nil && len(res.Rows) != 1 {
				err = fmt.Errorf("search %d: %d rows, want 1; regions %+v", i, len(res.Rows), res.Regions)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, r := range cwRegions {
		got := srv.MaxPollRate(r)
		if got > rate+2 {
			t.Errorf("%s saw %d GetQueryResults calls in one second, want ≤ %d (+2)", r, got, rate)
		}
		// Unlimited, these searches would poll hundreds of times a second: the
		// limit must have been what held them back.
		if got < rate/2 {
			t.Errorf("%s saw at most %d calls in a second; the test did not load the limiter", r, got)
		}
	}
}

func TestUsageQueryText(t *testing.T) {
	tests := []struct {
		name, id, wantFilter string
		wantParsed           string // what Insights reads back
	}{
		{"plain", "s-abc123def456", `"s-abc123def456"`, "s-abc123def456"},
		{"quote and backslash", `s-1"\x`, `"s-1\"\\x"`, `s-1"\x`},
		{"breakout attempt", `x" or telephonySessionId like /./ or "`, `"x\" or telephonySessionId like /./ or \""`,
			`x" or telephonySessionId like /./ or "`},
		{"line break", "s-1\n| filter 1=1", `"s-1\n| filter 1=1"`, "s-1\n| filter 1=1"},
		{"trailing backslash", `s-1\`, `"s-1\\"`, `s-1\`},
		{"other control characters", "s-1\x00\x1b", "\"s-1\uFFFD\uFFFD\"", "s-1\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := lookup.UsageQueryText(tt.id)
			want := "fields @timestamp, @log, @requestId, service, openrouterId, provider, model,\n" +
				"       inputTokens, outputTokens, cacheReadTokens, cacheReadRatio, costUsd, finishReason\n" +
				"| filter @message like /ai_usage/\n" +
				"| filter telephonySessionId = " + tt.wantFilter + "\n" +
				"| sort @timestamp asc\n" +
				"| limit 100"
			if diff := cmp.Diff(want, q); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			got, err := lookuptest.SessionFilter(q)
			if err != nil || got != tt.wantParsed {
				t.Errorf("the query's filter reads back as %q, %v; want %q", got, err, tt.wantParsed)
			}
		})
	}
}

func TestSearchUsageSessionIDCannotBreakOut(t *testing.T) {
	srv := newLogsWorld(t)
	weird := `s-"we\ird`
	srv.AddRows(cwEast1, weird, cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-weird"))
	srv.AddRows(cwEast1, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-1"))
	cw := newCWSearcher(t, srv, nil)

	tests := []struct {
		name     string
		id       string
		wantGens []string
	}{
		{"quote and backslash match literally", weird, []string{"gen-weird"}},
		{"an injected clause matches nothing", `s-1" or telephonySessionId like /s-/ or "x`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := cw.SearchUsage(context.Background(), cwQuery(tt.id))
			if err != nil {
				t.Fatal(err)
			}
			var gens []string
			for _, r := range res.Rows {
				gens = append(gens, r.OpenRouterID)
			}
			if diff := cmp.Diff(tt.wantGens, gens); diff != "" {
				t.Errorf("generations found (-want +got):\n%s", diff)
			}
			for _, r := range res.Regions {
				if r.State == lookup.RegionFailed {
					t.Errorf("%s failed: %s", r.Region, r.Error)
				}
			}
		})
	}
	queries := srv.Queries()
	if last := queries[len(queries)-1]; last.SessionID != `s-1" or telephonySessionId like /s-/ or "x` {
		t.Errorf("the fake read the session id as %q", last.SessionID)
	}
}

func TestSearchUsageRejectsInvalidQueries(t *testing.T) {
	tests := []struct {
		name string
		q    lookup.UsageQuery
	}{
		{"no session id", lookup.UsageQuery{CreatedAt: cwCreated}},
		{"line break in the id", cwQuery("s-1\n| stats count()")},
		{"no created_at", lookup.UsageQuery{SessionID: "s-1"}},
	}
	srv := newLogsWorld(t)
	cw := newCWSearcher(t, srv, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cw.SearchUsage(context.Background(), tt.q)
			if code := lookup.ErrorCode(err); code != lookup.CodeInvalid {
				t.Errorf("error %v (code %q), want code %q", err, code, lookup.CodeInvalid)
			}
		})
	}
	if n := len(srv.Queries()); n != 0 {
		t.Errorf("%d queries started for invalid input", n)
	}
}

func TestSearchUsageCancelStopsQueries(t *testing.T) {
	srv := newLogsWorld(t)
	srv.SetReady("", 0, time.Hour)
	cw := newCWSearcher(t, srv, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()

	start := time.Now()
	res, err := cw.SearchUsage(ctx, cwQuery("s-1"))
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("search returned %v after its deadline", elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !lookup.IsRetryable(err) {
		t.Errorf("error %v, want a retryable deadline exceeded", err)
	}
	for _, r := range res.Regions {
		if r.State != lookup.RegionFailed || r.Error != r.Region+": timed out" {
			t.Errorf("%s: state %q error %q, want failed, timed out", r.Region, r.State, r.Error)
		}
		if got := srv.Stopped(r.Region); r.QueryID == "" || !slices.Equal(got, []string{r.QueryID}) {
			t.Errorf("%s: StopQuery called for %v, want its query %q", r.Region, got, r.QueryID)
		}
	}
	if srv.Running() != 0 || cw.InFlight() != 0 {
		t.Errorf("after cancel: %d queries running at the fake, %d in flight, want 0", srv.Running(), cw.InFlight())
	}
}

// TestSearchUsageStopsAQueryStartedAsItWasCancelled: a search cancelled while
// its StartQuery is on the way still stops the query Insights started, which
// would otherwise scan its whole range for nobody.
func TestSearchUsageStopsAQueryStartedAsItWasCancelled(t *testing.T) {
	srv := newLogsWorld(t)
	srv.SetReady("", 0, time.Hour)
	srv.SetLatency(300 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.OnCall(func(_, op string) {
		if op == lookuptest.LogsStartQuery {
			cancel()
		}
	})
	cw := newCWSearcher(t, srv, func(c *lookup.CloudWatchConfig) { c.Regions = []string{cwEast1} })
	res, err := cw.SearchUsage(ctx, cwQuery("s-1"))
	if !errors.Is(err, context.Canceled) || len(res.Regions) != 1 || res.Regions[0].Error != cwEast1+": cancelled" {
		t.Errorf("error %v regions %+v, want cancelled", err, res.Regions)
	}
	cwWaitFor(t, "the fake carried out the StartQuery", func() bool { return srv.Calls(cwEast1, lookuptest.LogsStartQuery) == 1 })
	qs := srv.Queries()
	if len(qs) != 1 || !qs[0].Stopped || !slices.Equal(srv.Stopped(cwEast1), []string{qs[0].ID}) {
		t.Errorf("queries %+v, stopped %v: want the one query Insights started, stopped", qs, srv.Stopped(cwEast1))
	}
	if srv.Running() != 0 || cw.InFlight() != 0 {
		t.Errorf("after cancel: %d queries running at the fake, %d in flight, want 0", srv.Running(), cw.InFlight())
	}
}

func TestLogGroups(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		env      string
		want     []string
	}{
		{"configured env", cwPatterns, "", []string{cwAIGroup(cwWest2), cwContactsGroup(cwWest2)}},
		{"env from the report", cwPatterns, "test", []string{
			"/aws/lambda/call-analytics-test-ai-analysis-processor-us-west-2",
			"/aws/lambda/call-analytics-test-contacts-analyzer-us-west-2"}},
		{"fixed names, blanks and duplicates", []string{" /fixed ", "", "/fixed", "/{region}/{env}/{region}"}, "pre",
			[]string{"/fixed", "/us-west-2/pre/us-west-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cw := lookup.NewCloudWatch(lookup.CloudWatchConfig{Regions: []string{cwWest2}, LogGroups: tt.patterns}, nil)
			if diff := cmp.Diff(tt.want, cw.LogGroups(cwWest2, tt.env)); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConsoleLink(t *testing.T) {
	from := time.Date(2026, 5, 20, 17, 9, 52, 0, time.UTC)
	to := from.Add(65 * time.Minute)
	t.Run("encoding", func(t *testing.T) {
		got := lookup.ConsoleLink(cwEast1, []string{"/aws/lambda/a-b", "/x_y"}, "fields @timestamp\n| limit 1 $✓", from, to.In(time.FixedZone("EDT", -4*3600)))
		want := "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1" +
			"#logsV2:logs-insights$3FqueryDetail$3D~(end~'2026-05-20T18*3a14*3a52.000Z~start~'2026-05-20T17*3a09*3a52.000Z" +
			"~timeType~'ABSOLUTE~tz~'UTC~editorString~'fields*20*40timestamp*0a*7c*20limit*201*20!**2713" +
			"~source~(~'*2faws*2flambda*2fa-b~'*2fx_y))"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("link (-want +got):\n%s", diff)
		}
	})
	t.Run("round trip", func(t *testing.T) {
		q := lookup.UsageQueryText(`s-"x\y 🙂`)
		groups := []string{cwAIGroup(cwEast2), cwContactsGroup(cwEast2)}
		link := lookup.ConsoleLink(cwEast2, groups, q, from, to)
		if i := strings.IndexFunc(link, func(r rune) bool { return !strings.ContainsRune(cwURLChars, r) }); i >= 0 {
			t.Fatalf("link has %q at %d, which is not URL-safe: %s", link[i], i, link)
		}
		_, detail, _ := strings.Cut(link, "#logsV2:logs-insights$3FqueryDetail$3D")
		got := cwDecodeJSURL(t, detail)
		want := map[string]any{"end": "2026-05-20T18:14:52.000Z", "start": "2026-05-20T17:09:52.000Z",
			"timeType": "ABSOLUTE", "tz": "UTC", "editorString": q, "source": []any{groups[0], groups[1]}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("decoded queryDetail (-want +got):\n%s", diff)
		}
	})
}

const cwURLChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#=&$*'()!"

// cwDecodeJSURL reads the JSURL object ~(key~value…) with string and array
// values, as the console does.
func cwDecodeJSURL(t *testing.T, s string) map[string]any {
	t.Helper()
	d := &cwJSURLDecoder{t: t, s: s}
	v, ok := d.value().(map[string]any)
	if !ok || d.i != len(s) {
		t.Fatalf("not one JSURL object: %q", s)
	}
	return v
}

type cwJSURLDecoder struct {
	t *testing.T
	s string
	i int
}

func (d *cwJSURLDecoder) value() any {
	switch {
	case strings.HasPrefix(d.s[d.i:], "~("):
		d.i += 2
		if d.i < len(d.s) && d.s[d.i] == '~' && strings.HasPrefix(d.s[d.i+1:], "'") {
			return d.array()
		}
		return d.object()
	case strings.HasPrefix(d.s[d.i:], "~'"):
		d.i += 2
		return d.str()
	}
	d.t.Fatalf("unexpected JSURL at %d: %q", d.i, d.s[d.i:])
	return nil
}

func (d *cwJSURLDecoder) object() map[string]any {
	out := map[string]any{}
	for d.s[d.i] != ')' {
		if len(out) > 0 {
			d.i++ // the ~ between pairs
		}
		key := d.str()
		out[key] = d.value()
	}
	d.i++
	return out
}

func (d *cwJSURLDecoder) array() []any {
	var out []any
	for d.s[d.i] != ')' {
		out = append(out, d.value())
	}
	d.i++
	return out
}

func (d *cwJSURLDecoder) str() string {
	var units []uint16
	for d.i < len(d.s) && !strings.ContainsRune("~)", rune(d.s[d.i])) {
		switch {
		case strings.HasPrefix(d.s[d.i:], "**"):
			n, err := strconv.ParseUint(d.s[d.i+2:d.i+6], 16, 16)
			if err != nil {
				d.t.Fatal(err)
			}
			units = append(units, uint16(n))
			d.i += 6
		case d.s[d.i] == '*':
			n, err := strconv.ParseUint(d.s[d.i+1:d.i+3], 16, 8)
			if err != nil {
				d.t.Fatal(err)
			}
			units = append(units, uint16(n))
			d.i += 3
		case d.s[d.i] == '!':
			units = append(units, '$')
			d.i++
		default:
			units = append(units, uint16(d.s[d.i]))
			d.i++
		}
	}
	return string(utf16.Decode(units))
}

func TestCheckGroups(t *testing.T) {
	srv := newLogsWorld(t)
	srv.SetLogGroups(cwWest2, cwAIGroup(cwWest2))
	srv.Fail(cwEast2, lookuptest.LogsDescribeLogGroups, "AccessDeniedException", 0)
	cw := newCWSearcher(t, srv, nil)

	got := cw.CheckGroups(context.Background(), "")
	want := []lookup.GroupCheck{
		{Region: cwEast1, Found: []string{cwAIGroup(cwEast1), cwContactsGroup(cwEast1)}},
		{Region: cwWest2, Found: []string{cwAIGroup(cwWest2)}, Missing: []string{cwContactsGroup(cwWest2)}},
		{Region: cwEast2, Found: []string{}, Error: "us-east-2: AccessDenied on logs:DescribeLogGroups"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(lookup.GroupCheck{}, "Err")); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	var api smithy.APIError
	if !errors.As(got[2].Err, &api) || api.ErrorCode() != "AccessDeniedException" {
		t.Errorf("Err = %v, want the AccessDeniedException", got[2].Err)
	}
}

// BenchmarkSearchUsage measures one search over three regions when every query
// completes at its first poll.
func BenchmarkSearchUsage(b *testing.B) {
	srv := newLogsWorld(b)
	srv.AddRows(cwEast1, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-1"))
	cw := newCWSearcher(b, srv, func(c *lookup.CloudWatchConfig) { c.PollMin = time.Millisecond })
	for b.Loop() {
		res, err := cw.SearchUsage(context.Background(), cwQuery("s-1"))
		if err != nil || len(res.Rows) != 1 {
			b.Fatalf("rows %d, err %v", len(res.Rows), err)
		}
	}
}
