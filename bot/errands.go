package bot

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Errands sends short answers in the background (a refusal, a private "that
// button no longer works") so the request that caused them is acknowledged at
// once. At most a fixed number run at a time: they are sent exactly when the bot
// is overloaded, so past the bound an errand is dropped and the first drop of a
// burst is logged, rather than letting the refusals become the overload. The zero
// value is not usable; use NewErrands. It is safe for concurrent use.
type Errands struct {
	slots    chan struct{}
	timeout  time.Duration
	log      *slog.Logger
	running  sync.WaitGroup
	dropping atomic.Bool // a drop was logged and no errand has finished since
}

// NewErrands runs at most limit errands at once, each for at most timeout, and
// logs drops to log.
func NewErrands(limit int, timeout time.Duration, log *slog.Logger) *Errands {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Errands{slots: make(chan struct{}, max(limit, 1)), timeout: timeout, log: log}
}

// Go runs fn in the background with a context of its own (ctx's values, not its
// cancellation; the errand's timeout), and reports whether it was started. It
// does not block: when limit errands are running, fn is dropped.
func (e *Errands) Go(ctx context.Context, what string, fn func(ctx context.Context)) bool {
	select {
	case e.slots <- struct{}{}:
	default:
		if !e.dropping.Swap(true) {
			e.log.Warn("too many answers in flight: dropping some", "what", what, "limit", cap(e.slots))
		}
		return false
	}
	e.running.Add(1)
	go func() {
		defer e.running.Done()
		defer func() { <-e.slots; e.dropping.Store(false) }()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.timeout)
		defer cancel()
		fn(ctx)
	}()
	return true
}

// Wait waits until the errands started so far have ended, or ctx ends.
func (e *Errands) Wait(ctx context.Context) error { return waitFor(ctx, e.running.Wait) }

// waitFor runs wait (a WaitGroup's Wait) until it returns or ctx ends; then it
// returns ctx's error.
func waitFor(ctx context.Context, wait func()) error {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
