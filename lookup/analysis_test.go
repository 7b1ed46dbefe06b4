package lookup_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

const testAnalysisPath = "s3://callytics-prod-analysis/2026/05/20/s-abc123def456.json"

func newS3(t *testing.T) (*lookuptest.S3Server, *s3.Client) {
	t.Helper()
	srv := lookuptest.NewS3Server(t)
	return srv, srv.Client(t, "us-west-2")
}

func TestParseS3Path(t *testing.T) {
	tests := []struct {
		path, bucket, key string
		ok                bool
	}{
		{"s3://callytics-prod-analysis/2026/05/20/s-1.json", "callytics-prod-analysis", "2026/05/20/s-1.json", true},
		{" s3://b-1.x/k ", "b-1.x", "k", true},
		{"s3://bucket/", "", "", false},
		{"s3://bucket", "", "", false},
		{"https://bucket.s3.amazonaws.com/k", "", "", false},
		{"s3://Bad_Bucket/k", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		bucket, key, err := lookup.ParseS3Path(tt.path)
		if (err == nil) != tt.ok || bucket != tt.bucket || key != tt.key {
			t.Errorf("ParseS3Path(%q) = %q, %q, %v; want %q, %q, ok %v", tt.path, bucket, key, err, tt.bucket, tt.key, tt.ok)
		}
		if err != nil && !errors.Is(err, lookup.ErrAnalysisPath) {
			t.Errorf("ParseS3Path(%q): %v does not wrap ErrAnalysisPath", tt.path, err)
		}
	}
}

func TestReadAnalysisOverTheWire(t *testing.T) {
	srv, client := newS3(t)
	srv.PutPath(t, testAnalysisPath, []byte(`{"call_state":"voicemail","score":4.50,"staff":{"name":"Ana"}}`))
	r := lookup.NewS3Analysis(client, lookup.S3AnalysisConfig{})
	got, err := r.ReadAnalysis(context.Background(), testAnalysisPath)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"call_state": "voicemail", "score": json.Number("4.50"), "staff": map[string]any{"name": "Ana"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("analysis (-want +got):\n%s", diff)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Bucket != "callytics-prod-analysis" ||
		reqs[0].Key != "2026/05/20/s-abc123def456.json" || reqs[0].Region != "us-west-2" {
		t.Errorf("requests: %+v", reqs)
	}
}

// TestReadAnalysisFailures covers each way the read fails: the error wraps what
// errors.Is/As need, and AnalysisCause says it in one line.
// TestProbeAnalysisOverTheWire: the probe asks S3 for the object's first byte
// only (a ranged GetObject, all that s3:GetObject needs), takes an empty object as
// readable, and fails as ReadAnalysis does otherwise, sending nothing for a bucket
// that is not allowed.
func TestProbeAnalysisOverTheWire(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*lookuptest.S3Server)
		buckets   []string
		wantCause string // "" for no error
		wantReqs  int
	}{
		{name: "readable", setup: func(s *lookuptest.S3Server) { s.PutPath(t, testAnalysisPath, []byte(`{"call_state":"voicemail"}`)) }, wantReqs: 1},
		{name: "empty object", setup: func(s *lookuptest.S3Server) { s.PutPath(t, testAnalysisPath, nil) }, wantReqs: 1},
		{name: "no such key", setup: func(s *lookuptest.S3Server) { s.CreateBucket("callytics-prod-analysis") },
			wantCause: "S3 NoSuchKey on " + testAnalysisPath, wantReqs: 1},
		{name: "no such bucket", wantCause: "S3 NoSuchBucket on " + testAnalysisPath, wantReqs: 1},
		{name: "access denied", setup: func(s *lookuptest.S3Server) {
			s.PutPath(t, testAnalysisPath, []byte(`{}`))
			s.Deny("callytics-prod-analysis")
		}, wantCause: "S3 AccessDenied on " + testAnalysisPath, wantReqs: 1},
		{name: "bucket not allowed", buckets: []string{"other-bucket"},
			wantCause: "bucket callytics-prod-analysis is not in TRACEBOT_ANALYSIS_BUCKETS (" + testAnalysisPath + " not read)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, client := newS3(t)
			if tt.setup != nil {
				tt.setup(srv)
			}
			err := lookup.NewS3Analysis(client, lookup.S3AnalysisConfig{Buckets: tt.buckets}).ProbeAnalysis(t.Context(), testAnalysisPath)
			switch {
			case tt.wantCause == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.wantCause != "" && err == nil:
				t.Errorf("no error; want %q", tt.wantCause)
			case err != nil:
				if got := lookup.AnalysisCause(testAnalysisPath, err); got != tt.wantCause || !strings.HasPrefix(err.Error(), "s3") {
					t.Errorf("error %q, cause %q; want %q", err, got, tt.wantCause)
				}
			}
			reqs := srv.Requests()
			if len(reqs) != tt.wantReqs {
				t.Fatalf("%d requests, want %d", len(reqs), tt.wantReqs)
			}
			for _, r := range reqs {
				if r.Method != "GET" || r.Range != "bytes=0-0" {
					t.Errorf("request %+v; want a GET of the first byte", r)
				}
			}
		})
	}
}

func TestReadAnalysisFailures(t *testing.T) {
	big := `{"pad":"` + strings.Repeat("x", lookup.AnalysisMaxBytes) + `"}`
	tests := []struct {
		name      string
		setup     func(*lookuptest.S3Server)
		buckets   []string
		path      string
		timeout   time.Duration
		offline   bool // the endpoint is a port nothing listens on ({addr} in wantCause)
		wantIs    error
		wantCode  string
		wantCause string
		wantReqs  int
	}{
		{name: "no such key", setup: func(s *lookuptest.S3Server) { s.CreateBucket("callytics-prod-analysis") },
			wantCode: "NoSuchKey", wantCause: "S3 NoSuchKey on " + testAnalysisPath, wantReqs: 1},
		{name: "no such bucket", wantCode: "NoSuchBucket", wantCause: "S3 NoSuchBucket on " + testAnalysisPath, wantReqs: 1},
		{name: "access denied", setup: func(s *lookuptest.S3Server) {
			s.PutPath(t, testAnalysisPath, []byte(`{}`))
			s.Deny("callytics-prod-analysis")
		}, wantCode: "AccessDenied", wantCause: "S3 AccessDenied on " + testAnalysisPath, wantReqs: 1},
		{name: "5xx storm", setup: func(s *lookuptest.S3Server) {
			s.PutPath(t, testAnalysisPath, []byte(`{}`))
			s.Fail("InternalError", 500, 0)
		}, wantCode: "InternalError", wantCause: "S3 InternalError on " + testAnalysisPath + " (after 3 attempts)", wantReqs: 3},
		{name: "over 1 MB by Content-Length", setup: func(s *lookuptest.S3Server) { s.PutPath(t, testAnalysisPath, []byte(big)) },
			wantIs: lookup.ErrAnalysisTooLarge, wantCause: "the stored analysis " + testAnalysisPath + " is over 1 MB (not read)", wantReqs: 1},
		{name: "over 1 MB without Content-Length", setup: func(s *lookuptest.S3Server) {
			s.PutPath(t, testAnalysisPath, []byte(big))
			s.SetChunked(true)
		}, wantIs: lookup.ErrAnalysisTooLarge, wantCause: "the stored analysis " + testAnalysisPath + " is over 1 MB (not read)", wantReqs: 1},
		{name: "not JSON", setup: func(s *lookuptest.S3Server) { s.PutPath(t, testAnalysisPath, []byte("call_state=voicemail\n")) },
			wantIs: lookup.ErrAnalysisNotJSON, wantCause: "the stored analysis " + testAnalysisPath + " is not a JSON object", wantReqs: 1},
		{name: "an empty object", setup: func(s *lookuptest.S3Server) { s.PutPath(t, testAnalysisPath, nil) },
			wantIs: lookup.ErrAnalysisNotJSON, wantCause: "the stored analysis " + testAnalysisPath + " is not a JSON object", wantReqs: 1},
		{name: "a JSON array", setup: func(s *lookuptest.S3Server) { s.PutPath(t, testAnalysisPath, []byte(`[1,2]`)) },
			wantIs: lookup.ErrAnalysisNotJSON, wantCause: "the stored analysis " + testAnalysisPath + " is not a JSON object", wantReqs: 1},
		{name: "timeout", setup: func(s *lookuptest.S3Server) {
			s.PutPath(t, testAnalysisPath, []byte(`{}`))
			s.SetLatency(2 * time.Second)
		}, timeout: 100 * time.Millisecond, wantIs: context.DeadlineExceeded, wantCause: "S3 read of " + testAnalysisPath + " timed out", wantReqs: 1},
		{name: "endpoint unreachable", offline: true,
			wantCause: "S3 read of " + testAnalysisPath + " failed: cannot reach AWS (after 3 attempts): dial tcp {addr}: connect: connection refused"},
		{name: "bucket not allowed", buckets: []string{"other-bucket"}, wantIs: lookup.ErrBucketNotAllowed,
			wantCause: "bucket callytics-prod-analysis is not in TRACEBOT_ANALYSIS_BUCKETS (" + testAnalysisPath + " not read)"},
		{name: "bad path", path: "callytics-prod-analysis/x.json", wantIs: lookup.ErrAnalysisPath,
			wantCause: `s3_analysis_path "callytics-prod-analysis/x.json" is not an s3://bucket/key path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, client := newS3(t)
			wantCause := tt.wantCause
			if tt.offline {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := l.Addr().String()
				l.Close()
				client = srv.Client(t, "us-west-2", func(o *s3.Options) { o.BaseEndpoint = aws.String("http://" + addr) })
				wantCause = strings.ReplaceAll(wantCause, "{addr}", addr)
			}
			if tt.setup != nil {
				tt.setup(srv)
			}
			path := tt.path
			if path == "" {
				path = testAnalysisPath
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := lookup.NewS3Analysis(client, lookup.S3AnalysisConfig{Buckets: tt.buckets}).ReadAnalysis(ctx, path)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			var api smithy.APIError
			if tt.wantCode != "" && (!errors.As(err, &api) || api.ErrorCode() != tt.wantCode) {
				t.Errorf("error %v: want S3 code %s", err, tt.wantCode)
			}
			if !strings.HasPrefix(err.Error(), "s3") {
				t.Errorf("error %q does not start with the component", err)
			}
			if got := lookup.AnalysisCause(path, err); got != wantCause {
				t.Errorf("cause %q, want %q", got, wantCause)
			}
			if got := len(srv.Requests()); got != tt.wantReqs {
				t.Errorf("%d requests, want %d", got, tt.wantReqs)
			}
		})
	}
}
