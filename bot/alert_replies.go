package bot

import (
	"fmt"
	"strconv"
	"time"

	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/numfmt"
)

// The alert messages (SPEC §13): what, the level, the value against the
// threshold, the window, and the buttons; the reply when it clears; who muted.

// alert is the message of one episode's alert.
func (r replies) alert(al lookup.Alert, episode string) Reply {
	head := r.t("alert_head", levelIcon(al.Level), r.ruleName(al.Rule), r.t("level_"+string(al.Level)))
	text := r.alertText(al)
	if al.Level.Escalates() && r.mention != "" {
		text = groupMention(r.mention) + " " + text
	}
	rule := code(string(al.Rule))
	if s := al.Subject(); s != "" {
		rule += " · " + s
	}
	blocks := []Block{
		{Kind: BlockHeader, Text: head},
		textBlock(text),
		{Kind: BlockFields, Fields: []Field{
			{r.t("a_rule"), rule},
			{r.t("a_level"), r.t("level_" + string(al.Level))},
			{r.t("a_value"), "**" + alertAmount(al.Rule, al.Value) + "**"},
			{r.t("a_threshold"), alertAmount(al.Rule, al.Threshold)},
			{r.t("a_window"), r.span(al.From, al.To)},
		}},
		{Kind: BlockButtons, Buttons: r.alertButtons(al, episode)},
		contextBlock(r.t("a_context", episode)),
	}
	return r.reply(head+": "+text, blocks...)
}

// alertButtons are Details (the §12 report that shows the numbers, run in the
// alert's thread; none for backend_failures) and Mute 24h.
func (r replies) alertButtons(al lookup.Alert, episode string) []Button {
	var out []Button
	if q, ok := al.DetailsQuery(r.loc()); ok {
		out = append(out, ReportButton(r.t("b_details"), q))
	}
	v := ActionValue{Action: ActMute, Rule: string(al.Rule), Subject: al.Subject(), Episode: episode}
	return append(out, Button{Label: r.t("b_mute"), Value: v})
}

// alertResolved is the reply in the alert's thread once its condition no
// longer holds.
func (r replies) alertResolved(al lookup.Alert, ep state.AlertEpisode, now time.Time) Reply {
	what := "**" + r.ruleName(al.Rule) + "**"
	if s := al.Subject(); s != "" {
		what += " (" + s + ")"
	}
	at := now
	if ep.ClosedAt != nil {
		at = *ep.ClosedAt
	}
	s := r.t("alert_resolved", what, r.clockIn(at), r.clockIn(ep.OpenedAt), humanDuration(at.Sub(ep.OpenedAt).Round(time.Minute)))
	return r.reply(s, textBlock(s))
}

// alertMuted says in the alert's thread who muted it, until when.
func (r replies) alertMuted(m state.AlertMute, d time.Duration) Reply {
	what := "**" + r.ruleName(lookup.AlertRule(m.Rule)) + "**"
	if m.Subject != "" {
		what += " (" + m.Subject + ")"
	}
	s := r.t("alert_muted", mention(m.By), what, humanDuration(d), r.clockIn(m.Until))
	return r.reply(s, textBlock(s))
}

func (r replies) ruleName(rule lookup.AlertRule) string { return r.t("rule_" + string(rule)) }

func levelIcon(l lookup.AlertLevel) string {
	if l.Escalates() {
		return "🚨"
	}
	return "⚠️"
}

// alertText is the alert in one paragraph: lookup's own words in English, the
// same numbers in Chinese.
func (r replies) alertText(al lookup.Alert) string {
	if r.lang != "zh" {
		return al.Message
	}
	span := r.span(al.From, al.To)
	switch al.Rule {
	case lookup.RuleBudget:
		return r.t("alert_budget", al.Day, dollars(al.Value), pctOf(al.Value, al.Threshold, al.Level), r.t("level_"+string(al.Level)), dollars(al.Threshold))
	case lookup.RuleCacheCollapse:
		return r.t("alert_cache_collapse", pctValue(al.Threshold), span, pctValue(al.Value))
	case lookup.RuleCostSpike:
		return r.t("alert_cost_spike", span, dollars(al.Value), dollars(al.Baseline), dollars(al.Threshold))
	case lookup.RuleLengthSpike:
		return r.t("alert_length_spike", al.Stage, span, al.Rows, pctValue(al.Value), pctValue(al.Threshold))
	case lookup.RuleBackendFailures:
		return r.t("alert_backend_failures", al.Backend, strconv.Itoa(int(al.Value)), al.Cause)
	}
	return al.Message
}

// pctOf is spend as a share of the whole budget, from the level's amount.
func pctOf(spend, amount float64, l lookup.AlertLevel) string {
	share := map[lookup.AlertLevel]float64{lookup.LevelWarning: 0.8, lookup.LevelCritical: 0.95, lookup.LevelExceeded: 1}[l]
	if amount <= 0 || share == 0 {
		return "—"
	}
	return pctValue(spend / (amount / share))
}

// alertAmount writes a value or threshold in the rule's unit.
func alertAmount(rule lookup.AlertRule, v float64) string {
	switch rule {
	case lookup.RuleBudget, lookup.RuleCostSpike:
		return dollars(v)
	case lookup.RuleCacheCollapse, lookup.RuleLengthSpike:
		return pctValue(v)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func pctValue(v float64) string { return pct(&v) }

func dollars(v float64) string { return numfmt.Dollars(v) }

func (r replies) loc() *time.Location {
	if r.zone == nil {
		return time.UTC
	}
	return r.zone
}

// clockIn is an instant in the bot's zone: "May 22 16:10 EDT" ("5月22日 16:10 EDT").
func (r replies) clockIn(t time.Time) string {
	t = t.In(r.loc())
	if r.lang == "zh" {
		return fmt.Sprintf("%d月%d日 %s", t.Month(), t.Day(), t.Format("15:04 MST"))
	}
	return t.Format("Jan 2 15:04 MST")
}

// span is [from, to) in the bot's zone, as reports write it.
func (r replies) span(from, to time.Time) string { return r.reportSpan(from, to, r.loc()) }
