package lookup

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-analyze/charts"
)

// Chart size: wide enough for 24 hour labels and a legend, at least 800×400.
const (
	ChartWidth  = 1200
	ChartHeight = 600
)

// ErrNoChart is returned for a report kind that has no chart (providers, deploys).
var ErrNoChart = errors.New("report: this kind has no chart")

// ReportChart renders the report's chart as a PNG: cache hit rate per hour (one
// line per model, and all models), the share of length and content-filter
// finishes per hour (one line per stage), or cost per hour (one line per model).
// Hours are labelled in the report's zone; every text in the image is ASCII.
// Kinds without a chart return ErrNoChart.
func ReportChart(r *Report) ([]byte, error) {
	var c chartSpec
	switch {
	case r.Cache != nil:
		c = cacheChart(r)
	case r.Finish != nil:
		c = finishChart(r)
	case r.Cost != nil:
		c = costChart(r)
	default:
		return nil, ErrNoChart
	}
	png, err := c.render(r)
	if err != nil {
		return nil, fmt.Errorf("report %s: chart: %w", r.Kind, err)
	}
	return png, nil
}

// chartSpec is one line chart over the report's hours.
type chartSpec struct {
	title, yTitle string
	hours         []time.Time
	names         []string
	values        [][]float64 // per series, per hour; charts.GetNullValue() where there is no data
	yMax          *float64
	yLabels       int // 0: the library's choice
	format        func(float64) string
	threshold     *chartThreshold
}

// chartThreshold is a horizontal line at a warning's threshold.
type chartThreshold struct {
	name  string
	value float64
}

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// hourLabels labels every step-th local hour (step grows with the window) and
// leaves the others blank, so labels stay evenly spaced; the first label and
// each midnight carry the date.
func hourLabels(hours []time.Time, zone *time.Location) []string {
	step := 1
	for _, s := range []struct{ upTo, step int }{{12, 1}, {30, 2}, {48, 3}, {96, 6}, {120, 12}} {
		if len(hours) > s.upTo {
			step = 24
			continue
		}
		step = s.step
		break
	}
	labels := make([]string, len(hours))
	for i, h := range hours {
		local := h.In(zone)
		switch {
		case local.Hour()%step != 0 && i != 0:
		case i == 0 || local.Hour() == 0:
			labels[i] = local.Format("Jan 2 15:04")
		default:
			labels[i] = local.Format("15:04")
		}
	}
	return labels
}

func (c chartSpec) render(r *Report) ([]byte, error) {
	if len(c.hours) == 0 || len(c.names) == 0 {
		return nil, errors.New("no data in the window")
	}
	zone := r.Zone
	if zone == nil {
		zone = time.UTC
	}
	labels := hourLabels(c.hours, zone)
	series := charts.NewSeriesListLine(c.values, charts.LineSeriesOption{Names: c.names})
	if c.threshold != nil {
		series = append(series, charts.LineSeries{Name: c.threshold.name, Values: constant(len(c.hours), c.threshold.value)})
		c.names = append(c.names, c.threshold.name)
	}
	opt := charts.NewLineChartOptionWithSeries(series)
	opt.Title = charts.TitleOption{Text: asciiOnly(c.title + "\n" + chartSubtitle(r, zone)), FontStyle: charts.FontStyle{FontSize: 15}}
	opt.Legend = charts.LegendOption{SeriesNames: asciiAll(c.names), Offset: charts.OffsetStr{Top: "58"},
		FontStyle: charts.FontStyle{FontSize: 12}}
	opt.Padding = charts.NewBoxEqual(24)
	opt.XAxis = charts.XAxisOption{Labels: labels, Title: asciiOnly("hour (" + zoneAbbrev(c.hours[0], zone) + ")"),
		LabelCount: len(labels), LabelFontStyle: charts.FontStyle{FontSize: 11}, TitleFontStyle: charts.FontStyle{FontSize: 12}}
	opt.YAxis = []charts.YAxisOption{{Title: asciiOnly(c.yTitle), Min: charts.Ptr(0.0), Max: c.yMax, LabelCount: c.yLabels,
		ValueFormatter: c.format, LabelFontStyle: charts.FontStyle{FontSize: 11}, TitleFontStyle: charts.FontStyle{FontSize: 12}}}
	opt.Symbol = charts.Symbol{Shape: charts.SymbolCircle}
	opt.LineStrokeWidth = 2.5
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputPNG, Width: ChartWidth, Height: ChartHeight})
	if err := p.LineChart(opt); err != nil {
		return nil, err
	}
	return p.Bytes()
}

func chartSubtitle(r *Report, zone *time.Location) string {
	s := fmt.Sprintf("%s to %s", r.From.In(zone).Format("Mon Jan 2 15:04"), r.To.In(zone).Format("Mon Jan 2 15:04 MST"))
	var failed []string
	for _, reg := range r.Regions {
		if reg.State == RegionFailed {
			failed = append(failed, reg.Region)
		}
	}
	if len(failed) > 0 {
		s += " - missing " + strings.Join(failed, ", ") + " (failed)"
	}
	if r.Sandbox {
		s += " - SAMPLE DATA"
	}
	return s
}

func zoneAbbrev(t time.Time, zone *time.Location) string {
	name, _ := t.In(zone).Zone()
	return name
}

// asciiOnly replaces what the chart's font and the SPEC keep out of images.
func asciiOnly(s string) string {
	s = strings.NewReplacer("–", "-", "—", "-", "×", "x", "…", "...", "“", "\"", "”", "\"").Replace(s)
	return strings.Map(func(r rune) rune {
		if (r < 0x20 || r > 0x7e) && r != '\n' {
			return '?'
		}
		return r
	}, s)
}

func asciiAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = asciiOnly(s)
	}
	return out
}

// chartHours are the report's hours; each series has one value per hour.
func chartHours(r *Report) []time.Time { return reportHours(r.From, r.To) }

func nullSeries(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = charts.GetNullValue()
	}
	return v
}

func percentAxis(f float64) string { return fmt.Sprintf("%.0f%%", f) }

func cacheChart(r *Report) chartSpec {
	hours := chartHours(r)
	index := hourIndex(hours)
	c := chartSpec{title: "Cache hit rate per hour (cache read tokens / input tokens)", yTitle: "hit rate (%)",
		hours: hours, yMax: charts.Ptr(100.0), yLabels: 11, format: percentAxis}
	if r.thresholds.cacheMin > 0 {
		c.threshold = &chartThreshold{fmt.Sprintf("collapse below %s", percent(r.thresholds.cacheMin)), r.thresholds.cacheMin * 100}
	}
	byModel := map[string][]float64{}
	for _, p := range r.Cache.Series {
		if byModel[p.Model] == nil {
			byModel[p.Model] = nullSeries(len(hours))
		}
		if i, ok := index[p.Bucket]; ok && p.CacheRatio != nil {
			byModel[p.Model][i] = *p.CacheRatio * 100
		}
	}
	for _, m := range slices.Sorted(maps.Keys(byModel)) {
		c.names, c.values = append(c.names, m), append(c.values, byModel[m])
	}
	all := nullSeries(len(hours))
	for _, p := range r.Cache.Hours {
		if i, ok := index[p.Bucket]; ok && p.CacheRatio != nil {
			all[i] = *p.CacheRatio * 100
		}
	}
	c.names, c.values = append(c.names, "all models"), append(c.values, all)
	return c
}

func finishChart(r *Report) chartSpec {
	hours := chartHours(r)
	index := hourIndex(hours)
	c := chartSpec{title: "Share of truncated (length) and filtered (content-filter) answers per hour", yTitle: "share of the stage's rows (%)",
		hours: hours, format: percentAxis}
	if r.thresholds.lengthMax > 0 {
		c.threshold = &chartThreshold{fmt.Sprintf("spike above %s", percent(r.thresholds.lengthMax)), r.thresholds.lengthMax * 100}
	}
	for _, reason := range []string{FinishLength, FinishContentFilter} {
		for _, stage := range r.Finish.Stages() {
			v := nullSeries(len(hours))
			seen := false
			for _, h := range hours {
				share, rows := r.Finish.HourShare(h, stage, reason)
				if rows > 0 {
					v[index[h]] = share * 100
					seen = seen || share > 0
				}
			}
			if seen || reason == FinishLength {
				c.names, c.values = append(c.names, stage+" "+reason), append(c.values, v)
			}
		}
	}
	return c
}

func costChart(r *Report) chartSpec {
	hours := chartHours(r)
	index := hourIndex(hours)
	c := chartSpec{title: "Cost per hour (sum of costUsd)", yTitle: "cost (USD)", hours: hours,
		format: func(f float64) string { return fmt.Sprintf("$%.2f", f) }}
	byModel := map[string][]float64{}
	for _, p := range r.Cost.Series {
		if byModel[p.Model] == nil {
			byModel[p.Model] = make([]float64, len(hours))
		}
		if i, ok := index[p.Bucket]; ok {
			byModel[p.Model][i] = p.CostUSD
		}
	}
	for _, m := range slices.Sorted(maps.Keys(byModel)) {
		c.names, c.values = append(c.names, cwOr(m, "unknown")), append(c.values, byModel[m])
	}
	all := make([]float64, len(hours))
	for _, p := range r.Cost.Hours {
		if i, ok := index[p.Bucket]; ok {
			all[i] = p.CostUSD
		}
	}
	c.names, c.values = append(c.names, "all models"), append(c.values, all)
	return c
}

func hourIndex(hours []time.Time) map[time.Time]int {
	m := make(map[time.Time]int, len(hours))
	for i, h := range hours {
		m[h] = i
	}
	return m
}
