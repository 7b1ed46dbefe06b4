package lookup

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"(914) 265-4371", "+19142654371"},
		{"914-265-4371", "+19142654371"},
		{"914.265.4371", "+19142654371"},
		{"9142654371", "+19142654371"},
		{"19142654371", "+19142654371"}, // not the runbook's +119142654371
		{"+1 914 265 4371", "+19142654371"},
		{"+19142654371", "+19142654371"},
		{"+1 (914) 265-4371", "+19142654371"},
		{"１（９１４）２６５－４３７１", "+19142654371"},
		{"  914‑265‑4371 ", "+19142654371"},
		{"+44 20 7946 0958", "+442079460958"},
		{"+86 138 0013 8000", "+8613800138000"},
		{"1-800-234-5678", "+18002345678"},
	}
	for _, tc := range tests {
		got, err := NormalizePhone(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizePhoneInvalid(t *testing.T) {
	for _, in := range []string{"", "hello", "265-4371", "(555) 123-4567", "+1 123 456 7890", "12"} {
		got, err := NormalizePhone(in)
		if !errors.Is(err, ErrInvalidPhone) {
			t.Errorf("NormalizePhone(%q) = %q, %v; want ErrInvalidPhone", in, got, err)
			continue
		}
		if digits := phoneDigits(in); len(digits) >= 4 && strings.Contains(err.Error(), digits) {
			t.Errorf("NormalizePhone(%q) error %q repeats the number", in, err)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+19142654371", "+1914***4371"},
		{"+442079460958", "+4420****0958"},
		{"+8613800138000", "+8613*****8000"},
		{"+6834002", "+68***02"},
		{"12345", "*****"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := MaskPhone(tc.in); got != tc.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no number", "the analysis is wrong", "the analysis is wrong"},
		{"us forms", "call (914) 265-4371 or 914.265.4371 or 19142654371",
			"call +1914***4371 or +1914***4371 or +1914***4371"},
		{"slack tel markup", "<tel:+19142654371|(914) 265-4371>", "<tel:+1914***4371|+1914***4371>"},
		{"international", "UK +44 20 7946 0958, CN +86 138 0013 8000", "UK +4420****0958, CN +8613*****8000"},
		{"invalid and short keep last four", "bad (555) 123-4567, local 265-4371", "bad (***) ***-4567, local ***-4371"},
		{"dates times ids untouched", "2026-05-20 13:15 5/20 gen-1779299823-8nd5Ci0U s-abc123def456",
			"2026-05-20 13:15 5/20 gen-1779299823-8nd5Ci0U s-abc123def456"},
		{"full width", "９１４－２６５－４３７１", "+1914***4371"},
		{"slack italics", "_(914) 265-4371_ and _9142654371_", "_+1914***4371_ and _+1914***4371_"},
	}
	for _, tc := range tests {
		if got := MaskText(tc.in); got != tc.want {
			t.Errorf("%s: MaskText(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestMaskTextHidesEveryTableNumber masks each report of the parse table and checks
// the parsed number's subscriber digits never survive.
func TestMaskTextHidesEveryTableNumber(t *testing.T) {
	for _, tc := range parseCases {
		if tc.want.Phone == "" {
			continue
		}
		national := tc.want.Phone[len(tc.want.Phone)-7:] // e.g. 2654371
		masked := phoneDigits(MaskText(tc.text))
		if strings.Contains(masked, national) {
			t.Errorf("%s: MaskText(%q) leaves %s", tc.name, tc.text, national)
		}
	}
}
