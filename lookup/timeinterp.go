package lookup

import (
	"fmt"
	"strings"
	"time"
)

// Interpretation states how the request was read, for the reply:
//
//	"Wed May 20 1:15 PM EDT (17:15 UTC), ±2h"
//	"5月20日 周三 下午1:15 EDT（UTC 17:15），±2小时"   (lang "zh")
//
// A whole day reads "whole day Wed May 20 EDT (…)", no time "no time given: the last
// 7 days, since …". When the zone is the default it says so, and why; the
// request's Warnings follow ("; also saw Wed May 20 1:15 PM EDT: …"). lang is "en"
// or "zh" (any "zh-…" too); anything else is English. A request without a time
// (zero From and To) gives "".
func (r Request) Interpretation(lang string) string {
	zh := strings.HasPrefix(strings.ToLower(lang), "zh")
	var s string
	switch {
	case r.At != nil:
		s = r.timeDescribeAt(zh)
	case r.WholeDay:
		s = r.timeDescribeDay(zh)
	case r.Lookback || !r.To.IsZero():
		s = r.timeDescribeLookback(zh)
	default:
		return ""
	}
	s += r.timeZoneNote(zh)
	sep := "; "
	if zh {
		sep = "；"
	}
	for _, w := range r.Warnings {
		s += sep + w.Text(lang)
	}
	return s
}

// timeSummary is the time part of a not-understood answer's Understood list.
func (r Request) timeSummary() sentence {
	loc := r.timeLocation()
	switch {
	case r.At != nil:
		at := r.At.In(loc)
		return sentence{"time: " + timeLocalEN(at, r.ZoneName), "时间：" + timeLocalZH(at, r.ZoneName)}
	case r.WholeDay:
		day := r.From.In(loc)
		return sentence{"date: " + timeDayEN(day, r.ZoneName) + " (whole day)",
			fmt.Sprintf("日期：%d月%d日 %s %s（全天）", day.Month(), day.Day(), timeWeekdayZH(day), timeZoneLabel(day, r.ZoneName))}
	}
	return sentence{}
}

// timeLocation returns the zone the request was read in, also for a Request decoded
// from JSON (which carries only ZoneName).
func (r Request) timeLocation() *time.Location {
	if r.Zone != nil {
		return r.Zone
	}
	if loc, err := timeLoadZone(r.ZoneName); err == nil && r.ZoneName != "" {
		return loc
	}
	return time.UTC
}

// timeWindow returns ± around At.
func (r Request) timeWindow() time.Duration {
	if r.Window > 0 || r.At == nil {
		return r.Window
	}
	return r.To.Sub(*r.At)
}

func (r Request) timeDescribeAt(zh bool) string {
	local := r.At.In(r.timeLocation())
	utc := r.At.UTC()
	sameDay := local.YearDay() == utc.YearDay() && local.Year() == utc.Year()
	isUTC := timeZoneLabel(local, r.ZoneName) == "UTC"
	w := timeFormatSpan(r.timeWindow(), zh)
	if zh {
		s := timeLocalZH(local, r.ZoneName)
		switch {
		case isUTC:
		case sameDay:
			s += fmt.Sprintf("（UTC %s）", utc.Format("15:04"))
		default:
			s += fmt.Sprintf("（UTC %d月%d日 %s）", utc.Month(), utc.Day(), utc.Format("15:04"))
		}
		return s + "，±" + w
	}
	s := timeLocalEN(local, r.ZoneName)
	switch {
	case isUTC:
	case sameDay:
		s += fmt.Sprintf(" (%s UTC)", utc.Format("15:04"))
	default:
		s += fmt.Sprintf(" (%s UTC)", utc.Format("Mon 15:04"))
	}
	return s + ", ±" + w
}

func (r Request) timeDescribeDay(zh bool) string {
	loc := r.timeLocation()
	from, to := r.From.UTC(), r.To.UTC()
	if zh {
		day := r.From.In(loc)
		return fmt.Sprintf("%d月%d日 %s 全天 %s（UTC %d月%d日 %s – %d月%d日 %s）",
			day.Month(), day.Day(), timeWeekdayZH(day), timeZoneLabel(day, r.ZoneName),
			from.Month(), from.Day(), from.Format("15:04"), to.Month(), to.Day(), to.Format("15:04"))
	}
	return fmt.Sprintf("whole day %s (%s – %s UTC)", timeDayEN(r.From.In(loc), r.ZoneName),
		from.Format("Jan 2 15:04"), to.Format("Jan 2 15:04"))
}

func (r Request) timeDescribeLookback(zh bool) string {
	since := r.From.In(r.timeLocation())
	span := r.To.Sub(r.From)
	if zh {
		return fmt.Sprintf("未给时间：最近%s（自%s起）", timeFormatSpan(span, true), timeLocalZH(since, r.ZoneName))
	}
	return fmt.Sprintf("no time given: the last %s, since %s", timeFormatSpan(span, false), timeLocalEN(since, r.ZoneName))
}

// timeZoneNote says when the zone is the default, and why.
func (r Request) timeZoneNote(zh bool) string {
	if r.ZoneSource != ZoneSourceDefault {
		return ""
	}
	switch {
	case zh && r.Phone != "":
		return fmt.Sprintf("；默认时区 %s（该号码没有唯一时区）", r.ZoneName)
	case zh:
		return fmt.Sprintf("；默认时区 %s", r.ZoneName)
	case r.Phone != "":
		return fmt.Sprintf("; default time zone %s (the number has no single time zone)", r.ZoneName)
	}
	return fmt.Sprintf("; default time zone %s", r.ZoneName)
}

// timeLocalEN formats "Wed May 20 1:15 PM EDT" (seconds only when not zero).
// LocalTime formats t to the minute in the zone zoneName (an IANA name) as replies
// state times: "Wed May 20 1:15 PM EDT", or "5月20日 周三 下午1:15 EDT" for lang "zh";
// a zone that does not load gives UTC ("Wed May 20 17:15 UTC").
func LocalTime(t time.Time, zoneName, lang string) string {
	loc, err := timeLoadZone(zoneName)
	if err != nil || zoneName == "" {
		return t.UTC().Format("Mon Jan 2 15:04 UTC")
	}
	t = t.Truncate(time.Minute).In(loc)
	if isChinese(lang) {
		return timeLocalZH(t, zoneName)
	}
	return timeLocalEN(t, zoneName)
}

// DayLabel names t's day as replies do: "Fri May 22", or "5月22日 周五" for lang
// "zh".
func DayLabel(t time.Time, lang string) string {
	if isChinese(lang) {
		return fmt.Sprintf("%d月%d日 %s", t.Month(), t.Day(), timeWeekdayZH(t))
	}
	return t.Format("Mon Jan 2")
}

func timeLocalEN(t time.Time, zoneName string) string {
	layout := "Mon Jan 2 3:04 PM"
	if t.Second() != 0 {
		layout = "Mon Jan 2 3:04:05 PM"
	}
	return t.Format(layout) + " " + timeZoneLabel(t, zoneName)
}

// timeDayEN formats "Wed May 20 EDT".
func timeDayEN(t time.Time, zoneName string) string {
	return t.Format("Mon Jan 2") + " " + timeZoneLabel(t, zoneName)
}

// timeLocalZH formats "5月20日 周三 下午1:15 EDT".
func timeLocalZH(t time.Time, zoneName string) string {
	clock := t.Format(":04")
	if t.Second() != 0 {
		clock = t.Format(":04:05")
	}
	period, h := timePeriodZH(t.Hour())
	return fmt.Sprintf("%d月%d日 %s %s%d%s %s", t.Month(), t.Day(), timeWeekdayZH(t), period, h, clock, timeZoneLabel(t, zoneName))
}

// timePeriodZH returns the Chinese period word and the 12-hour clock hour.
func timePeriodZH(h int) (string, int) {
	switch {
	case h < 6:
		return "凌晨", h
	case h < 12:
		return "上午", h
	case h == 12:
		return "中午", h
	case h < 18:
		return "下午", h - 12
	}
	return "晚上", h - 12
}

func timeWeekdayZH(t time.Time) string {
	return [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[t.Weekday()]
}

// timeZoneLabel names the zone of t for people: the familiar abbreviation for North
// American zones and UTC ("EDT"), else the IANA name or offset ("Asia/Shanghai",
// "+08:00"), since abbreviations like CST or IST mean different zones elsewhere.
func timeZoneLabel(t time.Time, zoneName string) string {
	abbr := t.Format("MST")
	if zoneName == "UTC" || zoneName == "" {
		return abbr
	}
	american := strings.HasPrefix(zoneName, "America/") || strings.HasPrefix(zoneName, "US/") || zoneName == "Pacific/Honolulu"
	if american && strings.Trim(abbr, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		return abbr
	}
	return zoneName
}

// timeFormatSpan formats a window or lookback: "2h", "30m", "1h30m", "7 days"
// (zh: "2小时", "30分钟", "1小时30分钟", "7天").
func timeFormatSpan(d time.Duration, zh bool) string {
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 1 && d%(24*time.Hour) == 0 && zh:
		return fmt.Sprintf("%d天", days)
	case days > 1 && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", days)
	case zh && hours > 0 && mins > 0:
		return fmt.Sprintf("%d小时%d分钟", hours, mins)
	case zh && hours > 0:
		return fmt.Sprintf("%d小时", hours)
	case zh:
		return fmt.Sprintf("%d分钟", mins)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%dh%dm", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	}
	return fmt.Sprintf("%dm", mins)
}
