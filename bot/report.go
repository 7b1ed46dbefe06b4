package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callytics/tracebot/lookup"
)

// This file is the flow of reports across calls (SPEC §12) in chat: `/trace cost
// 2h`, the same words in a mention, a DM, the shortcut or Lark, and the Report
// button. A report is answered like a trace: a root message for a slash command,
// a progress message updated in place as regions answer, which becomes the
// result, then the chart in the same thread.

// Reporter answers reports across calls; *lookup.ReportEngine implements it (see
// lookup.ProgressReporter for the contract).
type Reporter interface {
	ReportWithProgress(ctx context.Context, q lookup.ReportQuery, progress func(lookup.ReportProgress)) (*lookup.Report, error)
}

var _ Reporter = (*lookup.ReportEngine)(nil)

// Image is a picture for a thread: a report's chart.
type Image struct {
	PNG      []byte
	Filename string // e.g. "cache-24h.png"
	Title    string // plain text shown with it, in the reply language
	AltText  string // what a screen reader says
}

// ImagePoster is implemented by posters that can put an image in a thread
// (Slack: the external file upload, scope files:write; Lark: an uploaded image
// in a card, scope im:resource).
type ImagePoster interface {
	// PostImage puts img in to.Channel, in the thread to.Thread when set. Errors
	// wrap ErrCannotPost as Post's do.
	PostImage(ctx context.Context, to Ref, img Image) error
}

// reportRequest answers words that ask for a report (or for help): help
// privately, like a report that was not understood; a report in a thread.
func (b *Bot) reportRequest(ctx context.Context, m Message) {
	q, err := lookup.ParseReportQuery(m.Text, b.reportParseOptions())
	switch {
	case err != nil:
		outcome := "not_understood"
		if lookup.ErrorCode(err) == lookup.CodeWindowTooLong {
			outcome = lookup.CodeWindowTooLong
		}
		b.deps.Metrics.report(m.Platform, "", outcome)
		b.private(ctx, m, b.replies.reportHelp(err))
	case q.Kind == lookup.ReportHelp:
		b.deps.Metrics.report(m.Platform, string(lookup.ReportHelp), "help")
		b.private(ctx, m, b.replies.reportHelp(nil))
	default:
		b.answerReport(ctx, m, q)
	}
}

func (b *Bot) reportParseOptions() lookup.ReportParseOptions {
	o := b.cfg.ReportParseOptions
	o.Now = b.cfg.Now()
	return o
}

// answerReport runs q for m's requester: under a new root message for a slash
// command, in m.Thread otherwise.
func (b *Bot) answerReport(ctx context.Context, m Message, q lookup.ReportQuery) {
	p := b.poster(m.Platform)
	switch {
	case p == nil:
		b.log.Error("no poster for platform", "platform", m.Platform)
		return
	case b.deps.Reporter == nil:
		b.private(ctx, m, b.replies.notice("reports_off"))
		return
	}
	thread := Ref{Channel: m.Channel, Thread: m.Thread}
	if m.Thread == "" {
		root, err := p.Post(ctx, Ref{Channel: m.Channel}, b.replies.reportRoot(q, m.User), sendKey(m.DeliveryID, "report-root"))
		if err != nil {
			b.postFailed(ctx, m, "post root", err)
			return
		}
		thread = root.ThreadRef()
	}
	if err := b.report(ctx, p, m, thread, q); err != nil {
		b.postFailed(ctx, m, "post report", err)
	}
}

// report answers q in thread; the error is that of posting the progress message.
func (b *Bot) report(ctx context.Context, p Poster, m Message, thread Ref, q lookup.ReportQuery) error {
	msg, err := p.Post(ctx, thread, b.replies.reportProgress(q, nil), sendKey(m.DeliveryID, "report"))
	if err != nil {
		return err
	}
	start := time.Now()
	up := newUpdater(ctx, b, p, msg, func(pr lookup.ReportProgress) Reply { return b.replies.reportProgress(q, &pr) })
	r, err := b.deps.Reporter.ReportWithProgress(ctx, q, up.set)
	up.stop()
	outcome := reportOutcome(r, err)
	b.deps.Metrics.report(m.Platform, string(q.Kind), outcome)
	b.log.Info("report", "platform", m.Platform, "user", m.User, "kind", q.Kind, "window", q.Window, "outcome", outcome,
		"cached", r != nil && r.Cached, "total_ms", time.Since(start).Milliseconds(), "err", errText(err))
	if r == nil {
		b.update(ctx, p, msg, b.replies.reportError(q, err))
		return nil
	}
	b.update(ctx, p, msg, b.replies.report(r, q))
	if r.Answered() {
		b.chart(ctx, p, m, msg.ThreadRef(), r)
	}
	return nil
}

// chart posts r's chart in thread; when that fails, the text answer stands and
// one short line in the thread says the chart was not posted and why (its
// one-line cause; the full error is logged).
func (b *Bot) chart(ctx context.Context, p Poster, m Message, thread Ref, r *lookup.Report) {
	err := b.postChart(ctx, p, thread, r)
	if err == nil {
		return
	}
	b.log.Warn("report chart not posted; the text answer stands", "kind", r.Kind, "channel", thread.Channel, "err", err)
	if _, perr := p.Post(ctx, thread, b.replies.chartNotPosted(err), sendKey(m.DeliveryID, "report-chart")); perr != nil {
		b.log.Warn("could not say the chart was not posted", "kind", r.Kind, "channel", thread.Channel, "err", perr)
	}
}

// reportOutcome is the metric's outcome: answered, partial (a region failed),
// failed (no region answered) or error (no report at all).
func reportOutcome(r *lookup.Report, err error) string {
	switch {
	case r == nil:
		return "error"
	case err != nil || !r.Answered():
		return "failed"
	}
	for _, reg := range r.Regions {
		if reg.State == lookup.RegionFailed {
			return "partial"
		}
	}
	return "answered"
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// PostChart draws r's chart and puts it in thread on platform p, titled in the
// reply language. A kind without a chart (providers, deploys) posts nothing and
// returns nil; so does a platform whose poster cannot post images.
func (b *Bot) PostChart(ctx context.Context, p Platform, thread Ref, r *lookup.Report) error {
	poster := b.poster(p)
	if poster == nil {
		return fmt.Errorf("post chart: no poster for %s", p)
	}
	return b.postChart(ctx, poster, thread, r)
}

func (b *Bot) postChart(ctx context.Context, p Poster, thread Ref, r *lookup.Report) error {
	ip, ok := p.(ImagePoster)
	if !ok {
		return nil
	}
	png, err := lookup.ReportChart(r)
	if errors.Is(err, lookup.ErrNoChart) {
		return nil
	}
	if err != nil {
		return err
	}
	return ip.PostImage(ctx, thread, b.replies.chartImage(r, png))
}

// reportFromButton runs the report an ActReport button names, in the thread of
// the message that carries it.
func (b *Bot) reportFromButton(ctx context.Context, a Action) {
	m := a.asMessage()
	q, err := a.Value.Report.Query(b.cfg.ReportParseOptions.Zone)
	switch {
	case err != nil:
		b.private(ctx, m, b.replies.notice("action_failed", err.Error()))
	case !b.allowTrace(m.User):
		b.private(ctx, m, b.replies.notice("rate_limited", b.cfg.RateLimit, b.cfg.RatePer))
	default:
		b.answerReport(ctx, m, q)
	}
}

// ReportValue is the report an ActReport button runs: its kind and window (the
// window is fixed, so a click later shows what the button was made for).
type ReportValue struct {
	Kind   lookup.ReportKind `json:"k"`
	From   *time.Time        `json:"f,omitempty"`
	To     *time.Time        `json:"u,omitempty"`
	Zone   string            `json:"z,omitempty"`
	Env    string            `json:"e,omitempty"`
	Window string            `json:"w,omitempty"`
}

// ReportButton is a button that runs q in the thread of the message carrying it
// (the alerts' Details).
func ReportButton(label string, q lookup.ReportQuery) Button {
	v := &ReportValue{Kind: q.Kind, Env: q.Env, Window: q.Window}
	if !q.From.IsZero() {
		from, to := q.From.UTC(), q.To.UTC()
		v.From, v.To = &from, &to
	}
	if q.Zone != nil {
		v.Zone = q.Zone.String()
	}
	return Button{Label: label, Value: ActionValue{Action: ActReport, Report: v}}
}

// Query is the report the value names; zone stands in for a zone it does not name
// (or one this machine does not know). It fails for a value that names no report.
func (v *ReportValue) Query(zone *time.Location) (lookup.ReportQuery, error) {
	if v == nil || v.Kind == "" {
		return lookup.ReportQuery{}, errors.New("the button names no report")
	}
	q := lookup.ReportQuery{Kind: v.Kind, Env: v.Env, Window: v.Window, Zone: zone}
	if loc, err := time.LoadLocation(v.Zone); err == nil && v.Zone != "" {
		q.Zone = loc
	}
	if v.Kind != lookup.ReportDeploys {
		if v.From == nil || v.To == nil {
			return lookup.ReportQuery{}, fmt.Errorf("the %s button carries no window", v.Kind)
		}
		q.From, q.To = v.From.UTC(), v.To.UTC()
	}
	return q, nil
}
