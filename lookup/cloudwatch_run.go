package lookup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// cwQuery is one Insights query in one region: the trace's session search and
// the reports' stats queries all run through runQuery.
type cwQuery struct {
	region string
	api    LogsAPI
	groups []string // the region's groups not known to be missing
	text   string
	// from and to are StartTime and EndTime, whole seconds; Insights includes both.
	from, to time.Time
	// onStart, when set, is called once the query runs, with its id and the groups
	// it covers (groups that turned out not to exist are dropped).
	onStart func(id string, groups []string)
	// watch, when set, reports the query's status with its region's other
	// queries instead of polling it alone.
	watch *cwWatch
}

// cwAnswer is what one query produced.
type cwAnswer struct {
	id      string
	groups  []string // the groups queried; set on failure too
	results [][]types.ResultField
	stats   types.QueryStatistics
}

// cwErrNoGroup ends a region none of whose log groups exists.
var cwErrNoGroup = errors.New("none of the log groups exists")

// runQuery takes a slot of the process-wide in-flight cap, starts q, polls it
// under the region's shared poll rate until it ends, and stops it (best effort)
// when polling fails or ctx ends first. Errors: cwErrNoGroup when none of the
// groups exists; a *cwQueryStatusError when Insights ended the query without
// completing it; otherwise the wrapped cause, throttling already retried.
func (c *CloudWatch) runQuery(ctx context.Context, q cwQuery) (cwAnswer, error) {
	if err := c.acquire(ctx); err != nil {
		return cwAnswer{groups: q.groups}, fmt.Errorf("cloudwatch %s: wait for a query slot: %w", q.region, err)
	}
	defer c.release()
	return c.runAcquired(ctx, q)
}

// runAcquired is runQuery on a slot the caller holds (and releases).
func (c *CloudWatch) runAcquired(ctx context.Context, q cwQuery) (cwAnswer, error) {
	ans := cwAnswer{groups: q.groups}
	id, err := c.start(ctx, &q)
	ans.groups = q.groups
	if err != nil {
		return ans, err
	}
	ans.id = id
	if q.onStart != nil {
		q.onStart(id, q.groups)
	}
	poll := c.poll
	if q.watch != nil {
		poll = c.pollWatched
	}
	out, err := poll(ctx, q, id)
	if err != nil {
		var st *cwQueryStatusError
		if !errors.As(err, &st) {
			c.stop(ctx, q, id)
		}
		return ans, err
	}
	ans.results = out.Results
	if out.Statistics != nil {
		ans.stats = *out.Statistics
	}
	return ans, nil
}

// start starts the query on q.groups. A group that does not exist is dropped (and
// remembered) and the query started again on the others; with none left, start
// returns cwErrNoGroup. When ctx ends, start fails with its cause; see startOnce
// for a StartQuery already on its way.
func (c *CloudWatch) start(ctx context.Context, q *cwQuery) (string, error) {
	for {
		in := &cloudwatchlogs.StartQueryInput{
			LogGroupNames: q.groups,
			QueryString:   aws.String(q.text),
			StartTime:     aws.Int64(q.from.Unix()),
			EndTime:       aws.Int64(q.to.Unix()),
		}
		out, err := cwRetryThrottled(ctx, c.cfg, func(ctx context.Context) (*cloudwatchlogs.StartQueryOutput, error) {
			return c.startOnce(ctx, q, in)
		})
		if err == nil {
			return aws.ToString(out.QueryId), nil
		}
		if cwErrorCode(err) != "ResourceNotFoundException" {
			return "", fmt.Errorf("cloudwatch %s: start query: %w", q.region, err)
		}
		existing, derr := c.existingGroups(ctx, q.api, q.region, q.groups)
		if derr != nil {
			return "", derr
		}
		if len(existing) == len(q.groups) {
			// Every group exists, yet the query named one that does not: give up
			// rather than loop.
			return "", fmt.Errorf("cloudwatch %s: start query: %w", q.region, err)
		}
		q.groups = existing
		if len(existing) == 0 {
			return "", cwErrNoGroup
		}
	}
}

// startOnce sends one StartQuery. Once sent, the call is not cut short when ctx
// ends (only StopTimeout after): Insights may already run the query, and without
// its id nobody could stop it, so it would scan its whole range for nobody. If
// ctx ended meanwhile, the query it started is stopped at once and the error is
// ctx's cause.
func (c *CloudWatch) startOnce(ctx context.Context, q *cwQuery, in *cloudwatchlogs.StartQueryInput) (*cloudwatchlogs.StartQueryOutput, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	callCtx, release := cwOutlive(ctx, c.cfg.StopTimeout)
	out, err := q.api.StartQuery(callCtx, in)
	release()
	if ctx.Err() == nil {
		return out, err
	}
	if err == nil {
		c.stop(ctx, *q, aws.ToString(out.QueryId))
	}
	return nil, context.Cause(ctx)
}

// cwOutlive is a context that ends grace after ctx does (or when release is
// called), carrying ctx's values and, at its end, ctx's cause.
func cwOutlive(ctx context.Context, grace time.Duration) (_ context.Context, release func()) {
	out, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var timer *time.Timer
	released := false
	unhook := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !released {
			timer = time.AfterFunc(grace, func() { cancel(context.Cause(ctx)) })
		}
	})
	return out, func() {
		unhook()
		mu.Lock()
		released = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(context.Canceled)
	}
}

// poll waits for the query to end, polling as often as the region's shared poll
// rate allows. Complete returns the output; Failed, Cancelled, Timeout and Unknown
// return a *cwQueryStatusError.
func (c *CloudWatch) poll(ctx context.Context, q cwQuery, id string) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	wait := c.cfg.PollMin
	for {
		if err := Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("cloudwatch %s: wait for query %s: %w", q.region, id, err)
		}
		polled := time.Now()
		out, err := c.getResults(ctx, q, id, true)
		if err != nil {
			return nil, err
		}
		if done, err := cwEnded(q.region, out); done {
			return out, err
		}
		// A steady cadence: the call's own latency counts toward the interval.
		wait = c.cfg.pollEvery() - time.Since(polled)
	}
}

// stop asks Insights to stop the query, best effort: it runs even when ctx has
// ended, bounded by StopTimeout, and a failure is only logged.
func (c *CloudWatch) stop(ctx context.Context, q cwQuery, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.StopTimeout)
	defer cancel()
	if _, err := q.api.StopQuery(ctx, &cloudwatchlogs.StopQueryInput{QueryId: aws.String(id)}); err != nil {
		c.log.Warn("cloudwatch: stop query failed", "region", q.region, "query_id", id, "err", err)
	}
}

// acquire takes a slot of the process-wide in-flight cap, or fails when ctx ends.
func (c *CloudWatch) acquire(ctx context.Context) error { return c.acquireN(ctx, 1) }

// acquireN takes n slots at once (all or none), or fails when ctx ends.
func (c *CloudWatch) acquireN(ctx context.Context, n int) error {
	if err := c.queries.Acquire(ctx, int64(n)); err != nil {
		return err
	}
	c.inFlight.Add(int64(n))
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
