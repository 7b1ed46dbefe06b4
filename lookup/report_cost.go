package lookup

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/callytics/tracebot/lookup/numfmt"
)

// The cost report's two queries per region: the region's most expensive rows
// (the merged top 20 is among the regions' top 20s, so it is exact), and the
// totals per hour and model, which also give the mean input tokens exactly.
const (
	costTopQuery = `fields @timestamp, @log, telephonySessionId, service, openrouterId, provider, model, inputTokens, outputTokens, cacheReadTokens, cacheReadRatio, costUsd
| filter @message like /ai_usage/ and ispresent(costUsd)
| sort costUsd desc
| limit 20`
	costTotalsQuery = `filter @message like /ai_usage/
| stats count(*) as lines, sum(costUsd) as cost_usd, sum(inputTokens) as input_tokens, count(inputTokens) as input_lines by bin(1h), model`
)

// longInputFactor: a row is long when its input tokens exceed this × the mean.
const longInputFactor = 3

type costKind struct{}

func (costKind) queries() []string { return []string{costTopQuery, costTotalsQuery} }

func (costKind) merge(e *ReportEngine, q ReportQuery, r *Report, answers []RegionAnswer) {
	c := &CostReport{Top: []CostRow{}, Series: []CostPoint{}}
	var inputLines int64
	var inputTokens int64
	series := map[costKey]*CostPoint{}
	hours := map[time.Time]*CostPoint{}
	for _, h := range reportHours(q.From, q.To) {
		hours[h] = &CostPoint{Bucket: h}
	}
	for _, a := range answers {
		for _, row := range a.Results[0] {
			c.Top = append(c.Top, costRow(a.Region, row, e.cfg.GenerationLink))
		}
		for _, row := range a.Results[1] {
			bucket, ok := statBucket(row)
			if !ok {
				continue
			}
			k := costKey{bucket, row["model"]}
			p := series[k]
			if p == nil {
				p = &CostPoint{Bucket: bucket, Model: k.model}
				series[k] = p
			}
			lines, cost, in := statInt(row, "lines"), statFloat(row, "cost_usd"), statInt(row, "input_tokens")
			p.Rows, p.CostUSD, p.InputTokens = p.Rows+lines, p.CostUSD+cost, p.InputTokens+in
			h := hours[bucket]
			if h == nil {
				h = &CostPoint{Bucket: bucket}
				hours[bucket] = h
			}
			h.Rows, h.CostUSD, h.InputTokens = h.Rows+lines, h.CostUSD+cost, h.InputTokens+in
			c.Rows += lines
			c.TotalCostUSD += cost
			inputTokens += in
			inputLines += statInt(row, "input_lines")
		}
	}
	slices.SortFunc(c.Top, compareCostRows)
	c.Top = c.Top[:min(len(c.Top), ReportTopRows)]
	for _, k := range slices.SortedFunc(maps.Keys(series), compareCostKeys) {
		c.Series = append(c.Series, *series[k])
	}
	for _, h := range slices.SortedFunc(maps.Keys(hours), time.Time.Compare) {
		c.Hours = append(c.Hours, *hours[h])
	}
	if inputLines > 0 {
		c.MeanInputTokens = float64(inputTokens) / float64(inputLines)
	}
	r.Cost = c
	r.Warnings = append(r.Warnings, costWarnings(c, q.Zone)...)
}

type costKey struct {
	bucket time.Time
	model  string
}

func compareCostKeys(a, b costKey) int {
	return cmp.Or(a.bucket.Compare(b.bucket), strings.Compare(a.model, b.model))
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
		if c.MeanInputTokens > 0 && float64(row.InputTokens) > longInputFactor*c.MeanInputTokens {
			long = append(long, row)
		}
		if row.CacheRatio == nil || *row.CacheRatio == 0 {
			miss = append(miss, row)
		}
	}
	var out []ReportWarning
	for _, rows := range byStage(long) {
		biggest := slices.MaxFunc(rows, func(a, b CostRow) int { return cmp.Compare(a.InputTokens, b.InputTokens) })
		out = append(out, costWarning(WarnLongInput, rows, fmt.Sprintf(
			"%s: %d of the %d most expensive rows had more than %d× the window's mean input tokens (mean %s; largest %s in %s at %s). "+
				"A transcript that was not split? Compare it with transcribe-processor's output (runbook scenario 2).",
			rows[0].Stage, len(rows), len(c.Top), longInputFactor, numfmt.Count(int64(c.MeanInputTokens+0.5)),
			numfmt.Count(biggest.InputTokens), biggest.SessionID, biggest.Timestamp.In(zone).Format("Jan 2 15:04 MST"))))
	}
	for _, rows := range byStage(miss) {
		out = append(out, costWarning(WarnCacheMiss, rows, fmt.Sprintf(
			"%s: %d of the %d most expensive rows read nothing from the cache (cacheReadRatio 0 or absent), e.g. %s: "+
				"the prompt prefix drifted, a cold start, or sticky routing did not hold (runbook scenario 2).",
			rows[0].Stage, len(rows), len(c.Top), rows[0].SessionID)))
	}
	return out
}

func costWarning(code string, rows []CostRow, msg string) ReportWarning {
	first, last := rows[0].Timestamp, rows[0].Timestamp
	for _, r := range rows {
		first, last = minTime(first, r.Timestamp), maxTime(last, r.Timestamp)
	}
	return ReportWarning{Code: code, Message: msg, Stage: rows[0].Stage, From: &first, To: &last}
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
