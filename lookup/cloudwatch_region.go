package lookup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// cwRegionOutcome is what one region's query produced.
type cwRegionOutcome struct {
	status RegionStatus
	rows   []UsageRow
	by     *cwMember // whose query found rows: the batch's, or the search's own after a retry; nil without rows
}

// cwRegionRun is one region's part of one attempt: wait for the region's query
// (shared with other searches by the batcher) and leave it when the search no
// longer needs it.
type cwRegionRun struct {
	s        *cwSearch
	region   string
	from, to time.Time
	answered func() // this region found rows: start the others' grace

	groups  []string // expanded patterns
	status  RegionStatus
	started time.Time
}

// prepare reads which groups the region has. done is true when the region
// cannot be queried (no client, no group) and out is its end.
func (r *cwRegionRun) prepare(ctx context.Context) (out cwRegionOutcome, done bool) {
	c := r.s.c
	r.started = time.Now()
	r.groups = c.LogGroups(r.region, r.s.env)
	r.status = RegionStatus{Region: r.region}
	r.setGroups(c.groups.candidates(r.region, r.groups))
	if c.clients[r.region] == nil {
		return r.fail(ctx, fmt.Errorf("cloudwatch %s: no CloudWatch Logs client for this region", r.region)), true
	}
	if len(r.status.LogGroups) == 0 {
		return r.finish(RegionNoGroup, nil), true
	}
	return cwRegionOutcome{}, false
}

// await follows the region's query from seat until it ends or ctx does. A
// member whose shared query was truncated before its rows were complete asks
// again with a query of its own.
func (r *cwRegionRun) await(ctx context.Context, seat *cwSeat) cwRegionOutcome {
	bt := r.s.c.batcher
	for {
		var ev cwSeatEvent
		select {
		case ev = <-seat.events:
		case <-ctx.Done():
			bt.leave(seat)
			return r.fail(ctx, fmt.Errorf("cloudwatch %s: wait for the query: %w", r.region, context.Cause(ctx)))
		}
		r.setGroups(ev.groups)
		switch {
		case ev.started:
			r.status.QueryID = ev.id
			r.set(RegionRunning)
			continue
		case errors.Is(ev.err, cwErrNoGroup):
			return r.finish(RegionNoGroup, nil)
		case ev.err != nil:
			return r.fail(ctx, ev.err)
		case ev.retry:
			seat = bt.join(r.s.env, r.s.q.SessionID, r.from, r.to, []string{r.region}, true).seats[r.region]
			continue
		case len(ev.rows) == 0:
			return r.finish(RegionEmpty, nil)
		}
		r.answered()
		o := r.finish(RegionRows, ev.rows)
		o.by = seat.m
		return o
	}
}

// setGroups records which configured groups are queried and which are missing.
func (r *cwRegionRun) setGroups(groups []string) {
	r.status.LogGroups = groups
	r.status.MissingGroups = nil
	for _, g := range r.groups {
		if !slices.Contains(groups, g) {
			r.status.MissingGroups = append(r.status.MissingGroups, g)
		}
	}
}

// fail ends the region after err: "stopped" when the search stopped it after the
// grace, "failed" with a one-line cause otherwise.
func (r *cwRegionRun) fail(ctx context.Context, err error) cwRegionOutcome {
	if errors.Is(context.Cause(ctx), cwErrGraceOver) {
		return r.finish(RegionStopped, nil)
	}
	r.s.setCause(r.region, err)
	r.status.Error = cwErrorLine(r.region, err)
	r.s.c.log.Warn("cloudwatch: region failed", "region", r.region, "session", r.s.q.SessionID, "err", err)
	return r.finish(RegionFailed, nil)
}

func (r *cwRegionRun) finish(state string, rows []UsageRow) cwRegionOutcome {
	r.status.Rows = len(rows)
	r.set(state)
	return cwRegionOutcome{status: r.status, rows: rows}
}

// set moves the region to state and reports it.
func (r *cwRegionRun) set(state string) {
	r.status.State = state
	r.status.ElapsedMS = time.Since(r.started).Milliseconds()
	r.s.report(r.status)
}
