package lookup

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestPollWindowAdmitsAtMostNPerSpan books calls at chosen instants: the window
// lets 5 through at once, then each call waits until the fifth before it is a
// span old.
func TestPollWindowAdmitsAtMostNPerSpan(t *testing.T) {
	span := time.Second
	w := &cwWindow{n: 5, span: span}
	t0 := time.Date(2026, 5, 20, 17, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	asks := []time.Time{ms(0), ms(0), ms(0), ms(0), ms(0), ms(0), ms(0), ms(1500), ms(1500), ms(4000)}
	want := []time.Time{ms(0), ms(0), ms(0), ms(0), ms(0), ms(1000), ms(1000), ms(1500), ms(1500), ms(4000)}
	var got []time.Time
	for _, at := range asks {
		got = append(got, w.reserve(at))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("admissions (-want +got):\n%s", diff)
	}
	for i := 0; i+5 < len(got); i++ {
		if d := got[i+5].Sub(got[i]); d < span {
			t.Errorf("admissions %d and %d are %v apart: six in one span", i, i+5, d)
		}
	}
}

func TestPollWindowFailsFastBeforeTheDeadline(t *testing.T) {
	w := &cwWindow{n: 1, span: time.Hour}
	if err := w.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	began := time.Now()
	if err := w.wait(ctx); err == nil || time.Since(began) > 100*time.Millisecond {
		t.Errorf("wait past the deadline: %v after %v, want an error at once", err, time.Since(began))
	}
}

func TestPollLimitsShape(t *testing.T) {
	for _, tt := range []struct {
		rate    float64
		n       int
		seconds float64 // span
	}{
		{5, 5, 1 / 0.95},
		{5.5, 5, 1 / 0.95},
		{0.5, 1, 2 / 0.95},
	} {
		l := newCWPollLimits(tt.rate)
		if span := time.Duration(tt.seconds * float64(time.Second)); l.window.n != tt.n || l.window.span != span {
			t.Errorf("rate %v: window %d per %v, want %d per %v", tt.rate, l.window.n, l.window.span, tt.n, span)
		}
	}
}
