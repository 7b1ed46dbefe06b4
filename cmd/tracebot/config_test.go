package main

import (
	"strings"
	"testing"
)

// TestConfigRefusesValuesThatCannotWork: a value that reads as the right type but
// would fail later (at AWS, at serve's start, in every link) stops the run at start
// with the variable named; the good forms next to them are accepted.
func TestConfigRefusesValuesThatCannotWork(t *testing.T) {
	tests := []struct {
		name, value, why string // why: "" when the value is fine
	}{
		{"TRACEBOT_REGIONS", "us-east-9x", "AWS region names"},
		{"TRACEBOT_REGIONS", "us-east-1, us-gov-west-1,ap-southeast-2", ""},
		{"TRACEBOT_LOG_GROUPS", ",", "at least one log-group pattern"},
		{"TRACEBOT_FUNCTIONS", " , ", "at least one Lambda name pattern"},
		{"TRACEBOT_GENERATION_LINK", "https://openrouter.ai/activity/", "with {id}"},
		{"TRACEBOT_GENERATION_LINK", "openrouter.ai/activity/{id}", "http(s) URL"},
		{"TRACEBOT_GENERATION_LINK", "https://openrouter.example/g/{id}?x=1", ""},
		{"TRACEBOT_ANALYSIS_BUCKETS", "s3://callytics-prod-analysis", "no s3://"},
		{"TRACEBOT_ANALYSIS_BUCKETS", "Callytics_Analysis", "S3 bucket names"},
		{"TRACEBOT_ANALYSIS_BUCKETS", "callytics-prod-analysis,callytics.test.analysis", ""},
		{"TRACEBOT_REPROCESS_TARGET", "lambda:", `function name ""`},
		{"TRACEBOT_REPROCESS_TARGET", "sqs:https://sqs.us-east-1.amazonaws.com/123456789012/reprocess", ""},
		{"TRACEBOT_REPROCESS_PAYLOAD", `{"id":"{session_id}"`, "not valid JSON"},
		{"TRACEBOT_REPROCESS_PAYLOAD", `{"id":"{sessionid}"}`, "sessionid"},
		{"TRACEBOT_REPROCESS_PAYLOAD", `{"id":"{session_id}","who":"{requested_by}","on":"{platform}"}`, ""},
		{"TRACEBOT_SSM_DATABASE_URL", "callytics neon url", "SSM parameter name"},
		{"TRACEBOT_SSM_STATE_DATABASE_URL", "/callytics/tracebot/state-db_url.v2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := LoadConfig(mapEnv(map[string]string{tt.name: tt.value}))
			switch {
			case tt.why == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.why != "" && err == nil:
				t.Errorf("accepted; want an error saying %q", tt.why)
			case tt.why != "" && (!strings.Contains(err.Error(), "config: "+tt.name+"=") || !strings.Contains(err.Error(), tt.why)):
				t.Errorf("error %q does not name %s and say %q", err, tt.name, tt.why)
			}
		})
	}
}
