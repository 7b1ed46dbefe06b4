// Package numfmt writes the numbers of reports the way people read them, the
// same in the terminal and in chat: counts with thousands separators, dollars
// with the precision small amounts need, ratios as percents that never round a
// small share to nothing, byte sizes in binary units.
package numfmt

import (
	"fmt"
	"math"
	"strconv"
)

// Count writes n with thousands separators: 1234567 → "1,234,567".
func Count(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// USD writes dollars: "$0", six decimals under a cent ("$0.000122"), else four
// ("$1.7072").
func USD(f float64) string {
	switch {
	case f == 0:
		return "$0"
	case f < 0.01:
		return fmt.Sprintf("$%.6f", f)
	}
	return fmt.Sprintf("$%.4f", f)
}

// Dollars writes an amount the way budgets are read: cents from a dollar up
// ("$12.34"), four decimals under a dollar ("$0.4567").
func Dollars(f float64) string {
	if f < 1 && f > -1 {
		return fmt.Sprintf("$%.4f", f)
	}
	return fmt.Sprintf("$%.2f", f)
}

// Percent writes a ratio as a whole percent ("87%"), or "-" when there is none.
// A share that is not zero never reads "0%", nor one short of all "100%": they
// read "<1%" and ">99%".
func Percent(f *float64) string {
	if f == nil {
		return "-"
	}
	p := *f * 100
	switch {
	case p > 0 && p < 0.5:
		return "<1%"
	case p >= 99.5 && p < 100:
		return ">99%"
	}
	return strconv.FormatFloat(math.Round(p), 'f', 0, 64) + "%"
}

// Share writes a ratio as sentences give it: a whole percent ("34%"), one decimal
// below 10% ("2.5%", "3%" when whole), and, like Percent, "<0.1%" for a share
// that is not zero but rounds to it and ">99%" for one short of all.
func Share(f float64) string {
	p := f * 100
	switch {
	case p > 0 && p < 0.05:
		return "<0.1%"
	case p >= 99.5 && p < 100:
		return ">99%"
	case p < 10 && p != math.Trunc(p):
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(math.Round(p), 'f', 0, 64) + "%"
}

// Bytes writes a size in binary units: "512 B", "232 KB", "1.5 MB", "2.00 GB".
func Bytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
