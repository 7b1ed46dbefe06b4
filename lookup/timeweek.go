package lookup

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// What people write a few days after a call (SPEC §2): weekday names ("Wednesday
// 1:15pm", "on Wed at 4pm", "周三下午1点", "星期三", "礼拜三") and times counted back
// from now ("2 hours ago", "about an hour ago", "半小时前", "两个小时前"; "2 days ago",
// "两天前" name a day).

// timeWeekday is a weekday name. back is how it is counted: 0 the most recent such
// day on or before today, -1 ("last Wednesday") the most recent before today, n > 0
// the day of the calendar week n weeks before this one (上周三, weeks from Monday).
type timeWeekday struct {
	pos  int
	day  time.Weekday
	back int
}

// timeAgo is a time counted back from now.
type timeAgo struct {
	pos int
	d   time.Duration
}

// timeMaxAgo is the furthest "… ago" read; further back it is not a call to search.
const timeMaxAgo = 7 * 24 * time.Hour

var (
	timeWeekdayENPass = parsePass{
		re: regexp.MustCompile(`(?i)\b(?:(last|this|on|next|coming|this coming)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday|` +
			`mon|tues?|weds?|thu(?:rs?)?|fri|sat|sun)\b\.?`),
		gate: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
	}
	// timeWeekdayAbbrAhead says an abbreviation is a weekday: a time or "at" follows.
	timeWeekdayAbbrAhead = regexp.MustCompile(`(?i)^,?\s*(?:\d|at\b)`)
	timeWeekdayCNPass    = parsePass{
		re:   regexp.MustCompile(`(上*|下)(?:个|個)?(?:周|週|星期|礼拜|禮拜)([一二三四五六日天])`),
		gate: []string{"周", "週", "星期", "礼拜", "禮拜"},
	}
	timeAgoENPass = parsePass{
		re: regexp.MustCompile(`(?i)\b(?:(?:about|around|roughly|approximately|approx\.?|maybe|like|~)\s*)?` +
			`(\d{1,3}(?:\.\d{1,2})?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|forty-five|` +
			`half an?|an? hour and a half|a couple(?: of)?|a few)\s*(hours?|hrs?|h|minutes?|mins?|months?|m|days?|d|weeks?|wks?|w)?\s+ago\b`),
		gate: []string{"ago"},
	}
	timeAgoCNPass = parsePass{
		re:   regexp.MustCompile(`(半|\d{1,3}|` + timeCNNumPat + `)\s*(?:个|個)?\s*(半)?\s*(小时|小時|钟头|鐘頭|分钟|分鐘|分|天)\s*(?:以前|之前|前)`),
		gate: []string{"前"},
	}
)

var timeWeekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"日": time.Sunday, "天": time.Sunday, "一": time.Monday, "二": time.Tuesday, "三": time.Wednesday,
	"四": time.Thursday, "五": time.Friday, "六": time.Saturday,
}

// readWeekdays reads weekday names, English and Chinese, and blanks them.
func (r *parsedReport) readWeekdays(sc *parseScan) {
	sc.each(timeWeekdayENPass, func(m parseMatch) bool {
		name := strings.ToLower(m.group(2))
		full := strings.HasSuffix(name, "day")
		if !full && m.group(1) == "" && !timeWeekdayAbbrAhead.Match(sc.buf[m.end():]) {
			return false // "sat", "sun", "wed" alone are ordinary words
		}
		back := 0
		switch strings.ToLower(m.group(1)) {
		case "last":
			back = -1
		case "next", "coming", "this coming":
			r.futureDay(m)
			return true
		}
		r.setWeekday(timeWeekday{pos: m.start(), day: timeWeekdayNames[name[:3]], back: back})
		return true
	})
	sc.each(timeWeekdayCNPass, func(m parseMatch) bool {
		if at := m.start(); at > 0 && strings.ContainsAny(string(sc.buf[max(0, at-3):at]), "一二两兩三四五六七八九十0123456789") {
			return false // 一周一次 ("once a week"), 两周: a count of weeks
		}
		if m.group(1) == "下" { // 下周三: next week's
			r.futureDay(m)
			return true
		}
		r.setWeekday(timeWeekday{pos: m.start(), day: timeWeekdayNames[m.group(2)], back: strings.Count(m.group(1), "上")})
		return true
	})
}

// setWeekday keeps the earliest weekday name.
func (r *parsedReport) setWeekday(w timeWeekday) {
	if r.when.weekday == nil || w.pos < r.when.weekday.pos {
		r.when.weekday = &w
	}
}

// date returns the day w names, seen from today.
func (w timeWeekday) date(today time.Time) (int, time.Month, int) {
	back := (int(today.Weekday()) - int(w.day) + 7) % 7
	switch {
	case w.back < 0 && back == 0:
		back = 7
	case w.back > 0: // weeks start on Monday
		monday := (int(today.Weekday()) + 6) % 7
		back = monday + 7*w.back - (int(w.day)+6)%7
	}
	t := time.Date(today.Year(), today.Month(), today.Day()-back, 12, 0, 0, 0, today.Location())
	return t.Year(), t.Month(), t.Day()
}

// readAgo reads times counted back from now, English and Chinese, and blanks them.
func (r *parsedReport) readAgo(sc *parseScan) {
	sc.each(timeAgoENPass, func(m parseMatch) bool {
		n, ok := timeAgoCount(strings.ToLower(m.group(1)))
		unit := strings.ToLower(m.group(2))
		switch {
		case !ok || (unit == "" && !strings.Contains(strings.ToLower(m.group(1)), "hour")):
			return false // "a while ago": nothing to pin down here
		case strings.HasPrefix(unit, "d") && !strings.Contains(m.group(1), "few") && !strings.Contains(m.group(1), "couple"):
			r.addDaysAgo(m, n)
		case strings.HasPrefix(unit, "d"), strings.HasPrefix(unit, "w"), strings.HasPrefix(unit, "mo"):
			r.problem(missingDay, say("“%s” is too vague to search: give the date, like 5/15.", "“%s” 太模糊，无法搜索：请给出日期，例如 5/15。", strings.TrimSpace(m.text())))
		default:
			r.addAgo(m, n, unit == "" || strings.HasPrefix(unit, "h"))
		}
		return true
	})
	sc.each(timeAgoCNPass, func(m parseMatch) bool {
		if end := m.end(); end < len(sc.buf) && strings.HasPrefix(string(sc.buf[end:]), "后") {
			return false // 2小时前后: a window, not a time
		}
		if before := string(sc.buf[:m.start()]); strings.HasSuffix(strings.TrimSpace(before), "点") ||
			strings.HasSuffix(strings.TrimSpace(before), "點") {
			return false // 1点30分前: before a time of day, not minutes ago
		}
		n, ok := 0.5, true
		if m.group(1) != "半" {
			var whole int
			whole, ok = timeCNNumber(m.group(1))
			n = float64(whole)
		}
		if m.group(2) == "半" {
			n += 0.5
		}
		switch {
		case !ok, m.group(3) == "天" && m.group(1) == "半": // 半天前: "a while ago"
		case m.group(3) == "天":
			r.addDaysAgo(m, n)
		default:
			r.addAgo(m, n, !strings.HasPrefix(m.group(3), "分"))
		}
		return true
	})
}

// timeMaxDaysAgo is the furthest "… days ago" read as a day.
const timeMaxDaysAgo = 366

// addDaysAgo records the day n days before today ("2 days ago", "两天前") as a
// relative day, like "the day before yesterday", so that a time given with it
// ("two days ago at 3pm") is on that day; a part of a day, or further back than
// a year, is a problem.
func (r *parsedReport) addDaysAgo(m parseMatch, n float64) {
	if n != math.Trunc(n) || n < 1 || n > timeMaxDaysAgo {
		r.problem(missingDay, say("“%s” is not a day I can search: give the date, like 5/20.", "“%s” 不是能搜索的日期：请给出日期，例如 5/20。", strings.TrimSpace(m.text())))
		return
	}
	r.setRel(timeRel{pos: m.start(), days: -int(n)})
}

// timeAgoWords are the English counts of "… ago".
var timeAgoWords = map[string]float64{
	"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
	"nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
	"forty-five": 45, "half a": 0.5, "half an": 0.5, "an hour and a half": 1.5, "a hour and a half": 1.5,
	"a couple": 2, "a couple of": 2, "a few": 3,
}

func timeAgoCount(s string) (float64, bool) {
	if n, ok := timeAgoWords[strings.Join(strings.Fields(s), " ")]; ok {
		return n, true
	}
	n, err := strconv.ParseFloat(s, 64)
	return n, err == nil
}

// addAgo records n hours (or minutes) before now, or a problem when it is too far
// back or not a time at all.
func (r *parsedReport) addAgo(m parseMatch, n float64, hours bool) {
	unit := time.Minute
	if hours {
		unit = time.Hour
	}
	d := time.Duration(math.Round(n * float64(unit)))
	if d <= 0 || d > timeMaxAgo {
		r.problem(say("a time within the last 7 days", "最近 7 天内的时间"), say("“%s” is not a time I can search.", "“%s” 不是能搜索的时间。", strings.TrimSpace(m.text())))
		return
	}
	if r.when.ago == nil || m.start() < r.when.ago.pos {
		r.when.ago = &timeAgo{pos: m.start(), d: d}
	}
}
