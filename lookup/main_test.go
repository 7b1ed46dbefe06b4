package lookup

import (
	"os"
	"testing"

	"github.com/callytics/tracebot/lookup/pgtest"
)

// SharedPostgres is the throwaway PostgreSQL server shared by this package's tests,
// internal and external (lookup_test) alike. It starts at the first
// SharedPostgres.NewDatabase(t), so tests that need no database pay nothing, and stops
// when the tests end. Fault tests must not Stop it: start a pgtest.Server of their own
// or point at a port with nothing listening.
var SharedPostgres pgtest.Shared

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, &SharedPostgres))
}
