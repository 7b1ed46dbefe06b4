package bot

import (
	"context"

	"github.com/callytics/tracebot/secrets"
)

// SecretFunc returns the current value of a secret. It is called at every use, so
// a rotated secret is picked up; (*secrets.Store).Get bound to a name fits.
type SecretFunc func(ctx context.Context) (secrets.Secret, error)

// StaticSecret is a SecretFunc that always returns s.
func StaticSecret(s secrets.Secret) SecretFunc {
	return func(context.Context) (secrets.Secret, error) { return s, nil }
}
