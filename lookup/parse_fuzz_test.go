package lookup

import (
	"errors"
	"testing"
)

// FuzzParseReport checks that no text makes ParseReport panic, that every error is
// a not-understood *Error with a message, and that every Request it returns is
// self-consistent.
func FuzzParseReport(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.text)
	}
	for _, s := range []string{
		"<tel:|>", "<<>>", "+", "+-", "±", "1:", "下午", "点", "5月", "session", "gen-", "s-",
		"3/8 2:30am 914-265-4371", "11/1 1:30am 914-265-4371", "晚上12点 914-265-4371",
		"914-265-4371 ±10000h", "914-265-4371 12/31/2100 23:59", "914-265-4371 1/1/1970 0:00",
		"2026-05-20T13:15:00+14:45 9142654371", "UTC+14 9142654371 today 11pm",
		"9142654371 上上上周日晚上12点", "9142654371 last sun at 0:00", "9142654371 0 min ago", "9142654371 999.99 hours ago",
		"9142654371 十分钟前后", "9142654371 半个半小时前", "9142654371 on fri. at", "9142654371 一周一 周三 Wednesday",
		"__9142654371__ _5/20_ _", "_s-abc_def_ 5-20-26 1pm", "9142654371 5.20.2026 at 下午三点", "9142654371 31-12 1:15pm 12-31",
		"9142654371 env= env staging env prod", "9142654371 tz=ct PT time zone: mt", "9142654371 today 11:59pm 5/22 0:00",
		"9142654371 5/21 9am 5/20 1pm 5/19 5/18 3pm UTC 17:15", "9142654371 一点 一时 十时 两点半",
	} {
		f.Add(s)
	}
	opt := ParseOptions{Now: parseTestNow}
	f.Fuzz(func(t *testing.T, text string) {
		req, err := ParseReport(text, opt)
		_ = MaskText(text)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeNotUnderstood || e.Message == "" {
				t.Fatalf("ParseReport(%q) error = %#v, want a not-understood *Error", text, err)
			}
			return
		}
		checkRequestConsistent(t, req)
		if req.Phone == "" && req.SessionID == "" && len(req.GenerationIDs) == 0 {
			t.Errorf("ParseReport(%q) accepted a report with no number and no id", text)
		}
		if req.At == nil && !req.WholeDay && !req.Lookback {
			t.Errorf("ParseReport(%q): no At, not a whole day, not a lookback", text)
		}
		if span := req.To.Sub(req.From); span > 2*parseMaxWindow {
			t.Errorf("ParseReport(%q): span %v is wider than any window", text, span)
		}
		if !req.Lookback && req.From.After(opt.Now) {
			t.Errorf("ParseReport(%q): the search starts at %v, after now", text, req.From)
		}
		for _, w := range req.Warnings {
			if w.Code == "" || w.Message == "" || w.Text("zh") == w.Message {
				t.Errorf("ParseReport(%q): warning %+v lacks a code, a message or its Chinese", text, w)
			}
		}
		_ = req.Interpretation("en")
		_ = req.Interpretation("zh")
	})
}
