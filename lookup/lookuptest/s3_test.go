package lookuptest

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	awshttp "github.com/aws/smithy-go/transport/http"
)

// TestS3Ranges: the fake answers a ranged GetObject as S3 does, through the real
// client: 206 with the part and its Content-Range, 416 InvalidRange past the end,
// and the whole object for a Range form it does not serve.
func TestS3Ranges(t *testing.T) {
	s := NewS3Server(t)
	s.Put("b-ranges", "k", []byte("0123456789"))
	s.Put("b-ranges", "empty", nil)
	client := s.Client(t, "us-east-1")
	get := func(key, rng string) (string, *s3.GetObjectOutput, error) {
		t.Helper()
		in := &s3.GetObjectInput{Bucket: aws.String("b-ranges"), Key: aws.String(key)}
		if rng != "" {
			in.Range = aws.String(rng)
		}
		out, err := client.GetObject(t.Context(), in)
		if err != nil {
			return "", nil, err
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		return string(b), out, err
	}
	for _, tt := range []struct{ rng, body, contentRange string }{
		{"bytes=0-0", "0", "bytes 0-0/10"},
		{"bytes=2-4", "234", "bytes 2-4/10"},
		{"bytes=7-", "789", "bytes 7-9/10"},
		{"bytes=8-99", "89", "bytes 8-9/10"},
		{"", "0123456789", ""},
		{"bytes=-3", "0123456789", ""}, // a suffix range: not served, the whole object
	} {
		body, out, err := get("k", tt.rng)
		if err != nil || body != tt.body || aws.ToString(out.ContentRange) != tt.contentRange {
			t.Errorf("Range %q: %q, Content-Range %q, %v; want %q, %q", tt.rng, body, aws.ToString(out.ContentRange), err, tt.body, tt.contentRange)
		}
	}
	for _, key := range []string{"k", "empty"} {
		rng := "bytes=10-10"
		if key == "empty" {
			rng = "bytes=0-0"
		}
		_, _, err := get(key, rng)
		var api smithy.APIError
		var resp *awshttp.ResponseError
		if !errors.As(err, &api) || api.ErrorCode() != "InvalidRange" || !errors.As(err, &resp) || resp.HTTPStatusCode() != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("%s, Range %s: %v; want 416 InvalidRange", key, rng, err)
		}
	}
	if got := s.Requests()[0].Range; got != "bytes=0-0" {
		t.Errorf("the request's Range is recorded as %q", got)
	}
}
