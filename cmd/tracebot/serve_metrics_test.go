package main

import (
	"net/http"
	"testing"
	"time"
)

// TestServeCountsTraceQueries traces once through a real `serve` on the real
// backends path and reads the step-3 batching metrics: one query per region, each
// serving one search, nothing saved.
func TestServeCountsTraceQueries(t *testing.T) {
	c, w := newLoadCluster(t)
	r := c.start(t)
	if code := r.send(t, "/slack/commands", loadCommand(c, "UMETRICS").Form()); code != http.StatusOK {
		t.Fatalf("slash command: HTTP %d", code)
	}
	c.awaitResults(t, 1, 30*time.Second)
	m := scrapeMetrics(t, r)
	regions := float64(len(w.Regions))
	for name, want := range map[string]float64{
		`tracebot_insights_trace_query_sessions_count`:          regions,
		`tracebot_insights_trace_query_sessions_sum`:            regions,
		`tracebot_insights_trace_query_sessions_bucket{le="1"}`: regions,
		`tracebot_insights_queries_saved_total`:                 0,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
}
