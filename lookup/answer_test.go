package lookup_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/lookup"
)

func TestParseAnswer(t *testing.T) {
	voicemail := lookup.Answer{"call_state": "voicemail", "confidence": json.Number("0.93")}
	tests := []struct {
		name       string
		completion string
		finish     string
		want       lookup.Answer
		wantErr    string
	}{
		{name: "bare object", completion: `{"call_state":"voicemail","confidence":0.93}`, finish: "stop", want: voicemail},
		{name: "json fence", completion: "```json\n{\"call_state\": \"voicemail\", \"confidence\": 0.93}\n```", finish: "stop", want: voicemail},
		{name: "plain fence", completion: "```\n{\"call_state\": \"voicemail\", \"confidence\": 0.93}\n```", want: voicemail},
		{name: "fence after words with braces", completion: "Result {see below}:\n```json\n{\"call_state\":\"voicemail\",\"confidence\":0.93}\n```\nDone.", want: voicemail},
		{name: "words around", completion: "Here is the analysis: {\"call_state\":\"voicemail\",\"confidence\":0.93} Hope this helps {x}.", want: voicemail},
		{name: "braces inside strings", completion: `{"note":"a } and a \" and {","n":{"x":[1,{"y":2}]}}`,
			want: lookup.Answer{"note": `a } and a " and {`, "n": map[string]any{"x": []any{json.Number("1"), map[string]any{"y": json.Number("2")}}}}},
		{name: "braces in the words before", completion: "Sure {as asked}: {\"call_state\":\"voicemail\",\"confidence\":0.93}", finish: "stop", want: voicemail},
		{name: "an unclosed brace in the words before", completion: "Note: { see below. {\"call_state\":\"voicemail\",\"confidence\":0.93}", finish: "stop", want: voicemail},
		{name: "first of two objects", completion: `{"a":1} {"b":2}`, want: lookup.Answer{"a": json.Number("1")}},
		{name: "cut off with length", completion: `{"call_state":"voicemail","summary":"The caller asked ab`, finish: "length", wantErr: "truncated: finish reason length"},
		{name: "cut off without length", completion: `{"call_state":"voicemail","summary":"The caller asked ab`, finish: "stop", wantErr: "not JSON: the JSON object is not closed"},
		{name: "length but complete", completion: `{"call_state":"voicemail","confidence":0.93}`, finish: "length", want: voicemail},
		{name: "prose", completion: "The call went to voicemail.", finish: "stop", wantErr: "not JSON: no JSON object in the answer"},
		{name: "empty", completion: "  \n", finish: "stop", wantErr: "not JSON: the answer is empty"},
		{name: "invalid inside", completion: `{"call_state": voicemail}`, finish: "stop", wantErr: "not JSON: invalid JSON at byte 16"},
		{name: "array only", completion: `[1, 2]`, finish: "stop", wantErr: "not JSON: no JSON object in the answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookup.ParseAnswer(tt.completion, tt.finish)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Fatalf("error %q, want %q", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnswerJSONIsCanonical(t *testing.T) {
	a, err := lookup.ParseAnswer(`{"b":1.50,"a":"<x>","c":{"z":true,"y":null}}`, "stop")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(a.JSON()), `{"a":"<x>","b":1.50,"c":{"y":null,"z":true}}`; got != want {
		t.Errorf("JSON %s, want %s", got, want)
	}
	if lookup.Answer(nil).JSON() != nil {
		t.Error("a nil answer must encode as nil (null)")
	}
}

// answerErrorForm is every error ParseAnswer may return: fixed text and a number.
var answerErrorForm = regexp.MustCompile(`^(truncated: finish reason length|not JSON: (the answer is empty|no JSON object in the answer|the JSON object is not closed|invalid JSON( at byte \d+)?))$`)

// FuzzParseAnswer checks that no completion makes ParseAnswer panic, that an answer
// re-encodes as JSON, and that an error is one of the fixed one-line forms quoting
// nothing of the completion (it is customer data).
func FuzzParseAnswer(f *testing.F) {
	f.Add(`{"call_state":"voicemail"}`, "stop")
	f.Add("```json\n{\"a\":[1,{\"b\":\"}\"}]}\n```", "stop")
	f.Add(`{"a":"\"}`, "length")
	f.Fuzz(func(t *testing.T, completion, finish string) {
		a, err := lookup.ParseAnswer(completion, finish)
		if err != nil {
			if !answerErrorForm.MatchString(err.Error()) {
				t.Fatalf("error %q is not one of the fixed forms", err)
			}
			return
		}
		if a == nil || !json.Valid(a.JSON()) {
			t.Fatalf("answer %v does not re-encode", a)
		}
	})
}
