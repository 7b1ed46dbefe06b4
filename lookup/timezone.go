package lookup

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	// Zones must resolve the same way in a scratch container without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// timeZoneMatch is a zone named in the text.
type timeZoneMatch struct {
	pos  int // byte offset in the report; the earliest zone wins
	loc  *time.Location
	name string // IANA name, "UTC", or "+08:00" for a bare offset
}

// timeFirstZone returns the earliest zone in zones.
func timeFirstZone(zones []timeZoneMatch) (timeZoneMatch, bool) {
	if len(zones) == 0 {
		return timeZoneMatch{}, false
	}
	first := zones[0]
	for _, z := range zones[1:] {
		if z.pos < first.pos {
			first = z
		}
	}
	return first, true
}

// timeZoneNames maps the names people write (lower case) to the civil time of the
// region: "EST" in May means New York's EDT, as people write it.
var timeZoneNames = map[string]string{
	"et": "America/New_York", "est": "America/New_York", "edt": "America/New_York", "eastern": "America/New_York",
	"ct": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago", "central": "America/Chicago",
	"mt": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver", "mountain": "America/Denver",
	"pt": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pacific": "America/Los_Angeles",
	"akst": "America/Anchorage", "akdt": "America/Anchorage", "alaska": "America/Anchorage",
	"hst": "Pacific/Honolulu", "hawaii": "Pacific/Honolulu",
	"utc": "UTC", "gmt": "UTC", "z": "UTC",
	"北京时间": "Asia/Shanghai", "北京時間": "Asia/Shanghai", "中国时间": "Asia/Shanghai",
	"美东时间": "America/New_York", "美东": "America/New_York", "东部时间": "America/New_York",
	"美中时间": "America/Chicago", "中部时间": "America/Chicago", "山地时间": "America/Denver",
	"美西时间": "America/Los_Angeles", "美西": "America/Los_Angeles", "太平洋时间": "America/Los_Angeles", "西部时间": "America/Los_Angeles",
}

var (
	timeUTCOffsetPass = parsePass{
		re:   regexp.MustCompile(`(?i)\b(?:utc|gmt)[ \t]?([+-])[ \t]?(\d{1,2})(?::?(\d{2}))?\b`),
		gate: []string{"utc", "gmt"},
	}
	// timeBareOffsetPass is "+08:00" or "-0400" standing alone (a phone's "-4371" is
	// preceded by a digit, so it does not match).
	timeBareOffsetPass = parsePass{
		re:   regexp.MustCompile(`(?:^|[\s(])([+-])(\d{2}):?(\d{2})\b`),
		gate: []string{"+", "-"},
	}
	timeIANAPass = parsePass{
		re:   regexp.MustCompile(`\b((?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc|US|Canada|Brazil|Mexico|Chile)/[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)?)`),
		gate: []string{"/"},
	}
	timeCNZonePass = parsePass{
		re:   regexp.MustCompile(`北京时间|北京時間|中国时间|美东时间|美东|东部时间|美中时间|中部时间|山地时间|美西时间|美西|太平洋时间|西部时间`),
		gate: []string{"时间", "時間", "美东", "美西"},
	}
	timeZoneWordPass = parsePass{
		re:   regexp.MustCompile(`(?i)\b(eastern|pacific|central|mountain|alaska|hawaii)(?:[ \t]+(?:standard|daylight))?[ \t]+time\b`),
		gate: []string{"time"},
	}
	// timeZoneAbbrPass is an upper-case abbreviation anywhere, ET and PT included; CT
	// and MT (also states: "store in CT") and lower case count only right after a
	// time or a zone keyword (timeZoneKeyPass).
	timeZoneAbbrPass = parsePass{
		re:   regexp.MustCompile(`\b(ET|PT|EST|EDT|PST|PDT|CST|CDT|MST|MDT|AKST|AKDT|HST|(?i:utc|gmt))\b`),
		gate: []string{"et", "pt", "st", "dt", "utc", "gmt"},
	}
	// timeZoneKeyPass is a zone given with a keyword, in any case: "tz=ct",
	// "time zone: MT", "timezone pacific".
	timeZoneKeyPass = parsePass{
		re: regexp.MustCompile(`(?i)\b(?:tz|time[ \t]?zone)[ \t]*[:=]?[ \t]*` +
			`(et|est|edt|eastern|ct|cst|cdt|central|mt|mst|mdt|mountain|pt|pst|pdt|pacific|akst|akdt|alaska|hst|hawaii|utc|gmt)\b`),
		gate: []string{"tz", "zone"},
	}
	// timeZoneSuffixRe is a zone written right after a time: "1pm ET", "1:15 pm (pt)".
	timeZoneSuffixRe = regexp.MustCompile(`^[ \t]*\(?[ \t]*(?i:(et|est|edt|eastern|ct|cst|cdt|central|mt|mst|mdt|mountain|pt|pst|pdt|pacific|akst|akdt|hst|utc|gmt|z))\b(?i:[ \t]+(?:standard[ \t]+|daylight[ \t]+)?time\b)?[ \t]*\)?`)
)

// readZones reads every explicit zone and blanks it.
func (r *parsedReport) readZones(sc *parseScan) {
	offset := func(m parseMatch) bool {
		z, ok := timeOffsetZone(m.group(1), m.group(2), m.group(3))
		if ok {
			z.pos = m.start()
			r.zones = append(r.zones, z)
		}
		return ok
	}
	sc.each(timeUTCOffsetPass, offset)
	sc.each(timeBareOffsetPass, offset)
	sc.each(timeIANAPass, func(m parseMatch) bool {
		loc, err := timeLoadZone(m.group(1))
		if err != nil {
			return false
		}
		r.zones = append(r.zones, timeZoneMatch{pos: m.start(), loc: loc, name: loc.String()})
		return true
	})
	named := func(group int) func(m parseMatch) bool {
		return func(m parseMatch) bool {
			r.addNamedZone(m.start(), m.group(group))
			return true
		}
	}
	sc.each(timeCNZonePass, named(0))
	sc.each(timeZoneKeyPass, named(1))
	sc.each(timeZoneWordPass, named(1))
	sc.each(timeZoneAbbrPass, named(1))
}

// readZoneAfter reads a zone written right after a time ending at end.
func (r *parsedReport) readZoneAfter(sc *parseScan, end int) {
	idx := timeZoneSuffixRe.FindSubmatchIndex(sc.buf[end:])
	if idx == nil {
		return
	}
	r.addNamedZone(end+idx[2], string(sc.buf[end+idx[2]:end+idx[3]]))
	sc.blank(end, end+idx[1])
}

// zoneBeside returns the zone written right after the time at start..end ("1:15
// PM EDT", "(17:15 UTC)", "1:15pmET"), else right before it ("UTC 17:15"), or nil.
func (r *parsedReport) zoneBeside(sc *parseScan, start, end int) *time.Location {
	for _, z := range r.zones {
		if z.pos >= end && strings.TrimLeft(strings.ToLower(sc.orig[end:z.pos]), " \t(apm") == "" {
			return z.loc
		}
	}
	for _, z := range r.zones {
		if z.pos < start && !strings.ContainsAny(strings.TrimRight(sc.orig[z.pos:start], " \t("), " \t0123456789") {
			return z.loc
		}
	}
	return nil
}

// addNamedZone records the zone a name stands for.
func (r *parsedReport) addNamedZone(pos int, name string) {
	iana, ok := timeZoneNames[strings.ToLower(name)]
	if !ok {
		return
	}
	loc, err := timeLoadZone(iana)
	if err != nil {
		return
	}
	r.zones = append(r.zones, timeZoneMatch{pos: pos, loc: loc, name: iana})
}

// timeOffsetZone returns a fixed zone for a sign, hours and optional minutes, named
// like "+08:00". Offsets beyond ±14h or with odd minutes are not zones.
func timeOffsetZone(sign, hours, minutes string) (timeZoneMatch, bool) {
	h, err := strconv.Atoi(hours)
	if err != nil || h > 14 {
		return timeZoneMatch{}, false
	}
	m := 0
	if minutes != "" {
		if m, err = strconv.Atoi(minutes); err != nil || m%15 != 0 || m > 45 {
			return timeZoneMatch{}, false
		}
	}
	secs := (h*60 + m) * 60
	if sign == "-" {
		secs = -secs
	}
	name := fmt.Sprintf("%s%02d:%02d", sign, h, m)
	return timeZoneMatch{loc: time.FixedZone(name, secs), name: name}, true
}

// timeZoneCache holds loaded locations; LoadLocation reads tzdata on every call.
var timeZoneCache sync.Map // name → *time.Location

// timeLoadZone loads an IANA zone once per process.
func timeLoadZone(name string) (*time.Location, error) {
	if loc, ok := timeZoneCache.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", name, err)
	}
	timeZoneCache.Store(name, loc)
	return loc, nil
}

// timeLoadZoneOr loads name, or returns def when it cannot be loaded.
func timeLoadZoneOr(name string, def *time.Location) *time.Location {
	if loc, err := timeLoadZone(name); err == nil {
		return loc
	}
	return def
}
