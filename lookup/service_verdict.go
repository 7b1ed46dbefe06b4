package lookup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// joinContent records a stored-content fetch on the stage and parses its answer:
// Content and ContentError say what came back, Output and OutputError what the
// answer is.
func (s *Stage) joinContent(c Content, err error) {
	switch {
	case err != nil:
		s.Content, s.ContentError = ContentFailed, errLine(err)
		s.contentFailed = backendFailure(err)
	case !c.Stored:
		s.Content = ContentNone
		s.ContentError = fmt.Sprintf("OpenRouter stored no content for %s (input/output logging off or zero data retention)", s.GenerationID)
	default:
		s.Content, s.content = ContentStored, &c
		answer, perr := ParseAnswer(c.Completion(), s.FinishReason)
		if perr != nil {
			s.OutputError = perr.Error()
			return
		}
		s.answer, s.Output = answer, answer.JSON()
	}
}

// contentOfMissingGeneration corrects the content of a generation OpenRouter does
// not know: its content's 404 means there is no such generation, not that its
// logging was off, so the verdict names that instead.
func (s *Stage) contentOfMissingGeneration() {
	if s.noGeneration && s.Content == ContentNone {
		s.Content, s.ContentError = ContentFailed, s.GenerationError
	}
}

// verdictOn reports whether the verdict's two reads are configured.
func (s *Service) verdictOn() bool { return s.cfg.Contents != nil && s.cfg.Analyses != nil }

// analysisRead is the outcome of reading the stored analysis.
type analysisRead struct {
	status  AnalysisStatus
	object  map[string]any
	elapsed time.Duration
}

// readAnalysis starts reading the call's stored analysis, so that it overlaps steps
// 3 and 4; judge waits for it.
func (w *walk) readAnalysis(ctx context.Context, call Call) {
	if !w.svc.verdictOn() {
		return
	}
	ch := make(chan analysisRead, 1)
	w.analysis = ch
	path := call.S3AnalysisPath
	if path == "" {
		ch <- analysisRead{status: AnalysisStatus{Error: "the call has no s3_analysis_path (not analyzed yet)"}}
		return
	}
	go func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(ctx, w.svc.cfg.AnalysisTimeout)
		defer cancel()
		obj, err := w.svc.cfg.Analyses.ReadAnalysis(ctx, path)
		r := analysisRead{status: AnalysisStatus{Path: path, Read: err == nil}, object: obj, elapsed: time.Since(start)}
		if err != nil {
			r.status.Error = AnalysisCause(path, err)
			if s3Failure(err) {
				r.status.Backend = BackendS3
			}
			w.svc.cfg.Logger.Warn("verdict: stored analysis not read", "trace_id", w.t.TraceID, "err", err)
		}
		ch <- r
	}()
}

// fetchContent adds, beside a stage's generation fetch on g, the fetch of its stored
// content; mu guards the stage and the trace's timings.
func (w *walk) fetchContent(ctx context.Context, g *errgroup.Group, mu *sync.Mutex, s *Stage, start time.Time) {
	if !w.svc.verdictOn() {
		return
	}
	g.Go(func() error {
		c, err := w.svc.cfg.Contents.FetchContent(ctx, s.GenerationID)
		if err != nil {
			w.svc.cfg.Logger.Warn("verdict: stored content not read", "trace_id", w.t.TraceID, "stage", s.Stage, "err", err)
		}
		mu.Lock()
		defer mu.Unlock()
		s.joinContent(c, err)
		w.t.TimingsMS.Content = max(w.t.TimingsMS.Content, time.Since(start).Milliseconds())
		return nil
	})
}

// judge makes the verdict once the walk is over: it waits for the analysis read (a
// trace that found no call has none to wait for) and compares.
func (w *walk) judge() {
	if !w.svc.verdictOn() || (w.t.Call == nil && len(w.t.Stages) == 0) {
		return
	}
	r := analysisRead{status: AnalysisStatus{Error: "no call was traced (only generation ids), so there is no stored analysis"}}
	if w.analysis != nil {
		r = <-w.analysis
	}
	w.t.Analysis = &r.status
	w.t.TimingsMS.Analysis = r.elapsed.Milliseconds()
	w.t.Verdict = decideVerdict(w.t.Stages, r.status, r.object)
}

// ContentRef names one stage's generation so that its stored content can be
// fetched again later, e.g. by a Model output button answered on another replica
// (the ref travels as the button's typed JSON value).
type ContentRef struct {
	Stage        string `json:"stage"`
	GenerationID string `json:"generation_id"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// ContentRefs returns a ref for each of t's stages that has a generation id.
func (t *Trace) ContentRefs() []ContentRef {
	var refs []ContentRef
	for _, s := range t.Stages {
		if s.GenerationID != "" {
			refs = append(refs, ContentRef{Stage: s.Stage, GenerationID: s.GenerationID, FinishReason: s.FinishReason})
		}
	}
	return refs
}

// ErrVerdictOff is returned by StoredContents when no content fetcher is configured
// (TRACEBOT_VERDICT=off).
var ErrVerdictOff = errors.New("stored content is not read (TRACEBOT_VERDICT=off)")

// StoredContents fetches the stored content of each ref concurrently, within
// GenerationsTimeout, and returns one Stage per ref with Stage, GenerationID,
// FinishReason, Content, ContentError, Output and OutputError set, and Answer,
// InputExcerpt and StoredContent usable. A failed fetch is recorded on its stage
// (Content ContentFailed), never returned; the error is ErrVerdictOff only.
func (s *Service) StoredContents(ctx context.Context, refs []ContentRef) ([]Stage, error) {
	if s.cfg.Contents == nil {
		return nil, ErrVerdictOff
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.GenerationsTimeout)
	defer cancel()
	stages := make([]Stage, len(refs))
	var g errgroup.Group
	for i, r := range refs {
		stages[i] = Stage{Stage: r.Stage, GenerationID: r.GenerationID, FinishReason: r.FinishReason}
		g.Go(func() error {
			c, err := s.cfg.Contents.FetchContent(ctx, r.GenerationID)
			stages[i].joinContent(c, err)
			return nil
		})
	}
	_ = g.Wait()
	return stages, nil
}
