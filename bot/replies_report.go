package bot

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/numfmt"
)

// The replies of reports across calls (SPEC §12). Numbers are written by
// lookup/numfmt, as the terminal writes them; times in the report's zone.

// Bounds of a report's reply, so it stays one readable message on both
// platforms (Slack: 50 blocks; Lark: a 30 KB card).
const (
	reportMaxSessions  = 10 // Trace buttons
	reportWorstHours   = 6  // hours of the cache table, at most (only those below the window's rate)
	reportMaxTableRows = 25 // rows of any table (the cost top list has 20)
)

// reportTitle is the kind's name in a sentence ("cost", "cache hit rate").
func (r replies) reportTitle(k lookup.ReportKind) string { return r.t("rp_title_" + string(k)) }

// reportZone is the zone a query's hours are written in.
func reportZone(z *time.Location) *time.Location {
	if z == nil {
		return time.UTC
	}
	return z
}

// reportWindow says which window a query covers: "last 2h", "since 9am",
// "yesterday", "today", or the span itself; deploys has none.
func (r replies) reportWindow(q lookup.ReportQuery) string {
	w := q.Window
	switch {
	case q.Kind == lookup.ReportDeploys:
		return r.t("rp_now")
	case w == "today" || w == "yesterday":
		return r.t("rp_" + w)
	case strings.HasPrefix(w, "since "):
		return r.t("rp_since", strings.TrimPrefix(w, "since "))
	case w != "":
		return r.t("rp_last", w)
	}
	return r.reportSpan(q.From, q.To, reportZone(q.Zone))
}

// reportSpan writes [from, to) in zone: "Fri May 22 10:00 → 12:00 EDT" ("5月22日
// 周五 10:00 → 12:00 EDT" in Chinese), with both dates when the days differ.
func (r replies) reportSpan(from, to time.Time, zone *time.Location) string {
	f, t := from.In(zone), to.In(zone)
	start := lookup.DayLabel(f, r.lang) + " " + f.Format("15:04")
	if f.YearDay() == t.YearDay() && f.Year() == t.Year() {
		return start + " → " + t.Format("15:04 MST")
	}
	return start + " → " + lookup.DayLabel(t, r.lang) + " " + t.Format("15:04 MST")
}

// reportRoot is the channel message a slash command's report hangs from.
func (r replies) reportRoot(q lookup.ReportQuery, user string) Reply {
	s := r.t("rp_root", "**"+string(q.Kind)+"**", r.reportWindow(q), mention(user))
	return r.reply(s, textBlock(s))
}

// reportProgress shows what was asked and how far the regions have got (p nil:
// not started); it is updated in place.
func (r replies) reportProgress(q lookup.ReportQuery, p *lookup.ReportProgress) Reply {
	asked := r.t("rp_p_asked", "**"+string(q.Kind)+"**", r.reportWindow(q))
	if q.Kind != lookup.ReportDeploys {
		asked += " (" + r.reportSpan(q.From, q.To, reportZone(q.Zone)) + ")"
	}
	source := "Logs Insights"
	if q.Kind == lookup.ReportDeploys {
		source = "Lambda"
	}
	lines := []string{"✓ " + asked}
	switch {
	case p == nil || len(p.Regions) == 0:
		lines = append(lines, "… "+r.t("rp_p_wait", source))
	default:
		parts := make([]string, len(p.Regions))
		for i, reg := range p.Regions {
			parts[i] = reg.Region + " " + r.regionWord(reg, q.Kind)
		}
		mark := "…"
		if p.Done() == len(p.Regions) {
			mark = "✓"
		}
		lines = append(lines, mark+" "+source+": "+strings.Join(parts, ", "))
	}
	s := strings.Join(lines, "\n")
	return r.reply(s, textBlock(s))
}

// regionWord is a region's state in a few characters: "…", "✓ 77 KB", "✗ failed".
func (r replies) regionWord(reg lookup.ReportRegion, k lookup.ReportKind) string {
	switch reg.State {
	case lookup.RegionRunning:
		return "…"
	case lookup.RegionFailed:
		return "✗ " + r.t("rp_r_failed")
	case lookup.RegionNoGroup:
		return r.t("rp_r_no_group")
	case lookup.RegionEmpty:
		return "✓ " + r.t("rp_r_empty")
	}
	if k == lookup.ReportDeploys {
		return "✓"
	}
	return "✓ " + numfmt.Bytes(reg.BytesScanned)
}

// report renders a finished report: the kind's table and totals, the warnings
// with their advice, each region's part with the data scanned and its price, the
// regions that failed, and a Trace button per session it names.
func (r replies) report(rep *lookup.Report, q lookup.ReportQuery) Reply {
	if !rep.Answered() {
		return r.reportFailed(rep, q)
	}
	zone := reportZone(rep.Zone)
	context := r.reportWindow(q)
	if rep.Kind != lookup.ReportDeploys {
		context += " · " + r.reportSpan(rep.From, rep.To, zone)
	}
	if q.Env != "" {
		context += " · env " + q.Env
	}
	if rep.Cached {
		context += " · " + r.t("rp_cached")
	}
	blocks := []Block{{Kind: BlockHeader, Text: r.t("rp_head_" + string(rep.Kind))}, contextBlock(context)}
	blocks = append(blocks, r.reportBody(rep, zone)...)
	if w := r.reportWarnings(rep); w != "" {
		blocks = append(blocks, textBlock(w))
	}
	if e := r.reportErrors(rep); e != "" {
		blocks = append(blocks, textBlock(e))
	}
	blocks = append(blocks, contextBlock(r.reportRegions(rep)))
	blocks = append(blocks, r.sessionButtons(rep.Sessions())...)
	text := r.t("rp_head_"+string(rep.Kind)) + " — " + r.reportWindow(q)
	switch n := len(rep.Warnings); {
	case n == 1:
		text += " · " + r.t("rp_one_warning")
	case n > 1:
		text += " · " + r.t("rp_n_warnings", n)
	}
	out := r.reply(text, blocks...)
	out.Sandbox = out.Sandbox || rep.Sandbox
	return out
}

// reportBody is the kind's own part.
func (r replies) reportBody(rep *lookup.Report, zone *time.Location) []Block {
	switch {
	case rep.Cost != nil:
		return r.costBody(rep, zone)
	case rep.Cache != nil:
		return r.cacheBody(rep.Cache, zone)
	case rep.Finish != nil:
		return r.finishBody(rep.Finish)
	case rep.Providers != nil:
		return r.providersBody(rep.Providers)
	case rep.Deploys != nil:
		return r.deploysBody(rep.Deploys, zone)
	}
	return nil
}

func (r replies) costBody(rep *lookup.Report, zone *time.Location) []Block {
	c := rep.Cost
	blocks := []Block{textBlock(r.t("rp_cost_total", numfmt.USD(c.TotalCostUSD), numfmt.Count(c.Rows),
		numfmt.Count(int64(c.MedianInputTokens+0.5))))}
	if len(c.Top) == 0 {
		return append(blocks, textBlock(r.t("rp_cost_none")))
	}
	layout := "15:04:05"
	if f, t := rep.From.In(zone), rep.To.Add(-time.Second).In(zone); f.YearDay() != t.YearDay() {
		layout = "Jan 2 15:04"
	}
	tab := &Table{Header: []string{r.t("t_time") + " (" + zoneAbbrev(rep.To, zone) + ")", r.t("t_cost"), r.t("t_session"),
		r.t("t_stage"), r.t("t_model_provider"), r.t("t_tokens_cache"), r.t("t_generation")}}
	for _, row := range c.Top[:min(len(c.Top), reportMaxTableRows)] {
		gen := orDash(row.GenerationID)
		if row.Link != "" && row.GenerationID != "" {
			gen = "[" + row.GenerationID + "](" + row.Link + ")"
		}
		tab.Rows = append(tab.Rows, []string{row.Timestamp.In(zone).Format(layout), "**" + numfmt.USD(row.CostUSD) + "**",
			code(orDash(row.SessionID)), orDash(row.Stage), orDash(row.Model) + " (" + orDash(row.Provider) + ")",
			numfmt.Count(row.InputTokens) + "/" + numfmt.Count(row.OutputTokens) + " (" + numfmt.Percent(row.CacheRatio) + ")", gen})
	}
	blocks[0].Text += "\n" + r.t("rp_cost_top", len(tab.Rows))
	return append(blocks, Block{Kind: BlockTable, Table: tab})
}

// zoneAbbrev is zone's abbreviation at t ("EDT"), for column headers.
func zoneAbbrev(t time.Time, zone *time.Location) string { return t.In(zone).Format("MST") }

func (r replies) cacheBody(c *lookup.CacheReport, zone *time.Location) []Block {
	blocks := []Block{textBlock(r.t("rp_cache_overall", numfmt.Percent(c.Overall.CacheRatio),
		numfmt.Count(c.Overall.CacheReadTokens), numfmt.Count(c.Overall.InputTokens)))}
	var hours []lookup.CachePoint
	for _, h := range c.Hours {
		if h.CacheRatio != nil {
			hours = append(hours, h)
		}
	}
	if len(hours) == 0 {
		return append(blocks, textBlock(r.t("rp_cache_none")))
	}
	slices.SortStableFunc(hours, func(a, b lookup.CachePoint) int { return cmp.Compare(*a.CacheRatio, *b.CacheRatio) })
	worst := hours[:min(len(hours), reportWorstHours)]
	// An hour at or above the window's rate is not among the worst, whatever its rank.
	for len(worst) > 1 && c.Overall.CacheRatio != nil && *worst[len(worst)-1].CacheRatio >= *c.Overall.CacheRatio {
		worst = worst[:len(worst)-1]
	}
	tab := &Table{Header: []string{r.t("t_hour") + " (" + zoneAbbrev(worst[0].Bucket, zone) + ")", r.t("t_hit_rate"), r.t("t_input_tokens"), r.t("t_lowest_model")}}
	for _, h := range worst {
		tab.Rows = append(tab.Rows, []string{h.Bucket.In(zone).Format("Jan 2 15:04"), "**" + numfmt.Percent(h.CacheRatio) + "**",
			numfmt.Count(h.InputTokens), lowestModel(c.Series, h.Bucket)})
	}
	return append(blocks, textBlock(r.t("rp_cache_worst", len(worst), len(c.Hours))), Block{Kind: BlockTable, Table: tab})
}

// lowestModel is the model with the lowest hit rate in the hour at bucket, with
// its rate ("qwen/qwen3-30b-a3b 3%"), or a dash.
func lowestModel(series []lookup.CachePoint, bucket time.Time) string {
	var low *lookup.CachePoint
	for i, p := range series {
		if p.Bucket.Equal(bucket) && p.CacheRatio != nil && (low == nil || *p.CacheRatio < *low.CacheRatio) {
			low = &series[i]
		}
	}
	if low == nil {
		return "—"
	}
	return low.Model + " " + numfmt.Percent(low.CacheRatio)
}

func (r replies) finishBody(f *lookup.FinishReport) []Block {
	if len(f.Shares) == 0 {
		return []Block{textBlock(r.t("rp_finish_none"))}
	}
	tab := &Table{Header: []string{r.t("t_stage"), r.t("t_finish_reason"), r.t("t_rows"), r.t("t_share")}}
	for _, s := range f.Shares[:min(len(f.Shares), reportMaxTableRows)] {
		tab.Rows = append(tab.Rows, []string{orDash(s.Stage), orDash(s.FinishReason), numfmt.Count(s.Count), numfmt.Percent(&s.Share)})
	}
	return []Block{textBlock(r.t("rp_finish_head")), {Kind: BlockTable, Table: tab}}
}

func (r replies) providersBody(p *lookup.ProvidersReport) []Block {
	if len(p.Mix) == 0 {
		return []Block{textBlock(r.t("rp_providers_none"))}
	}
	tab := &Table{Header: []string{r.t("t_model"), r.t("t_provider"), r.t("t_requests"), r.t("t_share_model"), r.t("t_cost")}}
	for _, m := range p.Mix[:min(len(p.Mix), reportMaxTableRows)] {
		tab.Rows = append(tab.Rows, []string{orDash(m.Model), orDash(m.Provider), numfmt.Count(m.Requests), numfmt.Percent(&m.Share), numfmt.USD(m.CostUSD)})
	}
	share := 0.0
	if p.Sessions > 0 {
		share = float64(p.SwitchedSessions) / float64(p.Sessions)
	}
	switched := r.t("rp_providers_switched", numfmt.Count(p.SwitchedSessions), numfmt.Count(p.Sessions), numfmt.Percent(&share))
	if len(p.Examples) > 0 {
		ex := make([]string, len(p.Examples))
		for i, s := range p.Examples {
			ex[i] = code(s)
		}
		switched += " " + r.t("rp_examples", strings.Join(ex, ", "))
	}
	return []Block{{Kind: BlockTable, Table: tab}, textBlock(switched)}
}

func (r replies) deploysBody(d *lookup.DeploysReport, zone *time.Location) []Block {
	if len(d.Functions) == 0 {
		return []Block{textBlock(r.t("rp_deploys_none"))}
	}
	tab := &Table{Header: []string{r.t("t_function"), r.t("t_region"), "CodeSha256", r.t("t_version"), r.t("t_modified")}}
	for _, f := range d.Functions[:min(len(d.Functions), reportMaxTableRows)] {
		if f.Error != "" {
			tab.Rows = append(tab.Rows, []string{code(f.Function), f.Region, "✗ " + f.Error, "—", "—"})
			continue
		}
		modified := "—"
		if f.LastModified != nil {
			modified = f.LastModified.In(zone).Format("Jan 2 2006 15:04 MST")
		}
		tab.Rows = append(tab.Rows, []string{code(f.Function), f.Region, code(shortSHA(f.CodeSHA256)), orDash(f.Version), modified})
	}
	return []Block{{Kind: BlockTable, Table: tab}}
}

// shortSHA keeps enough of a CodeSha256 to tell builds apart.
func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return orDash(s)
}

func (r replies) reportWarnings(rep *lookup.Report) string {
	lines := make([]string, 0, len(rep.Warnings))
	for _, w := range rep.Warnings {
		lines = append(lines, r.warningLine(w))
	}
	return strings.Join(lines, "\n")
}

func (r replies) warningLine(w lookup.ReportWarning) string {
	return "⚠️ **" + w.Code + "** — " + w.Text(r.lang)
}

// reportErrors names each region that failed, with its one-line cause, under a
// title ("" when none failed).
func (r replies) reportErrors(rep *lookup.Report) string {
	lines := failedRegions(rep)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(append([]string{r.t("errors_title")}, lines...), "\n")
}

// failedRegions are "✗ region: cause" lines, one per region that failed.
func failedRegions(rep *lookup.Report) []string {
	var lines []string
	for _, reg := range rep.Regions {
		if reg.State != lookup.RegionFailed {
			continue
		}
		line := reg.Error
		if !strings.HasPrefix(line, reg.Region) {
			line = reg.Region + ": " + line
		}
		lines = append(lines, "✗ "+line)
	}
	return lines
}

// reportRegions is the small print: each region's part and the data scanned.
func (r replies) reportRegions(rep *lookup.Report) string {
	parts := make([]string, len(rep.Regions))
	for i, reg := range rep.Regions {
		parts[i] = reg.Region + " " + r.regionWord(reg, rep.Kind)
	}
	s := r.t("rp_regions", strings.Join(parts, " · "))
	if rep.Kind != lookup.ReportDeploys {
		s += "\n" + r.t("rp_scanned", numfmt.Bytes(rep.BytesScanned), numfmt.USD(rep.ScanCostUSD))
	}
	return s
}

// sessionButtons are a Trace button for each session a report names, at most
// reportMaxSessions (a note says how many more); each starts the trace of that
// call in the thread, as a candidate's button does.
func (r replies) sessionButtons(sessions []string) []Block {
	if len(sessions) == 0 {
		return nil
	}
	shown := sessions[:min(len(sessions), reportMaxSessions)]
	buttons := make([]Button, len(shown))
	for i, s := range shown {
		buttons[i] = Button{Label: r.t("b_trace_session", s), Value: ActionValue{Action: ActTraceCall, SessionID: s}}
	}
	blocks := []Block{{Kind: BlockButtons, Buttons: buttons}}
	if more := len(sessions) - len(shown); more > 0 {
		blocks = append(blocks, contextBlock(r.t("rp_more_sessions", more)))
	}
	return blocks
}

// reportFailed is the answer when no region could answer: every cause, a region
// without any log group among them, and the warning that says what to check.
func (r replies) reportFailed(rep *lookup.Report, q lookup.ReportQuery) Reply {
	head := r.t("rp_failed", r.reportTitle(rep.Kind), r.reportWindow(q))
	lines := failedRegions(rep)
	for _, reg := range rep.Regions {
		if reg.State == lookup.RegionNoGroup {
			head = r.t("rp_unanswered", r.reportTitle(rep.Kind), r.reportWindow(q))
			lines = append(lines, "✗ "+reg.Region+": "+r.t("rp_r_no_group"))
		}
	}
	blocks := []Block{textBlock(head)}
	if len(lines) > 0 {
		blocks = append(blocks, textBlock(strings.Join(lines, "\n")))
	}
	for _, w := range rep.Warnings {
		if w.Code == lookup.WarnNoLogGroup {
			blocks = append(blocks, textBlock(r.warningLine(w)))
		}
	}
	if len(rep.Regions) == 0 {
		blocks = append(blocks, textBlock(r.t("rp_no_regions")))
	}
	out := r.reply(head, blocks...)
	out.Sandbox = out.Sandbox || rep.Sandbox
	return out
}

// reportError is the answer when the report could not run at all (it timed out,
// or the question was refused); the cause is one line (lookup.ErrorLine).
func (r replies) reportError(q lookup.ReportQuery, err error) Reply {
	cause := "no answer"
	if err != nil {
		cause = lookup.ErrorLine(err)
	}
	head := r.t("rp_error", r.reportTitle(q.Kind), r.reportWindow(q), cause)
	return r.reply(head, textBlock(head))
}

// reportHelp lists every report kind with one example, and how to trace one
// call. err, when set, is why the words were refused (not understood, with a
// "did you mean"; a window too long, with the reason), said first.
func (r replies) reportHelp(err error) Reply {
	var blocks []Block
	head := r.t("rp_help_head")
	if err != nil {
		msg := err.Error()
		if e, ok := errors.AsType[*lookup.Error](err); ok {
			msg = e.Text(r.lang)
		}
		head = r.t("rp_refused", msg)
		if lookup.ErrorCode(err) == lookup.CodeWindowTooLong {
			head = msg
		}
		blocks = append(blocks, textBlock(head))
	}
	lines := []string{r.t("rp_help_kinds")}
	for _, k := range lookup.ReportKinds {
		def := r.t("rp_no_window")
		if k.DefaultWindow > 0 {
			def = r.t("rp_default", durationWords(k.DefaultWindow))
		}
		lines = append(lines, code("/trace "+k.Example)+" — "+r.kindSummary(k)+" ("+def+")")
	}
	blocks = append(blocks, textBlock(strings.Join(lines, "\n")))
	trace := []string{r.t("rp_help_trace")}
	for _, s := range lookup.ReportExamples {
		trace = append(trace, code("/trace "+s))
	}
	blocks = append(blocks, textBlock(strings.Join(trace, "\n")), contextBlock(r.t("rp_help_windows")))
	return r.reply(head, blocks...)
}

// kindSummary is a kind's one line, in the reply language when the bot has it.
func (r replies) kindSummary(k lookup.ReportKindInfo) string {
	key := "rp_kind_" + string(k.Kind)
	if s := r.t(key); s != key {
		return s
	}
	return k.Summary
}

// durationWords writes a default window as people type it: "2h", "24h", "7d".
func durationWords(d time.Duration) string {
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return humanDuration(d)
}

// chartImage is the report's chart as an image for the thread, titled and
// described in the reply language (the picture's own text is ASCII).
func (r replies) chartImage(rep *lookup.Report, png []byte) Image {
	q := lookup.ReportQuery{Kind: rep.Kind, From: rep.From, To: rep.To, Zone: rep.Zone, Window: rep.Window}
	title := r.t("rp_chart_"+string(rep.Kind)) + " — " + r.reportWindow(q)
	if rep.Sandbox || r.sandbox {
		title = "[" + r.t("sample_short") + "] " + title
	}
	window := strings.NewReplacer(" ", "-", ":", "").Replace(cmp.Or(rep.Window, "window"))
	return Image{PNG: png, Filename: fmt.Sprintf("tracebot-%s-%s.png", rep.Kind, window), Title: title,
		AltText: r.t("rp_chart_alt", title, reportZone(rep.Zone).String())}
}

// chartNotPosted is the line in the thread when a report's chart could not be
// posted: the one-line cause, no more.
func (r replies) chartNotPosted(err error) Reply {
	s := r.t("rp_chart_failed", lookup.ErrorLine(err))
	return r.reply(s, contextBlock(s))
}
