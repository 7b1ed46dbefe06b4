package lookup

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// parseTestNow is Fri May 22 2026, 11:00 AM in New York.
var parseTestNow = time.Date(2026, 5, 22, 15, 0, 0, 0, time.UTC)

// parseOutcome is the part of a Request a case checks, with instants as RFC 3339.
type parseOutcome struct {
	Phone      string
	ZoneName   string
	ZoneSource string
	At         string // "" when At is nil
	From, To   string
	WholeDay   bool
	Lookback   bool
	Direction  Direction
	Env        string
	Session    string
	Gens       []string
	Warnings   []string // Request.Warnings' messages
}

// parseOutcomeOf summarizes req for comparison.
func parseOutcomeOf(req Request) parseOutcome {
	o := parseOutcome{
		Phone: req.Phone, ZoneName: req.ZoneName, ZoneSource: req.ZoneSource,
		From: req.From.Format(time.RFC3339), To: req.To.Format(time.RFC3339),
		WholeDay: req.WholeDay, Lookback: req.Lookback, Direction: req.Direction,
		Env: req.Env, Session: req.SessionID, Gens: req.GenerationIDs,
	}
	if req.At != nil {
		o.At = req.At.Format(time.RFC3339)
	}
	for _, w := range req.Warnings {
		o.Warnings = append(o.Warnings, w.Code+": "+w.Message)
	}
	return o
}

// around returns an outcome with At and the ± w window around it.
func around(phone, zone, source, at string, w time.Duration) parseOutcome {
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		panic(err)
	}
	return parseOutcome{
		Phone: phone, ZoneName: zone, ZoneSource: source, At: at,
		From: t.Add(-w).Format(time.RFC3339), To: t.Add(w).Format(time.RFC3339),
	}
}

// ny914 is the common outcome: the runbook's number, read in its own zone, ±2h.
func ny914(at string) parseOutcome {
	return around("+19142654371", "America/New_York", ZoneSourcePhone, at, 2*time.Hour)
}

// with returns o changed by fn, to keep cases short.
func with(o parseOutcome, fn func(*parseOutcome)) parseOutcome {
	fn(&o)
	return o
}

type parseCase struct {
	name string
	text string
	now  time.Time // zero: parseTestNow
	opt  ParseOptions
	want parseOutcome
	// wantErr, when set, is the expected *Error (Message only checked non-empty).
	wantErr *Error
}

func notUnderstood(understood, missing []string) *Error {
	return &Error{Code: CodeNotUnderstood, Understood: understood, Missing: missing}
}

var parseCases = []parseCase{
	// Phone forms.
	{name: "parens", text: "(914) 265-4371 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "dashes 24h", text: "914-265-4371 5/20 13:15", want: ny914("2026-05-20T17:15:00Z")},
	{name: "dots iso date", text: "914.265.4371 2026-05-20 13:15", want: ny914("2026-05-20T17:15:00Z")},
	{name: "ten digits", text: "9142654371 5/20 1:15 PM", want: ny914("2026-05-20T17:15:00Z")},
	{name: "eleven digits not +11", text: "19142654371 May 20 1:15 PM", want: ny914("2026-05-20T17:15:00Z")},
	{name: "plus spaced", text: "+1 914 265 4371 May 20th at 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "plus compact", text: "+19142654371 20 May 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "plus parens", text: "+1 (914) 265-4371 2026/5/20 13:15", want: ny914("2026-05-20T17:15:00Z")},
	{name: "one dash form", text: "1-914-265-4371 on 5/20/2026 at 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "uk number", text: "+44 20 7946 0958 5/20 13:15",
		want: around("+442079460958", "Europe/London", ZoneSourcePhone, "2026-05-20T12:15:00Z", 2*time.Hour)},
	{name: "china number chinese time", text: "+86 138 0013 8000 5月20日 下午1:15",
		want: around("+8613800138000", "Asia/Shanghai", ZoneSourcePhone, "2026-05-20T05:15:00Z", 2*time.Hour)},
	{name: "chicago area code", text: "(312) 555-1234 5/20 1:15pm",
		want: around("+13125551234", "America/Chicago", ZoneSourcePhone, "2026-05-20T18:15:00Z", 2*time.Hour)},
	{name: "los angeles area code", text: "415-555-1234 5/20 1:15pm",
		want: around("+14155551234", "America/Los_Angeles", ZoneSourcePhone, "2026-05-20T20:15:00Z", 2*time.Hour)},
	{name: "first of two numbers", text: "914-265-4371 (store: 312-555-1234) 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "repeated trunk prefix repaired", text: "+119142654371 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "order number before phone", text: "order 12345 914 265 4371 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},

	// Slack markup and pasted characters.
	{name: "slack tel label", text: "<tel:+19142654371|(914) 265-4371> 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "slack tel target", text: "<tel:+19142654371> 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "slack mentions links mail", text: "<@U0123ABC> <!here> see <#C0456|support-2026> " +
		"<https://studio.example.com/calls/3125551234|dashboard> <mailto:j3125551234@x.io|j3125551234@x.io> " +
		"<tel:+19142654371|(914) 265-4371> 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "full width and unicode dashes", text: "９１４‐２６５–４３７１　５／２０　１：１５ｐｍ", want: ny914("2026-05-20T17:15:00Z")},
	{name: "full width plus colon nbsp", text: "＋1\u00a0914\u00a0265\u00a04371 5/20 １３：１５", want: ny914("2026-05-20T17:15:00Z")},
	{name: "smart quotes and em dash", text: "“(914) 265—4371” — 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "html entities", text: "914-265-4371 &lt;5/20 1:15pm&gt; &amp; more", want: ny914("2026-05-20T17:15:00Z")},
	{name: "italic date", text: "(914) 265-4371 _5/20_ 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "italic time", text: "(914) 265-4371 5/20 _1pm_", want: ny914("2026-05-20T17:00:00Z")},
	{name: "italic date and time", text: "(914) 265-4371 _5/20 1:15pm_", want: ny914("2026-05-20T17:15:00Z")},
	{name: "italic number", text: "_(914) 265-4371_ 5/20 1pm", want: ny914("2026-05-20T17:00:00Z")},
	{name: "italic chinese time", text: "9142654371 _5月20日 下午1:15_", want: ny914("2026-05-20T17:15:00Z")},
	{name: "underscores inside ids are kept", text: "_s-abc_def123_ and gen-1779299695-aB_cD 5/20 1pm",
		want: with(around("", "America/New_York", ZoneSourceDefault, "2026-05-20T17:00:00Z", 2*time.Hour), func(o *parseOutcome) {
			o.Session, o.Gens = "s-abc_def123", []string{"gen-1779299695-aB_cD"}
		})},

	// Dates and times, English.
	{name: "month name around", text: "914-265-4371 May 20 around 1pm", want: ny914("2026-05-20T17:00:00Z")},
	{name: "weekday and seconds", text: "914-265-4371 Wed May 20 1:15:30 PM", want: ny914("2026-05-20T17:15:30Z")},
	{name: "explicit year", text: "914-265-4371 May 20, 2025 1:15pm", want: ny914("2025-05-20T17:15:00Z")},
	{name: "two digit year", text: "914-265-4371 5/20/25 1:15pm", want: ny914("2025-05-20T17:15:00Z")},
	{name: "approx tilde", text: "~1:15pm approx 5/20 914-265-4371", want: ny914("2026-05-20T17:15:00Z")},
	{name: "yesterday 3pm", text: "914-265-4371 yesterday 3pm", want: ny914("2026-05-21T19:00:00Z")},
	{name: "today 10:30", text: "914-265-4371 today 10:30", want: ny914("2026-05-22T14:30:00Z")},
	{name: "this morning", text: "914-265-4371 this morning 9:30", want: ny914("2026-05-22T13:30:00Z")},
	{name: "time only before now is today", text: "914-265-4371 10am", want: ny914("2026-05-22T14:00:00Z")},
	{name: "time only after now is yesterday", text: "914-265-4371 1:15pm", want: ny914("2026-05-21T17:15:00Z")},
	{name: "noon", text: "914-265-4371 noon", want: ny914("2026-05-21T16:00:00Z")},
	{name: "rollover on the 1st", text: "914-265-4371 11pm", now: time.Date(2026, 6, 1, 6, 0, 0, 0, time.UTC),
		want: ny914("2026-06-01T03:00:00Z")},
	{name: "year inferred into last year", text: "914-265-4371 12/30 3pm", now: time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC),
		want: ny914("2025-12-30T20:00:00Z")},
	{name: "iso with offset", text: "9142654371 2026-05-20T13:15:00-04:00",
		want: around("+19142654371", "-04:00", ZoneSourceText, "2026-05-20T17:15:00Z", 2*time.Hour)},
	{name: "iso zulu", text: "9142654371 2026-05-20T17:15:00Z",
		want: around("+19142654371", "UTC", ZoneSourceText, "2026-05-20T17:15:00Z", 2*time.Hour)},
	{name: "interpretation round trip", text: "9142654371 Wed May 20 1:15 PM EDT (17:15 UTC), ±2h",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.ZoneSource = ZoneSourceText })},

	// Dates with a dash or a dot: with a time or a date word beside them, or a year.
	{name: "dash date", text: "+19142654371 5-20 1pm", want: ny914("2026-05-20T17:00:00Z")},
	{name: "dash date 24h", text: "+19142654371 05-20 13:15", want: ny914("2026-05-20T17:15:00Z")},
	{name: "dot date chinese time", text: "+19142654371 5.20 下午1点", want: ny914("2026-05-20T17:00:00Z")},
	{name: "dot date", text: "+19142654371 5.20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "dot date at", text: "+19142654371 5.20 at 1:15 pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "time then dash date", text: "914-265-4371 1:15pm on 5-20", want: ny914("2026-05-20T17:15:00Z")},
	{name: "dash date with a year", text: "914-265-4371 5-20-2026 1pm", want: ny914("2026-05-20T17:00:00Z")},
	{name: "weekday dash date whole day", text: "914-265-4371 Wed 5-20",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-20T04:00:00Z", To: "2026-05-21T04:00:00Z", WholeDay: true}},
	{name: "dot date with a four-digit year whole day", text: "914-265-4371 5.20.2026",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-20T04:00:00Z", To: "2026-05-21T04:00:00Z", WholeDay: true}},
	{name: "dash date alone is pointed out", text: "+19142654371 5-20",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-15T15:00:00Z", To: "2026-05-22T15:00:00Z", Lookback: true,
			Warnings: []string{"unread_date: “5-20” was not read as a date: if it is the call's day, write 5/20"}}},
	{name: "dot date far from the time is pointed out", text: "5.20 (914) 265-4371 1:15pm",
		want: with(ny914("2026-05-21T17:15:00Z"), func(o *parseOutcome) {
			o.Warnings = []string{"unread_date: “5.20” was not read as a date: if it is the call's day, write 5/20"}
		})},
	{name: "a decimal is not a date", text: "914-265-4371 score 0.93 at 10am", want: ny914("2026-05-22T14:00:00Z")},
	{name: "a price is not a date", text: "914-265-4371 $5.20 refund 10am", want: ny914("2026-05-22T14:00:00Z")},
	{name: "a version is not a date", text: "914-265-4371 app 2.4.1 crashed 10am", want: ny914("2026-05-22T14:00:00Z")},
	{name: "a quantity is not a date", text: "914-265-4371 waited 2.5 hours, 4.5 stars, 10am", want: ny914("2026-05-22T14:00:00Z")},
	{name: "a decimal window is not a date", text: "914-265-4371 5/20 1:15pm ±1.5h",
		want: around("+19142654371", "America/New_York", ZoneSourcePhone, "2026-05-20T17:15:00Z", 90*time.Minute)},
	{name: "a day-first decimal is not a date", text: "914-265-4371 score 20.5 10am", want: ny914("2026-05-22T14:00:00Z")},
	{name: "dot date that is not real", text: "914-265-4371 2.30 1pm",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a valid date"})},
	{name: "day-first dot date", text: "914-265-4371 20.05.2026 13:15",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a valid date"})},

	// Another day or time in the text (a pasted thread): the first is searched, the
	// other outside that search is pointed out.
	{name: "messy paste names another time", text: "Ticket #4521 opened 5/21 9:02 AM — customer (914) 265-4371 says the 5/20 ~1:15pm call was marked voicemail",
		want: with(ny914("2026-05-21T13:02:00Z"), func(o *parseOutcome) {
			o.Warnings = []string{"other_time: also saw Wed May 20 1:15 PM EDT: if that is the call's time, put it first"}
		})},
	{name: "another day alone", text: "914-265-4371 5/20 1:15pm, ticket opened 5/21",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) {
			o.Warnings = []string{"other_time: also saw Thu May 21 EDT: if that is the call's time, put it first"}
		})},
	{name: "another time on the same day", text: "914-265-4371 5/20 9am, escalated 4pm",
		want: with(ny914("2026-05-20T13:00:00Z"), func(o *parseOutcome) {
			o.Warnings = []string{"other_time: also saw Wed May 20 4:00 PM EDT: if that is the call's time, put it first"}
		})},
	{name: "chinese thread names another time", text: "工单 5月21日 上午9点 创建，客户 9142654371 说 5月20日 下午1:15 的电话被标成语音信箱",
		want: with(ny914("2026-05-21T13:00:00Z"), func(o *parseOutcome) {
			o.Warnings = []string{"other_time: also saw Wed May 20 1:15 PM EDT: if that is the call's time, put it first"}
		})},
	{name: "another time inside the window is not pointed out", text: "914-265-4371 5/20 1:15pm, called back 2pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "the same time twice", text: "914-265-4371 5/20 1:15pm (5/20 1:15 PM)", want: ny914("2026-05-20T17:15:00Z")},
	{name: "the same instant in another zone", text: "914-265-4371 5/20 1:15pm EDT / 10:15am PT",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.ZoneSource = ZoneSourceText })},
	{name: "another time in the future is not pointed out", text: "914-265-4371 5/20 1pm, will call back today 3pm",
		want: ny914("2026-05-20T17:00:00Z")},

	// Dates and times, Chinese.
	{name: "runbook chinese report", text: "2026-05-20 下午 1:15 左右有通电话 (914) 265-4371，你们的 AI 分析说是 voicemail",
		want: ny914("2026-05-20T17:15:00Z")},
	{name: "runbook 1 点多", text: "5 月 20 号下午 1 点多有通 +1 (914) 265-4371 的电话", want: ny914("2026-05-20T17:00:00Z")},
	{name: "号 and 点 minutes", text: "5月20号下午1点15 9142654371", want: ny914("2026-05-20T17:15:00Z")},
	{name: "chinese year date", text: "2026年5月20日 下午1点15分 9142654371", want: ny914("2026-05-20T17:15:00Z")},
	{name: "昨天下午3点", text: "昨天下午3点 914-265-4371", want: ny914("2026-05-21T19:00:00Z")},
	{name: "今天上午10点半", text: "今天上午10点半 914-265-4371", want: ny914("2026-05-22T14:30:00Z")},
	{name: "晚上8点 time only", text: "晚上8点 914-265-4371", want: ny914("2026-05-22T00:00:00Z")},
	{name: "中午12点", text: "中午12点 914-265-4371", want: ny914("2026-05-21T16:00:00Z")},
	{name: "凌晨2点", text: "凌晨2点 914-265-4371", want: ny914("2026-05-22T06:00:00Z")},
	{name: "下午 1 点多 time only", text: "下午 1 点多 914-265-4371", want: ny914("2026-05-21T17:00:00Z")},
	{name: "昨晚 numerals", text: "昨晚八点半 914-265-4371", want: ny914("2026-05-22T00:30:00Z")},
	{name: "三点 numerals alone", text: "+19142654371 三点", want: ny914("2026-05-22T07:00:00Z")},
	{name: "两点 numerals alone", text: "+19142654371 两点", want: ny914("2026-05-22T06:00:00Z")},
	{name: "十点 numerals alone", text: "+19142654371 十点", want: ny914("2026-05-22T14:00:00Z")},
	{name: "date and 十点", text: "+19142654371 5月20日 十点", want: ny914("2026-05-20T14:00:00Z")},
	{name: "下午三时", text: "+19142654371 5月20日 下午三时", want: ny914("2026-05-20T19:00:00Z")},
	{name: "一点 alone is a little", text: "+19142654371 5月20日 有一点问题 下午1:15", want: ny914("2026-05-20T17:15:00Z")},
	{name: "一时 alone is a while", text: "+19142654371 5月20日 一时没接 下午1:15", want: ny914("2026-05-20T17:15:00Z")},

	// Zones.
	{name: "winter is EST", text: "914-265-4371 1/20 1:15pm", want: ny914("2026-01-20T18:15:00Z")},
	{name: "EST in May means EDT", text: "914-265-4371 5/20 1pm EST",
		want: around("+19142654371", "America/New_York", ZoneSourceText, "2026-05-20T17:00:00Z", 2*time.Hour)},
	{name: "PT after time", text: "914-265-4371 5/20 1:15pm PT",
		want: around("+19142654371", "America/Los_Angeles", ZoneSourceText, "2026-05-20T20:15:00Z", 2*time.Hour)},
	{name: "PST in winter", text: "914-265-4371 1/20 1:15pm PST",
		want: around("+19142654371", "America/Los_Angeles", ZoneSourceText, "2026-01-20T21:15:00Z", 2*time.Hour)},
	{name: "lower case ct after time", text: "914-265-4371 5/20 1:15 pm ct",
		want: around("+19142654371", "America/Chicago", ZoneSourceText, "2026-05-20T18:15:00Z", 2*time.Hour)},
	{name: "CT far from a time is not a zone", text: "914-265-4371 store in CT 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "PT before the date", text: "914-265-4371 PT 5/20 1:15pm",
		want: around("+19142654371", "America/Los_Angeles", ZoneSourceText, "2026-05-20T20:15:00Z", 2*time.Hour)},
	{name: "PT in a sentence", text: "914-265-4371 5/20 1:15pm, customer is in PT",
		want: around("+19142654371", "America/Los_Angeles", ZoneSourceText, "2026-05-20T20:15:00Z", 2*time.Hour)},
	{name: "tz=PT", text: "914-265-4371 5/20 1:15pm tz=PT",
		want: around("+19142654371", "America/Los_Angeles", ZoneSourceText, "2026-05-20T20:15:00Z", 2*time.Hour)},
	{name: "ET alone", text: "(312) 555-1234 ET 5/20 1:15pm",
		want: around("+13125551234", "America/New_York", ZoneSourceText, "2026-05-20T17:15:00Z", 2*time.Hour)},
	{name: "tz=ct", text: "914-265-4371 5/20 1:15pm tz=ct",
		want: around("+19142654371", "America/Chicago", ZoneSourceText, "2026-05-20T18:15:00Z", 2*time.Hour)},
	{name: "time zone: MT", text: "914-265-4371 time zone: MT 5/20 1:15pm",
		want: around("+19142654371", "America/Denver", ZoneSourceText, "2026-05-20T19:15:00Z", 2*time.Hour)},
	{name: "MT far from a time is not a zone", text: "914-265-4371 from MT, 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "lower case pt far from a time is not a zone", text: "914-265-4371 pt says 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "mountain time", text: "914-265-4371 5/20 1:15pm Mountain time",
		want: around("+19142654371", "America/Denver", ZoneSourceText, "2026-05-20T19:15:00Z", 2*time.Hour)},
	{name: "utc", text: "914-265-4371 5/20 13:15 UTC",
		want: around("+19142654371", "UTC", ZoneSourceText, "2026-05-20T13:15:00Z", 2*time.Hour)},
	{name: "offset +08:00", text: "914-265-4371 5/20 13:15 +08:00",
		want: around("+19142654371", "+08:00", ZoneSourceText, "2026-05-20T05:15:00Z", 2*time.Hour)},
	{name: "offset -0400", text: "914-265-4371 5/20 13:15 -0400",
		want: around("+19142654371", "-04:00", ZoneSourceText, "2026-05-20T17:15:00Z", 2*time.Hour)},
	{name: "UTC+8", text: "914-265-4371 5/20 13:15 UTC+8",
		want: around("+19142654371", "+08:00", ZoneSourceText, "2026-05-20T05:15:00Z", 2*time.Hour)},
	{name: "iana name", text: "914-265-4371 5/20 13:15 America/Chicago",
		want: around("+19142654371", "America/Chicago", ZoneSourceText, "2026-05-20T18:15:00Z", 2*time.Hour)},
	{name: "北京时间", text: "+1 914 265 4371 5月20日 13:15 北京时间",
		want: around("+19142654371", "Asia/Shanghai", ZoneSourceText, "2026-05-20T05:15:00Z", 2*time.Hour)},
	{name: "toll free uses default zone", text: "1-800-234-5678 5/20 1:15pm",
		want: around("+18002345678", "America/New_York", ZoneSourceDefault, "2026-05-20T17:15:00Z", 2*time.Hour)},
	{name: "toll free with configured zone", text: "(888) 234-5678 5/20 1:15pm",
		opt:  ParseOptions{DefaultZone: mustZone("America/Los_Angeles")},
		want: around("+18882345678", "America/Los_Angeles", ZoneSourceDefault, "2026-05-20T20:15:00Z", 2*time.Hour)},
	{name: "dst gap does not fail", text: "914-265-4371 3/8 2:30am", want: ny914("2026-03-08T07:30:00Z")},
	{name: "dst overlap does not fail", text: "914-265-4371 11/1/2025 1:30am", want: ny914("2025-11-01T05:30:00Z")},

	// Windows.
	{name: "window ±3h", text: "914-265-4371 5/20 1:15pm ±3h",
		want: around("+19142654371", "America/New_York", ZoneSourcePhone, "2026-05-20T17:15:00Z", 3*time.Hour)},
	{name: "window +-3h", text: "914-265-4371 5/20 1:15pm +-3h",
		want: around("+19142654371", "America/New_York", ZoneSourcePhone, "2026-05-20T17:15:00Z", 3*time.Hour)},
	{name: "window +/-3 hours", text: "914-265-4371 5/20 1:15pm +/- 3 hours",
		want: around("+19142654371", "America/New_York", ZoneSourcePhone, "2026-05-20T17:15:00Z", 3*time.Hour)},
	{name: "window word", text: "914-265-4371 5/20 1:15pm window 3h",
		want: around("+19142654371", "America/New_York", ZoneSourcePhone, "2026-05-20T17:15:00Z", 3*time.Hour)},
	{name: "window ±30m", text: "914-265-4371 5/20 1:15pm ±30m",
		want: around("+19142654371", "America/New_York", ZoneSourcePhone, "2026-05-20T17:15:00Z", 30*time.Minute)},
	{name: "window ±90min", text: "914-265-4371 5/20 1:15pm ±90min",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			At: "2026-05-20T17:15:00Z", From: "2026-05-20T15:45:00Z", To: "2026-05-20T18:45:00Z"}},
	{name: "window from options", text: "914-265-4371 5/20 1:15pm", opt: ParseOptions{Window: time.Hour},
		want: around("+19142654371", "America/New_York", ZoneSourcePhone, "2026-05-20T17:15:00Z", time.Hour)},
	{name: "window 前后", text: "914-265-4371 5/20 1:15pm 前后3小时",
		want: around("+19142654371", "America/New_York", ZoneSourcePhone, "2026-05-20T17:15:00Z", 3*time.Hour)},

	// Direction and env.
	{name: "inbound", text: "inbound call from 914-265-4371 5/20 1:15pm",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Direction = DirectionInbound })},
	{name: "incoming", text: "incoming 914-265-4371 5/20 1:15pm",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Direction = DirectionInbound })},
	{name: "来电", text: "5月20日 下午1:15 来电 9142654371",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Direction = DirectionInbound })},
	{name: "outgoing", text: "outgoing call to 914-265-4371 5/20 1:15pm",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Direction = DirectionOutbound })},
	{name: "呼出", text: "呼出 9142654371 5月20日 下午1:15",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Direction = DirectionOutbound })},
	{name: "bare in out called are english", text: "customer called in, then out 914-265-4371 5/20 1:15pm",
		want: ny914("2026-05-20T17:15:00Z")},
	{name: "env prod", text: "914-265-4371 5/20 1:15pm env prod",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Env = "prod" })},
	{name: "env=test", text: "env=test 914-265-4371 5/20 1:15pm",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Env = "test" })},
	{name: "env pre", text: "914-265-4371 5/20 1:15pm env: pre",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Env = "pre" })},
	{name: "environment production", text: "914-265-4371 5/20 1:15pm environment production",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Env = "prod" })},
	{name: "环境 test", text: "914-265-4371 5月20日 下午1:15 环境 test",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Env = "test" })},
	{name: "env staging is refused", text: "914-265-4371 5/20 1pm env staging",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"env test, pre or prod"})},
	{name: "env=dev is refused", text: "env=dev 914-265-4371 5/20 1pm",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"env test, pre or prod"})},
	{name: "env preprod is refused", text: "914-265-4371 5/20 1pm env preprod",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"env test, pre or prod"})},
	{name: "environment: staging is refused", text: "914-265-4371 5/20 1pm environment: staging",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"env test, pre or prod"})},
	{name: "环境 staging is refused", text: "914-265-4371 5月20日 下午1点 环境 staging",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"env test, pre or prod"})},
	{name: "env in a sentence is not an env", text: "the env is fine, 914-265-4371 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "env before an ordinary word is not an env", text: "the env issue again 914-265-4371 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "environment in a sentence is not an env", text: "noisy environment at the store 914-265-4371 5/20 1:15pm",
		want: ny914("2026-05-20T17:15:00Z")},

	// Ids.
	{name: "session id only", text: "session s-abc123def456",
		want: parseOutcome{ZoneName: "America/New_York", ZoneSource: ZoneSourceDefault, Lookback: true,
			From: "2026-05-15T15:00:00Z", To: "2026-05-22T15:00:00Z", Session: "s-abc123def456"}},
	{name: "keyword session token", text: "session id: CA9f3e2d1c",
		want: parseOutcome{ZoneName: "America/New_York", ZoneSource: ZoneSourceDefault, Lookback: true,
			From: "2026-05-15T15:00:00Z", To: "2026-05-22T15:00:00Z", Session: "CA9f3e2d1c"}},
	{name: "telephonySessionId quoted", text: `telephonySessionId = "s-9142654371ab" 5/20 1:15pm`,
		want: with(around("", "America/New_York", ZoneSourceDefault, "2026-05-20T17:15:00Z", 2*time.Hour),
			func(o *parseOutcome) { o.Session = "s-9142654371ab" })},
	{name: "session and phone", text: "914-265-4371 5/20 1:15pm s-abc123def456",
		want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Session = "s-abc123def456" })},
	{name: "gen ids deduplicated", text: "gen-1779299695-aBcDeFg, gen-1779299697-hIjKlMn and gen-1779299695-aBcDeFg again",
		want: parseOutcome{ZoneName: "America/New_York", ZoneSource: ZoneSourceDefault, Lookback: true,
			From: "2026-05-15T15:00:00Z", To: "2026-05-22T15:00:00Z",
			Gens: []string{"gen-1779299695-aBcDeFg", "gen-1779299697-hIjKlMn"}}},
	{name: "gen id in activity link", text: "<https://openrouter.ai/activity/gen-1779299823-8nd5Ci0U0mwlGRruPcXq|activity>",
		want: parseOutcome{ZoneName: "America/New_York", ZoneSource: ZoneSourceDefault, Lookback: true,
			From: "2026-05-15T15:00:00Z", To: "2026-05-22T15:00:00Z", Gens: []string{"gen-1779299823-8nd5Ci0U0mwlGRruPcXq"}}},
	{name: "date then session, no phone", text: "2026-05-20 13:15 session s-abc123def456",
		want: with(around("", "America/New_York", ZoneSourceDefault, "2026-05-20T17:15:00Z", 2*time.Hour),
			func(o *parseOutcome) { o.Session = "s-abc123def456" })},

	// Whole days and lookback.
	{name: "date only is whole day", text: "914-265-4371 5/20",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-20T04:00:00Z", To: "2026-05-21T04:00:00Z", WholeDay: true}},
	{name: "yesterday whole day", text: "914-265-4371 yesterday",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-21T04:00:00Z", To: "2026-05-22T04:00:00Z", WholeDay: true}},
	{name: "later this year means last year", text: "914-265-4371 June 1",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2025-06-01T04:00:00Z", To: "2025-06-02T04:00:00Z", WholeDay: true}},
	{name: "12/30 seen in january", text: "914-265-4371 12/30", now: time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC),
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2025-12-30T05:00:00Z", To: "2025-12-31T05:00:00Z", WholeDay: true}},
	{name: "no time is lookback", text: "914-265-4371",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-15T15:00:00Z", To: "2026-05-22T15:00:00Z", Lookback: true}},
	{name: "lookback from options", text: "914-265-4371", opt: ParseOptions{NoTimeLookback: 24 * time.Hour},
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-21T15:00:00Z", To: "2026-05-22T15:00:00Z", Lookback: true}},

	// Weekday names (SPEC §2): the most recent such day on or before today (Fri May 22).
	{name: "weekday and time", text: "914-265-4371 Wednesday 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "on abbreviated weekday at", text: "on Wed at 4pm 914-265-4371", want: ny914("2026-05-20T20:00:00Z")},
	{name: "abbreviated weekday comma time", text: "914-265-4371 Wed, 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "weekday chinese zhou", text: "914-265-4371 周三下午1点", want: ny914("2026-05-20T17:00:00Z")},
	{name: "weekday chinese libai", text: "914-265-4371 礼拜三 下午1:15", want: ny914("2026-05-20T17:15:00Z")},
	{name: "weekday chinese xingqi whole day", text: "914-265-4371 星期三",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-20T04:00:00Z", To: "2026-05-21T04:00:00Z", WholeDay: true}},
	{name: "weekday sunday chinese", text: "914-265-4371 周日",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-17T04:00:00Z", To: "2026-05-18T04:00:00Z", WholeDay: true}},
	{name: "today's weekday earlier today", text: "914-265-4371 Friday 10am", want: ny914("2026-05-22T14:00:00Z")},
	{name: "today's weekday later today is last week", text: "914-265-4371 Friday 3pm", want: ny914("2026-05-15T19:00:00Z")},
	{name: "last weekday is before today", text: "914-265-4371 last Friday 10am", want: ny914("2026-05-15T14:00:00Z")},
	{name: "weekday after today's is last week", text: "914-265-4371 Saturday 9am", want: ny914("2026-05-16T13:00:00Z")},
	{name: "chinese last week's wednesday", text: "914-265-4371 上周三下午1点", want: ny914("2026-05-13T17:00:00Z")},
	{name: "a date wins over the weekday", text: "914-265-4371 Thursday 5/20 1:15pm", want: ny914("2026-05-20T17:15:00Z")},
	{name: "sat is a word", text: "sat on hold 914-265-4371 1:15pm", want: ny914("2026-05-21T17:15:00Z")},
	{name: "once a week is not monday", text: "914-265-4371 一周一次 下午1点", want: ny914("2026-05-21T17:00:00Z")},

	// Relative times (SPEC §2): counted back from now (11:00 AM EDT).
	{name: "hours ago", text: "914-265-4371 2 hours ago", want: ny914("2026-05-22T13:00:00Z")},
	{name: "about an hour ago", text: "914-265-4371 about an hour ago", want: ny914("2026-05-22T14:00:00Z")},
	{name: "min ago", text: "914-265-4371 30 min ago", want: ny914("2026-05-22T14:30:00Z")},
	{name: "h ago", text: "914-265-4371 2h ago", want: ny914("2026-05-22T13:00:00Z")},
	{name: "half an hour ago", text: "called half an hour ago from 914-265-4371", want: ny914("2026-05-22T14:30:00Z")},
	{name: "an hour and a half ago", text: "914-265-4371 an hour and a half ago", want: ny914("2026-05-22T13:30:00Z")},
	{name: "chinese half hour ago", text: "914-265-4371 半小时前", want: ny914("2026-05-22T14:30:00Z")},
	{name: "chinese two hours ago", text: "914-265-4371 两个小时前", want: ny914("2026-05-22T13:00:00Z")},
	{name: "chinese one hour ago", text: "914-265-4371 一小时前", want: ny914("2026-05-22T14:00:00Z")},
	{name: "chinese an hour and a half ago", text: "914-265-4371 大概一个半小时前", want: ny914("2026-05-22T13:30:00Z")},
	{name: "chinese minutes ago", text: "914-265-4371 45分钟前", want: ny914("2026-05-22T14:15:00Z")},
	{name: "ago keeps the window option", text: "914-265-4371 2 hours ago ±30m",
		want: around("+19142654371", "America/New_York", ZoneSourcePhone, "2026-05-22T13:00:00Z", 30*time.Minute)},
	{name: "ago honours now", text: "914-265-4371 an hour ago", now: time.Date(2026, 5, 20, 18, 15, 40, 0, time.UTC),
		want: ny914("2026-05-20T17:15:00Z")},
	{name: "days ago is that day", text: "914-265-4371 2 days ago",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-20T04:00:00Z", To: "2026-05-21T04:00:00Z", WholeDay: true}},
	{name: "a time days ago is on that day", text: "914-265-4371 two days ago at 3pm", want: ny914("2026-05-20T19:00:00Z")},
	{name: "a day ago", text: "called about a day ago, 914-265-4371, around 9am", want: ny914("2026-05-21T13:00:00Z")},
	{name: "10 days ago", text: "914-265-4371 10 days ago 1:15pm", want: ny914("2026-05-12T17:15:00Z")},
	{name: "chinese days ago", text: "914-265-4371 两天前下午3点", want: ny914("2026-05-20T19:00:00Z")},
	{name: "chinese 3 days ago whole day", text: "914-265-4371 3天前",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-19T04:00:00Z", To: "2026-05-20T04:00:00Z", WholeDay: true}},
	{name: "weeks ago is too vague", text: "914-265-4371 3 weeks ago",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a date"})},
	{name: "tomorrow is not a day to search", text: "914-265-4371 tomorrow 3pm",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a day on or before today"})},
	{name: "chinese tomorrow", text: "914-265-4371 明天下午3点",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a day on or before today"})},
	{name: "later today is not a time to search", text: "+19142654371 today 3pm",
		wantErr: notUnderstood([]string{"phone: +19142654371", "time: Fri May 22 3:00 PM EDT"}, []string{"a day on or before today"})},
	{name: "later on today's date", text: "+19142654371 5/22 3pm",
		wantErr: notUnderstood([]string{"phone: +19142654371", "time: Fri May 22 3:00 PM EDT"}, []string{"a day on or before today"})},
	{name: "chinese later today", text: "+19142654371 今天下午3点",
		wantErr: notUnderstood([]string{"phone: +19142654371", "time: Fri May 22 3:00 PM EDT"}, []string{"a day on or before today"})},
	{name: "tonight in the morning", text: "+19142654371 tonight 8:30",
		wantErr: notUnderstood([]string{"phone: +19142654371", "time: Fri May 22 8:30 PM EDT"}, []string{"a day on or before today"})},
	{name: "window starting a minute after now", text: "+19142654371 today 1:01pm",
		wantErr: notUnderstood([]string{"phone: +19142654371", "time: Fri May 22 1:01 PM EDT"}, []string{"a day on or before today"})},
	{name: "iso later today", text: "+19142654371 2026-05-22T20:00:00Z",
		wantErr: notUnderstood([]string{"phone: +19142654371", "time: Fri May 22 8:00 PM UTC"}, []string{"a day on or before today"})},
	{name: "a day with its year after today", text: "+19142654371 5/30/2026",
		wantErr: notUnderstood([]string{"phone: +19142654371", "date: Sat May 30 EDT (whole day)"}, []string{"a day on or before today"})},
	{name: "a little after now is searched", text: "+19142654371 today 11:30", want: ny914("2026-05-22T15:30:00Z")},
	{name: "window starting at now is searched", text: "+19142654371 today 1pm", want: ny914("2026-05-22T17:00:00Z")},
	{name: "a time alone after now is still yesterday's", text: "+19142654371 3pm", want: ny914("2026-05-21T19:00:00Z")},
	{name: "next weekday is not a day to search", text: "914-265-4371 next Wednesday 3pm",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a day on or before today"})},
	{name: "this coming weekday", text: "914-265-4371 this coming friday",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a day on or before today"})},
	{name: "chinese next week's weekday", text: "914-265-4371 下周三",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a day on or before today"})},
	{name: "chinese next week's weekday with a time", text: "914-265-4371 下个星期三下午1点",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a day on or before today"})},
	{name: "chinese last week's weekday", text: "914-265-4371 上个周三",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-13T04:00:00Z", To: "2026-05-14T04:00:00Z", WholeDay: true}},
	{name: "a typo after a clock time is not guessed", text: "914-265-4371 5/20 1:15pn",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a valid time"})},
	{name: "p after a clock time is pm", text: "914-265-4371 5/20 1:15p", want: ny914("2026-05-20T17:15:00Z")},
	{name: "a after a clock time is am", text: "914-265-4371 5/20 9:30a", want: ny914("2026-05-20T13:30:00Z")},
	{name: "zone glued to a clock time", text: "914-265-4371 5/20 1:15pmET",
		want: around("+19142654371", "America/New_York", ZoneSourceText, "2026-05-20T17:15:00Z", 2*time.Hour)},
	{name: "letters after a 24-hour time change nothing", text: "914-265-4371 5/20 13:15h", want: ny914("2026-05-20T17:15:00Z")},
	{name: "a few days ago is too vague", text: "914-265-4371 a few days ago",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a date"})},
	{name: "chinese half a day ago pins nothing down", text: "914-265-4371 半天前",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-15T15:00:00Z", To: "2026-05-22T15:00:00Z", Lookback: true}},
	{name: "part of a day ago", text: "914-265-4371 1.5 days ago",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a date"})},
	{name: "before a chinese clock time is not ago", text: "914-265-4371 下午1点30分前", want: ny914("2026-05-21T17:30:00Z")},
	{name: "a while ago pins nothing down", text: "914-265-4371 a while ago",
		want: parseOutcome{Phone: "+19142654371", ZoneName: "America/New_York", ZoneSource: ZoneSourcePhone,
			From: "2026-05-15T15:00:00Z", To: "2026-05-22T15:00:00Z", Lookback: true}},
	{name: "too long ago", text: "914-265-4371 300 hours ago",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a time within the last 7 days"})},
	{name: "weekday without a number", text: "Wednesday 1:15pm",
		wantErr: notUnderstood([]string{"time: Wed May 20 1:15 PM EDT"}, []string{"a phone number"})},
	{name: "ago without a number", text: "两个小时前",
		wantErr: notUnderstood([]string{"time: Fri May 22 9:00 AM EDT"}, []string{"a phone number"})},

	// Bad input.
	{name: "empty", text: "", wantErr: notUnderstood(nil, []string{"a phone number"})},
	{name: "whitespace", text: " \n\t\u3000 ", wantErr: notUnderstood(nil, []string{"a phone number"})},
	{name: "random words", text: "the analysis is wrong again", wantErr: notUnderstood(nil, []string{"a phone number"})},
	{name: "time but no number", text: "5/20 1:15pm it was wrong",
		wantErr: notUnderstood([]string{"time: Wed May 20 1:15 PM EDT"}, []string{"a phone number"})},
	{name: "too short", text: "265-4371 5/20 1:15pm",
		wantErr: notUnderstood([]string{"time: Wed May 20 1:15 PM EDT"}, []string{"a phone number with its area code"})},
	{name: "nine digits", text: "914265437 5/20 1pm",
		wantErr: notUnderstood([]string{"time: Wed May 20 1:00 PM EDT"}, []string{"a 10-digit phone number"})},
	{name: "nine digits grouped", text: "914-265-437 5/20 1pm",
		wantErr: notUnderstood([]string{"time: Wed May 20 1:00 PM EDT"}, []string{"a 10-digit phone number"})},
	{name: "invalid number", text: "(555) 123-4567 yesterday", wantErr: notUnderstood(
		[]string{"date: Thu May 21 EDT (whole day)"}, []string{"a valid phone number"})},
	{name: "invalid area code with plus", text: "+1 123 456 7890", wantErr: notUnderstood(nil, []string{"a valid phone number"})},
	{name: "2/30", text: "914-265-4371 2/30", wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a valid date"})},
	{name: "13/45", text: "914-265-4371 13/45 1pm", wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a valid date"})},
	{name: "25:00", text: "914-265-4371 5/20 25:00", wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a valid time"})},
	{name: "13pm", text: "914-265-4371 5/20 13pm", wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a valid time"})},
	{name: "zero window", text: "914-265-4371 5/20 1pm ±0h",
		wantErr: notUnderstood([]string{"phone: +19142654371"}, []string{"a window between ±1m and ±7d"})},
	{name: "number inside a link is not a report", text: "https://studio.example.com/calls/9142654371",
		wantErr: notUnderstood(nil, []string{"a phone number"})},
	{name: "number inside an email is not a report", text: "j9142654371@example.com 5/20",
		wantErr: notUnderstood([]string{"date: Wed May 20 EDT (whole day)"}, []string{"a phone number"})},
	{name: "date time digits are not a number", text: "2026-05-20 13:15",
		wantErr: notUnderstood([]string{"time: Wed May 20 1:15 PM EDT"}, []string{"a phone number"})},
}

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// parseCaseOptions returns the options a case runs with.
func parseCaseOptions(tc parseCase) ParseOptions {
	opt := tc.opt
	opt.Now = tc.now
	if opt.Now.IsZero() {
		opt.Now = parseTestNow
	}
	return opt
}

func TestParseReport(t *testing.T) {
	if len(parseCases) < 60 {
		t.Fatalf("table has %d cases, want at least 60", len(parseCases))
	}
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseReport(tc.text, parseCaseOptions(tc))
			if tc.wantErr != nil {
				checkParseError(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("ParseReport(%q): %v", tc.text, err)
			}
			if diff := cmp.Diff(tc.want, parseOutcomeOf(got)); diff != "" {
				t.Errorf("ParseReport(%q) mismatch (-want +got):\n%s", tc.text, diff)
			}
			checkRequestConsistent(t, got)
		})
	}
}

// checkParseError compares a not-understood error with want.
func checkParseError(t *testing.T, err error, want *Error) {
	t.Helper()
	var got *Error
	if !errors.As(err, &got) {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if got.Message == "" || strings.Contains(got.Message, "\n") {
		t.Errorf("Message = %q, want one friendly line", got.Message)
	}
	gotCmp := &Error{Code: got.Code, Understood: got.Understood, Missing: got.Missing}
	if diff := cmp.Diff(want, gotCmp, cmpopts.IgnoreUnexported(Error{})); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s\nmessage: %s", diff, got.Message)
	}
}

// checkRequestConsistent asserts the invariants every Request must hold.
func checkRequestConsistent(t *testing.T, r Request) {
	t.Helper()
	if r.From.After(r.To) {
		t.Errorf("From %v after To %v", r.From, r.To)
	}
	if r.At != nil && (r.At.Before(r.From) || r.At.After(r.To)) {
		t.Errorf("At %v outside [%v, %v]", r.At, r.From, r.To)
	}
	if r.Phone != "" {
		if e164, err := NormalizePhone(r.Phone); err != nil || e164 != r.Phone {
			t.Errorf("Phone %q is not valid E.164 (%q, %v)", r.Phone, e164, err)
		}
	}
	for _, ts := range []time.Time{r.From, r.To} {
		if ts.Location() != time.UTC {
			t.Errorf("instant %v not in UTC", ts)
		}
	}
	if r.At != nil && r.At.Location() != time.UTC {
		t.Errorf("At %v not in UTC", r.At)
	}
	if r.Zone == nil || r.ZoneName == "" {
		t.Errorf("zone not set: %v %q", r.Zone, r.ZoneName)
	}
}

func TestParseReportErrorMessages(t *testing.T) {
	tests := []struct {
		text string
		want string // a word the message must contain
	}{
		{"(555) 123-4567", "(555) 123-4567"},
		{"265-4371", "area code"},
		{"914265437 5/20", "914265437” has 9 digits"},
		{"914-265-4371 2/30", "2/30"},
		{"914-265-4371 25:00", "25:00"},
		{"914-265-4371 13pm", "13pm"},
		{"nothing here", "phone number"},
		{strings.Repeat("9", parseMaxTextBytes+1), "too long"},
		{"914-265-4371 5/20 1pm env staging", "“staging” is not an env: want test, pre or prod."},
		{"914-265-4371 today 3pm", "“today 3pm” is in the future: give the day the call was"},
		{"914-265-4371 5/22 3pm", "“5/22 3pm” is in the future"},
		{"914-265-4371 20.05.2026 13:15", "“20.05.2026” is not a date I can read: write the month first, like 5/20."},
		{"914-265-4371 2-30 1pm", "“2-30” is not a real date."},
		{"914-265-4371 今天下午3点", "“今天 下午3点” is in the future"},
	}
	for _, tc := range tests {
		_, err := ParseReport(tc.text, ParseOptions{Now: parseTestNow})
		if ErrorCode(err) != CodeNotUnderstood {
			t.Errorf("ParseReport(%.30q) code = %q, want %q", tc.text, ErrorCode(err), CodeNotUnderstood)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseReport(%.30q) message %q does not mention %q", tc.text, err.Error(), tc.want)
		}
	}
}

func TestParseReportDefaults(t *testing.T) {
	got, err := ParseReport("914-265-4371 5/20 1:15pm", ParseOptions{Now: parseTestNow})
	if err != nil {
		t.Fatal(err)
	}
	if got.Window != parseDefaultWindow {
		t.Errorf("Window = %v, want %v", got.Window, parseDefaultWindow)
	}
	got, err = ParseReport("1-800-234-5678", ParseOptions{Now: parseTestNow})
	if err != nil {
		t.Fatal(err)
	}
	want := parseOutcome{Phone: "+18002345678", ZoneName: "America/New_York", ZoneSource: ZoneSourceDefault,
		From: "2026-05-15T15:00:00Z", To: "2026-05-22T15:00:00Z", Lookback: true}
	if diff := cmp.Diff(want, parseOutcomeOf(got)); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
	if got.Text != "1-800-234-5678" {
		t.Errorf("Text = %q, want the report verbatim", got.Text)
	}
}

// TestParseReportSessionOption: an id given outside the text (the CLI's --session)
// is taken as given, even one the text pass would not read as an id, and replaces
// the text's.
func TestParseReportSessionOption(t *testing.T) {
	tests := []struct {
		name, text, session string
		want                parseOutcome
	}{
		{name: "short id, no text", session: "s-nope",
			want: parseOutcome{ZoneName: "America/New_York", ZoneSource: ZoneSourceDefault, Lookback: true,
				From: "2026-05-15T15:00:00Z", To: "2026-05-22T15:00:00Z", Session: "s-nope"}},
		{name: "digitless id with a time", text: "5/20 1:15pm", session: "abc",
			want: with(around("", "America/New_York", ZoneSourceDefault, "2026-05-20T17:15:00Z", 2*time.Hour),
				func(o *parseOutcome) { o.Session = "abc" })},
		{name: "replaces the text's id", text: "914-265-4371 5/20 1:15pm s-abc123def456", session: " s-other1 ",
			want: with(ny914("2026-05-20T17:15:00Z"), func(o *parseOutcome) { o.Session = "s-other1" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReport(tt.text, ParseOptions{Now: parseTestNow, SessionID: tt.session})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, parseOutcomeOf(got)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func BenchmarkParseReport(b *testing.B) {
	texts := []string{
		"(914) 265-4371 5/20 1:15pm",
		"2026-05-20 下午 1:15 左右有通电话 (914) 265-4371，你们的 AI 分析说是 voicemail 但其实是真人在说话。",
		"<@U0123ABC> inbound call <tel:+19142654371|(914) 265-4371> May 20th at 1:15pm EST ±3h env prod",
	}
	opt := ParseOptions{Now: parseTestNow}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := ParseReport(texts[i%len(texts)], opt); err != nil {
			b.Fatal(err)
		}
	}
}
