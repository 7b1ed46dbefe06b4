package lookup

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Answer is a stage's completion read as one JSON object (SPEC §11): the model's
// answer, ready to compare with the stored analysis. Numbers keep their literal
// (json.Number) so that they compare by value, not by float rounding.
type Answer map[string]any

// ParseAnswer reads completion as one JSON object. A ```json fence or words around
// the object are allowed: the object is the first balanced top-level {…} (inside the
// first fence when there is one). finishReason is the stage's; with "length" a
// completion that does not parse is reported as cut off. The error, when not nil,
// is one line fit for output_error: "truncated: finish reason length" or
// "not JSON: …". It quotes none of the completion, which is customer data.
func ParseAnswer(completion, finishReason string) (Answer, error) {
	a, err := parseAnswerObject(completion)
	if err == nil {
		return a, nil
	}
	if strings.EqualFold(strings.TrimSpace(finishReason), "length") {
		return nil, errors.New(stageCutOffError)
	}
	return nil, fmt.Errorf("not JSON: %w", err)
}

// maxAnswerStarts bounds the '{' tried as the object's start, so that a completion
// of many braces costs linear time, not quadratic.
const maxAnswerStarts = 8

// parseAnswerObject finds the answer object: words before it may hold braces of
// their own ("Sure {as asked}: {…}"), so each '{' is tried in turn, up to
// maxAnswerStarts; when none decodes, the first one's error is the answer's.
func parseAnswerObject(completion string) (Answer, error) {
	text := answerFenced(completion)
	start := strings.IndexByte(text, '{')
	if start < 0 {
		if strings.TrimSpace(text) == "" {
			return nil, errors.New("the answer is empty")
		}
		return nil, errors.New("no JSON object in the answer")
	}
	var first error
	for range maxAnswerStarts {
		a, err := decodeAnswerAt(text, start)
		if err == nil {
			return a, nil
		}
		if first == nil {
			first = err
		}
		next := strings.IndexByte(text[start+1:], '{')
		if next < 0 {
			break
		}
		start += 1 + next
	}
	return nil, first
}

// decodeAnswerAt decodes the object opening at text[start].
func decodeAnswerAt(text string, start int) (Answer, error) {
	end, ok := answerObjectEnd(text, start)
	if !ok {
		return nil, errors.New("the JSON object is not closed")
	}
	dec := json.NewDecoder(strings.NewReader(text[start:end]))
	dec.UseNumber()
	var a Answer
	if err := dec.Decode(&a); err != nil {
		return nil, answerSyntax(err)
	}
	return a, nil
}

// answerSyntax keeps a decoder error's position and kind but none of the text.
func answerSyntax(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	}
	return errors.New("invalid JSON")
}

// answerFenced returns the body of the first ``` fence (its language tag dropped),
// or s itself when s has no fence or the fence holds no object.
func answerFenced(s string) string {
	_, rest, ok := strings.Cut(s, "```")
	if !ok {
		return s
	}
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 && !strings.Contains(rest[:nl], "{") {
		rest = rest[nl+1:] // the language tag ("json") ends at the first newline
	}
	body, _, _ := strings.Cut(rest, "```")
	if !strings.Contains(body, "{") {
		return s
	}
	return body
}

// answerObjectEnd returns the index just past the '}' that closes the object opening
// at s[start], skipping braces inside JSON strings; ok is false when it never closes.
func answerObjectEnd(s string, start int) (end int, ok bool) {
	depth, inString, escaped := 0, false, false
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i + 1, c == '}'
			}
		}
	}
	return 0, false
}

// JSON returns the answer as compact JSON with sorted keys (for `trace --json`), or
// nil for a nil answer.
func (a Answer) JSON() json.RawMessage {
	if a == nil {
		return nil
	}
	return canonicalJSON(map[string]any(a))
}
