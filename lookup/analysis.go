package lookup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// AnalysisMaxBytes is the largest stored analysis read (SPEC §11: at most 1 MB).
const AnalysisMaxBytes = 1 << 20

// Errors of ReadAnalysis that are not S3's own, for errors.Is.
var (
	ErrAnalysisPath       = errors.New("not an s3://bucket/key path")
	ErrBucketNotAllowed   = errors.New("bucket not in TRACEBOT_ANALYSIS_BUCKETS")
	ErrAnalysisTooLarge   = errors.New("object over 1 MB")
	ErrAnalysisNotJSON    = errors.New("not a JSON object")
	errAnalysisNoResponse = errors.New("no body in the response")
)

// s3BucketNamePattern is S3's bucket naming rule (3–63 lower-case letters, digits,
// dots and hyphens).
var s3BucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// S3API is the part of the S3 client the analysis reader uses (*s3.Client).
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3AnalysisConfig configures an S3Analysis; zero values take the defaults.
type S3AnalysisConfig struct {
	// Buckets is TRACEBOT_ANALYSIS_BUCKETS: the buckets that may be read. Empty
	// means any bucket a call's s3_analysis_path names.
	Buckets []string
	// MaxBytes is the largest object read; default AnalysisMaxBytes.
	MaxBytes int64
	Logger   *slog.Logger
}

// S3Analysis reads stored analyses with S3 GetObject. It is safe for concurrent
// use; retries are the S3 client's own (the SDK's standard retryer).
type S3Analysis struct {
	api     S3API
	cfg     S3AnalysisConfig
	allowed map[string]bool // nil: any bucket
}

var _ AnalysisReader = (*S3Analysis)(nil)

// NewS3Analysis returns a reader over api. It does no I/O.
func NewS3Analysis(api S3API, cfg S3AnalysisConfig) *S3Analysis {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = AnalysisMaxBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &S3Analysis{api: api, cfg: cfg}
	for _, b := range cfg.Buckets {
		if a.allowed == nil {
			a.allowed = map[string]bool{}
		}
		a.allowed[b] = true
	}
	return a
}

// ParseS3Path splits "s3://bucket/key" into its bucket and key. It returns an error
// wrapping ErrAnalysisPath for anything else (no key, a bad bucket name, another
// scheme).
func ParseS3Path(path string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(path), "s3://")
	if ok {
		bucket, key, ok = strings.Cut(rest, "/")
	}
	if !ok || key == "" || !s3BucketNamePattern.MatchString(bucket) {
		return "", "", fmt.Errorf("%q: %w", openRouterClip(path, 80), ErrAnalysisPath)
	}
	return bucket, key, nil
}

// ReadAnalysis returns the JSON object at path (s3://bucket/key), decoded with
// numbers as json.Number. Errors all start "s3 <path>:" and wrap, for errors.Is and
// errors.As: ErrAnalysisPath, ErrBucketNotAllowed (no request is sent),
// ErrAnalysisTooLarge (by Content-Length, or after reading MaxBytes), ErrAnalysisNotJSON,
// the SDK's error (a smithy.APIError such as NoSuchKey or AccessDenied, after the
// client's retries), or ctx's error. None holds the object's content.
func (a *S3Analysis) ReadAnalysis(ctx context.Context, path string) (map[string]any, error) {
	bucket, key, err := a.locate(path)
	if err != nil {
		return nil, err
	}
	body, err := a.get(ctx, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("s3 %s: get object: %w", path, err)
	}
	obj, err := decodeAnalysis(body)
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", path, err)
	}
	return obj, nil
}

// ProbeAnalysis proves the object at path (s3://bucket/key) can be read, as
// `tracebot check` does with the newest call's analysis: a GetObject of its first
// byte only (Range bytes=0-0, which s3:GetObject alone allows), the byte
// discarded. An empty object, which S3 answers with 416 InvalidRange, is
// readable. Errors are ReadAnalysis's: ErrAnalysisPath, ErrBucketNotAllowed (no
// request is sent), the SDK's error (NoSuchKey, NoSuchBucket, AccessDenied …,
// after the client's retries) or ctx's error, all starting "s3 <path>:".
func (a *S3Analysis) ProbeAnalysis(ctx context.Context, path string) error {
	bucket, key, err := a.locate(path)
	if err != nil {
		return err
	}
	out, err := a.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String("bytes=0-0")},
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode() == "InvalidRange":
		return nil
	case err != nil:
		return fmt.Errorf("s3 %s: get object: %w", path, err)
	case out.Body != nil:
		_, err = io.Copy(io.Discard, io.LimitReader(out.Body, 1))
		_ = out.Body.Close()
		if err != nil {
			return fmt.Errorf("s3 %s: get object: read body: %w", path, err)
		}
	}
	return nil
}

// locate splits path into the bucket and key the reader may read.
func (a *S3Analysis) locate(path string) (bucket, key string, err error) {
	bucket, key, err = ParseS3Path(path)
	if err != nil {
		return "", "", fmt.Errorf("s3: %w", err)
	}
	if a.allowed != nil && !a.allowed[bucket] {
		return "", "", fmt.Errorf("s3 %s: %w", path, ErrBucketNotAllowed)
	}
	return bucket, key, nil
}

// get reads at most MaxBytes of the object, refusing a larger one.
func (a *S3Analysis) get(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := a.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)},
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if err != nil {
		return nil, err
	}
	if out.Body == nil {
		return nil, errAnalysisNoResponse
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength > a.cfg.MaxBytes {
		return nil, fmt.Errorf("%d bytes: %w", *out.ContentLength, ErrAnalysisTooLarge)
	}
	body, err := io.ReadAll(io.LimitReader(out.Body, a.cfg.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > a.cfg.MaxBytes {
		return nil, fmt.Errorf("more than %d bytes: %w", a.cfg.MaxBytes, ErrAnalysisTooLarge)
	}
	return body, nil
}

// decodeAnalysis decodes one JSON object, numbers kept as json.Number.
func decodeAnalysis(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("%w (%w)", ErrAnalysisNotJSON, answerSyntax(err))
	}
	if obj == nil {
		return nil, fmt.Errorf("%w (null)", ErrAnalysisNotJSON)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w (more after the object)", ErrAnalysisNotJSON)
	}
	return obj, nil
}

// AnalysisCause is the verdict's one-line cause for a failed read of path, without
// secrets or content: "S3 AccessDenied on s3://…", "S3 read of s3://… timed out".
func AnalysisCause(path string, err error) string {
	var api smithy.APIError
	switch {
	case errors.Is(err, ErrAnalysisPath):
		return fmt.Sprintf("s3_analysis_path %q is not an s3://bucket/key path", openRouterClip(path, 80))
	case errors.Is(err, ErrBucketNotAllowed):
		bucket, _, _ := ParseS3Path(path)
		return fmt.Sprintf("bucket %s is not in TRACEBOT_ANALYSIS_BUCKETS (%s not read)", bucket, path)
	case errors.Is(err, ErrAnalysisTooLarge):
		return fmt.Sprintf("the stored analysis %s is over 1 MB (not read)", path)
	case errors.Is(err, ErrAnalysisNotJSON):
		return fmt.Sprintf("the stored analysis %s is not a JSON object", path)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("S3 read of %s timed out", path)
	case errors.As(err, &api):
		return fmt.Sprintf("S3 %s on %s%s", api.ErrorCode(), path, awsAttempts(err))
	}
	if why, ok := awsUnreachable(err); ok {
		return fmt.Sprintf("S3 read of %s failed: %s", path, why)
	}
	return fmt.Sprintf("S3 read of %s failed: %s", path, errLine(err))
}
