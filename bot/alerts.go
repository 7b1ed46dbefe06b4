package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
)

// AlertChecker evaluates the alert rules once; *lookup.AlertChecker implements it.
type AlertChecker interface {
	Check(ctx context.Context, now time.Time, in lookup.AlertInputs) lookup.AlertCheck
}

// Defaults of AlertsConfig.
const (
	DefaultMuteFor     = 24 * time.Hour
	defaultPostTimeout = 60 * time.Second
	alertLease         = "alerts"
	finishTimeout      = 5 * time.Second // recording a post's outcome
)

// AlertsConfig tunes the alert scheduler (SPEC §13).
type AlertsConfig struct {
	Channels []string      // TRACEBOT_ALERT_CHANNELS: Slack channel ids and Lark chat ids (oc_…)
	Interval time.Duration // TRACEBOT_ALERT_INTERVAL; the lease is held for two
	// Holder names this replica in the lease and the post claims; it must differ
	// between replicas (the command uses host, pid and a random suffix).
	Holder string
	// FailuresKnown says whether the store holds the bot's trace records
	// (always true for a running bot: memory holds this process's).
	FailuresKnown bool
	PostTimeout   time.Duration // one post's deadline; a pending claim is stale after two
}

// Alerts checks the rules every interval and posts each episode once per
// channel (SPEC §13). With a shared store one replica evaluates per interval
// (the lease), and every post is claimed before it is made, so however many
// checks, replicas or restarts see an episode, each channel gets its alert once
// and its "resolved" reply once. A post that fails (a rate limit, the network)
// is retried at the next interval; a report that could not be read whole leaves
// its rules' episodes as they are. It is safe for concurrent use.
type Alerts struct {
	b       *Bot
	cfg     AlertsConfig
	checker AlertChecker
	store   state.AlertStore
	log     *slog.Logger
}

// NewAlerts returns the scheduler of b's alerts. It does no I/O; Run starts it.
func NewAlerts(b *Bot, cfg AlertsConfig, checker AlertChecker, store state.AlertStore) *Alerts {
	if cfg.Interval <= 0 {
		cfg.Interval = lookup.DefaultAlertInterval
	}
	if cfg.PostTimeout <= 0 {
		cfg.PostTimeout = defaultPostTimeout
	}
	if cfg.Holder == "" {
		cfg.Holder = "tracebot"
	}
	return &Alerts{b: b, cfg: cfg, checker: checker, store: store, log: b.log.With("component", "alerts")}
}

// ChannelPlatform says which platform a channel id belongs to: Lark chat ids
// start with oc_, anything else is Slack's.
func ChannelPlatform(channel string) Platform {
	if strings.HasPrefix(channel, "oc_") {
		return Lark
	}
	return Slack
}

// Run checks at once and then every interval until ctx ends; then it gives the
// lease up so another replica takes over at its next tick.
func (a *Alerts) Run(ctx context.Context) {
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		if err := a.Tick(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("alert check failed; trying again next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = a.store.ReleaseLease(release, alertLease, a.cfg.Holder)
			return
		case <-t.C:
		}
	}
}

// Tick is one interval: take or renew the lease, and when held evaluate every
// rule and make the posts that are due. It returns an error only when the
// state store failed; everything else is logged and retried next interval.
func (a *Alerts) Tick(ctx context.Context) error {
	held, err := a.store.AcquireLease(ctx, alertLease, a.cfg.Holder, 2*a.cfg.Interval)
	if err != nil || !held {
		return err
	}
	now := a.b.cfg.Now()
	eps, err := a.store.UnsettledEpisodes(ctx)
	if err != nil {
		return err
	}
	in, err := a.inputs(ctx, now, eps)
	if err != nil {
		return err
	}
	check := a.checker.Check(ctx, now, in)
	for _, e := range check.Errors {
		a.log.Warn("alert rule not evaluated; its episodes stay as they are", "rule", e.Rule, "err", e.Message, "cause", e.Err)
	}
	if err := a.openAndClose(ctx, check, eps); err != nil {
		return err
	}
	if eps, err = a.store.UnsettledEpisodes(ctx); err != nil {
		return err
	}
	for _, ep := range eps {
		if err := a.deliver(ctx, ep, check); err != nil {
			return err
		}
	}
	return nil
}

// inputs are what the store says for backend_failures, when it holds the
// bot's trace records.
func (a *Alerts) inputs(ctx context.Context, now time.Time, eps []state.AlertEpisode) (lookup.AlertInputs, error) {
	if !a.cfg.FailuresKnown {
		return lookup.AlertInputs{}, nil
	}
	return AlertInputsFrom(ctx, a.store, now, eps)
}

// AlertInputsFrom reads what store says for backend_failures at now: the trace
// failures of the last ten minutes, and the backends whose episode is open among
// eps (the store's unsettled episodes).
func AlertInputsFrom(ctx context.Context, store state.AlertStore, now time.Time, eps []state.AlertEpisode) (lookup.AlertInputs, error) {
	in := lookup.AlertInputs{FailuresKnown: true}
	recs, err := store.TraceFailures(ctx, now.Add(-lookup.BackendFailureWindow))
	if err != nil {
		return in, err
	}
	for _, r := range recs {
		in.Failures = append(in.Failures, lookup.TraceFailure{TraceID: r.TraceID, At: r.At, Backend: r.Backend, Cause: r.Cause})
	}
	for _, ep := range eps {
		if ep.Rule == string(lookup.RuleBackendFailures) && ep.ClosedAt == nil {
			in.OpenBackends = append(in.OpenBackends, ep.Key)
		}
	}
	return in, nil
}

// openAndClose opens (or refreshes) the episode of every alert, and closes the
// open episodes of evaluated rules whose condition no longer holds.
func (a *Alerts) openAndClose(ctx context.Context, check lookup.AlertCheck, eps []state.AlertEpisode) error {
	active := map[[2]string]bool{}
	for _, al := range check.Alerts {
		active[[2]string{string(al.Rule), al.EpisodeKey()}] = true
		body, err := json.Marshal(al)
		if err != nil {
			return fmt.Errorf("alerts: encode %s: %w", al.Rule, err)
		}
		ep, opened, err := a.store.OpenEpisode(ctx, state.AlertEpisode{Rule: string(al.Rule), Key: al.EpisodeKey(),
			Subject: al.Subject(), Level: string(al.Level), Message: al.Message, Alert: body})
		if err != nil {
			return err
		}
		if opened {
			a.b.deps.Metrics.alert(string(al.Rule), string(al.Level))
			a.log.Info("alert episode opened", "rule", al.Rule, "level", al.Level, "episode", ep.ID, "subject", al.Subject())
		}
	}
	for _, ep := range eps {
		if ep.ClosedAt != nil || !check.WasEvaluated(lookup.AlertRule(ep.Rule)) || active[[2]string{ep.Rule, ep.Key}] {
			continue
		}
		if err := a.store.CloseEpisode(ctx, ep.ID); err != nil {
			return err
		}
		a.log.Info("alert episode closed", "rule", ep.Rule, "episode", ep.ID, "subject", ep.Subject)
	}
	return nil
}

// deliver makes the posts of one episode that are due in each channel: the
// alert (unless muted), and once the episode is closed the "resolved" reply in
// the alert's thread. A closed episode whose posts are all done is settled.
func (a *Alerts) deliver(ctx context.Context, ep state.AlertEpisode, check lookup.AlertCheck) error {
	var al lookup.Alert
	if err := json.Unmarshal(ep.Alert, &al); err != nil {
		a.log.Error("alert episode unreadable; settling it", "episode", ep.ID, "err", err)
		return a.store.SettleEpisode(ctx, ep.ID)
	}
	posts, err := a.store.AlertPosts(ctx, ep.ID)
	if err != nil {
		return err
	}
	closed := ep.ClosedAt != nil
	muted, err := a.muted(ctx, ep, closed)
	if err != nil {
		return err
	}
	settled := closed
	for _, ch := range a.cfg.Channels {
		done, err := a.deliverTo(ctx, ch, ep, al, posts, muted, check)
		if err != nil {
			return err
		}
		settled = settled && done
	}
	if settled {
		return a.store.SettleEpisode(ctx, ep.ID)
	}
	return nil
}

// deliverTo makes the posts of episode ep that are due in channel ch (posts are
// the episode's claims so far) and reports whether the channel needs nothing
// more once the episode is closed.
func (a *Alerts) deliverTo(ctx context.Context, ch string, ep state.AlertEpisode, al lookup.Alert, posts []state.AlertPost,
	muted bool, check lookup.AlertCheck) (done bool, err error) {
	closed := ep.ClosedAt != nil
	alertPost := findPost(posts, ch, state.PostAlert)
	switch {
	case alertPost == nil && (closed || muted):
		// Never tried: muted all along, or the episode ended before this channel
		// was configured. Nothing to post, nothing to resolve.
		return true, nil
	case closed && !al.Resolves() && !alertPost.State.Final():
		// Not posted yet, and passed: a budget level replaced by a higher one, or
		// its day over. Only the highest level is posted, so this one never is.
		return true, nil
	case alertPost == nil || !alertPost.State.Final():
		p, err := a.post(ctx, ep, al, ch, state.PostAlert, "", check)
		if err != nil {
			return false, err
		}
		alertPost = &p
	}
	if alertPost.State != state.PostDone {
		return alertPost.State == state.PostRefused, nil
	}
	if !closed || !al.Resolves() {
		return true, nil
	}
	if res := findPost(posts, ch, state.PostResolved); res != nil && res.State.Final() {
		return true, nil
	}
	p, err := a.post(ctx, ep, al, ch, state.PostResolved, alertPost.MessageID, check)
	return p.State.Final(), err
}

// muted reports whether a mute holds the episode's alert back. Mutes hold new
// alerts only: a closed episode is not held back.
func (a *Alerts) muted(ctx context.Context, ep state.AlertEpisode, closed bool) (bool, error) {
	if closed {
		return false, nil
	}
	_, ok, err := a.store.ActiveMute(ctx, ep.Rule, ep.Subject)
	return ok, err
}

func findPost(posts []state.AlertPost, channel string, kind state.AlertPostKind) *state.AlertPost {
	i := slices.IndexFunc(posts, func(p state.AlertPost) bool { return p.Channel == channel && p.Kind == kind })
	if i < 0 {
		return nil
	}
	return &posts[i]
}

// post claims one post and makes it when the claim is won; it returns the claim
// as it stands afterwards. Only a store failure is returned as an error: a
// failed post is recorded for the next interval, a refused one is final (and
// logged, once per episode and channel). An alert's chart follows in its thread
// once the alert is recorded as posted, so a replica that dies during the
// upload leaves no posted alert claimed as pending (to be posted again).
func (a *Alerts) post(ctx context.Context, ep state.AlertEpisode, al lookup.Alert, channel string, kind state.AlertPostKind,
	thread string, check lookup.AlertCheck) (state.AlertPost, error) {
	claim, won, err := a.store.ClaimAlertPost(ctx, state.AlertPost{Rule: ep.Rule, EpisodeID: ep.ID, Channel: channel,
		Kind: kind, Holder: a.cfg.Holder}, 2*a.cfg.PostTimeout)
	if err != nil || !won {
		return claim, err
	}
	pctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	ref, perr := a.send(pctx, ep, al, channel, kind, thread)
	cancel()
	claim.State, claim.Error = state.PostDone, ""
	switch {
	case perr == nil:
		claim.MessageID, claim.Thread = ref.ID, ref.ThreadRef().Thread
	case errors.Is(perr, ErrCannotPost) || errors.Is(perr, errNoPoster):
		claim.State, claim.Error = state.PostRefused, lookup.ErrorLine(perr)
		a.log.Warn("cannot post the alert in this channel; the other channels still get it", "rule", ep.Rule,
			"episode", ep.ID, "channel", channel, "kind", kind, "err", perr)
	default:
		claim.State, claim.Error = state.PostFailed, lookup.ErrorLine(perr)
		a.log.Warn("alert post failed; retrying next interval", "rule", ep.Rule, "episode", ep.ID, "channel", channel,
			"kind", kind, "err", perr)
	}
	if err := a.finish(ctx, claim); err != nil {
		return claim, err
	}
	if claim.State == state.PostDone {
		a.log.Info("alert posted", "rule", ep.Rule, "level", ep.Level, "episode", ep.ID, "channel", channel, "kind", kind)
		if kind == state.PostAlert {
			a.postChart(ctx, ref, ep, check)
		}
	}
	return claim, nil
}

// finish records a post's outcome even when ctx was cancelled meanwhile (the
// scheduler is stopping: an attempt left pending would wait two post timeouts
// to be tried again), within finishTimeout, so a hanging store cannot hold
// Run past shutdown.
func (a *Alerts) finish(ctx context.Context, claim state.AlertPost) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	return a.store.FinishAlertPost(ctx, claim)
}

var errNoPoster = errors.New("that platform is not configured")

// send posts the alert (a root message) or its resolution (a reply in thread).
func (a *Alerts) send(ctx context.Context, ep state.AlertEpisode, al lookup.Alert, channel string, kind state.AlertPostKind,
	thread string) (Ref, error) {
	platform := ChannelPlatform(channel)
	p := a.b.poster(platform)
	if p == nil {
		return Ref{}, fmt.Errorf("alerts: channel %s: %s: %w", channel, platform.Name(), errNoPoster)
	}
	key := postKey(ep, kind)
	if kind == state.PostResolved {
		return p.Post(ctx, Ref{Channel: channel, Thread: thread}, a.b.replies.alertResolved(al, ep, a.b.cfg.Now()), key)
	}
	return p.Post(ctx, Ref{Channel: channel}, a.b.replies.alert(al, ep.ID), key)
}

// postKey is the send key of an episode's post: the same for every attempt (Lark
// sends it once), and naming the episode by more than its id, which a store
// without a database numbers from 1 again after a restart.
func postKey(ep state.AlertEpisode, kind state.AlertPostKind) string {
	return fmt.Sprintf("alert:%s:%s:%s:%d:%s", ep.Rule, ep.Key, ep.ID, ep.OpenedAt.UnixNano(), kind)
}

// postChart puts the chart of the report the alert was read from (cache for a
// collapse, cost for a spike or the budget, finish for a length spike) in the
// alert's thread, once, with the alert, within one post's deadline. An alert
// posted late (its report is not in this check) goes without; a chart that
// fails is logged: the alert stands.
func (a *Alerts) postChart(ctx context.Context, alert Ref, ep state.AlertEpisode, check lookup.AlertCheck) {
	r := check.ReportOf(lookup.AlertRule(ep.Rule))
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	if err := a.b.PostChart(ctx, ChannelPlatform(alert.Channel), alert.ThreadRef(), r); err != nil {
		a.log.Warn("alert chart not posted; the alert stands", "rule", ep.Rule, "episode", ep.ID, "channel", alert.Channel, "err", err)
	}
}
