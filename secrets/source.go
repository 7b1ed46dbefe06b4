package secrets

import (
	"context"
	"errors"
	"strings"
)

// Source fetches secret values by name.
type Source interface {
	// Fetch returns the values of the names that exist and, in missing, the names
	// that do not (in the order asked). err reports a failure to ask at all
	// (transport, authentication, permissions, a misconfigured directory); values
	// and missing are nil then. Errors never include secret values.
	Fetch(ctx context.Context, names []string) (values map[string]Secret, missing []string, err error)
}

// ErrMissing is matched (errors.Is) by every error that reports names that do not
// exist in the Source.
var ErrMissing = errors.New("secrets: missing")

// MissingError names the secrets a Source does not have.
type MissingError struct {
	Names []string
}

func (e *MissingError) Error() string {
	return "secrets: missing " + strings.Join(e.Names, ", ")
}

// Is makes errors.Is(err, ErrMissing) true.
func (e *MissingError) Is(target error) bool { return target == ErrMissing }

// dedupe returns names without repeats, in first-seen order.
func dedupe(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
