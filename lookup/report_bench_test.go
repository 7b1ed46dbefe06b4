package lookup_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callytics/tracebot/lookup"
)

// Injected latencies of BenchmarkReport: every CloudWatch Logs call takes
// benchAWS, and an Insights query runs for its region's time.
var benchRegionQuery = map[string]time.Duration{cwEast1: 900 * time.Millisecond, cwWest2: 1200 * time.Millisecond, cwEast2: 1500 * time.Millisecond}

// BenchmarkReport runs reports over a generated day in three regions whose
// queries take fixed, different times, with production polling settings, and
// reports report time ÷ the slowest region's query time (StartQuery + its run +
// the GetQueryResults that sees it complete); SPEC §10 target ≤ 1.10. cost runs
// two queries per region, cache one. Polled one by one, two queries in one region
// share its GetQueryResults quota (TRACEBOT_POLL_RATE, 5/s): seeing both complete
// took one more poll slot (1/(0.95·5) s ≈ 210ms) than seeing one (1.19). The
// searcher now watches them with one DescribeQueries call per poll interval and
// fetches both results at once, so the benchmark also states the ratio to that
// old floor (below 1 means the quota no longer costs a slot).
//
//	go test ./lookup -run '^$' -bench 'BenchmarkReport$' -benchtime 8x
func BenchmarkReport(b *testing.B) {
	w := newReportWorld(b, rpNoisy)
	w.srv.SetLatency(benchAWS)
	cw := w.newProductionSearcher(b)
	for _, text := range []string{"cost 2h", "cache 24h"} {
		b.Run(text, func(b *testing.B) {
			q := rpQuery(b, text)
			var total, slowestSum, floorSum time.Duration
			pollRate := lookup.DefaultPollRate * 0.95
			slot := time.Duration(float64(time.Second) / pollRate)
			i := 0
			for b.Loop() {
				// Step the queries' end through one poll interval, as real queries end
				// at any moment between two polls.
				step := time.Duration(i%8) * 25 * time.Millisecond
				slowest := time.Duration(0)
				for r, d := range benchRegionQuery {
					w.srv.SetReady(r, 0, d+step)
					slowest = max(slowest, d+step)
				}
				slowestSum += benchAWS + slowest + benchAWS
				floorSum += benchAWS + slowest + benchAWS + time.Duration(len(q2(text))-1)*slot
				// A fresh engine each time: the result cache would answer otherwise.
				e := lookup.NewReportEngine(cw, nil, lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax})
				start := time.Now()
				r, err := e.Report(context.Background(), q)
				total += time.Since(start)
				if err != nil || len(r.Regions) != 3 || r.Regions[2].State != lookup.RegionRows {
					b.Fatalf("report: %v %+v", err, r.Regions)
				}
				i++
			}
			ratio, floor := float64(total)/float64(slowestSum), float64(total)/float64(floorSum)
			b.ReportMetric(ratio, "x_slowest_region")
			b.ReportMetric(floor, "x_poll_quota_floor")
			fmt.Printf("report %s / slowest region's query: %.3f (report %v, slowest region %v); / the poll-quota floor: %.3f\n", text, ratio,
				(total / time.Duration(i)).Round(time.Millisecond), (slowestSum / time.Duration(i)).Round(time.Millisecond), floor)
		})
	}
}

// q2 are the queries a report kind runs per region ("cost 2h" → two).
func q2(text string) []struct{} {
	if text[:4] == "cost" || text[:4] == "prov" {
		return make([]struct{}, 2)
	}
	return make([]struct{}, 1)
}

// newProductionSearcher is a searcher over the world's fake with the default
// poll settings (100ms first poll, TRACEBOT_POLL_RATE 5/s per region).
func (w *reportWorld) newProductionSearcher(tb testing.TB) *lookup.CloudWatch {
	clients := map[string]lookup.LogsAPI{}
	for _, r := range cwRegions {
		clients[r] = w.srv.Client(tb, r)
	}
	return lookup.NewCloudWatch(lookup.CloudWatchConfig{Regions: cwRegions, LogGroups: cwPatterns}, clients)
}
