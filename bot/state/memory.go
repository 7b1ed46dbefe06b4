package state

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

const (
	// sweepInterval is how often expired deliveries and cooldowns are dropped,
	// so memory is bounded by what arrives within a ttl plus this interval.
	sweepInterval = time.Minute
	// historyLimit caps the trace and reprocess records kept for History; the
	// oldest go first.
	historyLimit = 10_000
)

// Memory is a Store for a single replica: state lives in the process and is lost
// at exit. It fails only where the Store contract says (invalid arguments, a
// reprocess that is not pending). Expired deliveries and cooldowns are swept once a
// minute, and only the newest historyLimit traces and reprocesses are kept
// (an older reprocess can no longer be finished), so memory stays bounded.
type Memory struct {
	now func() time.Time

	mu         sync.Mutex
	deliveries map[deliveryKey]time.Time // expiry
	cooldowns  map[string]heldCooldown   // by session id
	lastSweep  time.Time
	nextID     int64
	reprocs    map[string]*ReprocessRecord // by id; the records in reprocIDs
	reprocIDs  []string                    // oldest first
	traces     []TraceRecord               // oldest first
}

type deliveryKey struct{ platform, id string }

// heldCooldown is a taken reprocess cooldown: the record holding it and when it
// lapses.
type heldCooldown struct {
	rec     *ReprocessRecord
	expires time.Time
}

// NewMemory returns an empty Memory reading time from now (time.Now when
// nil), so tests can move the clock.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{
		now:        now,
		deliveries: make(map[deliveryKey]time.Time),
		cooldowns:  make(map[string]heldCooldown),
		reprocs:    make(map[string]*ReprocessRecord),
	}
}

// ClaimDelivery implements Store.
func (m *Memory) ClaimDelivery(_ context.Context, platform, id string, ttl time.Duration) (bool, error) {
	if err := validateDeliveryClaim(platform, id, ttl); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweep(now)
	key := deliveryKey{platform, id}
	if expires, ok := m.deliveries[key]; ok && now.Before(expires) {
		return false, nil
	}
	m.deliveries[key] = now.Add(ttl)
	return true, nil
}

// sweep drops expired deliveries and cooldowns, at most once per
// sweepInterval so a claim stays O(1) amortised. m.mu must be held.
func (m *Memory) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < sweepInterval {
		return
	}
	m.lastSweep = now
	for key, expires := range m.deliveries {
		if !now.Before(expires) {
			delete(m.deliveries, key)
		}
	}
	for session, c := range m.cooldowns {
		if !now.Before(c.expires) {
			delete(m.cooldowns, session)
		}
	}
}

// ClaimReprocess implements Store.
func (m *Memory) ClaimReprocess(_ context.Context, rec ReprocessRecord, cooldown time.Duration) (ReprocessRecord, bool, error) {
	if err := validateReprocessClaim(rec, cooldown); err != nil {
		return ReprocessRecord{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweep(now)
	if c, ok := m.cooldowns[rec.SessionID]; ok && now.Before(c.expires) {
		return copyReprocess(*c.rec), false, nil
	}
	m.nextID++
	rec.ID = strconv.FormatInt(m.nextID, 10)
	rec.RequestedAt = now
	rec.Outcome = ReprocessPending
	rec.AWSRequestID, rec.Error, rec.FinishedAt = "", "", nil
	stored := &rec
	m.addReprocess(stored)
	m.cooldowns[rec.SessionID] = heldCooldown{rec: stored, expires: now.Add(cooldown)}
	return copyReprocess(rec), true, nil
}

// addReprocess keeps rec for FinishReprocess and History, dropping the oldest record
// beyond historyLimit. m.mu must be held.
func (m *Memory) addReprocess(rec *ReprocessRecord) {
	m.reprocs[rec.ID] = rec
	m.reprocIDs = append(m.reprocIDs, rec.ID)
	if len(m.reprocIDs) > historyLimit {
		delete(m.reprocs, m.reprocIDs[0])
		m.reprocIDs = slices.Delete(m.reprocIDs, 0, 1)
	}
}

// FinishReprocess implements Store.
func (m *Memory) FinishReprocess(_ context.Context, id string, outcome ReprocessOutcome, awsRequestID, errMsg string) error {
	if err := validateFinish(outcome); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.reprocs[id]
	if !ok || rec.Outcome != ReprocessPending {
		return fmt.Errorf("state store: finish reprocess %q: %w", id, ErrNoPendingReprocess)
	}
	finished := m.now()
	rec.Outcome, rec.AWSRequestID, rec.Error, rec.FinishedAt = outcome, awsRequestID, errMsg, &finished
	// Only this record's own cooldown is released: a newer claim that took the
	// session after this one's cooldown lapsed keeps its own.
	if c, held := m.cooldowns[rec.SessionID]; held && c.rec == rec && outcome.releasesCooldown() {
		delete(m.cooldowns, rec.SessionID)
	}
	return nil
}

// RecordTrace implements Store.
func (m *Memory) RecordTrace(_ context.Context, rec TraceRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = m.now()
	}
	m.traces = append(m.traces, rec)
	if len(m.traces) > historyLimit {
		m.traces = slices.Delete(m.traces, 0, 1)
	}
	return nil
}

// History implements Store. Records with equal times come newest-stored first.
func (m *Memory) History(_ context.Context, q HistoryQuery) (History, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var h History
	for i := len(m.traces) - 1; i >= 0; i-- {
		if t := m.traces[i]; historyMatch(q, t.User, t.CreatedAt) {
			h.Traces = append(h.Traces, t)
		}
	}
	for i := len(m.reprocIDs) - 1; i >= 0; i-- {
		if r := m.reprocs[m.reprocIDs[i]]; historyMatch(q, r.RequestedBy, r.RequestedAt) {
			h.Reprocesses = append(h.Reprocesses, copyReprocess(*r))
		}
	}
	h.Traces = newestFirst(h.Traces, q.limit(), func(t TraceRecord) time.Time { return t.CreatedAt })
	h.Reprocesses = newestFirst(h.Reprocesses, q.limit(), func(r ReprocessRecord) time.Time { return r.RequestedAt })
	return h, nil
}

// historyMatch reports whether a record by user at time at passes q's filters.
func historyMatch(q HistoryQuery, user string, at time.Time) bool {
	return (q.User == "" || user == q.User) && !at.Before(q.Since)
}

// newestFirst orders records, collected newest-stored first, by time descending and
// keeps the first limit. The sort is stable so records with equal times keep their
// order; a caller may have supplied a CreatedAt older than records stored before.
func newestFirst[T any](recs []T, limit int, at func(T) time.Time) []T {
	slices.SortStableFunc(recs, func(a, b T) int { return at(b).Compare(at(a)) })
	return recs[:min(len(recs), limit)]
}

// Ping implements Store; memory is always reachable.
func (m *Memory) Ping(context.Context) error { return nil }

// Close implements Store; there is nothing to release.
func (m *Memory) Close() {}

// copyReprocess returns rec with its own FinishedAt, so callers cannot change the
// stored record.
func copyReprocess(rec ReprocessRecord) ReprocessRecord {
	if rec.FinishedAt != nil {
		finished := *rec.FinishedAt
		rec.FinishedAt = &finished
	}
	return rec
}
