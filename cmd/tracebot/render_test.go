package main

import (
	"strings"
	"testing"

	"github.com/callytics/tracebot/lookup"
)

// TestRenderStepErrors: each failed step on one line, the region named once.
func TestRenderStepErrors(t *testing.T) {
	tr := &lookup.Trace{Outcome: lookup.OutcomeTraced, Errors: []lookup.StepError{
		{Step: lookup.StepLogs, Region: "us-east-2", Message: "us-east-2: AccessDenied on logs:StartQuery"},
		{Step: lookup.StepLogs, Region: "us-west-2", Message: "Insights query ended Timeout"},
		{Step: lookup.StepGenerations, Message: "triage: openrouter gen-1: unauthorized"},
	}}
	var b strings.Builder
	renderWarnings(&b, tr)
	want := "\n✗ logs us-east-2: AccessDenied on logs:StartQuery\n" +
		"✗ logs us-west-2: Insights query ended Timeout\n" +
		"✗ generations: triage: openrouter gen-1: unauthorized\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
