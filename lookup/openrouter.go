package lookup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/callytics/tracebot/secrets"
)

const (
	defaultOpenRouterURL     = "https://openrouter.ai/api/v1"
	defaultOpenRouterKeyName = "/callytics/openrouter-api-key"

	// openRouterMaxRetryAfter is the longest Retry-After that is waited out; a longer
	// one gives up at once (the user can press Refresh later).
	openRouterMaxRetryAfter = time.Minute
	// openRouterMaxNotFoundWait caps the wait between 404 retries, so a generation
	// whose stats just appeared is noticed within about a second.
	openRouterMaxNotFoundWait = time.Second
	openRouterMaxBody         = 1 << 20 // bytes of a response read
	openRouterMaxMessage      = 200     // runes of a response quoted in an error
)

// openRouterIDPattern accepts OpenRouter generation ids ("gen-1779299695-aBcDeFg")
// and nothing that could change the request: the id goes in a query string.
var openRouterIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// OpenRouterConfig configures an OpenRouter client. Only Key is required; zero values
// take the defaults named on each field.
type OpenRouterConfig struct {
	// BaseURL is TRACEBOT_OPENROUTER_URL; default https://openrouter.ai/api/v1.
	BaseURL string
	// Key returns the API key (from SSM through the secrets store). It is called for
	// every request, so a store that caches and refreshes the key sees rotations.
	Key func(ctx context.Context) (secrets.Secret, error)
	// KeyName names the key's source in authentication errors; default
	// /callytics/openrouter-api-key.
	KeyName string
	// OnAuthFailure is called when OpenRouter refuses the key (401/403), so the store
	// re-reads it; the request is then sent once more with the key Key returns. It
	// may be called from several goroutines at once.
	OnAuthFailure func()
	// NotFoundFor is how long a 404 is retried, since a generation's stats appear a
	// few seconds after it ran; default 5s.
	NotFoundFor time.Duration
	// MaxRetries bounds the retries of throttling (429), server errors (5xx, 408) and
	// network failures; default 4. Every wait is also bounded by the caller's ctx.
	MaxRetries int
	// Backoff is the wait before the first retry, doubled for each further retry up
	// to MaxBackoff, with jitter; defaults 250ms and 4s.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// CacheSize is the number of generations kept (they never change); default 1024.
	CacheSize int
	// ContentCacheSize is the number of stored contents kept (immutable too, but up
	// to a megabyte each); default 64.
	ContentCacheSize int
	// HTTPClient sends the requests; default a client with a 15s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

func (c OpenRouterConfig) withDefaults() OpenRouterConfig {
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.BaseURL == "" {
		c.BaseURL = defaultOpenRouterURL
	}
	if c.KeyName == "" {
		c.KeyName = defaultOpenRouterKeyName
	}
	if c.NotFoundFor <= 0 {
		c.NotFoundFor = 5 * time.Second
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 4
	}
	if c.Backoff <= 0 {
		c.Backoff = 250 * time.Millisecond
	}
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = max(4*time.Second, c.Backoff)
	}
	if c.CacheSize <= 0 {
		c.CacheSize = 1024
	}
	if c.ContentCacheSize <= 0 {
		c.ContentCacheSize = 64
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// OpenRouter reads generations from OpenRouter's API (step 4). It is safe for
// concurrent use: successful results are cached, and concurrent fetches of one id
// share a single request.
type OpenRouter struct {
	cfg      OpenRouterConfig
	cache    *lru.Cache[string, Generation]
	contents *lru.Cache[string, Content]
	flights  singleflight.Group
}

var (
	_ GenerationFetcher = (*OpenRouter)(nil)
	_ ContentFetcher    = (*OpenRouter)(nil)
)

// NewOpenRouter returns a client for cfg. It does no I/O.
func NewOpenRouter(cfg OpenRouterConfig) *OpenRouter {
	cfg = cfg.withDefaults()
	return &OpenRouter{cfg: cfg, cache: openRouterCache[Generation](cfg.CacheSize),
		contents: openRouterCache[Content](cfg.ContentCacheSize)}
}

func openRouterCache[T any](size int) *lru.Cache[string, T] {
	c, err := lru.New[string, T](size)
	if err != nil { // only for a size <= 0, which withDefaults rules out
		panic(fmt.Sprintf("openrouter: cache: %v", err))
	}
	return c
}

// FetchGeneration returns the generation with that id (GET {BaseURL}/generation?id=),
// from the cache when it was read before. The result's Raw is the API's data object,
// verbatim. Errors, none of which contain the key:
//   - an *Error with CodeInvalid when id is not a generation id (nothing is sent);
//   - an *Error with CodeNotFound when OpenRouter still answers 404 after NotFoundFor;
//   - a RetryableError for throttling, server and network failures once MaxRetries or
//     ctx is exhausted, and for a generation not yet visible when ctx ends;
//   - an "unauthorized" error naming KeyName when the key is refused twice;
//   - an error wrapping ctx's error when ctx ends while waiting.
func (o *OpenRouter) FetchGeneration(ctx context.Context, id string) (Generation, error) {
	if !openRouterIDPattern.MatchString(id) {
		return Generation{}, Errorf(CodeInvalid, "%q is not an OpenRouter generation id", openRouterClip(id, 40))
	}
	if g, ok := o.cache.Get(id); ok {
		return openRouterCopy(g), nil
	}
	g, err := openRouterShared(ctx, &o.flights, id, id, o.fetch)
	if err != nil {
		return Generation{}, err
	}
	return openRouterCopy(g), nil
}

// openRouterShared runs at most one fetch per key at a time; each caller waits for
// it under its own ctx. The shared fetch runs under the ctx of the caller that
// started it, so a waiter whose ctx is still live when that one was cancelled tries
// once more.
func openRouterShared[T any](ctx context.Context, flights *singleflight.Group, key, id string,
	fetch func(context.Context, string) (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		leading := make(chan struct{}) // closed when this call's fetch is the shared one
		ch := flights.DoChan(key, func() (any, error) {
			close(leading)
			return fetch(ctx, id)
		})
		r, err := openRouterAwait(ctx, ch, leading)
		if err != nil {
			var zero T
			return zero, fmt.Errorf("openrouter %s: %w", id, err)
		}
		if r.Err != nil && attempt == 0 && ctx.Err() == nil && openRouterCanceled(r.Err) {
			continue
		}
		v, _ := r.Val.(T)
		return v, r.Err
	}
}

// openRouterAwait waits for a shared fetch's result until ctx ends. When ctx ends
// and the fetch is this caller's own, it runs under ctx and is ending too: its result
// says more than ctx's error (e.g. the 500s being retried), so it is awaited.
func openRouterAwait(ctx context.Context, ch <-chan singleflight.Result, leading <-chan struct{}) (singleflight.Result, error) {
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
	}
	select {
	case <-leading:
		return <-ch, nil
	default:
		return singleflight.Result{}, ctx.Err()
	}
}

func openRouterCanceled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// fetch reads one generation, retrying as the status asks, and caches a success.
func (o *OpenRouter) fetch(ctx context.Context, id string) (Generation, error) {
	if g, ok := o.cache.Get(id); ok { // a flight that just ended may have filled it
		return g, nil
	}
	body, err := o.getRetrying(ctx, id, o.cfg.BaseURL+"/generation?id="+url.QueryEscape(id), o.cfg.NotFoundFor)
	if err != nil {
		return Generation{}, fmt.Errorf("openrouter %s: %w", id, err)
	}
	g, err := parseOpenRouterGeneration(id, body)
	if err != nil {
		return Generation{}, fmt.Errorf("openrouter %s: %w", id, err)
	}
	o.cache.Add(id, g)
	return g, nil
}

// getRetrying GETs u until it answers 200 and returns the body, retrying as the
// status asks: 429/5xx/network failures with backoff, a 404 for notFoundFor (then
// an *Error with CodeNotFound). Errors are not yet prefixed with the component.
func (o *OpenRouter) getRetrying(ctx context.Context, id, u string, notFoundFor time.Duration) ([]byte, error) {
	st := openRouterAttempts{notFoundFor: notFoundFor}
	var last error // the failure being retried, if any
	for {
		rep, err := o.get(ctx, u)
		if err == nil && rep.status == http.StatusOK {
			return rep.body, nil
		}
		wait, failure := o.nextWait(&st, id, rep, err)
		if wait < 0 && last != nil && ctx.Err() != nil {
			// ctx ended during a retry: say what was being retried.
			failure = fmt.Errorf("%w while retrying: %w", failure, last)
		}
		if wait < 0 {
			return nil, failure
		}
		if err := o.sleep(ctx, wait, failure); err != nil {
			return nil, err
		}
		last = failure
	}
}

// FetchContent returns what OpenRouter stored of the generation with that id (GET
// {BaseURL}/generation/content?id=), from the cache when it was read before. It
// shares the key, retries and re-reading of a refused key with FetchGeneration. A
// 404, or a null completion, is a Content whose Stored is false and a nil error:
// OpenRouter kept nothing (input/output logging off, or zero data retention). A
// 404 is first retried for NotFoundFor only while the generation is fresh (its id
// carries the time it ran), since its content may not be published yet. Errors are
// those of FetchGeneration other than CodeNotFound; none holds the key or content.
func (o *OpenRouter) FetchContent(ctx context.Context, id string) (Content, error) {
	if !openRouterIDPattern.MatchString(id) {
		return Content{}, Errorf(CodeInvalid, "%q is not an OpenRouter generation id", openRouterClip(id, 40))
	}
	if c, ok := o.contents.Get(id); ok {
		return openRouterContentCopy(c), nil
	}
	c, err := openRouterShared(ctx, &o.flights, "content "+id, id, o.fetchContent)
	if err != nil {
		return Content{}, err
	}
	return openRouterContentCopy(c), nil
}

// fetchContent reads one generation's content and caches the result, stored or not.
func (o *OpenRouter) fetchContent(ctx context.Context, id string) (Content, error) {
	if c, ok := o.contents.Get(id); ok {
		return c, nil
	}
	notFoundFor := time.Duration(0)
	if openRouterFresh(id, time.Now()) {
		notFoundFor = o.cfg.NotFoundFor
	}
	u := o.cfg.BaseURL + "/generation/content?id=" + url.QueryEscape(id)
	body, err := o.getRetrying(ctx, id, u, notFoundFor)
	var c Content
	switch {
	case ErrorCode(err) == CodeNotFound:
		c = ContentNotStored(id, "HTTP 404")
	case err != nil:
		return Content{}, fmt.Errorf("openrouter %s: content: %w", id, err)
	default:
		if c, err = parseOpenRouterContent(id, body); err != nil {
			return Content{}, fmt.Errorf("openrouter %s: content: %w", id, err)
		}
	}
	o.contents.Add(id, c)
	return c, nil
}

// openRouterContentFresh is how long after a generation ran a 404 for its content
// may still mean "not published yet".
const openRouterContentFresh = 2 * time.Minute

// openRouterFresh reports whether the generation ran less than
// openRouterContentFresh ago, by the Unix time in its id ("gen-1779299695-…"). An
// id without one counts as fresh, so it is retried like a generation.
func openRouterFresh(id string, now time.Time) bool {
	parts := strings.SplitN(id, "-", 3)
	if len(parts) < 3 || parts[0] != "gen" {
		return true
	}
	secs, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return true
	}
	return now.Sub(time.Unix(secs, 0)) < openRouterContentFresh
}

// parseOpenRouterContent reads {"data": {"input": …, "output": {"completion": …}}}.
// A null data, output or completion means nothing was stored.
func parseOpenRouterContent(id string, body []byte) (Content, error) {
	var env struct {
		Data *struct {
			Input  json.RawMessage `json:"input"`
			Output *struct {
				Completion *string `json:"completion"`
			} `json:"output"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Content{}, fmt.Errorf("decode response: %w", answerSyntax(err))
	}
	if env.Data == nil || env.Data.Output == nil || env.Data.Output.Completion == nil {
		return ContentNotStored(id, "no completion"), nil
	}
	return NewContent(id, *env.Data.Output.Completion, env.Data.Input), nil
}

// openRouterContentCopy copies c so that callers cannot change a cached input.
func openRouterContentCopy(c Content) Content {
	c.input = append(json.RawMessage(nil), c.input...)
	return c
}

// openRouterAttempts is what a fetch has seen so far.
type openRouterAttempts struct {
	notFoundFor   time.Duration // how long 404s are retried
	retries       int           // 429/5xx/network failures retried
	notFound      int           // 404s retried
	notFoundSince time.Time     // first 404
}

// nextWait decides what a failed attempt means: a wait before the next attempt and
// the failure that caused it, or a negative wait and the error to return.
func (o *OpenRouter) nextWait(st *openRouterAttempts, id string, rep openRouterReply, err error) (time.Duration, error) {
	switch {
	case err != nil && !IsRetryable(err):
		return -1, err
	case err != nil:
		return o.transientWait(st, err, 0)
	case rep.status == http.StatusNotFound:
		return o.notFoundWait(st, id)
	case rep.status == http.StatusTooManyRequests || rep.status == http.StatusRequestTimeout || rep.status >= 500:
		return o.transientWait(st, &RetryableError{Err: rep.failure()}, rep.retryAfter)
	default:
		return -1, rep.failure()
	}
}

// transientWait backs off exponentially, or as long as the server's Retry-After
// asks, until MaxRetries is spent.
func (o *OpenRouter) transientWait(st *openRouterAttempts, failure error, retryAfter time.Duration) (time.Duration, error) {
	if st.retries >= o.cfg.MaxRetries {
		return -1, fmt.Errorf("gave up after %d attempts: %w", st.retries+1, failure)
	}
	if retryAfter > openRouterMaxRetryAfter {
		return -1, fmt.Errorf("server asks to retry after %s: %w", retryAfter, failure)
	}
	st.retries++
	return max(o.backoff(st.retries), retryAfter), failure
}

// notFoundWait retries a 404 for st.notFoundFor after the first one, since
// OpenRouter publishes a generation's stats a few seconds after it ran.
func (o *OpenRouter) notFoundWait(st *openRouterAttempts, id string) (time.Duration, error) {
	now := time.Now()
	if st.notFoundSince.IsZero() {
		st.notFoundSince = now
	}
	left := st.notFoundFor - now.Sub(st.notFoundSince)
	if left <= 0 {
		return -1, Errorf(CodeNotFound, "generation %s not found on OpenRouter (HTTP 404 for %s)",
			id, st.notFoundFor.Round(time.Millisecond))
	}
	st.notFound++
	wait := min(o.backoff(st.notFound), openRouterMaxNotFoundWait, left)
	return wait, &RetryableError{Err: fmt.Errorf("generation %s not visible yet (HTTP 404)", id)}
}

// backoff returns the wait before retry n (from 1): Backoff doubled per retry up to
// MaxBackoff, half of it random so that fetches throttled together spread out.
func (o *OpenRouter) backoff(n int) time.Duration {
	d := o.cfg.Backoff << min(n-1, 30)
	if d <= 0 || d > o.cfg.MaxBackoff {
		d = o.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, unless ctx cannot outlive it: then it returns failure at once
// rather than waiting for a retry that would not happen.
func (o *OpenRouter) sleep(ctx context.Context, d time.Duration, failure error) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return fmt.Errorf("no time left to retry: %w", failure)
	}
	o.cfg.Logger.DebugContext(ctx, "openrouter: retrying", "cause", failure.Error(), "wait", d)
	if err := Sleep(ctx, d); err != nil {
		return fmt.Errorf("%w while retrying: %w", err, failure)
	}
	return nil
}

// Check verifies that OpenRouter accepts the key, with GET {BaseURL}/key: an
// authenticated call that spends nothing. It returns nil on success, or an error
// (never containing the key) saying what failed, for `tracebot check`.
func (o *OpenRouter) Check(ctx context.Context) error {
	rep, err := o.get(ctx, o.cfg.BaseURL+"/key")
	if err != nil {
		return fmt.Errorf("openrouter: check key: %w", err)
	}
	if rep.status != http.StatusOK {
		return fmt.Errorf("openrouter: check key: %w", rep.failure())
	}
	return nil
}

// openRouterReply is one HTTP answer. message is set for a non-200 status: the
// API's error message (or the body), sanitized, without the key.
type openRouterReply struct {
	status     int
	body       []byte
	message    string
	retryAfter time.Duration
}

func (r openRouterReply) failure() error {
	return fmt.Errorf("HTTP %d: %s", r.status, r.message)
}

func openRouterRefused(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// get sends one authorized GET. When the key is refused (401/403) it reports that
// through OnAuthFailure, reads the key again and resends once; a second refusal is
// an "unauthorized" error naming KeyName. Network failures are RetryableErrors.
func (o *OpenRouter) get(ctx context.Context, u string) (openRouterReply, error) {
	rep, err := o.send(ctx, u)
	if err != nil || !openRouterRefused(rep.status) {
		return rep, err
	}
	o.cfg.Logger.WarnContext(ctx, "openrouter: key refused; re-reading it", "status", rep.status, "key_name", o.cfg.KeyName)
	if o.cfg.OnAuthFailure != nil {
		o.cfg.OnAuthFailure()
	}
	rep, err = o.send(ctx, u)
	if err != nil || !openRouterRefused(rep.status) {
		return rep, err
	}
	return rep, fmt.Errorf("unauthorized (HTTP %d: %s; check %s)", rep.status, rep.message, o.cfg.KeyName)
}

// send performs one GET with the current key.
func (o *OpenRouter) send(ctx context.Context, u string) (openRouterReply, error) {
	key, err := o.apiKey(ctx)
	if err != nil {
		return openRouterReply{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return openRouterReply{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+key.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return openRouterReply{}, err
		}
		return openRouterReply{}, &RetryableError{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, openRouterMaxBody+1))
	if err != nil {
		return openRouterReply{}, &RetryableError{Err: fmt.Errorf("read response: %w", err)}
	}
	if len(body) > openRouterMaxBody {
		return openRouterReply{}, fmt.Errorf("response over %d bytes (not read)", openRouterMaxBody)
	}
	rep := openRouterReply{status: resp.StatusCode, body: body}
	if rep.status != http.StatusOK {
		rep.message = openRouterMessage(resp.StatusCode, body, key.Reveal())
		rep.retryAfter = openRouterRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return rep, nil
}

func (o *OpenRouter) apiKey(ctx context.Context) (secrets.Secret, error) {
	if o.cfg.Key == nil {
		return secrets.Secret{}, errors.New("no API key source configured")
	}
	key, err := o.cfg.Key(ctx)
	if err != nil {
		return secrets.Secret{}, fmt.Errorf("read API key %s: %w", o.cfg.KeyName, err)
	}
	if key.IsZero() {
		return secrets.Secret{}, fmt.Errorf("API key %s is empty", o.cfg.KeyName)
	}
	return key, nil
}

// parseOpenRouterGeneration reads {"data": {...}}, keeping the data object verbatim.
func parseOpenRouterGeneration(id string, body []byte) (Generation, error) {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Generation{}, fmt.Errorf("decode response: %w", err)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return Generation{}, errors.New("decode response: no data object")
	}
	var g Generation
	if err := json.Unmarshal(env.Data, &g); err != nil {
		return Generation{}, fmt.Errorf("decode generation: %w", err)
	}
	if g.ID != id {
		// The received id is not quoted: it is the server's text, not ours.
		return Generation{}, errors.New("response describes another generation")
	}
	g.Raw = env.Data // Unmarshal gave RawMessage its own copy
	return g, nil
}

// openRouterMessage returns the message of an error body ({"error": {"code",
// "message"}}), or the body itself, on one short line with the key removed.
func openRouterMessage(status int, body []byte, key string) string {
	var env struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := string(body)
	if json.Unmarshal(body, &env) == nil && env.Error.Message != "" {
		msg = env.Error.Message
	}
	if key != "" {
		msg = strings.ReplaceAll(msg, key, "[redacted]")
	}
	msg = strings.Join(strings.FieldsFunc(msg, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if msg == "" {
		return http.StatusText(status)
	}
	return openRouterClip(msg, openRouterMaxMessage)
}

// openRouterRetryAfter reads a Retry-After header: delay-seconds or an HTTP date. It
// returns 0 when the header is absent, malformed or in the past.
func openRouterRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func openRouterClip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// openRouterCopy copies g so that callers cannot change a cached value through Raw.
func openRouterCopy(g Generation) Generation {
	g.Raw = append(json.RawMessage(nil), g.Raw...)
	return g
}
