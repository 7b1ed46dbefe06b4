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
}

// cwRegionRun is one region's part of one attempt: start the query, poll it, and
// stop it when the search no longer needs it.
type cwRegionRun struct {
	s        *cwSearch
	region   string
	from, to time.Time
	answered func() // this region found rows: start the others' grace

	groups  []string // expanded patterns
	status  RegionStatus
	started time.Time
}

func (r *cwRegionRun) run(ctx context.Context) cwRegionOutcome {
	c := r.s.c
	r.started = time.Now()
	r.groups = c.LogGroups(r.region, r.s.env)
	r.status = RegionStatus{Region: r.region}
	r.setGroups(c.groups.candidates(r.region, r.groups))
	api := c.clients[r.region]
	if api == nil {
		return r.fail(ctx, fmt.Errorf("cloudwatch %s: no CloudWatch Logs client for this region", r.region))
	}
	if len(r.status.LogGroups) == 0 {
		return r.finish(RegionNoGroup, nil)
	}
	r.set(RegionQueued)
	ans, err := c.runQuery(ctx, cwQuery{
		region: r.region, api: api, groups: r.status.LogGroups, text: r.s.query, from: r.from, to: r.to,
		onStart: func(id string, groups []string) {
			r.setGroups(groups)
			r.status.QueryID = id
			r.set(RegionRunning)
		},
	})
	r.setGroups(ans.groups)
	switch {
	case errors.Is(err, cwErrNoGroup):
		return r.finish(RegionNoGroup, nil)
	case err != nil:
		return r.fail(ctx, err)
	}
	rows := cwParseRows(r.region, ans.results, c.log)
	if len(rows) == 0 {
		return r.finish(RegionEmpty, nil)
	}
	r.answered()
	return r.finish(RegionRows, rows)
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
