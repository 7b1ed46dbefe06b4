package slack

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/secrets"

	"github.com/callytics/tracebot/bot"
)

// BenchmarkSlackCommandAck measures how long the edge takes to acknowledge a
// slash command with 60 requests in flight (SPEC §10: p99 under 100 ms), the real
// bot queueing each trace behind it. It reports the p99 ack time.
//
//	go test ./bot/slack -run '^$' -bench CommandAck
func BenchmarkCommandAck(b *testing.B) {
	fake := slackfake.New(b, slackfake.Config{})
	sb := lookup.NewSandbox(0)
	core := bot.New(bot.Config{Sandbox: true, Workers: 8, QueueSize: 1 << 20, RateLimit: 1 << 30,
		Now: func() time.Time { return lookup.SandboxNow }},
		bot.Deps{Tracer: lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true})})
	defer func() { _ = core.Shutdown(context.Background()) }()
	edge := New(Config{BotToken: bot.StaticSecret(secrets.New(fake.Config().BotToken)),
		SigningSecret: bot.StaticSecret(secrets.New(testSecret)), APIURL: fake.APIURL()}, core)
	mux := http.NewServeMux()
	edge.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	var mu sync.Mutex
	var lat []time.Duration
	var n atomic.Int64
	b.SetParallelism(max(1, 60/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			body := slackfake.Command{Command: "/trace", Text: testReport, ChannelID: "C1",
				UserID: fmt.Sprintf("U%d", i), TriggerID: fmt.Sprintf("t-%d-%d", n.Add(1), i)}.Form()
			req := slackfake.NewRequest(srv.URL+"/slack/commands", testSecret, time.Now(), slackfake.ContentForm, body)
			start := time.Now()
			resp, err := client.Do(req)
			d := time.Since(start)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("ack: %v %v", err, resp)
				return
			}
			_ = resp.Body.Close()
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}
	})
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
