package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AlertStore is the alerts' shared state (SPEC §13): the lease that lets one
// replica evaluate per interval, the episodes, the claims that make every post
// exactly-once across replicas and restarts, and the mutes. Memory and Postgres
// implement it; with Postgres every replica sees the same rows.
type AlertStore interface {
	// AcquireLease takes or renews the lease name for holder until ttl from now
	// (the store's clock). It returns true when holder holds it afterwards: it was
	// free, expired, or already holder's. It fails on an empty name or holder or a
	// ttl that is not positive.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up if holder holds it, so another replica can
	// take it at once (at shutdown).
	ReleaseLease(ctx context.Context, name, holder string) error

	// OpenEpisode returns the open episode of (ep.Rule, ep.Key), with its level,
	// message, subject and alert replaced by ep's and SeenAt set to now; or, when
	// none is open, opens ep (OpenedAt = SeenAt = now, a new ID) and returns it
	// with opened true. Exactly one caller opens an episode across replicas. It
	// fails on an empty rule.
	OpenEpisode(ctx context.Context, ep AlertEpisode) (got AlertEpisode, opened bool, err error)
	// CloseEpisode ends the episode id (ClosedAt = now) if it is open; closing a
	// closed one changes nothing. It wraps ErrNoEpisode when id names none.
	CloseEpisode(ctx context.Context, id string) error
	// SettleEpisode records that every post of a closed episode is done, so it
	// leaves UnsettledEpisodes. It wraps ErrNoEpisode when id names none.
	SettleEpisode(ctx context.Context, id string) error
	// UnsettledEpisodes returns the open episodes and the closed ones not yet
	// settled, oldest first.
	UnsettledEpisodes(ctx context.Context) ([]AlertEpisode, error)

	// ClaimAlertPost takes the right to make one post (p.Rule, p.EpisodeID,
	// p.Channel, p.Kind) for p.Holder: ok is true when it was never claimed, the
	// last attempt failed, or an attempt still pending is older than stale (its
	// holder died mid-post). The claim is then stored PostPending with Attempts
	// counted and returned; otherwise the current claim is returned with ok false.
	// Exactly one caller wins across replicas. It fails on empty keys or a stale
	// that is not positive.
	ClaimAlertPost(ctx context.Context, p AlertPost, stale time.Duration) (AlertPost, bool, error)
	// FinishAlertPost records the outcome (PostDone with the message posted,
	// PostFailed to retry, PostRefused for a channel the bot may not post in) of
	// the pending claim p (its Attempts is the fencing token: a claim taken over
	// by another holder meanwhile is not changed). It wraps ErrNotClaimed when p
	// is no longer that pending claim, and fails on another outcome.
	FinishAlertPost(ctx context.Context, p AlertPost) error
	// AlertPosts returns the claims of an episode, in channel then kind order.
	AlertPosts(ctx context.Context, episodeID string) ([]AlertPost, error)

	// Mute silences (m.Rule, m.Subject) for d from now (the store's clock sets
	// At and Until) and records who. A later mute replaces an earlier one's end.
	// It fails on an empty rule or by, or d not positive.
	Mute(ctx context.Context, m AlertMute, d time.Duration) (AlertMute, error)
	// ActiveMute returns the mute of (rule, subject) that lasts longest, when
	// one lasts beyond now.
	ActiveMute(ctx context.Context, rule, subject string) (AlertMute, bool, error)

	// TraceFailures returns the backend failures that traces recorded at or
	// after since, oldest first.
	TraceFailures(ctx context.Context, since time.Time) ([]FailureRecord, error)
}

// Errors of the alert methods (wrapped).
var (
	ErrNoEpisode  = errors.New("no alert episode with that id")
	ErrNotClaimed = errors.New("the post is not pending under that claim")
)

// TraceFailure is one backend a trace failed at, with its one-line cause (no
// secrets, no customer content: the caller makes it so).
type TraceFailure struct {
	Step    string // calls, logs, generations, analysis, chat
	Backend string // "Postgres", "CloudWatch us-east-2", "OpenRouter", "S3", "Slack", "Lark"
	Cause   string
}

// FailureRecord is a TraceFailure with the trace it belongs to and when.
type FailureRecord struct {
	TraceID string
	TraceFailure
	At time.Time
}

// AlertEpisode is one episode of a rule (SPEC §13): from the first check that
// saw its condition until it is closed. The store keeps what the bot gives it;
// Alert is the bot's own encoding of the latest alert (JSON), for posting late
// and for history.
type AlertEpisode struct {
	ID       string
	Rule     string
	Key      string // the episode within the rule: "" | stage | backend | level/day
	Subject  string // what a mute holds for within the rule
	Level    string
	Message  string
	Alert    []byte
	OpenedAt time.Time
	SeenAt   time.Time
	ClosedAt *time.Time
	Settled  bool
}

// AlertPostKind says which post of an episode a claim is for.
type AlertPostKind string

// Post kinds.
const (
	PostAlert    AlertPostKind = "alert"    // the alert message
	PostResolved AlertPostKind = "resolved" // the reply in its thread when it cleared
)

// AlertPostState is where one post stands.
type AlertPostState string

// Post states. Pending holds the claim; failed lets the next interval claim it
// again; done and refused are final.
const (
	PostPending AlertPostState = "posting"
	PostDone    AlertPostState = "posted"
	PostFailed  AlertPostState = "failed"
	PostRefused AlertPostState = "refused" // the bot may not post in the channel
)

// Final reports whether the post needs no further attempt.
func (s AlertPostState) Final() bool { return s == PostDone || s == PostRefused }

// AlertPost is one claimed post of an episode in one channel.
type AlertPost struct {
	Rule      string
	EpisodeID string
	Channel   string
	Kind      AlertPostKind
	State     AlertPostState
	Holder    string // who claimed it last (a replica's id)
	Attempts  int
	ClaimedAt time.Time
	DoneAt    *time.Time
	MessageID string // where the post went (Slack ts, Lark message id)
	Thread    string
	Error     string // why the last attempt failed or was refused
}

// AlertMute is one Mute click: who silenced which rule and subject until when.
type AlertMute struct {
	Rule     string
	Subject  string
	By       string
	Platform string
	Channel  string
	At       time.Time
	Until    time.Time
}

// AlertEvent is one line of the alerts' history: a post made, a resolution
// announced, a mute.
type AlertEvent struct {
	At      time.Time
	Event   string // "posted", "resolved", "refused", "muted"
	Rule    string
	Level   string
	Subject string
	Channel string
	By      string // who muted
	Until   *time.Time
	Message string
}

// Alert history events.
const (
	EventPosted   = "posted"
	EventResolved = "resolved"
	EventRefused  = "refused"
	EventMuted    = "muted"
)

func validateLease(name, holder string, ttl time.Duration) error {
	if name == "" || holder == "" {
		return fmt.Errorf("state store: lease: empty name (%q) or holder", name)
	}
	if ttl <= 0 {
		return fmt.Errorf("state store: lease %s: ttl %s is not positive", name, ttl)
	}
	return nil
}

func validateClaim(p AlertPost, stale time.Duration) error {
	if p.Rule == "" || p.EpisodeID == "" || p.Channel == "" || p.Holder == "" ||
		(p.Kind != PostAlert && p.Kind != PostResolved) {
		return fmt.Errorf("state store: claim alert post: empty rule, episode, channel or holder, or kind %q", p.Kind)
	}
	if stale <= 0 {
		return fmt.Errorf("state store: claim alert post: stale %s is not positive", stale)
	}
	return nil
}

func validatePostOutcome(s AlertPostState) error {
	if s != PostDone && s != PostFailed && s != PostRefused {
		return fmt.Errorf("state store: finish alert post: outcome %q is not posted, failed or refused", s)
	}
	return nil
}

func validateMute(m AlertMute, d time.Duration) error {
	if m.Rule == "" || m.By == "" {
		return errors.New("state store: mute: empty rule or user")
	}
	if d <= 0 {
		return fmt.Errorf("state store: mute: duration %s is not positive", d)
	}
	return nil
}

// alertEvent turns a finished post into its history line.
func alertEvent(p AlertPost, ep AlertEpisode) (AlertEvent, bool) {
	if p.DoneAt == nil || !p.State.Final() {
		return AlertEvent{}, false
	}
	ev := AlertEvent{At: *p.DoneAt, Event: EventPosted, Rule: p.Rule, Level: ep.Level, Subject: ep.Subject,
		Channel: p.Channel, Message: ep.Message}
	switch {
	case p.State == PostRefused:
		ev.Event, ev.Message = EventRefused, p.Error
	case p.Kind == PostResolved:
		ev.Event = EventResolved
	}
	return ev, true
}

func muteEvent(m AlertMute) AlertEvent {
	until := m.Until
	return AlertEvent{At: m.At, Event: EventMuted, Rule: m.Rule, Subject: m.Subject, Channel: m.Channel, By: m.By, Until: &until}
}
