// Package secrets reads tracebot's credentials (SSM Parameter Store or mounted files),
// holds them in a type that never prints its value, and scrubs known values from any
// text that leaves the process.
package secrets

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret holds a credential. Every way of printing it (fmt verbs, slog, JSON, text
// marshalling) yields "[redacted]"; Reveal is the only way to the value.
type Secret struct{ value string }

// New wraps a value.
func New(value string) Secret { return Secret{value: value} }

// Reveal returns the real value. Call it only where the value is handed to the
// client that needs it.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
