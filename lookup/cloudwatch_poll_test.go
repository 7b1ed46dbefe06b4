package lookup_test

import (
	"context"
	"testing"
	"time"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// cwRegionQueries are n report queries over cwCreated's hour; query i counts the
// ai_usage lines with i+1 in the result's label, so each is distinct.
func cwRegionQueries(n int) lookup.RegionQueries {
	q := lookup.RegionQueries{From: cwCreated.Add(-time.Hour), To: cwCreated.Add(time.Hour)}
	for i := range n {
		q.Queries = append(q.Queries, "filter @message like /ai_usage/ | stats count(*) as n"+string(rune('a'+i)))
	}
	return q
}

// cwCheckCounts checks every region answered each query with the region's count.
func cwCheckCounts(t *testing.T, answers []lookup.RegionAnswer, want map[string]string) {
	t.Helper()
	for _, a := range answers {
		if a.State != lookup.RegionRows {
			t.Errorf("%s: %s %s", a.Region, a.State, a.Error)
			continue
		}
		for i, rows := range a.Results {
			label := "n" + string(rune('a'+i))
			if len(rows) != 1 || rows[0][label] != want[a.Region] {
				t.Errorf("%s query %d: %v, want %s=%s", a.Region, i, rows, label, want[a.Region])
			}
		}
	}
}

func cwAddCounted(srv *lookuptest.LogsServer) map[string]string {
	want := map[string]string{}
	for i, r := range cwRegions {
		for k := range i + 1 {
			srv.AddRows(r, "s-count", cwUsageLine(cwCreated.Add(time.Duration(k)*time.Minute), cwAIGroup(r), "triage", "gen"))
		}
		want[r] = string(rune('1' + i))
	}
	return want
}

// TestQueryRegionsWatchesARegionsQueriesTogether runs three queries per region
// that take a while: one DescribeQueries call per poll interval reports all
// three, and each query costs GetQueryResults only to see it start and to fetch
// its results, where polling each alone would call it every interval.
func TestQueryRegionsWatchesARegionsQueriesTogether(t *testing.T) {
	srv := newLogsWorld(t)
	want := cwAddCounted(srv)
	srv.SetReady("", 0, 300*time.Millisecond)
	cw := newCWSearcher(t, srv, nil)

	answers := cw.QueryRegions(context.Background(), cwRegionQueries(3))
	cwCheckCounts(t, answers, want)
	for _, r := range cwRegions {
		if n := srv.Calls(r, lookuptest.LogsDescribeQueries); n < 2 {
			t.Errorf("%s: %d DescribeQueries calls, want the watch to poll with it", r, n)
		}
		if n := srv.Calls(r, lookuptest.LogsGetQueryResults); n > 3*3 {
			t.Errorf("%s: %d GetQueryResults calls for 3 queries, want at most 3 each (polling each alone calls it every interval)", r, n)
		}
	}
	// One query per region is polled alone, as a trace's is.
	single := newLogsWorld(t)
	want = cwAddCounted(single)
	cwCheckCounts(t, newCWSearcher(t, single, nil).QueryRegions(context.Background(), cwRegionQueries(1)), want)
	for _, r := range cwRegions {
		if n := single.Calls(r, lookuptest.LogsDescribeQueries); n != 0 {
			t.Errorf("%s: a single query was watched with DescribeQueries (%d calls)", r, n)
		}
	}
}

// TestQueryRegionsPollsAloneWhenDescribeIsRefused is an IAM policy without
// logs:DescribeQueries: the region's queries are polled one by one, and the
// region stops asking.
func TestQueryRegionsPollsAloneWhenDescribeIsRefused(t *testing.T) {
	srv := newLogsWorld(t)
	want := cwAddCounted(srv)
	srv.SetReady("", 0, 50*time.Millisecond)
	srv.Fail(cwWest2, lookuptest.LogsDescribeQueries, "AccessDeniedException", 0)
	cw := newCWSearcher(t, srv, nil)
	for range 2 {
		cwCheckCounts(t, cw.QueryRegions(context.Background(), cwRegionQueries(2)), want)
	}
	if n := srv.Calls(cwWest2, lookuptest.LogsDescribeQueries); n != 1 {
		t.Errorf("%s: %d DescribeQueries calls, want 1 (the refusal is remembered)", cwWest2, n)
	}
	if n := srv.Calls(cwEast1, lookuptest.LogsDescribeQueries); n < 2 {
		t.Errorf("%s: %d DescribeQueries calls, want the other regions unaffected", cwEast1, n)
	}
}

// TestQueryRegionsFetchesStayUnderThePollRate finishes eight queries of one
// region at the same moment under the production rate of 5 calls a second: their
// results are fetched together, at most 5 in any second. The window grants at
// most 5 per 1/0.95 s; the fake times arrivals, and a grant delayed by more than
// the 52 ms margin (-race on a busy machine) could squeeze a sixth into a
// second, hence the tolerance of one. Without the window all 8 arrive at once.
func TestQueryRegionsFetchesStayUnderThePollRate(t *testing.T) {
	srv := newLogsWorld(t)
	want := cwAddCounted(srv)
	srv.SetReady("", 0, 2500*time.Millisecond)
	cw := newCWSearcher(t, srv, func(c *lookup.CloudWatchConfig) {
		c.Regions = []string{cwEast1}
		c.PollRate, c.PollMin, c.PollMax, c.MaxQueries = 5, 100*time.Millisecond, time.Second, 8
	})
	cwCheckCounts(t, cw.QueryRegions(context.Background(), cwRegionQueries(8)), want)
	if got := srv.MaxPollRate(cwEast1); got > 5+1 {
		t.Errorf("%d GetQueryResults calls in one second, want at most 5 (+1)", got)
	}
}
