package lookup

import (
	"regexp"
	"strings"
)

const timeMonthPat = `(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:tember|t)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)`

// timeMonthGate gates the patterns with a month name.
var timeMonthGate = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

var (
	timeYMDPass = parsePass{
		re:   regexp.MustCompile(`\b(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})\b`),
		gate: []string{"-", "/", "."},
	}
	timeCNDatePass = parsePass{
		re:   regexp.MustCompile(`(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*(?:日|号|號)?`),
		gate: []string{"月"},
	}
	timeMDYPass = parsePass{
		re:   regexp.MustCompile(`\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?\b`),
		gate: []string{"/"},
	}
	// timeMDDashPass is 5-20, 05-20, 5.20, 5-20-2026: read as a date only with a
	// 4-digit year, a time beside it or a date word before it (timeDateBeside),
	// since the same shape is a decimal, a version or a range.
	timeMDDashPass = parsePass{
		re:   regexp.MustCompile(`\b(\d{1,2})([-.])(\d{1,2})(?:([-.])(\d{4}|\d{2}))?\b`),
		gate: []string{"-", "."},
	}
	// timeClockNextRe is a time of day right after a date: "5.20 1:15pm", "05-20
	// 13:15", "5-20 at 1pm", "5.20 下午1点", "5.20 三点".
	timeClockNextRe = regexp.MustCompile(`(?i)^[ \t]*,?[ \t]*(?:(?:at|@|around|about|approx\.?|~)[ \t]*)?(?:\d{1,2}(?::\d{2}|\.\d{2}[ \t]*(?:am|pm|a\.m|p\.m)|[ \t]*(?:am\b|pm\b|a\.m|p\.m|点|點|时|時))|` +
		timePeriodPat + `|` + timeCNNumPat + `[ \t]*(?:点|點)|noon\b|midday\b|midnight\b)`)
	// timeBeforeDateRe is a time of day or a date word right before a date: "1:15pm
	// 5-20", "1pm on 5.20", "on 5-20", "date: 5.20", "Wed 5-20", "周三 5.20".
	timeBeforeDateRe = regexp.MustCompile(`(?i)(?:\d{1,2}:\d{2}|\d[ \t]*(?:am|pm|a\.m\.?|p\.m\.?)|\bon|\bdated?[ \t]*:?|日期[ \t]*[:：]?|` +
		`\b(?:mon|tue|tues|wed|weds|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?\.?,?|(?:周|週|星期|礼拜|禮拜)[一二三四五六日天])[ \t]*(?:on[ \t]+)?$`)
	timeDayMonPass = parsePass{
		re:   regexp.MustCompile(`(?i)\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?` + timeMonthPat + `\b\.?(?:,?\s*(\d{4})\b)?`),
		gate: timeMonthGate,
	}
	timeMonDayPass = parsePass{
		re:   regexp.MustCompile(`(?i)\b` + timeMonthPat + `\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s*(\d{4})\b)?`),
		gate: timeMonthGate,
	}
	// timeClockAheadRe says the number after a month name is an hour ("May 1pm").
	timeClockAheadRe = regexp.MustCompile(`(?i)^\s*(?::\d|\.\d|am\b|pm\b|a\.m|p\.m|点|點|时|時)`)
	timeRelENPass    = parsePass{
		re:   regexp.MustCompile(`(?i)\b(the day before yesterday|day before yesterday|yesterday|today|tonight|last night|this morning|this afternoon|this evening|tomorrow|tmrw)\b`),
		gate: []string{"yesterday", "today", "tonight", "last night", "this ", "tomorrow", "tmrw"},
	}
	timeRelCNPass = parsePass{
		re:   regexp.MustCompile(`前天|昨天|昨日|昨晚|昨夜|今天|今日|今晚|今早|今夜|明天|明早|明晚`),
		gate: []string{"前天", "昨", "今", "明"},
	}
	// timeFutureWords are relative days after today: a call cannot have happened
	// then, so they are a problem, not a day to search.
	timeFutureWords = map[string]bool{"tomorrow": true, "tmrw": true, "明天": true, "明早": true, "明晚": true}
)

// timeRelWords maps relative day words to a day offset and an implied half of day.
var timeRelWords = map[string]timeRel{
	"the day before yesterday": {days: -2}, "day before yesterday": {days: -2},
	"yesterday": {days: -1}, "last night": {days: -1, hint: "pm"},
	"today": {}, "tonight": {hint: "pm"}, "this morning": {hint: "am"},
	"this afternoon": {hint: "pm"}, "this evening": {hint: "pm"},
	"前天": {days: -2}, "昨天": {days: -1}, "昨日": {days: -1},
	"昨晚": {days: -1, hint: "pm"}, "昨夜": {days: -1, hint: "pm"},
	"今天": {}, "今日": {}, "今晚": {hint: "pm"}, "今夜": {hint: "pm"}, "今早": {hint: "am"},
}

var timeMonths = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}

// readDates reads calendar dates and relative days and blanks them.
func (r *parsedReport) readDates(sc *parseScan) {
	r.readAgo(sc)
	r.readWeekdays(sc)
	sc.each(timeYMDPass, func(m parseMatch) bool {
		if m.group(2) != m.group(4) {
			return false
		}
		r.addDate(m.start(), m.text(), timeAtoi(m.group(1)), timeAtoi(m.group(3)), timeAtoi(m.group(5)))
		return true
	})
	sc.each(timeCNDatePass, func(m parseMatch) bool {
		if at := m.groupStart(2); m.groupStart(1) < 0 && at > 0 && parseIsDigit(sc.buf[at-1]) {
			return false
		}
		r.addDate(m.start(), strings.TrimSpace(m.text()), timeAtoi(m.group(1)), timeAtoi(m.group(2)), timeAtoi(m.group(3)))
		return true
	})
	sc.each(timeMDYPass, func(m parseMatch) bool {
		if (m.start() > 0 && sc.buf[m.start()-1] == '/') || (m.end() < len(sc.buf) && sc.buf[m.end()] == '/') {
			return false
		}
		if m.text() == "24/7" {
			return false // "a 24/7 line": an idiom, not a date
		}
		r.addDate(m.start(), m.text(), timeYear(m.group(3)), timeAtoi(m.group(1)), timeAtoi(m.group(2)))
		return true
	})
	sc.each(timeMDDashPass, func(m parseMatch) bool { return r.readDashDate(sc, m) })
	// Month first ("May 20"), the US habit, before day first ("20 May"): in "3 may 20"
	// the date is May 20.
	sc.each(timeMonDayPass, func(m parseMatch) bool {
		if timeClockAheadRe.Match(sc.buf[m.groupEnd(2):]) {
			return false // "May 1pm": 1 is an hour
		}
		return r.addNamedDate(sc, m, m.group(1), 2, 3)
	})
	sc.each(timeDayMonPass, func(m parseMatch) bool {
		return r.addNamedDate(sc, m, m.group(2), 1, 3)
	})
	rel := func(m parseMatch) bool {
		word := strings.ToLower(strings.Join(strings.Fields(m.text()), " "))
		if timeFutureWords[word] {
			r.futureDay(m)
			return true
		}
		rw := timeRelWords[word]
		rw.pos, rw.text = m.start(), strings.TrimSpace(m.text())
		r.setRel(rw)
		return true
	}
	sc.each(timeRelENPass, rel)
	sc.each(timeRelCNPass, rel)
}

// readDashDate reads a month-day written with a dash or a dot (timeMDDashPass). A
// shape that is part of a longer number (1.2.3, $5.20, 5-10%) or no month and day
// (0.93, 13-45) is not one. A month-day with nothing saying it is a date is left
// alone, and the first such one not followed by a word (2.5 hours, 4.5 stars) is
// kept (unread) for a warning. Day first (20.05.2026, 20-5 1pm; not 20.5, a
// decimal) is a problem.
func (r *parsedReport) readDashDate(sc *parseScan, m parseMatch) bool {
	sep, start, end := m.group(2), m.start(), m.end()
	if m.group(4) != "" && m.group(4) != sep {
		return false
	}
	if start > 0 && strings.IndexByte("-./:$+#~±", sc.buf[start-1]) >= 0 {
		return false
	}
	if end < len(sc.buf) {
		next := sc.buf[end]
		if next == '%' || (strings.IndexByte("-./:", next) >= 0 && end+1 < len(sc.buf) && parseIsDigit(sc.buf[end+1])) {
			return false
		}
	}
	month, day := timeAtoi(m.group(1)), timeAtoi(m.group(3))
	if month < 1 || day < 1 || month > 31 || day > 31 || (month > 12 && (day > 12 || (sep == "." && m.group(5) == ""))) {
		return false // not a month and a day; 20.5 is a decimal
	}
	if len(m.group(5)) != 4 && !timeDateBeside(sc, start, end) {
		if r.unread == nil && month <= 12 && !parseIsLetter(timeFirstAfterSpace(sc.buf[end:])) {
			r.unread = &timeDate{pos: start, month: month, day: day, text: m.text()}
		}
		return false
	}
	if month > 12 { // 20.05.2026: day first
		r.problem(missingDate, say("“%s” is not a date I can read: write the month first, like %d/%d.",
			"“%s” 不是能读懂的日期：请把月份写在前面，例如 %d/%d。", m.text(), day, month))
		return true
	}
	r.addDate(start, m.text(), timeYear(m.group(5)), month, day)
	return true
}

// timeDateBeside reports whether a time or a date word is written right beside
// orig[start:end].
func timeDateBeside(sc *parseScan, start, end int) bool {
	if timeClockNextRe.MatchString(sc.orig[end:]) {
		return true
	}
	return timeBeforeDateRe.MatchString(sc.orig[max(0, start-24):start])
}

// timeFirstAfterSpace is the first byte of b after spaces and tabs, or 0.
func timeFirstAfterSpace(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' {
			return c
		}
	}
	return 0
}

// addNamedDate records a date written with a month name. A year group outside
// 1970..2100 is not a year ("May 20 2330" is a time) and is left for later passes.
func (r *parsedReport) addNamedDate(sc *parseScan, m parseMatch, month string, dayGroup, yearGroup int) bool {
	end := m.end()
	year := timeAtoi(m.group(yearGroup))
	if year != 0 && (year < 1970 || year > 2100) {
		year = 0
		end = m.groupEnd(dayGroup)
		if dayGroup < 2 { // day-month: the month name ends the date
			end = m.groupEnd(2)
		}
	}
	mon := timeMonths[strings.ToLower(month)[:3]]
	r.addDate(m.start(), string(sc.buf[m.start():end]), year, mon, timeAtoi(m.group(dayGroup)))
	sc.blank(m.start(), end)
	return false
}

// addDate records a date, or a problem when it is not a real one.
func (r *parsedReport) addDate(pos int, text string, year, month, day int) {
	if !timeValidDate(year, month, day) {
		r.problem(missingDate, say("“%s” is not a real date.", "“%s” 不是真实存在的日期。", text))
		return
	}
	r.setDate(timeDate{pos: pos, year: year, month: month, day: day, text: text})
}

// timeYear reads a 2- or 4-digit year; "" is 0 (no year).
func timeYear(s string) int {
	y := timeAtoi(s)
	if len(s) == 2 {
		y += 2000
	}
	return y
}

const (
	timePeriodPat = `(凌晨|清晨|早上|早晨|上午|中午|正午|下午|傍晚|晚上|夜里|夜间|夜裡|夜間|半夜)`
	timeCNNumPat  = `[零〇一二两兩三四五六七八九十]{1,3}`
	timeAmPmPat   = `(am\b|pm\b|a\.m\.?|p\.m\.?)`
)

var (
	timeColonPass = parsePass{
		re:   regexp.MustCompile(`(?i)(?:` + timePeriodPat + `\s*)?\b(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*` + timeAmPmPat + `)?`),
		gate: []string{":"},
	}
	timeAmPmPass = parsePass{
		re:   regexp.MustCompile(`(?i)(?:` + timePeriodPat + `\s*)?\b(\d{1,2})(?:\.(\d{2}))?\s*` + timeAmPmPat),
		gate: []string{"am", "pm", "a.m", "p.m"},
	}
	timeCNPass = parsePass{
		re:   regexp.MustCompile(timePeriodPat + `?\s*(\d{1,2}|` + timeCNNumPat + `)\s*(点钟|點鐘|点|點|时|時)(?:\s*(半|一刻|三刻|(\d{1,2}|` + timeCNNumPat + `)\s*(?:分钟|分|分鐘)?))?`),
		gate: []string{"点", "點", "时", "時"},
	}
	timeNoonPass = parsePass{
		re:   regexp.MustCompile(`(?i)\b(noon|midday|midnight)\b|中午|正午`),
		gate: []string{"noon", "midday", "midnight", "中午", "正午"},
	}
)

// readTimes reads times of day (and a zone written right after one) and blanks them.
func (r *parsedReport) readTimes(sc *parseScan) {
	sc.each(timeColonPass, func(m parseMatch) bool {
		numEnd := m.groupEnd(3)
		if m.groupEnd(4) >= 0 {
			numEnd = m.groupEnd(4)
		}
		if m.group(5) == "" && numEnd < len(sc.buf) && parseIsDigit(sc.buf[numEnd]) {
			return false // "1:150" is not a time
		}
		ampm := m.group(5)
		if ampm == "" {
			suffix := timeLetterRun(sc.buf[numEnd:])
			a, zone, ok := timeClockSuffix(string(suffix), timeAtoi(m.group(2)))
			if !ok {
				r.problem(missingTime, say("“%s%s” is not a time I can read: write %s:%sam or %[3]s:%spm.",
					"“%s%s” 不是能读懂的时间：请写成 %s:%sam 或 %[3]s:%spm。",
					strings.TrimSpace(string(sc.buf[m.start():numEnd])), suffix, m.group(2), m.group(3)))
				sc.blank(m.start(), numEnd+len(suffix))
				return false
			}
			if a != "" {
				ampm = a
				if zone != "" {
					r.addNamedZone(numEnd+len(suffix)-len(zone), zone)
				}
				sc.blank(numEnd, numEnd+len(suffix))
			}
		}
		r.addClock(sc, m, m.group(1), timeAtoi(m.group(2)), timeAtoi(m.group(3)), timeAtoi(m.group(4)), ampm)
		return false
	})
	sc.each(timeAmPmPass, func(m parseMatch) bool {
		r.addClock(sc, m, m.group(1), timeAtoi(m.group(2)), timeAtoi(m.group(3)), 0, m.group(4))
		return false
	})
	sc.each(timeCNPass, func(m parseMatch) bool {
		return r.readCNClock(sc, m)
	})
	sc.each(timeNoonPass, func(m parseMatch) bool {
		hour := 12
		if strings.EqualFold(m.group(1), "midnight") {
			hour = 0
		}
		r.readZoneAfter(sc, m.end())
		r.setClock(timeClock{pos: m.start(), hour: hour, text: m.text(), zone: r.zoneBeside(sc, m.start(), m.end())})
		return true
	})
}

// futureDay records the problem of a day after today ("tomorrow", "next Wednesday",
// "下周三"): a call cannot have happened then.
func (r *parsedReport) futureDay(m parseMatch) { r.future(strings.TrimSpace(m.text())) }

// future records the problem of a day or time written as text that is after now.
func (r *parsedReport) future(text string) {
	r.problem(missingPast, say("“%s” is in the future: give the day the call was, like yesterday or 5/20.",
		"“%s” 在未来：请给出通话那天，例如昨天或 5/20。", text))
}

// timeClockSuffix reads the letters written right after a clock time without am/pm
// (a space would have ended them): "1:15p" and "1:15a" are pm and am, "1:15pmET" is
// pm in a zone, a zone alone ("1:15EDT") or "h" is read elsewhere or changes
// nothing. Other letters after an hour 1..12 ("1:15pn") are a typo that decides
// between morning and afternoon, so the time is not read (ok false) rather than
// guessed.
func timeClockSuffix(word string, hour int) (ampm, zone string, ok bool) {
	lower := strings.ToLower(word)
	switch {
	case lower == "" || lower == "h" || lower == "hrs" || lower == "uhr" || timeZoneNames[lower] != "":
		return "", "", true
	case lower == "a" || lower == "p":
		return lower + "m", "", true
	case len(lower) > 2 && (lower[:2] == "am" || lower[:2] == "pm") && timeZoneNames[lower[2:]] != "":
		return lower[:2], word[2:], true
	}
	return "", "", hour < 1 || hour > 12
}

// timeLetterRun is the run of ASCII letters at the start of b.
func timeLetterRun(b []byte) []byte {
	n := 0
	for n < len(b) && (b[n]|0x20 >= 'a' && b[n]|0x20 <= 'z') {
		n++
	}
	return b[:n]
}

// addClock records a time written with digits, an optional Chinese period word and
// an optional am/pm, or a problem when it names no time of day.
func (r *parsedReport) addClock(sc *parseScan, m parseMatch, period string, hour, mi, s int, ampm string) {
	text := strings.TrimSpace(m.text())
	sc.blank(m.start(), m.end())
	h, ok := timeApplyPeriod(hour, period, strings.ToLower(ampm))
	if !ok || mi > 59 || s > 59 {
		r.problem(missingTime, say("“%s” is not a time of day.", "“%s” 不是有效的时刻。", text))
		return
	}
	explicit := period != "" || ampm != ""
	r.readZoneAfter(sc, m.end())
	r.setClock(timeClock{pos: m.start(), hour: h, min: mi, sec: s, hintable: !explicit && h >= 1 && h <= 11, text: text,
		zone: r.zoneBeside(sc, m.start(), m.end())})
}

// readCNClock records a Chinese time: 下午1点15, 10点半, 下午 1 点多, 三点钟.
func (r *parsedReport) readCNClock(sc *parseScan, m parseMatch) bool {
	hourText, unit, minText := m.group(2), m.group(3), m.group(4)
	if at := m.groupStart(2); at > 0 && parseIsDigit(sc.buf[at-1]) {
		return false
	}
	hour, ok := timeCNNumber(hourText)
	if !ok {
		return false
	}
	if hourText == "一" {
		// 一点 ("a little"), 一时 ("for a while"): 一 counts only with a period word,
		// a minute part or 点钟. Other numerals are hours (三点, 十点, 两点半).
		if unit == "时" || unit == "時" || (m.group(1) == "" && minText == "" && unit != "点钟" && unit != "點鐘") {
			return false
		}
	}
	minute := 0
	switch minText {
	case "":
	case "半":
		minute = 30
	case "一刻":
		minute = 15
	case "三刻":
		minute = 45
	default:
		if minute, ok = timeCNNumber(m.group(5)); !ok {
			return false
		}
	}
	r.addClock(sc, m, m.group(1), hour, minute, 0, "")
	return false
}

// timeApplyPeriod turns an hour written with a Chinese period word or am/pm into
// 0..24 (24: midnight at the end of the day, 晚上12点). ok is false for hours that
// name no time: 13pm, 0am, 25.
func timeApplyPeriod(h int, period, ampm string) (int, bool) {
	switch {
	case ampm != "":
		if h < 1 || h > 12 {
			return 0, false
		}
		if strings.HasPrefix(ampm, "p") {
			return h%12 + 12, true
		}
		return h % 12, true
	case h > 23:
		return 0, false
	}
	switch period {
	case "凌晨", "半夜":
		if h == 12 {
			return 0, true
		}
	case "中午", "正午":
		if h >= 1 && h <= 3 {
			return h + 12, true
		}
	case "下午", "傍晚":
		if h < 12 {
			return h + 12, true
		}
	case "晚上", "夜里", "夜间", "夜裡", "夜間":
		switch {
		case h == 12:
			return 24, true
		case h >= 5 && h < 12:
			return h + 12, true
		}
	}
	return h, true
}

var timeCNDigits = map[rune]int{'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '兩': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}

// timeCNNumber reads 0..99 written in digits or Chinese numerals (十五, 二十三, 零五).
func timeCNNumber(s string) (int, bool) {
	if s != "" && parseIsDigit(s[0]) {
		return timeAtoi(s), true
	}
	rs := []rune(s)
	digit := func(r rune) (int, bool) { d, ok := timeCNDigits[r]; return d, ok }
	switch {
	case len(rs) == 1 && rs[0] == '十':
		return 10, true
	case len(rs) == 1:
		return digit(rs[0])
	case len(rs) == 2 && rs[0] == '十':
		d, ok := digit(rs[1])
		return 10 + d, ok
	case len(rs) == 2 && rs[1] == '十':
		d, ok := digit(rs[0])
		return d * 10, ok && d > 0
	case len(rs) == 2 && (rs[0] == '零' || rs[0] == '〇'):
		return digit(rs[1])
	case len(rs) == 3 && rs[1] == '十':
		t, ok1 := digit(rs[0])
		u, ok2 := digit(rs[2])
		return t*10 + u, ok1 && ok2 && t > 0
	}
	return 0, false
}
