package state

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/callytics/tracebot/secrets"
)

// storeHarness is one Store under test and a way to move its clock.
type storeHarness struct {
	store Store
	// advance makes d pass for the store: later calls see every earlier claim and
	// record d older.
	advance func(t *testing.T, d time.Duration)
}

// storeImplementations are the Stores the contract tests run against.
var storeImplementations = []struct {
	name string
	open func(t *testing.T) storeHarness
}{
	{"memory", openMemoryHarness},
	{"postgres", openPostgresHarness},
}

// forEachStore runs test as a parallel subtest per implementation, each with a
// fresh store.
func forEachStore(t *testing.T, test func(t *testing.T, h storeHarness)) {
	for _, impl := range storeImplementations {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			test(t, impl.open(t))
		})
	}
}

// storeTestClock is a clock that moves only when told to.
type storeTestClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *storeTestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *storeTestClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var storeTestEpoch = time.Date(2026, 5, 20, 17, 15, 0, 0, time.UTC)

func openMemoryHarness(*testing.T) storeHarness {
	clock := &storeTestClock{now: storeTestEpoch}
	return storeHarness{
		store:   NewMemory(clock.Now),
		advance: func(_ *testing.T, d time.Duration) { clock.Advance(d) },
	}
}

// openPostgresHarness opens a Postgres on a fresh database. The database clock
// cannot be moved, so advance moves the past instead: every timestamp the store took
// from its clock is shifted d earlier. Traces given a CreatedAt keep it, as they do
// in memory.
func openPostgresHarness(t *testing.T) storeHarness {
	s := openTestPostgresStore(t, sharedPG.NewDatabase(t))
	return storeHarness{store: s, advance: func(t *testing.T, d time.Duration) { shiftStoreClock(t, s, d) }}
}

func openTestPostgresStore(t *testing.T, dsn string) *Postgres {
	t.Helper()
	s, err := OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func shiftStoreClock(t *testing.T, s *Postgres, d time.Duration) {
	t.Helper()
	const back = "$1::bigint * interval '1 microsecond'"
	for _, stmt := range []string{
		"UPDATE tracebot_deliveries SET expires_at = expires_at - " + back,
		"UPDATE tracebot_reprocess_cooldowns SET expires_at = expires_at - " + back,
		"UPDATE tracebot_reprocesses SET requested_at = requested_at - " + back +
			", finished_at = finished_at - " + back,
	} {
		if _, err := s.pool.Exec(t.Context(), stmt, d.Microseconds()); err != nil {
			t.Fatalf("shift clock: %v", err)
		}
	}
}

func TestStoreClaimDelivery(t *testing.T) {
	const ttl = 10 * time.Minute
	steps := []struct {
		name     string
		advance  time.Duration
		platform string
		id       string
		want     bool
	}{
		{name: "first delivery", platform: "slack", id: "Ev01", want: true},
		{name: "retry of it", platform: "slack", id: "Ev01", want: false},
		{name: "same id on another platform", platform: "lark", id: "Ev01", want: true},
		{name: "another id", platform: "slack", id: "Ev02", want: true},
		{name: "retry just before ttl", advance: ttl - time.Second, platform: "slack", id: "Ev01", want: false},
		{name: "retry at ttl", advance: time.Second, platform: "slack", id: "Ev01", want: true},
		{name: "retry of the reclaim", platform: "slack", id: "Ev01", want: false},
	}
	forEachStore(t, func(t *testing.T, h storeHarness) {
		for _, step := range steps {
			h.advance(t, step.advance)
			got, err := h.store.ClaimDelivery(t.Context(), step.platform, step.id, ttl)
			if err != nil {
				t.Fatalf("%s: ClaimDelivery: %v", step.name, err)
			}
			if got != step.want {
				t.Errorf("%s: ClaimDelivery(%s, %s) = %v, want %v", step.name, step.platform, step.id, got, step.want)
			}
		}
	})
}

func TestStoreClaimDeliveryConcurrent(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		results := race(20, func(int) (bool, error) {
			return h.store.ClaimDelivery(context.Background(), "slack", "Ev-retried", time.Minute)
		})
		if got := countWins(t, results); got != 1 {
			t.Errorf("%d of 20 concurrent claims of one delivery won, want exactly 1", got)
		}
	})
}

// raceResult is what one racer got.
type raceResult[T any] struct {
	value T
	err   error
}

// race runs f n times at once, released together, and returns the results in
// racer order.
func race[T any](n int, f func(i int) (T, error)) []raceResult[T] {
	results := make([]raceResult[T], n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			v, err := f(i)
			results[i] = raceResult[T]{v, err}
		})
	}
	close(start)
	wg.Wait()
	return results
}

func countWins(t *testing.T, results []raceResult[bool]) int {
	t.Helper()
	wins := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("racer %d: %v", i, r.err)
		}
		if r.value {
			wins++
		}
	}
	return wins
}

// reprocessClaim is what a racer got from ClaimReprocess.
type reprocessClaim struct {
	rec ReprocessRecord
	ok  bool
}

func testReprocessRequest(session, user string) ReprocessRecord {
	return ReprocessRecord{
		SessionID: session, StoreID: "7d0e1c2a-1111-4222-8333-944455556666", Platform: "slack",
		Channel: "C0TRACE", Thread: "1716225300.000100", RequestedBy: user,
		Target: "lambda:call-analytics-prod-ai-analysis-processor",
	}
}

// checkClaimRace asserts exactly one claim won and every loser was shown the
// winner's record.
func checkClaimRace(t *testing.T, results []raceResult[reprocessClaim]) {
	t.Helper()
	var winners []ReprocessRecord
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("racer %d: ClaimReprocess: %v", i, r.err)
		}
		if r.value.ok {
			winners = append(winners, r.value.rec)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d of %d racers won the reprocess claim, want exactly 1: %+v", len(winners), len(results), winners)
	}
	for i, r := range results {
		if diff := cmp.Diff(winners[0], r.value.rec); diff != "" {
			t.Errorf("racer %d was not shown the winner's record (-winner +got):\n%s", i, diff)
		}
	}
}

func TestStoreClaimReprocessRace(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		results := race(20, func(i int) (reprocessClaim, error) {
			rec, ok, err := h.store.ClaimReprocess(context.Background(),
				testReprocessRequest("s-race", "U"+strconv.Itoa(i)), 10*time.Minute)
			return reprocessClaim{rec, ok}, err
		})
		checkClaimRace(t, results)
	})
}

func TestStoreClaimReprocessRecord(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		req := testReprocessRequest("s-abc123def456", "U0SUPPORT")
		req.ID, req.Outcome, req.AWSRequestID, req.Error = "caller-id", ReprocessRequested, "ignored", "ignored"
		got, ok, err := h.store.ClaimReprocess(t.Context(), req, 10*time.Minute)
		if err != nil || !ok {
			t.Fatalf("ClaimReprocess = ok %v, err %v; want ok", ok, err)
		}
		if got.ID == "" || got.ID == "caller-id" || got.RequestedAt.IsZero() {
			t.Errorf("claim got ID %q, RequestedAt %v; want a store-assigned ID and time", got.ID, got.RequestedAt)
		}
		want := testReprocessRequest("s-abc123def456", "U0SUPPORT")
		want.Outcome = ReprocessPending
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(ReprocessRecord{}, "ID", "RequestedAt")); diff != "" {
			t.Errorf("claimed record (-want +got):\n%s", diff)
		}
	})
}

func TestStoreReprocessCooldownExpiry(t *testing.T) {
	const cooldown = 10 * time.Minute
	forEachStore(t, func(t *testing.T, h storeHarness) {
		first := mustClaimReprocess(t, h.store, "s-expiry", "U1", cooldown, true)
		h.advance(t, cooldown-time.Second)
		held := mustClaimReprocess(t, h.store, "s-expiry", "U2", cooldown, false)
		if held.ID != first.ID || held.RequestedBy != "U1" {
			t.Errorf("inside the cooldown got holder %s by %s, want %s by U1", held.ID, held.RequestedBy, first.ID)
		}
		h.advance(t, time.Second)
		again := mustClaimReprocess(t, h.store, "s-expiry", "U2", cooldown, true)
		if again.ID == first.ID {
			t.Errorf("the claim after the cooldown reused ID %s", again.ID)
		}
		if other := mustClaimReprocess(t, h.store, "s-other", "U1", cooldown, true); other.ID == again.ID {
			t.Errorf("another session got the same ID %s", other.ID)
		}
	})
}

func mustClaimReprocess(t *testing.T, s Store, session, user string, cooldown time.Duration, wantOK bool) ReprocessRecord {
	t.Helper()
	rec, ok, err := s.ClaimReprocess(t.Context(), testReprocessRequest(session, user), cooldown)
	if err != nil {
		t.Fatalf("ClaimReprocess(%s by %s): %v", session, user, err)
	}
	if ok != wantOK {
		t.Fatalf("ClaimReprocess(%s by %s) ok = %v, want %v (holder %+v)", session, user, ok, wantOK, rec)
	}
	return rec
}

func TestStoreFinishReprocess(t *testing.T) {
	tests := []struct {
		name        string
		outcome     ReprocessOutcome
		awsID, err  string
		wantRelease bool
	}{
		{name: "requested keeps the cooldown", outcome: ReprocessRequested, awsID: "8f2c1d9e-req"},
		{name: "refused releases it", outcome: ReprocessRefused, err: "AccessDeniedException: not authorized", wantRelease: true},
		{name: "failed releases it", outcome: ReprocessFailed, err: "context deadline exceeded", wantRelease: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, h storeHarness) {
				claimed := mustClaimReprocess(t, h.store, "s-finish", "U1", time.Hour, true)
				if err := h.store.FinishReprocess(t.Context(), claimed.ID, tc.outcome, tc.awsID, tc.err); err != nil {
					t.Fatalf("FinishReprocess: %v", err)
				}
				next := mustClaimReprocess(t, h.store, "s-finish", "U2", time.Hour, tc.wantRelease)
				if tc.wantRelease {
					return
				}
				want := claimed
				want.Outcome, want.AWSRequestID, want.Error = tc.outcome, tc.awsID, tc.err
				if diff := cmp.Diff(want, next, cmpopts.IgnoreFields(ReprocessRecord{}, "FinishedAt")); diff != "" {
					t.Errorf("holder shown to the next click (-want +got):\n%s", diff)
				}
				if next.FinishedAt == nil {
					t.Error("holder's FinishedAt is nil after FinishReprocess")
				}
			})
		})
	}
}

func TestStoreFinishOldReprocessKeepsNewerCooldown(t *testing.T) {
	const cooldown = 10 * time.Minute
	forEachStore(t, func(t *testing.T, h storeHarness) {
		stale := mustClaimReprocess(t, h.store, "s-stale", "U1", cooldown, true)
		h.advance(t, cooldown)
		newer := mustClaimReprocess(t, h.store, "s-stale", "U2", cooldown, true)
		if err := h.store.FinishReprocess(t.Context(), stale.ID, ReprocessFailed, "", "timeout"); err != nil {
			t.Fatalf("FinishReprocess(stale): %v", err)
		}
		if held := mustClaimReprocess(t, h.store, "s-stale", "U3", cooldown, false); held.ID != newer.ID {
			t.Errorf("cooldown held by %s after the stale claim failed, want %s", held.ID, newer.ID)
		}
	})
}

func TestStoreFinishReprocessErrors(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		done := mustClaimReprocess(t, h.store, "s-done", "U1", time.Hour, true)
		if err := h.store.FinishReprocess(t.Context(), done.ID, ReprocessRequested, "req-1", ""); err != nil {
			t.Fatalf("FinishReprocess: %v", err)
		}
		pending := mustClaimReprocess(t, h.store, "s-pending", "U1", time.Hour, true)
		tests := []struct {
			name        string
			id          string
			outcome     ReprocessOutcome
			wantPending bool // wants ErrNoPendingReprocess
		}{
			{name: "unknown id", id: "987654", outcome: ReprocessRequested, wantPending: true},
			{name: "malformed id", id: "not-an-id", outcome: ReprocessRequested, wantPending: true},
			{name: "already finished", id: done.ID, outcome: ReprocessFailed, wantPending: true},
			{name: "pending is no outcome", id: pending.ID, outcome: ReprocessPending},
			{name: "unknown outcome", id: pending.ID, outcome: "done"},
		}
		for _, tc := range tests {
			err := h.store.FinishReprocess(t.Context(), tc.id, tc.outcome, "", "")
			if err == nil {
				t.Errorf("%s: FinishReprocess(%q, %q) succeeded, want an error", tc.name, tc.id, tc.outcome)
				continue
			}
			if got := errors.Is(err, ErrNoPendingReprocess); got != tc.wantPending {
				t.Errorf("%s: errors.Is(%v, ErrNoPendingReprocess) = %v, want %v", tc.name, err, got, tc.wantPending)
			}
		}
		// The rejected calls changed nothing: the pending claim still holds and can finish.
		mustClaimReprocess(t, h.store, "s-pending", "U2", time.Hour, false)
		if err := h.store.FinishReprocess(t.Context(), pending.ID, ReprocessRequested, "req-2", ""); err != nil {
			t.Errorf("FinishReprocess(pending) after rejected calls: %v", err)
		}
	})
}

func TestStoreInvalidClaims(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		ctx := t.Context()
		checks := []struct {
			name string
			call func() error
		}{
			{"delivery with empty id", func() error { _, err := h.store.ClaimDelivery(ctx, "slack", "", time.Minute); return err }},
			{"delivery with empty platform", func() error { _, err := h.store.ClaimDelivery(ctx, "", "Ev1", time.Minute); return err }},
			{"delivery with zero ttl", func() error { _, err := h.store.ClaimDelivery(ctx, "slack", "Ev1", 0); return err }},
			{"reprocess with empty session", func() error {
				_, _, err := h.store.ClaimReprocess(ctx, testReprocessRequest("", "U1"), time.Minute)
				return err
			}},
			{"reprocess with negative cooldown", func() error {
				_, _, err := h.store.ClaimReprocess(ctx, testReprocessRequest("s-1", "U1"), -time.Minute)
				return err
			}},
		}
		for _, c := range checks {
			if err := c.call(); err == nil {
				t.Errorf("%s: no error", c.name)
			}
		}
	})
}

func TestStoreTraceHistory(t *testing.T) {
	at := func(hoursAgo int) time.Time { return storeTestEpoch.Add(-time.Duration(hoursAgo) * time.Hour) }
	trace := func(id, user string, created time.Time) TraceRecord {
		return TraceRecord{
			TraceID: id, Platform: "slack", Channel: "C0TRACE", User: user,
			Input: "/trace (914) 265-**** 5/20 1:15pm", Phone: "+1914***4371", SessionID: "s-" + id,
			Outcome: "traced", FailedStep: "generations", Error: "gen-1: 503", CallsMS: 12, LogsMS: 2100,
			GenerationsMS: 340, TotalMS: 2460, CreatedAt: created,
		}
	}
	t1, t2, t3, t4 := trace("t1", "alice", at(3)), trace("t2", "bob", at(2)), trace("t3", "alice", at(1)), trace("t4", "alice", at(0))
	tests := []struct {
		name string
		q    HistoryQuery
		want []TraceRecord
	}{
		{name: "all, newest first", q: HistoryQuery{}, want: []TraceRecord{t4, t3, t2, t1}},
		{name: "one user", q: HistoryQuery{User: "alice"}, want: []TraceRecord{t4, t3, t1}},
		{name: "since, inclusive", q: HistoryQuery{Since: at(2)}, want: []TraceRecord{t4, t3, t2}},
		{name: "user, since and limit", q: HistoryQuery{User: "alice", Since: at(2), Limit: 1}, want: []TraceRecord{t4}},
		{name: "nobody matches", q: HistoryQuery{User: "carol"}},
	}
	forEachStore(t, func(t *testing.T, h storeHarness) {
		for _, rec := range []TraceRecord{t1, t2, t4, t3} { // t3 after t4: order comes from the times
			if err := h.store.RecordTrace(t.Context(), rec); err != nil {
				t.Fatalf("RecordTrace(%s): %v", rec.TraceID, err)
			}
		}
		for _, tc := range tests {
			got, err := h.store.History(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("%s: History: %v", tc.name, err)
			}
			if diff := cmp.Diff(tc.want, got.Traces, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: traces (-want +got):\n%s", tc.name, diff)
			}
		}
	})
}

func TestStoreRecordTraceDefaultsCreatedAt(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		if err := h.store.RecordTrace(t.Context(), TraceRecord{TraceID: "t-now", User: "alice", Outcome: "not_found"}); err != nil {
			t.Fatalf("RecordTrace: %v", err)
		}
		got, err := h.store.History(t.Context(), HistoryQuery{User: "alice"})
		if err != nil {
			t.Fatalf("History: %v", err)
		}
		if len(got.Traces) != 1 || got.Traces[0].CreatedAt.IsZero() {
			t.Errorf("History traces = %+v, want one with CreatedAt set by the store", got.Traces)
		}
	})
}

func TestStoreReprocessHistory(t *testing.T) {
	ids := func(recs []ReprocessRecord) []string {
		var out []string
		for _, r := range recs {
			out = append(out, r.RequestedBy+":"+r.SessionID)
		}
		return out
	}
	forEachStore(t, func(t *testing.T, h storeHarness) {
		old := mustClaimReprocess(t, h.store, "s-1", "alice", time.Minute, true)
		if err := h.store.FinishReprocess(t.Context(), old.ID, ReprocessRequested, "req-1", ""); err != nil {
			t.Fatalf("FinishReprocess: %v", err)
		}
		h.advance(t, time.Hour)
		bob := mustClaimReprocess(t, h.store, "s-2", "bob", time.Minute, true)
		mustClaimReprocess(t, h.store, "s-3", "alice", time.Minute, true)
		tests := []struct {
			name string
			q    HistoryQuery
			want []string
		}{
			{name: "all, newest first", want: []string{"alice:s-3", "bob:s-2", "alice:s-1"}},
			{name: "one user", q: HistoryQuery{User: "alice"}, want: []string{"alice:s-3", "alice:s-1"}},
			{name: "since", q: HistoryQuery{Since: bob.RequestedAt.Add(-30 * time.Minute)}, want: []string{"alice:s-3", "bob:s-2"}},
			{name: "limit", q: HistoryQuery{Limit: 1}, want: []string{"alice:s-3"}},
		}
		for _, tc := range tests {
			got, err := h.store.History(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("%s: History: %v", tc.name, err)
			}
			if diff := cmp.Diff(tc.want, ids(got.Reprocesses)); diff != "" {
				t.Errorf("%s: reprocesses (-want +got):\n%s", tc.name, diff)
			}
		}
		got, err := h.store.History(t.Context(), HistoryQuery{User: "alice"})
		if err != nil {
			t.Fatalf("History: %v", err)
		}
		if last := got.Reprocesses[len(got.Reprocesses)-1]; last.Outcome != ReprocessRequested || last.AWSRequestID != "req-1" {
			t.Errorf("finished record in history = %+v, want outcome requested with req-1", last)
		}
	})
}

func TestStorePing(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		if err := h.store.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}

func TestMemoryStoreSweepsExpiredDeliveries(t *testing.T) {
	clock := &storeTestClock{now: storeTestEpoch}
	s := NewMemory(clock.Now)
	for i := range 100 {
		if _, err := s.ClaimDelivery(t.Context(), "slack", fmt.Sprintf("Ev%d", i), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.ClaimReprocess(t.Context(), testReprocessRequest("s-1", "U1"), time.Second); err != nil {
		t.Fatal(err)
	}
	clock.Advance(sweepInterval)
	if _, err := s.ClaimDelivery(t.Context(), "slack", "Ev-late", time.Second); err != nil {
		t.Fatal(err)
	}
	if len(s.deliveries) != 1 || len(s.cooldowns) != 0 {
		t.Errorf("after a sweep: %d deliveries and %d cooldowns kept, want 1 and 0", len(s.deliveries), len(s.cooldowns))
	}
}

func TestMemoryStoreBoundsHistory(t *testing.T) {
	s := NewMemory(nil)
	for i := range historyLimit + 5 {
		if err := s.RecordTrace(t.Context(), TraceRecord{TraceID: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ClaimReprocess(t.Context(), testReprocessRequest("s-"+strconv.Itoa(i), "U1"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.traces) != historyLimit || len(s.reprocIDs) != historyLimit || len(s.reprocs) != historyLimit {
		t.Errorf("kept %d traces, %d/%d reprocesses; want %d each", len(s.traces), len(s.reprocIDs), len(s.reprocs), historyLimit)
	}
	h, err := s.History(t.Context(), HistoryQuery{Limit: MaxHistoryLimit + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Traces) != MaxHistoryLimit || h.Traces[0].TraceID != strconv.Itoa(historyLimit+4) {
		t.Errorf("History returned %d traces starting at %q, want %d starting with the newest", len(h.Traces), h.Traces[0].TraceID, MaxHistoryLimit)
	}
}

func TestPostgresStoreTwoReplicasRaceForReprocess(t *testing.T) {
	t.Parallel()
	dsn := sharedPG.NewDatabase(t)
	replicas := []*Postgres{openTestPostgresStore(t, dsn), openTestPostgresStore(t, dsn)}
	results := race(20, func(i int) (reprocessClaim, error) {
		rec, ok, err := replicas[i%2].ClaimReprocess(context.Background(),
			testReprocessRequest("s-replicas", "U"+strconv.Itoa(i)), 10*time.Minute)
		return reprocessClaim{rec, ok}, err
	})
	checkClaimRace(t, results)
	var stored int
	if err := replicas[0].pool.QueryRow(t.Context(),
		"SELECT count(*) FROM tracebot_reprocesses WHERE session_id = 's-replicas'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 1 {
		t.Errorf("%d reprocess records stored, want 1 (losers' inserts rolled back)", stored)
	}
	deliveries := race(20, func(i int) (bool, error) {
		return replicas[i%2].ClaimDelivery(context.Background(), "lark", "ev-both", time.Minute)
	})
	if got := countWins(t, deliveries); got != 1 {
		t.Errorf("%d of 20 delivery claims across two replicas won, want 1", got)
	}
}

func TestPostgresStoreMigrations(t *testing.T) {
	t.Parallel()
	migrations, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		open func(t *testing.T, dsn string)
	}{
		{"twice in a row", func(t *testing.T, dsn string) {
			openTestPostgresStore(t, dsn).Close()
			openTestPostgresStore(t, dsn)
		}},
		{"concurrently on a fresh database", func(t *testing.T, dsn string) {
			for i, r := range race(4, func(int) (*Postgres, error) { return OpenPostgres(context.Background(), dsn) }) {
				if r.err != nil {
					t.Fatalf("opener %d: %v", i, r.err)
				}
				r.value.Close()
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn := sharedPG.NewDatabase(t)
			tc.open(t, dsn)
			if got := appliedMigrationCount(t, dsn); got != len(migrations) {
				t.Errorf("%d migrations recorded, want %d", got, len(migrations))
			}
			s := openTestPostgresStore(t, dsn)
			if _, err := s.ClaimDelivery(t.Context(), "slack", "Ev1", time.Minute); err != nil {
				t.Errorf("ClaimDelivery on the migrated schema: %v", err)
			}
		})
	}
}

func appliedMigrationCount(t *testing.T, dsn string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM tracebot_schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPostgresStorePurgesExpiredRows(t *testing.T) {
	t.Parallel()
	s := openTestPostgresStore(t, sharedPG.NewDatabase(t))
	s.purgeEvery = 1
	ctx := t.Context()
	for _, id := range []string{"Ev1", "Ev2", "Ev3"} {
		if _, err := s.ClaimDelivery(ctx, "slack", id, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	mustClaimReprocess(t, s, "s-purge", "U1", time.Minute, true)
	shiftStoreClock(t, s, time.Minute)
	if _, err := s.ClaimDelivery(ctx, "slack", "Ev-late", time.Minute); err != nil {
		t.Fatal(err)
	}
	var deliveries, cooldowns int
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM tracebot_deliveries),
		(SELECT count(*) FROM tracebot_reprocess_cooldowns)`).Scan(&deliveries, &cooldowns)
	if err != nil {
		t.Fatal(err)
	}
	if deliveries != 1 || cooldowns != 0 {
		t.Errorf("after a purge: %d deliveries and %d cooldowns kept, want 1 and 0", deliveries, cooldowns)
	}
}

// storeCanaryPassword must never appear in any error.
const storeCanaryPassword = "CanaryPw-9f3b1c7e-do-not-leak"

func closedLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestPostgresStoreErrorsLeakNoSecret(t *testing.T) {
	t.Parallel()
	srv := sharedPG.Server(t)
	closed := closedLoopbackPort(t)
	tests := []struct {
		name        string
		dsn         string
		wantPGError string // SQLSTATE the error must still unwrap to, if any
	}{
		{name: "malformed URL", dsn: "postgres://tracebot:" + storeCanaryPassword + "@127.0.0.1:notaport/state"},
		{name: "bad option", dsn: "postgres://tracebot:" + storeCanaryPassword + "@127.0.0.1:5432/state?sslmode=sometimes"},
		{name: "malformed key=value", dsn: "host=127.0.0.1 password='" + storeCanaryPassword + " dbname=state"},
		{name: "unreachable URL", dsn: fmt.Sprintf("postgres://tracebot:%s@127.0.0.1:%d/state?sslmode=disable&connect_timeout=5", storeCanaryPassword, closed)},
		{name: "unreachable key=value", dsn: fmt.Sprintf("host=127.0.0.1 port=%d user=tracebot password=%s dbname=state sslmode=disable connect_timeout=5", closed, storeCanaryPassword)},
		{name: "unknown database", dsn: fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/no_such_db?sslmode=disable", storeCanaryPassword, srv.Port()), wantPGError: "3D000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := OpenPostgres(t.Context(), tc.dsn)
			if err == nil {
				s.Close()
				t.Fatal("OpenPostgres succeeded, want an error")
			}
			checkNoSecret(t, err, tc.dsn)
			checkPGCause(t, err, tc.wantPGError)
		})
	}
}

// TestPostgresStoreQueryErrorsLeakNoSecret opens a store whose DSN carries the
// canary (the test server trusts any password), then drops its database so every
// later call fails while reconnecting.
func TestPostgresStoreQueryErrorsLeakNoSecret(t *testing.T) {
	t.Parallel()
	srv := sharedPG.Server(t)
	plain := srv.NewDatabase(t)
	dsn := strings.Replace(plain, "postgres@", "postgres:"+storeCanaryPassword+"@", 1)
	s := openTestPostgresStore(t, dsn)
	db := plain[strings.LastIndex(plain, "/")+1 : strings.Index(plain, "?")]
	admin, err := pgx.Connect(t.Context(), srv.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(t.Context(), "DROP DATABASE "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	calls := map[string]func() error{
		"Ping":          func() error { return s.Ping(ctx) },
		"ClaimDelivery": func() error { _, err := s.ClaimDelivery(ctx, "slack", "Ev1", time.Minute); return err },
		"ClaimReprocess": func() error {
			_, _, err := s.ClaimReprocess(ctx, testReprocessRequest("s-1", "U1"), time.Minute)
			return err
		},
		"FinishReprocess": func() error { return s.FinishReprocess(ctx, "1", ReprocessRequested, "", "") },
		"RecordTrace":     func() error { return s.RecordTrace(ctx, TraceRecord{TraceID: "t1"}) },
		"History":         func() error { _, err := s.History(ctx, HistoryQuery{}); return err },
	}
	for name, call := range calls {
		err := call()
		if err == nil {
			t.Errorf("%s on a dropped database succeeded, want an error", name)
			continue
		}
		checkNoSecret(t, err, dsn)
		if !strings.Contains(err.Error(), "state store") {
			t.Errorf("%s: error %q does not name the component", name, err)
		}
	}
}

// checkNoSecret fails when err, printed any way or unwrapped to a pgx type holding
// the configuration, could reveal the password or the connection string.
func checkNoSecret(t *testing.T, err error, dsn string) {
	t.Helper()
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%q", err)} {
		if strings.Contains(text, storeCanaryPassword) || strings.Contains(text, dsn) {
			t.Errorf("error text leaks the connection string or password: %s", text)
		}
	}
	var connectErr *pgconn.ConnectError
	var parseErr *pgconn.ParseConfigError
	if errors.As(err, &connectErr) || errors.As(err, &parseErr) {
		t.Errorf("error %q unwraps to a pgx error holding the configuration", err)
	}
	if !strings.HasPrefix(err.Error(), "state store: ") {
		t.Errorf("error %q does not start with the component", err)
	}
}

func checkPGCause(t *testing.T, err error, wantCode string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if got := errors.As(err, &pgErr); got != (wantCode != "") {
		t.Fatalf("errors.As(%q, *pgconn.PgError) = %v, want %v", err, got, wantCode != "")
	}
	if wantCode != "" && pgErr.Code != wantCode {
		t.Errorf("PgError code = %s, want %s", pgErr.Code, wantCode)
	}
}

// TestSanitizePGError covers what a driver might one day put in an error: the
// connection string or its password in any of their forms.
func TestSanitizePGError(t *testing.T) {
	const dsn = "postgres://tracebot:Canary%2Fpw-9f3b1c7e@db.internal:5432/state?sslmode=require"
	scrub := secrets.NewScrubber()
	scrub.Add(dsn, "Canary/pw-9f3b1c7e")
	serverErr := &pgconn.PgError{Severity: "ERROR", Code: "42P01", Message: "relation does not exist"}
	tests := []struct {
		name      string
		err       error
		want      string
		wantCause error
	}{
		{name: "whole connection string", err: fmt.Errorf("dial %s: refused", dsn), want: "dial [redacted]: refused"},
		{name: "decoded password", err: errors.New("auth as tracebot/Canary/pw-9f3b1c7e failed"), want: "auth as tracebot/[redacted] failed"},
		{name: "quoted connection string", err: fmt.Errorf("parse %q: bad", dsn), want: `parse "[redacted]": bad`},
		{name: "parse error without reason", err: &pgconn.ParseConfigError{ConnString: dsn}, want: "invalid connection string"},
		{name: "server error kept", err: fmt.Errorf("query: %w", serverErr), want: "query: ERROR: relation does not exist (SQLSTATE 42P01)", wantCause: serverErr},
		{name: "deadline kept", err: fmt.Errorf("dial: %w", context.DeadlineExceeded), want: "dial: context deadline exceeded", wantCause: context.DeadlineExceeded},
		{name: "cancel kept", err: fmt.Errorf("dial: %w", context.Canceled), want: "dial: context canceled", wantCause: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sanitizePGError(scrub, tc.err)
			if got.Error() != tc.want {
				t.Errorf("text = %q, want %q", got.Error(), tc.want)
			}
			if cause := errors.Unwrap(got); cause != tc.wantCause {
				t.Errorf("unwraps to %#v, want %#v", cause, tc.wantCause)
			}
		})
	}
	if sanitizePGError(scrub, nil) != nil {
		t.Error("sanitizePGError(nil) is not nil")
	}
}
