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
