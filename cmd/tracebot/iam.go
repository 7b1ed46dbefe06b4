package main

import (
	"context"
	"fmt"
	"io"
)

// printIAM is filled in with the deploy issue; until then it says so.
func printIAM(_ context.Context, w io.Writer, _ Config) error {
	fmt.Fprintln(w, "tracebot check --iam: not available yet")
	return exitError{exitFailed}
}
