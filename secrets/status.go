package secrets

import (
	"context"
	"time"
)

// NameStatus is the health of one registered secret, for `tracebot check`. It never
// carries a value.
type NameStatus struct {
	Name   string
	OK     bool
	Reason string // why not OK, or a note on an OK one (optional, stale); "" when fine
	Absent bool   // an optional name that is not set: the feature it turns on is off
}

// Status fetches the registered names that are due (expired, invalidated or never
// fetched) in one call to the Source and reports every registered name in
// registration order. A required name is OK when a value is held (even a stale one
// whose refresh failed: the Reason says so); an optional name is OK unless it could
// not be fetched at all.
func (s *Store) Status(ctx context.Context) []NameStatus {
	if due := s.due(); len(due) > 0 {
		_, _ = s.fetch(ctx, due) // failures are recorded per name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]NameStatus, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.entries[n].status(n, now))
	}
	return out
}

// due returns the registered names whose values are not fresh.
func (s *Store) due() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []string
	for _, n := range s.order {
		if !now.Before(s.entries[n].expires) {
			out = append(out, n)
		}
	}
	return out
}

func (e *entry) status(name string, now time.Time) NameStatus {
	st := NameStatus{Name: name}
	switch {
	case e.has && e.failure != "":
		st.OK = true
		st.Reason = "refresh failed, serving value fetched " + age(now, e.fetchedAt) + " ago: " + e.failure
	case e.has:
		st.OK = true
	case e.failure != "":
		st.Reason = e.failure
	case e.missing && e.optional:
		st.OK, st.Absent = true, true
		st.Reason = "optional, not set"
	case e.missing:
		st.Reason = "missing"
	default:
		st.Reason = "not fetched"
	}
	return st
}
