package state

import (
	"os"
	"testing"

	"github.com/callytics/tracebot/lookup/pgtest"
)

// sharedPG is the package's one throwaway PostgreSQL server, started by the first
// test that asks for a database (sharedPG.NewDatabase(t) gives each test a fresh
// one) and shut down when the package's tests end.
var sharedPG pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &sharedPG)) }
