package lookup

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// Defaults of the step-3 batcher.
const (
	DefaultBatchWindow   = 50 * time.Millisecond
	DefaultBatchSessions = 50
)

// cwBatcher lets concurrent step-3 searches share Insights queries. A search's
// attempt (one session, one time range, the regions it needs) becomes a member of
// a batch; a batch sends one query per region, `filter telephonySessionId in
// [...]` over the union of its members' ranges, and splits the rows back per
// member. A batch takes members while it waits:
//
//   - for BatchWindow, but only when another batch of the same env is waiting or
//     closed less than BatchWindow ago and still runs: a lone search starts at once;
//   - then for query slots of the process-wide cap, one per region it queries
//     (at most the cap), taken together: while too few slots are free, new
//     searches join the waiting batch instead of queueing queries of their own.
//
// A member joins a batch only if the batch then holds at most BatchSessions
// sessions, its query text stays within Insights' 10,000 characters, and the
// union of the ranges spans at most twice the shortest member's range: ranges
// that far apart are not merged, so a distant session never widens the range
// the others scan beyond what it saves them.
type cwBatcher struct {
	c *CloudWatch

	mu   sync.Mutex
	open map[string][]*cwBatch // env → batches taking members, oldest first
	last map[string]*cwBatch   // env → the batch that closed last
}

// cwBatch is one shared query: members while open, then one query per region.
type cwBatch struct {
	bt   *cwBatcher
	env  string
	solo bool // takes no other member

	// Guarded by bt.mu.
	members  []*cwMember
	regions  map[string]*cwBatchRegion
	ids      []string // distinct session ids, in joining order
	from, to time.Time
	shortest time.Duration // the shortest member range
	closed   bool
	closedAt time.Time
	pending  int // regions whose query has not ended
	full     bool

	fill   chan struct{}           // closed when the batch is full: stop waiting for members
	ctx    context.Context         // while the batch gathers members and slots
	cancel context.CancelCauseFunc // every member left before the batch closed, or run is over

	// Set when the batch closes.
	text  string
	limit int
}

// cwBatchRegion is a batch's query in one region.
type cwBatchRegion struct {
	seats  []*cwSeat // the members waiting for this region's rows
	ctx    context.Context
	cancel context.CancelCauseFunc // no seat waits any more
	done   chan struct{}           // closed when the query has ended, been stopped and its slot freed
}

// cwMember is one attempt of one search: a session over its own range.
type cwMember struct {
	b        *cwBatch // guarded by bt.mu
	session  string
	from, to time.Time
	seats    map[string]*cwSeat // region → seat; fixed at join
}

// cwSeat is a member's place in one region's query. Its events arrive in order:
// at most one start, then one end.
type cwSeat struct {
	m      *cwMember
	region string
	events chan cwSeatEvent
	left   bool // guarded by bt.mu
}

// cwSeatEvent is a query's start (started) or its end for one member: that
// member's rows, or the query's error.
type cwSeatEvent struct {
	started bool
	id      string
	groups  []string
	rows    []UsageRow
	err     error
	// retry: the query hit its row limit before this member's rows were complete;
	// the member asks again on its own.
	retry bool
}

// cwErrUnneeded stops a region's query once no member waits for it.
var cwErrUnneeded = errors.New("no search waits for this query any more")

func newCWBatcher(c *CloudWatch) *cwBatcher {
	return &cwBatcher{c: c, open: map[string][]*cwBatch{}, last: map[string]*cwBatch{}}
}

// join adds a member for session over [from, to] in regions to a batch of env:
// a waiting batch it fits in, else a new one. solo asks for a batch of its own,
// started at once.
func (bt *cwBatcher) join(env, session string, from, to time.Time, regions []string, solo bool) *cwMember {
	m := &cwMember{session: session, from: from, to: to, seats: make(map[string]*cwSeat, len(regions))}
	for _, r := range regions {
		m.seats[r] = &cwSeat{m: m, region: r, events: make(chan cwSeatEvent, 2)}
	}
	solo = solo || bt.c.cfg.BatchSessions <= 1
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if !solo {
		for _, b := range bt.open[env] {
			if b.fits(m) {
				b.add(m)
				return m
			}
		}
	}
	b := &cwBatch{bt: bt, env: env, solo: solo, regions: map[string]*cwBatchRegion{}, fill: make(chan struct{})}
	b.ctx, b.cancel = context.WithCancelCause(context.Background())
	linger := bt.linger(env, solo)
	bt.open[env] = append(bt.open[env], b)
	b.add(m)
	go b.run(linger)
	return m
}

// linger is how long a new batch of env waits for members: BatchWindow while
// another batch of env is waiting, or closed within the window and still
// running (a burst is under way); nothing otherwise.
func (bt *cwBatcher) linger(env string, solo bool) time.Duration {
	w := bt.c.cfg.BatchWindow
	if solo {
		return 0
	}
	if len(bt.open[env]) > 0 {
		return w
	}
	if last := bt.last[env]; last != nil && last.pending > 0 && time.Since(last.closedAt) < w {
		return w
	}
	return 0
}

// fits reports whether m may join b: see cwBatcher.
func (b *cwBatch) fits(m *cwMember) bool {
	if b.solo || b.closed || b.full || len(b.members) == 0 {
		return false
	}
	from, to := b.from, b.to
	if m.from.Before(from) {
		from = m.from
	}
	if m.to.After(to) {
		to = m.to
	}
	if to.Sub(from) > 2*min(b.shortest, m.to.Sub(m.from)) {
		return false
	}
	if slices.Contains(b.ids, m.session) {
		return true
	}
	return len(b.ids) < b.bt.c.cfg.BatchSessions && len(UsageBatchQueryText(append(slices.Clone(b.ids), m.session))) <= cwMaxQueryLen
}

// add makes m a member; the caller holds bt.mu.
func (b *cwBatch) add(m *cwMember) {
	m.b = b
	if len(b.members) == 0 || m.from.Before(b.from) {
		b.from = m.from
	}
	if len(b.members) == 0 || m.to.After(b.to) {
		b.to = m.to
	}
	if span := m.to.Sub(m.from); len(b.members) == 0 || span < b.shortest {
		b.shortest = span
	}
	b.members = append(b.members, m)
	if !slices.Contains(b.ids, m.session) {
		b.ids = append(b.ids, m.session)
	}
	for r, s := range m.seats {
		br := b.regions[r]
		if br == nil {
			br = &cwBatchRegion{}
			b.regions[r] = br
		}
		br.seats = append(br.seats, s)
	}
	if !b.full && (len(b.ids) >= b.bt.c.cfg.BatchSessions || b.solo) {
		b.full = true
		close(b.fill)
	}
}

// run waits for members, then for the query slots of its regions, closes the
// batch and runs its regions' queries.
func (b *cwBatch) run(linger time.Duration) {
	c := b.bt.c
	defer b.cancel(nil) // gathering is over either way
	if linger > 0 {
		t := time.NewTimer(linger)
		select {
		case <-t.C:
		case <-b.fill:
		case <-b.ctx.Done():
		}
		t.Stop()
	}
	held := min(b.bt.regionsWaiting(b), c.cfg.MaxQueries)
	if c.acquireN(b.ctx, held) != nil {
		held = 0 // every member left
	}
	order := b.bt.close(b)
	for i, region := range order {
		go b.runRegion(region, i < held)
	}
	for range held - min(held, len(order)) {
		c.release()
	}
}

// regionsWaiting is how many regions of b have members waiting.
func (bt *cwBatcher) regionsWaiting(b *cwBatch) int {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	n := 0
	for _, br := range b.regions {
		if len(br.seats) > 0 {
			n++
		}
	}
	return max(n, 1)
}

// close fixes b's members and returns the regions to query in configured order;
// none when every member left.
func (bt *cwBatcher) close(b *cwBatch) []string {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	bt.open[b.env] = slices.DeleteFunc(bt.open[b.env], func(o *cwBatch) bool { return o == b })
	b.closed, b.closedAt = true, time.Now()
	if len(b.members) == 0 {
		return nil
	}
	bt.last[b.env] = b
	b.text, b.limit = UsageBatchQueryText(b.ids), cwBatchLimit(len(b.ids))
	var order []string
	for _, region := range bt.c.cfg.Regions {
		br := b.regions[region]
		if br == nil || len(br.seats) == 0 {
			continue
		}
		br.ctx, br.cancel = context.WithCancelCause(context.Background())
		br.done = make(chan struct{})
		order = append(order, region)
	}
	b.pending = len(order)
	return order
}

// runRegion runs the batch's query in region (on a slot the batch already holds
// when held) and hands every waiting member its rows.
func (b *cwBatch) runRegion(region string, held bool) {
	c := b.bt.c
	br := b.regions[region]
	defer close(br.done)
	defer br.cancel(nil)
	q := cwQuery{region: region, api: c.clients[region], text: b.text, from: b.from, to: b.to,
		groups:  c.groups.candidates(region, c.LogGroups(region, b.env)),
		onStart: func(id string, groups []string) { b.started(br, id, groups) },
	}
	ans, err := c.runBatchQuery(br.ctx, q, held)
	b.regionEnded()
	b.deliver(region, br, ans, err)
}

// runBatchQuery runs a batch's query in one region: on the slot the batch took
// for it when held (released here, whatever happens, before the members hear of
// the end), else on a slot of its own.
func (c *CloudWatch) runBatchQuery(ctx context.Context, q cwQuery, held bool) (cwAnswer, error) {
	if held {
		defer c.release()
	}
	switch {
	case q.api == nil || len(q.groups) == 0:
		return cwAnswer{}, cwErrNoGroup // the members saw groups; the memory changed since
	case held:
		return c.runAcquired(ctx, q)
	}
	return c.runQuery(ctx, q)
}

// regionEnded counts a region's query as over, before its members hear of it:
// a search that starts once they have must not see this batch still running.
func (b *cwBatch) regionEnded() {
	b.bt.mu.Lock()
	defer b.bt.mu.Unlock()
	b.pending--
}

// started tells the waiting members the query runs, and the observer how many
// searches it serves.
func (b *cwBatch) started(br *cwBatchRegion, id string, groups []string) {
	b.bt.mu.Lock()
	seats := slices.Clone(br.seats)
	b.bt.mu.Unlock()
	for _, s := range seats {
		s.events <- cwSeatEvent{started: true, id: id, groups: groups}
	}
	if obs := b.bt.c.observer.Load(); obs != nil {
		(*obs)(len(seats))
	}
}

// deliver ends the query for every member still waiting.
func (b *cwBatch) deliver(region string, br *cwBatchRegion, ans cwAnswer, err error) {
	var rows map[string][]UsageRow
	var cut time.Time
	truncated := false
	if err == nil {
		rows, cut = b.split(region, ans.results)
		truncated = len(b.ids) > 1 && len(ans.results) >= b.limit
	}
	b.bt.mu.Lock()
	seats := slices.Clone(br.seats)
	b.bt.mu.Unlock()
	for _, s := range seats {
		ev := cwSeatEvent{groups: ans.groups, err: err}
		if err == nil {
			ev.rows, ev.retry = s.m.own(rows[s.m.session], truncated, cut)
		}
		s.events <- ev
	}
}

// split parses the query's rows by session; cut is the newest row's time.
func (b *cwBatch) split(region string, results [][]types.ResultField) (map[string][]UsageRow, time.Time) {
	out := map[string][]UsageRow{}
	var cut time.Time
	for _, fields := range results {
		session := b.ids[0] // the one-session query does not return the id
		for _, f := range fields {
			if aws.ToString(f.Field) == "telephonySessionId" {
				session = aws.ToString(f.Value)
			}
		}
		row, bad := cwParseRow(region, fields)
		if len(bad) > 0 {
			b.bt.c.log.Warn("cloudwatch: unreadable ai_usage fields", "region", region, "fields", bad)
		}
		out[session] = append(out[session], row)
		if row.Timestamp.After(cut) {
			cut = row.Timestamp
		}
	}
	return out, cut
}

// own is what the member's own one-session query would have returned from rows:
// those inside its range, oldest first, at most 100. When the shared query was
// truncated at cut, rows newer than cut are missing: unless the member has its
// 100 or its range ended before cut, retry is true.
func (m *cwMember) own(rows []UsageRow, truncated bool, cut time.Time) (out []UsageRow, retry bool) {
	for _, r := range rows {
		if ts := r.Timestamp.Truncate(time.Second); !ts.Before(m.from) && !ts.After(m.to) {
			out = append(out, r)
		}
	}
	cwSortRows(out)
	if len(out) >= cwRowsPerSession {
		return out[:cwRowsPerSession], false
	}
	if truncated && cut.Before(m.to.Add(time.Second)) {
		return nil, true
	}
	return out, false
}

// leave takes s out of its query: before the batch closed, the member stops
// counting once it has no seat left; after, the region's query is stopped when s
// was the last seat, and leave returns once it has been (bounded by twice
// StopTimeout: a StartQuery on its way, then StopQuery).
func (bt *cwBatcher) leave(s *cwSeat) {
	bt.mu.Lock()
	if s.left {
		bt.mu.Unlock()
		return
	}
	s.left = true
	m := s.m
	b := m.b
	br := b.regions[s.region]
	br.seats = slices.DeleteFunc(br.seats, func(o *cwSeat) bool { return o == s })
	var wait chan struct{}
	switch {
	case !b.closed && !m.waiting():
		b.drop(m)
	case b.closed && len(br.seats) == 0 && br.cancel != nil:
		br.cancel(cwErrUnneeded)
		wait = br.done
	}
	bt.mu.Unlock()
	if wait != nil {
		t := time.NewTimer(2*bt.c.cfg.StopTimeout + time.Second)
		defer t.Stop()
		select {
		case <-wait:
		case <-t.C:
		}
	}
}

// waiting reports whether any of m's seats still waits; the caller holds bt.mu.
func (m *cwMember) waiting() bool {
	for _, s := range m.seats {
		if !s.left {
			return true
		}
	}
	return false
}

// drop removes m from the open batch b and recomputes what the others need;
// the caller holds bt.mu.
func (b *cwBatch) drop(m *cwMember) {
	b.members = slices.DeleteFunc(b.members, func(o *cwMember) bool { return o == m })
	if len(b.members) == 0 {
		b.cancel(cwErrUnneeded)
		return
	}
	b.ids = b.ids[:0]
	for i, o := range b.members {
		if i == 0 || o.from.Before(b.from) {
			b.from = o.from
		}
		if i == 0 || o.to.After(b.to) {
			b.to = o.to
		}
		if span := o.to.Sub(o.from); i == 0 || span < b.shortest {
			b.shortest = span
		}
		if !slices.Contains(b.ids, o.session) {
			b.ids = append(b.ids, o.session)
		}
	}
}

// query is the query text and range m's batch ran, once it closed.
func (m *cwMember) query() (text string, from, to time.Time, ok bool) {
	bt := m.b.bt
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if !m.b.closed || m.b.text == "" {
		return "", time.Time{}, time.Time{}, false
	}
	return m.b.text, m.b.from, m.b.to, true
}
