package lookup

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// cwDescribePages bounds the pages one Describe* lookup reads: DescribeLogGroups
// to find one group (the names sharing its name as prefix are few), and
// DescribeQueries to list a region's running queries.
const cwDescribePages = 10

// GroupCheck is what `tracebot check` reports for one region's log groups.
type GroupCheck struct {
	Region  string   `json:"region"`
	Found   []string `json:"found"`             // groups that exist
	Missing []string `json:"missing,omitempty"` // configured groups that do not
	Error   string   `json:"error,omitempty"`   // one line: the region could not be checked
	Err     error    `json:"-"`                 // the full cause of Error
}

// CheckGroups looks up, in every configured region at once, which of the log groups
// for env ("" means the configured env) exist. A region that cannot be asked has
// Error set; the groups it could check are still listed. Results are in configured
// region order and refresh the searcher's memory of which groups exist.
func (c *CloudWatch) CheckGroups(ctx context.Context, env string) []GroupCheck {
	out := make([]GroupCheck, len(c.cfg.Regions))
	var wg sync.WaitGroup
	for i, region := range c.cfg.Regions {
		wg.Go(func() { out[i] = c.checkRegion(ctx, region, env) })
	}
	wg.Wait()
	return out
}

func (c *CloudWatch) checkRegion(ctx context.Context, region, env string) GroupCheck {
	gc := GroupCheck{Region: region, Found: []string{}}
	api := c.clients[region]
	if api == nil {
		gc.Err = fmt.Errorf("cloudwatch %s: no CloudWatch Logs client for this region", region)
		gc.Error = cwErrorLine(region, gc.Err)
		return gc
	}
	for _, g := range c.LogGroups(region, env) {
		ok, err := c.groupExists(ctx, api, region, g)
		if err != nil {
			gc.Err = err
			gc.Error = cwErrorLine(region, err)
			return gc
		}
		if ok {
			gc.Found = append(gc.Found, g)
		} else {
			gc.Missing = append(gc.Missing, g)
		}
	}
	return gc
}

// existingGroups asks which of groups exist in region now, in their order.
func (c *CloudWatch) existingGroups(ctx context.Context, api LogsAPI, region string, groups []string) ([]string, error) {
	var out []string
	for _, g := range groups {
		ok, err := c.groupExists(ctx, api, region, g)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, g)
		}
	}
	return out, nil
}

// groupExists asks DescribeLogGroups whether a group of exactly this name exists in
// region, and remembers the answer.
func (c *CloudWatch) groupExists(ctx context.Context, api LogsAPI, region, group string) (bool, error) {
	in := &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group), Limit: aws.Int32(50)}
	pages := cloudwatchlogs.NewDescribeLogGroupsPaginator(api, in)
	for n := 0; pages.HasMorePages() && n < cwDescribePages; n++ {
		page, err := cwRetryThrottled(ctx, c.cfg, func(ctx context.Context) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
			return pages.NextPage(ctx)
		})
		if err != nil {
			return false, fmt.Errorf("cloudwatch %s: describe log group %s: %w", region, group, err)
		}
		for _, lg := range page.LogGroups {
			if aws.ToString(lg.LogGroupName) == group {
				c.groups.put(region, group, true)
				return true, nil
			}
		}
	}
	c.groups.put(region, group, false)
	return false, nil
}

// cwGroupCache remembers, for a while, which log groups do not exist, so searches
// stop asking for them; a group is forgotten after the TTL in case it was created.
type cwGroupCache struct {
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	known map[[2]string]cwGroupFact // (region, group)
}

type cwGroupFact struct {
	exists bool
	at     time.Time
}

func newCWGroupCache(ttl time.Duration) *cwGroupCache {
	return &cwGroupCache{ttl: ttl, now: time.Now, known: map[[2]string]cwGroupFact{}}
}

func (g *cwGroupCache) put(region, group string, exists bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.known[[2]string{region, group}] = cwGroupFact{exists: exists, at: g.now()}
}

// candidates are the groups not known to be missing in region.
func (g *cwGroupCache) candidates(region string, groups []string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	var out []string
	for _, group := range groups {
		k := [2]string{region, group}
		f, ok := g.known[k]
		if ok && now.Sub(f.at) >= g.ttl {
			delete(g.known, k)
			ok = false
		}
		if !ok || f.exists {
			out = append(out, group)
		}
	}
	return out
}
