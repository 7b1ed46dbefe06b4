package secrets

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults for NewStore.
const (
	// DefaultTTL is how long a value is served before it is fetched again
	// (TRACEBOT_SECRETS_TTL).
	DefaultTTL = 15 * time.Minute
	// DefaultRetryAfter is how long the last good value is served, after a failed
	// refresh, before the next attempt.
	DefaultRetryAfter = 30 * time.Second
	// DefaultFetchTimeout bounds one fetch from the Source.
	DefaultFetchTimeout = 10 * time.Second
)

// Store caches secrets from a Source for a TTL. It feeds every value it receives to
// its Scrubber. A Store is safe for concurrent use.
//
// Names are registered by Load (required) and LoadOptional (optional: absence is
// not an error, e.g. the Slack app token whose presence turns on Socket Mode); Get
// registers unknown names as required. Status reports on the registered names.
type Store struct {
	src          Source
	ttl          time.Duration
	retryAfter   time.Duration
	fetchTimeout time.Duration
	now          func() time.Time
	log          *slog.Logger
	scrub        *Scrubber

	flight singleflight.Group

	mu      sync.Mutex
	order   []string // registration order, for Status
	entries map[string]*entry
}

// entry is what the store knows about one name.
type entry struct {
	optional  bool
	value     Secret
	has       bool      // value was fetched at least once
	missing   bool      // the last answer from the Source was "no such name"
	fetchedAt time.Time // last answer from the Source
	expires   time.Time // Get refetches from then on; zero: refetch now
	failure   string    // last failed fetch, "" once one succeeds
}

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now (for tests of the TTL).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLogger sets where refresh failures are reported (as warnings). Without it the
// store logs nothing.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithScrubber makes the store teach values to sc instead of a scrubber of its own,
// so one Scrubber can cover several stores and other values.
func WithScrubber(sc *Scrubber) Option { return func(s *Store) { s.scrub = sc } }

// WithRetryAfter sets how long the last good value is served after a failed refresh
// before the next attempt (default DefaultRetryAfter, never more than the TTL).
func WithRetryAfter(d time.Duration) Option { return func(s *Store) { s.retryAfter = d } }

// WithFetchTimeout bounds each fetch from the Source (default DefaultFetchTimeout).
func WithFetchTimeout(d time.Duration) Option { return func(s *Store) { s.fetchTimeout = d } }

// NewStore returns a Store over src whose values are fetched again after ttl
// (DefaultTTL when ttl <= 0). It does no I/O.
func NewStore(src Source, ttl time.Duration, opts ...Option) *Store {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	s := &Store{
		src:          src,
		ttl:          ttl,
		retryAfter:   DefaultRetryAfter,
		fetchTimeout: DefaultFetchTimeout,
		now:          time.Now,
		log:          slog.New(slog.DiscardHandler),
		entries:      make(map[string]*entry),
	}
	for _, o := range opts {
		o(s)
	}
	if s.scrub == nil {
		s.scrub = NewScrubber()
	}
	s.retryAfter = min(s.retryAfter, s.ttl)
	return s
}

// Format prints the registered names, never values (fmt would otherwise walk the
// store's fields).
func (s *Store) Format(f fmt.State, _ rune) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(f, "secrets.Store%v", s.order)
}

// Scrubber returns the scrubber that knows every value this store has held.
func (s *Store) Scrubber() *Scrubber { return s.scrub }

// Load registers names as required and fetches them in one call to the Source. It
// returns a *MissingError (errors.Is ErrMissing) naming every name that does not
// exist, or the Source's error wrapped as "secrets: load: …". Values that were found
// are kept either way.
func (s *Store) Load(ctx context.Context, names ...string) error {
	return s.load(ctx, names, false)
}

// LoadOptional registers names as optional and fetches them: a name that does not
// exist is not an error (Get then returns ErrMissing for it). It fails only when the
// Source does, with "secrets: load: …".
func (s *Store) LoadOptional(ctx context.Context, names ...string) error {
	return s.load(ctx, names, true)
}

func (s *Store) load(ctx context.Context, names []string, optional bool) error {
	names = dedupe(names)
	s.register(names, optional)
	missing, err := s.fetch(ctx, names)
	if err != nil {
		return fmt.Errorf("secrets: load: %w", err)
	}
	if len(missing) > 0 && !optional {
		return &MissingError{Names: missing}
	}
	return nil
}

// Get returns the value of name: from the cache while it is fresh, else fetched
// again (one fetch per name at a time, shared by concurrent callers). When a refresh
// fails and a value was fetched before, that last good value is returned and a
// warning logged. Errors: a *MissingError (errors.Is ErrMissing) when the name does
// not exist, "secrets: get <name>: …" when it could not be fetched, or ctx's error.
func (s *Store) Get(ctx context.Context, name string) (Secret, error) {
	if v, ok, err := s.held(name, true); ok {
		return v, err
	}
	ch := s.flight.DoChan(name, func() (any, error) {
		_, err := s.fetch(context.WithoutCancel(ctx), []string{name})
		return nil, err
	})
	select {
	case <-ctx.Done():
		return Secret{}, ctx.Err()
	case r := <-ch:
		if v, ok, err := s.held(name, false); ok {
			return v, err
		}
		return Secret{}, fmt.Errorf("secrets: get %s: %w", name, r.Err)
	}
}

// Invalidate makes the next Get of name fetch it again, e.g. after the service it is
// for rejected it (key rotation). The current value is still served if that fetch
// fails.
func (s *Store) Invalidate(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[name]; ok {
		e.expires = time.Time{}
	}
}

// register records names with their optionality, in first-registration order.
func (s *Store) register(names []string, optional bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		e, ok := s.entries[n]
		if !ok {
			e = &entry{}
			s.entries[n] = e
			s.order = append(s.order, n)
		}
		e.optional = optional
	}
}

// held returns what the store holds for name: its value (possibly the last good
// one) or, when the Source said it does not exist, a *MissingError. ok is false when
// it holds neither, or when fresh is set and the entry is due for a fetch.
func (s *Store) held(name string, fresh bool) (v Secret, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, found := s.entries[name]
	switch {
	case !found, fresh && !s.now().Before(e.expires):
		return Secret{}, false, nil
	case e.has:
		return e.value, true, nil
	case e.missing:
		return Secret{}, true, &MissingError{Names: []string{name}}
	}
	return Secret{}, false, nil
}

// fetch asks the Source for names and records the answer; it returns the missing
// names or the Source's error.
func (s *Store) fetch(ctx context.Context, names []string) ([]string, error) {
	s.register(s.unknown(names), false)
	ctx, cancel := context.WithTimeout(ctx, s.fetchTimeout)
	defer cancel()
	values, missing, err := s.src.Fetch(ctx, names)
	if err != nil {
		s.recordFailure(names, err)
		return nil, err
	}
	for _, v := range values {
		s.scrub.Add(v.Reveal())
	}
	s.recordAnswer(names, values)
	return missing, nil
}

// unknown returns the names the store has no entry for.
func (s *Store) unknown(names []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range names {
		if _, ok := s.entries[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// logEvent is a log line decided under the lock and written after it, so a slow
// log sink never holds up Get.
type logEvent struct {
	level slog.Level
	msg   string
	args  []any
}

func (s *Store) emit(events []logEvent) {
	for _, ev := range events {
		s.log.Log(context.Background(), ev.level, ev.msg, ev.args...)
	}
}

// recordAnswer stores a successful answer. A name that has disappeared from the
// Source keeps its last good value (until a later refresh finds it again), as when
// the Source fails: deleting a parameter by mistake must not take the bot down.
func (s *Store) recordAnswer(names []string, values map[string]Secret) {
	var events []logEvent
	defer func() { s.emit(events) }()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, n := range names {
		e := s.entries[n]
		v, found := values[n]
		switch {
		case found:
			if e.has && !e.value.Equal(v) {
				events = append(events, logEvent{slog.LevelInfo, "secrets: value rotated", []any{"name", n}})
			}
			*e = entry{optional: e.optional, value: v, has: true, fetchedAt: now, expires: now.Add(s.ttl)}
		case e.has:
			e.failure = "missing from source"
			e.expires = now.Add(s.retryAfter)
			events = append(events, logEvent{slog.LevelWarn, "secrets: secret no longer in source; serving last good value",
				[]any{"name", n, "age", age(now, e.fetchedAt)}})
		default:
			*e = entry{optional: e.optional, missing: true, fetchedAt: now, expires: now.Add(s.ttl)}
		}
	}
}

// recordFailure notes a failed fetch. Names with a last good value keep it until
// the retry delay passes; others stay due for a fetch on the next Get.
func (s *Store) recordFailure(names []string, err error) {
	reason := s.scrub.Scrub(err.Error())
	var events []logEvent
	defer func() { s.emit(events) }()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, n := range names {
		e := s.entries[n]
		e.failure = reason
		if !e.has {
			e.expires = time.Time{}
			continue
		}
		e.expires = now.Add(s.retryAfter)
		events = append(events, logEvent{slog.LevelWarn, "secrets: refresh failed; serving last good value",
			[]any{"name", n, "age", age(now, e.fetchedAt), "err", reason}})
	}
}

// age renders how long ago t was, to the second.
func age(now, t time.Time) string { return now.Sub(t).Round(time.Second).String() }
