package lookup_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/insights"
	"github.com/callytics/tracebot/lookup/lookuptest"
	"github.com/callytics/tracebot/lookup/numfmt"
)

// The report tests' day: traffic from rpStart for 24 hours, "now" at its end.
var (
	rpStart = time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)
	rpNow   = rpStart.Add(24 * time.Hour)
	rpZone  = mustZone("America/New_York")
)

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return z
}

// rpNoisy is a day that shows every warning of SPEC §12.
var rpNoisy = lookup.TrafficConfig{
	Seed: 7, Start: rpStart, Hours: 24, SessionsPerHour: 12,
	LongInput: 3, CacheMiss: 2, CacheCollapse: []int{6, 7, 8},
	LengthSpike:        &lookup.TrafficSpike{Stage: "coaching", Hours: []int{14}, Share: 0.5},
	ContentFilterSpike: &lookup.TrafficSpike{Stage: lookup.StageContacts, Hours: []int{20, 21}, Share: 0.45},
	SwitchShare:        0.1,
}

type reportWorld struct {
	srv  *lookuptest.LogsServer
	rows []lookup.TrafficRow
	cw   *lookup.CloudWatch
}

func newReportWorld(t testing.TB, traffic lookup.TrafficConfig) *reportWorld {
	srv := newLogsWorld(t)
	rows := lookup.GenerateTraffic(traffic)
	srv.LoadTraffic(rows)
	return &reportWorld{srv: srv, rows: rows, cw: newCWSearcher(t, srv, nil)}
}

func (w *reportWorld) engine(tune func(*lookup.ReportConfig)) *lookup.ReportEngine {
	cfg := lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax, Regions: cwRegions}
	if tune != nil {
		tune(&cfg)
	}
	return lookup.NewReportEngine(w.cw, nil, cfg)
}

func rpQuery(t testing.TB, text string) lookup.ReportQuery {
	t.Helper()
	q, err := lookup.ParseReportQuery(text, lookup.ReportParseOptions{Now: rpNow, Zone: rpZone})
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return q
}

// inWindow are the rows of the regions that answered inside q's window.
func (w *reportWorld) inWindow(q lookup.ReportQuery, failed string) []lookup.TrafficRow {
	var out []lookup.TrafficRow
	for _, r := range w.rows {
		ts := r.Timestamp.Truncate(time.Second)
		if r.Region != failed && !ts.Before(q.From) && ts.Before(q.To) {
			out = append(out, r)
		}
	}
	return out
}

// reportJSON is the report as `report --json` prints it.
func reportJSON(t *testing.T, r *lookup.Report) map[string]any {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var approx = cmpopts.EquateApprox(0, 1e-9)

// nanoUSD sums costs as reports do, in whole nano-dollars: a report's money
// equals the rows' exactly, with no float noise either way.
type nanoUSD int64

func (n *nanoUSD) add(usd float64) { *n += nanoUSD(math.Round(usd * 1e9)) }
func (n nanoUSD) usd() float64     { return float64(n) / 1e9 }

// The fields of SPEC §12 every kind has, and each kind's own.
var (
	rpCommonFields = []string{"kind", "from", "to", "zone", "regions", "bytes_scanned", "warnings"}
	rpKindFields   = map[string][]string{
		"cost":      {"top", "total_cost_usd", "rows"},
		"cache":     {"series", "hours", "overall"},
		"finish":    {"series", "shares"},
		"providers": {"mix", "switched_sessions", "sessions", "examples"},
		"deploys":   {"functions"},
	}
	rpItemFields = map[string][]string{
		"regions":   {"region", "state", "bytes_scanned", "error"},
		"warnings":  {"code", "message", "stage", "from", "to"},
		"top":       {"timestamp", "region", "session_id", "stage", "model", "provider", "generation_id", "link", "input_tokens", "output_tokens", "cache_ratio", "cost_usd"},
		"mix":       {"model", "provider", "requests", "share", "cost_usd"},
		"functions": {"function", "region", "code_sha256", "version", "last_modified", "error"},
	}
)

// assertSpecFields checks that the JSON holds every field §12 names for kind.
func assertSpecFields(t *testing.T, m map[string]any, kind string) {
	t.Helper()
	for _, f := range append(slices.Clone(rpCommonFields), rpKindFields[kind]...) {
		if _, ok := m[f]; !ok {
			t.Errorf("%s --json lacks %q", kind, f)
		}
	}
	for list, fields := range rpItemFields {
		items, _ := m[list].([]any)
		for _, it := range items {
			obj := it.(map[string]any)
			for _, f := range fields {
				if _, ok := obj[f]; !ok {
					t.Errorf("%s: an item of %q lacks %q: %v", kind, list, f, obj)
				}
			}
		}
	}
	if m["kind"] != kind {
		t.Errorf("kind %v, want %s", m["kind"], kind)
	}
}

func reportWarningCodes(r *lookup.Report) []string {
	var out []string
	for _, w := range r.Warnings {
		out = append(out, w.Code+"/"+w.Stage)
	}
	return out
}

func hourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// rpOddRows are ai_usage lines the generator never writes, for us-east-1 inside
// the cost 2h window: three without inputTokens (they count in the totals, not
// in the median) and one that logged 0 input tokens (a value of 0 in the median).
func rpOddRows(q lookup.ReportQuery) (events []insights.Event, costs []float64, inputs []int64) {
	for i, f := range []map[string]string{
		{"costUsd": "0.0000113"}, {"costUsd": "0.0000021", "outputTokens": "12"}, {},
		{"costUsd": "0.0000007", "inputTokens": "0", "cacheReadTokens": "0"},
	} {
		f["@message"], f["model"], f["service"] = "INFO ai_usage", lookup.ModelQwen, "contacts-analyzer"
		events = append(events, insights.Event{Timestamp: q.From.Add(time.Duration(10+i) * time.Minute), Fields: f})
		if c, err := strconv.ParseFloat(f["costUsd"], 64); err == nil {
			costs = append(costs, c)
		}
		if n, err := strconv.ParseInt(f["inputTokens"], 10, 64); err == nil {
			inputs = append(inputs, n)
		}
	}
	return events, costs, inputs
}

// medianOf is the exact median of values (the mean of the middle two for an
// even count).
func medianOf(values []int64) float64 {
	s := slices.Sorted(slices.Values(values))
	return float64(s[(len(s)-1)/2]+s[len(s)/2]) / 2
}

// medianPrecision is how far the report's median may be from the exact one: a
// value of a 1%-wide logarithmic bucket is within e^0.005 of its midpoint.
var medianPrecision = math.Exp(0.005) - 1

func TestReportCostMatchesRows(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	w.srv.Fail(cwWest2, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	q := rpQuery(t, "cost 2h")
	odd, oddCosts, oddInputs := rpOddRows(q)
	w.srv.AddEvents(cwEast1, cwContactsGroup(cwEast1), odd...)
	r, err := w.engine(nil).Report(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	m := reportJSON(t, r)
	assertSpecFields(t, m, "cost")
	rows := w.inWindow(q, cwWest2)

	var want []lookup.TrafficRow
	var total nanoUSD
	inputs := slices.Clone(oddInputs)
	for _, c := range oddCosts {
		total.add(c)
	}
	for _, row := range rows {
		total.add(*row.CostUSD)
		inputs = append(inputs, row.InputTokens)
		want = append(want, row)
	}
	slices.SortFunc(want, func(a, b lookup.TrafficRow) int {
		return cmp.Or(cmp.Compare(*b.CostUSD, *a.CostUSD), b.Timestamp.Compare(a.Timestamp))
	})
	want = want[:20]
	var wantTop, gotTop []string
	for _, row := range want {
		wantTop = append(wantTop, row.OpenRouterID+" "+row.SessionID+" "+row.Stage+" "+row.Region)
	}
	for _, row := range r.Cost.Top {
		gotTop = append(gotTop, row.GenerationID+" "+row.SessionID+" "+row.Stage+" "+row.Region)
		if row.Link != "https://openrouter.ai/activity/"+row.GenerationID {
			t.Errorf("link %q", row.Link)
		}
	}
	if diff := gocmp.Diff(wantTop, gotTop); diff != "" {
		t.Errorf("top 20 (-want +got):\n%s", diff)
	}
	if r.Cost.Top[0].CostUSD != *want[0].CostUSD || r.Cost.Top[0].InputTokens != want[0].InputTokens {
		t.Errorf("top row %+v, want %+v", r.Cost.Top[0], want[0])
	}
	if n := int64(len(rows) + len(odd)); r.Cost.TotalCostUSD != total.usd() || r.Cost.Rows != n {
		t.Errorf("total %v over %d rows, want %v over %d", r.Cost.TotalCostUSD, r.Cost.Rows, total.usd(), n)
	}
	var sum int64
	for _, n := range inputs {
		sum += n
	}
	mean, median := float64(sum)/float64(len(inputs)), medianOf(inputs)
	if r.Cost.InputRows != int64(len(inputs)) || !gocmp.Equal(r.Cost.MeanInputTokens, mean, approx) || m["median_input_tokens"] == nil {
		t.Errorf("mean input %v over %d rows, want %v over %d", r.Cost.MeanInputTokens, r.Cost.InputRows, mean, len(inputs))
	}
	if got := r.Cost.MedianInputTokens; math.Abs(got-median) > medianPrecision*median {
		t.Errorf("median input %v, want %v within %.2f%%", got, median, 100*medianPrecision)
	}
	var wantLong, wantMiss int
	for _, row := range want {
		threshold := 3 * median
		if math.Abs(float64(row.InputTokens)-threshold) <= medianPrecision*threshold {
			t.Fatalf("a top row has %d input tokens, within the median's precision of 3× the median (%v): the test day cannot tell", row.InputTokens, median)
		}
		if float64(row.InputTokens) > threshold {
			wantLong++
		}
		if *row.CacheReadTokens == 0 {
			wantMiss++
		}
	}
	if wantLong == 0 || wantMiss == 0 {
		t.Fatalf("the test day has %d long inputs and %d cache misses in the top 20: the knobs did not work", wantLong, wantMiss)
	}
	if diff := gocmp.Diff([]string{"long_input/classify", "cache_miss/classify"}, reportWarningCodes(r)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	for _, wn := range r.Warnings {
		if !strings.Contains(wn.Message, "classify") || wn.From == nil || wn.To == nil || wn.From.Before(q.From) || !wn.To.Before(q.To) {
			t.Errorf("warning %+v", wn)
		}
	}
	long := fmt.Sprintf("classify: %d of the 20 most expensive rows had more than 3× the window's median input tokens (median ≈%s;",
		wantLong, numfmt.Count(int64(r.Cost.MedianInputTokens+0.5)))
	if !strings.Contains(r.Warnings[0].Message, long) {
		t.Errorf("long_input %q, want %q", r.Warnings[0].Message, long)
	}
	assertRegions(t, r, cwWest2, "us-west-2: AccessDenied on logs:StartQuery")
}

// TestReportLongInputIsAgainstTheMedian: many long rows raise the mean, not the
// median (SPEC §12 says median). Here 70 rows without a cost (never in the top
// 20) logged 40,000 input tokens each: 3× their window's mean is above every
// top row, 3× its median is not, and the long classify transcripts among the
// top rows are still flagged.
func TestReportLongInputIsAgainstTheMedian(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	q := rpQuery(t, "cost 2h")
	var bulk []insights.Event
	for i := range 70 {
		bulk = append(bulk, insights.Event{Timestamp: q.From.Add(time.Duration(i) * time.Minute), Fields: map[string]string{
			"@message": "INFO ai_usage", "model": lookup.ModelQwen, "service": "contacts-analyzer", "inputTokens": "40000"}})
	}
	w.srv.AddEvents(cwEast1, cwContactsGroup(cwEast1), bulk...)
	r, err := w.engine(nil).Report(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	inputs := []int64{}
	for _, row := range w.inWindow(q, "") {
		inputs = append(inputs, row.InputTokens)
	}
	for range bulk {
		inputs = append(inputs, 40000)
	}
	var sum int64
	for _, n := range inputs {
		sum += n
	}
	mean, median := float64(sum)/float64(len(inputs)), medianOf(inputs)
	var overMedian, overMean int
	for _, row := range r.Cost.Top {
		if float64(row.InputTokens) > 3*median {
			overMedian++
		}
		if float64(row.InputTokens) > 3*mean {
			overMean++
		}
	}
	if overMedian == 0 || overMean != 0 {
		t.Fatalf("top rows over 3× the median %v: %d, over 3× the mean %v: %d; the test wants some and none", median, overMedian, mean, overMean)
	}
	want := fmt.Sprintf("classify: %d of the 20 most expensive rows had more than 3× the window's median input tokens", overMedian)
	if i := slices.IndexFunc(r.Warnings, func(w lookup.ReportWarning) bool { return w.Code == lookup.WarnLongInput }); i < 0 || !strings.Contains(r.Warnings[i].Message, want) {
		t.Errorf("warnings %v, want long_input saying %q", reportWarningCodes(r), want)
	}
	if math.Abs(r.Cost.MedianInputTokens-median) > medianPrecision*median {
		t.Errorf("median %v, want %v within %.2f%%", r.Cost.MedianInputTokens, median, 100*medianPrecision)
	}
}

// assertRegions checks that failed is named with its cause and the others answered.
func assertRegions(t *testing.T, r *lookup.Report, failed, cause string) {
	t.Helper()
	var scanned int64
	for _, reg := range r.Regions {
		scanned += reg.BytesScanned
		switch {
		case reg.Region == failed && (reg.State != lookup.RegionFailed || reg.Error != cause):
			t.Errorf("%s: state %s, error %q; want failed with %q", reg.Region, reg.State, reg.Error, cause)
		case reg.Region != failed && (reg.State != lookup.RegionRows || reg.Error != "" || reg.BytesScanned == 0):
			t.Errorf("%s: %+v, want rows and bytes scanned", reg.Region, reg)
		}
	}
	if len(r.Regions) != 3 || scanned != r.BytesScanned {
		t.Errorf("%d regions, Σ bytes %d, report says %d", len(r.Regions), scanned, r.BytesScanned)
	}
	if want := float64(r.BytesScanned) / (1 << 30) * 0.005; !gocmp.Equal(r.ScanCostUSD, want, approx) {
		t.Errorf("scan cost %v, want %v", r.ScanCostUSD, want)
	}
}

func TestReportCacheMatchesRows(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	w.srv.Fail(cwWest2, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	q := rpQuery(t, "cache 24h")
	r, err := w.engine(nil).Report(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	assertSpecFields(t, reportJSON(t, r), "cache")
	type key struct {
		hour  time.Time
		model string
	}
	in, read := map[key]int64{}, map[key]int64{}
	var allIn, allRead int64
	for _, row := range w.inWindow(q, cwWest2) {
		for _, k := range []key{{hourOf(row.Timestamp), row.Model}, {hourOf(row.Timestamp), ""}} {
			in[k] += row.InputTokens
			read[k] += *row.CacheReadTokens
		}
		allIn += row.InputTokens
		allRead += *row.CacheReadTokens
	}
	var want []lookup.CachePoint
	for _, k := range slices.SortedFunc(maps.Keys(in), func(a, b key) int { return cmp.Or(a.hour.Compare(b.hour), strings.Compare(a.model, b.model)) }) {
		if k.model != "" {
			want = append(want, lookup.CachePoint{Bucket: k.hour, Model: k.model, InputTokens: in[k], CacheReadTokens: read[k], CacheRatio: new(float64(read[k]) / float64(in[k]))})
		}
	}
	if diff := gocmp.Diff(want, r.Cache.Series, approx); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	if len(r.Cache.Hours) != 24 {
		t.Errorf("%d hours, want 24", len(r.Cache.Hours))
	}
	for _, h := range r.Cache.Hours {
		k := key{h.Bucket, ""}
		if h.InputTokens != in[k] || h.CacheReadTokens != read[k] || !gocmp.Equal(*h.CacheRatio, float64(read[k])/float64(in[k]), approx) {
			t.Errorf("hour %v: %+v, want %d/%d", h.Bucket, h, read[k], in[k])
		}
	}
	if r.Cache.Overall.InputTokens != allIn || !gocmp.Equal(*r.Cache.Overall.CacheRatio, float64(allRead)/float64(allIn), approx) {
		t.Errorf("overall %+v, want %d/%d", r.Cache.Overall, allRead, allIn)
	}
	// Hours 6, 7 and 8 collapsed: one warning naming them, with the runbook's advice.
	if len(r.Warnings) != 1 {
		t.Fatalf("warnings %v, want one cache_collapse", reportWarningCodes(r))
	}
	wn := r.Warnings[0]
	from, to := rpStart.Add(6*time.Hour), rpStart.Add(9*time.Hour)
	if wn.Code != lookup.WarnCacheCollapse || !wn.From.Equal(from) || !wn.To.Equal(to) ||
		!strings.Contains(wn.Message, "02:00–05:00 EDT") || !strings.Contains(wn.Message, "prompts.ts") ||
		!strings.Contains(wn.Message, "prompts-cache-invariant.test.ts") {
		t.Errorf("warning %+v, want the collapse of 06:00–09:00 UTC (02:00–05:00 EDT) with the runbook's advice", wn)
	}
	assertRegions(t, r, cwWest2, "us-west-2: AccessDenied on logs:StartQuery")
}

func TestReportFinishMatchesRows(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	w.srv.Fail(cwWest2, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	q := rpQuery(t, "finish 24h")
	r, err := w.engine(nil).Report(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	assertSpecFields(t, reportJSON(t, r), "finish")
	counts := map[lookup.FinishPoint]int64{}
	stageRows := map[string]int64{}
	reasonRows := map[[2]string]int64{}
	for _, row := range w.inWindow(q, cwWest2) {
		counts[lookup.FinishPoint{Bucket: hourOf(row.Timestamp), Stage: row.Stage, FinishReason: row.FinishReason}]++
		stageRows[row.Stage]++
		reasonRows[[2]string{row.Stage, row.FinishReason}]++
	}
	got := map[lookup.FinishPoint]int64{}
	for _, p := range r.Finish.Series {
		n := p.Count
		p.Count = 0
		got[p] = n
	}
	if diff := gocmp.Diff(counts, got); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	if len(r.Finish.Shares) != len(reasonRows) {
		t.Errorf("%d shares, want %d", len(r.Finish.Shares), len(reasonRows))
	}
	for _, s := range r.Finish.Shares {
		n := reasonRows[[2]string{s.Stage, s.FinishReason}]
		if s.Count != n || !gocmp.Equal(s.Share, float64(n)/float64(stageRows[s.Stage]), approx) {
			t.Errorf("share %+v, want %d of %d", s, n, stageRows[s.Stage])
		}
	}
	want := []string{"length_spike/coaching", "content_filter_spike/contacts"}
	if diff := gocmp.Diff(want, reportWarningCodes(r)); diff != "" {
		t.Fatalf("warnings (-want +got):\n%s", diff)
	}
	length, filter := r.Warnings[0], r.Warnings[1]
	if !length.From.Equal(rpStart.Add(14*time.Hour)) || !length.To.Equal(rpStart.Add(15*time.Hour)) ||
		!strings.Contains(length.Message, "10:00–11:00 EDT") || !strings.Contains(length.Message, "4096") {
		t.Errorf("length warning %+v", length)
	}
	if !filter.From.Equal(rpStart.Add(20*time.Hour)) || !filter.To.Equal(rpStart.Add(22*time.Hour)) || !strings.Contains(filter.Message, "content-filter") {
		t.Errorf("content-filter warning %+v", filter)
	}
	share, n := r.Finish.HourShare(rpStart.Add(14*time.Hour), "coaching", lookup.FinishLength)
	if n < 20 || share <= 0.2 {
		t.Errorf("HourShare = %v of %d, want above 0.2 of at least 20", share, n)
	}
	assertRegions(t, r, cwWest2, "us-west-2: AccessDenied on logs:StartQuery")
}

func TestReportProvidersMatchesRows(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	w.srv.Fail(cwWest2, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	q := rpQuery(t, "providers 24h")
	r, err := w.engine(nil).Report(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	assertSpecFields(t, reportJSON(t, r), "providers")
	requests, perModel := map[[2]string]int64{}, map[string]int64{}
	cost := map[[2]string]*nanoUSD{}
	providers := map[string]map[string]bool{}
	for _, row := range w.inWindow(q, cwWest2) {
		k := [2]string{row.Model, row.Provider}
		requests[k]++
		perModel[row.Model]++
		if cost[k] == nil {
			cost[k] = new(nanoUSD)
		}
		cost[k].add(*row.CostUSD)
		if providers[row.SessionID] == nil {
			providers[row.SessionID] = map[string]bool{}
		}
		providers[row.SessionID][row.Provider] = true
	}
	if len(r.Providers.Mix) != len(requests) {
		t.Errorf("%d mix rows, want %d", len(r.Providers.Mix), len(requests))
	}
	for _, m := range r.Providers.Mix {
		k := [2]string{m.Model, m.Provider}
		if m.Requests != requests[k] || !gocmp.Equal(m.Share, float64(requests[k])/float64(perModel[m.Model]), approx) || m.CostUSD != cost[k].usd() {
			t.Errorf("mix %+v, want %d requests of %d, $%v", m, requests[k], perModel[m.Model], cost[k].usd())
		}
	}
	var switched int64
	for s, ps := range providers {
		if len(ps) > 1 {
			switched++
			if !slices.Contains(r.Providers.Examples, s) && len(r.Providers.Examples) < 2 {
				t.Errorf("examples %v lack switched sessions", r.Providers.Examples)
			}
		}
	}
	for _, ex := range r.Providers.Examples {
		if len(providers[ex]) < 2 {
			t.Errorf("example %s did not switch", ex)
		}
	}
	if r.Providers.Sessions != int64(len(providers)) || r.Providers.SwitchedSessions != switched || len(r.Providers.Examples) == 0 {
		t.Errorf("sessions %d, switched %d, examples %v; want %d and %d", r.Providers.Sessions, r.Providers.SwitchedSessions, r.Providers.Examples, len(providers), switched)
	}
	if diff := gocmp.Diff([]string{"provider_switching/"}, reportWarningCodes(r)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	assertRegions(t, r, cwWest2, "us-west-2: AccessDenied on logs:StartQuery")
}

func TestReportQuietDayWarnsNothing(t *testing.T) {
	w := newReportWorld(t, lookup.TrafficConfig{Seed: 3, Start: rpStart, Hours: 24})
	e := w.engine(nil)
	for _, text := range []string{"cost 2h", "cost 24h", "cache 24h", "finish 24h", "providers 24h"} {
		r, err := e.Report(context.Background(), rpQuery(t, text))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Warnings) != 0 {
			t.Errorf("%s on a quiet day: %v", text, reportWarningCodes(r))
		}
	}
}

// TestReportQueries checks what reached Insights: every range is the window,
// at most two queries per region per report, each an aggregation or a sort with
// a small limit, with small results.
func TestReportQueries(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	e := w.engine(nil)
	for _, text := range []string{"cost 2h", "cache 24h", "finish since 9am", "providers yesterday", "cost 7d"} {
		t.Run(text, func(t *testing.T) {
			before := len(w.srv.Queries())
			q := rpQuery(t, text)
			if _, err := e.Report(context.Background(), q); err != nil {
				t.Fatal(err)
			}
			perRegion := map[string]int{}
			for _, lq := range w.srv.Queries()[before:] {
				perRegion[lq.Region]++
				if !lq.Start.Equal(q.From) || !lq.End.Equal(q.To.Add(-time.Second)) {
					t.Errorf("%s queried [%v, %v], want the window [%v, %v)", lq.Region, lq.Start, lq.End, q.From, q.To)
				}
				if len(lq.LogGroups) != 2 {
					t.Errorf("%s queried groups %v, want all of the region's", lq.Region, lq.LogGroups)
				}
				parsed, err := insights.Parse(lq.Query)
				if err != nil {
					t.Fatal(err)
				}
				if !parsed.IsStats() && !strings.HasSuffix(lq.Query, "| limit 20") {
					t.Errorf("a query pulls raw rows:\n%s", lq.Query)
				}
				if lq.Rows > 200 {
					t.Errorf("a query returned %d rows", lq.Rows)
				}
			}
			for _, r := range cwRegions {
				if n := perRegion[r]; n < 1 || n > 2 {
					t.Errorf("%s got %d queries, want 1 or 2", r, n)
				}
			}
		})
	}
}

func TestReportCacheStartsNoQuery(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	e := w.engine(nil)
	starts := func() int {
		n := 0
		for _, r := range cwRegions {
			n += w.srv.Calls(r, lookuptest.LogsStartQuery)
		}
		return n
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := e.Report(context.Background(), rpQuery(t, "cost 2h")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := starts(); n != 6 {
		t.Fatalf("5 concurrent identical reports started %d queries, want 6 (two per region, once)", n)
	}
	r, err := e.Report(context.Background(), rpQuery(t, "cost 2h"))
	if err != nil || !r.Cached || r.Cost == nil {
		t.Fatalf("repeat: cached %v, err %v", r != nil && r.Cached, err)
	}
	if n := starts(); n != 6 {
		t.Errorf("a repeated report started queries: %d StartQuery calls", n)
	}
	// Another kind, or another env, is another report.
	if _, err := e.Report(context.Background(), rpQuery(t, "cache 24h")); err != nil {
		t.Fatal(err)
	}
	if n := starts(); n != 9 {
		t.Errorf("%d StartQuery calls after a cache report, want 9", n)
	}
}

func TestReportFailuresAreNotCached(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	w.srv.Fail(cwEast1, lookuptest.LogsStartQuery, "ServiceUnavailableException", 1)
	e := w.engine(nil)
	r, err := e.Report(context.Background(), rpQuery(t, "cache 24h"))
	if err != nil || r.Regions[0].State != lookup.RegionFailed {
		t.Fatalf("first: %v, %+v", err, r.Regions)
	}
	r, err = e.Report(context.Background(), rpQuery(t, "cache 24h"))
	if err != nil || r.Cached || r.Regions[0].State != lookup.RegionRows {
		t.Errorf("second: cached %v, regions %+v, err %v; want a fresh run that heals us-east-1", r.Cached, r.Regions, err)
	}
}

func TestReportNoRegionAnswers(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	for _, r := range cwRegions {
		w.srv.Fail(r, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	}
	r, err := w.engine(nil).Report(context.Background(), rpQuery(t, "cost 2h"))
	if err == nil || r == nil || r.Answered() {
		t.Fatalf("err %v, report %v: want an error and the regions named", err, r)
	}
	for _, reg := range r.Regions {
		if reg.State != lookup.RegionFailed || !strings.Contains(reg.Error, "AccessDenied") {
			t.Errorf("%+v", reg)
		}
	}
}

// TestReportRegionAtTheRowCapFails: Insights returns at most 10,000 result rows
// and cuts the rest silently; a region whose answer reached the cap would merge
// short sums, so it fails, named, and the others are still shown.
func TestReportRegionAtTheRowCapFails(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	q := rpQuery(t, "cache 2h")
	var events []insights.Event
	for i := range 10_001 { // as many models in the hour: one stats row each
		at := q.From.Add(time.Duration(i) * 100 * time.Millisecond)
		events = append(events, insights.Event{Timestamp: at, Fields: map[string]string{
			"@message": "ai_usage", "model": fmt.Sprintf("m-%05d", i), "inputTokens": "100", "cacheReadTokens": "90"}})
	}
	w.srv.AddEvents(cwEast1, cwAIGroup(cwEast1), events...)
	r, err := w.engine(nil).Report(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	want := "us-east-1: the answer reached Insights' 10,000-row cap, so its sums would be short: ask for a shorter window"
	if reg := r.Regions[0]; reg.State != lookup.RegionFailed || reg.Error != want {
		t.Errorf("us-east-1: %s %q, want failed: %q", reg.State, reg.Error, want)
	}
	var input int64
	for _, row := range w.inWindow(q, cwEast1) {
		input += row.InputTokens
	}
	if r.Cache.Overall.InputTokens != input || r.Regions[1].State != lookup.RegionRows || r.Regions[2].State != lookup.RegionRows {
		t.Errorf("overall %d input tokens, regions %+v; want the other two regions' %d", r.Cache.Overall.InputTokens, r.Regions, input)
	}
}

func TestReportWindowTooLong(t *testing.T) {
	_, err := lookup.ParseReportQuery("cost 8d", lookup.ReportParseOptions{Now: rpNow, Zone: rpZone})
	var e *lookup.Error
	if !asError(err, &e) || e.Code != lookup.CodeWindowTooLong || !strings.Contains(e.Message, "bills per GB scanned") || !strings.Contains(e.Message, "7d") {
		t.Errorf("cost 8d: %v, want %s saying why", err, lookup.CodeWindowTooLong)
	}
	_, err = lookup.ParseReportQuery("cache 36h", lookup.ReportParseOptions{Now: rpNow, MaxRange: 24 * time.Hour})
	if lookup.ErrorCode(err) != lookup.CodeWindowTooLong {
		t.Errorf("cache 36h over a 24h max: %v", err)
	}
	// The engine refuses too, before any query.
	w := newReportWorld(t, rpNoisy)
	q := lookup.ReportQuery{Kind: lookup.ReportCache, From: rpNow.Add(-8 * 24 * time.Hour), To: rpNow}
	if _, err := w.engine(nil).Report(context.Background(), q); lookup.ErrorCode(err) != lookup.CodeWindowTooLong {
		t.Errorf("engine: %v", err)
	}
	if n := len(w.srv.Queries()); n != 0 {
		t.Errorf("%d queries for a refused window", n)
	}
}

func asError(err error, target **lookup.Error) bool {
	e, ok := err.(*lookup.Error)
	*target = e
	return ok
}

func TestReportDeploys(t *testing.T) {
	lam := lookuptest.NewLambdaServer(t)
	modified := time.Date(2026, 5, 19, 21, 4, 11, 0, time.UTC)
	for _, r := range cwRegions {
		sha := "new-sha-256"
		if r == cwEast2 {
			sha = "old-sha-256"
		}
		lam.SetFunction(r, "call-analytics-prod-ai-analysis-processor-"+r, lookuptest.LambdaFunction{CodeSHA256: sha, LastModified: modified})
		lam.SetFunction(r, "call-analytics-prod-contacts-analyzer-"+r, lookuptest.LambdaFunction{CodeSHA256: "contacts-sha", Version: "7", LastModified: modified})
	}
	lam.FailGetFunction(cwWest2, "AccessDeniedException", 403, 0)
	clients := map[string]lookup.FunctionsAPI{}
	for _, r := range cwRegions {
		clients[r] = lam.RegionClient(t, r)
	}
	e := lookup.NewReportEngine(newCWSearcher(t, newLogsWorld(t), nil), clients, lookup.ReportConfig{
		Regions: cwRegions, Functions: lookup.DefaultFunctions(cwPatterns)})
	progress := newProgressLog(0)
	r, err := e.ReportWithProgress(context.Background(), lookup.ReportQuery{Kind: lookup.ReportDeploys}, progress.hear)
	if err != nil {
		t.Fatal(err)
	}
	if steps := progress.get(); len(steps) != 4 || gocmp.Diff([]string{"us-east-1 rows", "us-west-2 failed", "us-east-2 rows"}, steps[3]) != "" {
		t.Errorf("progress %q: want the start, then each region as its functions were read", steps)
	}
	m := reportJSON(t, r)
	assertSpecFields(t, m, "deploys")
	if m["from"] != nil || m["to"] != nil {
		t.Errorf("deploys from/to %v %v, want null", m["from"], m["to"])
	}
	var got []string
	for _, f := range r.Deploys.Functions {
		got = append(got, f.Region+" "+f.Function+" "+f.CodeSHA256+" "+f.Version+" "+f.Error)
		if f.Error == "" && !f.LastModified.Equal(modified) {
			t.Errorf("%s last modified %v", f.Function, f.LastModified)
		}
	}
	want := []string{
		"us-east-1 call-analytics-prod-ai-analysis-processor-us-east-1 new-sha-256 $LATEST ",
		"us-east-1 call-analytics-prod-contacts-analyzer-us-east-1 contacts-sha 7 ",
		"us-west-2 call-analytics-prod-ai-analysis-processor-us-west-2   us-west-2: AccessDenied on lambda:GetFunction",
		"us-west-2 call-analytics-prod-contacts-analyzer-us-west-2   us-west-2: AccessDenied on lambda:GetFunction",
		"us-east-2 call-analytics-prod-ai-analysis-processor-us-east-2 old-sha-256 $LATEST ",
		"us-east-2 call-analytics-prod-contacts-analyzer-us-east-2 contacts-sha 7 ",
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff([]string{"code_differs/"}, reportWarningCodes(r)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if msg := r.Warnings[0].Message; !strings.Contains(msg, "us-east-2 runs old-sha-256") || !strings.Contains(msg, "ai-analysis-processor") {
		t.Errorf("code_differs message %q", msg)
	}
	if r.Regions[1].State != lookup.RegionFailed || r.Regions[1].Error != "us-west-2: AccessDenied on lambda:GetFunction" {
		t.Errorf("us-west-2 %+v", r.Regions[1])
	}
	// The line is what people read; the logs get the full cause.
	if api, ok := errors.AsType[smithy.APIError](r.Regions[1].Err); !ok || api.ErrorCode() != "AccessDeniedException" {
		t.Errorf("us-west-2's cause %v, want the GetFunction error", r.Regions[1].Err)
	}
	if n := len(lam.Gets()); n != 4 {
		t.Errorf("%d GetFunction calls answered, want 4", n)
	}
}

func TestSandboxReportsShowEveryWarning(t *testing.T) {
	e := lookup.NewSandboxReports(lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax})
	want := map[string][]string{
		"cost":      {"long_input/classify", "cache_miss/classify"},
		"cache":     {"cache_collapse/"},
		"finish":    {"length_spike/coaching", "content_filter_spike/contacts"},
		"providers": {"provider_switching/"},
		"deploys":   {"code_differs/"},
	}
	for kind, codes := range want {
		q, err := lookup.ParseReportQuery(kind, lookup.ReportParseOptions{Now: lookup.SandboxNow})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.Report(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(codes, reportWarningCodes(r)); diff != "" || !r.Sandbox {
			t.Errorf("sandbox %s (sample %v): warnings (-want +got):\n%s", kind, r.Sandbox, diff)
		}
	}
}

func TestParseReportQuery(t *testing.T) {
	now := time.Date(2026, 5, 22, 16, 30, 45, 0, time.UTC) // 12:30:45 EDT
	edt := func(d, h, m int) time.Time { return time.Date(2026, 5, d, h, m, 0, 0, rpZone).UTC() }
	tests := []struct {
		text     string
		kind     lookup.ReportKind
		from, to time.Time
		env      string
	}{
		{"cost", lookup.ReportCost, now.Add(-2 * time.Hour), now, ""},
		{"cost 2h", lookup.ReportCost, now.Add(-2 * time.Hour), now, ""},
		{"Cache 24h", lookup.ReportCache, now.Add(-24 * time.Hour), now, ""},
		{"cache", lookup.ReportCache, now.Add(-24 * time.Hour), now, ""},
		{"cache last 90m", lookup.ReportCache, now.Add(-90 * time.Minute), now, ""},
		{"cost 7d env test", lookup.ReportCost, now.Add(-7 * 24 * time.Hour), now, "test"},
		{"cost 3 days", lookup.ReportCost, now.Add(-3 * 24 * time.Hour), now, ""},
		{"finish since 9am", lookup.ReportFinish, edt(22, 9, 0), now, ""},
		{"finish since 13:15", lookup.ReportFinish, edt(21, 13, 15), now, ""},
		{"finish since 12:30pm", lookup.ReportFinish, edt(22, 12, 30), now, ""},
		{"finish since yesterday", lookup.ReportFinish, edt(21, 0, 0), now, ""},
		{"providers yesterday", lookup.ReportProviders, edt(21, 0, 0), edt(22, 0, 0), ""},
		{"providers today", lookup.ReportProviders, edt(22, 0, 0), now, ""},
		{"deploys", lookup.ReportDeploys, time.Time{}, time.Time{}, ""},
		{"deploys env=pre", lookup.ReportDeploys, time.Time{}, time.Time{}, "pre"},
		{"help", lookup.ReportHelp, time.Time{}, time.Time{}, ""},
		{"*cost* 2h", lookup.ReportCost, now.Add(-2 * time.Hour), now, ""},
		{"_cache_ *24h*", lookup.ReportCache, now.Add(-24 * time.Hour), now, ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			q, err := lookup.ParseReportQuery(tt.text, lookup.ReportParseOptions{Now: now, Zone: rpZone})
			if err != nil {
				t.Fatal(err)
			}
			if q.Kind != tt.kind || !q.From.Equal(tt.from) || !q.To.Equal(tt.to) || q.Env != tt.env || q.Zone != rpZone {
				t.Errorf("got %s [%v, %v) env %q, want %s [%v, %v) env %q", q.Kind, q.From, q.To, q.Env, tt.kind, tt.from, tt.to, tt.env)
			}
		})
	}
}

func TestParseReportQueryErrors(t *testing.T) {
	tests := []struct {
		text, code, says string
	}{
		{"cahce 24h", lookup.CodeNotUnderstood, "Did you mean “cache 24h”?"},
		{"cots", lookup.CodeNotUnderstood, "Did you mean “cost 2h”?"},
		{"provders", lookup.CodeNotUnderstood, "Did you mean “providers yesterday”?"},
		{"hlep", lookup.CodeNotUnderstood, "Did you mean “help”?"},
		{"weather 2h", lookup.CodeNotUnderstood, "is not a report: try"},
		{"cost fortnight", lookup.CodeNotUnderstood, "could not read the window"},
		{"cost since 25:00", lookup.CodeNotUnderstood, "could not read the time"},
		{"cost 0h", lookup.CodeNotUnderstood, "empty"},
		{"cost env staging", lookup.CodeNotUnderstood, "not an env"},
		{"cache 30d", lookup.CodeWindowTooLong, "bills per GB scanned"},
		{"", lookup.CodeNotUnderstood, "Which report?"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, err := lookup.ParseReportQuery(tt.text, lookup.ReportParseOptions{Now: rpNow})
			if lookup.ErrorCode(err) != tt.code || err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("%q: %v (code %q), want %s saying %q", tt.text, err, lookup.ErrorCode(err), tt.code, tt.says)
			}
		})
	}
}

func TestIsReportRequest(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"cost 2h", true},
		{"cache 24h", true},
		{"finish since 9am", true},
		{"providers yesterday", true},
		{"deploys", true},
		{"help", true},
		{"cahce 24h", true},
		{"cahce 24h env test", true},
		{"cots", true},
		{"cots 30d", true},
		{"*cost* 2h", true},
		{"_cache_ 24h", true},
		{"~finish~ since 9am", true},
		{"*cost 2h*", true},
		{"Lost the analysis of a call yesterday around 3pm", false},
		{"Post call summary is empty for the customer who called at 2pm", false},
		{"Most of the transcript is missing", false},
		{"Cots are fine but the coaching failed", false},
		{"(914) 265-4371 5/20 1:15pm", false},
		{"cost (914) 265-4371 5/20 1:15pm", false},
		{"cache s-abc123def456", false},
		{"session s-abc123def456", false},
		{"gen-1779299695-aBcDeFg", false},
		{"the analysis is wrong", false},
		{"hello", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := lookup.IsReportRequest(tt.text); got != tt.want {
			t.Errorf("IsReportRequest(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestReportKindsHaveExamples(t *testing.T) {
	for _, k := range lookup.ReportKinds {
		q, err := lookup.ParseReportQuery(k.Example, lookup.ReportParseOptions{Now: rpNow})
		if err != nil || q.Kind != k.Kind {
			t.Errorf("example %q: %v, kind %s", k.Example, err, q.Kind)
		}
		if !strings.Contains(lookup.ReportHelpText(), k.Example) {
			t.Errorf("help lacks %q", k.Example)
		}
	}
}

// TestReportWarningsNameTheDay: over a window of more than one local day a
// warning's hours carry their day, in English and Chinese ("in 15:00–17:00 EDT"
// of a 7d report did not say which day); within one day they need none.
func TestReportWarningsNameTheDay(t *testing.T) {
	e := lookup.NewSandboxReports(lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax})
	tests := []struct {
		words, code  string
		en, zh, notE string
	}{
		{"finish 7d", lookup.WarnLengthSpike, "in Thu May 21 15:00–17:00 EDT (15:00 EDT 25% of 36", "5月21日 周四 15:00–17:00 EDT 内", ""},
		{"cache 3d", lookup.WarnCacheCollapse, "3 consecutive hours, Fri May 22 02:00–05:00 EDT (02:00 EDT 14%", "5月22日 周五 02:00–05:00 EDT", ""},
		{"cache since midnight", lookup.WarnCacheCollapse, "3 consecutive hours, 02:00–05:00 EDT (02:00 EDT 14%", "，02:00–05:00 EDT（", "Fri"},
	}
	for _, tt := range tests {
		t.Run(tt.words, func(t *testing.T) {
			q, err := lookup.ParseReportQuery(tt.words, lookup.ReportParseOptions{Now: lookup.SandboxNow, Zone: rpZone})
			if err != nil {
				t.Fatal(err)
			}
			r, err := e.Report(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(r.Warnings, func(w lookup.ReportWarning) bool { return w.Code == tt.code })
			if i < 0 {
				t.Fatalf("no %s in %v", tt.code, reportWarningCodes(r))
			}
			w := r.Warnings[i]
			if !strings.Contains(w.Message, tt.en) || !strings.Contains(w.Text("zh"), tt.zh) || tt.notE != "" && strings.Contains(w.Message, tt.notE) {
				t.Errorf("%s:\n en %s\n zh %s\nwant %q and %q", tt.code, w.Message, w.Text("zh"), tt.en, tt.zh)
			}
		})
	}
}

// TestReportNoLogGroupIsNotAnswered: an env (or a TRACEBOT_LOG_GROUPS pattern)
// that names no group in any region searched nothing; the report says so as a
// warning and is not answered, instead of a quiet "$0 over 0 rows". One region
// with its groups answers as usual.
func TestReportNoLogGroupIsNotAnswered(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	q := rpQuery(t, "cost 2h env test")
	r, err := w.engine(nil).Report(context.Background(), q)
	if !errors.Is(err, lookup.ErrNoLogGroup) || r == nil || r.Answered() {
		t.Fatalf("err %v, answered %v: want ErrNoLogGroup and no answer", err, r != nil && r.Answered())
	}
	if diff := gocmp.Diff([]string{lookup.WarnNoLogGroup + "/"}, reportWarningCodes(r)); diff != "" {
		t.Fatalf("warnings (-want +got):\n%s", diff)
	}
	wn := r.Warnings[0]
	for _, want := range []string{`env "test"`, "us-east-1, us-west-2, us-east-2", "/aws/lambda/call-analytics-test-", "TRACEBOT_LOG_GROUPS", "TRACEBOT_ENV"} {
		if !strings.Contains(wn.Message, want) {
			t.Errorf("warning lacks %q: %s", want, wn.Message)
		}
	}
	if zh := wn.Text("zh"); !strings.Contains(zh, "日志组") || !strings.Contains(zh, "TRACEBOT_LOG_GROUPS") || !strings.Contains(zh, `"test"`) {
		t.Errorf("zh warning %s", zh)
	}
	if n := len(w.srv.Queries()); n != 0 {
		t.Errorf("%d queries ran", n)
	}

	// Only us-east-2 has the test env's groups: the report is answered, no warning.
	w = newReportWorld(t, rpNoisy)
	w.srv.SetLogGroups(cwEast2, "/aws/lambda/call-analytics-test-ai-analysis-processor-us-east-2")
	r, err = w.engine(nil).Report(context.Background(), q)
	if err != nil || !r.Answered() || len(r.Warnings) != 0 {
		t.Errorf("one region with groups: err %v, answered %v, warnings %v", err, r.Answered(), reportWarningCodes(r))
	}
}

// TestReportMoneyHasNoFloatNoise: every amount in `report --json` is a whole
// number of nano-dollars, however Insights' float sums and the merge add up
// ("total_cost_usd": 2.8842960000000026 before).
func TestReportMoneyHasNoFloatNoise(t *testing.T) {
	e := lookup.NewSandboxReports(lookup.ReportConfig{})
	amount := regexp.MustCompile(`"(?:total_cost_usd|cost_usd|scan_cost_usd)":(-?[0-9.e+-]+)`)
	kolkata := mustZone("Asia/Kolkata")
	for _, words := range []string{"cost since midnight", "cost 24h", "providers 24h"} {
		q, err := lookup.ParseReportQuery(words, lookup.ReportParseOptions{Now: lookup.SandboxNow, Zone: kolkata})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.Report(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		found := amount.FindAllSubmatch(b, -1)
		if len(found) < 3 {
			t.Fatalf("%s: %d amounts in %s", words, len(found), b)
		}
		for _, m := range found {
			v, err := strconv.ParseFloat(string(m[1]), 64)
			if err != nil || v != math.Round(v*1e9)/1e9 {
				t.Errorf("%s: %s is not a whole number of nano-dollars", words, m[0])
			}
		}
	}
}

// TestReportCostBucketsAreBounded: the cost totals come back as at most one row
// per 1%-wide bucket of input tokens, however many rows and sizes a window has:
// every size from 1 to 2 million tokens is at most 1,451 rows (and one for rows
// without input tokens), far under Insights' 10,000-row page, and the median is still within the buckets' precision.
func TestReportCostBucketsAreBounded(t *testing.T) {
	w := newReportWorld(t, lookup.TrafficConfig{Seed: 5, Start: rpStart, Hours: 1})
	q := rpQuery(t, "cost 7d")
	var events []insights.Event
	var inputs []int64
	for n, at := int64(1), q.From; n <= 2_000_000; n = max(n+1, n*1003/1000) {
		for range 3 { // three rows of each size
			events = append(events, insights.Event{Timestamp: at, Fields: map[string]string{
				"@message": "INFO ai_usage", "model": lookup.ModelQwen, "inputTokens": strconv.FormatInt(n, 10), "costUsd": "0.000001"}})
			inputs = append(inputs, n)
			at = at.Add(time.Second)
		}
	}
	w.srv.AddEvents(cwEast1, cwAIGroup(cwEast1), events...)
	before := len(w.srv.Queries())
	r, err := w.engine(nil).Report(context.Background(), q)
	if err != nil || r.Regions[0].State != lookup.RegionRows {
		t.Fatalf("err %v, us-east-1 %+v", err, r.Regions[0])
	}
	buckets := map[int]bool{}
	for _, row := range w.inWindow(q, "") {
		inputs = append(inputs, row.InputTokens)
		if row.Region == cwEast1 {
			buckets[int(math.Floor(math.Log(float64(row.InputTokens))*100))] = true
		}
	}
	for _, e := range events {
		n, _ := strconv.ParseFloat(e.Fields["inputTokens"], 64)
		buckets[int(math.Floor(math.Log(n)*100))] = true
	}
	for _, lq := range w.srv.Queries()[before:] {
		if lq.Region == cwEast1 && strings.Contains(lq.Query, "input_bucket") && (lq.Rows != len(buckets) || lq.Rows > 1451) {
			t.Errorf("the totals came back in %d rows, want one per bucket used (%d), at most 1,451", lq.Rows, len(buckets))
		}
	}
	median := medianOf(inputs)
	if got := r.Cost.MedianInputTokens; math.Abs(got-median) > medianPrecision*median || r.Cost.InputRows != int64(len(inputs)) {
		t.Errorf("median %v of %d rows, want %v of %d within %.2f%%", got, r.Cost.InputRows, median, len(inputs), 100*medianPrecision)
	}
}

// TestReportSpendMatchesRows: the alerts' cost per hour and model is the rows'
// own, to the nano-dollar, with every hour of the window (zero where nothing ran).
func TestReportSpendMatchesRows(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	w.srv.Fail(cwWest2, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	q := lookup.ReportQuery{Kind: lookup.ReportSpend, From: rpNow.Add(-30 * time.Hour), To: rpNow, Zone: rpZone}
	r, err := w.engine(nil).Report(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		hour  time.Time
		model string
	}
	cost, rows := map[key]*nanoUSD{}, map[key]int64{}
	var total nanoUSD
	for _, row := range w.inWindow(q, cwWest2) {
		for _, k := range []key{{hourOf(row.Timestamp), row.Model}, {hourOf(row.Timestamp), ""}} {
			if cost[k] == nil {
				cost[k] = new(nanoUSD)
			}
			cost[k].add(*row.CostUSD)
			rows[k]++
		}
		total.add(*row.CostUSD)
	}
	var want []lookup.CostPoint
	for _, k := range slices.SortedFunc(maps.Keys(cost), func(a, b key) int { return cmp.Or(a.hour.Compare(b.hour), strings.Compare(a.model, b.model)) }) {
		if k.model != "" {
			want = append(want, lookup.CostPoint{Bucket: k.hour, Model: k.model, Rows: rows[k], CostUSD: cost[k].usd()})
		}
	}
	if diff := gocmp.Diff(want, r.Spend.Series); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	if len(r.Spend.Hours) != 30 || r.Spend.TotalCostUSD != total.usd() {
		t.Errorf("%d hours, total %v; want 30 and %v", len(r.Spend.Hours), r.Spend.TotalCostUSD, total.usd())
	}
	for _, h := range r.Spend.Hours {
		k := key{h.Bucket, ""}
		if c := cost[k]; c == nil && (h.CostUSD != 0 || h.Rows != 0) || c != nil && (h.CostUSD != c.usd() || h.Rows != rows[k]) {
			t.Errorf("hour %v: %+v", h.Bucket, h)
		}
	}
	if m := reportJSON(t, r); m["kind"] != "spend" || m["hours"] == nil || m["series"] == nil {
		t.Errorf("spend --json: %v", m)
	}
	if _, err := lookup.ParseReportQuery("spend 24h", lookup.ReportParseOptions{Now: rpNow}); err == nil {
		t.Error("spend is asked for by words; it is the alerts' own")
	}
	assertRegions(t, r, cwWest2, "us-west-2: AccessDenied on logs:StartQuery")
}
