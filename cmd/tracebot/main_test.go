package main

import (
	"os"
	"testing"

	"github.com/callytics/tracebot/lookup/pgtest"
)

// sharedPG is the throwaway PostgreSQL server of this package's tests.
var sharedPG pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &sharedPG)) }
