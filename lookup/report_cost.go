package lookup

import (
	"cmp"
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
			p.Rows, p.CostUSD, p.InputTokens = p.Rows+lines, addUSD(p.CostUSD, cost), p.InputTokens+in
			h := hours[bucket]
			if h == nil {
				h = &CostPoint{Bucket: bucket}
				hours[bucket] = h
			}
			h.Rows, h.CostUSD, h.InputTokens = h.Rows+lines, addUSD(h.CostUSD, cost), h.InputTokens+in
			c.Rows += lines
			c.TotalCostUSD = addUSD(c.TotalCostUSD, cost)
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
		out = append(out, costWarning(WarnLongInput, rows, say(
			"%s: %d of the %d most expensive rows had more than %d× the window's mean input tokens (mean %s; largest %s in %s at %s). "+
				"A transcript that was not split? Compare it with transcribe-processor's output (runbook scenario 2).",
			"%[1]s：最贵的 %[3]d 行中有 %[2]d 行的输入 token 超过时间段平均值的 %[4]d 倍（平均 %[5]s；最大 %[6]s，%[7]s，%[8]s）。"+
				"转写是不是漏切了？请对照 transcribe-processor 的输出（runbook 场景 2）。",
			rows[0].Stage, len(rows), len(c.Top), longInputFactor, numfmt.Count(int64(c.MeanInputTokens+0.5)),
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
