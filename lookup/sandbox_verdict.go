package lookup

// The sandbox's side of SPEC §11: what OpenRouter stored of each generation and the
// stored analyses in S3, chosen so that `trace --sandbox` shows every verdict:
//   - the runbook's example (s-abc123def456): model_output, the model itself said
//     voicemail (the transcript opens like a voicemail greeting);
//   - s-5e9b2d4c7a10: mapping_bug, the model said human_conversation, the analysis
//     says voicemail;
//   - the truncated call (s-91b3f0a6e2d4): truncated_output, coaching cut off;
//   - the missing-generation-id call (s-7d0e2b91c3aa): unknown, nothing stored.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// SandboxContent is what OpenRouter stored of one sandbox generation: the input
// object ({"messages": [...]}) and the completion.
type SandboxContent struct {
	Input      json.RawMessage
	Completion string
}

// mappingCall is the sandbox's mapping bug: triage heard a conversation, the
// stored analysis says voicemail.
func mappingCall() sandboxCall {
	return sandboxCall{
		call: Call{TelephonySessionID: "s-5e9b2d4c7a10", CreatedAt: time.Date(2026, 5, 21, 18, 5, 33, 0, time.UTC),
			StoreID: "f6071829-3a4b-4c5d-97e8-f90a1b2c3d4e", FranchiseID: "retaintive-demo",
			FromPhoneNumber: "+16465550134", ToPhoneNumber: "+12125550100", ContactPhone: "+16465550134",
			S3AnalysisPath: "s3://callytics-prod-analysis/2026/05/21/s-5e9b2d4c7a10.json", Direction: DirectionInbound},
		region: "us-east-1",
		stages: []sandboxStage{
			{service: "triage", genID: "gen-1779386736-MaPbUg", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 3 * time.Second, in: 3050, out: 175, cached: 2800, cost: 0.000124},
			{service: "classify", genID: "gen-1779386738-Vw2XyZ", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 5 * time.Second, in: 5050, out: 930, cached: 4450, cost: 0.000770},
			{service: "coaching", genID: "gen-1779386741-Qr7StU", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 8 * time.Second, in: 4050, out: 810, cached: 3450, cost: 0.000641},
		},
	}
}

// sandboxTranscripts are the user messages (transcripts) by session.
var sandboxTranscripts = map[string]string{
	"s-abc123def456": "Agent: Hi, you've reached Bright Smile Dental, please leave... oh, sorry, hello? This is Maria.\n" +
		"Caller: Hi Maria, it's Dana. I need to move my cleaning on Friday.\nAgent: Sure, let me call you back with a new time.",
	"s-5e9b2d4c7a10": "Agent: Bright Smile Dental, Kevin speaking.\nCaller: Hi, I'd like to book a new-patient exam.\n" +
		"Agent: Thursday at ten works. Can I get your name?",
	"s-91b3f0a6e2d4": "Agent: Priya from billing, how can I help?\nCaller: My invoice has a charge I don't recognise.\n" +
		"Agent: Let me go through every line with you...",
	"s-2c8e5a7b9f13": "Agent: Good morning, this is Sam.\nCaller: Hi, Luis Ortega, I'm calling to confirm Tuesday.\nAgent: You're all set.",
}

// sandboxAnswers are the stored completions by generation id.
var sandboxAnswers = map[string]string{
	// the runbook's example: the model said voicemail (model_output)
	"gen-1779299695-aBcDeFg": `{"call_state":"voicemail","language":"en","confidence":0.61}`,
	"gen-1779299697-hIjKlMn": "```json\n{\"intent\": \"appointment_change\", \"staff_name\": \"Maria\", \"tasks\": [\"Call Dana back to reschedule the cleaning\"]}\n```",
	"gen-1779299700-oPqRsTu": `{"coaching_applicable":false,"score":0}`,
	// mapping_bug
	"gen-1779386736-MaPbUg": `{"call_state":"human_conversation","language":"en","confidence":0.97}`,
	"gen-1779386738-Vw2XyZ": `{"intent":"new_booking","staff_name":"Kevin","tasks":["Book a new-patient exam for Thursday 10:00"]}`,
	"gen-1779386741-Qr7StU": `{"coaching_applicable":true,"score":4}`,
	// truncated_output: coaching ran out of tokens
	"gen-1779135583-LmNoPq": `{"call_state":"human_conversation","language":"en","confidence":0.95}`,
	"gen-1779135586-RsTuVw": `{"intent":"billing_question","staff_name":"Priya","tasks":["Email the itemized invoice"]}`,
	"gen-1779135592-XyZaBc": `{"coaching_applicable":true,"score":3,"strengths":["Verified the account before discussing the bill",` +
		`"Explained each line item"],"improvements":["Offer the payment plan earlier","Summarize the next steps before`,
	// the reprocessed call's newest run (model_output)
	"gen-1778946301-Ii9Jj0": `{"call_state":"human_conversation","language":"en","confidence":0.93}`,
	"gen-1778946304-Kk1Ll2": `{"intent":"appointment_confirmation","staff_name":"Sam","tasks":[]}`,
	"gen-1778946308-Mm3Nn4": `{"coaching_applicable":true,"score":5}`,
	"gen-1778943880-Gg7Hh8": `{"contact_name":"Luis Ortega","contact_type":"existing_customer"}`,
}

// sandboxAnalyses are the stored analyses by session (the object at its
// s3_analysis_path). The candidates have none: their paths answer NoSuchKey.
var sandboxAnalyses = map[string]string{
	"s-abc123def456": `{"telephonySessionId":"s-abc123def456","call_state":"voicemail","language":"en",` +
		`"classification":{"intent":"appointment_change","staff_name":"Maria"},"tasks":["Call Dana back to reschedule the cleaning"],` +
		`"coaching":{"coaching_applicable":false,"score":0},"analyzed_at":"2026-05-20T17:15:09Z"}`,
	"s-5e9b2d4c7a10": `{"telephonySessionId":"s-5e9b2d4c7a10","call_state":"voicemail","language":"en",` +
		`"classification":{"intent":"new_booking","staff_name":"Kevin"},"tasks":["Book a new-patient exam for Thursday 10:00"],` +
		`"coaching":{"coaching_applicable":false,"score":4},"analyzed_at":"2026-05-21T18:05:49Z"}`,
	"s-91b3f0a6e2d4": `{"telephonySessionId":"s-91b3f0a6e2d4","call_state":"human_conversation","language":"en",` +
		`"classification":{"intent":"billing_question","staff_name":"Priya"},"tasks":["Email the itemized invoice"],` +
		`"coaching":{"coaching_applicable":true,"score":3},"analyzed_at":"2026-05-18T20:19:58Z"}`,
	"s-7d0e2b91c3aa": `{"telephonySessionId":"s-7d0e2b91c3aa","call_state":"human_conversation","language":"es",` +
		`"classification":{"intent":"order_status","staff_name":"Rosa"},"tasks":[],"analyzed_at":"2026-05-19T16:41:20Z"}`,
	"s-2c8e5a7b9f13": `{"telephonySessionId":"s-2c8e5a7b9f13","call_state":"human_conversation","language":"en",` +
		`"classification":{"intent":"appointment_confirmation","staff_name":"Sam"},"tasks":[],` +
		`"coaching":{"coaching_applicable":true,"score":5},"contact_name":"Luis Ortega","analyzed_at":"2026-05-17T15:45:01Z"}`,
}

// sandboxVerdictData fills d's stored contents and analyses.
func sandboxVerdictData(d *SandboxData) {
	d.Contents, d.Analyses = map[string]SandboxContent{}, map[string]json.RawMessage{}
	for _, c := range d.Calls {
		if a, ok := sandboxAnalyses[c.TelephonySessionID]; ok {
			d.Analyses[c.S3AnalysisPath] = json.RawMessage(a)
		}
		for _, row := range d.Rows[c.TelephonySessionID] {
			if answer, ok := sandboxAnswers[row.OpenRouterID]; ok {
				d.Contents[row.OpenRouterID] = SandboxContent{Input: sandboxInput(row, sandboxTranscripts[c.TelephonySessionID]), Completion: answer}
			}
		}
	}
}

// sandboxInput is the chat input of a stage: its prompt and the call's transcript.
func sandboxInput(row UsageRow, transcript string) json.RawMessage {
	system := fmt.Sprintf("You are the %s stage of Callytics' call analysis. Read the transcript and answer with one JSON object.", row.Service)
	in, _ := json.Marshal(map[string]any{"messages": []map[string]string{
		{"role": "system", "content": system}, {"role": "user", "content": transcript}}})
	return in
}

type sandboxContents struct {
	contents map[string]SandboxContent
	delay    time.Duration
}

// FetchContent answers like OpenRouter: an id with no stored content is "not
// stored" (HTTP 404).
func (s *sandboxContents) FetchContent(ctx context.Context, id string) (Content, error) {
	if err := Sleep(ctx, s.delay); err != nil {
		return Content{}, err
	}
	c, ok := s.contents[id]
	if !ok {
		return ContentNotStored(id, "HTTP 404"), nil
	}
	return NewContent(id, c.Completion, c.Input), nil
}

type sandboxAnalysisReader struct {
	objects map[string]json.RawMessage
	delay   time.Duration
}

// ReadAnalysis answers like S3Analysis: a path with nothing stored is NoSuchKey.
func (s *sandboxAnalysisReader) ReadAnalysis(ctx context.Context, path string) (map[string]any, error) {
	if err := Sleep(ctx, s.delay); err != nil {
		return nil, fmt.Errorf("s3 %s: get object: %w", path, err)
	}
	raw, ok := s.objects[path]
	if !ok {
		return nil, fmt.Errorf("s3 %s: get object: %w", path, &types.NoSuchKey{Message: aws.String("The specified key does not exist.")})
	}
	obj, err := decodeAnalysis(raw)
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", path, err)
	}
	return obj, nil
}
