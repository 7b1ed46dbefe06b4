package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
	"github.com/callytics/tracebot/lookup/pgtest"
)

// SPEC §10 targets of the burst.
const (
	burstTraces        = 50
	targetBurstRatio   = 3.0 // burst wall time ÷ one trace alone
	targetBurstQueries = 12  // StartQuery calls for the burst, 3 regions
	targetBurstScanned = 0.1 // data scanned per trace, burst ÷ alone
)

// burstHour is the first hour of the generated traffic; each iteration's calls
// lie in their own hour after it.
var burstHour = time.Date(2026, 5, 21, 12, 0, 0, 0, time.UTC)

// BenchmarkServeBurst is the bad-deploy burst of SPEC §10 against a real `serve`
// on its real backends path, with the injected latencies of
// BenchmarkServeConcurrentTraces: log groups full of generated traffic (30
// sessions an hour in each of 3 regions), and per iteration 51 of those sessions'
// calls in Postgres with their generations at OpenRouter, all from one busy hour.
// It traces one of them alone, then the other 50 at once from distinct users, and
// states in one run: burst wall time ÷ the lone trace's (target ≤ 3), the
// burst's StartQuery calls (target ≤ 12), and the Insights data scanned per trace
// in the burst ÷ alone (target ≤ 1/10), where a query's bytesScanned is shared
// equally by the sessions it asked for.
//
//	go test ./cmd/tracebot -run '^$' -bench ServeBurst -benchtime 1x
func BenchmarkServeBurst(b *testing.B) {
	c, w := newLoadCluster(b)
	calls := addBurstCalls(b, w, b.N)
	r := c.start(b)
	var alone, burst time.Duration
	var aloneBytes, burstBytes float64
	starts := 0
	done := 0
	b.ResetTimer()
	for i := range b.N {
		own := calls[i*(burstTraces+1) : (i+1)*(burstTraces+1)]
		mark := len(w.Logs.Queries())
		t0 := time.Now()
		c.sendReports(b, r, fmt.Sprintf("UALONE%d-", i), own[:1])
		done++
		c.awaitResults(b, done, loadTraceTimeout)
		alone += time.Since(t0)
		aloneBytes += scannedPerSession(w.Logs.Queries()[mark:])[own[0].session]

		mark = len(w.Logs.Queries())
		t0 = time.Now()
		c.sendReports(b, r, fmt.Sprintf("UBURST%d-", i), own[1:])
		done += burstTraces
		c.awaitResults(b, done, loadTraceTimeout)
		burst += time.Since(t0)
		queries := w.Logs.Queries()[mark:]
		starts += len(queries)
		per := scannedPerSession(queries)
		for _, call := range own[1:] {
			burstBytes += per[call.session] / burstTraces
		}
	}
	b.StopTimer()
	st := c.loadResults()
	m := scrapeMetrics(b, r)
	n := float64(b.N)
	ratio := float64(burst) / float64(alone)
	perBurst := float64(starts) / n
	scanned := burstBytes / aloneBytes
	maxPoll := 0
	for _, region := range w.Regions {
		maxPoll = max(maxPoll, w.Logs.MaxPollRate(region))
	}

	b.ReportMetric(ratio, "x_alone")
	b.ReportMetric(perBurst, "startqueries/burst")
	b.ReportMetric(scanned, "x_scanned_alone")
	b.ReportMetric(float64(st.failed+st.refused), "errors")
	b.Logf("%d different traces at once: %v, one alone %v: %.2f× (target ≤ %.0f): %s", burstTraces,
		(burst / time.Duration(b.N)).Round(time.Millisecond), (alone / time.Duration(b.N)).Round(time.Millisecond),
		ratio, targetBurstRatio, verdict(ratio <= targetBurstRatio))
	b.Logf("StartQuery calls for the burst: %.1f (target ≤ %d, %d without sharing): %s; %.0f queries saved, %.0f trace queries served %.1f searches each",
		perBurst, targetBurstQueries, burstTraces*len(w.Regions), verdict(perBurst <= targetBurstQueries),
		m["tracebot_insights_queries_saved_total"], m["tracebot_insights_trace_query_sessions_count"],
		m["tracebot_insights_trace_query_sessions_sum"]/max(1, m["tracebot_insights_trace_query_sessions_count"]))
	b.Logf("Insights data scanned per trace: %.1f kB in the burst, %.1f kB alone: %.3f (target ≤ %.2f): %s",
		burstBytes/n/1000, aloneBytes/n/1000, scanned, targetBurstScanned, verdict(scanned <= targetBurstScanned))
	b.Logf("results: %d, %d failed, %d refused; GetQueryResults per second in a region: max %d; Insights queries in flight: max %d; machine load average %s",
		st.done, st.failed, st.refused, maxPoll, w.Logs.MaxRunning(), loadAverage())

	if st.done != b.N*(burstTraces+1) || st.failed > 0 || st.refused > 0 {
		b.Errorf("want %d clean results, got %d (%d failed, %d refused): %v", b.N*(burstTraces+1), st.done, st.failed, st.refused, st.problems)
	}
	if ratio > targetBurstRatio {
		b.Errorf("the burst took %.2f× one trace alone, more than %.0f×", ratio, targetBurstRatio)
	}
	if perBurst > targetBurstQueries {
		b.Errorf("the burst started %.1f Insights queries, more than %d", perBurst, targetBurstQueries)
	}
	if scanned > targetBurstScanned {
		b.Errorf("a trace in the burst scanned %.3f of what one alone scans, more than %.2f", scanned, targetBurstScanned)
	}
	if maxPoll > loadPollRate || w.Logs.MaxRunning() > loadMaxQueries {
		b.Errorf("%d GetQueryResults calls in one second in a region (limit %d), %d queries at once (limit %d)", maxPoll, loadPollRate, w.Logs.MaxRunning(), loadMaxQueries)
	}
}

// burstCall is one call of the burst: its session and the report that finds it.
type burstCall struct {
	session string
	report  string
}

// addBurstCalls loads generated traffic into the world's Insights fake and, for
// each of iterations, 51 of its sessions from one hour as calls in Postgres (one
// phone number each) with their generations at OpenRouter.
func addBurstCalls(tb testing.TB, w *lookuptest.World, iterations int) []burstCall {
	tb.Helper()
	traffic := lookup.GenerateTraffic(lookup.TrafficConfig{Seed: 12, Start: burstHour, Hours: 2*iterations + 2,
		Regions: w.Regions, Env: w.Env, SessionsPerHour: 30})
	w.Logs.LoadTraffic(traffic)
	first := map[string]time.Time{} // session → its first line
	var order []string
	rows := map[string][]lookup.TrafficRow{}
	for _, r := range traffic {
		if _, ok := first[r.SessionID]; !ok {
			first[r.SessionID] = r.Timestamp
			order = append(order, r.SessionID)
		}
		rows[r.SessionID] = append(rows[r.SessionID], r)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		tb.Fatal(err)
	}
	var calls []burstCall
	var inserts []pgtest.CallRow
	for i := range iterations {
		hourStart := burstHour.Add(time.Duration(2*i+1) * time.Hour)
		var picked []string
		for _, s := range order {
			if t := first[s]; !t.Before(hourStart) && len(picked) < burstTraces+1 {
				picked = append(picked, s)
			}
		}
		if len(picked) < burstTraces+1 {
			tb.Fatalf("only %d sessions after %v", len(picked), hourStart)
		}
		for k, s := range picked {
			created := first[s].Add(-5 * time.Second).Truncate(time.Second)
			phone := fmt.Sprintf("+1914555%04d", i*(burstTraces+1)+k)
			inserts = append(inserts, pgtest.CallRow{TelephonySessionID: s, StoreID: "d4e5f6a7-0819-4a3b-8c5d-6e7f8091a2b3",
				FranchiseID: "retaintive-demo", FromPhoneNumber: phone, ToPhoneNumber: "+19145550999", ContactPhone: phone,
				CreatedAt: created.UTC().Format("2006-01-02 15:04:05"), S3AnalysisPath: "s3://callytics-prod-analysis/" + s + ".json"})
			calls = append(calls, burstCall{session: s,
				report: fmt.Sprintf("(%s) %s-%s %s", phone[2:5], phone[5:8], phone[8:], created.In(ny).Format("1/2 3:04pm"))})
			for _, r := range rows[s] {
				w.OpenRouter.AddGeneration(lookuptest.GenFromLookup(burstGeneration(r)))
			}
		}
	}
	if err := pgtest.InsertCalls(context.Background(), w.DSN, inserts...); err != nil {
		tb.Fatal(err)
	}
	return calls
}

// burstGeneration is OpenRouter's record of a generated line.
func burstGeneration(r lookup.TrafficRow) lookup.Generation {
	g := lookup.Generation{ID: r.OpenRouterID, Model: r.Model, ProviderName: r.Provider, TokensPrompt: r.InputTokens,
		TokensCompletion: r.OutputTokens, NativeTokensPrompt: r.InputTokens, NativeTokensCompletion: r.OutputTokens,
		FinishReason: r.FinishReason, NativeFinishReason: r.FinishReason, Latency: 900, GenerationTime: 850,
		CreatedAt: r.Timestamp.UTC().Format(time.RFC3339Nano)}
	if r.CostUSD != nil {
		g.TotalCost = *r.CostUSD
	}
	if r.CacheReadTokens != nil {
		g.NativeTokensCached = *r.CacheReadTokens
	}
	return g
}

// sendReports sends one /trace per call at once, from users prefix+i.
func (c *cluster) sendReports(tb testing.TB, r *replica, prefix string, calls []burstCall) {
	tb.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, call := range calls {
		cmd := loadCommand(c, prefix+fmt.Sprint(i))
		cmd.Text = call.report
		wg.Go(func() {
			<-start
			if code := r.send(tb, "/slack/commands", cmd.Form()); code != http.StatusOK {
				tb.Errorf("slash command of %s: HTTP %d", cmd.UserID, code)
			}
		})
	}
	close(start)
	wg.Wait()
}

// scannedPerSession shares each query's bytesScanned equally among the sessions
// it asked for.
func scannedPerSession(queries []lookuptest.LogsQuery) map[string]float64 {
	out := map[string]float64{}
	for _, q := range queries {
		for _, s := range q.Sessions {
			out[s] += q.Scanned.BytesScanned / float64(len(q.Sessions))
		}
	}
	return out
}
