package main

import (
	"fmt"
	"strings"

	"github.com/callytics/tracebot/lookup"
)

// renderVerdict writes the Verdict: line (SPEC §11) and the differing fields, model
// against stored.
func renderVerdict(b *strings.Builder, t *lookup.Trace) {
	v := t.Verdict
	if v == nil {
		if t.Call != nil {
			b.WriteString("\nVerdict: off (TRACEBOT_VERDICT=off: stored content and analysis not read)\n")
		}
		return
	}
	fmt.Fprintf(b, "\nVerdict: %s — %s\n", v.Code, v.Message)
	for _, d := range v.Differences {
		fmt.Fprintf(b, "  %s %s: model %s, stored %s\n", d.Stage, d.Field, d.ModelText(), d.StoredText())
	}
}

// renderContent writes each stage's stored answer and a bounded excerpt of its
// input: customer data, printed only for --show-content.
func renderContent(b *strings.Builder, t *lookup.Trace) {
	b.WriteString("\nStored content (customer data: do not paste it into a channel)\n")
	for _, s := range t.Stages {
		if s.GenerationID == "" {
			continue
		}
		fmt.Fprintf(b, "\n%s (%s)\n", s.Stage, s.GenerationID)
		if s.StoredContent() == nil {
			fmt.Fprintf(b, "  %s\n", orDash(s.ContentError))
			continue
		}
		fmt.Fprintf(b, "  answer:\n%s\n", indent(s.Answer(), "    "))
		fmt.Fprintf(b, "  input (excerpt):\n%s\n", indent(s.InputExcerpt(lookup.InputExcerptRunes), "    "))
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// storedContentJSON is one stage's stored content in `trace --json --show-content`.
type storedContentJSON struct {
	Stage        string `json:"stage"`
	GenerationID string `json:"generation_id"`
	Answer       string `json:"answer"`
	InputExcerpt string `json:"input_excerpt"`
	Error        string `json:"error,omitempty"`
}

// traceWithContentJSON is the trace JSON plus, for --show-content, the stored content.
type traceWithContentJSON struct {
	*lookup.Trace
	StoredContent []storedContentJSON `json:"stored_content"`
}

func withContent(t *lookup.Trace) traceWithContentJSON {
	out := traceWithContentJSON{Trace: t, StoredContent: []storedContentJSON{}}
	for _, s := range t.Stages {
		if s.GenerationID != "" {
			out.StoredContent = append(out.StoredContent, storedContentJSON{Stage: s.Stage, GenerationID: s.GenerationID,
				Answer: s.Answer(), InputExcerpt: s.InputExcerpt(lookup.InputExcerptRunes), Error: s.ContentError})
		}
	}
	return out
}
