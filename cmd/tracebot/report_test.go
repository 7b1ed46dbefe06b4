package main

import (
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

var reportRegions = []string{"us-east-1", "us-west-2", "us-east-2"}

// reportEnv points the terminal at a CloudWatch Logs fake holding a generated
// day of traffic and a Lambda fake, through the SDK's endpoint variables.
type reportEnv struct {
	logs   *lookuptest.LogsServer
	lambda *lookuptest.LambdaServer
}

func newReportEnv(t *testing.T) *reportEnv {
	t.Helper()
	e := &reportEnv{logs: lookuptest.NewLogsServer(t), lambda: lookuptest.NewLambdaServer(t)}
	for _, r := range reportRegions {
		e.logs.SetLogGroups(r, "/aws/lambda/call-analytics-prod-ai-analysis-processor-"+r, "/aws/lambda/call-analytics-prod-contacts-analyzer-"+r)
		e.lambda.SetFunction(r, "call-analytics-prod-ai-analysis-processor-"+r, lookuptest.LambdaFunction{CodeSHA256: "sha-" + r, LastModified: time.Now()})
		e.lambda.SetFunction(r, "call-analytics-prod-contacts-analyzer-"+r, lookuptest.LambdaFunction{CodeSHA256: "contacts", LastModified: time.Now()})
	}
	e.logs.LoadTraffic(lookup.GenerateTraffic(lookup.TrafficConfig{Seed: 11, Start: time.Date(2026, 5, 21, 16, 0, 0, 0, time.UTC),
		Hours: 24, CacheCollapse: []int{3, 4}}))
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test-secret-key",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": e.logs.URL(), "AWS_ENDPOINT_URL_LAMBDA": e.lambda.URL(),
		"AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:1", // reports read no secret
		"TRACEBOT_NOW":         "2026-05-22T16:00:00Z", "TRACEBOT_POLL_RATE": "100/s",
	} {
		t.Setenv(k, v)
	}
	return e
}

func decodeObject(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", s)
	}
	return m
}

func TestReportCommand(t *testing.T) {
	e := newReportEnv(t)
	e.logs.Fail("us-west-2", lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"cost", []string{"report", "cost", "2h"}, exitOK, []string{"Cost: the most expensive AI calls — 2h", "✗ us-west-2: AccessDenied on logs:StartQuery", "Data scanned:"}},
		{"cache", []string{"report", "cache"}, exitOK, []string{"all models", "cache_collapse", "prompts.ts"}},
		{"finish", []string{"report", "finish", "since", "9am"}, exitOK, []string{"stage", "finish reason"}},
		{"providers", []string{"report", "providers", "yesterday"}, exitOK, []string{"share of model", "used more than one provider"}},
		{"deploys", []string{"report", "deploys"}, exitOK, []string{"code_differs", "sha-us-east-1"}},
		{"help", []string{"report", "help"}, exitOK, []string{"cost 2h", "providers yesterday"}},
		{"misspelt", []string{"report", "cahce", "24h"}, exitNotUnderstood, []string{"Did you mean “cache 24h”?", "deploys"}},
		{"too long", []string{"report", "cost", "30d"}, exitNotUnderstood, []string{"at most 7d", "bills per GB scanned"}},
		{"no kind", []string{"report"}, exitNotUnderstood, []string{"Which report?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
		})
	}
}

func TestReportCommandJSON(t *testing.T) {
	e := newReportEnv(t)
	e.logs.Fail("us-east-2", lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	r := runCLI(t, "report", "--json", "cost", "2h")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	m := decodeObject(t, r.stdout)
	for _, f := range []string{"kind", "from", "to", "zone", "regions", "bytes_scanned", "warnings", "top", "total_cost_usd", "rows"} {
		if _, ok := m[f]; !ok {
			t.Errorf("cost --json lacks %q", f)
		}
	}
	if m["from"] != "2026-05-22T14:00:00Z" || m["to"] != "2026-05-22T16:00:00Z" || m["zone"] != "America/New_York" {
		t.Errorf("window %v–%v in %v", m["from"], m["to"], m["zone"])
	}
	regions := m["regions"].([]any)
	last := regions[2].(map[string]any)
	if last["region"] != "us-east-2" || last["state"] != "failed" || last["error"] != "us-east-2: AccessDenied on logs:StartQuery" {
		t.Errorf("us-east-2 %v", last)
	}

	r = runCLI(t, "report", "--json", "cost", "8d")
	if r.code != exitNotUnderstood {
		t.Fatalf("8d: exit %d", r.code)
	}
	m = decodeObject(t, r.stdout)
	errObj, _ := m["error"].(map[string]any)
	if errObj["code"] != lookup.CodeWindowTooLong || !strings.Contains(errObj["message"].(string), "bills per GB scanned") {
		t.Errorf("8d --json: %v", m)
	}
	r = runCLI(t, "report", "help", "--json")
	if m := decodeObject(t, r.stdout); r.code != exitOK || m["kind"] != "help" || len(m["kinds"].([]any)) != 5 {
		t.Errorf("help --json: exit %d, %v", r.code, m)
	} else if k := m["kinds"].([]any)[0].(map[string]any); k["kind"] != "cost" || k["default_window"] != "2h" || k["example"] != "cost 2h" {
		t.Errorf("help --json: first kind %v", k)
	}
	r = runCLI(t, "report", "cahce", "--json")
	if m := decodeObject(t, r.stdout); r.code != exitNotUnderstood || m["error"].(map[string]any)["code"] != lookup.CodeNotUnderstood {
		t.Errorf("cahce --json: exit %d, %v", r.code, m)
	}
}

func TestReportCommandNoRegion(t *testing.T) {
	e := newReportEnv(t)
	for _, region := range reportRegions {
		e.logs.Fail(region, lookuptest.LogsStartQuery, "AccessDeniedException", 0)
	}
	r := runCLI(t, "report", "cache", "24h")
	if r.code != exitFailed || !strings.Contains(r.stdout, "Failed in every region: nothing to show.\n  ✗ us-east-1: AccessDenied") {
		t.Errorf("exit %d, want 1 with each region named:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "Overall") || strings.Contains(r.stdout, "Data scanned") {
		t.Errorf("a report no region answered shows empty numbers as if it were an answer:\n%s", r.stdout)
	}
	r = runCLI(t, "report", "--json", "cache", "24h")
	if m := decodeObject(t, r.stdout); r.code != exitFailed || len(m["regions"].([]any)) != 3 {
		t.Errorf("--json: exit %d, %v", r.code, m)
	}
}

func TestReportCommandSandboxChart(t *testing.T) {
	t.Setenv("TRACEBOT_NOW", "")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing may be reached
	path := filepath.Join(t.TempDir(), "cache.png")
	r := runCLI(t, "report", "--sandbox", "cache", "24h", "--png", path)
	if r.code != exitOK || !strings.Contains(r.stdout, "SAMPLE DATA") || !strings.Contains(r.stdout, "Chart: "+path) {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 800 || img.Bounds().Dy() < 400 {
		t.Fatalf("chart: %v, %v", err, img.Bounds())
	}
	for _, args := range [][]string{
		{"report", "--sandbox", "cache", "--png", filepath.Join(path, "x.png")},
		{"report", "--sandbox", "cache", "--json", "--png", filepath.Join(t.TempDir(), "no", "such", "dir.png")},
	} {
		r := runCLI(t, args...)
		if r.code != exitUsage || !strings.Contains(r.stdout+r.stderr, "--png: open") || strings.Contains(r.stdout, "SAMPLE DATA") {
			t.Errorf("%q: exit %d, want %d saying --png before any report:\n%s\n%s", args, r.code, exitUsage, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the chart written before is gone: %v", err)
	}
	r = runCLI(t, "report", "--sandbox", "deploys", "--png", path+".none")
	if r.code != exitOK || !strings.Contains(r.stderr, "deploys has no chart") {
		t.Errorf("deploys --png: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(path + ".none"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("deploys --png left a file: %v", err)
	}
}

func TestReportConfig(t *testing.T) {
	cfg, err := LoadConfig(mapEnv(map[string]string{"TRACEBOT_ENV": "test"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"call-analytics-{env}-ai-analysis-processor-{region}", "call-analytics-{env}-contacts-analyzer-{region}"}
	if !slicesEqual(cfg.Functions, want) || cfg.ReportMaxRange != 168*time.Hour || cfg.ReportCacheTTL != 2*time.Minute ||
		cfg.CacheMin != 0.5 || cfg.LengthMax != 0.2 {
		t.Errorf("defaults: %v %v %v %v %v", cfg.Functions, cfg.ReportMaxRange, cfg.ReportCacheTTL, cfg.CacheMin, cfg.LengthMax)
	}
	cfg, err = LoadConfig(mapEnv(map[string]string{"TRACEBOT_CACHE_MIN": "0", "TRACEBOT_FUNCTIONS": "a-{region}, b"}))
	if err != nil || cfg.CacheMin != 0 || !slicesEqual(cfg.Functions, []string{"a-{region}", "b"}) {
		t.Errorf("0 and a list: %v %v %v", err, cfg.CacheMin, cfg.Functions)
	}
	_, err = LoadConfig(mapEnv(map[string]string{
		"TRACEBOT_CACHE_MIN": "1.5", "TRACEBOT_LENGTH_MAX": "a fifth", "TRACEBOT_REPORT_MAX_RANGE": "7 days", "TRACEBOT_REPORT_CACHE_TTL": "-1m",
	}))
	for _, name := range []string{"TRACEBOT_CACHE_MIN", "TRACEBOT_LENGTH_MAX", "TRACEBOT_REPORT_MAX_RANGE", "TRACEBOT_REPORT_CACHE_TTL"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }
