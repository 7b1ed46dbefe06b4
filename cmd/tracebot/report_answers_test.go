package main

import (
	"strings"
	"testing"
)

// TestReportCommandNoLogGroup: an env whose log groups exist in no region is no
// quiet period: the report says what to check and exits 1, as when no region
// could answer (it exited 0 with "Total $0 over 0 rows").
func TestReportCommandNoLogGroup(t *testing.T) {
	newReportEnv(t)
	r := runCLI(t, "report", "cost", "2h", "--env", "test")
	for _, want := range []string{"No region could answer", "✗ us-east-1: no log group", "no_log_group", `env "test"`, "TRACEBOT_LOG_GROUPS"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if r.code != exitFailed || strings.Contains(r.stdout, "Total $0") {
		t.Errorf("exit %d, want %d with no totals:\n%s", r.code, exitFailed, r.stdout)
	}
	r = runCLI(t, "report", "cost", "2h", "--env", "test", "--json")
	m := decodeObject(t, r.stdout)
	warnings, _ := m["warnings"].([]any)
	if r.code != exitFailed || len(warnings) != 1 || warnings[0].(map[string]any)["code"] != "no_log_group" {
		t.Errorf("--json: exit %d, warnings %v", r.code, warnings)
	}
}

// TestReportCommandSmallShares: a finish reason that is rare is not zero: its
// share reads "<1%" ("triage length 3 0%" before), and the rest ">99%".
func TestReportCommandSmallShares(t *testing.T) {
	t.Setenv("TRACEBOT_NOW", "")
	r := runCLI(t, "report", "--sandbox", "finish")
	for _, want := range []string{"triage    length          3     <1%", "triage    stop            861   >99%"} {
		if r.code != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d, output lacks %q:\n%s", r.code, want, r.stdout)
		}
	}
}
