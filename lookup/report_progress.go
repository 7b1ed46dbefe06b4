package lookup

import (
	"context"
	"slices"
)

// ReportProgress is how far a running report has got: every region's state so
// far, in the engine's region order, a region that has not answered yet being
// RegionRunning. Regions is the listener's own copy.
type ReportProgress struct {
	Kind    ReportKind
	Regions []ReportRegion
}

// Done is how many regions have answered (rows, nothing, no group, or failed).
func (p ReportProgress) Done() int {
	n := 0
	for _, r := range p.Regions {
		if r.State != RegionRunning {
			n++
		}
	}
	return n
}

// ProgressReporter is a Reporter that also says, as each region answers, how far
// a report has got; *ReportEngine implements it, and the bot shows it in place.
type ProgressReporter interface {
	Reporter
	// ReportWithProgress is Report that calls progress (when not nil) at the start
	// of the run and each time a region answers. A caller that joins a run already
	// going hears its latest progress at once; a report served from the cache
	// calls progress never. progress is called one at a time, is never called
	// after ReportWithProgress returns, and must not block.
	ReportWithProgress(ctx context.Context, q ReportQuery, progress func(ReportProgress)) (*Report, error)
}

// reportWatch is who hears the progress of the run under one cache key, and the
// latest progress for those who join late.
type reportWatch struct {
	last      *ReportProgress
	listeners map[int]func(ReportProgress)
	running   bool
}

// watch returns the watch of key, creating it; the caller holds watchMu.
func (e *ReportEngine) watch(key string) *reportWatch {
	w := e.watches[key]
	if w == nil {
		w = &reportWatch{listeners: map[int]func(ReportProgress){}}
		e.watches[key] = w
	}
	return w
}

// listen makes fn hear the progress of the run under key (at once, when it has
// some) until the returned function is called.
func (e *ReportEngine) listen(key string, fn func(ReportProgress)) (stop func()) {
	e.watchMu.Lock()
	defer e.watchMu.Unlock()
	e.watchSeq++
	id, w := e.watchSeq, e.watch(key)
	w.listeners[id] = fn
	if w.last != nil {
		fn(copyProgress(*w.last))
	}
	return func() {
		e.watchMu.Lock()
		defer e.watchMu.Unlock()
		delete(w.listeners, id)
		e.forget(key, w)
	}
}

// progressOf starts the progress of a run under key, every configured region
// running, and returns what the run calls as each region answers.
func (e *ReportEngine) progressOf(key string, kind ReportKind) func(ReportRegion) {
	p := ReportProgress{Kind: kind}
	for _, region := range e.cfg.Regions {
		p.Regions = append(p.Regions, ReportRegion{Region: region, State: RegionRunning})
	}
	e.watchMu.Lock()
	w := e.watch(key)
	w.running = true
	e.tell(w, p)
	e.watchMu.Unlock()
	return func(rr ReportRegion) {
		e.watchMu.Lock()
		defer e.watchMu.Unlock()
		next := copyProgress(*w.last)
		if i := slices.IndexFunc(next.Regions, func(r ReportRegion) bool { return r.Region == rr.Region }); i >= 0 {
			next.Regions[i] = rr
		} else {
			next.Regions = append(next.Regions, rr)
		}
		e.tell(w, next)
	}
}

// tell records p as w's latest and gives each listener its copy; the caller holds
// watchMu, so listeners hear one progress at a time, in order.
func (e *ReportEngine) tell(w *reportWatch, p ReportProgress) {
	w.last = &p
	for _, fn := range w.listeners {
		fn(copyProgress(p))
	}
}

// finished ends the run under key: its progress is no longer told.
func (e *ReportEngine) finished(key string) {
	e.watchMu.Lock()
	defer e.watchMu.Unlock()
	if w := e.watches[key]; w != nil {
		w.running, w.last = false, nil
		e.forget(key, w)
	}
}

// forget drops w when no run and no listener needs it; the caller holds watchMu.
func (e *ReportEngine) forget(key string, w *reportWatch) {
	if !w.running && len(w.listeners) == 0 && e.watches[key] == w {
		delete(e.watches, key)
	}
}

func copyProgress(p ReportProgress) ReportProgress {
	p.Regions = slices.Clone(p.Regions)
	return p
}
