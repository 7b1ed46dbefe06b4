package lookup

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// timeSpec is what a report says about when, before it is resolved against "now"
// and a zone. Each part keeps its byte offset: when a report names two dates or
// two times, the first one wins.
type timeSpec struct {
	instant     *time.Time // ISO-8601 with an offset: absolute
	instantText string     // the instant as written
	date        *timeDate
	rel         *timeRel
	weekday     *timeWeekday // used when no date or relative day is given
	clock       *timeClock
	ago         *timeAgo // used when nothing else says when
}

// timeDate is a calendar date; year 0 means "the most recent such date".
type timeDate struct {
	pos         int
	year, month int
	day         int
	text        string // as written: "5/20", "5月20日"
}

// timeRel is a day relative to today ("yesterday", "昨天"), with the part of the day
// some words imply ("tonight", "昨晚": pm).
type timeRel struct {
	pos  int
	days int
	hint string // "am", "pm" or ""
	text string // as written: "today", "昨天"
}

// timeClock is a time of day, already in 24h form (hour 24 = the next midnight).
type timeClock struct {
	pos            int
	hour, min, sec int
	hintable       bool           // an hour 1..11 a relative word's "pm" may move
	text           string         // as written: "3pm", "下午1点"
	zone           *time.Location // a zone written right beside it ("17:15 UTC"), or nil
}

// timeDayMention is one date or relative day of the text: date or rel is set.
type timeDayMention struct {
	pos  int
	date *timeDate
	rel  *timeRel
}

// apply resolves the spec in req.Zone against now and sets At, From, To, Window,
// WholeDay and Lookback. All instants are stored in UTC.
func (s timeSpec) apply(req *Request, now time.Time, window, lookback time.Duration) {
	loc := req.Zone
	dayless := s.instant == nil && s.date == nil && s.rel == nil && s.weekday == nil
	if dayless && s.clock == nil && s.ago != nil {
		s.instant = ptr(now.Add(-s.ago.d).Truncate(time.Minute))
	} else if dayless && s.clock == nil {
		req.Lookback = true
		req.From, req.To = now.Add(-lookback).UTC(), now.UTC()
		return
	}
	var at time.Time
	if s.instant != nil {
		at = *s.instant
	} else {
		y, m, d := s.day(now.In(loc))
		if s.clock == nil {
			req.WholeDay = true
			req.From = time.Date(y, m, d, 0, 0, 0, 0, loc).UTC()
			req.To = time.Date(y, m, d+1, 0, 0, 0, 0, loc).UTC()
			return
		}
		c := s.clockWithHint()
		at = timeWallClock(y, m, d, c, loc)
		if s.date == nil && s.rel == nil && at.After(now) {
			// A time alone is yesterday's, a weekday's the week before's.
			back := 1
			if s.weekday != nil {
				back = 7
			}
			at = timeWallClock(y, m, d-back, c, loc)
		}
	}
	at = at.UTC()
	req.At = &at
	req.Window = window
	req.From, req.To = at.Add(-window), at.Add(window)
}

// timeWallClock returns the instant a wall clock shows c on y-m-d in loc. A time
// that does not exist (skipped when DST starts) is read with the offset in force
// just before the change, so "2:30am" on a spring-forward night is 3:30 daylight
// time, as java.time and Python's zoneinfo read it. An ambiguous time (repeated when
// DST ends) is its first occurrence.
func timeWallClock(y int, m time.Month, d int, c timeClock, loc *time.Location) time.Time {
	t := time.Date(y, m, d, c.hour, c.min, c.sec, 0, loc)
	if t.Hour() == c.hour%24 && t.Minute() == c.min {
		return t
	}
	_, before := t.Add(-6 * time.Hour).Zone()
	naive := time.Date(y, m, d, c.hour, c.min, c.sec, 0, time.UTC)
	return naive.Add(-time.Duration(before) * time.Second).In(loc)
}

// useRel reports whether the day is the relative one: it comes before any date.
func (s timeSpec) useRel() bool { return s.rel != nil && (s.date == nil || s.rel.pos < s.date.pos) }

// writtenDay is how the text gave the day and time apply resolved: "today 3pm",
// "5/22 3pm", an ISO timestamp.
func (s timeSpec) writtenDay() string {
	if s.instant != nil {
		return s.instantText
	}
	var day string
	switch {
	case s.useRel():
		day = s.rel.text
	case s.date != nil:
		day = s.date.text
	}
	if s.clock == nil || s.clock.text == day {
		return day
	}
	return strings.TrimSpace(day + " " + s.clock.text)
}

// day returns the calendar day the spec names, seen from today (in the report's zone).
func (s timeSpec) day(today time.Time) (int, time.Month, int) {
	switch {
	case s.useRel():
		t := time.Date(today.Year(), today.Month(), today.Day()+s.rel.days, 12, 0, 0, 0, today.Location())
		return t.Year(), t.Month(), t.Day()
	case s.date != nil && s.date.year != 0:
		return s.date.year, time.Month(s.date.month), s.date.day
	case s.date != nil:
		return timeInferYear(s.date.month, s.date.day, today), time.Month(s.date.month), s.date.day
	case s.weekday != nil:
		return s.weekday.date(today)
	}
	return today.Year(), today.Month(), today.Day()
}

// clockWithHint applies a relative word's implied half of the day ("tonight 8:30").
func (s timeSpec) clockWithHint() timeClock {
	c := *s.clock
	if s.rel != nil && s.rel.hint == "pm" && c.hintable {
		c.hour += 12
	}
	return c
}

// timeInferYear returns the year of the most recent month/day on or before today.
func timeInferYear(month, day int, today time.Time) int {
	y := today.Year()
	for back := 0; back < 9; back++ {
		cand := y - back
		if day > timeDaysIn(month, cand) {
			continue
		}
		if cand < y || month < int(today.Month()) || (month == int(today.Month()) && day <= today.Day()) {
			return cand
		}
	}
	return y
}

// timeDaysIn returns the number of days in month of year.
func timeDaysIn(month, year int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// timeValidDate reports whether year (0: any year)/month/day is a real date.
func timeValidDate(year, month, day int) bool {
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	if year == 0 {
		return day <= timeDaysIn(month, 2000) // a leap year: 2/29 exists
	}
	return year >= 1970 && year <= 2100 && day <= timeDaysIn(month, year)
}

// timeISOPass is ISO-8601 / RFC 3339: 2026-05-20T13:15:00-04:00, …Z, or with a space
// before the time when an offset follows.
var timeISOPass = parsePass{
	re:   regexp.MustCompile(`\b(\d{4})-(\d{2})-(\d{2})([Tt ])(\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?(?:[ \t]?(Z\b|[+-]\d{2}(?::?\d{2})?))?`),
	gate: []string{":"},
}

// readISO reads ISO timestamps. With an offset the instant is absolute and the
// offset is a zone named in the text; without one the date and time are local.
func (r *parsedReport) readISO(sc *parseScan) {
	sc.each(timeISOPass, func(m parseMatch) bool {
		off := m.group(8)
		offEnd := m.groupEnd(8)
		if off != "" && off != "Z" && offEnd < len(sc.buf) && parseIsDigit(sc.buf[offEnd]) {
			off = "" // "+1914…": a phone number, not an offset
		}
		if off == "" && m.group(4) == " " {
			return false // a plain "2026-05-20 13:15": the general passes read it
		}
		r.readISOMatch(sc, m, off)
		return false
	})
}

// readISOMatch records one ISO timestamp and blanks what it used.
func (r *parsedReport) readISOMatch(sc *parseScan, m parseMatch, off string) {
	y, mo, d := timeAtoi(m.group(1)), timeAtoi(m.group(2)), timeAtoi(m.group(3))
	h, mi, s := timeAtoi(m.group(5)), timeAtoi(m.group(6)), timeAtoi(m.group(7))
	end := m.groupEnd(6)
	if m.groupEnd(7) > 0 {
		end = m.groupEnd(7)
	}
	if off != "" {
		end = m.end()
	}
	text := string(sc.buf[m.start():end])
	sc.blank(m.start(), end)
	if !timeValidDate(y, mo, d) {
		r.problem(missingDate, say("“%s” is not a real date.", "“%s” 不是真实存在的日期。", text))
		return
	}
	if h > 23 || mi > 59 || s > 59 {
		r.problem(missingTime, say("“%s” is not a time of day.", "“%s” 不是有效的时刻。", text))
		return
	}
	if off == "" {
		r.setDate(timeDate{pos: m.start(), year: y, month: mo, day: d, text: text})
		r.setClock(timeClock{pos: m.start(), hour: h, min: mi, sec: s, text: text})
		return
	}
	z := timeZoneMatch{pos: m.groupStart(8), loc: time.UTC, name: "UTC"}
	if off != "Z" {
		var ok bool
		if z, ok = timeOffsetZone(off[:1], off[1:3], strings.TrimPrefix(off[3:], ":")); !ok {
			r.problem(say("a valid time zone offset", "有效的时区偏移"), say("“%s” has an offset I do not know.", "“%s” 的时区偏移无法识别。", text))
			return
		}
		z.pos = m.groupStart(8)
	}
	r.zones = append(r.zones, z)
	at := time.Date(y, time.Month(mo), d, h, mi, s, 0, z.loc)
	if r.when.instant == nil {
		r.when.instant, r.when.instantText = &at, text
	}
}

// setDate keeps the earliest date, and every date among the mentions.
func (r *parsedReport) setDate(d timeDate) {
	r.days = append(r.days, timeDayMention{pos: d.pos, date: &d})
	if r.when.date == nil || d.pos < r.when.date.pos {
		r.when.date = &d
	}
}

// setClock keeps the earliest time of day, and every one among the mentions.
func (r *parsedReport) setClock(c timeClock) {
	r.clocks = append(r.clocks, c)
	if r.when.clock == nil || c.pos < r.when.clock.pos {
		r.when.clock = &c
	}
}

// setRel keeps the earliest relative day, and every one among the mentions.
func (r *parsedReport) setRel(rel timeRel) {
	r.days = append(r.days, timeDayMention{pos: rel.pos, rel: &rel})
	if r.when.rel == nil || rel.pos < r.when.rel.pos {
		r.when.rel = &rel
	}
}

func timeAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}
