package lookup

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// cacheQuery sums tokens per hour and model; hit rates are computed after the
// regions' sums are added, never as a mean of ratios.
const cacheQuery = `filter @message like /ai_usage/ and ispresent(inputTokens)
| stats sum(inputTokens) as input_tokens, sum(cacheReadTokens) as cache_read_tokens, count(*) as lines by bin(1h), model`

// cacheCollapseHours is how many consecutive hours below CacheMin make a collapse.
const cacheCollapseHours = 2

type cacheKind struct{}

func (cacheKind) queries() []string { return []string{cacheQuery} }

func (cacheKind) merge(e *ReportEngine, q ReportQuery, r *Report, answers []RegionAnswer) {
	series := map[hourModel]*CachePoint{}
	hours := map[time.Time]*CachePoint{}
	c := &CacheReport{Series: []CachePoint{}, Hours: []CachePoint{}}
	for _, a := range answers {
		for _, row := range a.Results[0] {
			bucket, ok := statBucket(row)
			if !ok {
				continue
			}
			in, read := statInt(row, "input_tokens"), statInt(row, "cache_read_tokens")
			k := hourModel{bucket, row["model"]}
			if series[k] == nil {
				series[k] = &CachePoint{Bucket: bucket, Model: cwOr(k.model, "unknown")}
			}
			if hours[bucket] == nil {
				hours[bucket] = &CachePoint{Bucket: bucket}
			}
			for _, p := range []*CachePoint{series[k], hours[bucket], &c.Overall} {
				p.InputTokens += in
				p.CacheReadTokens += read
			}
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(series), compareHourModels) {
		p := series[k]
		p.CacheRatio = ratio(p.CacheReadTokens, p.InputTokens)
		c.Series = append(c.Series, *p)
	}
	for _, h := range slices.SortedFunc(maps.Keys(hours), time.Time.Compare) {
		p := hours[h]
		p.CacheRatio = ratio(p.CacheReadTokens, p.InputTokens)
		c.Hours = append(c.Hours, *p)
	}
	c.Overall.CacheRatio = ratio(c.Overall.CacheReadTokens, c.Overall.InputTokens)
	r.Cache = c
	r.Warnings = append(r.Warnings, cacheWarnings(c.Hours, e.cfg.CacheMin, namesFor(q.From, q.To, q.Zone))...)
}

// cacheWarnings names each run of at least two consecutive hours whose hit rate
// (all models) is below min (runbook scenario 3), its hours named as the
// report's window needs.
func cacheWarnings(hours []CachePoint, min float64, window hourNames) []ReportWarning {
	if min <= 0 {
		return nil
	}
	var low []time.Time
	rates := map[time.Time]float64{}
	for _, h := range hours {
		if h.CacheRatio != nil && *h.CacheRatio < min {
			low = append(low, h.Bucket)
			rates[h.Bucket] = *h.CacheRatio
		}
	}
	var out []ReportWarning
	for _, run := range runs(low) {
		if len(run) < cacheCollapseHours {
			continue
		}
		from, to := run[0], run[len(run)-1].Add(time.Hour)
		span, own := window.span(from, to), namesFor(from, to, window.zone)
		var each, eachZH []string
		for _, h := range run {
			each = append(each, own.hour(h).en+" "+percent(rates[h]))
			eachZH = append(eachZH, own.hour(h).zh+" "+percent(rates[h]))
		}
		en := fmt.Sprintf("The cache hit rate was below %s for %d consecutive hours, %s (%s). Check lambda/ai-analysis-processor/src/core/stages/prompts.ts "+
			"for a ${...} interpolation in the prompt prefix, and run `cd lambda/ai-analysis-processor && npm test tests/unit/prompts-cache-invariant.test.ts`: "+
			"it should fail; if it passes, the change got around the cache invariant test (runbook scenario 3).",
			percent(min), len(run), span.en, strings.Join(each, ", "))
		zh := fmt.Sprintf("缓存命中率连续 %d 个小时低于 %s，%s（%s）。请检查 lambda/ai-analysis-processor/src/core/stages/prompts.ts "+
			"的提示词前缀里有没有人加 ${...} 插值，并运行 `cd lambda/ai-analysis-processor && npm test tests/unit/prompts-cache-invariant.test.ts`："+
			"测试应该失败；如果通过了，说明改动绕过了缓存 invariant test（runbook 场景 3）。",
			len(run), percent(min), span.zh, strings.Join(eachZH, "、"))
		out = append(out, ReportWarning{Code: WarnCacheCollapse, From: &from, To: &to, Message: en, zh: zh})
	}
	return out
}
