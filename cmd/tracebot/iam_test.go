package main

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIAMPolicyIsScopedToTheConfiguration(t *testing.T) {
	cfg, err := LoadConfig(mapEnv(map[string]string{
		"TRACEBOT_REGIONS":             "us-east-1,us-west-2",
		"TRACEBOT_REPROCESS_TARGET":    "lambda:call-analytics-prod-reprocess",
		"TRACEBOT_LARK_APP_ID":         "cli_a1b2",
		"TRACEBOT_SSM_DATABASE_URL":    "/callytics/neon-database-url",
		"TRACEBOT_ENV":                 "prod",
		"TRACEBOT_SSM_SLACK_APP_TOKEN": "/callytics/tracebot/slack-app-token",
	}))
	if err != nil {
		t.Fatal(err)
	}
	p := iamPolicy(cfg, iamScope{Region: "us-east-1", Account: "123456789012"})
	actions := map[string][]string{}
	for _, s := range p.Statement {
		for _, a := range s.Action {
			actions[a] = s.Resource
		}
	}
	want := []string{"kms:Decrypt", "lambda:GetFunction", "lambda:InvokeFunction", "logs:DescribeLogGroups", "logs:DescribeQueries", "logs:GetQueryResults", "logs:StartQuery", "logs:StopQuery", "ssm:GetParameters"}
	if diff := cmp.Diff(want, slices.Sorted(maps.Keys(actions))); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if r := actions["lambda:InvokeFunction"]; len(r) != 1 || r[0] != "arn:aws:lambda:us-east-1:123456789012:function:call-analytics-prod-reprocess" {
		t.Errorf("lambda resource %v", r)
	}
	if diff := cmp.Diff([]string{
		"arn:aws:lambda:us-east-1:123456789012:function:call-analytics-prod-ai-analysis-processor-us-east-1",
		"arn:aws:lambda:us-east-1:123456789012:function:call-analytics-prod-contacts-analyzer-us-east-1",
		"arn:aws:lambda:us-west-2:123456789012:function:call-analytics-prod-ai-analysis-processor-us-west-2",
		"arn:aws:lambda:us-west-2:123456789012:function:call-analytics-prod-contacts-analyzer-us-west-2",
	}, actions["lambda:GetFunction"]); diff != "" {
		t.Errorf("GetFunction resources (-want +got):\n%s", diff)
	}
	starts := strings.Join(actions["logs:StartQuery"], "\n")
	for _, want := range []string{
		"arn:aws:logs:us-west-2:123456789012:log-group:/aws/lambda/call-analytics-prod-ai-analysis-processor-us-west-2:*",
		"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/call-analytics-prod-contacts-analyzer-us-east-1:*",
	} {
		if !strings.Contains(starts, want) {
			t.Errorf("StartQuery resources lack %s:\n%s", want, starts)
		}
	}
	if len(actions["logs:StartQuery"]) != 4 || strings.Contains(starts, "*:log-group:*") {
		t.Errorf("StartQuery must name each group: %v", actions["logs:StartQuery"])
	}
	params := strings.Join(actions["ssm:GetParameters"], "\n")
	if !strings.Contains(params, "parameter/callytics/tracebot/lark-encrypt-key") || strings.Contains(params, "parameter*") {
		t.Errorf("parameters: %s", params)
	}
}

func mapEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestIAMPolicyAnalysisBuckets: s3:GetObject on exactly TRACEBOT_ANALYSIS_BUCKETS'
// objects; an empty list grants none and says what is needed; off needs nothing.
func TestIAMPolicyAnalysisBuckets(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		resources []string
		note      bool
	}{
		{"two buckets", map[string]string{"TRACEBOT_ANALYSIS_BUCKETS": "callytics-prod-analysis, callytics-test-analysis"},
			[]string{"arn:aws:s3:::callytics-prod-analysis/*", "arn:aws:s3:::callytics-test-analysis/*"}, false},
		{"no list", map[string]string{}, nil, true},
		{"verdict off", map[string]string{"TRACEBOT_VERDICT": "off", "TRACEBOT_ANALYSIS_BUCKETS": "callytics-prod-analysis"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig(mapEnv(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range iamPolicy(cfg, iamScope{Region: "us-east-1", Account: "123456789012"}).Statement {
				if slices.Contains(s.Action, "s3:GetObject") {
					got = append(got, s.Resource...)
				}
			}
			if diff := cmp.Diff(tt.resources, got); diff != "" {
				t.Errorf("s3:GetObject resources (-want +got):\n%s", diff)
			}
			notes := iamNotes(cfg)
			if tt.note != (len(notes) == 1 && strings.Contains(notes[0], "TRACEBOT_ANALYSIS_BUCKETS is empty")) {
				t.Errorf("notes %q", notes)
			}
		})
	}
}

func TestVerdictConfig(t *testing.T) {
	if _, err := LoadConfig(mapEnv(map[string]string{"TRACEBOT_VERDICT": "maybe"})); err == nil || !strings.Contains(err.Error(), "TRACEBOT_VERDICT") {
		t.Errorf("a bad TRACEBOT_VERDICT must be named: %v", err)
	}
	cfg, err := LoadConfig(mapEnv(map[string]string{}))
	if err != nil || !cfg.Verdict || cfg.AnalysisBuckets != nil {
		t.Errorf("defaults: verdict %v buckets %v (%v)", cfg.Verdict, cfg.AnalysisBuckets, err)
	}
}
