package lookup

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// pipelineStages are the ai-analysis stages in pipeline order.
var pipelineStages = []string{"triage", "classify", "coaching"}

// StageContacts names rows from the contacts-analyzer log group.
const StageContacts = "contacts"

// isContactsGroup reports whether a log group belongs to the contacts-analyzer Lambda.
func isContactsGroup(group string) bool { return strings.Contains(group, "contacts-analyzer") }

// BuildStages turns ai_usage rows into the stages to show. Rows are grouped into runs
// by @requestId within each log group; the newest ai-analysis run is shown in full
// (plus the newest contacts-analyzer run, which is its own Lambda and not a rerun),
// and the start times of earlier ai-analysis runs are returned oldest first.
func BuildStages(rows []UsageRow, linkPattern string) (stages []Stage, runs int, earlier []time.Time) {
	analysis, contacts := groupRuns(rows)
	var shown []run
	if n := len(analysis); n > 0 {
		shown = append(shown, analysis[n-1])
		for _, r := range analysis[:n-1] {
			earlier = append(earlier, r.start())
		}
	}
	if n := len(contacts); n > 0 {
		shown = append(shown, contacts[n-1])
	}
	// The pipeline's stages in order, then the contacts-analyzer's.
	for _, r := range shown {
		for i, row := range r.rows {
			stages = append(stages, newStage(row, stageName(row, i, r.contacts), linkPattern))
		}
	}
	return stages, len(analysis), earlier
}

// run is the rows of one Lambda invocation.
type run struct {
	rows     []UsageRow
	contacts bool
}

func (r run) start() time.Time { return r.rows[0].Timestamp.UTC() }

// groupRuns splits rows into runs, each list ordered by start time.
func groupRuns(rows []UsageRow) (analysis, contacts []run) {
	sorted := append([]UsageRow(nil), rows...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Timestamp.Before(sorted[j].Timestamp) })
	index := map[string]int{}
	var all []run
	for _, row := range sorted {
		key := row.Region + "\x00" + row.LogGroup + "\x00" + row.RequestID
		i, ok := index[key]
		if !ok {
			i = len(all)
			index[key] = i
			all = append(all, run{contacts: isContactsGroup(row.LogGroup)})
		}
		all[i].rows = append(all[i].rows, row)
	}
	for _, r := range all {
		if r.contacts {
			contacts = append(contacts, r)
		} else {
			analysis = append(analysis, r)
		}
	}
	return analysis, contacts
}

// stageName names a row from its service field, its log group, or its position.
func stageName(row UsageRow, pos int, contacts bool) string {
	if contacts {
		return StageContacts
	}
	if name, ok := serviceStage(row.Service); ok {
		return name
	}
	if pos < len(pipelineStages) {
		return pipelineStages[pos]
	}
	return fmt.Sprintf("stage %d", pos+1)
}

// serviceStage is the pipeline stage a service field names ("ai-analysis-triage"
// is triage), if any.
func serviceStage(service string) (string, bool) {
	svc := strings.ToLower(service)
	for _, name := range pipelineStages {
		if strings.Contains(svc, name) {
			return name, true
		}
	}
	return "", false
}

// reportStage names the stage of aggregated rows, which have no position within
// a run: the contacts-analyzer's group, else the service field's stage, else the
// service itself ("unknown" when absent).
func reportStage(service, group string) string {
	if isContactsGroup(group) {
		return StageContacts
	}
	if name, ok := serviceStage(service); ok {
		return name
	}
	if service != "" {
		return service
	}
	return "unknown"
}

func newStage(row UsageRow, name, linkPattern string) Stage {
	st := Stage{
		Stage: name, Timestamp: row.Timestamp.UTC(), Region: row.Region, LogGroup: row.LogGroup,
		RequestID: row.RequestID, GenerationID: row.OpenRouterID, Model: row.Model, Provider: row.Provider,
		InputTokens: row.InputTokens, OutputTokens: row.OutputTokens, CostUSD: row.CostUSD,
		FinishReason: row.FinishReason, CacheRatio: row.CacheReadRatio,
	}
	if row.CacheReadTokens != nil {
		st.CacheReadTokens = *row.CacheReadTokens
	} else if row.CacheReadRatio != nil {
		st.CacheReadTokens = int64(math.Round(*row.CacheReadRatio * float64(row.InputTokens)))
	}
	if st.CacheRatio == nil && row.CacheReadTokens != nil && row.InputTokens > 0 {
		st.CacheRatio = ptr(round3(float64(*row.CacheReadTokens) / float64(row.InputTokens)))
	}
	if st.GenerationID != "" {
		st.Link = generationLink(linkPattern, st.GenerationID)
	}
	return st
}

// join adds OpenRouter's record to the stage, filling what the log line lacked.
func (s *Stage) join(g Generation) {
	s.generation = &g
	s.OpenRouter = g.Raw
	if s.Model == "" {
		s.Model = g.Model
	}
	if s.Provider == "" {
		s.Provider = g.ProviderName
	}
	if s.FinishReason == "" {
		s.FinishReason = g.FinishReason
	}
	if s.InputTokens == 0 && s.OutputTokens == 0 {
		s.InputTokens, s.OutputTokens = g.TokensPrompt, g.TokensCompletion
		s.CacheReadTokens = g.NativeTokensCached
		if g.TokensPrompt > 0 {
			s.CacheRatio = ptr(round3(float64(g.NativeTokensCached) / float64(g.TokensPrompt)))
		}
	}
	if s.Timestamp.IsZero() {
		if ts, err := time.Parse(time.RFC3339, g.CreatedAt); err == nil {
			s.Timestamp = ts.UTC()
		}
	}
}

func generationLink(pattern, id string) string { return strings.ReplaceAll(pattern, "{id}", id) }

func ptr[T any](v T) *T { return &v }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
