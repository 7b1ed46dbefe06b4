package secretstest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/callytics/tracebot/secrets/secretstest"
)

func TestSSMServerGetParameters(t *testing.T) {
	srv := secretstest.NewSSMServer(t, map[string]string{"/b/key": "v1", "/a/key": "va"})
	srv.SetParam("/b/key", "v2")
	out, err := srv.Client(t).GetParameters(context.Background(), &ssm.GetParametersInput{
		Names: []string{"/b/key", "/nope", "/a/key"}, WithDecryption: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []types.Parameter{
		{Name: aws.String("/a/key"), Value: aws.String("va"), Version: 1, Type: types.ParameterTypeSecureString,
			ARN: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/a/key"), DataType: aws.String("text")},
		{Name: aws.String("/b/key"), Value: aws.String("v2"), Version: 2, Type: types.ParameterTypeSecureString,
			ARN: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/b/key"), DataType: aws.String("text")},
	}
	if diff := cmp.Diff(want, out.Parameters, cmpopts.IgnoreUnexported(types.Parameter{})); diff != "" {
		t.Errorf("parameters (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/nope"}, out.InvalidParameters); diff != "" {
		t.Errorf("invalid (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"/b/key", "/nope", "/a/key"}}, srv.Batches()); diff != "" {
		t.Errorf("batches (-want +got)\n%s", diff)
	}
}

func TestSSMServerFail(t *testing.T) {
	srv := secretstest.NewSSMServer(t, map[string]string{"/k": "v"})
	client := srv.Client(t)
	in := &ssm.GetParametersInput{Names: []string{"/k"}, WithDecryption: aws.Bool(true)}
	srv.Fail("AccessDeniedException", 400)
	_, err := client.GetParameters(context.Background(), in)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("err = %v, want AccessDeniedException", err)
	}
	srv.Fail("InternalServerError", 500)
	if _, err := client.GetParameters(context.Background(), in); err == nil {
		t.Fatal("want an error")
	}
	if srv.Calls() != 3 {
		t.Errorf("calls = %d, want 3 (denied once, 500 retried once)", srv.Calls())
	}
	srv.Recover()
	if _, err := client.GetParameters(context.Background(), in); err != nil {
		t.Fatalf("after Recover: %v", err)
	}
}

func TestSSMServerLatency(t *testing.T) {
	srv := secretstest.NewSSMServer(t, map[string]string{"/k": "v"})
	srv.SetLatency(30 * time.Millisecond)
	start := time.Now()
	if _, err := srv.Client(t).GetParameters(context.Background(), &ssm.GetParametersInput{Names: []string{"/k"}, WithDecryption: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 30*time.Millisecond {
		t.Errorf("answered in %v, want ≥ 30ms", elapsed)
	}
}

// recordingTB captures the failures the fake reports instead of failing the test.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestSSMServerRejectsWhatSSMRejects(t *testing.T) {
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("/p/%d", i)
	}
	tests := []struct {
		name     string
		in       *ssm.GetParametersInput
		wantErr  string // AWS error code, "" for success
		wantFail string
	}{
		{"more than ten names", &ssm.GetParametersInput{Names: eleven, WithDecryption: aws.Bool(true)},
			"ValidationException", "ssm fake: GetParameters with 11 names, want 1..10"},
		{"without decryption", &ssm.GetParametersInput{Names: []string{"/p/1"}},
			"", "ssm fake: GetParameters without WithDecryption=true: SecureString values would be ciphertext"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			srv := secretstest.NewSSMServer(rec, nil)
			_, err := srv.Client(t).GetParameters(context.Background(), tt.in)
			if got := errorCode(err); got != tt.wantErr {
				t.Errorf("err = %v, want code %q", err, tt.wantErr)
			}
			if diff := cmp.Diff([]string{tt.wantFail}, rec.errors); diff != "" {
				t.Errorf("reported failures (-want +got)\n%s", diff)
			}
		})
	}
}

// errorCode returns the AWS error code of err, "" for nil, or err's text.
func errorCode(err error) string {
	var apiErr smithy.APIError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode()
	}
	return err.Error()
}
