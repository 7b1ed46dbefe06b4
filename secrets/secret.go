// Package secrets reads tracebot's credentials (SSM Parameter Store or mounted files),
// holds them in a type that never prints its value, and scrubs known values from any
// text that leaves the process.
//
// The pieces:
//
//   - Secret: a credential that prints as "[redacted]" everywhere; Reveal is the only
//     way to the value.
//   - Source: where values come from: SSMSource (GetParameters with decryption) or
//     DirSource (TRACEBOT_SECRETS_DIR, one file per secret).
//   - Store: a TTL cache over a Source with refresh-after-failure semantics, Invalidate
//     for key rotation, and Status for `tracebot check`.
//   - Scrubber: removes every value the Store has ever held from outgoing text.
package secrets

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret holds a credential. Every way of printing it (fmt verbs, slog, JSON, text
// marshalling) yields "[redacted]"; Reveal is the only way to the value.
//
// The value sits behind a pointer on purpose: when a Secret is an unexported field of
// another struct, fmt cannot call its methods and prints the fields by reflection; a
// pointer field prints as an address there, never as the value. As a consequence two
// Secrets built from the same value are not == (except zero Secrets); compare them
// with Equal, which go-cmp also uses.
type Secret struct{ value *string }

// New wraps a value.
func New(value string) Secret { return Secret{value: &value} }

// Reveal returns the real value. Call it only where the value is handed to the
// client that needs it.
func (s Secret) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.Reveal() == "" }

// Equal reports whether both secrets hold the same value, in constant time.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// String, GoString and Format (every fmt verb, %#v and %x included), LogValue
// (slog), MarshalJSON and MarshalText (encoding/json keys, encoding/xml, anything
// using encoding.TextMarshaler) all yield "[redacted]".

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
