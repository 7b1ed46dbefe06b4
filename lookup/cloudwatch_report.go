package lookup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/callytics/tracebot/lookup/numfmt"
)

// RegionQueries asks for the same Insights queries in every configured region,
// each over all of that region's log groups.
type RegionQueries struct {
	Env     string   // "" means the configured env
	Queries []string // at most a few: each is one StartQuery per region
	// From and To are the window [From, To) in whole seconds. Insights includes
	// its EndTime, so the queries run over [From, To−1s]: exactly the window.
	From, To time.Time
	// Answered, when set, is called with each region's answer as soon as that
	// region has finished, from the region's own goroutine (so concurrently).
	Answered func(RegionAnswer)
}

// RegionAnswer is what one region answered to RegionQueries.
type RegionAnswer struct {
	Region        string
	State         string                // RegionRows, RegionEmpty, RegionNoGroup or RegionFailed
	LogGroups     []string              // groups queried
	MissingGroups []string              // configured groups that do not exist there
	QueryIDs      []string              // one per query that started
	Results       [][]map[string]string // per query, its result rows as field maps
	BytesScanned  float64               // Σ statistics.bytesScanned of the region's queries
	Error         string                // one line, no secrets; set when State is RegionFailed
	Err           error                 // the full cause of Error
}

// InsightsQuerier runs Logs Insights queries in every region at once (the report
// engine's view of CloudWatch).
type InsightsQuerier interface {
	QueryRegions(ctx context.Context, q RegionQueries) []RegionAnswer
}

var _ InsightsQuerier = (*CloudWatch)(nil)

// QueryRegions runs q's queries in every configured region at once, each query
// over all of the region's groups, under the same in-flight cap, poll limiter,
// throttling backoff and memory of missing groups as trace searches. Within a
// region the queries run concurrently; when one fails, the others are stopped and
// the region fails with that cause. An answer of 10,000 rows fails too: Insights
// cut it there, and the rows beyond are lost to the merge. Answers are in configured region order; q.Answered
// hears each one as it arrives.
func (c *CloudWatch) QueryRegions(ctx context.Context, q RegionQueries) []RegionAnswer {
	env := q.Env
	if env == "" {
		env = c.cfg.Env
	}
	out := make([]RegionAnswer, len(c.cfg.Regions))
	var wg sync.WaitGroup
	for i, region := range c.cfg.Regions {
		wg.Go(func() {
			out[i] = c.queryRegion(ctx, region, env, q)
			if q.Answered != nil {
				q.Answered(out[i])
			}
		})
	}
	wg.Wait()
	return out
}

func (c *CloudWatch) queryRegion(ctx context.Context, region, env string, q RegionQueries) RegionAnswer {
	configured := c.LogGroups(region, env)
	a := RegionAnswer{Region: region, Results: make([][]map[string]string, len(q.Queries))}
	a.setGroups(configured, c.groups.candidates(region, configured))
	api := c.clients[region]
	switch {
	case api == nil:
		return a.fail(fmt.Errorf("cloudwatch %s: no CloudWatch Logs client for this region", region))
	case len(a.LogGroups) == 0:
		a.State = RegionNoGroup
		return a
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	answers := make([]cwAnswer, len(q.Queries))
	errs := make([]error, len(q.Queries))
	watch := c.newWatch(region, api, len(q.Queries)) // the region answers once all have ended
	var wg sync.WaitGroup
	for i, text := range q.Queries {
		wg.Go(func() {
			answers[i], errs[i] = c.runQuery(ctx, cwQuery{region: region, api: api, groups: a.LogGroups, text: text, watch: watch,
				from: q.From.UTC().Truncate(time.Second), to: q.To.UTC().Truncate(time.Second).Add(-time.Second)})
			if errs[i] == nil && len(answers[i].results) >= cwMaxRows {
				errs[i] = fmt.Errorf("cloudwatch %s: the answer reached Insights' %s-row cap, so its sums would be short: ask for a shorter window",
					region, numfmt.Count(cwMaxRows))
			}
			if errs[i] != nil && !errors.Is(errs[i], cwErrNoGroup) {
				cancel(errs[i]) // the region cannot answer: stop its other queries
			}
		})
	}
	wg.Wait()
	return c.collect(a, configured, answers, errs)
}

// collect turns the region's query answers into its RegionAnswer.
func (c *CloudWatch) collect(a RegionAnswer, configured []string, answers []cwAnswer, errs []error) RegionAnswer {
	noGroup := false
	for i, ans := range answers {
		if ans.id != "" {
			a.QueryIDs = append(a.QueryIDs, ans.id)
		}
		a.BytesScanned += ans.stats.BytesScanned
		if len(ans.groups) < len(a.LogGroups) {
			a.setGroups(configured, ans.groups)
		}
		a.Results[i] = cwFieldMaps(ans.results)
		noGroup = noGroup || errors.Is(errs[i], cwErrNoGroup)
	}
	if err := cwFirstCause(errs); err != nil {
		return a.fail(err)
	}
	switch {
	case noGroup:
		a.State = RegionNoGroup
	case a.rows() > 0:
		a.State = RegionRows
	default:
		a.State = RegionEmpty
	}
	return a
}

// cwFirstCause is the first error that is not another query's cancellation.
func cwFirstCause(errs []error) error {
	var first error
	for _, err := range errs {
		switch {
		case err == nil || errors.Is(err, cwErrNoGroup):
		case first == nil || errors.Is(first, context.Canceled):
			first = err
		}
	}
	return first
}

func (a *RegionAnswer) setGroups(configured, queried []string) {
	a.LogGroups, a.MissingGroups = queried, nil
	for _, g := range configured {
		if !slices.Contains(queried, g) {
			a.MissingGroups = append(a.MissingGroups, g)
		}
	}
}

func (a RegionAnswer) fail(err error) RegionAnswer {
	a.State, a.Err, a.Error = RegionFailed, err, cwErrorLine(a.Region, err)
	return a
}

func (a RegionAnswer) rows() int {
	n := 0
	for _, r := range a.Results {
		n += len(r)
	}
	return n
}

// cwFieldMaps turns result rows into field maps; a field Insights left out is
// absent from its map.
func cwFieldMaps(results [][]types.ResultField) []map[string]string {
	out := make([]map[string]string, 0, len(results))
	for _, fields := range results {
		m := make(map[string]string, len(fields))
		for _, f := range fields {
			m[aws.ToString(f.Field)] = aws.ToString(f.Value)
		}
		out = append(out, m)
	}
	return out
}
