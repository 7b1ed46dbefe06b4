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

func (t *Trace) warn(code, stage, msg string) {
	t.Warnings = append(t.Warnings, Warning{Code: code, Stage: stage, Message: msg})
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
		switch {
		case s.CostUSD != nil:
			cost += *s.CostUSD
		case s.generation != nil:
			cost += s.generation.TotalCost
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
		t.warn(WarnNotAnalyzed, "", "the call has no s3_analysis_path: it may not have been analyzed yet")
	}
	if len(t.Stages) == 0 {
		if !t.hasStepError(StepLogs) {
			t.warn(WarnNoUsage, "", "no ai_usage lines for this session in any region: the call may not have reached the AI pipeline")
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
		t.warn(WarnReprocessed, "", fmt.Sprintf("analyzed %d times (reprocessed); showing the newest run, earlier runs at %s", t.Runs, strings.Join(times, ", ")))
	}
}

func (t *Trace) diagnoseStage(s Stage) {
	if s.InputTokens > 0 && (s.CacheRatio == nil || *s.CacheRatio == 0) {
		t.warn(WarnCacheMiss, s.Stage, fmt.Sprintf("%s: cache miss (no cached input tokens): prompt prefix drift, cold start or routing to another provider", s.Stage))
	}
	switch strings.ToLower(s.FinishReason) {
	case "length":
		t.warn(WarnLength, s.Stage, fmt.Sprintf("%s: output truncated (finish reason length): maxTokens too small or an unusually long transcript", s.Stage))
	case "content-filter", "content_filter":
		t.warn(WarnContentFilter, s.Stage, fmt.Sprintf("%s: stopped by the content filter: check the transcript", s.Stage))
	}
	if s.GenerationID == "" && s.LogGroup != "" {
		t.warn(WarnMissingGenID, s.Stage, degradedPath(s))
	}
	if g := s.generation; g != nil && s.CostUSD != nil && !costsAgree(*s.CostUSD, g.TotalCost) {
		t.warn(WarnCostMismatch, s.Stage, fmt.Sprintf("%s: OpenRouter billed $%.6f but the log says $%.6f", s.Stage, g.TotalCost, *s.CostUSD))
	}
}

// degradedPath tells a person how to find a generation by hand (runbook: "当 openrouterId 缺失").
func degradedPath(s Stage) string {
	app := appAIAnalysis
	if s.Stage == StageContacts {
		app = appContacts
	}
	ts := s.Timestamp.UTC()
	return fmt.Sprintf("%s: no generation id in the log line. Match it by hand on openrouter.ai/activity: app %s, %s–%s UTC (±10s), input %d, output %d tokens, cost %s",
		s.Stage, app, ts.Add(-10*time.Second).Format("15:04:05"), ts.Add(10*time.Second).Format("15:04:05"),
		s.InputTokens, s.OutputTokens, formatCost(s.CostUSD))
}

func formatCost(c *float64) string {
	if c == nil {
		return "unknown"
	}
	return fmt.Sprintf("$%.6f", *c)
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
		t.warn(WarnProviderChange, "", fmt.Sprintf("provider changed between stages (%s): sticky routing did not hold, so the cache may have missed", strings.Join(seen, " → ")))
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
			t.warn(WarnMissingStage, name, fmt.Sprintf("%s: expected stage not logged: the pipeline may have stopped early", name))
		}
	}
}
