package lookup

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-analyze/charts"
)

// Chart size: wide enough for 24 hour labels and a legend, at least 800×400.
const (
	ChartWidth  = 1200
	ChartHeight = 600
)

// ErrNoChart is returned for a report kind that has no chart (cost, providers,
// deploys).
var ErrNoChart = errors.New("report: this kind has no chart")

// ReportChart renders the report's chart as a PNG: cache hit rate per hour (one
// line per model, and all models), the share of length and content-filter
// finishes per hour (one line per stage), or the spend's cost per hour (one line
// per model, and all models). Hours are labelled in the report's zone; every
// text in the image is ASCII. Kinds without a chart (cost, providers, deploys)
// return ErrNoChart.
func ReportChart(r *Report) ([]byte, error) {
	var c chartSpec
	switch {
	case r.Cache != nil:
		c = cacheChart(r)
	case r.Finish != nil:
		c = finishChart(r)
	case r.Spend != nil:
		c = spendChart(r)
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
// leaves the others blank, so labels stay evenly spaced. The first hour is
// labelled too when it is off that grid only if its label leaves room before the
// next one (see firstLabelFits); the first label shown and each midnight carry
// the date.
func hourLabels(hours []time.Time, zone *time.Location) []string {
	step := labelStep(len(hours))
	labels := make([]string, len(hours))
	dated := false
	label := func(i int, local time.Time) {
		switch {
		case !dated || local.Hour() == 0:
			labels[i], dated = local.Format("Jan 2 15:04"), true
		default:
			labels[i] = local.Format("15:04")
		}
	}
	for i, h := range hours {
		local := h.In(zone)
		switch {
		case local.Hour()%step == 0:
			label(i, local)
		case i == 0 && firstLabelFits(hours, zone, step):
			label(i, local)
		}
	}
	return labels
}

// labelStep is how many hours apart the x axis labels of n hours are.
func labelStep(n int) int {
	for _, s := range []struct{ upTo, step int }{{12, 1}, {30, 2}, {48, 3}, {96, 6}, {120, 12}} {
		if n <= s.upTo {
			return s.step
		}
	}
	return 24
}

// Geometry of the x axis, to tell whether two labels collide: the width the
// hours share, and what one character of an 11pt label takes (measured on the
// rendered charts).
const (
	chartPlotWidth = ChartWidth - 110
	labelCharWidth = 7.5
	labelGap       = 10
)

// firstLabelFits reports whether a dated label on the first hour, which is off
// the grid of every step-th hour, clears the next label: the labels are centred
// on their hours, so the hours between them must span half of both labels and
// a gap. It never fits closer than step/2 hours.
func firstLabelFits(hours []time.Time, zone *time.Location, step int) bool {
	next := -1
	for i, h := range hours {
		if h.In(zone).Hour()%step == 0 {
			next = i
			break
		}
	}
	if next < 0 {
		return true
	}
	first := hours[0].In(zone).Format("Jan 2 15:04")
	second := hours[next].In(zone).Format("15:04")
	if hours[next].In(zone).Hour() == 0 {
		second = hours[next].In(zone).Format("Jan 2 15:04")
	}
	need := float64(len(first)+len(second))*labelCharWidth/2 + labelGap
	perHour := float64(chartPlotWidth) / float64(len(hours))
	return 2*next >= step && float64(next)*perHour >= need
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

// valueAxis is a y axis from 0 that holds high: a round step (1, 2 or 5 times
// a power of ten) about a sixth of high, the top the first step at or
// above it, and labels with the decimals the step needs (at least min), so
// neighbouring labels always read differently, however small the values.
func valueAxis(high float64, minDecimals int, format func(decimals int, v float64) string) (top float64, labels int, label func(float64) string) {
	if !(high > 0) || math.IsInf(high, 0) {
		high = 1
	}
	raw := high / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw*(1-1e-9) {
			step = m * mag
			break
		}
	}
	n := math.Ceil(high/step - 1e-9)
	decimals := max(minDecimals, stepDecimals(step))
	return n * step, int(n) + 1, func(v float64) string { return format(decimals, v) }
}

// stepDecimals is how many decimals write step exactly (0.02 → 2, 20 → 0).
func stepDecimals(step float64) int {
	for d := 0; d < 12; d++ {
		scaled := step * math.Pow(10, float64(d))
		if math.Abs(scaled-math.Round(scaled)) < 1e-6*scaled {
			return d
		}
	}
	return 12
}

func usdLabel(decimals int, v float64) string { return "$" + strconv.FormatFloat(v, 'f', decimals, 64) }

func percentLabel(decimals int, v float64) string {
	return strconv.FormatFloat(v, 'f', decimals, 64) + "%"
}

// seriesMax is the largest value of the series, nulls left out.
func seriesMax(values [][]float64) float64 {
	top := 0.0
	for _, vs := range values {
		for _, v := range vs {
			if v != charts.GetNullValue() && v > top {
				top = v
			}
		}
	}
	return top
}

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
		hours: hours}
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
	high := seriesMax(c.values)
	if c.threshold != nil {
		high = max(high, c.threshold.value)
	}
	top, labels, format := valueAxis(high, 0, percentLabel)
	c.yMax, c.yLabels, c.format = &top, labels, format
	return c
}

func spendChart(r *Report) chartSpec {
	hours := chartHours(r)
	index := hourIndex(hours)
	c := chartSpec{title: "Cost per hour (sum of costUsd)", yTitle: "cost (USD)", hours: hours}
	byModel := map[string][]float64{}
	for _, p := range r.Spend.Series {
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
	for _, p := range r.Spend.Hours {
		if i, ok := index[p.Bucket]; ok {
			all[i] = p.CostUSD
		}
	}
	c.names, c.values = append(c.names, "all models"), append(c.values, all)
	top, labels, format := valueAxis(seriesMax(c.values), 2, usdLabel)
	c.yMax, c.yLabels, c.format = &top, labels, format
	return c
}

func hourIndex(hours []time.Time) map[time.Time]int {
	m := make(map[time.Time]int, len(hours))
	for i, h := range hours {
		m[h] = i
	}
	return m
}
