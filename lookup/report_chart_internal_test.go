package lookup

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestValueAxisLabelsDiffer: whatever the largest value, the axis holds it and
// its labels all read differently (an hourly cost under half a cent read "$0.00"
// on every label).
func TestValueAxisLabelsDiffer(t *testing.T) {
	tests := []struct {
		name   string
		high   float64
		min    int
		format func(int, float64) string
		want   []string
	}{
		{"cost under half a cent", 0.0042, 2, usdLabel, []string{"$0.000", "$0.001", "$0.002", "$0.003", "$0.004", "$0.005"}},
		{"cost of a tenth of a cent", 0.0012, 2, usdLabel,
			[]string{"$0.0000", "$0.0002", "$0.0004", "$0.0006", "$0.0008", "$0.0010", "$0.0012"}},
		{"cost in cents", 0.119, 2, usdLabel, []string{"$0.00", "$0.02", "$0.04", "$0.06", "$0.08", "$0.10", "$0.12"}},
		{"cost in dollars", 37.5, 2, usdLabel, []string{"$0.00", "$10.00", "$20.00", "$30.00", "$40.00"}},
		{"no cost at all", 0, 2, usdLabel, []string{"$0.00", "$0.20", "$0.40", "$0.60", "$0.80", "$1.00"}},
		{"shares up to the threshold", 20, 0, percentLabel, []string{"0%", "5%", "10%", "15%", "20%"}},
		{"small shares", 2.9, 0, percentLabel, []string{"0.0%", "0.5%", "1.0%", "1.5%", "2.0%", "2.5%", "3.0%"}},
		{"whole shares", 100, 0, percentLabel, []string{"0%", "20%", "40%", "60%", "80%", "100%"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top, n, format := valueAxis(tt.high, tt.min, tt.format)
			if top < tt.high {
				t.Errorf("top %v below the largest value %v", top, tt.high)
			}
			var got []string
			for i := range n {
				got = append(got, format(top*float64(i)/float64(n-1)))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("labels repeat: %q", got)
			}
		})
	}
}

// TestHourLabels: every step-th hour is labelled, the first label shown and each
// midnight with the date; the first hour, off that grid, only when its label
// clears the next one ("May 15 12:00" was drawn over "May 16 00:00").
func TestHourLabels(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	hoursFrom := func(start time.Time, n int) []time.Time {
		var out []time.Time
		for i := range n {
			out = append(out, start.Add(time.Duration(i)*time.Hour))
		}
		return out
	}
	shown := func(labels []string) map[int]string {
		m := map[int]string{}
		for i, l := range labels {
			if l != "" {
				m[i] = l
			}
		}
		return m
	}
	tests := []struct {
		name  string
		start time.Time
		n     int
		want  map[int]string // the first labels shown, by hour index
	}{
		{"7d from noon: the first hour is half a step before midnight", time.Date(2026, 5, 15, 12, 0, 0, 0, ny), 168,
			map[int]string{12: "May 16 00:00", 36: "May 17 00:00"}},
		{"7d from 4am: room for the first label", time.Date(2026, 5, 15, 4, 0, 0, 0, ny), 168,
			map[int]string{0: "May 15 04:00", 20: "May 16 00:00"}},
		{"24h from 1pm: one hour before the next label", time.Date(2026, 5, 21, 13, 0, 0, 0, ny), 24,
			map[int]string{1: "May 21 14:00", 3: "16:00"}},
		{"24h from noon: on the grid", time.Date(2026, 5, 21, 12, 0, 0, 0, ny), 24,
			map[int]string{0: "May 21 12:00", 2: "14:00"}},
		{"2h: every hour", time.Date(2026, 5, 22, 10, 0, 0, 0, ny), 2,
			map[int]string{0: "May 22 10:00", 1: "11:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shown(hourLabels(hoursFrom(tt.start.UTC(), tt.n), ny))
			first := map[int]string{}
			for _, i := range slices.Sorted(func(yield func(int) bool) {
				for i := range got {
					if !yield(i) {
						return
					}
				}
			})[:len(tt.want)] {
				first[i] = got[i]
			}
			if diff := cmp.Diff(tt.want, first); diff != "" {
				t.Errorf("first labels (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSpendChartAxisReadsSmallCosts: a window whose hourly cost stays under half
// a cent gets y labels that differ ("$0.00" on every label before).
func TestSpendChartAxisReadsSmallCosts(t *testing.T) {
	from := time.Date(2026, 5, 22, 14, 0, 0, 0, time.UTC)
	r := &Report{Kind: ReportSpend, From: from, To: from.Add(3 * time.Hour), Zone: time.UTC, Spend: &SpendReport{}}
	for i, cost := range []float64{0.0011, 0.0042, 0.0027} {
		h := from.Add(time.Duration(i) * time.Hour)
		r.Spend.Series = append(r.Spend.Series, CostPoint{Bucket: h, Model: "m", CostUSD: cost})
		r.Spend.Hours = append(r.Spend.Hours, CostPoint{Bucket: h, CostUSD: cost})
	}
	c := spendChart(r)
	if c.yMax == nil || c.yLabels < 2 || c.format == nil {
		t.Fatalf("the axis is left to the library (max %v, %d labels): its labels are not known to differ", c.yMax, c.yLabels)
	}
	var got []string
	for i := range c.yLabels {
		got = append(got, c.format(*c.yMax*float64(i)/float64(c.yLabels-1)))
	}
	if want := []string{"$0.000", "$0.001", "$0.002", "$0.003", "$0.004", "$0.005"}; !slices.Equal(got, want) {
		t.Errorf("labels %q, want %q", got, want)
	}
}

// TestHourNames: hours carry their day whenever the span they are named in
// covers more than one local day, in English and Chinese alike.
func TestHourNames(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(d, h int) time.Time { return time.Date(2026, 5, d, h, 0, 0, 0, ny) }
	tests := []struct {
		name           string
		window         [2]time.Time
		from, to       time.Time
		wantEN, wantZH string
		hourEN, hourZH string
	}{
		{"a 7d window", [2]time.Time{at(15, 12), at(22, 12)}, at(21, 15), at(21, 17),
			"Thu May 21 15:00–17:00 EDT", "5月21日 周四 15:00–17:00 EDT", "Thu May 21 15:00 EDT", "5月21日 周四 15:00 EDT"},
		{"a window within today", [2]time.Time{at(22, 0), at(22, 12)}, at(22, 2), at(22, 5),
			"02:00–05:00 EDT", "02:00–05:00 EDT", "02:00 EDT", "02:00 EDT"},
		{"yesterday, up to midnight", [2]time.Time{at(21, 0), at(22, 0)}, at(21, 22), at(22, 0),
			"22:00–00:00 EDT", "22:00–00:00 EDT", "22:00 EDT", "22:00 EDT"},
		{"a span across midnight", [2]time.Time{at(21, 12), at(22, 12)}, at(21, 23), at(22, 1),
			"Thu May 21 23:00–Fri May 22 01:00 EDT", "5月21日 周四 23:00–5月22日 周五 01:00 EDT", "Thu May 21 23:00 EDT", "5月21日 周四 23:00 EDT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := namesFor(tt.window[0], tt.window[1], ny)
			if got := n.span(tt.from, tt.to); got.en != tt.wantEN || got.zh != tt.wantZH {
				t.Errorf("span %q / %q, want %q / %q", got.en, got.zh, tt.wantEN, tt.wantZH)
			}
			if got := n.hour(tt.from); got.en != tt.hourEN || got.zh != tt.hourZH {
				t.Errorf("hour %q / %q, want %q / %q", got.en, got.zh, tt.hourEN, tt.hourZH)
			}
		})
	}
}
