package lookup

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// vstage is a stage whose content fetch returned completion (not stored when
// completion is "-", failed when it is "!").
func vstage(name, genID, finish, completion string) Stage {
	s := Stage{Stage: name, GenerationID: genID, FinishReason: finish}
	switch completion {
	case "":
	case "-":
		s.joinContent(ContentNotStored(genID, "HTTP 404"), nil)
	case "!":
		s.joinContent(Content{}, errors.New("openrouter "+genID+": content: HTTP 500: Internal Server Error"))
	default:
		s.joinContent(NewContent(genID, completion, json.RawMessage(`{"prompt":"hi"}`)), nil)
	}
	return s
}

var (
	readOK     = AnalysisStatus{Path: "s3://b/k.json", Read: true}
	readDenied = AnalysisStatus{Path: "s3://b/k.json", Error: "S3 AccessDenied on s3://b/k.json"}
	storedVM   = map[string]any{"call_state": "voicemail", "summary": "Left a message", "coaching": map[string]any{"score": json.Number("3")}}
)

// TestDecideVerdict walks every branch of SPEC §11's verdict, in its order.
func TestDecideVerdict(t *testing.T) {
	tests := []struct {
		name     string
		stages   []Stage
		status   AnalysisStatus
		analysis map[string]any
		want     Verdict
	}{
		{name: "model output", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", `{"call_state":"VOICEMAIL"}`), vstage("coaching", "gen-3", "stop", "```json\n{\"score\": 3.0}\n```")},
			want:   Verdict{Code: VerdictModelOutput, Message: "the stored analysis is what the model answered (triage: call_state=VOICEMAIL; 2 fields agree): look at the prompt or the transcript (transcribe-processor)"}},
		{name: "mapping bug", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", `{"call_state":"human_conversation"}`)},
			want: Verdict{Code: VerdictMappingBug,
				Message:     "triage answered call_state=human_conversation; the stored analysis says voicemail: the mapping after the model (ai-analysis-processor post-process) is wrong",
				Differences: []Difference{{Stage: "triage", Field: "call_state", Model: json.RawMessage(`"human_conversation"`), Stored: json.RawMessage(`"voicemail"`)}}}},
		{name: "mapping bug counts the fields", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", `{"call_state":"human_conversation"}`), vstage("coaching", "gen-3", "stop", `{"score":4}`)},
			want: Verdict{Code: VerdictMappingBug,
				Message: "triage answered call_state=human_conversation; the stored analysis says voicemail: the mapping after the model (ai-analysis-processor post-process) is wrong (2 fields differ)",
				Differences: []Difference{{Stage: "triage", Field: "call_state", Model: json.RawMessage(`"human_conversation"`), Stored: json.RawMessage(`"voicemail"`)},
					{Stage: "coaching", Field: "coaching.score", Model: json.RawMessage(`4`), Stored: json.RawMessage(`3`)}}}},
		{name: "truncated beats a difference", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", `{"call_state":"human_conversation"}`), vstage("coaching", "gen-3", "length", `{"score":4,"notes":"the ca`)},
			want:   Verdict{Code: VerdictTruncated, Message: "coaching's answer was cut off (finish reason length), so the stored analysis rests on a partial answer: look at maxTokens (ai-analysis-processor invoke-model.ts, now 4096) or an unusually long transcript"}},
		{name: "truncated without the analysis", status: readDenied,
			stages: []Stage{vstage("triage", "gen-1", "stop", `The call went to voicemail.`), vstage("contacts", "gen-4", "length", `{"a":`)},
			want:   Verdict{Code: VerdictTruncated, Message: "triage's answer is not JSON (no JSON object in the answer): look at the prompt's output instructions (response_format) and the raw answer (also: contacts)"}},
		{name: "unknown: analysis unreadable", status: readDenied,
			stages: []Stage{vstage("triage", "gen-1", "stop", `{"call_state":"voicemail"}`)},
			want:   Verdict{Code: VerdictUnknown, Message: "no verdict: S3 AccessDenied on s3://b/k.json"}},
		{name: "unknown: nothing stored", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", "-"), vstage("classify", "gen-2", "stop", "!")},
			want: Verdict{Code: VerdictUnknown, Message: "no verdict: OpenRouter stored no content for triage (gen-1) (input/output logging off or zero data retention); " +
				"could not read the stored content of classify (gen-2): HTTP 500: Internal Server Error"}},
		{name: "unknown: nothing stored for two stages", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", "-"), vstage("classify", "", "stop", ""), vstage("coaching", "gen-3", "stop", "-")},
			want:   Verdict{Code: VerdictUnknown, Message: "no verdict: OpenRouter stored no content for triage (gen-1), coaching (gen-3) (input/output logging off or zero data retention)"}},
		{name: "unknown: nothing in common", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", `{"language":"en"}`)},
			want:   Verdict{Code: VerdictUnknown, Message: "no verdict: no field of the answers is in the stored analysis (s3://b/k.json)"}},
		{name: "unknown: no generation ids", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "", "stop", "")},
			want:   Verdict{Code: VerdictUnknown, Message: "no verdict: no stage has a generation id, so there is no stored answer to compare"}},
		{name: "unknown: no stages", status: readOK, analysis: storedVM,
			want: Verdict{Code: VerdictUnknown, Message: "no verdict: no stage to compare (no ai_usage lines)"}},
		{name: "missing stage is named", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", `{"call_state":"voicemail"}`), vstage("classify", "gen-2", "stop", "-")},
			want: Verdict{Code: VerdictModelOutput, Message: "the stored analysis is what the model answered (triage: call_state=voicemail): look at the prompt or the transcript (transcribe-processor); " +
				"OpenRouter stored no content for classify (gen-2) (input/output logging off or zero data retention)"}},
		{name: "unknown names both causes", status: readDenied,
			stages: []Stage{vstage("triage", "gen-1", "stop", "-")},
			want:   Verdict{Code: VerdictUnknown, Message: "no verdict: S3 AccessDenied on s3://b/k.json; OpenRouter stored no content for triage (gen-1) (input/output logging off or zero data retention)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decideVerdict(tt.stages, tt.status, tt.analysis)
			if tt.want.Differences == nil {
				tt.want.Differences = []Difference{}
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(Verdict{}, "Facts")); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVerdictFacts: each code's facts are the parts its message is worded from, so
// that a reply in another language says the same thing.
func TestVerdictFacts(t *testing.T) {
	tests := []struct {
		name     string
		stages   []Stage
		status   AnalysisStatus
		analysis map[string]any
		want     VerdictFacts
	}{
		{name: "model output", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", `{"call_state":"VOICEMAIL"}`), vstage("coaching", "gen-3", "stop", `{"score": 3.0}`)},
			want:   VerdictFacts{Stage: "triage", Field: "call_state", Model: "VOICEMAIL", Count: 2, Look: "transcribe-processor"}},
		{name: "mapping bug", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", `{"call_state":"human_conversation"}`), vstage("coaching", "gen-3", "stop", `{"score":4}`)},
			want: VerdictFacts{Stage: "triage", Field: "call_state", Model: "human_conversation", Stored: "voicemail", Count: 2,
				Look: "ai-analysis-processor post-process"}},
		{name: "cut off", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("contacts", "gen-4", "length", `{"a":`), vstage("coaching", "gen-3", "stop", `not json`)},
			want:   VerdictFacts{Stage: "contacts", CutOff: true, Look: "contacts-analyzer ai-client.ts", MaxTokens: 4000, Also: []string{"coaching"}}},
		{name: "not JSON", status: readDenied,
			stages: []Stage{vstage("triage", "gen-1", "stop", `The call went to voicemail.`)},
			want:   VerdictFacts{Stage: "triage", Reason: "no JSON object in the answer"}},
		{name: "unknown: analysis unreadable, content missing", status: readDenied,
			stages: []Stage{vstage("triage", "gen-1", "stop", "-"), vstage("classify", "gen-2", "stop", "!")},
			want: VerdictFacts{Reason: "S3 AccessDenied on s3://b/k.json", NotStored: []string{"triage (gen-1)"},
				Unreadable: []string{"classify (gen-2)"}}},
		{name: "unknown: content missing alone", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", "-")},
			want:   VerdictFacts{NotStored: []string{"triage (gen-1)"}}},
		{name: "unknown: nothing in common", status: readOK, analysis: storedVM,
			stages: []Stage{vstage("triage", "gen-1", "stop", `{"language":"en"}`)},
			want:   VerdictFacts{Reason: "no field of the answers is in the stored analysis (s3://b/k.json)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decideVerdict(tt.stages, tt.status, tt.analysis)
			if diff := cmp.Diff(tt.want, got.Facts); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJoinContent(t *testing.T) {
	s := vstage("coaching", "gen-3", "length", `{"score":4,"notes":"the ca`)
	if s.Content != ContentStored || s.Output != nil || s.OutputError != "truncated: finish reason length" || s.Answer() == "" {
		t.Errorf("cut-off stage: %+v", s)
	}
	s = vstage("triage", "gen-1", "stop", `{"b":1,"a":2}`)
	if string(s.Output) != `{"a":2,"b":1}` || s.OutputError != "" || s.InputExcerpt(100) != "hi" {
		t.Errorf("parsed stage: output %s error %q excerpt %q", s.Output, s.OutputError, s.InputExcerpt(100))
	}
	s = vstage("triage", "gen-1", "stop", "-")
	if s.Content != ContentNone || s.StoredContent() != nil || s.Answer() != "" {
		t.Errorf("not stored: %+v", s)
	}
}
