package bot

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/numfmt"
)

// replies builds Reply models in one language. It holds no state beyond settings.
type replies struct {
	lang        string
	sandbox     bool
	reprocess   bool           // a Reprocess button is offered
	cooldown    time.Duration  // shown in the confirm dialog
	escalation  bool           // an Escalate button is offered
	modelOutput bool           // a Model output button is offered (the bot has a ContentReader)
	mention     string         // TRACEBOT_ESCALATION_MENTION, for critical alerts
	zone        *time.Location // TRACEBOT_TIME_ZONE: alerts' hours are labelled in it
}

func (r replies) t(key string, args ...any) string { return T(r.lang, key, args...) }

func (r replies) reply(text string, blocks ...Block) Reply {
	return Reply{Text: text, Sandbox: r.sandbox, Blocks: blocks}
}

func textBlock(s string) Block    { return Block{Kind: BlockText, Text: s} }
func contextBlock(s string) Block { return Block{Kind: BlockContext, Text: s} }

// root is the channel message a slash command's thread hangs from.
func (r replies) root(req lookup.Request, user string) Reply {
	var s string
	if req.Phone == "" {
		s = r.t("root_session", code(firstNonEmpty(req.SessionID, strings.Join(req.GenerationIDs, ", "))), mention(user))
	} else {
		s = r.t("root", "**"+req.Phone+"**", req.Interpretation(r.lang), mention(user))
	}
	return r.reply(s, textBlock(s))
}

// progress shows the steps done so far; it is updated in place.
func (r replies) progress(req lookup.Request, p lookup.Progress) Reply {
	var lines []string
	if req.Phone != "" {
		lines = append(lines, "✓ "+r.t("p_number", req.Phone, req.Interpretation(r.lang)))
	} else if req.SessionID != "" {
		lines = append(lines, "✓ "+r.t("p_session", code(req.SessionID)))
	}
	switch {
	case p.Call != nil:
		lines = append(lines, "✓ "+r.t("p_call", code(p.Call.TelephonySessionID), orDash(p.Call.MatchedColumn)))
	case p.CallsDone && p.Candidates == 0:
		lines = append(lines, "✗ "+r.t("p_no_call"))
	case p.CallsDone:
		lines = append(lines, "✓ "+r.t("p_candidates", p.Candidates))
	default:
		lines = append(lines, "… "+r.t("p_call_wait"))
	}
	if p.Call != nil {
		lines = append(lines, r.progressLogs(p))
	}
	if p.LogsDone && p.GenerationsTotal > 0 {
		mark := "…"
		if p.GenerationsDone == p.GenerationsTotal {
			mark = "✓"
		}
		lines = append(lines, mark+" "+r.t("p_gens", p.GenerationsDone, p.GenerationsTotal))
	}
	s := strings.Join(lines, "\n")
	return r.reply(s, textBlock(s))
}

func (r replies) progressLogs(p lookup.Progress) string {
	if len(p.Regions) == 0 {
		return "… " + r.t("p_logs_wait", 0)
	}
	parts := make([]string, len(p.Regions))
	for i, rs := range p.Regions {
		parts[i] = rs.Region + " " + r.regionState(rs)
	}
	mark := "…"
	if p.LogsDone {
		mark = "✓"
	}
	return mark + " " + r.t("p_logs", strings.Join(parts, ", "))
}

// regionState is a region's part of a trace's progress: "3 rows", "running".
func (r replies) regionState(rs lookup.RegionStatus) string {
	switch rs.State {
	case lookup.RegionRows:
		return r.t("p_r_rows", rs.Rows)
	case lookup.RegionFailed:
		return r.t("rp_r_failed")
	case lookup.RegionNoGroup:
		return r.t("rp_r_no_group")
	}
	if key := "p_r_" + rs.State; texts[key] != [2]string{} {
		return r.t(key)
	}
	return rs.State
}

// result renders a finished trace according to its outcome. extra is posted after it
// in the same thread (the engineers' block), or empty.
func (r replies) result(tr *lookup.Trace, req lookup.Request, state *state.ReprocessRecord) (main Reply, extra []Reply) {
	switch tr.Outcome {
	case lookup.OutcomeCandidates:
		return r.candidates(tr, req), nil
	case lookup.OutcomeNotFound:
		return r.notFound(tr, req), nil
	case lookup.OutcomeFailed:
		if tr.Call == nil && len(tr.Stages) == 0 {
			return r.failed(tr), nil
		}
	}
	main = r.traced(tr, state)
	if tr.Engineers != nil {
		extra = append(extra, r.engineers(tr))
	}
	return main, extra
}

func (r replies) traced(tr *lookup.Trace, state *state.ReprocessRecord) Reply {
	var blocks []Block
	if c := tr.Call; c != nil {
		blocks = append(blocks, Block{Kind: BlockHeader, Text: r.t("r_title", c.TelephonySessionID)})
		blocks = append(blocks, contextBlock(r.searched(tr)))
		blocks = append(blocks, Block{Kind: BlockFields, Fields: r.callFields(tr, c)})
	}
	if v := r.verdictSection(tr.Verdict); v != "" {
		blocks = append(blocks, textBlock(v))
	}
	if len(tr.Stages) > 0 {
		blocks = append(blocks, Block{Kind: BlockTable, Table: r.stageTable(tr)})
		totals := r.t("totals", money(tr.TotalCostUSD), pct(tr.CacheRatio))
		if tr.Runs > 1 {
			totals += r.t("runs", tr.Runs)
		}
		blocks = append(blocks, textBlock(totals))
	} else if tr.Call != nil {
		blocks = append(blocks, textBlock(r.t("no_stages")))
	}
	if w := r.warnings(tr); w != "" {
		blocks = append(blocks, textBlock(w))
	}
	if e := r.errors(tr); e != "" {
		blocks = append(blocks, textBlock(e))
	}
	if state != nil {
		blocks = append(blocks, contextBlock(r.t("reprocess_state", mention(state.RequestedBy), clock(state.RequestedAt))))
	}
	if b := r.resultButtons(tr, state); len(b) > 0 {
		blocks = append(blocks, Block{Kind: BlockButtons, Buttons: b})
	}
	return r.reply(r.summary(tr)+r.verdictSummary(tr.Verdict), blocks...)
}

func (r replies) searched(tr *lookup.Trace) string {
	if tr.Phone == "" {
		return "trace `" + tr.TraceID + "`"
	}
	return r.t("r_searched", tr.Phone, tr.Interpretation(r.lang)) + " · trace `" + tr.TraceID + "`"
}

// summary sums a trace up in one line: a result's notification text, the head
// of the escalation handoff.
func (r replies) summary(tr *lookup.Trace) string {
	if tr.Call == nil {
		return r.t("summary_gens", len(tr.Stages), money(tr.TotalCostUSD))
	}
	return r.t("summary", tr.Call.TelephonySessionID, len(tr.Stages), money(tr.TotalCostUSD), pct(tr.CacheRatio), len(tr.Warnings))
}

func (r replies) callFields(tr *lookup.Trace, c *lookup.Call) []Field {
	created := c.CreatedAt.UTC().Format("2006-01-02 15:04:05") + " UTC"
	if loc, err := time.LoadLocation(tr.Zone); err == nil && tr.Zone != "" && tr.Zone != "UTC" {
		created = c.CreatedAt.In(loc).Format("Mon Jan 2 3:04:05 PM MST") + " (" + created + ")"
	}
	return []Field{
		{r.t("f_created"), created},
		{r.t("f_direction"), orDash(string(c.Direction))},
		{r.t("f_store"), code(orDash(c.StoreID))},
		{r.t("f_franchise"), orDash(c.FranchiseID)},
		{r.t("f_matched"), code(orDash(c.MatchedColumn))},
		{r.t("f_analysis"), code(orDash(c.S3AnalysisPath))},
	}
}

func (r replies) stageTable(tr *lookup.Trace) *Table {
	tab := &Table{Header: []string{r.t("t_stage"), r.t("t_model"), r.t("t_provider"), r.t("t_tokens"),
		r.t("t_cache"), r.t("t_cost"), r.t("t_finish"), r.t("t_generation")}}
	for _, s := range tr.Stages {
		gen := r.t("no_gen_id")
		if s.Link != "" {
			gen = "[" + shortGen(s.GenerationID) + "](" + s.Link + ")"
		}
		tab.Rows = append(tab.Rows, []string{"**" + s.Stage + "**", orDash(s.Model), orDash(s.Provider),
			fmt.Sprintf("%d/%d", s.InputTokens, s.OutputTokens), pct(s.CacheRatio), moneyPtr(s.Cost()),
			orDash(s.FinishReason), gen})
	}
	return tab
}

func (r replies) warnings(tr *lookup.Trace) string {
	var lines []string
	for _, w := range tr.Warnings {
		lines = append(lines, "⚠️ "+w.Text(r.lang))
	}
	return strings.Join(lines, "\n")
}

func (r replies) errors(tr *lookup.Trace) string {
	if len(tr.Errors) == 0 {
		return ""
	}
	lines := []string{r.t("errors_title")}
	for _, e := range tr.Errors {
		where := e.Step
		if e.Region != "" {
			where += " " + e.Region
		}
		lines = append(lines, "✗ "+where+": "+e.Message)
	}
	return strings.Join(lines, "\n")
}

func (r replies) resultButtons(tr *lookup.Trace, state *state.ReprocessRecord) []Button {
	if tr.Call == nil {
		return nil
	}
	v := ActionValue{SessionID: tr.Call.TelephonySessionID, StoreID: tr.Call.StoreID, TraceID: tr.TraceID}
	var out []Button
	if r.reprocess && state == nil {
		rv := v
		rv.Action = ActReprocess
		out = append(out, Button{Label: r.t("b_reprocess"), Value: rv, Style: StyleDanger, Confirm: &Confirm{
			Title: r.t("confirm_title"), Text: r.t("confirm_text", tr.Call.TelephonySessionID, humanDuration(r.cooldown)),
			OK: r.t("b_reprocess"), Cancel: r.t("b_cancel")}})
	}
	fv := v
	fv.Action = ActRefresh
	out = append(out, Button{Label: r.t("b_refresh"), Value: fv})
	if mo := r.modelOutputButton(tr, v); mo != nil {
		out = append(out, *mo)
	}
	if r.escalation {
		ev := v
		ev.Action = ActEscalate
		out = append(out, Button{Label: r.t("b_escalate"), Value: ev})
	}
	return out
}

// maxCandidates bounds the buttons of a candidates reply.
const maxCandidates = 10

func (r replies) candidates(tr *lookup.Trace, req lookup.Request) Reply {
	head := r.t("candidates", len(tr.Candidates), tr.Phone, tr.Interpretation(r.lang))
	blocks := []Block{textBlock(head)}
	var buttons []Button
	for i, c := range tr.Candidates {
		if i == maxCandidates {
			blocks = append(blocks, contextBlock(r.t("candidates_more", len(tr.Candidates)-maxCandidates)))
			break
		}
		blocks = append(blocks, textBlock(r.t("candidate_line", c.TelephonySessionID, r.localTime(c.CreatedAt, tr.Zone),
			orDash(string(c.Direction)), code(orDash(c.StoreID)))))
		buttons = append(buttons, Button{Label: r.t("b_trace_call") + " " + r.localClock(c.CreatedAt, tr.Zone),
			Value: ActionValue{Action: ActTraceCall, SessionID: c.TelephonySessionID, StoreID: c.StoreID}})
	}
	blocks = append(blocks, Block{Kind: BlockButtons, Buttons: buttons})
	blocks = append(blocks, contextBlock("trace `"+tr.TraceID+"`"))
	return r.reply(head, blocks...)
}

func (r replies) notFound(tr *lookup.Trace, req lookup.Request) Reply {
	var head string
	if tr.Phone != "" {
		head = r.t("not_found", tr.Phone, r.localTime(tr.From, tr.Zone), r.localTime(tr.To, tr.Zone), tr.Interpretation(r.lang))
		if r.lang == "zh" {
			head = r.t("not_found", r.localTime(tr.From, tr.Zone), r.localTime(tr.To, tr.Zone), tr.Interpretation(r.lang), tr.Phone)
		}
	} else {
		head = strings.Join(errorMessages(tr), "; ")
	}
	blocks := []Block{textBlock(head)}
	if tr.Phone != "" {
		blocks = append(blocks, contextBlock(r.t("not_found_hint")))
		v := ActionValue{Phone: tr.Phone, At: tr.At, Zone: tr.Zone, Direction: string(req.Direction)}
		var buttons []Button
		if tr.At != nil {
			wv := v
			wv.Action = ActWiden
			buttons = append(buttons, Button{Label: r.t("b_widen"), Value: wv, Style: StylePrimary})
		}
		lv := v
		lv.Action = ActLastWeek
		lv.At = nil
		buttons = append(buttons, Button{Label: r.t("b_last_week"), Value: lv})
		blocks = append(blocks, Block{Kind: BlockButtons, Buttons: buttons})
	}
	return r.reply(head, blocks...)
}

func (r replies) failed(tr *lookup.Trace) Reply {
	msg := r.t("failed", strings.Join(errorMessages(tr), "; "))
	return r.reply(msg, textBlock(msg), contextBlock("trace `"+tr.TraceID+"`"))
}

func errorMessages(tr *lookup.Trace) []string {
	var out []string
	for _, e := range tr.Errors {
		out = append(out, e.Message)
	}
	return out
}

// engineers is the follow-up with everything needed to continue by hand.
func (r replies) engineers(tr *lookup.Trace) Reply {
	e := tr.Engineers
	blocks := []Block{{Kind: BlockHeader, Text: r.t("engineers")}}
	if e.SQL != "" {
		blocks = append(blocks, textBlock(r.t("e_sql")), Block{Kind: BlockCode, Text: compactSQL(e.SQL)},
			textBlock(r.t("e_params", code(strings.Join(e.SQLParams, "  ")))))
	}
	if e.InsightsQuery != "" {
		blocks = append(blocks, textBlock(r.t("e_insights")), Block{Kind: BlockCode, Text: e.InsightsQuery})
	}
	if e.InsightsFrom != nil {
		widened := ""
		if e.InsightsTo.Sub(*e.InsightsFrom) > 2*time.Hour {
			widened = r.t("e_widened")
		}
		blocks = append(blocks, textBlock(r.t("e_range", e.InsightsFrom.Format("2006-01-02 15:04:05"), e.InsightsTo.Format("2006-01-02 15:04:05"), widened)))
	}
	var links []string
	for _, l := range e.ConsoleLinks {
		links = append(links, r.t("e_console", l.Region, l.URL))
	}
	if len(links) > 0 {
		blocks = append(blocks, textBlock(strings.Join(links, "\n")))
	}
	blocks = append(blocks, contextBlock(r.t("e_trace_id", tr.TraceID)))
	return r.reply(r.t("engineers"), blocks...)
}

func (r replies) notUnderstood(err error) Reply {
	e, ok := errors.AsType[*lookup.Error](err)
	if !ok {
		e = &lookup.Error{Message: err.Error()}
	}
	head := r.t("not_understood", e.Text(r.lang))
	blocks := []Block{textBlock(head)}
	if u := e.UnderstoodText(r.lang); len(u) > 0 {
		blocks = append(blocks, textBlock(r.t("understood", strings.Join(u, r.t("list_sep")))))
	}
	if m := e.MissingText(r.lang); len(m) > 0 {
		blocks = append(blocks, textBlock(r.t("missing", strings.Join(m, r.t("list_sep")))))
	}
	ex := r.t("examples")
	for _, s := range lookup.ReportExamples {
		ex += "\n`/trace " + s + "`"
	}
	blocks = append(blocks, textBlock(ex))
	return r.reply(head, blocks...)
}

// notice is a one-paragraph reply.
func (r replies) notice(key string, args ...any) Reply {
	s := r.t(key, args...)
	return r.reply(s, textBlock(s))
}

func (r replies) localTime(ts time.Time, zone string) string {
	return lookup.LocalTime(ts, zone, r.lang)
}

func (r replies) localClock(ts time.Time, zone string) string {
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		return ts.In(loc).Format("3:04 PM")
	}
	return ts.UTC().Format("15:04 UTC")
}

// humanDuration writes a cooldown as people do: "10m", "1h", "1h30m", "45s".
func humanDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func clock(ts time.Time) string { return ts.UTC().Format("Jan 2 15:04 UTC") }

func mention(user string) string {
	if user == "" {
		return "someone"
	}
	return "<@" + user + ">"
}

func code(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// pct is a ratio as a whole percent (numfmt.Percent: a small share reads "<1%",
// never "0%"), or a dash.
func pct(r *float64) string {
	if r == nil {
		return "—"
	}
	return numfmt.Percent(r)
}

func money(c float64) string { return fmt.Sprintf("$%.6f", c) }

func moneyPtr(c *float64) string {
	if c == nil {
		return "—"
	}
	return money(*c)
}

// shortGen keeps generation links readable.
func shortGen(id string) string {
	if len(id) > 24 {
		return id[:24] + "…"
	}
	return id
}

func compactSQL(s string) string { return strings.Join(strings.Fields(s), " ") }

// handoff is the summary Escalate posts in the thread: who is asked and
// by whom, the call's numbers and warnings, and the verdict with its first
// differences, so whoever takes over starts from the judgement.
func (r replies) handoff(group, user, session string, tr *lookup.Trace) Reply {
	summary := "call " + code(session)
	var verdict *lookup.Verdict
	if tr != nil && tr.Call != nil {
		summary, verdict = r.summary(tr), tr.Verdict
		var warns []string
		for _, w := range tr.Warnings {
			warns = append(warns, w.Code)
		}
		if len(warns) > 0 {
			summary += " (" + strings.Join(warns, ", ") + ")"
		}
	}
	head := r.t("escalate", group, user, summary)
	blocks := []Block{textBlock(head)}
	if v := r.verdictSection(verdict); v != "" {
		blocks = append(blocks, textBlock(v))
	}
	return r.reply(head+r.verdictSummary(verdict), blocks...)
}
