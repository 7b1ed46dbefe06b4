package state

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// memoryAlerts is Memory's alert state; Memory's mutex guards it.
type memoryAlerts struct {
	leases   map[string]heldLease
	episodes map[string]*AlertEpisode // by id
	open     map[[2]string]string     // (rule, key) → id of the open episode
	posts    map[postKey]*AlertPost
	mutes    []AlertMute // oldest first
	nextEp   int64
}

type heldLease struct {
	holder  string
	expires time.Time
}

type postKey struct {
	rule, episode, channel string
	kind                   AlertPostKind
}

func newMemoryAlerts() memoryAlerts {
	return memoryAlerts{leases: map[string]heldLease{}, episodes: map[string]*AlertEpisode{},
		open: map[[2]string]string{}, posts: map[postKey]*AlertPost{}}
}

// AcquireLease implements AlertStore.
func (m *Memory) AcquireLease(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := validateLease(name, holder, ttl); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if l, ok := m.alerts.leases[name]; ok && l.holder != holder && now.Before(l.expires) {
		return false, nil
	}
	m.alerts.leases[name] = heldLease{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

// ReleaseLease implements AlertStore.
func (m *Memory) ReleaseLease(_ context.Context, name, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.alerts.leases[name]; ok && l.holder == holder {
		delete(m.alerts.leases, name)
	}
	return nil
}

// OpenEpisode implements AlertStore.
func (m *Memory) OpenEpisode(_ context.Context, ep AlertEpisode) (AlertEpisode, bool, error) {
	if ep.Rule == "" {
		return AlertEpisode{}, false, fmt.Errorf("state store: open episode: empty rule")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	key := [2]string{ep.Rule, ep.Key}
	if id, ok := m.alerts.open[key]; ok {
		cur := m.alerts.episodes[id]
		cur.Level, cur.Message, cur.Subject, cur.Alert, cur.SeenAt = ep.Level, ep.Message, ep.Subject, slices.Clone(ep.Alert), now
		return copyEpisode(*cur), false, nil
	}
	m.alerts.nextEp++
	ep.ID = strconv.FormatInt(m.alerts.nextEp, 10)
	ep.OpenedAt, ep.SeenAt, ep.ClosedAt, ep.Settled = now, now, nil, false
	ep.Alert = slices.Clone(ep.Alert)
	m.alerts.episodes[ep.ID] = &ep
	m.alerts.open[key] = ep.ID
	return copyEpisode(ep), true, nil
}

// CloseEpisode implements AlertStore.
func (m *Memory) CloseEpisode(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ep, ok := m.alerts.episodes[id]
	if !ok {
		return fmt.Errorf("state store: close episode %q: %w", id, ErrNoEpisode)
	}
	if ep.ClosedAt == nil {
		now := m.now()
		ep.ClosedAt = &now
		delete(m.alerts.open, [2]string{ep.Rule, ep.Key})
	}
	return nil
}

// SettleEpisode implements AlertStore. Beyond maxEpisodes the oldest settled
// episodes are dropped with their posts, so memory stays bounded.
func (m *Memory) SettleEpisode(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ep, ok := m.alerts.episodes[id]
	if !ok {
		return fmt.Errorf("state store: settle episode %q: %w", id, ErrNoEpisode)
	}
	ep.Settled = true
	m.alerts.prune()
	return nil
}

// maxEpisodes bounds the episodes Memory keeps.
const maxEpisodes = 1000

// prune drops the oldest settled episodes beyond maxEpisodes. m.mu must be held.
func (a *memoryAlerts) prune() {
	if len(a.episodes) <= maxEpisodes {
		return
	}
	var settled []AlertEpisode
	for _, ep := range a.episodes {
		if ep.Settled {
			settled = append(settled, *ep)
		}
	}
	slices.SortFunc(settled, compareEpisodes)
	for _, ep := range settled[:min(len(settled), len(a.episodes)-maxEpisodes)] {
		delete(a.episodes, ep.ID)
		for k := range a.posts {
			if k.episode == ep.ID {
				delete(a.posts, k)
			}
		}
	}
}

// UnsettledEpisodes implements AlertStore.
func (m *Memory) UnsettledEpisodes(context.Context) ([]AlertEpisode, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []AlertEpisode
	for _, ep := range m.alerts.episodes {
		if !ep.Settled {
			out = append(out, copyEpisode(*ep))
		}
	}
	slices.SortFunc(out, compareEpisodes)
	return out, nil
}

func compareEpisodes(a, b AlertEpisode) int {
	ai, _ := strconv.ParseInt(a.ID, 10, 64)
	bi, _ := strconv.ParseInt(b.ID, 10, 64)
	return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(ai, bi))
}

// ClaimAlertPost implements AlertStore.
func (m *Memory) ClaimAlertPost(_ context.Context, p AlertPost, stale time.Duration) (AlertPost, bool, error) {
	if err := validateClaim(p, stale); err != nil {
		return AlertPost{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	key := postKey{p.Rule, p.EpisodeID, p.Channel, p.Kind}
	cur, ok := m.alerts.posts[key]
	if ok && !(cur.State == PostFailed || (cur.State == PostPending && !cur.ClaimedAt.After(now.Add(-stale)))) {
		return copyPost(*cur), false, nil
	}
	attempts := 1
	if ok {
		attempts = cur.Attempts + 1
	}
	claim := AlertPost{Rule: p.Rule, EpisodeID: p.EpisodeID, Channel: p.Channel, Kind: p.Kind, State: PostPending,
		Holder: p.Holder, Attempts: attempts, ClaimedAt: now}
	if ok {
		claim.MessageID, claim.Thread = cur.MessageID, cur.Thread
	}
	m.alerts.posts[key] = &claim
	return copyPost(claim), true, nil
}

// FinishAlertPost implements AlertStore.
func (m *Memory) FinishAlertPost(_ context.Context, p AlertPost) error {
	if err := validatePostOutcome(p.State); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.alerts.posts[postKey{p.Rule, p.EpisodeID, p.Channel, p.Kind}]
	if !ok || cur.State != PostPending || cur.Attempts != p.Attempts {
		return fmt.Errorf("state store: finish alert post %s/%s/%s: %w", p.Rule, p.EpisodeID, p.Channel, ErrNotClaimed)
	}
	now := m.now()
	cur.State, cur.Error = p.State, p.Error
	if p.State != PostFailed {
		cur.DoneAt = &now
	}
	if p.MessageID != "" {
		cur.MessageID, cur.Thread = p.MessageID, p.Thread
	}
	return nil
}

// AlertPosts implements AlertStore.
func (m *Memory) AlertPosts(_ context.Context, episodeID string) ([]AlertPost, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []AlertPost
	for k, p := range m.alerts.posts {
		if k.episode == episodeID {
			out = append(out, copyPost(*p))
		}
	}
	slices.SortFunc(out, comparePosts)
	return out, nil
}

func comparePosts(a, b AlertPost) int {
	return cmp.Or(strings.Compare(a.Channel, b.Channel), strings.Compare(string(a.Kind), string(b.Kind)))
}

// Mute implements AlertStore.
func (m *Memory) Mute(_ context.Context, mute AlertMute, d time.Duration) (AlertMute, error) {
	if err := validateMute(mute, d); err != nil {
		return AlertMute{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mute.At = m.now()
	mute.Until = mute.At.Add(d)
	m.alerts.mutes = append(m.alerts.mutes, mute)
	if len(m.alerts.mutes) > historyLimit {
		m.alerts.mutes = slices.Delete(m.alerts.mutes, 0, 1)
	}
	return mute, nil
}

// ActiveMute implements AlertStore.
func (m *Memory) ActiveMute(_ context.Context, rule, subject string) (AlertMute, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var best AlertMute
	found := false
	for _, mu := range m.alerts.mutes {
		if mu.Rule == rule && mu.Subject == subject && mu.Until.After(now) && (!found || mu.Until.After(best.Until)) {
			best, found = mu, true
		}
	}
	return best, found, nil
}

// TraceFailures implements AlertStore.
func (m *Memory) TraceFailures(_ context.Context, since time.Time) ([]FailureRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []FailureRecord
	for _, t := range m.traces {
		if t.CreatedAt.Before(since) {
			continue
		}
		for _, f := range t.Failures {
			out = append(out, FailureRecord{TraceID: t.TraceID, TraceFailure: f, At: t.CreatedAt})
		}
	}
	slices.SortStableFunc(out, func(a, b FailureRecord) int { return a.At.Compare(b.At) })
	return out, nil
}

// alertHistory is the alert events matching q, newest first. m.mu must be held.
func (m *Memory) alertHistory(q HistoryQuery) []AlertEvent {
	var out []AlertEvent
	if q.User == "" {
		for _, p := range m.alerts.posts {
			if ev, ok := alertEvent(*p, *m.alerts.episodes[p.EpisodeID]); ok && !ev.At.Before(q.Since) {
				out = append(out, ev)
			}
		}
	}
	for _, mu := range m.alerts.mutes {
		if historyMatch(q, mu.By, mu.At) {
			out = append(out, muteEvent(mu))
		}
	}
	slices.SortFunc(out, func(a, b AlertEvent) int {
		return cmp.Or(b.At.Compare(a.At), strings.Compare(a.Channel, b.Channel), strings.Compare(a.Event, b.Event))
	})
	return out[:min(len(out), q.limit())]
}

func copyEpisode(ep AlertEpisode) AlertEpisode {
	ep.Alert = slices.Clone(ep.Alert)
	if ep.ClosedAt != nil {
		c := *ep.ClosedAt
		ep.ClosedAt = &c
	}
	return ep
}

func copyPost(p AlertPost) AlertPost {
	if p.DoneAt != nil {
		d := *p.DoneAt
		p.DoneAt = &d
	}
	return p
}
