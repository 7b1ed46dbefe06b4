package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
)

// wideWindow is the ± span of the "Widen" button.
const wideWindow = 6 * time.Hour

func (b *Bot) handleAction(ctx context.Context, a Action) {
	if !b.firstDelivery(ctx, a.Platform, a.DeliveryID) {
		return
	}
	m := a.asMessage()
	if !b.channelAllowed(m.Channel) {
		b.private(ctx, m, b.replies.notice("channel_off"))
		return
	}
	if run, ok := b.actions()[a.Value.Action]; ok {
		run(ctx, a)
	}
}

// actions maps each action kind (see ActionKinds) to what a click on it does.
func (b *Bot) actions() map[string]func(context.Context, Action) {
	return map[string]func(context.Context, Action){
		ActReprocess:   b.reprocess,
		ActEscalate:    b.escalate,
		ActModelOutput: b.showModelOutput,
		ActRefresh: func(ctx context.Context, a Action) {
			in := a.Message
			b.traceFromButton(ctx, a.asMessage(), lookup.Request{SessionID: a.Value.SessionID}, &in)
		},
		ActTraceCall: func(ctx context.Context, a Action) {
			b.traceFromButton(ctx, a.asMessage(), lookup.Request{SessionID: a.Value.SessionID}, nil)
		},
		ActWiden:    b.searchAgain,
		ActLastWeek: b.searchAgain,
		ActReport:   b.reportFromButton,
		ActMute:     b.muteAlert,
	}
}

// muteAlert records a Mute 24h click (who, which rule and subject) in the
// store, so every replica holds the alert back, and says in the alert's thread
// who muted it until when.
func (b *Bot) muteAlert(ctx context.Context, a Action) {
	m := a.asMessage()
	switch {
	case b.deps.Store == nil:
		b.private(ctx, m, b.replies.notice("alerts_off"))
		return
	case !lookup.KnownRule(lookup.AlertRule(a.Value.Rule)):
		b.private(ctx, m, b.replies.notice("bad_button"))
		return
	}
	mute, err := b.deps.Store.Mute(ctx, state.AlertMute{Rule: a.Value.Rule, Subject: a.Value.Subject, By: a.User,
		Platform: string(a.Platform), Channel: a.Message.Channel}, DefaultMuteFor)
	if err != nil {
		b.log.Error("mute alert", "rule", a.Value.Rule, "err", err)
		b.private(ctx, m, b.replies.notice("action_failed", "could not record the mute; try again"))
		return
	}
	b.log.Info("alert muted", "rule", mute.Rule, "subject", mute.Subject, "by", mute.By, "until", mute.Until)
	b.post(ctx, b.poster(a.Platform), a.Message.ThreadRef(), b.replies.alertMuted(mute, DefaultMuteFor))
}

// searchAgain runs the number search a Widen or Last week button describes.
func (b *Bot) searchAgain(ctx context.Context, a Action) {
	m := a.asMessage()
	req, err := b.searchRequest(a.Value)
	if err != nil {
		b.private(ctx, m, b.replies.notice("action_failed", err.Error()))
		return
	}
	b.traceFromButton(ctx, m, req, nil)
}

func (b *Bot) traceFromButton(ctx context.Context, m Message, req lookup.Request, in *Ref) {
	if !b.allowTrace(m.User) {
		b.private(ctx, m, b.replies.notice("rate_limited", b.cfg.RateLimit, b.cfg.RatePer))
		return
	}
	b.trace(ctx, m, req, in)
}

// searchRequest rebuilds a number search from a button: ±6h around the same instant
// (Widen) or the last 7 days (Last week).
func (b *Bot) searchRequest(v ActionValue) (lookup.Request, error) {
	if v.Phone == "" {
		return lookup.Request{}, fmt.Errorf("the button carries no phone number")
	}
	loc := b.cfg.ParseOptions.DefaultZone
	if l, err := time.LoadLocation(v.Zone); err == nil && v.Zone != "" {
		loc = l
	}
	if loc == nil {
		loc = time.UTC
	}
	req := lookup.Request{Phone: v.Phone, Zone: loc, ZoneName: loc.String(), ZoneSource: "text", Direction: lookup.Direction(v.Direction)}
	if v.Action == ActWiden && v.At != nil {
		at := v.At.UTC()
		req.At, req.Window = &at, wideWindow
		req.From, req.To = at.Add(-wideWindow), at.Add(wideWindow)
		return req, nil
	}
	now := b.cfg.Now().UTC()
	req.Lookback = true
	req.From, req.To = now.Add(-7*24*time.Hour), now
	return req, nil
}

// reprocess sends exactly one request to the target per session and cooldown, across
// double clicks, retries and replicas (the store arbitrates).
func (b *Bot) reprocess(ctx context.Context, a Action) {
	m := a.asMessage()
	switch {
	case b.deps.Reprocessor == nil:
		b.private(ctx, m, b.replies.notice("reprocess_off"))
		return
	case a.Value.SessionID == "":
		b.private(ctx, m, b.replies.notice("action_failed", "the button carries no session id"))
		return
	case !b.mayReprocess(ctx, a.Platform, a.User):
		b.deps.Metrics.reprocessOutcome("not_allowed")
		b.private(ctx, m, b.replies.notice("not_allowed"))
		return
	}
	rec, won, err := b.deps.Store.ClaimReprocess(ctx, state.ReprocessRecord{
		SessionID: a.Value.SessionID, StoreID: a.Value.StoreID, Platform: string(a.Platform),
		Channel: a.Message.Channel, Thread: a.Message.ThreadRef().Thread, RequestedBy: a.User,
	}, b.cfg.ReprocessCooldown)
	if err != nil {
		b.log.Error("claim reprocess", "session", a.Value.SessionID, "err", err)
		b.private(ctx, m, b.replies.notice("action_failed", "could not record the request; try again"))
		return
	}
	if !won {
		b.deps.Metrics.reprocessOutcome("cooldown")
		b.private(ctx, m, b.alreadyRequested(rec))
		return
	}
	b.sendReprocess(ctx, a, rec)
}

func (b *Bot) alreadyRequested(rec state.ReprocessRecord) Reply {
	if rec.Outcome == state.ReprocessPending {
		return b.replies.notice("reprocess_pending", code(rec.SessionID), mention(rec.RequestedBy))
	}
	return b.replies.notice("reprocess_again", code(rec.SessionID), mention(rec.RequestedBy),
		clock(rec.RequestedAt), clock(rec.RequestedAt.Add(b.cfg.ReprocessCooldown)))
}

func (b *Bot) sendReprocess(ctx context.Context, a Action, rec state.ReprocessRecord) {
	p := b.poster(a.Platform)
	res, err := b.deps.Reprocessor.Request(ctx, lookup.ReprocessRequest{
		SessionID: rec.SessionID, StoreID: rec.StoreID, RequestedBy: a.User, Platform: string(a.Platform)})
	thread := a.Message.ThreadRef()
	if err != nil && lookup.ReprocessRefused(err) {
		b.finishReprocess(ctx, rec.ID, state.ReprocessRefused, "", err.Error())
		b.deps.Metrics.reprocessOutcome(string(state.ReprocessRefused))
		b.log.Warn("reprocess refused", "session", rec.SessionID, "err", err)
		b.post(ctx, p, thread, b.replies.notice("reprocess_refused", code(rec.SessionID), mention(a.User), reprocessCause(err)))
		return
	}
	if err != nil {
		// The target may have accepted it (timeout, dropped connection, 5xx): keep the
		// cooldown so a second click cannot start a second run.
		b.finishReprocess(ctx, rec.ID, state.ReprocessUnknown, "", err.Error())
		b.deps.Metrics.reprocessOutcome(string(state.ReprocessUnknown))
		b.log.Warn("reprocess outcome unknown", "session", rec.SessionID, "err", err)
		b.post(ctx, p, thread, b.replies.notice("reprocess_unknown", code(rec.SessionID), mention(a.User), reprocessCause(err)))
		return
	}
	b.finishReprocess(ctx, rec.ID, state.ReprocessRequested, res.RequestID, "")
	b.deps.Metrics.reprocessOutcome(string(state.ReprocessRequested))
	rec.Outcome, rec.AWSRequestID = state.ReprocessRequested, res.RequestID
	b.rpState.Add(rec.SessionID, rec)
	idLabel := "request id"
	if res.Kind == lookup.ReprocessSQS {
		idLabel = "message id"
	}
	b.post(ctx, p, thread, b.replies.notice("reprocess_done", code(rec.SessionID), mention(a.User), idLabel, code(res.RequestID)))
	b.rerender(ctx, p, a)
}

// reprocessCause is the one line the thread shows for a failed reprocess: the
// *lookup.ReprocessError's cause, however the reprocessor wrapped it (a failure
// worth retrying comes as a *lookup.RetryableError around it).
func reprocessCause(err error) string {
	if re, ok := errors.AsType[*lookup.ReprocessError](err); ok {
		return re.Cause()
	}
	return err.Error()
}

func (b *Bot) finishReprocess(ctx context.Context, id string, o state.ReprocessOutcome, awsID, msg string) {
	if err := b.deps.Store.FinishReprocess(ctx, id, o, awsID, msg); err != nil {
		b.log.Error("finish reprocess", "id", id, "err", err)
	}
}

// rerender redraws the result message so its button shows who requested the reprocess.
func (b *Bot) rerender(ctx context.Context, p Poster, a Action) {
	if rt, ok := b.recent.Get(a.Value.TraceID); ok {
		b.show(ctx, p, a.Message, rt.trace, rt.req, false)
		return
	}
	// Another replica (or a restart) traced it: trace again to redraw.
	b.trace(ctx, a.asMessage(), lookup.Request{SessionID: a.Value.SessionID}, &a.Message)
}

func (b *Bot) post(ctx context.Context, p Poster, to Ref, r Reply) {
	if _, err := p.Post(ctx, to, r, ""); err != nil {
		b.log.Warn("post failed", "channel", to.Channel, "err", err)
	}
}

// mayReprocess checks TRACEBOT_REPROCESS_ALLOWED: user ids, or groups the platform
// can resolve. Empty means anyone allowed to trace.
func (b *Bot) mayReprocess(ctx context.Context, p Platform, user string) bool {
	allowed := b.cfg.ReprocessAllowed
	if len(allowed) == 0 || slices.Contains(allowed, user) {
		return true
	}
	gr, ok := b.poster(p).(GroupResolver)
	if !ok {
		return false
	}
	for _, g := range allowed {
		if in, err := gr.InGroup(ctx, g, user); err == nil && in {
			return true
		} else if err != nil {
			b.log.Warn("group lookup failed", "group", g, "err", err)
		}
	}
	return false
}

// escalate posts a handoff summary in the thread mentioning the escalation group.
func (b *Bot) escalate(ctx context.Context, a Action) {
	m := a.asMessage()
	if b.cfg.EscalationMention == "" {
		b.private(ctx, m, b.replies.notice("escalate_off"))
		return
	}
	b.post(ctx, b.poster(a.Platform), a.Message.ThreadRef(),
		b.replies.handoff(groupMention(b.cfg.EscalationMention), mention(a.User), a.Value.SessionID, b.handoffTrace(ctx, a)))
}

// handoffTrace is the trace an escalation sums up: the one this replica showed, or
// else (another replica or a restart showed it) the call traced again, quietly —
// no progress, no record — so the handoff still carries the verdict. nil when the
// button names no call.
func (b *Bot) handoffTrace(ctx context.Context, a Action) *lookup.Trace {
	if rt, ok := b.recent.Get(a.Value.TraceID); ok {
		return rt.trace
	}
	if a.Value.SessionID == "" {
		return nil
	}
	return b.deps.Tracer.Trace(ctx, lookup.Request{SessionID: a.Value.SessionID}, nil)
}

// groupMention writes the escalation target in neutral markup: a Slack user group
// (S…) or "!…" is a group, anything else a user.
func groupMention(id string) string {
	id = strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">"), "@")
	if strings.HasPrefix(id, "!subteam^") {
		return "<@!" + strings.TrimPrefix(id, "!subteam^") + ">"
	}
	if strings.HasPrefix(id, "S") || strings.HasPrefix(id, "!") {
		return "<@!" + strings.TrimPrefix(id, "!") + ">"
	}
	return "<@" + id + ">"
}
