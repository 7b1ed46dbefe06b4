package lookup

import (
	"math"
	"slices"
	"time"
)

// Warnings about how a report's days and times were read (Request.Warnings).
//
// A pasted thread often names more than one day or time ("Ticket opened 5/21 9:02
// AM … says the 5/20 ~1:15pm call …"). The first one is searched, as before; when
// another one falls outside that search, the request carries a WarnOtherTime
// warning, so the reply says what else was seen and how to search it instead.

// alsoSaw returns the first day or time the text names, besides the one req
// searches, that falls outside req's search and not after now, resolved as the
// searched one is (year, zone, yesterday's for a time alone). A time of day is
// read on the day written last before it, else on the searched day; a day
// written with no time of its own is its whole day. ok is false when there is
// none.
func (r *parsedReport) alsoSaw(req Request, now time.Time, window, lookback time.Duration) (Request, bool) {
	days := slices.Clone(r.days)
	slices.SortFunc(days, func(a, b timeDayMention) int { return a.pos - b.pos })
	clocks := slices.Clone(r.clocks)
	slices.SortFunc(clocks, func(a, b timeClock) int { return a.pos - b.pos })
	chosen := r.when
	var specs []timeSpec
	for _, c := range clocks {
		if chosen.clock != nil && c.pos == chosen.clock.pos {
			continue
		}
		s := timeSpec{date: chosen.date, rel: chosen.rel, weekday: chosen.weekday, clock: &c}
		if d, ok := timeDayBefore(days, c.pos); ok {
			s = timeSpec{date: d.date, rel: d.rel, clock: &c}
		}
		specs = append(specs, s)
	}
	for i, d := range days {
		if (chosen.date != nil && d.date != nil && d.pos == chosen.date.pos) || (chosen.rel != nil && d.rel != nil && d.pos == chosen.rel.pos) {
			continue
		}
		next := math.MaxInt
		if i+1 < len(days) {
			next = days[i+1].pos
		}
		if slices.ContainsFunc(clocks, func(c timeClock) bool { return c.pos > d.pos && c.pos < next }) {
			continue // read with its time above
		}
		specs = append(specs, timeSpec{date: d.date, rel: d.rel})
	}
	slices.SortStableFunc(specs, func(a, b timeSpec) int { return a.mentionPos() - b.mentionPos() })
	for _, s := range specs {
		alt := Request{Zone: req.Zone, ZoneName: req.ZoneName}
		if s.clock != nil && s.clock.zone != nil {
			alt.Zone = s.clock.zone
		}
		s.apply(&alt, now, window, lookback)
		if alt.From.After(now) || timeOverlaps(alt, req) {
			continue
		}
		alt.Zone, alt.ZoneName = req.Zone, req.ZoneName
		return alt, true
	}
	return Request{}, false
}

// mentionPos is where the spec's time (else its day) is written.
func (s timeSpec) mentionPos() int {
	switch {
	case s.clock != nil:
		return s.clock.pos
	case s.date != nil:
		return s.date.pos
	case s.rel != nil:
		return s.rel.pos
	}
	return 0
}

// timeDayBefore returns the last day written before pos.
func timeDayBefore(days []timeDayMention, pos int) (timeDayMention, bool) {
	var last timeDayMention
	found := false
	for _, d := range days {
		if d.pos < pos {
			last, found = d, true
		}
	}
	return last, found
}

// timeOverlaps reports whether alt is inside req's search: its instant within
// req's From..To, or (a whole day) its day overlapping them.
func timeOverlaps(alt, req Request) bool {
	if alt.At != nil {
		return !alt.At.Before(req.From) && !alt.At.After(req.To)
	}
	return alt.From.Before(req.To) && req.From.Before(alt.To)
}

// otherTimeWarning says which other day or time the text names (alt, from
// alsoSaw) and how to search it instead.
func otherTimeWarning(alt Request) Warning {
	loc := alt.timeLocation()
	var en, zh string
	if alt.At != nil {
		at := alt.At.In(loc)
		en, zh = timeLocalEN(at, alt.ZoneName), timeLocalZH(at, alt.ZoneName)
	} else {
		day := alt.From.In(loc)
		en, zh = timeDayEN(day, alt.ZoneName), DayLabel(day, "zh")+" "+timeZoneLabel(day, alt.ZoneName)
	}
	msg := say("also saw %[1]s: if that is the call's time, put it first", "另见 %[2]s：如果那是通话时间，请把它写在最前面", en, zh)
	return Warning{Code: WarnOtherTime, Message: msg.en, zh: msg.zh}
}

// unreadDateWarning says that a month-day like "5-20" was not read as the call's
// day (readDashDate), when the report gives no day at all. ok is false otherwise.
func (r *parsedReport) unreadDateWarning() (Warning, bool) {
	w := r.when
	if r.unread == nil || w.date != nil || w.rel != nil || w.weekday != nil || w.instant != nil || w.ago != nil {
		return Warning{}, false
	}
	msg := say("“%s” was not read as a date: if it is the call's day, write %d/%d", "“%s” 没有当作日期读取：如果那是通话日期，请写成 %d/%d",
		r.unread.text, r.unread.month, r.unread.day)
	return Warning{Code: WarnUnreadDate, Message: msg.en, zh: msg.zh}, true
}
