package lookup

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/callytics/tracebot/lookup/numfmt"
)

// The cost report's two queries per region: the region's most expensive rows
// (the merged top 20 is among the regions' top 20s, so it is exact), and the
// totals by input size: rows, cost and input tokens per 1%-wide logarithmic
// bucket of inputTokens, floor(ln(inputTokens) × 100). Totals are the sums over
// the buckets; the buckets of every region add up to the window's histogram,
// whose median is within 0.5% of the exact one. Rows without inputTokens (or
// with 0, whose log is null) fall in bucket -1, counted by input_lines only when
// they logged inputTokens. The rows are bounded, however busy the window: 1,451
// buckets from 1 to 2 million tokens and bucket -1, against Insights'
// 10,000-row page.
const (
	costTopQuery = `fields @timestamp, @log, telephonySessionId, service, openrouterId, provider, model, inputTokens, outputTokens, cacheReadTokens, cacheReadRatio, costUsd
| filter @message like /ai_usage/ and ispresent(costUsd)
| sort costUsd desc
| limit 20`
	costTotalsQuery = `filter @message like /ai_usage/
| fields coalesce(floor(log(inputTokens) * 100), -1) as input_bucket
| stats count(*) as lines, sum(costUsd) as cost_usd, count(inputTokens) as input_lines, sum(inputTokens) as input_tokens by input_bucket`
)

// Input buckets: bucket b holds token counts in [e^(b/100), e^((b+1)/100)).
const (
	inputBucketsPerE = 100
	noInputBucket    = -1 // no inputTokens, or a count whose log is null (0)
)

// longInputFactor: a row is long when its input tokens exceed this × the median.
const longInputFactor = 3

type costKind struct{}

func (costKind) queries() []string { return []string{costTopQuery, costTotalsQuery} }

func (costKind) merge(e *ReportEngine, q ReportQuery, r *Report, answers []RegionAnswer) {
	c := &CostReport{Top: []CostRow{}}
	buckets := map[int64]int64{} // bucket → rows that logged inputTokens
	var inputTokens int64
	for _, a := range answers {
		for _, row := range a.Results[0] {
			c.Top = append(c.Top, costRow(a.Region, row, e.cfg.GenerationLink))
		}
		for _, row := range a.Results[1] {
			c.Rows += statInt(row, "lines")
			c.TotalCostUSD = addUSD(c.TotalCostUSD, statFloat(row, "cost_usd"))
			n := statInt(row, "input_lines")
			c.InputRows += n
			inputTokens += statInt(row, "input_tokens")
			buckets[inputBucket(row)] += n
		}
	}
	slices.SortFunc(c.Top, compareCostRows)
	c.Top = c.Top[:min(len(c.Top), ReportTopRows)]
	if c.InputRows > 0 {
		c.MeanInputTokens = float64(inputTokens) / float64(c.InputRows)
		c.MedianInputTokens = medianFromBuckets(buckets)
	}
	r.Cost = c
	r.Warnings = append(r.Warnings, costWarnings(c, q.Zone)...)
}

// inputBucket reads a totals row's input_bucket: noInputBucket when it is
// absent or not a whole number (Insights printing a log it could not take).
func inputBucket(row map[string]string) int64 {
	f, ok := cwFloat(row["input_bucket"])
	if !ok || f != math.Trunc(f) || f < noInputBucket || math.IsInf(f, 0) {
		return noInputBucket
	}
	return int64(f)
}

// medianFromBuckets is the median of the counts' values (the mean of the two
// middle ones for an even count), each value read as its bucket's geometric
// midpoint e^((b+½)/100), and noInputBucket's as 0. Every value of bucket b lies
// within a factor e^0.005 of that midpoint, so the result is within 0.5% of the
// exact median.
func medianFromBuckets(counts map[int64]int64) float64 {
	var n int64
	for _, c := range counts {
		n += c
	}
	if n == 0 {
		return 0
	}
	keys := slices.Sorted(maps.Keys(counts))
	at := func(rank int64) float64 { // the value of the rank-th (1-based) smallest
		for _, b := range keys {
			if rank <= counts[b] {
				if b == noInputBucket {
					return 0
				}
				return math.Exp((float64(b) + 0.5) / inputBucketsPerE)
			}
			rank -= counts[b]
		}
		return 0
	}
	return (at((n+1)/2) + at(n/2+1)) / 2
}

// compareCostRows orders the most expensive first; ties by time, newest first,
// then generation id, so the merge is deterministic.
func compareCostRows(a, b CostRow) int {
	return cmp.Or(cmp.Compare(b.CostUSD, a.CostUSD), b.Timestamp.Compare(a.Timestamp),
		strings.Compare(a.GenerationID, b.GenerationID), strings.Compare(a.Region, b.Region))
}

// costRow reads one row of the top query.
func costRow(region string, fields map[string]string, link string) CostRow {
	var u UsageRow
	u.Region = region
	for name, v := range fields {
		cwSetField(&u, name, v)
	}
	st := newStage(u, reportStage(u.Service, u.LogGroup), link)
	row := CostRow{Timestamp: st.Timestamp, Region: region, SessionID: fields["telephonySessionId"], Stage: st.Stage,
		Model: st.Model, Provider: st.Provider, GenerationID: st.GenerationID, Link: st.Link,
		InputTokens: st.InputTokens, OutputTokens: st.OutputTokens, CacheRatio: st.CacheRatio}
	if st.CostUSD != nil {
		row.CostUSD = *st.CostUSD
	}
	return row
}

// costWarnings flags, per stage, the top rows with long inputs and those that
// read nothing from the cache (runbook scenario 2).
func costWarnings(c *CostReport, zone *time.Location) []ReportWarning {
	var long, miss []CostRow
	for _, row := range c.Top {
		if c.MedianInputTokens > 0 && float64(row.InputTokens) > longInputFactor*c.MedianInputTokens {
			long = append(long, row)
		}
		if row.CacheRatio == nil || *row.CacheRatio == 0 {
			miss = append(miss, row)
		}
	}
	var out []ReportWarning
	for _, rows := range byStage(long) {
		biggest := slices.MaxFunc(rows, func(a, b CostRow) int { return cmp.Compare(a.InputTokens, b.InputTokens) })
		out = append(out, costWarning(WarnLongInput, rows, say(
			"%s: %d of the %d most expensive rows had more than %d× the window's median input tokens (median ≈%s; largest %s in %s at %s). "+
				"A transcript that was not split? Compare it with transcribe-processor's output (runbook scenario 2).",
			"%[1]s：最贵的 %[3]d 行中有 %[2]d 行的输入 token 超过时间段中位数的 %[4]d 倍（中位数约 %[5]s；最大 %[6]s，%[7]s，%[8]s）。"+
				"转写是不是漏切了？请对照 transcribe-processor 的输出（runbook 场景 2）。",
			rows[0].Stage, len(rows), len(c.Top), longInputFactor, numfmt.Count(int64(c.MedianInputTokens+0.5)),
			numfmt.Count(biggest.InputTokens), biggest.SessionID, biggest.Timestamp.In(zone).Format("Jan 2 15:04 MST"))))
	}
	for _, rows := range byStage(miss) {
		out = append(out, costWarning(WarnCacheMiss, rows, say(
			"%s: %d of the %d most expensive rows read nothing from the cache (cacheReadRatio 0 or absent), e.g. %s: "+
				"the prompt prefix drifted, a cold start, or sticky routing did not hold (runbook scenario 2).",
			"%[1]s：最贵的 %[3]d 行中有 %[2]d 行没有读自缓存（cacheReadRatio 为 0 或缺失），例如 %[4]s："+
				"提示词前缀变了、冷启动，或 sticky routing 没有生效（runbook 场景 2）。",
			rows[0].Stage, len(rows), len(c.Top), rows[0].SessionID)))
	}
	return out
}

func costWarning(code string, rows []CostRow, msg sentence) ReportWarning {
	first, last := rows[0].Timestamp, rows[0].Timestamp
	for _, r := range rows {
		first, last = minTime(first, r.Timestamp), maxTime(last, r.Timestamp)
	}
	return ReportWarning{Code: code, Message: msg.en, zh: msg.zh, Stage: rows[0].Stage, From: &first, To: &last}
}

// byStage groups rows by stage, in pipeline order.
func byStage(rows []CostRow) [][]CostRow {
	groups := map[string][]CostRow{}
	for _, r := range rows {
		groups[r.Stage] = append(groups[r.Stage], r)
	}
	var out [][]CostRow
	for _, s := range slices.SortedFunc(maps.Keys(groups), compareStages) {
		out = append(out, groups[s])
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
