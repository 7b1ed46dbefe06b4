package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/secrets"
	"github.com/callytics/tracebot/secrets/secretstest"
)

func TestSSMSourceFetch(t *testing.T) {
	params := map[string]string{
		"/callytics/openrouter-api-key":       "sk-or-v1-ssm",
		"/callytics/neon-database-url":        "postgres://tracebot:pw-ssm@db/calls",
		"/callytics/tracebot/slack-bot-token": "xoxb-ssm",
	}
	var many []string
	manyValues := map[string]string{}
	for i := range 23 {
		name := fmt.Sprintf("/callytics/many/p%02d", i)
		params[name] = fmt.Sprintf("value-%02d", i)
		many = append(many, name)
		manyValues[name] = params[name]
	}
	tests := []struct {
		name        string
		names       []string
		wantValues  map[string]string
		wantMissing []string
		wantBatches []int // sizes, sorted
	}{
		{
			name:        "one call",
			names:       []string{"/callytics/openrouter-api-key", "/callytics/neon-database-url"},
			wantValues:  map[string]string{"/callytics/openrouter-api-key": "sk-or-v1-ssm", "/callytics/neon-database-url": "postgres://tracebot:pw-ssm@db/calls"},
			wantBatches: []int{2},
		},
		{
			name:        "more than ten names are batched",
			names:       many,
			wantValues:  manyValues,
			wantBatches: []int{3, 10, 10},
		},
		{
			name:        "invalid parameters are missing",
			names:       []string{"/callytics/nope", "/callytics/tracebot/slack-bot-token", "/callytics/also-nope"},
			wantValues:  map[string]string{"/callytics/tracebot/slack-bot-token": "xoxb-ssm"},
			wantMissing: []string{"/callytics/nope", "/callytics/also-nope"},
			wantBatches: []int{3},
		},
		{
			name:        "repeated names asked once",
			names:       []string{"/callytics/openrouter-api-key", "/callytics/openrouter-api-key"},
			wantValues:  map[string]string{"/callytics/openrouter-api-key": "sk-or-v1-ssm"},
			wantBatches: []int{1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := secretstest.NewSSMServer(t, params)
			values, missing, err := secrets.NewSSMSource(srv.Client(t)).Fetch(context.Background(), tt.names)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if diff := cmp.Diff(tt.wantValues, reveal(values)); diff != "" {
				t.Errorf("values (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMissing, missing); diff != "" {
				t.Errorf("missing (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBatches, batchSizes(srv)); diff != "" {
				t.Errorf("batch sizes (-want +got)\n%s", diff)
			}
		})
	}
}

func TestSSMSourceErrors(t *testing.T) {
	tests := []struct {
		errType string
		status  int
		calls   int // the client retries retryable errors once
	}{
		{"AccessDeniedException", 400, 1},
		{"ThrottlingException", 400, 2},
		{"InternalServerError", 500, 2},
	}
	for _, tt := range tests {
		t.Run(tt.errType, func(t *testing.T) {
			srv := secretstest.NewSSMServer(t, map[string]string{"/callytics/key": "canary-ssm-error-value"})
			srv.Fail(tt.errType, tt.status)
			values, missing, err := secrets.NewSSMSource(srv.Client(t)).Fetch(context.Background(), []string{"/callytics/key"})
			if err == nil {
				t.Fatal("Fetch succeeded against a failing server")
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.errType {
				t.Errorf("err = %v, want an API error %s", err, tt.errType)
			}
			if !strings.HasPrefix(err.Error(), "ssm: get parameters: ") {
				t.Errorf("err = %q, want it prefixed with the component", err)
			}
			if values != nil || missing != nil {
				t.Errorf("values %v, missing %v on error; want nil", values, missing)
			}
			if srv.Calls() != tt.calls {
				t.Errorf("calls = %d, want %d", srv.Calls(), tt.calls)
			}
		})
	}
}

// TestSSMSourceOneBatchFails: the fetch is all or nothing.
func TestSSMSourceOneBatchFails(t *testing.T) {
	srv := secretstest.NewSSMServer(t, nil)
	api := &failNth{api: srv.Client(t), fail: 2}
	names := make([]string, 25)
	for i := range names {
		names[i] = fmt.Sprintf("/p/%d", i)
		srv.SetParam(names[i], "v")
	}
	values, missing, err := secrets.NewSSMSource(api).Fetch(context.Background(), names)
	if err == nil || values != nil || missing != nil {
		t.Fatalf("Fetch = %v, %v, %v; want only an error", values, missing, err)
	}
}

func batchSizes(srv *secretstest.SSMServer) []int {
	var sizes []int
	for _, b := range srv.Batches() {
		sizes = append(sizes, len(b))
	}
	slices.Sort(sizes)
	return sizes
}
