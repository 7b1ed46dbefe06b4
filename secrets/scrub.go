package secrets

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// MinScrubLen is the shortest text the Scrubber removes. Real credentials (API keys,
// tokens, signing secrets, generated passwords) are far longer; a short value such as
// "prod" or "1234" would also match ordinary words and numbers and shred every
// message it touched, while hiding it buys nothing an attacker could not guess.
// The limit applies to each form of a value: a whole DSN is always scrubbed, its
// password on its own only when it is at least this long.
const MinScrubLen = 6

// Scrubber removes known secret values from text: the values as they are, and the
// forms they take on the way out — JSON-escaped, Go-quoted (%q), URL-encoded, and,
// for connection strings (postgres://user:pass@host/db, or key=value with
// password=...), the password on its own, since a driver's error may quote only part
// of the DSN. Each occurrence becomes "[redacted]"; where occurrences of different
// values overlap, their union is replaced, so a longer value is never left half
// visible by a shorter one inside it.
//
// Values are only ever added (a rotated secret's previous value is still scrubbed).
// A Scrubber is safe for concurrent use; Scrub takes no lock.
type Scrubber struct {
	mu      sync.Mutex // serialises Add
	known   map[string]bool
	matcher atomic.Pointer[matcher] // rebuilt by Add, never mutated
}

// NewScrubber returns a Scrubber that knows no values.
func NewScrubber() *Scrubber {
	return &Scrubber{known: make(map[string]bool)}
}

// Add teaches the scrubber values (and their derived forms). Empty and short values
// (see MinScrubLen) are ignored.
func (s *Scrubber) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, v := range values {
		for _, p := range forms(v) {
			if len(p) >= MinScrubLen && !s.known[p] {
				s.known[p] = true
				changed = true
			}
		}
	}
	if !changed {
		return
	}
	s.matcher.Store(newMatcher(s.known))
}

// Format prints how many forms the scrubber knows, never the forms: fmt would
// otherwise print its fields, values included.
func (s *Scrubber) Format(f fmt.State, _ rune) {
	n := 0
	if m := s.matcher.Load(); m != nil {
		n = len(m.forms)
	}
	fmt.Fprintf(f, "secrets.Scrubber{%d forms}", n)
}

// Scrub returns text with every known value replaced by "[redacted]".
func (s *Scrubber) Scrub(text string) string {
	return redact(text, find(s.matcher.Load(), text))
}

// Writer returns a writer that scrubs each Write before passing it to w. A value is
// found only when it lies within one Write; log handlers (slog's JSON and text
// handlers, log.Logger) write each record in one call, which is what this is for.
func (s *Scrubber) Writer(w io.Writer) io.Writer { return &scrubWriter{s: s, w: w} }

type scrubWriter struct {
	s *Scrubber
	w io.Writer
}

// Write reports len(p) on success, whatever the length of the scrubbed text, as
// io.Writer requires.
func (sw *scrubWriter) Write(p []byte) (int, error) {
	var err error
	if spans := find(sw.s.matcher.Load(), p); spans == nil {
		_, err = sw.w.Write(p)
	} else {
		_, err = io.WriteString(sw.w, redact(string(p), spans))
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// find returns the merged, sorted byte ranges of text covered by m's forms, or nil
// when there are none.
func find[T string | []byte](m *matcher, text T) []span {
	if m == nil {
		return nil
	}
	return merge(matchAll(m, text))
}

// redact replaces the spans of text (sorted, disjoint) with "[redacted]".
func redact(text string, spans []span) string {
	if spans == nil {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, sp := range spans {
		b.WriteString(text[last:sp.start])
		b.WriteString(redacted)
		last = sp.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// span is a byte range [start, end) of a text.
type span struct{ start, end int }

// merge sorts spans and joins those that overlap or touch.
func merge(spans []span) []span {
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// forms returns the value, its password component when it is a connection string,
// and the escaped forms of each.
func forms(v string) []string {
	if v == "" {
		return nil
	}
	var out []string
	for _, c := range append([]string{v}, passwords(v)...) {
		out = append(out, encodings(c)...)
	}
	return out
}

// encodings returns c as it may appear in JSON (with and without HTML escaping),
// Go-quoted text (%q, strconv.Quote, url.Error) and URLs (query and path escaping).
func encodings(c string) []string {
	out := []string{c}
	if b, err := json.Marshal(c); err == nil {
		out = append(out, unquote(string(b)))
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if enc.Encode(c) == nil {
		out = append(out, unquote(strings.TrimSuffix(sb.String(), "\n")))
	}
	out = append(out,
		unquote(strconv.Quote(c)),
		url.QueryEscape(c),
		url.PathEscape(c),
	)
	return out
}

// unquote strips the surrounding double quotes of an encoded string.
func unquote(s string) string { return strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`) }

// kvPassword matches password=... in a key=value connection string (libpq syntax:
// the value is a word, or single-quoted with \' and \\ escapes).
var kvPassword = regexp.MustCompile(`(?:^|[\s;])password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s;]+)`)

// passwords returns the password component of a connection string, in every form it
// takes inside the string (raw and decoded), or nil when v is not one.
func passwords(v string) []string {
	var out []string
	if i := strings.Index(v, "://"); i >= 0 {
		out = append(out, urlPasswords(v, i)...)
	}
	for _, m := range kvPassword.FindAllStringSubmatch(v, -1) {
		raw := m[1]
		out = append(out, raw)
		if len(raw) >= 2 && raw[0] == '\'' {
			inner := raw[1 : len(raw)-1]
			out = append(out, inner, strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(inner))
		}
	}
	return out
}

// urlPasswords finds the password of scheme://user:pass@host/... both as written
// (percent-encoded, or not encoded at all in a malformed URL that a driver will echo
// back in its parse error) and decoded, and a password= query parameter.
func urlPasswords(v string, schemeEnd int) []string {
	var out []string
	rest := v[schemeEnd+3:]
	if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.Contains(rest[:at], "/") {
		if _, pass, ok := strings.Cut(rest[:at], ":"); ok {
			out = append(out, pass)
		}
	}
	u, err := url.Parse(v)
	if err != nil {
		return out
	}
	if pass, ok := u.User.Password(); ok {
		out = append(out, pass)
	}
	if pass := u.Query().Get("password"); pass != "" {
		out = append(out, pass)
	}
	return out
}
