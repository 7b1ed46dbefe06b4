package bot

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/callytics/tracebot/lookup"
)

// The report goldens (testdata/replies/report_*.json, .zh.json in Chinese) are
// the Replies of reports across calls, built from the sample world's reports.
//
//	go test ./bot -run Golden -update

// goldenReportOptions read report words at the sample world's now, in New York.
func goldenReportOptions(t *testing.T) lookup.ReportParseOptions {
	t.Helper()
	return lookup.ReportParseOptions{Now: lookup.SandboxNow, Zone: mustZone(t, "America/New_York"), MaxRange: 7 * 24 * time.Hour}
}

// goldenReport runs words over the sample world, as the sandbox does.
func goldenReport(t *testing.T, words string) (lookup.ReportQuery, *lookup.Report) {
	t.Helper()
	q, err := lookup.ParseReportQuery(words, goldenReportOptions(t))
	if err != nil {
		t.Fatalf("%s: %v", words, err)
	}
	e := lookup.NewSandboxReports(lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax})
	r, err := e.Report(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", words, err)
	}
	return q, r
}

// withFailedRegion is r as if us-east-2 had failed (a fixed fixture: the numbers
// stay those of every region).
func withFailedRegion(r *lookup.Report) *lookup.Report {
	c := *r
	c.Regions = append([]lookup.ReportRegion(nil), r.Regions...)
	for i := range c.Regions {
		if c.Regions[i].Region == "us-east-2" {
			c.Regions[i] = lookup.ReportRegion{Region: "us-east-2", State: lookup.RegionFailed,
				Error: "us-east-2: AccessDenied on logs:StartQuery"}
		}
	}
	return &c
}

func goldenReportReplies(t *testing.T, lang string) map[string]Reply {
	t.Helper()
	r := replies{lang: lang, sandbox: true}
	out := map[string]Reply{}
	for _, words := range []string{"cost 2h", "cache 24h", "finish 24h", "providers 24h", "deploys"} {
		q, rep := goldenReport(t, words)
		out["report_"+string(q.Kind)] = r.report(rep, q)
		if q.Kind == lookup.ReportCost {
			out["report_root"] = r.reportRoot(q, "U0SUPPORT")
			out["report_progress_start"] = r.reportProgress(q, nil)
			out["report_progress"] = r.reportProgress(q, &lookup.ReportProgress{Kind: q.Kind, Regions: []lookup.ReportRegion{
				{Region: "us-east-1", State: lookup.RegionRows, BytesScanned: 79_000},
				{Region: "us-west-2", State: lookup.RegionRunning},
				{Region: "us-east-2", State: lookup.RegionFailed, Error: "us-east-2: AccessDenied on logs:StartQuery"}}})
			out["report_cost_partial"] = r.report(withFailedRegion(rep), q)
			failed := withFailedRegion(rep)
			for i := range failed.Regions {
				failed.Regions[i] = lookup.ReportRegion{Region: failed.Regions[i].Region, State: lookup.RegionFailed,
					Error: failed.Regions[i].Region + ": AccessDenied on logs:StartQuery"}
			}
			out["report_failed"] = r.report(failed, q)
			out["report_error"] = r.reportError(q, errors.New("report cost: context deadline exceeded"))
		}
	}
	q, err := lookup.ParseReportQuery("cost 2h env test", goldenReportOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	e := lookup.NewSandboxReports(lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax})
	if rep, err := e.Report(context.Background(), q); rep != nil && errors.Is(err, lookup.ErrNoLogGroup) {
		out["report_no_log_group"] = r.report(rep, q)
	} else {
		t.Fatalf("cost 2h env test: %v, want %v", err, lookup.ErrNoLogGroup)
	}
	out["report_chart_failed"] = r.chartNotPosted(fmt.Errorf("post chart: %w", errors.New("slack files.getUploadURLExternal: missing_scope")))
	out["report_help"] = r.reportHelp(nil)
	for name, words := range map[string]string{"report_did_you_mean": "cahce 24h", "report_too_long": "cost 9d", "report_bad_window": "cost banana"} {
		_, err := lookup.ParseReportQuery(words, goldenReportOptions(t))
		if err == nil {
			t.Fatalf("%s: want a refusal", words)
		}
		out[name] = r.reportHelp(err)
	}
	return out
}

// TestReportReplyGolden compares each report Reply with its golden.
func TestReportReplyGolden(t *testing.T) { checkReplyGoldens(t, goldenReportReplies) }
