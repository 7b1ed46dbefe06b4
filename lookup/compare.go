package lookup

import (
	"bytes"
	"encoding/json"
	"math/big"
	"sort"
	"strings"
)

// Difference is one field where a stage's answer and the stored analysis disagree
// (SPEC §11). Field is the dotted key path in the analysis ("call_state",
// "staff.name"); arrays are compared whole. Model and Stored are the values as JSON.
type Difference struct {
	Stage  string          `json:"stage"`
	Field  string          `json:"field"`
	Model  json.RawMessage `json:"model"`
	Stored json.RawMessage `json:"stored"`
}

// ModelText is the model's value for a reply: a string without quotes, anything
// else as compact JSON.
func (d Difference) ModelText() string { return ValueText(d.Model) }

// StoredText is the stored value for a reply, like ModelText.
func (d Difference) StoredText() string { return ValueText(d.Stored) }

// ValueText shows a JSON value to a person: a string unquoted, else its JSON.
func ValueText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// Comparison is what one stage's answer has in common with the stored analysis.
type Comparison struct {
	Compared    []ComparedField // every field found in both, in the answer's path order
	Differences []Difference    // the compared fields whose values differ
}

// ComparedField is one field found in both the answer and the analysis.
type ComparedField struct {
	Field string          // path in the analysis
	Model json.RawMessage // the answer's value
	Equal bool
}

// CompareAnswer compares every leaf of answer with the analysis (SPEC §11): a leaf
// at the same key path, or else under the same leaf key when the analysis has that
// key exactly once. Values compare after normalising: strings trimmed and
// case-folded, numbers by value, arrays and objects as JSON. Arrays are leaves;
// keys inside arrays are not searched.
func CompareAnswer(stage string, answer Answer, analysis map[string]any) Comparison {
	idx := indexAnalysis(analysis)
	var c Comparison
	for _, leaf := range answerLeaves(answer) {
		field, stored, ok := idx.find(leaf.path)
		if !ok {
			continue
		}
		model := canonicalJSON(leaf.value)
		equal := sameValue(leaf.value, stored)
		c.Compared = append(c.Compared, ComparedField{Field: field, Model: model, Equal: equal})
		if !equal {
			c.Differences = append(c.Differences, Difference{Stage: stage, Field: field, Model: model, Stored: canonicalJSON(stored)})
		}
	}
	return c
}

// answerLeaf is one non-object value of an answer (or an empty object) and its path.
type answerLeaf struct {
	path  []string
	value any
}

// answerLeaves lists the leaves of v sorted by path.
func answerLeaves(v map[string]any) []answerLeaf {
	var out []answerLeaf
	var walk func(prefix []string, m map[string]any)
	walk = func(prefix []string, m map[string]any) {
		for k, val := range m {
			p := append(append([]string(nil), prefix...), k)
			if sub, ok := val.(map[string]any); ok && len(sub) > 0 {
				walk(p, sub)
				continue
			}
			out = append(out, answerLeaf{path: p, value: val})
		}
	}
	walk(nil, v)
	sort.Slice(out, func(i, j int) bool { return joinPath(out[i].path) < joinPath(out[j].path) })
	return out
}

func joinPath(p []string) string { return strings.Join(p, ".") }

// analysisIndex is every key path of an analysis object (objects descended, arrays
// not) and, per key name, the paths where it occurs.
type analysisIndex struct {
	values map[string]any
	byKey  map[string][]string
}

func indexAnalysis(analysis map[string]any) analysisIndex {
	idx := analysisIndex{values: map[string]any{}, byKey: map[string][]string{}}
	var walk func(prefix []string, m map[string]any)
	walk = func(prefix []string, m map[string]any) {
		for k, val := range m {
			p := append(append([]string(nil), prefix...), k)
			path := joinPath(p)
			idx.values[path] = val
			idx.byKey[k] = append(idx.byKey[k], path)
			if sub, ok := val.(map[string]any); ok {
				walk(p, sub)
			}
		}
	}
	walk(nil, analysis)
	return idx
}

// find returns the analysis value for an answer leaf at path: the same path, or the
// one place the leaf's key occurs.
func (idx analysisIndex) find(path []string) (field string, value any, ok bool) {
	if v, ok := idx.values[joinPath(path)]; ok {
		return joinPath(path), v, true
	}
	paths := idx.byKey[path[len(path)-1]]
	if len(paths) != 1 {
		return "", nil, false
	}
	return paths[0], idx.values[paths[0]], true
}

// sameValue compares two decoded JSON values after SPEC §11's normalisation.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(y))
	case json.Number:
		y, ok := b.(json.Number)
		return ok && sameNumber(x, y)
	}
	return bytes.Equal(canonicalJSON(a), canonicalJSON(b))
}

// sameNumber compares two JSON number literals exactly ("1", "1.0" and "1e0" agree).
func sameNumber(a, b json.Number) bool {
	x, okx := new(big.Rat).SetString(a.String())
	y, oky := new(big.Rat).SetString(b.String())
	if !okx || !oky {
		return a == b
	}
	return x.Cmp(y) == 0
}

// canonicalJSON encodes a decoded value compactly, object keys sorted, HTML unescaped.
func canonicalJSON(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return json.RawMessage("null")
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}
