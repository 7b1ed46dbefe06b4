package lookup

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// Content is what OpenRouter stored of one generation: the model's completion and
// the input it was given (SPEC §11). The input is customer data (prompts,
// transcripts): it is reachable only through InputExcerpt, and Content prints,
// logs and encodes as a summary that holds neither text.
type Content struct {
	ID string
	// Stored is false when OpenRouter kept nothing (HTTP 404 or a null completion:
	// input/output logging off, or zero data retention).
	Stored bool
	// NotStored says how "nothing stored" was learned ("HTTP 404", "no completion").
	NotStored string

	completion string
	input      json.RawMessage // {"messages": [...]} or {"prompt": "..."}
}

// NewContent returns stored content: the completion and the raw input object.
func NewContent(id, completion string, input json.RawMessage) Content {
	return Content{ID: id, Stored: true, completion: completion, input: append(json.RawMessage(nil), input...)}
}

// ContentNotStored returns the "nothing stored" result for id, with how it was learned.
func ContentNotStored(id, how string) Content { return Content{ID: id, NotStored: how} }

// Completion returns the model's answer as stored, "" when nothing was stored.
func (c Content) Completion() string { return c.completion }

// String describes c without its text, so a stray %v or log line leaks nothing.
func (c Content) String() string {
	if !c.Stored {
		return fmt.Sprintf("content %s: not stored (%s)", c.ID, c.NotStored)
	}
	return fmt.Sprintf("content %s: %d bytes of completion, %d bytes of input", c.ID, len(c.completion), len(c.input))
}

// GoString is String, for %#v.
func (c Content) GoString() string { return c.String() }

// LogValue is String, for slog.
func (c Content) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON encodes the summary only: Content is never serialised with its text.
func (c Content) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// inputMessage is one chat message of a stored input; content is a string or a list
// of parts ({"type": "text", "text": …}).
type inputMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// InputExcerpt returns about maxRunes runes of the input (a cut is marked "…"): each
// message as
// "role: text", every message given an equal share so the transcript is not
// crowded out by a long system prompt. It is for a person who asked to see it
// (trace --show-content, the private Model output answer), never for a log.
func (c Content) InputExcerpt(maxRunes int) string {
	var in struct {
		Messages []inputMessage `json:"messages"`
		Prompt   *string        `json:"prompt"`
	}
	if maxRunes <= 0 || json.Unmarshal(c.input, &in) != nil {
		return ""
	}
	if in.Prompt != nil {
		return openRouterClip(oneLine(*in.Prompt), maxRunes)
	}
	if len(in.Messages) == 0 {
		return ""
	}
	share := max(maxRunes/len(in.Messages), 80)
	lines := make([]string, 0, len(in.Messages))
	for _, m := range in.Messages {
		lines = append(lines, openRouterClip(m.Role+": "+oneLine(messageText(m.Content)), share))
	}
	return openRouterClip(strings.Join(lines, "\n"), maxRunes)
}

// messageText is a message's text: a plain string, or its text parts joined.
func messageText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var texts []string
	for _, p := range parts {
		if p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, " ")
}

// oneLine collapses runs of white space (newlines included) into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// InputExcerptRunes is the size of the input excerpt shown to a person who asks
// for a stage's content (trace --show-content, the Model output answer).
const InputExcerptRunes = 600
