// Package numfmt writes the numbers of reports the way people read them, the
// same in the terminal and in chat: counts with thousands separators, dollars
// with the precision small amounts need, ratios as whole percents, byte sizes in
// binary units.
package numfmt

import "fmt"

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
func Percent(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", *f*100)
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
