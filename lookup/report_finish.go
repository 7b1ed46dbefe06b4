package lookup

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// finishQuery counts finish reasons per hour, log group and service: the stage
// is named from the last two after the merge (SPEC §3).
const finishQuery = `filter @message like /ai_usage/
| stats count(*) as lines by bin(1h), @log, service, finishReason`

// Finish reasons the report watches.
const (
	FinishLength        = "length"
	FinishContentFilter = "content-filter"
	finishNone          = "(none)"
)

// spikeMinRows is the fewest rows a stage-hour needs before its share can spike.
const spikeMinRows = 20

type finishKind struct{}

func (finishKind) queries() []string { return []string{finishQuery} }

type finishKey struct {
	bucket        time.Time
	stage, reason string
}

func (finishKind) merge(e *ReportEngine, q ReportQuery, r *Report, answers []RegionAnswer) {
	counts := map[finishKey]int64{}
	for _, a := range answers {
		for _, row := range a.Results[0] {
			bucket, ok := statBucket(row)
			if !ok {
				continue
			}
			k := finishKey{bucket, reportStage(row["service"], statGroup(row)), finishReason(row["finishReason"])}
			counts[k] += statInt(row, "lines")
		}
	}
	f := &FinishReport{Series: []FinishPoint{}, Shares: []FinishShare{}}
	totals := map[[2]string]int64{} // (stage, reason) over the window
	stageTotal := map[string]int64{}
	for _, k := range slices.SortedFunc(maps.Keys(counts), compareFinishKeys) {
		n := counts[k]
		f.Series = append(f.Series, FinishPoint{Bucket: k.bucket, Stage: k.stage, FinishReason: k.reason, Count: n})
		totals[[2]string{k.stage, k.reason}] += n
		stageTotal[k.stage] += n
	}
	for k, n := range totals {
		f.Shares = append(f.Shares, FinishShare{Stage: k[0], FinishReason: k[1], Count: n, Share: float64(n) / float64(stageTotal[k[0]])})
	}
	slices.SortFunc(f.Shares, func(a, b FinishShare) int {
		return cmp.Or(compareStages(a.Stage, b.Stage), cmp.Compare(b.Count, a.Count), strings.Compare(a.FinishReason, b.FinishReason))
	})
	r.Finish = f
	r.Warnings = append(r.Warnings, finishWarnings(f, e.cfg.LengthMax, namesFor(q.From, q.To, q.Zone))...)
}

func compareFinishKeys(a, b finishKey) int {
	return cmp.Or(a.bucket.Compare(b.bucket), compareStages(a.stage, b.stage), strings.Compare(a.reason, b.reason))
}

// finishReason normalises the logged reason: content_filter is content-filter,
// absent is "(none)".
func finishReason(v string) string {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "":
		return finishNone
	case "content_filter":
		return FinishContentFilter
	}
	return v
}

// HourShare is the share of reason among stage's rows in the hour starting at
// bucket, and the number of rows the stage had then.
func (f *FinishReport) HourShare(bucket time.Time, stage, reason string) (share float64, rows int64) {
	var hits int64
	for _, p := range f.Series {
		if p.Bucket.Equal(bucket) && p.Stage == stage {
			rows += p.Count
			if p.FinishReason == reason {
				hits += p.Count
			}
		}
	}
	if rows == 0 {
		return 0, 0
	}
	return float64(hits) / float64(rows), rows
}

// Stages are the stages the report saw, in pipeline order.
func (f *FinishReport) Stages() []string {
	var out []string
	for _, p := range f.Series {
		if !slices.Contains(out, p.Stage) {
			out = append(out, p.Stage)
		}
	}
	slices.SortFunc(out, compareStages)
	return out
}

// finishWarnings names, per stage and reason, each run of hours in which the
// stage had at least 20 rows and the reason's share was above max (runbook
// scenario 5 and the dashboard patrol), its hours named as the report's window
// needs.
func finishWarnings(f *FinishReport, max float64, window hourNames) []ReportWarning {
	if max <= 0 {
		return nil
	}
	var out []ReportWarning
	for _, reason := range []string{FinishLength, FinishContentFilter} {
		for _, stage := range f.Stages() {
			var spiked []time.Time
			shares := map[time.Time][2]float64{}
			for _, h := range finishBuckets(f) {
				share, rows := f.HourShare(h, stage, reason)
				if rows >= spikeMinRows && share > max {
					spiked = append(spiked, h)
					shares[h] = [2]float64{share, float64(rows)}
				}
			}
			for _, run := range runs(spiked) {
				out = append(out, spikeWarning(reason, stage, run, shares, max, window))
			}
		}
	}
	return out
}

func finishBuckets(f *FinishReport) []time.Time {
	var out []time.Time
	for _, p := range f.Series {
		if len(out) == 0 || !out[len(out)-1].Equal(p.Bucket) {
			out = append(out, p.Bucket)
		}
	}
	return out
}

func spikeWarning(reason, stage string, run []time.Time, shares map[time.Time][2]float64, max float64, window hourNames) ReportWarning {
	from, to := run[0], run[len(run)-1].Add(time.Hour)
	span, own := window.span(from, to), namesFor(from, to, window.zone)
	var each, eachZH []string
	for _, h := range run {
		s := shares[h]
		each = append(each, fmt.Sprintf("%s %s of %d", own.hour(h).en, percent(s[0]), int64(s[1])))
		eachZH = append(eachZH, fmt.Sprintf("%s %d 行中 %s", own.hour(h).zh, int64(s[1]), percent(s[0])))
	}
	w := ReportWarning{Code: WarnLengthSpike, Stage: stage, From: &from, To: &to}
	head := sentence{
		fmt.Sprintf("%s: more than %s of the rows finished %q in %s (%s)", stage, percent(max), reason,
			span.en, strings.Join(each, "; ")),
		fmt.Sprintf("%s：%s 内超过 %s 的行以 %q 结束（%s）", stage, span.zh, percent(max), reason,
			strings.Join(eachZH, "；")),
	}
	if reason == FinishContentFilter {
		w.Code = WarnContentFilterSpike
		msg := head.plus(sentence{": the prompt triggers the provider's moderation; check what these transcripts contain (runbook: dashboard patrol).",
			"：提示词触发了 provider 的 moderation，请检查这些转写的内容（runbook：Dashboard 巡检）。"})
		w.Message, w.zh = msg.en, msg.zh
		return w
	}
	lambda, tokens, where := "ai-analysis-processor", 4096, "lambda/ai-analysis-processor/src/infrastructure/ai/invoke-model.ts"
	if stage == StageContacts {
		lambda, tokens, where = "contacts-analyzer", 4000, "lambda/contacts-analyzer/src/infrastructure/ai-client.ts"
	}
	msg := head.plus(say(": the output was truncated. %s's maxTokens is %d (%s); if these transcripts are long and need a long answer, "+
		"raise it in a PR; if it is occasional, look for an unusually long transcript first (runbook scenario 5).",
		"：输出被截断。%s 的 maxTokens 是 %d（%s）；如果转写确实很长且需要长输出，提 PR 调高它；"+
			"如果是偶发，先看是不是异常长的转写（runbook 场景 5）。", lambda, tokens, where))
	w.Message, w.zh = msg.en, msg.zh
	return w
}
