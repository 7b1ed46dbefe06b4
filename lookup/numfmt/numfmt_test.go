package numfmt

import "testing"

func TestFormats(t *testing.T) {
	ratio := 0.874
	share := func(f float64) *float64 { return &f }
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
		{"percent zero", Percent(share(0)), "0%"},
		{"percent small share", Percent(share(3.0 / 864)), "<1%"},
		{"percent half a percent", Percent(share(0.005)), "1%"},
		{"percent one short of all", Percent(share(861.0 / 864)), ">99%"},
		{"percent all", Percent(share(1)), "100%"},
		{"share", Share(0.34), "34%"},
		{"share under 10%", Share(0.025), "2.5%"},
		{"share whole under 10%", Share(0.03), "3%"},
		{"share small", Share(0.0004), "<0.1%"},
		{"share zero", Share(0), "0%"},
		{"share one short of all", Share(0.9996), ">99%"},
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
