package lookup

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/callytics/tracebot/lookup/numfmt"
)

// Helpers shared by the kinds' merges: reading stats result fields, hour buckets,
// stage order, and how numbers are written in messages.

// binHour is the result field of `by bin(1h)`, as Insights names it.
const binHour = "bin(1h)"

// statInt reads a count or a sum of tokens ("15360", "1.536e+06"); absent is 0.
func statInt(row map[string]string, name string) int64 {
	return int64(math.Round(statFloat(row, name)))
}

// statFloat reads a numeric result field; absent or unreadable is 0.
func statFloat(row map[string]string, name string) float64 {
	f, _ := cwFloat(row[name])
	return f
}

// statBucket reads the bin(1h) field ("2026-05-20 17:00:00.000", UTC).
func statBucket(row map[string]string) (time.Time, bool) {
	t, err := time.ParseInLocation(cwTimestampLayout, row[binHour], time.UTC)
	return t, err == nil
}

// statGroup is the log group of an @log value ("account:group").
func statGroup(row map[string]string) string {
	v := row["@log"]
	if _, group, ok := strings.Cut(v, ":"); ok {
		return group
	}
	return v
}

// reportHours are the starts of the UTC hours that overlap [from, to).
func reportHours(from, to time.Time) []time.Time {
	var out []time.Time
	for h := from.UTC().Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		out = append(out, h)
	}
	return out
}

// hourModel keys a series point: an hour bucket and a model.
type hourModel struct {
	bucket time.Time
	model  string
}

func compareHourModels(a, b hourModel) int {
	return cmp.Or(a.bucket.Compare(b.bucket), strings.Compare(a.model, b.model))
}

// stageRank orders stages as the pipeline runs them, then contacts, then the rest.
func stageRank(stage string) int {
	if i := slices.Index(pipelineStages, stage); i >= 0 {
		return i
	}
	if stage == StageContacts {
		return len(pipelineStages)
	}
	return len(pipelineStages) + 1
}

func compareStages(a, b string) int {
	return cmp.Or(cmp.Compare(stageRank(a), stageRank(b)), strings.Compare(a, b))
}

// Money is added in whole nano-dollars (1e-9 USD, the precision traces total
// costs at): Insights' float sums, and their sums across regions, then carry no
// float noise into a report ("total_cost_usd": 2.8842960000000026). A sum of
// rows' costs is exactly the sum of the rows' costs rounded to nano-dollars.
func nanoUSD(f float64) int64 { return int64(math.Round(f * 1e9)) }

// addUSD is a + b to the nano-dollar.
func addUSD(a, b float64) float64 { return float64(nanoUSD(a)+nanoUSD(b)) / 1e9 }

// roundUSD is f to the nano-dollar.
func roundUSD(f float64) float64 { return float64(nanoUSD(f)) / 1e9 }

// ratio is a/b, nil when b is 0.
func ratio(a, b int64) *float64 {
	if b == 0 {
		return nil
	}
	return ptr(float64(a) / float64(b))
}

// hourNames names the hours of a span in a zone as reports' sentences do: the
// clock alone ("15:00 EDT") when the span lies within one local day, else with
// the day ("Thu May 21 15:00 EDT", "5月21日 周四 15:00 EDT"), so an hour is never
// ambiguous over a multi-day window.
type hourNames struct {
	zone *time.Location
	days bool
}

// namesFor names hours within [from, to) in zone.
func namesFor(from, to time.Time, zone *time.Location) hourNames {
	zone = zoneOr(zone)
	return hourNames{zone: zone, days: !sameLocalDay(from, to, zone)}
}

// sameLocalDay reports whether [from, to) lies within one day in zone (a span
// that ends at midnight ends on the day it started).
func sameLocalDay(from, to time.Time, zone *time.Location) bool {
	f, l := from.In(zone), to.Add(-time.Nanosecond).In(zone)
	return !to.After(from) || f.YearDay() == l.YearDay() && f.Year() == l.Year()
}

// hour names the hour starting at t: "15:00 EDT", or "Thu May 21 15:00 EDT".
func (n hourNames) hour(t time.Time) sentence {
	local := t.In(n.zone)
	clock := local.Format("15:04 MST")
	if !n.days {
		return sentence{clock, clock}
	}
	return sentence{DayLabel(local, "en") + " " + clock, DayLabel(local, "zh") + " " + clock}
}

// span names the hours [from, to): "15:00–17:00 EDT", with the day in front when
// the names carry days ("Thu May 21 15:00–17:00 EDT"), and the end's day too
// when the span crosses midnight ("Thu May 21 23:00–Fri May 22 01:00 EDT").
func (n hourNames) span(from, to time.Time) sentence {
	f, t := from.In(n.zone), to.In(n.zone)
	clocks := f.Format("15:04") + "–" + t.Format("15:04 MST")
	switch {
	case !sameLocalDay(from, to, n.zone):
		return sentence{DayLabel(f, "en") + " " + f.Format("15:04") + "–" + DayLabel(t, "en") + " " + t.Format("15:04 MST"),
			DayLabel(f, "zh") + " " + f.Format("15:04") + "–" + DayLabel(t, "zh") + " " + t.Format("15:04 MST")}
	case n.days:
		return sentence{DayLabel(f, "en") + " " + clocks, DayLabel(f, "zh") + " " + clocks}
	}
	return sentence{clocks, clocks}
}

// percent writes a share as sentences do (numfmt.Share): "34%", one decimal
// below 10%, never "0%" for a share that is not zero.
func percent(f float64) string { return numfmt.Share(f) }

// runs splits ascending hour buckets into runs of consecutive hours.
func runs(hours []time.Time) [][]time.Time {
	var out [][]time.Time
	for i, h := range hours {
		if i == 0 || !h.Equal(hours[i-1].Add(time.Hour)) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], h)
	}
	return out
}
