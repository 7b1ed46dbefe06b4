package lookup

import (
	"fmt"
	"strings"
)

// Verdict codes (SPEC §11), in the order they are tried.
const (
	VerdictTruncated   = "truncated_output" // a stage's answer was cut off or is not JSON
	VerdictMappingBug  = "mapping_bug"      // the stored analysis differs from what the model answered
	VerdictModelOutput = "model_output"     // the stored analysis is what the model answered
	VerdictUnknown     = "unknown"          // nothing could be compared: see the message
)

// Verdict is tracebot's judgement of runbook step 4: did the model answer what was
// stored? Message is one line: what happened and what to look at next.
type Verdict struct {
	Code        string       `json:"code"`
	Message     string       `json:"message"`
	Differences []Difference `json:"differences"`
	// Facts are what Message is worded from, so that a reply in another language
	// can word the same verdict from its own sentences instead of translating the
	// English one. They are not part of the JSON contract.
	Facts VerdictFacts `json:"-"`
}

// VerdictFacts are the parts of a verdict's message. Each is "" (or zero) where the
// verdict's code does not use it. Values are as ValueText shows them, and every
// field is fit for a channel: none holds an answer or an input, only compared
// fields' values, stage names, generation ids and one-line causes.
type VerdictFacts struct {
	Stage  string // the stage the message is about: the first bad answer's, the first difference's, the first compared field's
	Field  string // mapping_bug, model_output: that field's path in the analysis
	Model  string // mapping_bug, model_output: the model's value of Field
	Stored string // mapping_bug: the stored value of Field
	Count  int    // mapping_bug: the fields that differ; model_output: the fields compared (all agree)
	CutOff bool   // truncated_output: Stage's answer was cut off (finish reason length); else it is not JSON
	// Reason is, for truncated_output, why Stage's answer is not JSON; for unknown,
	// the one-line cause when it is not the missing content alone.
	Reason string
	Look   string // where to look next, as the message names it (a file and setting, or a service)
	// MaxTokens is, for an answer cut off, the stage's maxTokens setting in Look's file.
	MaxTokens int
	Also      []string // truncated_output: the other stages whose answer is cut off or not JSON
	// NotStored and Unreadable name the stages ("triage (gen-…)") whose content
	// OpenRouter did not store, or that could not be read.
	NotStored  []string
	Unreadable []string
}

// AnalysisStatus is what became of the read of the call's stored analysis.
type AnalysisStatus struct {
	Path  string `json:"path"`
	Read  bool   `json:"read"`
	Error string `json:"error"` // one line, no secrets; "" when read
	// Backend is "S3" when the read failed at S3 itself (denied, throttled, down)
	// rather than finding no usable object there.
	Backend string `json:"backend,omitempty"`
}

// Stage content states, in Stage.Content.
const (
	ContentStored    = "stored"
	ContentNone      = "not_stored" // OpenRouter kept nothing
	ContentFailed    = "failed"     // the fetch failed: see Stage.ContentError
	stageCutOffError = "truncated: finish reason length"
)

// decideVerdict applies SPEC §11's rules to the stages (their answers parsed) and
// the analysis (nil unless status.Read). It always returns a verdict, whose message
// names every stage whose content is missing.
func decideVerdict(stages []Stage, status AnalysisStatus, analysis map[string]any) *Verdict {
	missing := missingContent(stages)
	v := judge(stages, status, analysis)
	v.Facts.NotStored, v.Facts.Unreadable = contentGaps(stages)
	switch {
	case v.Message == "" && len(missing) > 0:
		v.Message = "no verdict: " + strings.Join(missing, "; ")
	case v.Message == "":
		v.Facts.Reason = nothingComparedCause(stages, status)
		v.Message = "no verdict: " + v.Facts.Reason
	case len(missing) > 0:
		v.Message += "; " + strings.Join(missing, "; ")
	}
	if v.Differences == nil {
		v.Differences = []Difference{}
	}
	return v
}

// judge picks the verdict's code; an unknown verdict whose cause is the stages
// alone has an empty message, filled in by decideVerdict.
func judge(stages []Stage, status AnalysisStatus, analysis map[string]any) *Verdict {
	if v := truncatedVerdict(stages); v != nil {
		return v
	}
	if !status.Read {
		return &Verdict{Code: VerdictUnknown, Message: "no verdict: " + status.Error, Facts: VerdictFacts{Reason: status.Error}}
	}
	var compared []stageField
	var diffs []Difference
	for _, s := range stages {
		if s.answer == nil {
			continue
		}
		c := CompareAnswer(s.Stage, s.answer, analysis)
		for _, f := range c.Compared {
			compared = append(compared, stageField{stage: s.Stage, ComparedField: f})
		}
		diffs = append(diffs, c.Differences...)
	}
	switch {
	case len(diffs) > 0:
		d := diffs[0]
		return &Verdict{Code: VerdictMappingBug, Message: mappingBugMessage(diffs), Differences: diffs, Facts: VerdictFacts{
			Stage: d.Stage, Field: d.Field, Model: d.ModelText(), Stored: d.StoredText(), Count: len(diffs), Look: postProcess(d.Stage)}}
	case len(compared) > 0:
		f := compared[0]
		return &Verdict{Code: VerdictModelOutput, Message: modelOutputMessage(compared), Facts: VerdictFacts{
			Stage: f.stage, Field: f.Field, Model: ValueText(f.Model), Count: len(compared), Look: modelInputs}}
	}
	return &Verdict{Code: VerdictUnknown}
}

type stageField struct {
	stage string
	ComparedField
}

// truncatedVerdict is truncated_output when any stage's answer is cut off or not
// JSON, naming the first such stage; nil otherwise.
func truncatedVerdict(stages []Stage) *Verdict {
	var bad []Stage
	for _, s := range stages {
		if s.OutputError != "" {
			bad = append(bad, s)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	s := bad[0]
	f := VerdictFacts{Stage: s.Stage, Reason: strings.TrimPrefix(s.OutputError, "not JSON: "), Also: stageNamesOf(bad[1:])}
	msg := fmt.Sprintf("%s's answer is not JSON (%s): look at the prompt's output instructions (response_format) and the raw answer",
		s.Stage, f.Reason)
	if s.OutputError == stageCutOffError {
		f.CutOff, f.Reason = true, ""
		f.Look, f.MaxTokens = maxTokensAt(s.Stage)
		msg = fmt.Sprintf("%s's answer was cut off (finish reason length), so the stored analysis rests on a partial answer: look at maxTokens (%s, now %d) or an unusually long transcript",
			s.Stage, f.Look, f.MaxTokens)
	}
	if len(f.Also) > 0 {
		msg += fmt.Sprintf(" (also: %s)", strings.Join(f.Also, ", "))
	}
	return &Verdict{Code: VerdictTruncated, Message: msg, Facts: f}
}

// maxTokensAt names where the stage's maxTokens is set, and its value (the
// runbook's scenario 5).
func maxTokensAt(stage string) (file string, maxTokens int) {
	if stage == "contacts" {
		return "contacts-analyzer ai-client.ts", 4000
	}
	return "ai-analysis-processor invoke-model.ts", 4096
}

// postProcess names the code that maps a stage's answer into the stored analysis.
func postProcess(stage string) string {
	if stage == "contacts" {
		return "contacts-analyzer post-process"
	}
	return "ai-analysis-processor post-process"
}

func mappingBugMessage(diffs []Difference) string {
	d := diffs[0]
	msg := fmt.Sprintf("%s answered %s=%s; the stored analysis says %s: the mapping after the model (%s) is wrong",
		d.Stage, d.Field, d.ModelText(), d.StoredText(), postProcess(d.Stage))
	if len(diffs) > 1 {
		msg += fmt.Sprintf(" (%d fields differ)", len(diffs))
	}
	return msg
}

// modelInputs is what a model_output verdict sends a person to: the prompt, or the
// transcript the model was given.
const modelInputs = "transcribe-processor"

func modelOutputMessage(compared []stageField) string {
	f := compared[0]
	agree := ""
	if len(compared) > 1 {
		agree = fmt.Sprintf("; %d fields agree", len(compared))
	}
	return fmt.Sprintf("the stored analysis is what the model answered (%s: %s=%s%s): look at the prompt or the transcript (%s)",
		f.stage, f.Field, ValueText(f.Model), agree, modelInputs)
}

// nothingComparedCause says why no field could be compared although the analysis
// was read and no stage's content is missing.
func nothingComparedCause(stages []Stage, status AnalysisStatus) string {
	withID := 0
	for _, s := range stages {
		if s.GenerationID != "" {
			withID++
		}
	}
	switch {
	case len(stages) == 0:
		return "no stage to compare (no ai_usage lines)"
	case withID == 0:
		return "no stage has a generation id, so there is no stored answer to compare"
	}
	return fmt.Sprintf("no field of the answers is in the stored analysis (%s)", status.Path)
}

// missingContent describes the stages whose content could not be had: those
// OpenRouter stored nothing for in one clause, the failed fetches in one clause per
// cause.
func missingContent(stages []Stage) []string {
	none, _ := contentGaps(stages)
	var causes []string
	failed := map[string][]string{} // cause → "stage (gen-…)"
	for _, s := range stages {
		if s.GenerationID == "" || s.Content != ContentFailed {
			continue
		}
		cause := strings.TrimPrefix(s.ContentError, "openrouter "+s.GenerationID+": content: ")
		if failed[cause] == nil {
			causes = append(causes, cause)
		}
		failed[cause] = append(failed[cause], fmt.Sprintf("%s (%s)", s.Stage, s.GenerationID))
	}
	var out []string
	if len(none) > 0 {
		out = append(out, "OpenRouter stored no content for "+strings.Join(none, ", ")+
			" (input/output logging off or zero data retention)")
	}
	for _, c := range causes {
		out = append(out, "could not read the stored content of "+strings.Join(failed[c], ", ")+": "+c)
	}
	return out
}

// contentGaps names the stages ("triage (gen-…)") whose content OpenRouter did not
// store, and those whose content could not be read.
func contentGaps(stages []Stage) (notStored, unreadable []string) {
	for _, s := range stages {
		named := fmt.Sprintf("%s (%s)", s.Stage, s.GenerationID)
		switch {
		case s.GenerationID == "":
		case s.Content == ContentNone:
			notStored = append(notStored, named)
		case s.Content == ContentFailed:
			unreadable = append(unreadable, named)
		}
	}
	return notStored, unreadable
}

func stageNamesOf(stages []Stage) []string {
	if len(stages) == 0 {
		return nil
	}
	out := make([]string, len(stages))
	for i, s := range stages {
		out[i] = s.Stage
	}
	return out
}
