package lookup_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

var _ lookup.ProgressReporter = (*lookup.ReportEngine)(nil)

// progressLog keeps what a report's progress said, as region → state lines.
type progressLog struct {
	mu    sync.Mutex
	steps [][]string
	done  chan struct{} // closed at the first step in which want regions answered
	want  int
}

func newProgressLog(want int) *progressLog {
	return &progressLog{done: make(chan struct{}), want: want}
}

func (l *progressLog) hear(p lookup.ReportProgress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var step []string
	for _, r := range p.Regions {
		step = append(step, r.Region+" "+r.State)
	}
	l.steps = append(l.steps, step)
	if p.Done() == l.want && l.want > 0 {
		l.want = -1
		close(l.done)
	}
}

func (l *progressLog) get() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][]string(nil), l.steps...)
}

// A report's progress starts with every region running and tells each region
// as it answers, a failed one as failed; a repeat from the cache tells nothing.
func TestReportProgressTellsEachRegion(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	w.srv.Fail(cwEast2, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	e := w.engine(nil)
	log := newProgressLog(0)
	r, err := e.ReportWithProgress(context.Background(), rpQuery(t, "cache 24h"), log.hear)
	if err != nil || r == nil {
		t.Fatal(err)
	}
	steps := log.get()
	if len(steps) != 4 {
		t.Fatalf("want the start and one step per region, got %q", steps)
	}
	if diff := gocmp.Diff([]string{"us-east-1 running", "us-west-2 running", "us-east-2 running"}, steps[0]); diff != "" {
		t.Errorf("first progress (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff([]string{"us-east-1 rows", "us-west-2 rows", "us-east-2 failed"}, steps[3]); diff != "" {
		t.Errorf("last progress (-want +got):\n%s", diff)
	}
	for i := 1; i < len(steps); i++ {
		running := 0
		for _, s := range steps[i] {
			if strings.HasSuffix(s, " running") {
				running++
			}
		}
		if running != 3-i {
			t.Errorf("step %d %q: want %d regions still running", i, steps[i], 3-i)
		}
	}

	// A healthy world's repeat is served from the cache: no progress.
	e2 := newReportWorld(t, rpNoisy).engine(nil)
	if _, err := e2.Report(context.Background(), rpQuery(t, "finish 24h")); err != nil {
		t.Fatal(err)
	}
	again := newProgressLog(0)
	r, err = e2.ReportWithProgress(context.Background(), rpQuery(t, "finish 24h"), again.hear)
	if err != nil || !r.Cached {
		t.Fatalf("repeat: cached %v, err %v", r != nil && r.Cached, err)
	}
	if got := again.get(); len(got) != 0 {
		t.Errorf("a cached report told progress: %q", got)
	}
}

// A caller joining a run already going hears its latest progress at once and the
// rest of it; nobody hears anything after returning. (That joiners share the
// run's queries is TestReportCacheStartsNoQuery's.)
func TestReportProgressJoinersHearTheLatest(t *testing.T) {
	w := newReportWorld(t, rpNoisy)
	w.srv.SetReady(cwEast2, 1<<30, 0) // us-east-2 answers only when released
	e := w.engine(nil)
	q := rpQuery(t, "cache 24h")
	first, second := newProgressLog(2), newProgressLog(0)
	var wg sync.WaitGroup
	var reports [2]*lookup.Report
	wg.Go(func() { reports[0], _ = e.ReportWithProgress(context.Background(), q, first.hear) })
	select {
	case <-first.done:
	case <-time.After(20 * time.Second):
		t.Fatal("us-east-1 and us-west-2 never answered")
	}
	wg.Go(func() { reports[1], _ = e.ReportWithProgress(context.Background(), q, second.hear) })
	deadline := time.Now().Add(20 * time.Second)
	for len(second.get()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	w.srv.SetReady(cwEast2, 0, 0)
	wg.Wait()
	got := second.get()
	if len(got) < 2 {
		t.Fatalf("the joiner heard %q; want the latest progress, then us-east-2", got)
	}
	if diff := gocmp.Diff([]string{"us-east-1 rows", "us-west-2 rows", "us-east-2 running"}, got[0]); diff != "" {
		t.Errorf("joiner's first progress (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff([]string{"us-east-1 rows", "us-west-2 rows", "us-east-2 rows"}, got[len(got)-1]); diff != "" {
		t.Errorf("joiner's last progress (-want +got):\n%s", diff)
	}
	if reports[0] == nil || reports[1] == nil {
		t.Fatalf("reports %v: want both answered", reports)
	}
	n := len(first.get()) + len(second.get())
	if _, err := e.ReportWithProgress(context.Background(), rpQuery(t, "finish 24h"), nil); err != nil {
		t.Fatal(err)
	}
	if len(first.get())+len(second.get()) != n {
		t.Error("a listener heard another run after its own returned")
	}
}
