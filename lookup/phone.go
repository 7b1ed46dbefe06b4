package lookup

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// phoneDefaultRegion is the region of numbers written without a country code.
const phoneDefaultRegion = "US"

// ErrInvalidPhone is wrapped by NormalizePhone when the input is not a valid number.
var ErrInvalidPhone = errors.New("not a valid phone number")

// NormalizePhone returns the E.164 form ("+19142654371") of a number written in any
// common form: (914) 265-4371, 914.265.4371, 19142654371, +1 914 265 4371, or an
// international number with a leading +. Numbers without a country code are read in
// region US. The error wraps ErrInvalidPhone and does not repeat the number.
func NormalizePhone(s string) (string, error) {
	num, err := phonenumbers.Parse(parseNormalizeChars(strings.TrimSpace(s)), phoneDefaultRegion)
	if err != nil {
		return "", fmt.Errorf("phone: %w: %w", ErrInvalidPhone, err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("phone: %w", ErrInvalidPhone)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// MaskPhone masks a number for logs, keeping the country and area code and the last
// four digits: "+19142654371" → "+1914***4371". Short or odd input keeps less; the
// result never shows more than the first five and last four characters.
func MaskPhone(e164 string) string {
	n := len(e164)
	switch {
	case n == 0:
		return ""
	case n >= 10:
		return e164[:5] + strings.Repeat("*", n-9) + e164[n-4:]
	case n >= 6:
		return e164[:3] + strings.Repeat("*", n-5) + e164[n-2:]
	default:
		return strings.Repeat("*", n)
	}
}

// MaskText masks every phone number found in free text, for logs of raw input.
// Valid numbers become their masked E.164 form; number-shaped runs that are not
// valid keep only their last four digits. Characters are normalized as for
// ParseReport (full-width digits, unicode dashes, …); nothing else changes.
func MaskText(s string) string {
	text := parseNormalizeChars(s)
	hits := phoneFind(parseDropEmphasis(text)) // same offsets: "_(914) 265-4371_" is masked too
	if len(hits) == 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, h := range hits {
		b.WriteString(text[last:h.start])
		b.WriteString(h.masked())
		last = h.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// phoneKind classifies a number-shaped run.
type phoneKind int

const (
	phoneValid   phoneKind = iota + 1 // phonenumbers says valid
	phoneInvalid                      // shaped like a number, but not a valid one
	phoneShort                        // 265-4371: a local number without area code
	phoneNine                         // 914265437: a 10-digit number with a digit missing
)

// phoneHit is one number found in text.
type phoneHit struct {
	start, end int
	raw        string
	kind       phoneKind
	num        *phonenumbers.PhoneNumber // set for phoneValid
}

// e164 returns the E.164 form of a valid hit.
func (h phoneHit) e164() string { return phonenumbers.Format(h.num, phonenumbers.E164) }

// masked returns the hit as MaskText shows it.
func (h phoneHit) masked() string {
	if h.kind == phoneValid {
		return MaskPhone(h.e164())
	}
	digits := 0
	for i := 0; i < len(h.raw); i++ {
		if parseIsDigit(h.raw[i]) {
			digits++
		}
	}
	out := []byte(h.raw)
	for i := range out {
		if parseIsDigit(out[i]) && digits > 4 {
			out[i] = '*'
			digits--
		}
	}
	return string(out)
}

var (
	// phoneRunRe matches a run of digit groups joined by the separators people use in
	// numbers (space, dot, dash, parentheses), with an optional leading +. It does not
	// cross '/' or ':', so dates and times split runs.
	phoneRunRe   = regexp.MustCompile(`(?:\+[ \t]?)?(?:\(\d{1,4}\)|\d+)(?:[ \t]?[.\-]?[ \t]?(?:\(\d{1,4}\)|\d+))*`)
	phoneGroupRe = regexp.MustCompile(`\(\d+\)|\d+`)
)

// phoneGroup is one digit group of a run, with its offsets in the text.
type phoneGroup struct{ start, end, digits int }

// phoneFind returns the numbers in text, in order. phonenumbers has no working
// matcher for free text, so runs are found here, cut into candidates on group
// boundaries and checked with phonenumbers.Parse + IsValidNumber.
func phoneFind(text string) []phoneHit {
	var hits []phoneHit
	for _, run := range phoneRunRe.FindAllStringIndex(text, -1) {
		hits = phoneScanRun(text, run[0], run[1], hits)
	}
	return hits
}

// phoneScanRun appends the numbers found in text[rs:re] to hits. A candidate is a
// sequence of whole groups; the longest one that is a number wins, so "914-265-4371 5"
// (a number followed by a date) still yields the number.
func phoneScanRun(text string, rs, re int, hits []phoneHit) []phoneHit {
	groups := phoneGroups(text, rs, re)
	for s := 0; s < len(groups); {
		start := groups[s].start
		if s == 0 {
			start = rs
		}
		if !phoneCanStart(text, groups, s, start) {
			s++
			continue
		}
		hit, next, ok := phoneBestFrom(text, groups, s, start)
		if !ok {
			s++
			continue
		}
		hits = append(hits, hit)
		s = next
	}
	return hits
}

// phoneGroups splits a run into digit groups.
func phoneGroups(text string, rs, re int) []phoneGroup {
	idx := phoneGroupRe.FindAllStringIndex(text[rs:re], -1)
	groups := make([]phoneGroup, len(idx))
	for i, g := range idx {
		digits := g[1] - g[0]
		if text[rs+g[0]] == '(' {
			digits -= 2
		}
		groups[i] = phoneGroup{start: rs + g[0], end: rs + g[1], digits: digits}
	}
	return groups
}

// phoneCanStart reports whether a candidate may begin at group s (text offset
// start). Inside a run only a space-separated group may begin one ("order 12345
// 914-265-4371"), never the middle of 2026-05-20; a run must not continue a word,
// a path, a decimal, an id ("s-914…") or a time.
func phoneCanStart(text string, groups []phoneGroup, s, start int) bool {
	if s > 0 {
		return strings.ContainsAny(text[groups[s-1].end:groups[s].start], " \t")
	}
	if start == 0 {
		return true
	}
	prev := text[start-1]
	switch {
	case parseIsAlnum(prev), prev == '_', prev == '/':
		return false
	case prev == '.': // "Tel.914…" yes, "3.914…" (a decimal) no
		return start < 2 || !parseIsDigit(text[start-2])
	case prev == '-':
		return start < 2 || !parseIsAlnum(text[start-2])
	case prev == ':':
		return start < 2 || !parseIsDigit(text[start-2])
	}
	return true
}

// phoneCanEnd reports whether a candidate may end at offset end: not inside a word
// or id, not before a time's ':' or a date's '/', not before more digits.
func phoneCanEnd(text string, end int) bool {
	if end >= len(text) {
		return true
	}
	next := text[end]
	switch {
	case parseIsAlnum(next), next == '_', next == ':', next == '/':
		return false
	case next == '-', next == '.':
		return end+1 >= len(text) || !parseIsDigit(text[end+1])
	}
	return true
}

// phoneBestFrom returns the best candidate starting at group s: the longest valid
// number, else the longest number-shaped run (kind phoneInvalid), else a short local
// number. next is the first group after it.
func phoneBestFrom(text string, groups []phoneGroup, s, start int) (phoneHit, int, bool) {
	plus := text[start] == '+'
	var fallback phoneHit
	fallbackNext := 0
	for e := phoneLastGroup(groups, s); e > s; e-- {
		end := groups[e-1].end
		if !phoneCanEnd(text, end) {
			continue
		}
		hit := phoneHit{start: start, end: end, raw: text[start:end]}
		hit.kind, hit.num = phoneClassify(hit.raw, groups[s:e], plus)
		if hit.kind == phoneValid {
			return hit, e, true
		}
		if hit.kind != 0 && (fallback.kind == 0 || hit.kind < fallback.kind) {
			fallback, fallbackNext = hit, e
		}
	}
	return fallback, fallbackNext, fallback.kind != 0
}

// phoneLastGroup returns the end (exclusive) of the longest group sequence from s
// with at most 15 digits, the E.164 maximum; this keeps a long run of digits
// linear to scan.
func phoneLastGroup(groups []phoneGroup, s int) int {
	digits, e := 0, s
	for e < len(groups) && digits+groups[e].digits <= 15 {
		digits += groups[e].digits
		e++
	}
	return e
}

// phoneClassify checks one candidate. With a leading + any grouping is accepted
// (international numbers group digits many ways); without one only NANP groupings
// are, which keeps dates (2026-05-20 13) and ids from being read as numbers.
func phoneClassify(raw string, groups []phoneGroup, plus bool) (phoneKind, *phonenumbers.PhoneNumber) {
	digits := 0
	for _, g := range groups {
		digits += g.digits
	}
	input := raw
	if plus {
		if digits < 7 || digits > 15 {
			return 0, nil
		}
	} else {
		switch kind := phoneNANPShape(raw, groups); kind {
		case phoneShort, phoneNine:
			return kind, nil
		case 0:
			return 0, nil
		}
		input = phoneDigits(raw)
	}
	num, err := phonenumbers.Parse(input, phoneDefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return phoneInvalid, nil
	}
	return phoneValid, num
}

// phoneNANPShape classifies the grouping of a number written without +: 10 digits
// as 3-3-4, 3-7 or one group, optionally after a leading 1 ("1 914…", "19142654371");
// 3-4 is a local number without area code; 9 digits (one group, or 3-3-3) a number
// with a digit missing.
func phoneNANPShape(raw string, groups []phoneGroup) phoneKind {
	lens := make([]int, 0, len(groups))
	for _, g := range groups {
		lens = append(lens, g.digits)
	}
	if len(lens) > 1 && lens[0] == 1 && phoneDigits(raw)[0] == '1' {
		lens = lens[1:]
	}
	switch {
	case len(lens) == 1 && lens[0] == 10,
		len(lens) == 1 && lens[0] == 11 && phoneDigits(raw)[0] == '1',
		len(lens) == 3 && lens[0] == 3 && lens[1] == 3 && lens[2] == 4,
		len(lens) == 2 && lens[0] == 3 && lens[1] == 7:
		return phoneValid
	case len(lens) == 2 && lens[0] == 3 && lens[1] == 4:
		return phoneShort
	case len(lens) == 1 && lens[0] == 9, len(lens) == 3 && lens[0] == 3 && lens[1] == 3 && lens[2] == 3:
		return phoneNine
	}
	return 0
}

// phoneDigits returns the digits of s.
func phoneDigits(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if parseIsDigit(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// readPhone reads the first valid number (and remembers the first invalid or short
// one for the error message) and blanks every number-shaped run.
func (r *parsedReport) readPhone(sc *parseScan) {
	for _, h := range phoneFind(sc.String()) {
		switch {
		case h.kind == phoneValid && r.phone == "":
			r.phone = h.e164()
			r.phoneZones = phoneZones(h.num)
		case h.kind == phoneInvalid && r.badPhone == "":
			r.badPhone = strings.TrimSpace(h.raw)
		case h.kind == phoneShort && r.shortPhone == "":
			r.shortPhone = strings.TrimSpace(h.raw)
		case h.kind == phoneNine && r.ninePhone == "":
			r.ninePhone = strings.TrimSpace(h.raw)
		}
		sc.blank(h.start, h.end)
	}
}

// phoneZones returns the IANA zones phonenumbers maps num to, without its
// "unknown" marker.
func phoneZones(num *phonenumbers.PhoneNumber) []string {
	zones, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil {
		return nil
	}
	out := zones[:0:0]
	for _, z := range zones {
		if z != phonenumbers.UNKNOWN_TIMEZONE {
			out = append(out, z)
		}
	}
	return out
}
