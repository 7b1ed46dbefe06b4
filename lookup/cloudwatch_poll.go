package lookup

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"golang.org/x/time/rate"
)

// cwPollLimits are one region's shares of the Insights polling quotas, for every
// search and report of the process.
//
// GetQueryResults may be called at most PollRate times in any second. Status
// polls go through polls, a token bucket at 0.95 × PollRate with burst 1, so they
// are evenly spaced; every GetQueryResults call (status poll or result fetch)
// also goes through window, which admits at most ⌊PollRate⌋ calls in any window
// of 1/0.95 s. The window alone is the guarantee; the bucket keeps steady polling
// from bunching, and leaves the window room to fetch several finished queries'
// results at once. DescribeQueries, which reports many queries' status in one
// call, has its own quota and bucket.
type cwPollLimits struct {
	polls    *rate.Limiter
	window   *cwWindow
	describe *rate.Limiter
	// describeOff is when DescribeQueries may be tried again (Unix ns) after it
	// was refused (such as AccessDenied with an older IAM policy).
	describeOff atomic.Int64
}

func newCWPollLimits(perSecond float64) *cwPollLimits {
	// Burst 1 and a 5% margin: calls spaced exactly 1/PollRate apart put
	// PollRate+1 of them in a closed one-second window, and network jitter bunches
	// arrivals, so no region may see more than PollRate calls in any second.
	n := max(1, int(math.Floor(perSecond)))
	span := time.Duration(max(float64(n)/perSecond, 1) / pollRateMargin * float64(time.Second))
	return &cwPollLimits{
		polls:    rate.NewLimiter(rate.Limit(perSecond*pollRateMargin), 1),
		window:   &cwWindow{n: n, span: span},
		describe: rate.NewLimiter(rate.Limit(perSecond*pollRateMargin), 1),
	}
}

// cwWindow admits at most n calls in any span: a log of the last n admission
// times. Unlike a token bucket it lets several calls through together after a
// quiet spell, never more than n in a span.
type cwWindow struct {
	n    int
	span time.Duration

	mu sync.Mutex
	at []time.Time // the last n admissions, oldest first; some may lie ahead (reserved)
}

// wait reserves the next admission and waits for it. A reservation abandoned
// because ctx ended stays counted, which only ever makes the window stricter.
func (w *cwWindow) wait(ctx context.Context) error {
	return cwWaitUntil(ctx, w.reserve(time.Now()))
}

// reserve books the first admission at or after now that keeps every span at n
// admissions or fewer.
func (w *cwWindow) reserve(now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := now
	if len(w.at) == w.n {
		at = later(at, w.at[0].Add(w.span))
		w.at = w.at[1:]
	}
	w.at = append(w.at, at)
	return at
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// cwWaitUntil sleeps until at; it fails at once when ctx's deadline comes first.
func cwWaitUntil(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if deadline, ok := ctx.Deadline(); ok && d > 0 && deadline.Before(at) {
		return fmt.Errorf("no poll slot before the deadline: %w", context.DeadlineExceeded)
	}
	return Sleep(ctx, d)
}

// cwLimiterWait waits for l, turning its refusal into the context's cause.
func cwLimiterWait(ctx context.Context, l *rate.Limiter) error {
	if err := l.Wait(ctx); err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return cause
		}
		// Wait fails at once when the next slot is past the deadline.
		return fmt.Errorf("no poll slot before the deadline: %w", context.DeadlineExceeded)
	}
	return nil
}

// getResults calls GetQueryResults for id: a status poll (poll true) waits for
// the region's even polling pace, a fetch of a query known to have ended only
// for the window; both retry throttling.
func (c *CloudWatch) getResults(ctx context.Context, q cwQuery, id string, poll bool) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	lim := c.limits[q.region]
	in := &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(id)}
	out, err := cwRetryThrottled(ctx, c.cfg, func(ctx context.Context) (*cloudwatchlogs.GetQueryResultsOutput, error) {
		if lim != nil {
			if poll {
				if err := cwLimiterWait(ctx, lim.polls); err != nil {
					return nil, err
				}
			}
			if err := lim.window.wait(ctx); err != nil {
				return nil, err
			}
		}
		return q.api.GetQueryResults(ctx, in)
	})
	if err != nil {
		return nil, fmt.Errorf("cloudwatch %s: get query results: %w", q.region, err)
	}
	return out, nil
}

// cwDescriber is the DescribeQueries of a LogsAPI that has it (the SDK's client
// does); without it, queries are polled one by one.
type cwDescriber interface {
	DescribeQueries(ctx context.Context, in *cloudwatchlogs.DescribeQueriesInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeQueriesOutput, error)
}

var _ cwDescriber = (*cloudwatchlogs.Client)(nil)

// cwDescribeRefusedFor is how long a region polls one by one after DescribeQueries
// was refused.
const cwDescribeRefusedFor = 10 * time.Minute

// newWatch returns a watch over region's queries that are only useful together
// (a report's queries in one region), or nil when they are better polled one by
// one: fewer than two, no DescribeQueries, or DescribeQueries refused lately.
func (c *CloudWatch) newWatch(region string, api LogsAPI, queries int) *cwWatch {
	d, ok := api.(cwDescriber)
	lim := c.limits[region]
	if !ok || queries < 2 || lim == nil || time.Now().UnixNano() < lim.describeOff.Load() {
		return nil
	}
	return &cwWatch{c: c, region: region, api: d, lim: lim, waiting: map[string]*cwWatched{}}
}

// cwWatch reports the status of several running queries of one region with one
// DescribeQueries call per poll interval, instead of a GetQueryResults call per
// query: their waiters call GetQueryResults only once a query is no longer
// listed as running. Seeing several finish at one poll, they fetch all results
// at once (the window allows it), where polling one by one would notice them a
// poll slot apart.
type cwWatch struct {
	c      *CloudWatch
	region string
	api    cwDescriber
	lim    *cwPollLimits

	mu      sync.Mutex
	waiting map[string]*cwWatched
	looping bool
	failed  bool // gave up: waiters poll alone
}

// cwWatched is one waiter: told on ch (true: the query was listed running
// before, so it has most likely ended) when to call GetQueryResults; ch is closed
// when the watch cannot describe queries and the waiter must poll alone.
type cwWatched struct {
	seen bool
	ch   chan bool
}

func (w *cwWatch) add(id string) *cwWatched {
	w.mu.Lock()
	defer w.mu.Unlock()
	wd := &cwWatched{ch: make(chan bool, 1)}
	if w.failed {
		close(wd.ch)
		return wd
	}
	w.waiting[id] = wd
	if !w.looping {
		w.looping = true
		go w.loop()
	}
	return wd
}

func (w *cwWatch) remove(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.waiting, id)
}

// loop describes the region's running queries every poll interval while any
// waiter waits.
func (w *cwWatch) loop() {
	cfg := w.c.cfg
	wait := cfg.PollMin
	for {
		_ = Sleep(context.Background(), wait)
		w.mu.Lock()
		if len(w.waiting) == 0 {
			w.looping = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		began := time.Now()
		running, err := w.running()
		if err != nil {
			w.c.log.Warn("cloudwatch: describe queries failed; polling them one by one", "region", w.region, "err", err)
			w.giveUp()
			return
		}
		w.tell(running)
		wait = cfg.pollEvery() - time.Since(began)
	}
}

// running lists the ids of the region's running queries. It reads at most
// cwDescribePages pages of 1,000: an account runs a few dozen queries at once.
func (w *cwWatch) running() (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), w.c.cfg.StopTimeout)
	defer cancel()
	out := map[string]bool{}
	in := &cloudwatchlogs.DescribeQueriesInput{Status: types.QueryStatusRunning, MaxResults: aws.Int32(1000)}
	for range cwDescribePages {
		page, err := cwRetryThrottled(ctx, w.c.cfg, func(ctx context.Context) (*cloudwatchlogs.DescribeQueriesOutput, error) {
			if err := cwLimiterWait(ctx, w.lim.describe); err != nil {
				return nil, err
			}
			return w.api.DescribeQueries(ctx, in)
		})
		if err != nil {
			return nil, fmt.Errorf("cloudwatch %s: describe queries: %w", w.region, err)
		}
		for _, q := range page.Queries {
			out[aws.ToString(q.QueryId)] = true
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	return out, nil
}

// tell wakes every waiter whose query is not listed running.
func (w *cwWatch) tell(running map[string]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, wd := range w.waiting {
		if running[id] {
			wd.seen = true
			continue
		}
		select {
		case wd.ch <- wd.seen:
		default: // still busy with the last call
		}
	}
}

// giveUp makes every waiter poll alone; a refusal keeps the region from
// describing queries for a while.
func (w *cwWatch) giveUp() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, wd := range w.waiting {
		close(wd.ch)
		delete(w.waiting, id)
	}
	w.looping, w.failed = false, true
	w.lim.describeOff.Store(time.Now().Add(cwDescribeRefusedFor).UnixNano())
}

// pollWatched waits for query id through q.watch, calling GetQueryResults when
// the watch says the query is not running: a fetch when it was seen running
// before, a status poll otherwise (not yet running). When the watch gives up it
// polls alone.
func (c *CloudWatch) pollWatched(ctx context.Context, q cwQuery, id string) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	wd := q.watch.add(id)
	defer q.watch.remove(id)
	for {
		var seen, ok bool
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cloudwatch %s: wait for query %s: %w", q.region, id, context.Cause(ctx))
		case seen, ok = <-wd.ch:
		}
		if !ok {
			return c.poll(ctx, q, id)
		}
		out, err := c.getResults(ctx, q, id, !seen)
		if err != nil {
			return nil, err
		}
		if done, err := cwEnded(q.region, out); done {
			return out, err
		}
	}
}

// cwEnded reports whether the query of out has ended: with nil when it
// completed, a *cwQueryStatusError when it ended otherwise.
func cwEnded(region string, out *cloudwatchlogs.GetQueryResultsOutput) (bool, error) {
	switch out.Status {
	case types.QueryStatusComplete:
		return true, nil
	case types.QueryStatusScheduled, types.QueryStatusRunning:
		return false, nil
	}
	return true, &cwQueryStatusError{region: region, status: out.Status}
}
