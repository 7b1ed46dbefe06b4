package lookup

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends. It returns nil after the full wait and
// context.Cause(ctx) when ctx ended first (at once when it already had). It is the
// one context-aware wait of the module: backoffs, rate-limit waits and the sample
// world's latency all use it.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
