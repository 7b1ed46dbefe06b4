package lookup_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/callytics/tracebot/lookup"
)

// An endpoint nothing listens on (a wrong AWS_ENDPOINT_URL, a proxy that is
// down, no route) is named in one line that says AWS could not be reached, and
// how often the SDK tried, not the SDK's wrap chain cut mid-cause.
func TestRegionUnreachableIsOneLine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	clients := map[string]lookup.LogsAPI{}
	for _, r := range cwRegions {
		clients[r] = cloudwatchlogs.New(cloudwatchlogs.Options{
			Region:       r,
			BaseEndpoint: aws.String("http://" + addr),
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOGSFAKE", "logs-fake-secret", ""),
			Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			}),
		})
	}
	cw := lookup.NewCloudWatch(lookup.CloudWatchConfig{Regions: cwRegions, LogGroups: cwPatterns, Grace: 100 * time.Millisecond,
		PollRate: 1000, PollMin: 2 * time.Millisecond, PollMax: 10 * time.Millisecond, ThrottleBackoff: time.Millisecond}, clients)
	res, _ := cw.SearchUsage(context.Background(), cwQuery("s-1"))
	if len(res.Regions) != len(cwRegions) {
		t.Fatalf("regions %+v", res.Regions)
	}
	for _, r := range res.Regions {
		want := r.Region + ": logs:StartQuery: cannot reach AWS (after 3 attempts): dial tcp " + addr + ": connect: connection refused"
		if r.State != lookup.RegionFailed || r.Error != want {
			t.Errorf("%s: %s %q\nwant failed %q", r.Region, r.State, r.Error, want)
		}
	}
}
