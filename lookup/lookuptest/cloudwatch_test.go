package lookuptest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

const (
	fakeRegion = "us-east-1"
	fakeGroup  = "/aws/lambda/call-analytics-prod-ai-analysis-processor-us-east-1"
)

var fakeT0 = time.Date(2026, 5, 20, 17, 0, 0, 0, time.UTC)

func fakeWithRows(t *testing.T) (*LogsServer, *cloudwatchlogs.Client) {
	s := NewLogsServer(t)
	s.SetLogGroups(fakeRegion, fakeGroup)
	for i, sess := range []string{"s-1", "s-2", "s-1"} {
		s.AddRows(fakeRegion, sess, LogsRow{Timestamp: fakeT0.Add(time.Duration(i) * 40 * time.Minute), LogGroup: fakeGroup,
			Fields: map[string]string{"model": "m", "inputTokens": "100", "cacheReadTokens": "50"}})
	}
	return s, s.Client(t, fakeRegion)
}

// query runs text over the real SDK client and returns its result rows and statistics.
func query(t *testing.T, c *cloudwatchlogs.Client, groups []string, text string) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	t.Helper()
	ctx := context.Background()
	out, err := c.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupNames: groups, QueryString: aws.String(text),
		StartTime: aws.Int64(fakeT0.Unix()), EndTime: aws.Int64(fakeT0.Add(2 * time.Hour).Unix())})
	if err != nil {
		return nil, err
	}
	return c.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: out.QueryId})
}

func TestFakeEvaluatesStatsOverTheWire(t *testing.T) {
	s, c := fakeWithRows(t)
	out, err := query(t, c, []string{fakeGroup}, "filter @message like /ai_usage/ | stats sum(inputTokens) as input, count(*) by bin(1h) | sort input desc")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, r := range out.Results {
		var row []string
		for _, f := range r {
			row = append(row, aws.ToString(f.Field)+"="+aws.ToString(f.Value))
		}
		got = append(got, row)
	}
	want := [][]string{
		{"bin(1h)=2026-05-20 17:00:00.000", "input=200", "count(*)=2"},
		{"bin(1h)=2026-05-20 18:00:00.000", "input=100", "count(*)=1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if out.Status != types.QueryStatusComplete || out.Statistics.RecordsScanned != 3 || out.Statistics.RecordsMatched != 3 || out.Statistics.BytesScanned < 300 {
		t.Errorf("status %s, statistics %+v", out.Status, out.Statistics)
	}
	q := s.Queries()[0]
	if !q.Stats || q.Rows != 2 || q.Scanned.BytesScanned != out.Statistics.BytesScanned {
		t.Errorf("recorded %+v", q)
	}
}

func TestFakeRecordsSessionsOfInFilters(t *testing.T) {
	s, c := fakeWithRows(t)
	out, err := query(t, c, []string{fakeGroup}, `fields telephonySessionId | filter telephonySessionId in ["s-2", "s-\"x"]`)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 1 {
		t.Errorf("%d rows, want s-2's one", len(out.Results))
	}
	if q := s.Queries()[0]; !cmp.Equal(q.Sessions, []string{"s-2", `s-"x`}) || q.SessionID != "" {
		t.Errorf("sessions %q, session %q", q.Sessions, q.SessionID)
	}
}

func TestFakeRefusals(t *testing.T) {
	s, c := fakeWithRows(t)
	tests := []struct {
		name, code string
		groups     []string
		query      string
	}{
		{"missing group scans nothing", "ResourceNotFoundException", []string{fakeGroup, "/aws/lambda/nope"}, "stats count(*)"},
		{"unknown command", "MalformedQueryException", []string{fakeGroup}, "fields a | dedup a"},
		{"unknown function", "MalformedQueryException", []string{fakeGroup}, "stats median(inputTokens)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := query(t, c, tt.groups, tt.query)
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tt.code {
				t.Errorf("err %v, want %s", err, tt.code)
			}
		})
	}
	if n := len(s.Queries()); n != 0 {
		t.Errorf("%d refused queries were recorded as run", n)
	}
}

func TestFakeDescribeQueries(t *testing.T) {
	s, c := fakeWithRows(t)
	ctx := context.Background()
	s.SetReady(fakeRegion, 2, 0) // done after two looks
	var ids []string
	for range 3 {
		out, err := c.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupNames: []string{fakeGroup},
			QueryString: aws.String("fields @timestamp"), StartTime: aws.Int64(fakeT0.Unix()), EndTime: aws.Int64(fakeT0.Add(time.Hour).Unix())})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.QueryId))
	}
	describe := func(in *cloudwatchlogs.DescribeQueriesInput) ([]string, *string) {
		t.Helper()
		out, err := c.DescribeQueries(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, q := range out.Queries {
			if aws.ToString(q.LogGroupName) != fakeGroup || aws.ToString(q.QueryString) != "fields @timestamp" || aws.ToInt64(q.CreateTime) == 0 {
				t.Errorf("query info %+v", q)
			}
			got = append(got, aws.ToString(q.QueryId)+" "+string(q.Status))
		}
		return got, out.NextToken
	}
	// The first answer observes each query once: still Scheduled, none Running.
	if got, _ := describe(&cloudwatchlogs.DescribeQueriesInput{Status: types.QueryStatusRunning}); got != nil {
		t.Errorf("running after one look: %v, want none", got)
	}
	// Newest first, a page of two, then the rest; the second look makes them Running.
	got, next := describe(&cloudwatchlogs.DescribeQueriesInput{MaxResults: aws.Int32(2)})
	if want := []string{ids[2] + " Running", ids[1] + " Running"}; !cmp.Equal(got, want) || next == nil {
		t.Errorf("first page %v (next %v), want %v and a next token", got, next, want)
	}
	// A GetQueryResults call is a third look at ids[0], which completes it; the
	// next answer is the third look at the others.
	if _, err := c.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(ids[0])}); err != nil {
		t.Fatal(err)
	}
	got, _ = describe(&cloudwatchlogs.DescribeQueriesInput{Status: types.QueryStatusComplete})
	if want := []string{ids[2] + " Complete", ids[1] + " Complete", ids[0] + " Complete"}; !cmp.Equal(got, want) {
		t.Errorf("complete: %v, want %v", got, want)
	}
	if n := s.Calls(fakeRegion, LogsDescribeQueries); n != 3 {
		t.Errorf("DescribeQueries calls = %d, want 3", n)
	}
}

func TestFakeRefusesLongQueries(t *testing.T) {
	_, c := fakeWithRows(t)
	_, err := c.StartQuery(context.Background(), &cloudwatchlogs.StartQueryInput{LogGroupNames: []string{fakeGroup},
		QueryString: aws.String("fields @timestamp | filter x = \"" + strings.Repeat("y", LogsMaxQueryLen) + "\""),
		StartTime:   aws.Int64(fakeT0.Unix()), EndTime: aws.Int64(fakeT0.Add(time.Hour).Unix())})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidParameterException" {
		t.Errorf("a query over %d characters: %v, want InvalidParameterException", LogsMaxQueryLen, err)
	}
}
