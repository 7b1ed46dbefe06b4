package lookup

import (
	"strings"
	"time"
)

// ParseOptions are the defaults a report is read against.
type ParseOptions struct {
	Now            time.Time      // "now" (TRACEBOT_NOW in tests / replays); zero means time.Now()
	DefaultZone    *time.Location // TRACEBOT_TIME_ZONE; nil means America/New_York
	Window         time.Duration  // TRACEBOT_WINDOW; zero or negative means 2h
	NoTimeLookback time.Duration  // TRACEBOT_NO_TIME_LOOKBACK; zero or negative means 168h
	// SessionID is a telephony_session_id given outside the text (the CLI's
	// --session). It is taken as given, whatever its shape, and replaces any
	// session id the text names.
	SessionID string
}

const (
	parseDefaultWindow   = 2 * time.Hour
	parseDefaultLookback = 168 * time.Hour
	parseMinWindow       = time.Minute
	parseMaxWindow       = 7 * 24 * time.Hour
	parseDefaultZoneName = "America/New_York"
	// parseMaxTextBytes bounds the work done for one report; a real report is a
	// few hundred bytes, a pasted thread a few KiB.
	parseMaxTextBytes = 16 << 10
)

// Zone sources reported in Request.ZoneSource.
const (
	ZoneSourceText    = "text"
	ZoneSourcePhone   = "phone"
	ZoneSourceDefault = "default"
)

// withDefaults fills the zero fields of o with the documented defaults.
func (o ParseOptions) withDefaults() ParseOptions {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.DefaultZone == nil {
		o.DefaultZone = timeLoadZoneOr(parseDefaultZoneName, time.UTC)
	}
	if o.Window <= 0 {
		o.Window = parseDefaultWindow
	}
	if o.NoTimeLookback <= 0 {
		o.NoTimeLookback = parseDefaultLookback
	}
	return o
}

// ParseReport reads a pasted support report into a Request: the phone number in
// E.164, the reported instant and search window in UTC, the zone the times were read
// in, and the options and ids found in the text.
//
// It returns an *Error with Code CodeNotUnderstood, a short friendly Message and
// Understood / Missing filled in, when the text has no usable phone number and no
// session or generation id, or when what it has is invalid: a number phonenumbers
// rejects, a number without an area code, an impossible date ("2/30") or time of day
// ("25:00", "13pm"), an unusable window, an env other than test, pre or prod, or a
// day or time after now ("tomorrow", "today 3pm" at noon: the search window would
// start after now). It never returns any other error.
func ParseReport(text string, opt ParseOptions) (Request, error) {
	opt = opt.withDefaults()
	if len(text) > parseMaxTextBytes {
		e := errorSay(CodeNotUnderstood, say("That report is too long; send just the phone number and roughly when.",
			"这条报告太长了：只需发送电话号码和大概时间。"))
		e.addMissing(say("a shorter report", "更短的报告"))
		return Request{}, e
	}
	rep := readReport(text)
	if id := strings.TrimSpace(opt.SessionID); id != "" {
		rep.sessionID = id
	}
	req := Request{
		Text:          text,
		Phone:         rep.phone,
		Direction:     rep.direction,
		Env:           rep.env,
		SessionID:     rep.sessionID,
		GenerationIDs: rep.genIDs,
	}
	req.Zone, req.ZoneName, req.ZoneSource = rep.zone(opt.DefaultZone)
	window := opt.Window
	if rep.window > 0 {
		window = rep.window
	}
	if len(rep.problems) == 0 {
		rep.when.apply(&req, opt.Now, window, opt.NoTimeLookback)
		if !req.Lookback && req.From.After(opt.Now) {
			// "today 3pm" at noon: the search would start after now. A time a
			// little ahead (clocks differ) still has its window start before now.
			rep.future(rep.when.writtenDay())
		}
		if alt, ok := rep.alsoSaw(req, opt.Now, window, opt.NoTimeLookback); ok {
			req.Warnings = append(req.Warnings, otherTimeWarning(alt))
		}
		if w, ok := rep.unreadDateWarning(); ok {
			req.Warnings = append(req.Warnings, w)
		}
	}
	if err := rep.failure(req); err != nil {
		return Request{}, err
	}
	return req, nil
}

// What a better report would contain, for the problems several readers find.
var (
	missingDate = sentence{"a valid date", "有效的日期"}
	missingTime = sentence{"a valid time", "有效的时间"}
	missingDay  = sentence{"a date", "日期"}
	missingPast = sentence{"a day on or before today", "今天或更早的日期"}
)

// parseProblem is one reason a report cannot be used as it is.
type parseProblem struct {
	message sentence // friendly, shown to the reporter
	missing sentence // what a better report would contain
}

// parsedReport collects what the text says before it is resolved against "now".
type parsedReport struct {
	empty      bool
	phone      string   // E.164 of the first valid number
	phoneZones []string // phonenumbers' zones for that number
	badPhone   string   // text of the first number-shaped run that is not a valid number
	shortPhone string   // text of the first 7-digit local number (no area code)
	ninePhone  string   // text of the first 9-digit number (a digit missing)
	sessionID  string
	genIDs     []string
	direction  Direction
	env        string
	window     time.Duration // 0 when the text does not set one
	windowText string
	zones      []timeZoneMatch // explicit zones in the text, in no particular order
	when       timeSpec
	days       []timeDayMention // every date and relative day, in no particular order
	clocks     []timeClock      // every time of day, in no particular order
	unread     *timeDate        // the first month-day like 5-20 not read as a date (readDashDate)
	problems   []parseProblem
}

// readReport extracts every piece of a report. The passes run in an order that
// keeps one kind of token from being read as another: ids and links first (their
// digits are not phone numbers), then options, zones and ISO timestamps, then phone
// numbers, and dates and times last, on what is left.
func readReport(text string) *parsedReport {
	rep := &parsedReport{}
	clean := parsePrepareText(text)
	if strings.TrimSpace(clean) == "" {
		rep.empty = true
		return rep
	}
	sc := newParseScan(clean)
	rep.readIDs(sc)
	rep.readOptions(sc)
	rep.readISO(sc)
	rep.readZones(sc)
	rep.readPhone(sc)
	rep.readDates(sc)
	rep.readTimes(sc)
	return rep
}

// problem records a reason the report cannot be used, and what is missing.
func (r *parsedReport) problem(missing, message sentence) {
	r.problems = append(r.problems, parseProblem{message: message, missing: missing})
}

// zone picks the zone the report's local times are read in: the first explicit zone
// in the text, else the number's zone when phonenumbers knows exactly one, else def.
func (r *parsedReport) zone(def *time.Location) (*time.Location, string, string) {
	if z, ok := timeFirstZone(r.zones); ok {
		return z.loc, z.name, ZoneSourceText
	}
	if len(r.phoneZones) == 1 {
		if loc, err := timeLoadZone(r.phoneZones[0]); err == nil {
			return loc, r.phoneZones[0], ZoneSourcePhone
		}
	}
	return def, def.String(), ZoneSourceDefault
}

// failure returns the not-understood error for req, or nil when req is usable.
func (r *parsedReport) failure(req Request) error {
	problems := r.problems
	if req.Phone == "" && req.SessionID == "" && len(req.GenerationIDs) == 0 {
		problems = append(problems, r.noNumberReason())
	}
	if len(problems) == 0 {
		return nil
	}
	e := errorSay(CodeNotUnderstood, problems[0].message)
	for _, p := range problems {
		e.addMissing(p.missing)
	}
	for _, u := range r.understood(req) {
		e.addUnderstood(u)
	}
	return e
}

// noNumberReason says why no phone number could be used.
func (r *parsedReport) noNumberReason() parseProblem {
	switch {
	case r.empty:
		return parseProblem{say("That report is empty: send a phone number and roughly when the call was.",
			"这条报告是空的：请发送电话号码和通话的大概时间。"), say("a phone number", "电话号码")}
	case r.badPhone != "":
		return parseProblem{say("“%s” is not a valid phone number (international numbers need a + and the country code).",
			"“%s” 不是有效的电话号码（国际号码需要 + 和国家代码）。", r.badPhone), say("a valid phone number", "有效的电话号码")}
	case r.shortPhone != "":
		return parseProblem{say("“%s” is too short for a phone number: include the area code.",
			"“%s” 太短，不是完整的电话号码：请带上区号。", r.shortPhone), say("a phone number with its area code", "带区号的电话号码")}
	case r.ninePhone != "":
		return parseProblem{say("“%s” has 9 digits: a US phone number has 10 (area code and number), so one is missing.",
			"“%s” 只有 9 位：美国电话号码是 10 位（区号加号码），少了一位。", r.ninePhone), say("a 10-digit phone number", "10 位电话号码")}
	default:
		return parseProblem{say("I could not find a phone number (or a session id) in that.",
			"没有找到电话号码（或会话 id）。"), say("a phone number", "电话号码")}
	}
}

// understood lists what was read, for a not-understood answer.
func (r *parsedReport) understood(req Request) []sentence {
	var out []sentence
	if req.Phone != "" {
		out = append(out, say("phone: %s", "号码：%s", req.Phone))
	}
	if req.SessionID != "" {
		out = append(out, say("session: %s", "会话：%s", req.SessionID))
	}
	if len(req.GenerationIDs) > 0 {
		out = append(out, say("generation: %s", "generation：%s", strings.Join(req.GenerationIDs, ", ")))
	}
	if t := req.timeSummary(); t.en != "" {
		out = append(out, t)
	}
	if r.window > 0 {
		out = append(out, sentence{"window: ±" + timeFormatSpan(r.window, false), "时间窗口：±" + timeFormatSpan(r.window, true)})
	}
	if req.Direction != DirectionAny {
		out = append(out, say("direction: %s", "方向：%s", string(req.Direction)))
	}
	if req.Env != "" {
		out = append(out, say("env: %s", "env：%s", req.Env))
	}
	return out
}

// ReportExamples are shown to anyone whose report was not understood.
var ReportExamples = []string{"(914) 265-4371 5/20 1:15pm", "+1 914 265 4371 5月20日 下午1:15 呼入"}
