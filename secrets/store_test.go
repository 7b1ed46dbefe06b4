package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/secrets"
	"github.com/callytics/tracebot/secrets/secretstest"
)

const (
	keyName   = "/callytics/openrouter-api-key"
	dbName    = "/callytics/neon-database-url"
	tokenName = "/callytics/tracebot/slack-bot-token"
	appName   = "/callytics/tracebot/slack-app-token"
	ttl       = 15 * time.Minute
)

// fixture is a Store over the fake SSM server with a settable clock and a log.
type fixture struct {
	srv   *secretstest.SSMServer
	clock *clock
	log   *syncBuffer
	store *secrets.Store
}

func newFixture(t *testing.T, params map[string]string, opts ...secrets.Option) *fixture {
	t.Helper()
	f := &fixture{srv: secretstest.NewSSMServer(t, params), clock: newClock(), log: &syncBuffer{}}
	opts = append([]secrets.Option{
		secrets.WithClock(f.clock.Now),
		secrets.WithLogger(slog.New(slog.NewJSONHandler(f.log, nil))),
	}, opts...)
	f.store = secrets.NewStore(secrets.NewSSMSource(f.srv.Client(t)), ttl, opts...)
	return f
}

func (f *fixture) get(t *testing.T, name string) string {
	t.Helper()
	s, err := f.store.Get(context.Background(), name)
	if err != nil {
		t.Fatalf("Get(%s): %v", name, err)
	}
	return s.Reveal()
}

func defaultParams() map[string]string {
	return map[string]string{
		keyName:   "sk-or-v1-first-key",
		dbName:    "postgres://tracebot:first-db-password@db/calls",
		tokenName: "xoxb-first-token",
	}
}

func TestStoreLoadAndGet(t *testing.T) {
	f := newFixture(t, defaultParams())
	if err := f.store.Load(context.Background(), keyName, dbName, tokenName); err != nil {
		t.Fatalf("Load: %v", err)
	}
	for name, want := range defaultParams() {
		if got := f.get(t, name); got != want {
			t.Errorf("Get(%s) = %q, want %q", name, got, want)
		}
	}
	if f.srv.Calls() != 1 {
		t.Errorf("calls = %d, want 1 (Load fetches once, Gets are cached)", f.srv.Calls())
	}
}

func TestStoreLoadMissing(t *testing.T) {
	f := newFixture(t, defaultParams())
	err := f.store.Load(context.Background(), "/a", keyName, "/b")
	if err == nil {
		t.Fatal("Load succeeded with missing names")
	}
	if got, want := err.Error(), "secrets: missing /a, /b"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
	var me *secrets.MissingError
	if !errors.Is(err, secrets.ErrMissing) || !errors.As(err, &me) || !cmp.Equal(me.Names, []string{"/a", "/b"}) {
		t.Errorf("err = %#v, want a *MissingError for /a, /b", err)
	}
	// The names that exist were kept.
	if got := f.get(t, keyName); got != "sk-or-v1-first-key" {
		t.Errorf("Get after partial Load = %q", got)
	}
	if _, err := f.store.Get(context.Background(), "/a"); !errors.Is(err, secrets.ErrMissing) {
		t.Errorf("Get(/a) err = %v, want ErrMissing", err)
	}
	if f.srv.Calls() != 1 {
		t.Errorf("calls = %d, want 1: a missing name is cached for the TTL too", f.srv.Calls())
	}
}

func TestStoreLoadOptional(t *testing.T) {
	f := newFixture(t, defaultParams())
	if err := f.store.LoadOptional(context.Background(), appName); err != nil {
		t.Fatalf("LoadOptional of an absent name: %v", err)
	}
	if _, err := f.store.Get(context.Background(), appName); !errors.Is(err, secrets.ErrMissing) {
		t.Errorf("Get(optional absent) err = %v, want ErrMissing", err)
	}
	f.srv.SetParam(appName, "xapp-later")
	f.clock.Advance(ttl)
	if got := f.get(t, appName); got != "xapp-later" {
		t.Errorf("Get after it appeared = %q", got)
	}
}

func TestStoreLoadAccessDenied(t *testing.T) {
	f := newFixture(t, defaultParams())
	f.srv.Fail("AccessDeniedException", 400)
	for name, load := range map[string]func(context.Context, ...string) error{"Load": f.store.Load, "LoadOptional": f.store.LoadOptional} {
		err := load(context.Background(), keyName, appName)
		if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.HasPrefix(err.Error(), "secrets: load: ssm: get parameters: ") {
			t.Errorf("%s err = %v, want secrets: load: ssm: … AccessDeniedException", name, err)
		}
		if errors.Is(err, secrets.ErrMissing) {
			t.Errorf("%s: an auth failure is not a missing name", name)
		}
	}
	// Nothing is cached: once access is granted, Get fetches.
	f.srv.Recover()
	if got := f.get(t, keyName); got != "sk-or-v1-first-key" {
		t.Errorf("Get after recovery = %q", got)
	}
}

func TestStoreGetWithoutLoad(t *testing.T) {
	f := newFixture(t, defaultParams())
	if got := f.get(t, tokenName); got != "xoxb-first-token" {
		t.Errorf("Get = %q", got)
	}
	_, err := f.store.Get(context.Background(), "/nope")
	if !errors.Is(err, secrets.ErrMissing) || err.Error() != "secrets: missing /nope" {
		t.Errorf("Get(/nope) err = %v", err)
	}
	f.srv.Fail("AccessDeniedException", 400)
	_, err = f.store.Get(context.Background(), keyName)
	if err == nil || !strings.HasPrefix(err.Error(), "secrets: get "+keyName+": ssm: get parameters:") {
		t.Errorf("Get with no value and a failing source: err = %v", err)
	}
}

func TestStoreTTLRefresh(t *testing.T) {
	f := newFixture(t, defaultParams())
	mustLoad(t, f.store, keyName)
	f.srv.SetParam(keyName, "sk-or-v1-rotated-key")

	f.clock.Advance(ttl - time.Second)
	if got := f.get(t, keyName); got != "sk-or-v1-first-key" {
		t.Errorf("before TTL: Get = %q, want the cached value", got)
	}
	if f.srv.Calls() != 1 {
		t.Errorf("before TTL: calls = %d, want 1", f.srv.Calls())
	}
	f.clock.Advance(time.Second)
	if got := f.get(t, keyName); got != "sk-or-v1-rotated-key" {
		t.Errorf("after TTL: Get = %q, want the rotated value", got)
	}
	if f.srv.Calls() != 2 {
		t.Errorf("after TTL: calls = %d, want 2", f.srv.Calls())
	}
	// Both the old and the new value stay scrubbed.
	if got := f.store.Scrubber().Scrub("sk-or-v1-first-key sk-or-v1-rotated-key"); got != "[redacted] [redacted]" {
		t.Errorf("Scrub = %q", got)
	}
	if !strings.Contains(f.log.String(), "secrets: value rotated") {
		t.Errorf("rotation not logged:\n%s", f.log)
	}
}

func TestStoreRefreshFailureKeepsLastGoodValue(t *testing.T) {
	f := newFixture(t, defaultParams(), secrets.WithRetryAfter(time.Minute))
	mustLoad(t, f.store, keyName)
	f.srv.SetParam(keyName, "sk-or-v1-rotated-key")
	f.srv.Fail("InternalServerError", 500)
	f.clock.Advance(ttl)

	if got := f.get(t, keyName); got != "sk-or-v1-first-key" {
		t.Errorf("failed refresh: Get = %q, want the last good value", got)
	}
	if !strings.Contains(f.log.String(), `"level":"WARN","msg":"secrets: refresh failed; serving last good value","name":"`+keyName+`"`) {
		t.Errorf("no warning logged:\n%s", f.log)
	}
	calls := f.srv.Calls()
	f.clock.Advance(30 * time.Second)
	if got := f.get(t, keyName); got != "sk-or-v1-first-key" || f.srv.Calls() != calls {
		t.Errorf("within retry delay: Get = %q, calls %d→%d; want cached, no call", got, calls, f.srv.Calls())
	}
	f.srv.Recover()
	f.clock.Advance(30 * time.Second)
	if got := f.get(t, keyName); got != "sk-or-v1-rotated-key" {
		t.Errorf("after recovery: Get = %q, want the rotated value", got)
	}
}

func TestStoreParameterDeletedKeepsLastGoodValue(t *testing.T) {
	f := newFixture(t, defaultParams())
	mustLoad(t, f.store, keyName)
	f.srv.DeleteParam(keyName)
	f.clock.Advance(ttl)
	if got := f.get(t, keyName); got != "sk-or-v1-first-key" {
		t.Errorf("Get = %q, want the last good value", got)
	}
	if !strings.Contains(f.log.String(), "secret no longer in source") {
		t.Errorf("no warning logged:\n%s", f.log)
	}
}

func TestStoreInvalidate(t *testing.T) {
	f := newFixture(t, defaultParams())
	mustLoad(t, f.store, keyName, dbName)
	f.srv.SetParam(keyName, "sk-or-v1-rotated-key")
	f.store.Invalidate(keyName)
	f.store.Invalidate("/never/loaded") // no effect, no panic
	if got := f.get(t, keyName); got != "sk-or-v1-rotated-key" {
		t.Errorf("after Invalidate: Get = %q, want the rotated value", got)
	}
	if got := f.get(t, dbName); got != "postgres://tracebot:first-db-password@db/calls" {
		t.Errorf("other names stay cached: Get = %q", got)
	}
	if diff := cmp.Diff([][]string{{keyName, dbName}, {keyName}}, f.srv.Batches()); diff != "" {
		t.Errorf("requests (-want +got)\n%s", diff)
	}
	// Invalidated while the source is down: the current value is still served.
	f.srv.Fail("AccessDeniedException", 400)
	f.store.Invalidate(keyName)
	if got := f.get(t, keyName); got != "sk-or-v1-rotated-key" {
		t.Errorf("invalidated, source down: Get = %q", got)
	}
}

func TestStoreOneRefreshAtATime(t *testing.T) {
	f := newFixture(t, defaultParams())
	mustLoad(t, f.store, keyName)
	f.srv.SetParam(keyName, "sk-or-v1-rotated-key")
	f.srv.SetLatency(50 * time.Millisecond)
	f.clock.Advance(ttl)

	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() { got[i] = f.get(t, keyName) })
	}
	wg.Wait()
	for i, v := range got {
		if v != "sk-or-v1-rotated-key" {
			t.Errorf("caller %d got %q", i, v)
		}
	}
	if f.srv.Calls() != 2 {
		t.Errorf("calls = %d, want 2 (the Load and one shared refresh)", f.srv.Calls())
	}
}

func TestStoreGetHonoursContext(t *testing.T) {
	f := newFixture(t, defaultParams(), secrets.WithFetchTimeout(100*time.Millisecond))
	f.srv.SetLatency(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.store.Get(ctx, keyName)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
	if elapsed := time.Since(start); elapsed > 90*time.Millisecond {
		t.Errorf("Get took %v after its context ended", elapsed)
	}
}

func TestStoreStatus(t *testing.T) {
	f := newFixture(t, defaultParams(), secrets.WithRetryAfter(time.Minute))
	_ = f.store.Load(context.Background(), keyName, dbName, "/callytics/absent")
	_ = f.store.LoadOptional(context.Background(), appName)
	want := []secrets.NameStatus{
		{Name: keyName, OK: true},
		{Name: dbName, OK: true},
		{Name: "/callytics/absent", Reason: "missing"},
		{Name: appName, OK: true, Reason: "optional, not set", Absent: true},
	}
	if diff := cmp.Diff(want, f.store.Status(context.Background())); diff != "" {
		t.Errorf("fresh (-want +got)\n%s", diff)
	}

	// The source fails after the TTL: held values are served stale, others fail.
	f.srv.Fail("AccessDeniedException", 400)
	f.clock.Advance(ttl)
	got := f.store.Status(context.Background())
	if len(got) != 4 {
		t.Fatalf("Status = %+v", got)
	}
	for _, st := range got[:2] {
		if !st.OK || !strings.HasPrefix(st.Reason, "refresh failed, serving value fetched 15m0s ago: ssm: get parameters:") || !strings.Contains(st.Reason, "AccessDeniedException") {
			t.Errorf("stale %s = %+v", st.Name, st)
		}
	}
	for _, st := range got[2:] {
		if st.OK || !strings.Contains(st.Reason, "AccessDeniedException") {
			t.Errorf("failed %s = %+v", st.Name, st)
		}
	}
	if f.srv.Calls() != 3 {
		t.Errorf("calls = %d, want 3: Load, LoadOptional, one Status refresh", f.srv.Calls())
	}
}

func TestStoreFormatHidesValues(t *testing.T) {
	f := newFixture(t, defaultParams())
	mustLoad(t, f.store, keyName)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(verb, f.store); strings.Contains(got, "first-key") || !strings.Contains(got, keyName) {
			t.Errorf("%s of Store = %s", verb, got)
		}
	}
}

func mustLoad(t *testing.T, s *secrets.Store, names ...string) {
	t.Helper()
	if err := s.Load(context.Background(), names...); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
