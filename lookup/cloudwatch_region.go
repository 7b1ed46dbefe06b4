package lookup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// cwErrNoGroup ends a region none of whose log groups exists.
var cwErrNoGroup = errors.New("none of the log groups exists")

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

	api     LogsAPI
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
	if r.api = c.clients[r.region]; r.api == nil {
		return r.fail(ctx, fmt.Errorf("cloudwatch %s: no CloudWatch Logs client for this region", r.region))
	}
	if len(r.status.LogGroups) == 0 {
		return r.finish(RegionNoGroup, nil)
	}
	r.set(RegionQueued)
	if err := c.acquire(ctx); err != nil {
		return r.fail(ctx, fmt.Errorf("cloudwatch %s: wait for a query slot: %w", r.region, err))
	}
	defer c.release()
	return r.query(ctx)
}

// query runs while holding a slot of the in-flight cap.
func (r *cwRegionRun) query(ctx context.Context) cwRegionOutcome {
	id, err := r.start(ctx)
	if errors.Is(err, cwErrNoGroup) {
		return r.finish(RegionNoGroup, nil)
	}
	if err != nil {
		return r.fail(ctx, err)
	}
	r.status.QueryID = id
	r.set(RegionRunning)
	results, err := r.poll(ctx, id)
	if err != nil {
		var st *cwQueryStatusError
		if !errors.As(err, &st) {
			r.stop(ctx, id)
		}
		return r.fail(ctx, err)
	}
	rows := cwParseRows(r.region, results, r.s.c.log)
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

// start starts the query on the region's groups. A group that does not exist is
// dropped (and remembered) and the query started again on the others; with none
// left, start returns cwErrNoGroup. A query whose StartQuery is cut short by ctx
// cannot be stopped (its id never arrived); Insights ends it at its own timeout.
func (r *cwRegionRun) start(ctx context.Context) (string, error) {
	cfg := r.s.c.cfg
	for {
		in := &cloudwatchlogs.StartQueryInput{
			LogGroupNames: r.status.LogGroups,
			QueryString:   aws.String(r.s.query),
			StartTime:     aws.Int64(r.from.Unix()),
			EndTime:       aws.Int64(r.to.Unix()),
		}
		out, err := cwRetryThrottled(ctx, cfg, func(ctx context.Context) (*cloudwatchlogs.StartQueryOutput, error) {
			return r.api.StartQuery(ctx, in)
		})
		if err == nil {
			return aws.ToString(out.QueryId), nil
		}
		if cwErrorCode(err) != "ResourceNotFoundException" {
			return "", fmt.Errorf("cloudwatch %s: start query: %w", r.region, err)
		}
		existing, derr := r.s.c.existingGroups(ctx, r.api, r.region, r.status.LogGroups)
		if derr != nil {
			return "", derr
		}
		if len(existing) == len(r.status.LogGroups) {
			// Every group exists, yet the query named one that does not: give up
			// rather than loop.
			return "", fmt.Errorf("cloudwatch %s: start query: %w", r.region, err)
		}
		r.setGroups(existing)
		if len(existing) == 0 {
			return "", cwErrNoGroup
		}
	}
}

// poll waits for the query to end, polling fast at first and then less often,
// never faster than the region's shared poll rate allows. Complete returns the
// results; Failed, Cancelled, Timeout and Unknown return a *cwQueryStatusError.
func (r *cwRegionRun) poll(ctx context.Context, id string) ([][]types.ResultField, error) {
	c := r.s.c
	limiter := c.limiters[r.region]
	in := &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(id)}
	call := func(ctx context.Context) (*cloudwatchlogs.GetQueryResultsOutput, error) {
		if err := limiter.Wait(ctx); err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return nil, cause
			}
			// Wait fails at once when the next slot is past the deadline.
			return nil, fmt.Errorf("no poll slot before the deadline: %w", context.DeadlineExceeded)
		}
		return r.api.GetQueryResults(ctx, in)
	}
	wait := c.cfg.PollMin
	for {
		if err := Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("cloudwatch %s: wait for query %s: %w", r.region, id, err)
		}
		polled := time.Now()
		out, err := cwRetryThrottled(ctx, c.cfg, call)
		if err != nil {
			return nil, fmt.Errorf("cloudwatch %s: get query results: %w", r.region, err)
		}
		switch out.Status {
		case types.QueryStatusComplete:
			return out.Results, nil
		case types.QueryStatusScheduled, types.QueryStatusRunning:
		default:
			return nil, &cwQueryStatusError{region: r.region, status: out.Status}
		}
		// A steady cadence: the call's own latency counts toward the interval.
		wait = c.cfg.pollEvery() - time.Since(polled)
	}
}

// stop asks Insights to stop the query, best effort: it runs even when ctx has
// ended, bounded by StopTimeout, and a failure is only logged.
func (r *cwRegionRun) stop(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.s.c.cfg.StopTimeout)
	defer cancel()
	if _, err := r.api.StopQuery(ctx, &cloudwatchlogs.StopQueryInput{QueryId: aws.String(id)}); err != nil {
		r.s.c.log.Warn("cloudwatch: stop query failed", "region", r.region, "query_id", id, "err", err)
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

// acquire takes a slot of the process-wide in-flight cap, or fails when ctx ends.
func (c *CloudWatch) acquire(ctx context.Context) error {
	if err := c.queries.Acquire(ctx, 1); err != nil {
		return err
	}
	c.inFlight.Add(1)
	return nil
}

func (c *CloudWatch) release() {
	c.inFlight.Add(-1)
	c.queries.Release(1)
}

// cwQueryStatusError is a query that ended without completing.
type cwQueryStatusError struct {
	region string
	status types.QueryStatus
}

func (e *cwQueryStatusError) Error() string {
	return fmt.Sprintf("cloudwatch %s: Insights query ended %s", e.region, cwOr(string(e.status), "without a status"))
}
