package lookup

import (
	"encoding/json"
	"testing"
	"time"
)

func TestInterpretation(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		en, zh string
	}{
		{"phone zone", "(914) 265-4371 5/20 1:15pm",
			"Wed May 20 1:15 PM EDT (17:15 UTC), ±2h",
			"5月20日 周三 下午1:15 EDT（UTC 17:15），±2小时"},
		{"winter and window", "(914) 265-4371 1/20 9:05am ±90min",
			"Tue Jan 20 9:05 AM EST (14:05 UTC), ±1h30m",
			"1月20日 周二 上午9:05 EST（UTC 14:05），±1小时30分钟"},
		{"default zone says why", "1-800-234-5678 5/20 1:15pm",
			"Wed May 20 1:15 PM EDT (17:15 UTC), ±2h; default time zone America/New_York (the number has no single time zone)",
			"5月20日 周三 下午1:15 EDT（UTC 17:15），±2小时；默认时区 America/New_York（该号码没有唯一时区）"},
		{"no number default zone", "s-abc123def456 5/20 8pm",
			"Wed May 20 8:00 PM EDT (Thu 00:00 UTC), ±2h; default time zone America/New_York",
			"5月20日 周三 晚上8:00 EDT（UTC 5月21日 00:00），±2小时；默认时区 America/New_York"},
		{"iana outside america", "+86 138 0013 8000 5月20日 上午7点",
			"Wed May 20 7:00 AM Asia/Shanghai (Tue 23:00 UTC), ±2h",
			"5月20日 周三 上午7:00 Asia/Shanghai（UTC 5月19日 23:00），±2小时"},
		{"offset only", "914-265-4371 5/20 13:15 +08:00",
			"Wed May 20 1:15 PM +08:00 (05:15 UTC), ±2h",
			"5月20日 周三 下午1:15 +08:00（UTC 05:15），±2小时"},
		{"utc", "914-265-4371 5/20 13:15 UTC",
			"Wed May 20 1:15 PM UTC, ±2h",
			"5月20日 周三 下午1:15 UTC，±2小时"},
		{"whole day", "914-265-4371 5/20",
			"whole day Wed May 20 EDT (May 20 04:00 – May 21 04:00 UTC)",
			"5月20日 周三 全天 EDT（UTC 5月20日 04:00 – 5月21日 04:00）"},
		{"lookback", "914-265-4371",
			"no time given: the last 7 days, since Fri May 15 11:00 AM EDT",
			"未给时间：最近7天（自5月15日 周五 上午11:00 EDT起）"},
		{"noon and midnight periods", "914-265-4371 5/20 12:30pm",
			"Wed May 20 12:30 PM EDT (16:30 UTC), ±2h",
			"5月20日 周三 中午12:30 EDT（UTC 16:30），±2小时"},
		{"another time outside the search", "914-265-4371 5/21 9:02am; the call was 5/20 1:15pm",
			"Thu May 21 9:02 AM EDT (13:02 UTC), ±2h; also saw Wed May 20 1:15 PM EDT: if that is the call's time, put it first",
			"5月21日 周四 上午9:02 EDT（UTC 13:02），±2小时；另见 5月20日 周三 下午1:15 EDT：如果那是通话时间，请把它写在最前面"},
		{"another day after the default zone note", "1-800-234-5678 5/20 1:15pm, ticket 5/18",
			"Wed May 20 1:15 PM EDT (17:15 UTC), ±2h; default time zone America/New_York (the number has no single time zone); also saw Mon May 18 EDT: if that is the call's time, put it first",
			"5月20日 周三 下午1:15 EDT（UTC 17:15），±2小时；默认时区 America/New_York（该号码没有唯一时区）；另见 5月18日 周一 EDT：如果那是通话时间，请把它写在最前面"},
		{"early morning", "914-265-4371 5/20 2:05am",
			"Wed May 20 2:05 AM EDT (06:05 UTC), ±2h",
			"5月20日 周三 凌晨2:05 EDT（UTC 06:05），±2小时"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParseReport(tc.text, ParseOptions{Now: parseTestNow})
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Interpretation("en"); got != tc.en {
				t.Errorf("en:\n got %q\nwant %q", got, tc.en)
			}
			if got := req.Interpretation("zh"); got != tc.zh {
				t.Errorf("zh:\n got %q\nwant %q", got, tc.zh)
			}
			if got := req.Interpretation("zh-CN"); got != tc.zh {
				t.Errorf("zh-CN: got %q, want the zh rendering", got)
			}
		})
	}
}

func TestInterpretationAfterJSON(t *testing.T) {
	req, err := ParseReport("(914) 265-4371 5/20 1:15pm", ParseOptions{Now: parseTestNow})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var back Request
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.Window = 2 * time.Hour // json:"-"; a decoded request may also leave it 0
	if got, want := back.Interpretation("en"), "Wed May 20 1:15 PM EDT (17:15 UTC), ±2h"; got != want {
		t.Errorf("decoded: got %q, want %q", got, want)
	}
	back.Window = 0
	if got, want := back.Interpretation("en"), "Wed May 20 1:15 PM EDT (17:15 UTC), ±2h"; got != want {
		t.Errorf("decoded without Window: got %q, want %q", got, want)
	}
	if got := (Request{}).Interpretation("en"); got != "" {
		t.Errorf("zero Request: got %q, want empty", got)
	}
}

func TestTimeFormatSpan(t *testing.T) {
	tests := []struct {
		d      time.Duration
		en, zh string
	}{
		{2 * time.Hour, "2h", "2小时"},
		{30 * time.Minute, "30m", "30分钟"},
		{90 * time.Minute, "1h30m", "1小时30分钟"},
		{24 * time.Hour, "24h", "24小时"},
		{168 * time.Hour, "7 days", "7天"},
		{36 * time.Hour, "36h", "36小时"},
	}
	for _, tc := range tests {
		if got := timeFormatSpan(tc.d, false); got != tc.en {
			t.Errorf("timeFormatSpan(%v, en) = %q, want %q", tc.d, got, tc.en)
		}
		if got := timeFormatSpan(tc.d, true); got != tc.zh {
			t.Errorf("timeFormatSpan(%v, zh) = %q, want %q", tc.d, got, tc.zh)
		}
	}
}

// LocalTime states a time to the minute in the call's zone, in the reply language.
func TestLocalTime(t *testing.T) {
	at := time.Date(2026, 5, 20, 17, 15, 42, 0, time.UTC)
	tests := []struct{ zone, lang, want string }{
		{"America/New_York", "en", "Wed May 20 1:15 PM EDT"},
		{"America/New_York", "zh", "5月20日 周三 下午1:15 EDT"},
		{"America/Los_Angeles", "zh-CN", "5月20日 周三 上午10:15 PDT"},
		{"Asia/Shanghai", "en", "Thu May 21 1:15 AM Asia/Shanghai"},
		{"UTC", "en", "Wed May 20 5:15 PM UTC"},
		{"", "zh", "Wed May 20 17:15 UTC"},
		{"Mars/Olympus", "en", "Wed May 20 17:15 UTC"},
	}
	for _, tt := range tests {
		if got := LocalTime(at, tt.zone, tt.lang); got != tt.want {
			t.Errorf("LocalTime(%s, %q, %s) = %q, want %q", at, tt.zone, tt.lang, got, tt.want)
		}
	}
	if got := DayLabel(at, "en") + " / " + DayLabel(at, "zh"); got != "Wed May 20 / 5月20日 周三" {
		t.Errorf("DayLabel: %q", got)
	}
}
