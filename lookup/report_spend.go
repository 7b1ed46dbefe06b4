package lookup

import (
	"maps"
	"slices"
	"time"
)

// spendQuery sums cost per hour and model (the budget and cost_spike alerts'
// numbers, and the cost chart); every hour of the window is in the answer, zero
// where nothing was logged.
const spendQuery = `filter @message like /ai_usage/
| stats count(*) as lines, sum(costUsd) as cost_usd by bin(1h), model`

type spendKind struct{}

func (spendKind) queries() []string { return []string{spendQuery} }

func (spendKind) merge(_ *ReportEngine, q ReportQuery, r *Report, answers []RegionAnswer) {
	s := &SpendReport{Series: []CostPoint{}, Hours: []CostPoint{}}
	series := map[hourModel]*CostPoint{}
	hours := map[time.Time]*CostPoint{}
	for _, h := range reportHours(q.From, q.To) {
		hours[h] = &CostPoint{Bucket: h}
	}
	for _, a := range answers {
		for _, row := range a.Results[0] {
			bucket, ok := statBucket(row)
			if !ok {
				continue
			}
			k := hourModel{bucket, row["model"]}
			if series[k] == nil {
				series[k] = &CostPoint{Bucket: bucket, Model: k.model}
			}
			if hours[bucket] == nil {
				hours[bucket] = &CostPoint{Bucket: bucket}
			}
			lines, cost := statInt(row, "lines"), statFloat(row, "cost_usd")
			for _, p := range []*CostPoint{series[k], hours[bucket]} {
				p.Rows, p.CostUSD = p.Rows+lines, addUSD(p.CostUSD, cost)
			}
			s.Rows += lines
			s.TotalCostUSD = addUSD(s.TotalCostUSD, cost)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(series), compareHourModels) {
		s.Series = append(s.Series, *series[k])
	}
	for _, h := range slices.SortedFunc(maps.Keys(hours), time.Time.Compare) {
		s.Hours = append(s.Hours, *hours[h])
	}
	r.Spend = s
}
