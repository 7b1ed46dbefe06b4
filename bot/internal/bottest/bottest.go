// Package bottest holds the test helpers that the core's tests and each
// platform's tests share: a log buffer, a metric reader and the sample world's
// report options. Only tests import it.
package bottest

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/lookup"
)

// Logs collects log output written from many goroutines. The zero value is
// ready to use.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Reset forgets what was written.
func (l *Logs) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

// Logger is a text logger into l at every level.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Counter sums the samples of the counter name in reg whose label has value
// (0 when there are none).
func Counter(t testing.TB, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// ParseOptions read reports as the sample world's tests do: now is
// lookup.SandboxNow, the default zone New York, a ±2h window and 7 days back
// when no time is given.
func ParseOptions(t testing.TB) lookup.ParseOptions {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return lookup.ParseOptions{Now: lookup.SandboxNow, DefaultZone: ny, Window: 2 * time.Hour, NoTimeLookback: 168 * time.Hour}
}

// Checker is an alert checker (bot.AlertChecker) that answers each check with
// the function's answer at now.
type Checker func(now time.Time) lookup.AlertCheck

// Check implements bot.AlertChecker.
func (f Checker) Check(_ context.Context, now time.Time, _ lookup.AlertInputs) lookup.AlertCheck {
	return f(now)
}
