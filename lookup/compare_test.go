package lookup_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/lookup"
)

func mustAnswer(t *testing.T, s string) lookup.Answer {
	t.Helper()
	a, err := lookup.ParseAnswer(s, "stop")
	if err != nil {
		t.Fatalf("answer %s: %v", s, err)
	}
	return a
}

func mustObject(t *testing.T, s string) map[string]any {
	t.Helper()
	return map[string]any(mustAnswer(t, s))
}

type fieldResult struct {
	Field string
	Equal bool
}

// TestCompareAnswer covers SPEC §11's matching and normalisation rules.
func TestCompareAnswer(t *testing.T) {
	tests := []struct {
		name     string
		answer   string
		analysis string
		want     []fieldResult
	}{
		{"same path", `{"call_state":"voicemail"}`, `{"call_state":"voicemail"}`, []fieldResult{{"call_state", true}}},
		{"strings trimmed and case-folded", `{"call_state":"  VoiceMail "}`, `{"call_state":"voicemail"}`, []fieldResult{{"call_state", true}}},
		{"strings differ", `{"call_state":"human_conversation"}`, `{"call_state":"voicemail"}`, []fieldResult{{"call_state", false}}},
		{"numbers by value", `{"score":4.50,"n":1e2}`, `{"score":4.5,"n":100}`, []fieldResult{{"n", true}, {"score", true}}},
		{"numbers differ", `{"score":4.5}`, `{"score":4.51}`, []fieldResult{{"score", false}}},
		{"number vs string compares as JSON", `{"score":"4.5"}`, `{"score":4.5}`, []fieldResult{{"score", false}}},
		{"arrays as JSON", `{"tags":["a","b"]}`, `{"tags":["a","b"]}`, []fieldResult{{"tags", true}}},
		{"arrays are not case-folded", `{"tags":["A"]}`, `{"tags":["a"]}`, []fieldResult{{"tags", false}}},
		{"array order matters", `{"tags":["a","b"]}`, `{"tags":["b","a"]}`, []fieldResult{{"tags", false}}},
		{"booleans and null", `{"ok":true,"x":null}`, `{"ok":true,"x":null}`, []fieldResult{{"ok", true}, {"x", true}}},
		{"nested same path", `{"staff":{"name":"Ana"}}`, `{"staff":{"name":"ana"}}`, []fieldResult{{"staff.name", true}}},
		{"leaf key found once elsewhere", `{"call_state":"voicemail"}`, `{"result":{"triage":{"call_state":"voicemail"}}}`,
			[]fieldResult{{"result.triage.call_state", true}}},
		{"leaf key found twice is not compared", `{"name":"Ana"}`, `{"staff":{"name":"Ana"},"store":{"name":"Main St"}}`, nil},
		{"same path wins over the key elsewhere", `{"name":"Ana"}`, `{"name":"Ana","staff":{"name":"Bo"}}`, []fieldResult{{"name", true}}},
		{"answer leaf vs stored object compares as JSON", `{"staff":"Ana"}`, `{"staff":{"name":"Ana"}}`, []fieldResult{{"staff", false}}},
		{"objects in the answer are descended", `{"staff":{"name":"Ana","role":"agent"}}`, `{"staff":{"name":"Ana"},"role":"AGENT"}`,
			[]fieldResult{{"staff.name", true}, {"role", true}}},
		{"keys inside stored arrays are not searched", `{"name":"Ana"}`, `{"tasks":[{"name":"Ana"}]}`, nil},
		{"nothing in common", `{"a":1}`, `{"b":1}`, nil},
		{"empty object is a leaf", `{"meta":{}}`, `{"meta":{}}`, []fieldResult{{"meta", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := lookup.CompareAnswer("triage", mustAnswer(t, tt.answer), mustObject(t, tt.analysis))
			var got []fieldResult
			for _, f := range c.Compared {
				got = append(got, fieldResult{f.Field, f.Equal})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("compared fields (-want +got):\n%s", diff)
			}
			unequal := 0
			for _, f := range got {
				if !f.Equal {
					unequal++
				}
			}
			if len(c.Differences) != unequal {
				t.Errorf("%d differences for %d unequal fields", len(c.Differences), unequal)
			}
		})
	}
}

func TestDifferenceValues(t *testing.T) {
	c := lookup.CompareAnswer("triage", mustAnswer(t, `{"call_state":"human_conversation","tags":["a"]}`),
		mustObject(t, `{"call_state":"voicemail","tags":["b"]}`))
	want := []lookup.Difference{
		{Stage: "triage", Field: "call_state", Model: json.RawMessage(`"human_conversation"`), Stored: json.RawMessage(`"voicemail"`)},
		{Stage: "triage", Field: "tags", Model: json.RawMessage(`["a"]`), Stored: json.RawMessage(`["b"]`)},
	}
	if diff := cmp.Diff(want, c.Differences); diff != "" {
		t.Errorf("differences (-want +got):\n%s", diff)
	}
	if got := c.Differences[0].ModelText() + " / " + c.Differences[0].StoredText() + " / " + c.Differences[1].ModelText(); got != `human_conversation / voicemail / ["a"]` {
		t.Errorf("texts %q", got)
	}
}
