package lookuptest

import (
	"context"
	"slices"
	"testing"

	"github.com/callytics/tracebot/lookup"
)

// The report world over the wire answers as the in-process sandbox does: the
// same traffic and functions give the same numbers and warnings.
func TestReportWorldMatchesTheSandbox(t *testing.T) {
	w := NewReportWorld(t)
	cfg := lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax}
	wire, sandbox := w.Engine(t, cfg), lookup.NewSandboxReports(cfg)
	for _, words := range []string{"cost 2h", "cache 24h", "finish 24h", "providers 24h", "deploys"} {
		q, err := lookup.ParseReportQuery(words, lookup.ReportParseOptions{Now: lookup.SandboxNow})
		if err != nil {
			t.Fatal(err)
		}
		got, err := wire.Report(context.Background(), q)
		if err != nil {
			t.Fatalf("%s over the wire: %v", words, err)
		}
		want, err := sandbox.Report(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Warnings) == 0 || !slices.EqualFunc(got.Warnings, want.Warnings, func(a, b lookup.ReportWarning) bool { return a.Code == b.Code && a.Stage == b.Stage }) {
			t.Errorf("%s: warnings %+v, sandbox %+v", words, got.Warnings, want.Warnings)
		}
		if got.Cost != nil && (got.Cost.Rows != want.Cost.Rows || got.Cost.TotalCostUSD != want.Cost.TotalCostUSD) {
			t.Errorf("cost: %d rows $%f, sandbox %d rows $%f", got.Cost.Rows, got.Cost.TotalCostUSD, want.Cost.Rows, want.Cost.TotalCostUSD)
		}
	}
}
