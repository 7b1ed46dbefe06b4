// Package secretstest provides fakes for tests of code that reads secrets: an SSM
// Parameter Store server that speaks the real AWS JSON 1.1 protocol (so tests go
// through the real SDK over HTTP) and a helper that lays out a secrets directory.
package secretstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

const (
	// Region is the region of the clients Client builds.
	Region = "us-east-1"
	// Account is the account id in the ARNs the server returns.
	Account = "123456789012"
	// MaxNames is GetParameters' limit of names per call; the server rejects more
	// (and fails the test) as SSM does.
	MaxNames = 10

	targetGetParameters = "AmazonSSM.GetParameters"
	contentType         = "application/x-amz-json-1.1"
)

// SSMServer is a fake SSM Parameter Store. Every parameter is a SecureString. The
// server fails the test when a request is not what the real service accepts from
// tracebot: not signed, not JSON 1.1, WithDecryption not true, more than 10 names.
type SSMServer struct {
	// URL is the server's base URL, for an SDK endpoint override.
	URL string

	tb  testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	params     map[string]param
	failType   string
	failStatus int
	latency    time.Duration
	batches    [][]string
}

type param struct {
	value   string
	version int64
}

// NewSSMServer starts a server holding params (name → value, each at version 1) and
// stops it when the test ends.
func NewSSMServer(tb testing.TB, params map[string]string) *SSMServer {
	tb.Helper()
	s := &SSMServer{tb: tb, params: make(map[string]param, len(params))}
	for name, value := range params {
		s.params[name] = param{value: value, version: 1}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// Client returns a real *ssm.Client pointed at the server: region us-east-1, static
// credentials, and one quick retry, so failure tests stay fast.
func (s *SSMServer) Client(tb testing.TB) *ssm.Client {
	tb.Helper()
	cfg := aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSECRETSTEST", "fake-secret-access-key", ""),
		HTTPClient:  s.srv.Client(),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 2
				o.RateLimiter = ratelimit.None
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) {
					return time.Millisecond, nil
				})
			})
		},
	}
	return ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

// SetParam creates name or, when it exists, gives it a new value and version (a
// rotation).
func (s *SSMServer) SetParam(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[name]
	s.params[name] = param{value: value, version: p.version + 1}
}

// DeleteParam removes name; later requests report it in InvalidParameters.
func (s *SSMServer) DeleteParam(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.params, name)
}

// Fail makes every later request fail with an AWS error of errType (for example
// "AccessDeniedException" with 400, "ThrottlingException" with 400,
// "InternalServerError" with 500) until Recover.
func (s *SSMServer) Fail(errType string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failType, s.failStatus = errType, status
}

// Recover undoes Fail.
func (s *SSMServer) Recover() { s.Fail("", 0) }

// SetLatency delays every later response by d (or until the request is cancelled).
func (s *SSMServer) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Calls returns how many requests reached the server (retries included).
func (s *SSMServer) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.batches)
}

// Batches returns the names of each GetParameters request, in arrival order; a
// request that failed before its body was read has a nil entry.
func (s *SSMServer) Batches() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]string, len(s.batches))
	for i, b := range s.batches {
		out[i] = slices.Clone(b)
	}
	return out
}

// getParametersRequest is the JSON body of GetParameters.
type getParametersRequest struct {
	Names          []string
	WithDecryption *bool
}

func (s *SSMServer) serve(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decode(w, r)
	latency, failType, failStatus := s.record(req.Names)
	if !ok {
		return
	}
	select {
	case <-time.After(latency):
	case <-r.Context().Done():
		return
	}
	if failType != "" {
		writeError(w, failStatus, failType, failMessage(failType))
		return
	}
	if len(req.Names) == 0 || len(req.Names) > MaxNames {
		s.tb.Errorf("ssm fake: GetParameters with %d names, want 1..%d", len(req.Names), MaxNames)
		writeError(w, http.StatusBadRequest, "ValidationException",
			fmt.Sprintf("1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to %d", MaxNames))
		return
	}
	if req.WithDecryption == nil || !*req.WithDecryption {
		s.tb.Errorf("ssm fake: GetParameters without WithDecryption=true: SecureString values would be ciphertext")
	}
	s.writeParameters(w, req)
}

// decode checks the protocol and reads the body; on failure it has answered.
func (s *SSMServer) decode(w http.ResponseWriter, r *http.Request) (getParametersRequest, bool) {
	var req getParametersRequest
	switch {
	case r.Method != http.MethodPost:
		s.tb.Errorf("ssm fake: method %s, want POST", r.Method)
	case r.Header.Get("X-Amz-Target") != targetGetParameters:
		s.tb.Errorf("ssm fake: X-Amz-Target %q, want %q", r.Header.Get("X-Amz-Target"), targetGetParameters)
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "unsupported operation")
		return req, false
	case !strings.HasPrefix(r.Header.Get("Content-Type"), contentType):
		s.tb.Errorf("ssm fake: Content-Type %q, want %q", r.Header.Get("Content-Type"), contentType)
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
		s.tb.Errorf("ssm fake: request not signed with SigV4")
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.tb.Errorf("ssm fake: decode request: %v", err)
		writeError(w, http.StatusBadRequest, "SerializationException", "cannot decode request")
		return req, false
	}
	return req, true
}

// record counts the call and returns the knobs in force for it.
func (s *SSMServer) record(names []string) (time.Duration, string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, slices.Clone(names))
	return s.latency, s.failType, s.failStatus
}

// parameter is types.Parameter on the wire.
type parameter struct {
	Name     string
	Type     string
	Value    string
	Version  int64
	ARN      string
	DataType string
}

func (s *SSMServer) writeParameters(w http.ResponseWriter, req getParametersRequest) {
	out := struct {
		Parameters        []parameter
		InvalidParameters []string
	}{Parameters: []parameter{}, InvalidParameters: []string{}}
	s.mu.Lock()
	for _, name := range req.Names {
		p, ok := s.params[name]
		if !ok {
			out.InvalidParameters = append(out.InvalidParameters, name)
			continue
		}
		out.Parameters = append(out.Parameters, parameter{
			Name: name, Type: "SecureString", Value: p.value, Version: p.version,
			ARN: arn(name), DataType: "text",
		})
	}
	s.mu.Unlock()
	// SSM lists parameters in alphabetical order.
	slices.SortFunc(out.Parameters, func(a, b parameter) int { return strings.Compare(a.Name, b.Name) })
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", "00000000-0000-4000-8000-000000000000")
	_ = json.NewEncoder(w).Encode(out)
}

// arn returns the parameter ARN SSM would give name.
func arn(name string) string {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return "arn:aws:ssm:" + Region + ":" + Account + ":parameter" + name
}

func failMessage(errType string) string {
	if errType == "AccessDeniedException" {
		return "User: arn:aws:sts::" + Account + ":assumed-role/tracebot/test is not authorized to perform: ssm:GetParameters because no identity-based policy allows the ssm:GetParameters action"
	}
	return "injected failure: " + errType
}

// writeError answers in the AWS JSON 1.1 error shape.
func writeError(w http.ResponseWriter, status int, errType, message string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", "00000000-0000-4000-8000-000000000001")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": errType, "message": message})
}
