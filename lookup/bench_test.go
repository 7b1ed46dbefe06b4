package lookup_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// slowCalls adds a fixed latency to every call-store round trip.
type slowCalls struct {
	lookup.CallStore
	d time.Duration
}

func (s slowCalls) FindCalls(ctx context.Context, q lookup.CallQuery) ([]lookup.Call, error) {
	time.Sleep(s.d)
	return s.CallStore.FindCalls(ctx, q)
}

// Injected latencies of the critical-path benchmark.
const (
	benchDB     = 100 * time.Millisecond  // Neon round trip
	benchAWS    = 25 * time.Millisecond   // every CloudWatch Logs API call
	benchQuery  = 1500 * time.Millisecond // an Insights query runs this long in every region
	benchRouter = 300 * time.Millisecond  // every OpenRouter request
	benchStored = 100 * time.Millisecond  // more for a stored-content request (GET /generation/content)
	benchS3     = 200 * time.Millisecond  // the stored analysis' S3 GetObject
)

// BenchmarkTraceCriticalPath runs the runbook example against backends with fixed
// injected latency (real Postgres + latency, the CloudWatch Logs fake over the SDK,
// the OpenRouter fake over HTTP, the S3 fake over the SDK) with production polling
// settings and the verdict's two reads on, and reports the ratio of trace time to the
// critical path (SPEC §10 target ≤ 1.10; a sequential walk is ~3×). Step 4 fetches
// each stage's generation and stored content at once, and the S3 read starts as soon
// as the call is known, beside steps 3 and 4, so the critical path is
//
//	DB + max(S3 read, slowest needed region + max(slowest generation, slowest content))
//
// (here DB + region + content: the content fetch is the slower of step 4's two, and
// the S3 read ends long before the region does).
//
//	go test ./lookup -run '^$' -bench TraceCriticalPath -benchtime 10x
func BenchmarkTraceCriticalPath(b *testing.B) {
	w := lookuptest.NewWorld(b, lookup.SharedPostgres.NewDatabase(b))
	w.Logs.SetLatency(benchAWS)
	w.OpenRouter.SetLatency(benchRouter)
	w.OpenRouter.SetContentLatency(benchStored)
	w.S3.SetLatency(benchS3)
	analyses := w.Analyses(b, lookup.S3AnalysisConfig{})
	pg, err := lookup.OpenPostgres(context.Background(), w.DSN, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Close()
	cw := w.CloudWatch(b, lookup.CloudWatchConfig{})
	req := parse(b, "(914) 265-4371 5/20 1:15pm")
	step4 := max(benchRouter, benchRouter+benchStored)
	critical := benchDB + max(benchS3, (benchAWS+benchQuery+benchAWS)+step4)

	var total, criticalSum time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Real queries finish at any moment between two polls: step the query's
		// duration through one poll interval so the mean covers every phase.
		run := benchQuery + time.Duration(i%8)*25*time.Millisecond
		for _, r := range w.Regions {
			w.Logs.SetReady(r, 0, run)
		}
		criticalSum += critical - benchQuery + run
		// A fresh OpenRouter client each time: its LRU would otherwise skip step 4.
		or := lookup.NewOpenRouter(lookup.OpenRouterConfig{BaseURL: w.OpenRouter.URL(), Key: lookuptest.StaticKey(lookuptest.OpenRouterDefaultKey)})
		svc := lookup.NewService(slowCalls{pg, benchDB}, cw, or, lookup.ServiceConfig{Contents: or, Analyses: analyses})
		start := time.Now()
		tr := svc.Trace(context.Background(), req, nil)
		total += time.Since(start)
		if tr.Outcome != lookup.OutcomeTraced || len(tr.Stages) != 3 || len(tr.Errors) != 0 {
			b.Fatalf("trace: %s %d stages %v", tr.Outcome, len(tr.Stages), tr.Errors)
		}
		if tr.Verdict == nil || tr.Verdict.Code != lookup.VerdictModelOutput {
			b.Fatalf("verdict %+v", tr.Verdict)
		}
	}
	mean := total / time.Duration(b.N)
	ratio := float64(total) / float64(criticalSum)
	critical = criticalSum / time.Duration(b.N)
	region := critical - benchDB - step4
	// A sequential walk: every region, then every generation and content, then S3.
	sequential := benchDB + 3*region + 3*(benchRouter+benchRouter+benchStored) + benchS3
	b.ReportMetric(ratio, "x_critical_path")
	b.ReportMetric(float64(mean.Milliseconds()), "ms/trace")
	b.Logf("trace %v, mean critical path %v (DB %v + region %v + max(generation %v, content %v); S3 %v overlaps): ratio %.3f (target ≤ 1.10); a sequential walk would take %v (%.2f×)",
		mean.Round(time.Millisecond), critical, benchDB, region, benchRouter, benchRouter+benchStored, benchS3, ratio, sequential,
		float64(sequential)/float64(critical))
	fmt.Printf("trace/critical-path ratio: %.3f (trace %v, critical path %v)\n", ratio, mean.Round(time.Millisecond), critical)
}
