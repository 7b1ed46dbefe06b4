package lookup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
	"github.com/callytics/tracebot/secrets"
)

// runbookGeneration is the triage stage of the runbook's example call.
var runbookGeneration = lookup.Generation{
	ID:                     "gen-1779299695-aBcDeFg",
	Model:                  "deepseek/deepseek-v4-flash",
	ProviderName:           "AtlasCloud",
	TotalCost:              0.000122,
	TokensPrompt:           1830,
	TokensCompletion:       214,
	NativeTokensPrompt:     1862,
	NativeTokensCompletion: 220,
	NativeTokensCached:     1713,
	Latency:                1432,
	GenerationTime:         1210,
	FinishReason:           "stop",
	NativeFinishReason:     "stop",
	CreatedAt:              "2026-05-20T17:14:55.123456+00:00",
}

// testKeys stands in for the secrets store: Key returns the current key, and
// Refresh (wired to OnAuthFailure) moves to the next one, as after a rotation.
type testKeys struct {
	mu        sync.Mutex
	keys      []string
	err       error
	reads     int
	refreshes int
}

func newTestKeys(keys ...string) *testKeys { return &testKeys{keys: keys} }

func (k *testKeys) Key(context.Context) (secrets.Secret, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reads++
	if k.err != nil {
		return secrets.Secret{}, k.err
	}
	return secrets.New(k.keys[0]), nil
}

func (k *testKeys) Refresh() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refreshes++
	if len(k.keys) > 1 {
		k.keys = k.keys[1:]
	}
}

func (k *testKeys) counts() (reads, refreshes int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reads, k.refreshes
}

// newTestOpenRouter returns a client with short waits, adjusted by tune.
func newTestOpenRouter(baseURL string, keys *testKeys, tune func(*lookup.OpenRouterConfig)) *lookup.OpenRouter {
	cfg := lookup.OpenRouterConfig{
		BaseURL:       baseURL,
		Key:           keys.Key,
		OnAuthFailure: keys.Refresh,
		NotFoundFor:   2 * time.Second,
		MaxRetries:    3,
		Backoff:       2 * time.Millisecond,
		MaxBackoff:    20 * time.Millisecond,
	}
	if tune != nil {
		tune(&cfg)
	}
	return lookup.NewOpenRouter(cfg)
}

func TestOpenRouterFetchGenerationParses(t *testing.T) {
	t.Parallel()
	const fullID = "gen-1779299823-8nd5Ci0U0mwlGRruPcXq"
	// The documented data object, laid out by hand: Raw must keep it byte for byte.
	full := `{
  "id": "gen-1779299823-8nd5Ci0U0mwlGRruPcXq", "upstream_id": "chatcmpl-791bcf62",
  "total_cost": 0.000774, "cache_discount": 0.0002, "upstream_inference_cost": null,
  "created_at": "2026-05-20T17:14:57.433273+00:00", "model": "deepseek/deepseek-v4-flash",
  "app_id": 12345, "streamed": false, "cancelled": false, "provider_name": "Alibaba Cloud Int",
  "latency": 2250.5, "moderation_latency": null, "generation_time": 2104,
  "finish_reason": "length", "native_finish_reason": "max_tokens",
  "tokens_prompt": 5120, "tokens_completion": 4096, "native_tokens_prompt": 5301,
  "native_tokens_completion": 4096, "native_tokens_completion_images": 0,
  "native_tokens_reasoning": 310, "native_tokens_cached": 4505, "num_media_prompt": null,
  "num_input_audio_prompt": null, "num_media_completion": 0, "num_search_results": null,
  "origin": "", "usage": 0.000774, "is_byok": false, "native_finish_reason_detail": {"a": [1, 2]},
  "api_type": "completions", "router": null, "external_user": null
}`
	const nullID = "gen-1779299700-oPqRsTu"
	nulls := `{"id":"gen-1779299700-oPqRsTu","total_cost":0,"created_at":"2026-05-20T17:15:00Z",` +
		`"model":"deepseek/deepseek-v4-flash","provider_name":null,"latency":null,"generation_time":null,` +
		`"finish_reason":null,"native_finish_reason":null,"tokens_prompt":null,"tokens_completion":null,` +
		`"native_tokens_prompt":null,"native_tokens_completion":null,"native_tokens_cached":null,` +
		`"usage":0,"is_byok":false}`
	built, err := json.Marshal(lookuptest.GenFromLookup(runbookGeneration))
	if err != nil {
		t.Fatal(err)
	}

	srv := lookuptest.NewOpenRouterServer(t)
	srv.AddGenerationJSON(fullID, json.RawMessage(full))
	srv.AddGenerationJSON(nullID, json.RawMessage(nulls))
	srv.AddGeneration(lookuptest.GenFromLookup(runbookGeneration))
	// A trailing slash on the base URL is tolerated.
	or := newTestOpenRouter(srv.URL()+"/", newTestKeys(lookuptest.OpenRouterDefaultKey), nil)

	tests := []struct {
		name    string
		id      string
		want    lookup.Generation
		wantRaw string
	}{
		{
			name: "every documented field",
			id:   fullID,
			want: lookup.Generation{
				ID: fullID, Model: "deepseek/deepseek-v4-flash", ProviderName: "Alibaba Cloud Int",
				TotalCost: 0.000774, TokensPrompt: 5120, TokensCompletion: 4096,
				NativeTokensPrompt: 5301, NativeTokensCompletion: 4096, NativeTokensCached: 4505,
				Latency: 2250.5, GenerationTime: 2104, FinishReason: "length",
				NativeFinishReason: "max_tokens", CreatedAt: "2026-05-20T17:14:57.433273+00:00",
			},
			wantRaw: full,
		},
		{
			name: "nullable fields sent as null",
			id:   nullID,
			want: lookup.Generation{
				ID: nullID, Model: "deepseek/deepseek-v4-flash", CreatedAt: "2026-05-20T17:15:00Z",
			},
			wantRaw: nulls,
		},
		{
			name:    "fixture built from a lookup.Generation",
			id:      runbookGeneration.ID,
			want:    runbookGeneration,
			wantRaw: string(built),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := or.FetchGeneration(context.Background(), tt.id)
			if err != nil {
				t.Fatalf("FetchGeneration: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(lookup.Generation{}, "Raw")); diff != "" {
				t.Errorf("generation (-want +got):\n%s", diff)
			}
			if string(got.Raw) != tt.wantRaw {
				t.Errorf("Raw is not the data object verbatim:\ngot  %s\nwant %s", got.Raw, tt.wantRaw)
			}
		})
	}
}

func TestOpenRouterNotFound(t *testing.T) {
	t.Parallel()
	const id = "gen-1779299697-hIjKlMn"
	tests := []struct {
		name          string
		notFoundTimes int // 404s before the generation appears; -1: it never does
		notFoundFor   time.Duration
		ctxTimeout    time.Duration
		wantCode      string
		wantRetryable bool
		wantMinTime   time.Duration
		wantMaxTime   time.Duration
		wantRequests  func(n int) bool
	}{
		{
			name: "404 twice then found", notFoundTimes: 2, notFoundFor: 2 * time.Second,
			wantMaxTime:  time.Second,
			wantRequests: func(n int) bool { return n == 3 },
		},
		{
			name: "404 for longer than NotFoundFor", notFoundTimes: -1, notFoundFor: 200 * time.Millisecond,
			wantCode: lookup.CodeNotFound, wantMinTime: 200 * time.Millisecond, wantMaxTime: 700 * time.Millisecond,
			wantRequests: func(n int) bool { return n >= 3 },
		},
		{
			name: "ctx ends before NotFoundFor", notFoundTimes: -1, notFoundFor: 5 * time.Second,
			ctxTimeout: 150 * time.Millisecond, wantRetryable: true, wantMaxTime: 600 * time.Millisecond,
			wantRequests: func(n int) bool { return n >= 2 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := lookuptest.NewOpenRouterServer(t)
			if tt.notFoundTimes >= 0 {
				srv.AddGeneration(lookuptest.GenFromLookup(lookup.Generation{ID: id, Model: "m"}))
				srv.NotFoundTimes(id, tt.notFoundTimes)
			}
			or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), func(c *lookup.OpenRouterConfig) {
				c.NotFoundFor = tt.notFoundFor
				c.Backoff = 10 * time.Millisecond
			})
			ctx := context.Background()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}

			start := time.Now()
			g, err := or.FetchGeneration(ctx, id)
			elapsed := time.Since(start)

			wantErr := tt.wantCode != "" || tt.wantRetryable
			if (err != nil) != wantErr {
				t.Fatalf("FetchGeneration error = %v, want error %v", err, wantErr)
			}
			if err == nil && g.ID != id {
				t.Errorf("ID = %q, want %q", g.ID, id)
			}
			if got := lookup.ErrorCode(err); got != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q (err %v)", got, tt.wantCode, err)
			}
			if got := lookup.IsRetryable(err); got != tt.wantRetryable {
				t.Errorf("IsRetryable = %v, want %v (err %v)", got, tt.wantRetryable, err)
			}
			if elapsed < tt.wantMinTime || elapsed > tt.wantMaxTime {
				t.Errorf("took %s, want between %s and %s", elapsed, tt.wantMinTime, tt.wantMaxTime)
			}
			if n := srv.Requests(id); !tt.wantRequests(n) {
				t.Errorf("requests = %d", n)
			}
		})
	}
}

func TestOpenRouterRetryAfter(t *testing.T) {
	t.Parallel()
	const id = "gen-1779299695-aBcDeFg"
	tests := []struct {
		name          string
		status        int
		retryAfter    func() string
		ctxTimeout    time.Duration
		wantErr       bool
		wantMinTime   time.Duration
		wantMaxTime   time.Duration
		wantRequests  int
		wantErrSubstr string
	}{
		{
			name: "429 with delay-seconds", status: http.StatusTooManyRequests,
			retryAfter:  func() string { return "1" },
			wantMinTime: time.Second, wantMaxTime: 1800 * time.Millisecond, wantRequests: 2,
		},
		{
			name: "503 with an HTTP date", status: http.StatusServiceUnavailable,
			retryAfter: func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) },
			// The date has whole seconds: the wait is between 1 and 2 s.
			wantMinTime: 900 * time.Millisecond, wantMaxTime: 2800 * time.Millisecond, wantRequests: 2,
		},
		{
			name: "Retry-After beyond the deadline gives up at once", status: http.StatusTooManyRequests,
			retryAfter: func() string { return "30" }, ctxTimeout: 2 * time.Second,
			wantErr: true, wantMaxTime: 500 * time.Millisecond, wantRequests: 1,
			wantErrSubstr: "no time left to retry",
		},
		{
			name: "Retry-After over a minute gives up at once", status: http.StatusTooManyRequests,
			retryAfter: func() string { return "3600" },
			wantErr:    true, wantMaxTime: 500 * time.Millisecond, wantRequests: 1,
			wantErrSubstr: "retry after 1h0m0s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := lookuptest.NewOpenRouterServer(t)
			srv.AddGeneration(lookuptest.GenFromLookup(runbookGeneration))
			srv.FailRetryAfter(tt.status, 1, tt.retryAfter())
			or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), nil)
			ctx := context.Background()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}

			start := time.Now()
			_, err := or.FetchGeneration(ctx, id)
			elapsed := time.Since(start)

			if (err != nil) != tt.wantErr {
				t.Fatalf("FetchGeneration error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if !lookup.IsRetryable(err) {
					t.Errorf("error %q is not retryable", err)
				}
				if !strings.Contains(err.Error(), tt.wantErrSubstr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErrSubstr)
				}
			}
			if elapsed < tt.wantMinTime || elapsed > tt.wantMaxTime {
				t.Errorf("took %s, want between %s and %s", elapsed, tt.wantMinTime, tt.wantMaxTime)
			}
			if got := srv.Requests(id); got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
		})
	}
}

func TestOpenRouterFailures(t *testing.T) {
	t.Parallel()
	const id = "gen-1779299695-aBcDeFg"
	tests := []struct {
		name          string
		status        int // queued failure
		times         int
		closed        bool // the server is gone
		maxRetries    int
		ctxTimeout    time.Duration
		wantErr       bool
		wantRetryable bool
		wantRequests  int // -1: not checked
		wantMaxTime   time.Duration
		wantErrSubstr string
	}{
		{name: "502 twice then found", status: 502, times: 2, maxRetries: 3,
			wantRequests: 3, wantMaxTime: time.Second},
		{name: "500 storm spends MaxRetries", status: 500, times: 100, maxRetries: 3,
			wantErr: true, wantRetryable: true, wantRequests: 4, wantMaxTime: time.Second,
			wantErrSubstr: "gave up after 4 attempts: HTTP 500"},
		{name: "500 storm bounded by ctx", status: 500, times: 100_000, maxRetries: 1_000_000,
			ctxTimeout: 300 * time.Millisecond, wantErr: true, wantRetryable: true,
			wantRequests: -1, wantMaxTime: 600 * time.Millisecond, wantErrSubstr: "HTTP 500"},
		{name: "408 is retried", status: http.StatusRequestTimeout, times: 1, maxRetries: 3,
			wantRequests: 2, wantMaxTime: time.Second},
		{name: "400 fails at once", status: 400, times: 1, maxRetries: 3,
			wantErr: true, wantRequests: 1, wantMaxTime: time.Second, wantErrSubstr: "HTTP 400: Bad Request"},
		{name: "402 fails at once", status: 402, times: 1, maxRetries: 3,
			wantErr: true, wantRequests: 1, wantMaxTime: time.Second, wantErrSubstr: "HTTP 402"},
		{name: "network failure is retryable", closed: true, maxRetries: 2,
			wantErr: true, wantRetryable: true, wantRequests: -1, wantMaxTime: time.Second,
			wantErrSubstr: "gave up after 3 attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := lookuptest.NewOpenRouterServer(t)
			srv.AddGeneration(lookuptest.GenFromLookup(runbookGeneration))
			if tt.times > 0 {
				srv.Fail(tt.status, tt.times)
			}
			baseURL := srv.URL()
			if tt.closed {
				dead := httptest.NewServer(http.NotFoundHandler())
				baseURL = dead.URL + "/api/v1"
				dead.Close()
			}
			or := newTestOpenRouter(baseURL, newTestKeys(lookuptest.OpenRouterDefaultKey), func(c *lookup.OpenRouterConfig) {
				c.MaxRetries = tt.maxRetries
			})
			ctx := context.Background()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}

			start := time.Now()
			g, err := or.FetchGeneration(ctx, id)
			elapsed := time.Since(start)

			if (err != nil) != tt.wantErr {
				t.Fatalf("FetchGeneration error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && g.ID != id {
				t.Errorf("ID = %q, want %q", g.ID, id)
			}
			if got := lookup.IsRetryable(err); got != tt.wantRetryable {
				t.Errorf("IsRetryable = %v, want %v (err %v)", got, tt.wantRetryable, err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantErrSubstr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErrSubstr)
			}
			if got := srv.Requests(id); tt.wantRequests >= 0 && got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
			if elapsed > tt.wantMaxTime {
				t.Errorf("took %s, want at most %s", elapsed, tt.wantMaxTime)
			}
		})
	}
}

func TestOpenRouterAuth(t *testing.T) {
	t.Parallel()
	const id = "gen-1779299695-aBcDeFg"
	tests := []struct {
		name          string
		serverKey     string
		keys          []string // what the store returns, before and after each refresh
		keyErr        error
		forbidOnce    bool
		wantErrSubstr string // "" means success
		wantRefreshes int
		wantReads     int
		wantRequests  int
	}{
		{name: "rotated key is re-read after 401", serverKey: "sk-or-v1-new",
			keys: []string{"sk-or-v1-old", "sk-or-v1-new"}, wantRefreshes: 1, wantReads: 2, wantRequests: 2},
		{name: "403 is treated as a refused key", serverKey: "sk-or-v1-new", forbidOnce: true,
			keys: []string{"sk-or-v1-new"}, wantRefreshes: 1, wantReads: 2, wantRequests: 2},
		{name: "refused twice", serverKey: "sk-or-v1-other",
			keys:          []string{"sk-or-v1-old", "sk-or-v1-stale"},
			wantErrSubstr: "unauthorized (HTTP 401: User not found.; check /callytics/openrouter-api-key)",
			wantRefreshes: 1, wantReads: 2, wantRequests: 2},
		{name: "key cannot be read", serverKey: "sk-or-v1-new", keyErr: errors.New("ssm: AccessDenied"),
			keys: []string{"sk-or-v1-unread"}, wantErrSubstr: "read API key /callytics/openrouter-api-key: ssm: AccessDenied",
			wantReads: 1},
		{name: "empty key", serverKey: "sk-or-v1-new", keys: []string{""},
			wantErrSubstr: "API key /callytics/openrouter-api-key is empty", wantReads: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := lookuptest.NewOpenRouterServer(t)
			srv.AddGeneration(lookuptest.GenFromLookup(runbookGeneration))
			srv.SetKey(tt.serverKey)
			if tt.forbidOnce {
				srv.Fail(http.StatusForbidden, 1)
			}
			keys := newTestKeys(tt.keys...)
			keys.err = tt.keyErr
			or := newTestOpenRouter(srv.URL(), keys, nil)

			g, err := or.FetchGeneration(context.Background(), id)

			switch {
			case tt.wantErrSubstr == "" && err != nil:
				t.Fatalf("FetchGeneration: %v", err)
			case tt.wantErrSubstr == "" && g.ID != id:
				t.Errorf("ID = %q, want %q", g.ID, id)
			case tt.wantErrSubstr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErrSubstr)):
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErrSubstr)
			}
			if lookup.IsRetryable(err) {
				t.Errorf("error %q is retryable", err)
			}
			for _, k := range append(tt.keys, tt.serverKey) {
				if k != "" && err != nil && strings.Contains(err.Error(), k) {
					t.Errorf("error %q contains a key", err)
				}
			}
			reads, refreshes := keys.counts()
			if reads != tt.wantReads || refreshes != tt.wantRefreshes {
				t.Errorf("key reads, refreshes = %d, %d; want %d, %d", reads, refreshes, tt.wantReads, tt.wantRefreshes)
			}
			if got := srv.Requests(id); got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
		})
	}
}

func TestOpenRouterInvalidID(t *testing.T) {
	t.Parallel()
	srv := lookuptest.NewOpenRouterServer(t)
	or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), nil)
	for _, id := range []string{"", "gen-1 OR 1=1", "gen-1&id=gen-2", "../key", "gen-1\n", "-gen", "gen-€", strings.Repeat("a", 129)} {
		_, err := or.FetchGeneration(context.Background(), id)
		if got := lookup.ErrorCode(err); got != lookup.CodeInvalid {
			t.Errorf("FetchGeneration(%q) error = %v, want code %q", id, err, lookup.CodeInvalid)
		}
	}
	if n := srv.TotalRequests(); n != 0 {
		t.Errorf("%d requests sent for invalid ids", n)
	}
}

func TestOpenRouterCache(t *testing.T) {
	t.Parallel()
	srv := lookuptest.NewOpenRouterServer(t)
	srv.AddGeneration(lookuptest.GenFromLookup(runbookGeneration))
	or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), nil)
	ctx := context.Background()

	first, err := or.FetchGeneration(ctx, runbookGeneration.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := string(first.Raw)
	first.Raw[0] = 'X' // a caller's change must not reach the cache
	second, err := or.FetchGeneration(ctx, runbookGeneration.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(runbookGeneration.ID); n != 1 {
		t.Errorf("requests = %d, want 1 (second fetch from the cache)", n)
	}
	if diff := cmp.Diff(want, string(second.Raw)); diff != "" {
		t.Errorf("cached Raw changed (-want +got):\n%s", diff)
	}
}

func TestOpenRouterCachesOnlySuccess(t *testing.T) {
	t.Parallel()
	const id = "gen-1779299700-oPqRsTu"
	srv := lookuptest.NewOpenRouterServer(t)
	or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), func(c *lookup.OpenRouterConfig) {
		c.NotFoundFor = 30 * time.Millisecond
	})
	if _, err := or.FetchGeneration(context.Background(), id); lookup.ErrorCode(err) != lookup.CodeNotFound {
		t.Fatalf("first fetch error = %v, want not found", err)
	}
	srv.AddGeneration(lookuptest.GenFromLookup(lookup.Generation{ID: id, Model: "m"}))
	g, err := or.FetchGeneration(context.Background(), id)
	if err != nil || g.ID != id {
		t.Fatalf("second fetch = %q, %v; want the generation", g.ID, err)
	}
}

func TestOpenRouterConcurrentFetchesShareOneRequest(t *testing.T) {
	t.Parallel()
	srv := lookuptest.NewOpenRouterServer(t)
	srv.AddGeneration(lookuptest.GenFromLookup(runbookGeneration))
	srv.SetLatency(100 * time.Millisecond)
	or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), nil)

	const callers = 16
	got := make([]lookup.Generation, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = or.FetchGeneration(context.Background(), runbookGeneration.ID) })
	}
	wg.Wait()

	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if diff := cmp.Diff(got[0], got[i]); diff != "" {
			t.Errorf("caller %d got another result (-0 +%d):\n%s", i, i, diff)
		}
	}
	if n := srv.Requests(runbookGeneration.ID); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestOpenRouterWaiterSurvivesFirstCallerCancel(t *testing.T) {
	t.Parallel()
	srv := lookuptest.NewOpenRouterServer(t)
	srv.AddGeneration(lookuptest.GenFromLookup(runbookGeneration))
	srv.SetLatency(150 * time.Millisecond)
	or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), nil)

	firstCtx, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, err := or.FetchGeneration(firstCtx, runbookGeneration.ID)
		firstErr <- err
	}()
	time.Sleep(30 * time.Millisecond) // the first caller's request is in flight
	go func() { time.Sleep(30 * time.Millisecond); cancel() }()

	g, err := or.FetchGeneration(context.Background(), runbookGeneration.ID)
	if err != nil || g.ID != runbookGeneration.ID {
		t.Fatalf("second caller = %q, %v; want the generation", g.ID, err)
	}
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Errorf("first caller error = %v, want context.Canceled", err)
	}
}

func TestOpenRouterHonoursDeadline(t *testing.T) {
	t.Parallel()
	srv := lookuptest.NewOpenRouterServer(t)
	srv.AddGeneration(lookuptest.GenFromLookup(runbookGeneration))
	srv.SetLatency(5 * time.Second)
	or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	start := time.Now()
	_, err := or.FetchGeneration(ctx, runbookGeneration.ID)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %s after a 100ms deadline", elapsed)
	}
}

func TestOpenRouterCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		serverKey     string
		failStatus    int
		wantErrSubstr string // "" means success
	}{
		{name: "key accepted", serverKey: lookuptest.OpenRouterDefaultKey},
		{name: "key refused", serverKey: "sk-or-v1-other",
			wantErrSubstr: "openrouter: check key: unauthorized (HTTP 401"},
		{name: "server error", serverKey: lookuptest.OpenRouterDefaultKey, failStatus: 500,
			wantErrSubstr: "openrouter: check key: HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := lookuptest.NewOpenRouterServer(t)
			srv.SetKey(tt.serverKey)
			if tt.failStatus != 0 {
				srv.Fail(tt.failStatus, 1)
			}
			or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), nil)

			err := or.Check(context.Background())

			if tt.wantErrSubstr == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstr) {
				t.Fatalf("Check error = %v, want one containing %q", err, tt.wantErrSubstr)
			}
			if err != nil && strings.Contains(err.Error(), lookuptest.OpenRouterDefaultKey) {
				t.Errorf("error %q contains the key", err)
			}
			if n := srv.TotalRequests(); n == 0 {
				t.Error("Check sent no request")
			}
		})
	}
}

// TestOpenRouterNeverLeaksKey runs every failure path against a server that echoes
// the Authorization header back, and checks that the key appears in no error and no
// log line.
func TestOpenRouterNeverLeaksKey(t *testing.T) {
	t.Parallel()
	const canary = "sk-or-v1-CANARY-3f9a7c1e5d2b8f60"
	tests := []struct {
		name       string
		status     int
		body       string // %s is replaced by the received Authorization header
		wantQuoted bool   // the error quotes the body, with the key redacted
	}{
		{name: "400 JSON", status: 400, body: `{"error":{"code":400,"message":"bad request from %s"}}`, wantQuoted: true},
		{name: "401 JSON", status: 401, body: `{"error":{"code":401,"message":"invalid %s"}}`, wantQuoted: true},
		{name: "403 JSON", status: 403, body: `{"error":{"code":403,"message":"forbidden %s"}}`, wantQuoted: true},
		{name: "404 JSON", status: 404, body: `{"error":{"code":404,"message":"no generation for %s"}}`},
		{name: "429 JSON", status: 429, body: `{"error":{"code":429,"message":"slow down %s"}}`, wantQuoted: true},
		{name: "500 text", status: 500, body: "upstream said:\n%s", wantQuoted: true},
		{name: "502 HTML", status: 502, body: "<html><body>%s</body></html>", wantQuoted: true},
		{name: "200 not JSON", status: 200, body: "<html>%s</html>"},
		{name: "200 another generation", status: 200, body: `{"data":{"id":"%s","model":"m"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sawKey atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				if strings.Contains(auth, canary) {
					sawKey.Store(true)
				}
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, tt.body, auth)
			}))
			t.Cleanup(srv.Close)
			var logs bytes.Buffer
			or := newTestOpenRouter(srv.URL, newTestKeys(canary), func(c *lookup.OpenRouterConfig) {
				c.MaxRetries = 1
				c.NotFoundFor = 20 * time.Millisecond
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})

			_, fetchErr := or.FetchGeneration(context.Background(), "gen-1779299695-aBcDeFg")
			checkErr := or.Check(context.Background())

			if !sawKey.Load() {
				t.Fatal("the server never received the key: the test proves nothing")
			}
			for what, err := range map[string]error{"FetchGeneration": fetchErr, "Check": checkErr} {
				if err == nil && (what == "FetchGeneration" || tt.status != 200) {
					t.Errorf("%s succeeded, want an error", what)
					continue
				}
				for _, text := range []string{fmt.Sprint(err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
					if strings.Contains(text, canary) {
						t.Errorf("%s error leaks the key: %s", what, text)
					}
				}
				if tt.wantQuoted && !strings.Contains(fmt.Sprint(err), "[redacted]") {
					t.Errorf("%s error %q does not quote the redacted body", what, err)
				}
			}
			if strings.Contains(logs.String(), canary) {
				t.Errorf("logs leak the key:\n%s", logs.String())
			}
		})
	}
}
