package lookup

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func TestTraceFailuresNameEveryBackend(t *testing.T) {
	tr := &Trace{
		Errors: []StepError{
			{Step: StepCalls, Message: `no call with telephony_session_id "s-x"`},
			{Step: StepLogs, Region: "us-east-2", Message: "AccessDeniedException", Backend: "CloudWatch us-east-2"},
		},
		Analysis: &AnalysisStatus{Path: "s3://b/k", Error: "S3 AccessDenied on s3://b/k", Backend: BackendS3},
		Stages: []Stage{
			{Stage: "triage", Content: ContentFailed, ContentError: "openrouter: HTTP 503", contentFailed: true},
			{Stage: "classify", Content: ContentNone},
		},
	}
	want := []StepError{
		{Step: StepLogs, Region: "us-east-2", Message: "AccessDeniedException", Backend: "CloudWatch us-east-2"},
		{Step: StepS3, Message: "S3 AccessDenied on s3://b/k", Backend: BackendS3},
		{Step: StepContent, Message: "triage: openrouter: HTTP 503", Backend: BackendOpenRouter},
	}
	if diff := cmp.Diff(want, tr.Failures()); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}

func TestFailureClassification(t *testing.T) {
	api := func(code string) error {
		return fmt.Errorf("s3 s3://b/k: get object: %w", &smithy.GenericAPIError{Code: code})
	}
	for _, tt := range []struct {
		name    string
		s3      bool
		err     error
		backend bool
	}{
		{"s3 denied", true, api("AccessDenied"), true},
		{"s3 throttled", true, api("SlowDown"), true},
		{"s3 no such key", true, api("NoSuchKey"), false},
		{"bucket not allowed", true, fmt.Errorf("s3: %w", ErrBucketNotAllowed), false},
		{"not json", true, fmt.Errorf("s3: %w", ErrAnalysisNotJSON), false},
		{"s3 timeout", true, context.DeadlineExceeded, true},
		{"not found", false, Errorf(CodeNotFound, "generation not found"), false},
		{"not a generation id", false, Errorf(CodeInvalid, "not an id"), false},
		{"http 500", false, errors.New("openrouter gen-1: HTTP 500"), true},
	} {
		got := backendFailure(tt.err)
		if tt.s3 {
			got = s3Failure(tt.err)
		}
		if got != tt.backend {
			t.Errorf("%s: failure %v, want %v", tt.name, got, tt.backend)
		}
	}
}
