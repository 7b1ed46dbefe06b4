package lookup

import (
	"errors"
	"fmt"
	"strings"
)

// User-facing error codes. They are rendered as friendly text, never as a cause.
const (
	CodeNotUnderstood = "not_understood"
	CodeNotFound      = "not_found"
	CodeCandidates    = "candidates"
	CodeInvalid       = "invalid"
	// CodeWindowTooLong is a report window longer than TRACEBOT_REPORT_MAX_RANGE.
	CodeWindowTooLong = "window_too_long"
)

// Error is a user-facing error: the message is safe to show as it is.
type Error struct {
	Code    string
	Message string
	// Understood and Missing describe a report that was not understood.
	Understood []string
	Missing    []string
	// The Chinese of Message, Understood and Missing (see Text); "" or nil when
	// there is none.
	zh           string
	understoodZH []string
	missingZH    []string
}

func (e *Error) Error() string { return e.Message }

// ErrorCode returns the code of a user-facing error in err's chain, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// addMissing appends what a better report would contain, in both languages.
func (e *Error) addMissing(s sentence) {
	e.Missing = append(e.Missing, s.en)
	e.missingZH = append(e.missingZH, s.zh)
}

// addUnderstood appends what was read of the report, in both languages.
func (e *Error) addUnderstood(s sentence) {
	e.Understood = append(e.Understood, s.en)
	e.understoodZH = append(e.understoodZH, s.zh)
}

// Errorf returns a user-facing error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// RetryableError marks a failure that may succeed when tried again (throttling,
// 5xx, a generation not yet visible).
type RetryableError struct{ Err error }

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// IsRetryable reports whether err, or an error it wraps, is worth retrying.
func IsRetryable(err error) bool {
	var r *RetryableError
	return errors.As(err, &r)
}

// flattenSpace collapses runs of white space, line breaks included, to one space.
func flattenSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// causeLine flattens s and cuts it to at most 300 characters.
func causeLine(s string) string {
	s = flattenSpace(s)
	if r := []rune(s); len(r) > 300 {
		s = string(r[:299]) + "…"
	}
	return s
}
