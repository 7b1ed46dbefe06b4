package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
)

func (b *Bot) handleMessage(ctx context.Context, m Message) {
	if !b.firstDelivery(ctx, m.Platform, m.DeliveryID) {
		return
	}
	switch {
	case !b.channelAllowed(m.Channel):
		b.private(ctx, m, b.replies.notice("channel_off"))
	case strings.TrimSpace(m.Text) == "":
		b.private(ctx, m, b.replies.notice("empty_report"))
	case !b.allowTrace(m.User):
		b.private(ctx, m, b.replies.notice("rate_limited", b.cfg.RateLimit, b.cfg.RatePer))
	case lookup.IsReportRequest(m.Text):
		b.reportRequest(ctx, m)
	default:
		req, err := lookup.ParseReport(m.Text, b.parseOptions())
		if err != nil {
			b.recordNotUnderstood(ctx, m, err)
			b.private(ctx, m, b.replies.notUnderstood(err))
			return
		}
		b.trace(ctx, m, req, nil)
	}
}

func (b *Bot) parseOptions() lookup.ParseOptions {
	o := b.cfg.ParseOptions
	o.Now = b.cfg.Now()
	return o
}

// trace runs one trace and shows it: under a new root message for a slash command,
// in m.Thread otherwise, or in place of the message in (Refresh).
func (b *Bot) trace(ctx context.Context, m Message, req lookup.Request, in *Ref) {
	p := b.poster(m.Platform)
	if p == nil {
		b.log.Error("no poster for platform", "platform", m.Platform)
		return
	}
	msg, err := b.progressMessage(ctx, p, m, req, in)
	if err != nil {
		b.recordChatFailure(ctx, m, req, err)
		return
	}
	up := newUpdater(ctx, b, p, msg, func(pr lookup.Progress) Reply { return b.replies.progress(req, pr) })
	tr := b.deps.Tracer.Trace(ctx, req, up.set)
	up.stop()
	b.recent.Add(tr.TraceID, recentTrace{trace: tr, req: req})
	err = b.show(ctx, p, msg, tr, req, in == nil)
	b.recordTrace(ctx, m, req, tr, chatFailures(m.Platform, err)...)
}

// progressMessage finds or posts the message that progress and the result go to.
// A failure is answered privately and returned.
func (b *Bot) progressMessage(ctx context.Context, p Poster, m Message, req lookup.Request, in *Ref) (Ref, error) {
	if in != nil {
		b.update(ctx, p, *in, b.replies.progress(req, lookup.Progress{Phone: req.Phone}))
		return *in, nil
	}
	thread := Ref{Channel: m.Channel, Thread: m.Thread}
	if m.Thread == "" {
		root, err := p.Post(ctx, Ref{Channel: m.Channel}, b.replies.root(req, m.User), sendKey(m.DeliveryID, "root"))
		if err != nil {
			b.postFailed(ctx, m, "post root", err)
			return Ref{}, err
		}
		thread = root.ThreadRef()
	}
	msg, err := p.Post(ctx, thread, b.replies.progress(req, lookup.Progress{Phone: req.Phone}), sendKey(m.DeliveryID, "progress"))
	if err != nil {
		b.postFailed(ctx, m, "post progress", err)
		return Ref{}, err
	}
	return msg, nil
}

// show replaces the progress message with the result and posts the follow-ups.
// It returns the error of showing the result (follow-ups are only logged).
func (b *Bot) show(ctx context.Context, p Poster, msg Ref, tr *lookup.Trace, req lookup.Request, followUps bool) error {
	var state *state.ReprocessRecord
	if tr.Call != nil {
		if rec, ok := b.rpState.Get(tr.Call.TelephonySessionID); ok {
			state = &rec
		}
	}
	main, extra := b.replies.result(tr, req, state)
	err := b.update(ctx, p, msg, main)
	if !followUps {
		return err
	}
	for i, r := range extra {
		if _, err := p.Post(ctx, msg.ThreadRef(), r, sendKey(tr.TraceID, fmt.Sprintf("extra%d", i))); err != nil {
			b.log.Warn("post follow-up failed", "trace_id", tr.TraceID, "err", err)
		}
	}
	return err
}

// sendKey makes a send idempotent per delivery (Lark uuid); no delivery id, no key.
func sendKey(delivery, part string) string {
	if delivery == "" {
		return ""
	}
	return delivery + ":" + part
}

// update replaces msg with r; a failure is logged and returned.
func (b *Bot) update(ctx context.Context, p Poster, msg Ref, r Reply) error {
	err := p.Update(ctx, msg, r)
	if err != nil {
		b.log.Warn("update failed", "channel", msg.Channel, "err", err)
	}
	return err
}

// postFailed answers privately when the bot cannot post where it was asked.
func (b *Bot) postFailed(ctx context.Context, m Message, what string, err error) {
	b.log.Warn(what+" failed", "platform", m.Platform, "channel", m.Channel, "err", err)
	if errors.Is(err, ErrCannotPost) {
		key := "cannot_post"
		if m.Platform == Lark {
			key = "cannot_post_lark"
		}
		b.private(ctx, m, b.replies.notice(key))
		return
	}
	b.private(ctx, m, b.replies.notice("action_failed", "could not post the answer in this channel"))
}

// recordTrace stores the trace's record: its outcome, timings and every
// backend that failed in it (the trace's own, then chat's).
func (b *Bot) recordTrace(ctx context.Context, m Message, req lookup.Request, tr *lookup.Trace, chat ...state.TraceFailure) {
	b.deps.Metrics.trace(m.Platform, string(tr.Outcome), tr.TimingsMS.Calls, tr.TimingsMS.Logs, tr.TimingsMS.Generations, tr.TimingsMS.Total)
	rec := state.TraceRecord{TraceID: tr.TraceID, Platform: string(m.Platform), Channel: m.Channel, User: m.User,
		Input: lookup.MaskText(m.Text), Phone: lookup.MaskPhone(req.Phone), Outcome: string(tr.Outcome),
		CallsMS: tr.TimingsMS.Calls, LogsMS: tr.TimingsMS.Logs, GenerationsMS: tr.TimingsMS.Generations, TotalMS: tr.TimingsMS.Total}
	if tr.Call != nil {
		rec.SessionID = tr.Call.TelephonySessionID
	}
	if len(tr.Errors) > 0 {
		rec.FailedStep, rec.Error = tr.Errors[0].Step, tr.Errors[0].Message
	}
	for _, e := range tr.Failures() {
		rec.Failures = append(rec.Failures, state.TraceFailure{Step: e.Step, Backend: e.Backend, Cause: e.Message})
	}
	rec.Failures = append(rec.Failures, chat...)
	b.log.Info("trace", "trace_id", tr.TraceID, "platform", m.Platform, "user", m.User, "phone", rec.Phone,
		"outcome", tr.Outcome, "session", rec.SessionID, "total_ms", tr.TimingsMS.Total)
	b.store(ctx, rec)
}

// recordChatFailure records a trace that never ran because its first message
// could not be posted.
func (b *Bot) recordChatFailure(ctx context.Context, m Message, req lookup.Request, err error) {
	fails := chatFailures(m.Platform, err)
	if len(fails) == 0 {
		return
	}
	b.store(ctx, state.TraceRecord{Platform: string(m.Platform), Channel: m.Channel, User: m.User,
		Input: lookup.MaskText(m.Text), Phone: lookup.MaskPhone(req.Phone), Outcome: string(lookup.OutcomeFailed),
		FailedStep: StepChat, Error: fails[0].Cause, Failures: fails})
}

// StepChat is the step of a trace's failures that the chat platform caused.
const StepChat = "chat"

// chatFailures is the platform's failure in err, if it is one: a channel the
// bot may not post in is the channel's setting, not a failing platform.
func chatFailures(p Platform, err error) []state.TraceFailure {
	if err == nil || errors.Is(err, ErrCannotPost) || errors.Is(err, context.Canceled) {
		return nil
	}
	return []state.TraceFailure{{Step: StepChat, Backend: p.Name(), Cause: lookup.ErrorLine(err)}}
}

func (b *Bot) recordNotUnderstood(ctx context.Context, m Message, err error) {
	b.deps.Metrics.trace(m.Platform, string(lookup.OutcomeNotUnderstood), 0, 0, 0, 0)
	b.store(ctx, state.TraceRecord{Platform: string(m.Platform), Channel: m.Channel, User: m.User,
		Input: lookup.MaskText(m.Text), Outcome: string(lookup.OutcomeNotUnderstood), FailedStep: lookup.StepParse, Error: err.Error()})
}

func (b *Bot) store(ctx context.Context, rec state.TraceRecord) {
	if b.deps.Store == nil {
		return
	}
	if err := b.deps.Store.RecordTrace(ctx, rec); err != nil {
		b.log.Error("record trace", "err", err)
	}
}

// updater coalesces progress (of a trace or a report) into at most one Update
// per ProgressInterval, each rendered by render.
type updater[P any] struct {
	b      *Bot
	p      Poster
	msg    Ref
	render func(P) Reply
	ctx    context.Context
	mu     sync.Mutex
	last   *P
	kick   chan struct{}
	done   chan struct{}
	wg     sync.WaitGroup
}

func newUpdater[P any](ctx context.Context, b *Bot, p Poster, msg Ref, render func(P) Reply) *updater[P] {
	u := &updater[P]{b: b, p: p, msg: msg, render: render, ctx: ctx, kick: make(chan struct{}, 1), done: make(chan struct{})}
	u.wg.Add(1)
	go u.loop()
	return u
}

func (u *updater[P]) set(p P) {
	u.mu.Lock()
	u.last = &p
	u.mu.Unlock()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

func (u *updater[P]) loop() {
	defer u.wg.Done()
	for {
		select {
		case <-u.done:
			return
		case <-u.kick:
		}
		u.mu.Lock()
		p := u.last
		u.last = nil
		u.mu.Unlock()
		if p != nil {
			u.b.update(u.ctx, u.p, u.msg, u.render(*p))
		}
		select {
		case <-u.done:
			return
		case <-time.After(u.b.cfg.ProgressInterval):
		}
	}
}

// stop ends the updates; the result Update that follows is the last word.
func (u *updater[P]) stop() {
	close(u.done)
	u.wg.Wait()
}
