package lookuptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/callytics/tracebot/lookup"
)

// OpenRouterDefaultKey is the API key an OpenRouterServer accepts until SetKey.
const OpenRouterDefaultKey = "sk-or-v1-lookuptest-0000000000000000"

// OpenRouterGeneration is the data object of OpenRouter's GET /generation in its
// full wire shape, for building fixtures. Pointer fields are the ones the API may
// send as null.
type OpenRouterGeneration struct {
	ID                           string   `json:"id"`
	UpstreamID                   string   `json:"upstream_id"`
	TotalCost                    float64  `json:"total_cost"`
	CacheDiscount                *float64 `json:"cache_discount"`
	UpstreamInferenceCost        *float64 `json:"upstream_inference_cost"`
	CreatedAt                    string   `json:"created_at"`
	Model                        string   `json:"model"`
	AppID                        *int64   `json:"app_id"`
	Streamed                     bool     `json:"streamed"`
	Cancelled                    bool     `json:"cancelled"`
	ProviderName                 string   `json:"provider_name"`
	Latency                      float64  `json:"latency"`
	ModerationLatency            *float64 `json:"moderation_latency"`
	GenerationTime               float64  `json:"generation_time"`
	FinishReason                 string   `json:"finish_reason"`
	NativeFinishReason           string   `json:"native_finish_reason"`
	TokensPrompt                 int64    `json:"tokens_prompt"`
	TokensCompletion             int64    `json:"tokens_completion"`
	NativeTokensPrompt           int64    `json:"native_tokens_prompt"`
	NativeTokensCompletion       int64    `json:"native_tokens_completion"`
	NativeTokensCompletionImages *int64   `json:"native_tokens_completion_images"`
	NativeTokensReasoning        int64    `json:"native_tokens_reasoning"`
	NativeTokensCached           int64    `json:"native_tokens_cached"`
	NumMediaPrompt               *int64   `json:"num_media_prompt"`
	NumInputAudioPrompt          *int64   `json:"num_input_audio_prompt"`
	NumMediaCompletion           *int64   `json:"num_media_completion"`
	NumSearchResults             *int64   `json:"num_search_results"`
	Origin                       string   `json:"origin"`
	Usage                        float64  `json:"usage"`
	IsBYOK                       bool     `json:"is_byok"`
	ExternalUser                 *string  `json:"external_user"`
	APIType                      *string  `json:"api_type"`
	Router                       *string  `json:"router"`
}

// GenFromLookup returns g in the API's wire shape, with plausible values for the
// fields lookup.Generation does not hold.
func GenFromLookup(g lookup.Generation) OpenRouterGeneration {
	discount := 0.0
	return OpenRouterGeneration{
		ID:                     g.ID,
		UpstreamID:             "chatcmpl-" + g.ID,
		TotalCost:              g.TotalCost,
		CacheDiscount:          &discount,
		CreatedAt:              g.CreatedAt,
		Model:                  g.Model,
		ProviderName:           g.ProviderName,
		Latency:                g.Latency,
		GenerationTime:         g.GenerationTime,
		FinishReason:           g.FinishReason,
		NativeFinishReason:     g.NativeFinishReason,
		TokensPrompt:           g.TokensPrompt,
		TokensCompletion:       g.TokensCompletion,
		NativeTokensPrompt:     g.NativeTokensPrompt,
		NativeTokensCompletion: g.NativeTokensCompletion,
		NativeTokensCached:     g.NativeTokensCached,
		Usage:                  g.TotalCost,
	}
}

// OpenRouterServer is a fake of OpenRouter's API (GET /generation?id=, GET
// /generation/content?id= and GET /key under /api/v1) that checks the Bearer key and
// answers in the real shapes: {"data": {...}} or {"error": {"code", "message"}}. A
// generation whose content was never added answers 404 on /generation/content, as
// OpenRouter does when input/output logging is off. Its knobs and counters are safe
// for concurrent use.
type OpenRouterServer struct {
	tb  testing.TB
	srv *httptest.Server

	mu          sync.Mutex
	key         string
	gens        map[string]json.RawMessage
	contents    map[string]json.RawMessage
	rawContents map[string][]byte // whole response bodies, served verbatim
	contentFail []openRouterFailure
	contentWait time.Duration
	notFound    map[string]int
	failures    []openRouterFailure
	latency     time.Duration
	requests    map[string]int
	total       int
	inFlight    int
	maxInFlight int
}

type openRouterFailure struct {
	status     int
	left       int
	retryAfter string
}

// NewOpenRouterServer starts a fake OpenRouter, closed when tb ends. It accepts
// OpenRouterDefaultKey and knows no generation yet.
func NewOpenRouterServer(tb testing.TB) *OpenRouterServer {
	tb.Helper()
	s := &OpenRouterServer{
		tb:          tb,
		key:         OpenRouterDefaultKey,
		gens:        map[string]json.RawMessage{},
		contents:    map[string]json.RawMessage{},
		rawContents: map[string][]byte{},
		notFound:    map[string]int{},
		requests:    map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/generation", s.serveGeneration)
	mux.HandleFunc("GET /api/v1/generation/content", s.serveContent)
	mux.HandleFunc("GET /api/v1/key", s.serveKey)
	s.srv = httptest.NewServer(s.track(s.authorize(s.failing(mux))))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL returns the base URL to configure (TRACEBOT_OPENROUTER_URL), ending in /api/v1.
func (s *OpenRouterServer) URL() string { return s.srv.URL + "/api/v1" }

// AddGeneration makes g known; it is served as the data object, encoded from g.
func (s *OpenRouterServer) AddGeneration(g OpenRouterGeneration) {
	s.tb.Helper()
	s.AddGenerationJSON(g.ID, s.encode("generation", g.ID, g))
}

// AddGenerationJSON makes id known with data served verbatim as the data object.
func (s *OpenRouterServer) AddGenerationJSON(id string, data json.RawMessage) {
	s.tb.Helper()
	s.add(s.gens, "generation", id, data)
}

// encode is v as JSON, failing the test when it cannot be encoded.
func (s *OpenRouterServer) encode(kind, id string, v any) json.RawMessage {
	s.tb.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		s.tb.Fatalf("lookuptest: encode %s %s: %v", kind, id, err)
	}
	return data
}

// add stores a copy of data (which must be JSON) as records[id].
func (s *OpenRouterServer) add(records map[string]json.RawMessage, kind, id string, data json.RawMessage) {
	s.tb.Helper()
	if !json.Valid(data) {
		s.tb.Fatalf("lookuptest: %s %s: data is not valid JSON", kind, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	records[id] = append(json.RawMessage(nil), data...)
}

// OpenRouterContent is the data object of GET /generation/content. Input is
// {"messages": [...]} or {"prompt": "..."}; a nil Completion is served as null
// (OpenRouter kept the record but not the output).
type OpenRouterContent struct {
	Input  any                     `json:"input"`
	Output OpenRouterContentOutput `json:"output"`
	Error  any                     `json:"error"`
}

// OpenRouterContentOutput is the output part of OpenRouterContent.
type OpenRouterContentOutput struct {
	Completion *string `json:"completion"`
	Reasoning  *string `json:"reasoning"`
}

// ChatInput returns a chat input of system and user messages.
func ChatInput(system, user string) map[string]any {
	return map[string]any{"messages": []map[string]string{{"role": "system", "content": system}, {"role": "user", "content": user}}}
}

// AddContent makes the stored content of generation id known.
func (s *OpenRouterServer) AddContent(id string, c OpenRouterContent) {
	s.tb.Helper()
	s.AddContentJSON(id, s.encode("content", id, c))
}

// AddContentJSON makes id's content known with data served verbatim as the data
// object.
func (s *OpenRouterServer) AddContentJSON(id string, data json.RawMessage) {
	s.tb.Helper()
	s.add(s.contents, "content", id, data)
}

// AddContentRaw makes GET /generation/content?id= answer 200 with body verbatim
// (not wrapped in {"data": …}), to serve broken or oversized answers.
func (s *OpenRouterServer) AddContentRaw(id string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rawContents[id] = append([]byte(nil), body...)
}

// FailContent makes the next n authorized content requests answer status (the
// generation endpoint is untouched).
func (s *OpenRouterServer) FailContent(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contentFail = append(s.contentFail, openRouterFailure{status: status, left: n})
}

// SetContentLatency delays every content answer by d, on top of SetLatency.
func (s *OpenRouterServer) SetContentLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contentWait = d
}

// NotFoundTimes makes the next n requests for id answer 404, as OpenRouter does for
// a few seconds after a generation ran.
func (s *OpenRouterServer) NotFoundTimes(id string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notFound[id] = n
}

// Fail makes the next n authorized requests answer status, after any failures
// queued before.
func (s *OpenRouterServer) Fail(status, n int) { s.FailRetryAfter(status, n, "") }

// FailRetryAfter is Fail with a Retry-After header (seconds or an HTTP date).
func (s *OpenRouterServer) FailRetryAfter(status, n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, openRouterFailure{status: status, left: n, retryAfter: retryAfter})
}

// SetKey sets the only key accepted; any other answers 401.
func (s *OpenRouterServer) SetKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// SetLatency delays every answer by d (the request's cancellation cuts it short).
func (s *OpenRouterServer) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Requests returns how many GET /generation requests asked for id.
func (s *OpenRouterServer) Requests(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[id]
}

// ContentRequests returns how many GET /generation/content requests asked for id.
func (s *OpenRouterServer) ContentRequests(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests["content "+id]
}

// TotalRequests returns how many requests reached the server, on any path.
func (s *OpenRouterServer) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// MaxConcurrent returns the most requests that were in flight at once.
func (s *OpenRouterServer) MaxConcurrent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// track counts requests and concurrency, then waits the injected latency.
func (s *OpenRouterServer) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.total++
		switch r.URL.Path {
		case "/api/v1/generation":
			s.requests[r.URL.Query().Get("id")]++
		case "/api/v1/generation/content":
			s.requests["content "+r.URL.Query().Get("id")]++
		}
		s.inFlight++
		s.maxInFlight = max(s.maxInFlight, s.inFlight)
		latency := s.latency
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.inFlight--
			s.mu.Unlock()
		}()
		if openRouterWait(r, latency) {
			next.ServeHTTP(w, r)
		}
	})
}

// openRouterWait waits d; false when the client went away first.
func openRouterWait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *OpenRouterServer) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		want := "Bearer " + s.key
		s.mu.Unlock()
		switch got := r.Header.Get("Authorization"); {
		case got == "":
			writeOpenRouterError(w, http.StatusUnauthorized, "No auth credentials found")
		case got != want:
			writeOpenRouterError(w, http.StatusUnauthorized, "User not found.")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (s *OpenRouterServer) failing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.nextFailure()
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		writeOpenRouterError(w, f.status, http.StatusText(f.status))
	})
}

func (s *OpenRouterServer) nextFailure() (openRouterFailure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.failures) > 0 && s.failures[0].left <= 0 {
		s.failures = s.failures[1:]
	}
	if len(s.failures) == 0 {
		return openRouterFailure{}, false
	}
	s.failures[0].left--
	return s.failures[0], true
}

func (s *OpenRouterServer) serveGeneration(w http.ResponseWriter, r *http.Request) {
	s.serveData(w, r, s.gens)
}

func (s *OpenRouterServer) serveContent(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	s.mu.Lock()
	wait, raw := s.contentWait, s.rawContents[id]
	var fail *openRouterFailure
	for len(s.contentFail) > 0 && s.contentFail[0].left <= 0 {
		s.contentFail = s.contentFail[1:]
	}
	if len(s.contentFail) > 0 {
		s.contentFail[0].left--
		fail = &s.contentFail[0]
	}
	s.mu.Unlock()
	if !openRouterWait(r, wait) {
		return
	}
	switch {
	case fail != nil:
		writeOpenRouterError(w, fail.status, http.StatusText(fail.status))
	case raw != nil:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
	default:
		s.serveData(w, r, s.contents)
	}
}

// serveData answers {"data": …} for the id asked, from records (gens or contents);
// NotFoundTimes holds back both of an id's records.
func (s *OpenRouterServer) serveData(w http.ResponseWriter, r *http.Request, records map[string]json.RawMessage) {
	id := r.URL.Query().Get("id")
	if id == "" {
		writeOpenRouterError(w, http.StatusBadRequest, "id is required")
		return
	}
	s.mu.Lock()
	data, known := records[id]
	pending := s.notFound[id] > 0
	if pending {
		s.notFound[id]--
	}
	s.mu.Unlock()
	if pending || !known {
		writeOpenRouterError(w, http.StatusNotFound, "Generation not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"data":%s}`, data)
}

func (s *OpenRouterServer) serveKey(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"data":{"label":"lookuptest","limit":null,"usage":0.0123,"usage_daily":0.001,`+
		`"is_free_tier":false,"is_provisioning_key":false,"limit_remaining":null,`+
		`"rate_limit":{"requests":-1,"interval":"10s"}}}`)
}

func writeOpenRouterError(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
