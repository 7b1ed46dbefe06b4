package lookup_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/insights"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// cwTracker records a search's OnRegion reports.
type cwTracker struct {
	mu     sync.Mutex
	states map[string][]string // region → states, in order
}

func newCWTracker() *cwTracker { return &cwTracker{states: map[string][]string{}} }

func (tr *cwTracker) on(rs lookup.RegionStatus) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.states[rs.Region] = append(tr.states[rs.Region], rs.State)
}

// reached reports whether region was reported in state.
func (tr *cwTracker) reached(region, state string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Contains(tr.states[region], state)
}

// cwWaitFor waits until cond holds, failing the test after 15 seconds.
func cwWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// cwOutcome is one search of a burst.
type cwOutcome struct {
	res lookup.UsageResult
	err error
	tr  *cwTracker
}

// cwSearchAsync starts a search whose reports tr records.
func cwSearchAsync(ctx context.Context, cw *lookup.CloudWatch, q lookup.UsageQuery, wg *sync.WaitGroup, out *cwOutcome) {
	out.tr = newCWTracker()
	q.OnRegion = out.tr.on
	wg.Go(func() { out.res, out.err = cw.SearchUsage(ctx, q) })
}

// cwLoneQuery is the search that holds the query slots while a burst gathers.
var cwLoneQuery = cwQuery("s-lone")

// cwNewBurstSearcher is a searcher whose cap is one query per region, so a lone
// search holds every slot.
func cwNewBurstSearcher(t *testing.T, srv *lookuptest.LogsServer, tune func(*lookup.CloudWatchConfig)) *lookup.CloudWatch {
	return newCWSearcher(t, srv, func(c *lookup.CloudWatchConfig) {
		c.MaxQueries = len(cwRegions)
		if tune != nil {
			tune(c)
		}
	})
}

// cwRunBurst makes qs share queries without relying on timing: a lone search
// (s-lone, one line in us-east-1) first takes every query slot and its queries
// are held running; then qs start together, and once each is queued in every
// region it needs (so it waits in the batch that waits for a slot), release lets
// the queries finish (nil: every region's at once). It returns the lone search
// and qs' outcomes.
func cwRunBurst(t *testing.T, srv *lookuptest.LogsServer, cw *lookup.CloudWatch, qs []lookup.UsageQuery, release func([]cwOutcome)) (cwOutcome, []cwOutcome) {
	t.Helper()
	srv.AddRows(cwEast1, "s-lone", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-lone"))
	for _, r := range cwRegions {
		srv.SetReady(r, 1<<30, 0)
	}
	if release == nil {
		release = func([]cwOutcome) {
			for _, r := range cwRegions {
				srv.SetReady(r, 0, 0)
			}
		}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var lone cwOutcome
	cwSearchAsync(ctx, cw, cwLoneQuery, &wg, &lone)
	cwWaitFor(t, "the lone search runs in every region", func() bool {
		for _, r := range cwRegions {
			if !lone.tr.reached(r, lookup.RegionRunning) {
				return false
			}
		}
		return true
	})
	out := make([]cwOutcome, len(qs))
	for i, q := range qs {
		cwSearchAsync(ctx, cw, q, &wg, &out[i])
	}
	cwWaitFor(t, "every search of the burst is queued", func() bool {
		for _, o := range out {
			for _, r := range cwRegions {
				if !o.tr.reached(r, lookup.RegionQueued) {
					return false
				}
			}
		}
		return true
	})
	release(out)
	wg.Wait()
	if lone.err != nil {
		t.Fatalf("lone search: %v", lone.err)
	}
	return lone, out
}

// cwGens are the generation ids of rows, in order.
func cwGens(rows []lookup.UsageRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.OpenRouterID)
	}
	return out
}

// cwBatchQueries are the fake's queries after the first skip ones (the lone
// search's).
func cwBatchQueries(srv *lookuptest.LogsServer, skip int) []lookuptest.LogsQuery {
	return srv.Queries()[skip:]
}

// cwSorted is a sorted copy of s.
func cwSorted[T ~int | ~string](s []T) []T {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestSearchUsageBatchSplitsRowsAcrossRegions(t *testing.T) {
	srv := newLogsWorld(t)
	later := cwCreated.Add(20 * time.Minute) // s-c's call: the union reaches later+1h
	srv.AddRows(cwEast1, "s-a",
		cwUsageLine(cwCreated.Add(40*time.Second), cwAIGroup(cwEast1), "triage", "gen-a1"),
		cwUsageLine(cwCreated.Add(55*time.Second), cwAIGroup(cwEast1), "classify", "gen-a2"),
		// Inside the shared range, outside s-a's own: not s-a's row.
		cwUsageLine(cwCreated.Add(70*time.Minute), cwAIGroup(cwEast1), "triage", "gen-a-outside"))
	srv.AddRows(cwWest2, "s-b", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwWest2), "triage", "gen-b"))
	srv.AddRows(cwEast2, "s-c", cwUsageLine(later.Add(time.Minute), cwAIGroup(cwEast2), "triage", "gen-c2"))
	srv.AddRows(cwEast1, "s-c", cwUsageLine(later.Add(2*time.Minute), cwContactsGroup(cwEast1), "contacts", "gen-c1"))
	srv.AddRows(cwEast1, "s-not-asked", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-other"))
	cw := cwNewBurstSearcher(t, srv, nil)
	var mu sync.Mutex
	var served []int
	cw.ObserveTraceQueries(func(n int) { mu.Lock(); served = append(served, n); mu.Unlock() })

	qc := cwQuery("s-c")
	qc.CreatedAt = later
	lone, out := cwRunBurst(t, srv, cw, []lookup.UsageQuery{cwQuery("s-a"), cwQuery("s-b"), qc}, nil)

	wantGens := [][]string{{"gen-a1", "gen-a2"}, {"gen-b"}, {"gen-c2", "gen-c1"}}
	wantStates := [][]string{
		{lookup.RegionRows, lookup.RegionEmpty, lookup.RegionEmpty},
		{lookup.RegionEmpty, lookup.RegionRows, lookup.RegionEmpty},
		{lookup.RegionRows, lookup.RegionEmpty, lookup.RegionRows},
	}
	from, to := cwCreated.Add(-5*time.Minute), later.Add(time.Hour)
	for i, o := range out {
		if o.err != nil {
			t.Fatalf("search %d: %v", i, o.err)
		}
		if diff := cmp.Diff(wantGens[i], cwGens(o.res.Rows)); diff != "" {
			t.Errorf("search %d rows (-want +got):\n%s", i, diff)
		}
		var states []string
		for j, r := range o.res.Regions {
			states = append(states, r.State)
			if r.QueryID == "" || r.QueryID != out[0].res.Regions[j].QueryID || r.QueryID == lone.res.Regions[j].QueryID {
				t.Errorf("search %d in %s ran query %q; want the burst's shared query (%q), not the lone one's", i, r.Region, r.QueryID, out[0].res.Regions[j].QueryID)
			}
		}
		if diff := cmp.Diff(wantStates[i], states); diff != "" {
			t.Errorf("search %d states (-want +got):\n%s", i, diff)
		}
		if o.res.Widened || !o.res.From.Equal(from) || !o.res.To.Equal(to) || o.res.Query != out[0].res.Query {
			t.Errorf("search %d: widened %v range [%v, %v], want the shared range [%v, %v] and query", i, o.res.Widened, o.res.From, o.res.To, from, to)
		}
	}
	queries := cwBatchQueries(srv, 3)
	if len(queries) != 3 {
		t.Fatalf("the burst started %d queries, want one per region: %+v", len(queries), queries)
	}
	for _, q := range queries {
		if got := cwSorted(q.Sessions); !slices.Equal(got, []string{"s-a", "s-b", "s-c"}) || !q.Start.Equal(from) || !q.End.Equal(to) {
			t.Errorf("%s: query over %v, [%v, %v]; want s-a, s-b, s-c over [%v, %v]", q.Region, got, q.Start, q.End, from, to)
		}
		if q.Query != out[0].res.Query || !strings.Contains(q.Query, "telephonySessionId in [") {
			t.Errorf("%s ran %q, want the burst's in [...] query", q.Region, q.Query)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []int{1, 1, 1, 3, 3, 3}; !slices.Equal(cwSorted(served), want) {
		t.Errorf("searches served per started query = %v, want %v", served, want)
	}
}

func TestSearchUsageBatchWidensPerSession(t *testing.T) {
	srv := newLogsWorld(t)
	srv.AddRows(cwEast1, "s-x", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-x"))
	srv.AddRows(cwWest2, "s-y", cwUsageLine(cwCreated.Add(5*time.Hour), cwAIGroup(cwWest2), "triage", "gen-y"))
	srv.AddRows(cwEast2, "s-z", cwUsageLine(cwCreated.Add(6*time.Hour), cwAIGroup(cwEast2), "triage", "gen-z"))
	cw := cwNewBurstSearcher(t, srv, nil)

	_, out := cwRunBurst(t, srv, cw, []lookup.UsageQuery{cwQuery("s-x"), cwQuery("s-y"), cwQuery("s-z")}, nil)

	want := []struct {
		gens    []string
		widened bool
	}{{[]string{"gen-x"}, false}, {[]string{"gen-y"}, true}, {[]string{"gen-z"}, true}}
	for i, o := range out {
		if o.err != nil {
			t.Fatal(o.err)
		}
		if got := cwGens(o.res.Rows); !slices.Equal(got, want[i].gens) || o.res.Widened != want[i].widened {
			t.Errorf("search %d: rows %v widened %v, want %v widened %v", i, got, o.res.Widened, want[i].gens, want[i].widened)
		}
	}
	if !out[1].res.To.Equal(cwCreated.Add(24*time.Hour)) || !out[1].res.From.Equal(cwCreated.Add(-5*time.Minute)) {
		t.Errorf("s-y's range [%v, %v], want the 24-hour range", out[1].res.From, out[1].res.To)
	}
	// The shared first query, then only the sessions that found nothing asked
	// again over 24 hours (alone or together).
	queries := cwBatchQueries(srv, 3)
	wide := map[string]bool{}
	for _, q := range queries[3:] {
		if q.End != cwCreated.Add(24*time.Hour) {
			t.Errorf("%s: a second query ends at %v, want created+24h", q.Region, q.End)
		}
		for _, s := range q.Sessions {
			wide[s] = true
		}
	}
	if got := cwSorted(mapKeys(wide)); !slices.Equal(got, []string{"s-y", "s-z"}) {
		t.Errorf("sessions asked for over 24 hours: %v, want s-y and s-z", got)
	}
	if n := len(queries); n < 6 || n > 9 {
		t.Errorf("%d queries after the lone search, want 3 shared + 3 to 6 for the 24-hour range", n)
	}
}

func mapKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSearchUsageBatchRegionFails(t *testing.T) {
	srv := newLogsWorld(t)
	srv.AddRows(cwEast1, "s-a", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-a"))
	srv.AddRows(cwEast2, "s-b", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast2), "triage", "gen-b"))
	cw := cwNewBurstSearcher(t, srv, nil)

	_, out := cwRunBurst(t, srv, cw, []lookup.UsageQuery{cwQuery("s-a"), cwQuery("s-b")}, func([]cwOutcome) {
		// The lone search's queries already run; the shared query cannot start there.
		srv.Fail(cwWest2, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
		for _, r := range cwRegions {
			srv.SetReady(r, 0, 0)
		}
	})
	for i, o := range out {
		if o.err != nil {
			t.Fatalf("search %d: %v (one region failing is not the search failing)", i, o.err)
		}
		got := map[string][2]string{}
		for _, r := range o.res.Regions {
			got[r.Region] = [2]string{r.State, r.Error}
		}
		want := map[string][2]string{
			cwEast1: {lookup.RegionEmpty, ""}, cwEast2: {lookup.RegionEmpty, ""},
			cwWest2: {lookup.RegionFailed, "us-west-2: AccessDenied on logs:StartQuery"},
		}
		want[[]string{cwEast1, cwEast2}[i]] = [2]string{lookup.RegionRows, ""}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("search %d regions (-want +got):\n%s", i, diff)
		}
		if len(o.res.Rows) != 1 {
			t.Errorf("search %d: %d rows, want 1", i, len(o.res.Rows))
		}
	}
}

func TestSearchUsageBatchEscapesSessionIDs(t *testing.T) {
	srv := newLogsWorld(t)
	weird := `s-"we\ird`
	inject := `x" or telephonySessionId like /s-/ or "`
	srv.AddRows(cwEast1, weird, cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-weird"))
	srv.AddRows(cwEast1, "s-plain", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-plain"))
	srv.AddRows(cwEast1, "s-bystander", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-bystander"))
	cw := cwNewBurstSearcher(t, srv, nil)

	_, out := cwRunBurst(t, srv, cw, []lookup.UsageQuery{cwQuery(weird), cwQuery(inject), cwQuery("s-plain")}, nil)

	want := [][]string{{"gen-weird"}, nil, {"gen-plain"}}
	for i, o := range out {
		if o.err != nil {
			t.Fatal(o.err)
		}
		if diff := cmp.Diff(want[i], cwGens(o.res.Rows)); diff != "" {
			t.Errorf("search %d rows (-want +got):\n%s", i, diff)
		}
		for _, r := range o.res.Regions {
			if r.State == lookup.RegionFailed {
				t.Errorf("search %d: %s failed: %s", i, r.Region, r.Error)
			}
		}
	}
	shared := cwBatchQueries(srv, 3)[0]
	if got, want := cwSorted(shared.Sessions), cwSorted([]string{weird, inject, "s-plain"}); !slices.Equal(got, want) {
		t.Errorf("the fake's evaluator read the sessions as %q, want %q", got, want)
	}
}

func TestUsageBatchQueryText(t *testing.T) {
	t.Run("text", func(t *testing.T) {
		got := lookup.UsageBatchQueryText([]string{"s-1", `s-"2\`, "s-1"})
		want := "fields @timestamp, @log, @requestId, telephonySessionId, service, openrouterId, provider, model,\n" +
			"       inputTokens, outputTokens, cacheReadTokens, cacheReadRatio, costUsd, finishReason\n" +
			"| filter @message like /ai_usage/\n" +
			`| filter telephonySessionId in ["s-1", "s-\"2\\"]` + "\n" +
			"| sort @timestamp asc\n" +
			"| limit 200"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("query (-want +got):\n%s", diff)
		}
	})
	t.Run("one session is the one-session query", func(t *testing.T) {
		if got, want := lookup.UsageBatchQueryText([]string{"s-1", "s-1"}), lookup.UsageQueryText("s-1"); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("limit scales to Insights' cap", func(t *testing.T) {
		ids := make([]string, 150)
		for i := range ids {
			ids[i] = fmt.Sprintf("s-%d", i)
		}
		if q := lookup.UsageBatchQueryText(ids); !strings.HasSuffix(q, "| limit 10000") {
			t.Errorf("150 sessions: query ends %q, want limit 10000", q[strings.LastIndex(q, "|"):])
		}
	})
	t.Run("ids round-trip through the evaluator", func(t *testing.T) {
		ids := []string{"s-plain", `s-"quote`, `s-back\slash`, "s-line\nbreak", "s-tab\there", `x" or telephonySessionId like /./ or "`, `s-\`}
		q, err := insights.Parse(lookup.UsageBatchQueryText(ids))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ids, q.FilterValues("telephonySessionId")); diff != "" {
			t.Errorf("sessions read back (-want +got):\n%s", diff)
		}
		store := insights.NewStore("123")
		for i, id := range append(slices.Clone(ids), "s-bystander", "s-line") {
			store.Add(cwEast1, "g", insights.Event{Timestamp: cwCreated.Add(time.Duration(i) * time.Second),
				Fields: map[string]string{"@message": "ai_usage", "telephonySessionId": id}})
		}
		res, err := store.Run(cwEast1, []string{"g"}, lookup.UsageBatchQueryText(ids), cwCreated, cwCreated.Add(time.Hour), 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, row := range res.Rows {
			for _, f := range row {
				if f.Name == "telephonySessionId" {
					got = append(got, f.Value)
				}
			}
		}
		if diff := cmp.Diff(ids, got); diff != "" {
			t.Errorf("sessions of the rows (-want +got):\n%s", diff)
		}
	})
}

func TestSearchUsageBatchIsCutByTheCaps(t *testing.T) {
	t.Run("sessions per query", func(t *testing.T) {
		srv := newLogsWorld(t)
		var qs []lookup.UsageQuery
		for i := range 5 {
			id := fmt.Sprintf("s-%d", i)
			srv.AddRows(cwWest2, id, cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwWest2), "triage", "gen-"+id))
			qs = append(qs, cwQuery(id))
		}
		cw := cwNewBurstSearcher(t, srv, func(c *lookup.CloudWatchConfig) { c.BatchSessions = 2 })
		_, out := cwRunBurst(t, srv, cw, qs, nil)
		for i, o := range out {
			if got, want := cwGens(o.res.Rows), []string{fmt.Sprintf("gen-s-%d", i)}; o.err != nil || !slices.Equal(got, want) {
				t.Errorf("search %d: rows %v err %v, want %v", i, got, o.err, want)
			}
		}
		cwCheckCovered(t, cwBatchQueries(srv, 3), 2, 3, qs)
	})
	t.Run("query length", func(t *testing.T) {
		srv := newLogsWorld(t)
		var qs []lookup.UsageQuery
		for i := range 4 {
			id := fmt.Sprintf("s-%d-%s", i, strings.Repeat("x", 3000))
			srv.AddRows(cwEast1, id, cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", fmt.Sprintf("gen-%d", i)))
			qs = append(qs, cwQuery(id))
		}
		cw := cwNewBurstSearcher(t, srv, nil)
		_, out := cwRunBurst(t, srv, cw, qs, nil)
		for i, o := range out {
			if got, want := cwGens(o.res.Rows), []string{fmt.Sprintf("gen-%d", i)}; o.err != nil || !slices.Equal(got, want) {
				t.Errorf("search %d: rows %v err %v, want %v", i, got, o.err, want)
			}
		}
		queries := cwBatchQueries(srv, 3)
		for _, q := range queries {
			if len(q.Query) > lookuptest.LogsMaxQueryLen {
				t.Errorf("%s: a %d-character query", q.Region, len(q.Query))
			}
		}
		// Three 3000-character ids fit in 10,000 characters, four do not.
		cwCheckCovered(t, queries, 3, 2, qs)
	})
}

// cwCheckCovered checks that each region ran batches queries of at most size
// sessions that together cover qs' sessions once.
func cwCheckCovered(t *testing.T, queries []lookuptest.LogsQuery, size, batches int, qs []lookup.UsageQuery) {
	t.Helper()
	var want []string
	for _, q := range qs {
		want = append(want, q.SessionID)
	}
	for _, region := range cwRegions {
		var got []string
		n := 0
		for _, q := range queries {
			if q.Region != region {
				continue
			}
			n++
			if len(q.Sessions) > size {
				t.Errorf("%s: a query over %d sessions, want at most %d", region, len(q.Sessions), size)
			}
			got = append(got, q.Sessions...)
		}
		if n != batches || !slices.Equal(cwSorted(got), cwSorted(want)) {
			t.Errorf("%s: %d queries over %d sessions, want %d queries covering the %d sessions once", region, n, len(got), batches, len(want))
		}
	}
}

func TestSearchUsageBatchTruncatedRetriesAlone(t *testing.T) {
	srv := newLogsWorld(t)
	g := cwAIGroup(cwEast1)
	var heavy []lookuptest.LogsRow
	for i := range 250 {
		heavy = append(heavy, cwUsageLine(cwCreated.Add(time.Duration(i)*time.Second), g, "triage", fmt.Sprintf("gen-h%03d", i)))
	}
	srv.AddRows(cwEast1, "s-heavy", heavy...)
	srv.AddRows(cwEast1, "s-light",
		cwUsageLine(cwCreated.Add(30*time.Minute), g, "triage", "gen-l1"),
		cwUsageLine(cwCreated.Add(31*time.Minute), g, "classify", "gen-l2"),
		cwUsageLine(cwCreated.Add(32*time.Minute), g, "coaching", "gen-l3"))
	cw := cwNewBurstSearcher(t, srv, nil)

	_, out := cwRunBurst(t, srv, cw, []lookup.UsageQuery{cwQuery("s-heavy"), cwQuery("s-light")}, nil)

	var wantHeavy []string
	for i := range 100 {
		wantHeavy = append(wantHeavy, fmt.Sprintf("gen-h%03d", i))
	}
	if diff := cmp.Diff(wantHeavy, cwGens(out[0].res.Rows)); out[0].err != nil || diff != "" {
		t.Errorf("s-heavy: err %v, rows (-want +got):\n%s", out[0].err, diff)
	}
	if diff := cmp.Diff([]string{"gen-l1", "gen-l2", "gen-l3"}, cwGens(out[1].res.Rows)); out[1].err != nil || diff != "" {
		t.Errorf("s-light: err %v, rows (-want +got):\n%s", out[1].err, diff)
	}
	var again []string
	for _, q := range cwBatchQueries(srv, 6) {
		again = append(again, q.Region+" "+q.SessionID)
	}
	if want := []string{cwEast1 + " s-light"}; !slices.Equal(again, want) {
		t.Errorf("queries after the shared one: %v, want s-light alone where the shared query hit its limit", again)
	}
	// Each trace names the query that found its rows: the shared one for
	// s-heavy, s-light's own (over its own range) for s-light.
	shared := cwBatchQueries(srv, 3)[0]
	own := cwBatchQueries(srv, 6)[0]
	for i, want := range []lookuptest.LogsQuery{shared, own} {
		if got := out[i].res; got.Query != want.Query || !got.From.Equal(want.Start) || !got.To.Equal(want.End) {
			t.Errorf("search %d names the query %q over [%s, %s], want %q over [%s, %s]", i, got.Query, got.From, got.To, want.Query, want.Start, want.End)
		}
	}
}

func TestSearchUsageBatchStopsARegionOnlyWhenNoSessionWaits(t *testing.T) {
	srv := newLogsWorld(t)
	srv.AddRows(cwEast1, "s-a", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-a"))
	srv.AddRows(cwWest2, "s-b", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwWest2), "triage", "gen-b"))
	cw := cwNewBurstSearcher(t, srv, func(c *lookup.CloudWatchConfig) { c.Grace = 50 * time.Millisecond })

	// us-east-2 keeps running until s-a and s-b, which found their rows, have
	// given up on it after their grace; s-none still waits for it.
	var stoppedMeanwhile []string
	waited := make(chan bool, 1)
	_, out := cwRunBurst(t, srv, cw, []lookup.UsageQuery{cwQuery("s-a"), cwQuery("s-b"), cwQuery("s-none")}, func(out []cwOutcome) {
		srv.SetReady(cwEast1, 0, 0)
		srv.SetReady(cwWest2, 0, 0)
		go func() {
			deadline := time.Now().Add(15 * time.Second)
			for !out[0].tr.reached(cwEast2, lookup.RegionStopped) || !out[1].tr.reached(cwEast2, lookup.RegionStopped) {
				if time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			stoppedMeanwhile = srv.Stopped(cwEast2)
			waited <- time.Now().Before(deadline)
			srv.SetReady(cwEast2, 0, 0)
		}()
	})
	if !<-waited {
		t.Fatal("s-a and s-b never gave up on us-east-2")
	}
	for i, o := range out[:2] {
		if o.err != nil || len(o.res.Rows) != 1 || o.res.Regions[2].State != lookup.RegionStopped {
			t.Errorf("search %d: err %v, %d rows, %s %s; want its row and %s stopped", i, o.err, len(o.res.Rows), cwEast2, o.res.Regions[2].State, cwEast2)
		}
	}
	if none := out[2]; none.err != nil || !none.res.Widened || len(none.res.Rows) != 0 {
		t.Errorf("s-none: err %v widened %v rows %d; want nothing found after the 24-hour range too", none.err, none.res.Widened, len(none.res.Rows))
	}
	// The lone search's us-east-2 query was stopped after its grace; the shared
	// one was not while s-none waited for it.
	sharedQuery := out[0].res.Regions[2].QueryID
	if slices.Contains(stoppedMeanwhile, sharedQuery) || len(stoppedMeanwhile) != 1 {
		t.Errorf("stopped in %s while s-none waited: %v; want only the lone search's query, not the shared %q", cwEast2, stoppedMeanwhile, sharedQuery)
	}
	if slices.Contains(srv.Stopped(cwEast2), sharedQuery) {
		t.Errorf("the shared query %q was stopped though s-none waited for it", sharedQuery)
	}
	if srv.Running() != 0 || cw.InFlight() != 0 {
		t.Errorf("after the searches: %d queries running at the fake, %d in flight, want 0", srv.Running(), cw.InFlight())
	}
}

func TestSearchUsageLoneSearchDoesNotWait(t *testing.T) {
	srv := newLogsWorld(t)
	srv.AddRows(cwEast1, "s-1", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-1"))
	// A window this long would time the searches out if a lone one waited in it.
	cw := newCWSearcher(t, srv, func(c *lookup.CloudWatchConfig) { c.BatchWindow = time.Hour })
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := cw.SearchUsage(ctx, cwQuery("s-1"))
		cancel()
		if err != nil || len(res.Rows) != 1 {
			t.Fatalf("search %d: %v, %d rows", i, err, len(res.Rows))
		}
	}
	if n := len(srv.Queries()); n != 9 {
		t.Errorf("%d queries, want 3 per search", n)
	}
}

func TestSearchUsageSameSessionTwiceSharesTheOneSessionQuery(t *testing.T) {
	srv := newLogsWorld(t)
	srv.AddRows(cwWest2, "s-a", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwWest2), "triage", "gen-a"))
	cw := cwNewBurstSearcher(t, srv, nil)
	_, out := cwRunBurst(t, srv, cw, []lookup.UsageQuery{cwQuery("s-a"), cwQuery("s-a")}, nil)
	for i, o := range out {
		if o.err != nil || !slices.Equal(cwGens(o.res.Rows), []string{"gen-a"}) || o.res.Query != lookup.UsageQueryText("s-a") {
			t.Errorf("search %d: err %v rows %v query %q; want gen-a from the one-session query", i, o.err, cwGens(o.res.Rows), o.res.Query)
		}
	}
	if n := len(cwBatchQueries(srv, 3)); n != 3 {
		t.Errorf("%d queries for the two searches, want one per region", n)
	}
}

// TestSearchUsageBatchReleasesTheSlotOfARegionWithoutGroups: a batch takes its
// regions' query slots before it closes; a region whose groups turned out missing
// meanwhile (another search or `check` learnt it) runs no query, and must give
// its slot back, or the MaxQueries cap shrinks for good.
func TestSearchUsageBatchReleasesTheSlotOfARegionWithoutGroups(t *testing.T) {
	srv := newLogsWorld(t)
	srv.AddRows(cwEast1, "s-a", cwUsageLine(cwCreated.Add(time.Minute), cwAIGroup(cwEast1), "triage", "gen-a"))
	cw := cwNewBurstSearcher(t, srv, nil)
	_, out := cwRunBurst(t, srv, cw, []lookup.UsageQuery{cwQuery("s-a")}, func([]cwOutcome) {
		srv.SetLogGroups(cwEast2)
		cw.CheckGroups(context.Background(), "") // the searcher now knows us-east-2 has none
		for _, r := range cwRegions {
			srv.SetReady(r, 0, 0)
		}
	})
	if o := out[0]; o.err != nil || !slices.Equal(cwGens(o.res.Rows), []string{"gen-a"}) || o.res.Regions[2].State != lookup.RegionNoGroup {
		t.Fatalf("s-a: err %v rows %v regions %+v; want gen-a and us-east-2 without groups", o.err, cwGens(o.res.Rows), o.res.Regions)
	}
	if n := cw.InFlight(); n != 0 {
		t.Errorf("InFlight after the searches = %d, want 0: a query slot leaked", n)
	}
}
