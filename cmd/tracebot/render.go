package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callytics/tracebot/lookup"
)

// renderText renders a trace for a terminal: the same content as the chat reply.
func renderText(t *lookup.Trace) string {
	var b strings.Builder
	if t.Sandbox {
		b.WriteString("[SAMPLE DATA — --sandbox, not a real call]\n")
	}
	fmt.Fprintf(&b, "Trace %s  %s\n", t.TraceID, t.Outcome)
	if t.Phone != "" {
		fmt.Fprintf(&b, "Searched %s, %s\n", t.Phone, t.Interpreted)
	}
	switch t.Outcome {
	case lookup.OutcomeNotFound:
		renderNotFound(&b, t)
	case lookup.OutcomeCandidates:
		renderCandidates(&b, t)
	}
	if t.Call != nil {
		renderCall(&b, t.Call)
	}
	if len(t.Stages) > 0 {
		renderStages(&b, t)
	}
	renderVerdict(&b, t)
	renderWarnings(&b, t)
	renderEngineers(&b, t)
	fmt.Fprintf(&b, "\nTimings: calls %dms, logs %dms, generations %dms (content %dms), analysis %dms, total %dms\n",
		t.TimingsMS.Calls, t.TimingsMS.Logs, t.TimingsMS.Generations, t.TimingsMS.Content, t.TimingsMS.Analysis, t.TimingsMS.Total)
	return b.String()
}

func renderNotFound(b *strings.Builder, t *lookup.Trace) {
	if t.Phone == "" { // looked up by session id: the error names it
		b.WriteString("\n")
		for _, e := range t.Errors {
			fmt.Fprintf(b, "✗ %s: %s\n", e.Step, e.Message)
		}
		return
	}
	fmt.Fprintf(b, "\nNo call found for %s between %s and %s UTC.\n", t.Phone, fmtUTC(t.From), fmtUTC(t.To))
	b.WriteString("Try a wider window (\"±6h\" in the report), the report without a time (last 7 days), or --session ID.\n")
	for _, e := range t.Errors {
		fmt.Fprintf(b, "  %s\n", e.Message)
	}
}

func renderCandidates(b *strings.Builder, t *lookup.Trace) {
	fmt.Fprintf(b, "\n%d calls match; pick one with --session:\n", len(t.Candidates))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  SESSION\tCREATED (UTC)\tDIRECTION\tSTORE\tMATCHED")
	for _, c := range t.Candidates {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.TelephonySessionID, fmtUTC(c.CreatedAt), orDash(string(c.Direction)), orDash(c.StoreID), c.MatchedColumn)
	}
	tw.Flush()
}

func renderCall(b *strings.Builder, c *lookup.Call) {
	fmt.Fprintf(b, "\nCall %s\n", c.TelephonySessionID)
	fmt.Fprintf(b, "  created   %s\n", fmtUTC(c.CreatedAt)+" UTC")
	fmt.Fprintf(b, "  store     %s   franchise %s\n", orDash(c.StoreID), orDash(c.FranchiseID))
	fmt.Fprintf(b, "  direction %s   from %s  to %s  (matched %s)\n", orDash(string(c.Direction)), orDash(c.FromPhoneNumber), orDash(c.ToPhoneNumber), orDash(c.MatchedColumn))
	fmt.Fprintf(b, "  analysis  %s\n", orDash(c.S3AnalysisPath))
}

func renderStages(b *strings.Builder, t *lookup.Trace) {
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tMODEL\tPROVIDER\tTOKENS IN/OUT\tCACHE\tCOST\tFINISH\tGENERATION")
	for _, s := range t.Stages {
		gen := s.Link
		if gen == "" {
			gen = "(no generation id)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", s.Stage, orDash(s.Model), orDash(s.Provider),
			s.InputTokens, s.OutputTokens, pct(s.CacheRatio), cost(s.Cost()), orDash(s.FinishReason), gen)
	}
	tw.Flush()
	fmt.Fprintf(b, "Total: $%.6f, cache %s (token-weighted)", t.TotalCostUSD, pct(t.CacheRatio))
	if t.Runs > 1 {
		fmt.Fprintf(b, ", %d runs (showing the newest)", t.Runs)
	}
	b.WriteString("\n")
}

func renderWarnings(b *strings.Builder, t *lookup.Trace) {
	if len(t.Warnings) == 0 && len(t.Errors) == 0 {
		return
	}
	b.WriteString("\n")
	for _, w := range t.Warnings {
		fmt.Fprintf(b, "⚠ %s\n", w.Message)
	}
	if t.Outcome == lookup.OutcomeNotFound {
		return
	}
	for _, e := range t.Errors {
		where, msg := e.Step, e.Message
		if e.Region != "" { // "logs us-east-2: AccessDenied …", the region named once
			where += " " + e.Region
			msg = strings.TrimPrefix(msg, e.Region+": ")
		}
		fmt.Fprintf(b, "✗ %s: %s\n", where, msg)
	}
}

func renderEngineers(b *strings.Builder, t *lookup.Trace) {
	e := t.Engineers
	if e == nil {
		return
	}
	b.WriteString("\nFor engineers\n")
	if e.SQL != "" {
		fmt.Fprintf(b, "  SQL: %s\n  params: %s\n", oneLineSQL(e.SQL), strings.Join(e.SQLParams, ", "))
	}
	if e.InsightsQuery != "" {
		fmt.Fprintf(b, "  Insights query:\n    %s\n", strings.ReplaceAll(e.InsightsQuery, "\n", "\n    "))
	}
	if e.InsightsFrom != nil {
		fmt.Fprintf(b, "  range: %s – %s UTC\n", fmtUTC(*e.InsightsFrom), fmtUTC(*e.InsightsTo))
	}
	for _, l := range e.ConsoleLinks {
		fmt.Fprintf(b, "  console %s: %s\n", l.Region, l.URL)
	}
	fmt.Fprintf(b, "  trace id: %s\n", t.TraceID)
}

// renderRequest is the --dry-run text: the interpretation only.
func renderRequest(req lookup.Request) string {
	var b strings.Builder
	if req.Phone != "" {
		fmt.Fprintf(&b, "phone     %s\n", req.Phone)
	}
	if searchesWindow(req) || req.SessionID != "" && req.At != nil {
		fmt.Fprintf(&b, "when      %s\n", req.Interpretation("en"))
		fmt.Fprintf(&b, "zone      %s (%s)\n", req.ZoneName, req.ZoneSource)
	}
	if searchesWindow(req) {
		fmt.Fprintf(&b, "window    %s – %s UTC\n", fmtUTC(req.From), fmtUTC(req.To))
	}
	if req.Direction != "" {
		fmt.Fprintf(&b, "direction %s\n", req.Direction)
	}
	if req.Env != "" {
		fmt.Fprintf(&b, "env       %s\n", req.Env)
	}
	if req.SessionID != "" {
		fmt.Fprintf(&b, "session   %s (the call is looked up by id)\n", req.SessionID)
	}
	if len(req.GenerationIDs) > 0 {
		fmt.Fprintf(&b, "generations %s\n", strings.Join(req.GenerationIDs, ", "))
	}
	return b.String()
}

func renderNotUnderstood(e *lookup.Error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Sorry, I could not read that report: %s\n", e.Message)
	if len(e.Understood) > 0 {
		fmt.Fprintf(&b, "Understood: %s\n", strings.Join(e.Understood, "; "))
	}
	if len(e.Missing) > 0 {
		fmt.Fprintf(&b, "Missing: %s\n", strings.Join(e.Missing, "; "))
	}
	b.WriteString("Examples:\n")
	for _, ex := range lookup.ReportExamples {
		fmt.Fprintf(&b, "  tracebot trace %q\n", ex)
	}
	return b.String()
}

func fmtUTC(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func pct(r *float64) string {
	if r == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", *r*100)
}

func cost(c *float64) string {
	if c == nil {
		return "—"
	}
	return fmt.Sprintf("$%.6f", *c)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func oneLineSQL(s string) string { return strings.Join(strings.Fields(s), " ") }
