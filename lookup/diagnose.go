package lookup

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Apps named on OpenRouter's activity page, for the degraded path.
const (
	appAIAnalysis = "callytics-ai-analysis"
	appContacts   = "callytics-contacts-analyzer"
)

func (t *Trace) warn(code, stage string, msg sentence) {
	t.Warnings = append(t.Warnings, Warning{Code: code, Stage: stage, Message: msg.en, zh: msg.zh})
}

// finish settles the outcome, totals and diagnostics once the walk is over.
func (t *Trace) finish() {
	t.totals()
	if t.Call != nil {
		t.diagnose()
	}
	if t.Outcome == "" {
		t.Outcome = OutcomeTraced
		if len(t.Stages) == 0 && t.hasStepError(StepLogs) && !t.anyRegionOK() {
			t.Outcome = OutcomeFailed
		}
		if t.Call == nil && len(t.Stages) > 0 && t.allGenerationsFailed() {
			t.Outcome = OutcomeFailed
		}
	}
}

func (t *Trace) hasStepError(step string) bool {
	for _, e := range t.Errors {
		if e.Step == step {
			return true
		}
	}
	return false
}

func (t *Trace) anyRegionOK() bool {
	for _, r := range t.Regions {
		if r.State == RegionRows || r.State == RegionEmpty {
			return true
		}
	}
	return false
}

func (t *Trace) allGenerationsFailed() bool {
	for _, s := range t.Stages {
		if s.GenerationError == "" {
			return false
		}
	}
	return true
}

// totals sums cost (OpenRouter's total_cost where the log has none) and weights the
// cache ratio by input tokens.
func (t *Trace) totals() {
	var cost float64
	var cached, input int64
	for _, s := range t.Stages {
		if c := s.Cost(); c != nil {
			cost += *c
		}
		cached += s.CacheReadTokens
		input += s.InputTokens
	}
	t.TotalCostUSD = math.Round(cost*1e9) / 1e9
	if input > 0 {
		t.CacheRatio = ptr(round3(float64(cached) / float64(input)))
	}
}

// diagnose turns the runbook's debug scenarios into warnings.
func (t *Trace) diagnose() {
	if t.Call.S3AnalysisPath == "" && t.Call.StoreID != "" {
		t.warn(WarnNotAnalyzed, "", say("the call has no s3_analysis_path: it may not have been analyzed yet",
			"这通电话没有 s3_analysis_path：可能还没有分析"))
	}
	if len(t.Stages) == 0 {
		if !t.hasStepError(StepLogs) {
			t.warn(WarnNoUsage, "", say("no ai_usage lines for this session in any region: the call may not have reached the AI pipeline",
				"所有区域都没有这个会话的 ai_usage 日志：这通电话可能没有进入 AI 流水线"))
		}
		return
	}
	for _, s := range t.Stages {
		t.diagnoseStage(s)
	}
	t.diagnoseProviders()
	t.diagnoseMissingStages()
	if t.Runs > 1 {
		times := make([]string, len(t.EarlierRuns))
		for i, ts := range t.EarlierRuns {
			times[i] = ts.UTC().Format("Jan 2 15:04:05 UTC")
		}
		t.warn(WarnReprocessed, "", say("analyzed %d times (reprocessed); showing the newest run, earlier runs at %s",
			"已分析 %d 次（重新分析过）；显示最新一次，之前几次在 %s", t.Runs, strings.Join(times, ", ")))
	}
}

func (t *Trace) diagnoseStage(s Stage) {
	if s.InputTokens > 0 && (s.CacheRatio == nil || *s.CacheRatio == 0) {
		t.warn(WarnCacheMiss, s.Stage, say("%s: cache miss (no cached input tokens): prompt prefix drift, cold start or routing to another provider",
			"%s：缓存未命中（没有输入 token 读自缓存）：提示词前缀变了、冷启动，或被路由到了其他 provider", s.Stage))
	}
	switch strings.ToLower(s.FinishReason) {
	case "length":
		t.warn(WarnLength, s.Stage, say("%s: output truncated (finish reason length): maxTokens too small or an unusually long transcript",
			"%s：输出被截断（finish reason length）：maxTokens 太小，或转写异常长", s.Stage))
	case "content-filter", "content_filter":
		t.warn(WarnContentFilter, s.Stage, say("%s: stopped by the content filter: check the transcript",
			"%s：被内容过滤（content filter）拦截：请检查转写内容", s.Stage))
	}
	if s.GenerationID == "" && s.LogGroup != "" {
		t.warn(WarnMissingGenID, s.Stage, degradedPath(s))
	}
	if g := s.generation; g != nil && s.CostUSD != nil && !costsAgree(*s.CostUSD, g.TotalCost) {
		t.warn(WarnCostMismatch, s.Stage, say("%s: OpenRouter billed $%.6f but the log says $%.6f",
			"%s：OpenRouter 计费 $%.6f，但日志记录的是 $%.6f", s.Stage, g.TotalCost, *s.CostUSD))
	}
}

// degradedPath tells a person how to find a generation by hand (runbook: "当 openrouterId 缺失").
func degradedPath(s Stage) sentence {
	app := appAIAnalysis
	if s.Stage == StageContacts {
		app = appContacts
	}
	ts := s.Timestamp.UTC()
	from, to := ts.Add(-10*time.Second).Format("15:04:05"), ts.Add(10*time.Second).Format("15:04:05")
	cost := formatCost(s.CostUSD)
	return sentence{
		fmt.Sprintf("%s: no generation id in the log line. Match it by hand on openrouter.ai/activity: app %s, %s–%s UTC (±10s), input %d, output %d tokens, cost %s",
			s.Stage, app, from, to, s.InputTokens, s.OutputTokens, cost.en),
		fmt.Sprintf("%s：日志行里没有 generation id。请在 openrouter.ai/activity 上手动对：App 选 %s，时间 %s–%s UTC（±10s），输入 %d、输出 %d 个 token，费用 %s",
			s.Stage, app, from, to, s.InputTokens, s.OutputTokens, cost.zh),
	}
}

func formatCost(c *float64) sentence {
	if c == nil {
		return sentence{"unknown", "未知"}
	}
	return say("$%.6f", "$%.6f", *c)
}

// costsAgree allows OpenRouter and the log to differ by 5%.
func costsAgree(logged, billed float64) bool {
	if logged == 0 && billed == 0 {
		return true
	}
	return math.Abs(logged-billed) <= 0.05*math.Max(math.Abs(logged), math.Abs(billed))
}

func (t *Trace) diagnoseProviders() {
	var seen []string
	for _, s := range t.Stages {
		if s.Provider == "" || s.Stage == StageContacts {
			continue
		}
		if len(seen) == 0 || seen[len(seen)-1] != s.Provider {
			seen = append(seen, s.Provider)
		}
	}
	if len(seen) > 1 {
		t.warn(WarnProviderChange, "", say("provider changed between stages (%s): sticky routing did not hold, so the cache may have missed",
			"各阶段的 provider 不同（%s）：sticky routing 没有生效，缓存可能因此未命中", strings.Join(seen, " → ")))
	}
}

func (t *Trace) diagnoseMissingStages() {
	have := map[string]bool{}
	analysis := false
	for _, s := range t.Stages {
		have[s.Stage] = true
		if s.Stage != StageContacts {
			analysis = true
		}
	}
	if !analysis {
		return
	}
	for _, name := range pipelineStages {
		if !have[name] {
			t.warn(WarnMissingStage, name, say("%s: expected stage not logged: the pipeline may have stopped early",
				"%s：应有的阶段没有日志：流水线可能提前停止了", name))
		}
	}
}
