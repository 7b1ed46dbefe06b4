package lookup

import (
	"fmt"
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
// ("25:00", "13pm"), or an unusable window. It never returns any other error.
func ParseReport(text string, opt ParseOptions) (Request, error) {
	opt = opt.withDefaults()
	if len(text) > parseMaxTextBytes {
		return Request{}, &Error{
			Code:    CodeNotUnderstood,
			Message: "That report is too long; send just the phone number and roughly when.",
			Missing: []string{"a shorter report"},
		}
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
	}
	if err := rep.failure(req); err != nil {
		return Request{}, err
	}
	return req, nil
}

// parseProblem is one reason a report cannot be used as it is.
type parseProblem struct {
	message string // friendly, shown to the reporter
	missing string // what a better report would contain
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

// problem records a reason the report cannot be used.
func (r *parsedReport) problem(missing, format string, args ...any) {
	r.problems = append(r.problems, parseProblem{message: fmt.Sprintf(format, args...), missing: missing})
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
	var message string
	var missing []string
	for _, p := range r.problems {
		if message == "" {
			message = p.message
		}
		missing = append(missing, p.missing)
	}
	if req.Phone == "" && req.SessionID == "" && len(req.GenerationIDs) == 0 {
		m, miss := r.noNumberReason()
		if message == "" {
			message = m
		}
		missing = append(missing, miss)
	}
	if message == "" {
		return nil
	}
	return &Error{Code: CodeNotUnderstood, Message: message, Understood: r.understood(req), Missing: missing}
}

// noNumberReason says why no phone number could be used.
func (r *parsedReport) noNumberReason() (message, missing string) {
	switch {
	case r.empty:
		return "That report is empty: send a phone number and roughly when the call was.", "a phone number"
	case r.badPhone != "":
		return fmt.Sprintf("“%s” is not a valid phone number (international numbers need a + and the country code).", r.badPhone), "a valid phone number"
	case r.shortPhone != "":
		return fmt.Sprintf("“%s” is too short for a phone number: include the area code.", r.shortPhone), "a phone number with its area code"
	case r.ninePhone != "":
		return fmt.Sprintf("“%s” has 9 digits: a US phone number has 10 (area code and number), so one is missing.", r.ninePhone), "a 10-digit phone number"
	default:
		return "I could not find a phone number (or a session id) in that.", "a phone number"
	}
}

// understood lists what was read, for a not-understood answer.
func (r *parsedReport) understood(req Request) []string {
	var out []string
	if req.Phone != "" {
		out = append(out, "phone: "+req.Phone)
	}
	if req.SessionID != "" {
		out = append(out, "session: "+req.SessionID)
	}
	if len(req.GenerationIDs) > 0 {
		out = append(out, "generation: "+strings.Join(req.GenerationIDs, ", "))
	}
	if t := req.timeSummary(); t != "" {
		out = append(out, t)
	}
	if r.window > 0 {
		out = append(out, "window: ±"+timeFormatSpan(r.window, false))
	}
	if req.Direction != DirectionAny {
		out = append(out, "direction: "+string(req.Direction))
	}
	if req.Env != "" {
		out = append(out, "env: "+req.Env)
	}
	return out
}

// ReportExamples are shown to anyone whose report was not understood.
var ReportExamples = []string{"(914) 265-4371 5/20 1:15pm", "+1 914 265 4371 5月20日 下午1:15 呼入"}
