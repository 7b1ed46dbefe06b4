package numfmt

import "testing"

func TestFormats(t *testing.T) {
	ratio := 0.874
	for _, c := range []struct{ name, got, want string }{
		{"count small", Count(999), "999"},
		{"count", Count(1234567), "1,234,567"},
		{"count negative", Count(-1234), "-1,234"},
		{"usd zero", USD(0), "$0"},
		{"usd small", USD(0.000122), "$0.000122"},
		{"usd", USD(1.70724), "$1.7072"},
		{"dollars", Dollars(9.625), "$9.62"},
		{"dollars under one", Dollars(0.45671), "$0.4567"},
		{"percent", Percent(&ratio), "87%"},
		{"percent none", Percent(nil), "-"},
		{"bytes", Bytes(512), "512 B"},
		{"kilobytes", Bytes(237568), "232 KB"},
		{"megabytes", Bytes(3 << 19), "1.5 MB"},
		{"gigabytes", Bytes(2 << 30), "2.00 GB"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}
