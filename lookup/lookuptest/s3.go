package lookuptest

// This file fakes Amazon S3's GetObject (and HeadObject) at the wire level: REST-XML,
// path-style addressing (GET /bucket/key), SigV4-signed requests, byte ranges
// (Range: bytes=first-last), and S3's XML error bodies, as the aws-sdk-go-v2 S3
// client speaks them.

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Request is one request the S3 fake received.
type S3Request struct {
	Method, Bucket, Key string
	Region              string // from the SigV4 credential scope
	Range               string // the Range header, "" when the whole object was asked for
}

// S3Server is an httptest server speaking S3's GetObject and HeadObject with
// path-style addressing. Unknown buckets answer NoSuchBucket, unknown keys
// NoSuchKey (404), denied ones AccessDenied (403), each as S3's XML error body. A
// GET with Range: bytes=first-last (or first-) answers 206 with that part, or 416
// InvalidRange when the object has no byte at first; another Range form is
// ignored (the whole object), as S3 does.
// All methods are safe for concurrent use.
type S3Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	objects  map[string][]byte // "bucket/key" → body
	buckets  map[string]bool
	denied   map[string]bool // "bucket" or "bucket/key"
	fault    *awsFakeFault
	latency  time.Duration
	chunked  bool
	requests []S3Request
}

// NewS3Server starts a fake S3, closed when the test ends.
func NewS3Server(tb testing.TB) *S3Server {
	tb.Helper()
	s := &S3Server{objects: map[string][]byte{}, buckets: map[string]bool{}, denied: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL, for a client's BaseEndpoint (AWS_ENDPOINT_URL_S3).
func (s *S3Server) URL() string { return s.srv.URL }

// Client returns a real S3 client for region aimed at the fake: path-style, static
// credentials, the SDK's standard retries without backoff delays.
func (s *S3Server) Client(tb testing.TB, region string, optFns ...func(*s3.Options)) *s3.Client {
	tb.Helper()
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDS3FAKE", "s3-fake-secret", ""),
		HTTPClient:   s.srv.Client(),
		Retryer:      awsFakeRetryer(),

		DisableLogOutputChecksumValidationSkipped: true,
	}, optFns...)
}

// Put stores body at s3://bucket/key (creating the bucket).
func (s *S3Server) Put(bucket, key string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[bucket] = true
	s.objects[bucket+"/"+key] = append([]byte(nil), body...)
}

// PutPath stores body at an "s3://bucket/key" path.
func (s *S3Server) PutPath(tb testing.TB, path string, body []byte) {
	tb.Helper()
	bucket, key, ok := strings.Cut(strings.TrimPrefix(path, "s3://"), "/")
	if !ok || !strings.HasPrefix(path, "s3://") {
		tb.Fatalf("lookuptest: %q is not an s3:// path", path)
	}
	s.Put(bucket, key, body)
}

// Delete removes the object at an "s3://bucket/key" path (the bucket stays).
func (s *S3Server) Delete(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, strings.TrimPrefix(path, "s3://"))
}

// CreateBucket makes bucket exist with no objects.
func (s *S3Server) CreateBucket(bucket string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[bucket] = true
}

// Deny makes every request for bucket ("bucket") or one object ("bucket/key")
// answer 403 AccessDenied, as S3 does for a principal without s3:GetObject.
func (s *S3Server) Deny(bucketOrObject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[bucketOrObject] = true
}

// Fail makes the next times requests (every one when times <= 0) answer status with
// S3 error code (e.g. 500 InternalError, 503 SlowDown).
func (s *S3Server) Fail(code string, status, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = newAWSFakeFault(code, status, times)
}

// SetLatency delays every answer by d (cut short when the client goes away).
func (s *S3Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetChunked makes object bodies stream without a Content-Length, so a reader
// cannot refuse a large object before reading it.
func (s *S3Server) SetChunked(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunked = on
}

// Requests returns every request received, in order.
func (s *S3Server) Requests() []S3Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]S3Request(nil), s.requests...)
}

// s3Error is S3's XML error body.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Key       string   `xml:"Key,omitempty"`
	Bucket    string   `xml:"BucketName,omitempty"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
	status    int
}

func (s *S3Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	req, e := s3ParseRequest(r)
	s.mu.Lock()
	s.requests = append(s.requests, req)
	latency := s.latency
	s.mu.Unlock()
	awsFakeSleep(r, latency)
	if e == nil {
		e = s.refusal(req)
	}
	reqID := strings.ToUpper(strings.ReplaceAll(awsFakeUUID(), "-", ""))[:16]
	w.Header().Set("x-amz-request-id", reqID)
	w.Header().Set("x-amz-id-2", "fake-host-"+reqID)
	if e != nil {
		s3WriteError(w, r, e, reqID)
		return
	}
	s.writeObject(w, r, req)
}

// s3ParseRequest reads a path-style GET/HEAD /bucket/key and its SigV4 scope.
func s3ParseRequest(r *http.Request) (S3Request, *s3Error) {
	req := S3Request{Method: r.Method, Region: awsFakeCredentialRegion(r.Header.Get("Authorization")), Range: r.Header.Get("Range")}
	path, err := url.PathUnescape(r.URL.EscapedPath())
	if err != nil {
		return req, &s3Error{Code: "InvalidURI", Message: "Couldn't parse the specified URI.", status: 400}
	}
	req.Bucket, req.Key, _ = strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch {
	case req.Region == "" || !strings.Contains(r.Header.Get("Authorization"), "/s3/aws4_request"):
		return req, &s3Error{Code: "AccessDenied", Message: "Anonymous access is denied (no SigV4 s3 signature).", status: 403}
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		return req, &s3Error{Code: "MethodNotAllowed", Message: "The specified method is not allowed against this resource.", status: 405}
	case req.Bucket == "" || req.Key == "":
		return req, &s3Error{Code: "InvalidRequest", Message: "the fake serves path-style GET /bucket/key only", status: 400}
	}
	return req, nil
}

// refusal is the error a request meets before its object is looked at, if any.
func (s *S3Server) refusal(req S3Request) *s3Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.fault.take(); f != nil {
		return &s3Error{Code: f.errType, Message: s3Message(f.errType), status: f.status}
	}
	switch {
	case s.denied[req.Bucket] || s.denied[req.Bucket+"/"+req.Key]:
		return &s3Error{Code: "AccessDenied", Message: "Access Denied", status: 403}
	case !s.buckets[req.Bucket]:
		return &s3Error{Code: "NoSuchBucket", Message: "The specified bucket does not exist", Bucket: req.Bucket, status: 404}
	}
	body, ok := s.objects[req.Bucket+"/"+req.Key]
	if !ok {
		return &s3Error{Code: "NoSuchKey", Message: "The specified key does not exist.", Key: req.Key, status: 404}
	}
	if first, _, ok := s3Range(req.Range); ok && req.Method == http.MethodGet && first >= len(body) {
		return &s3Error{Code: "InvalidRange", Message: "The requested range is not satisfiable", status: http.StatusRequestedRangeNotSatisfiable}
	}
	return nil
}

func s3Message(code string) string {
	switch code {
	case "InternalError":
		return "We encountered an internal error. Please try again."
	case "SlowDown":
		return "Please reduce your request rate."
	case "ServiceUnavailable":
		return "Service is unable to handle request."
	}
	return code
}

func (s *S3Server) writeObject(w http.ResponseWriter, r *http.Request, req S3Request) {
	s.mu.Lock()
	body, chunked := s.objects[req.Bucket+"/"+req.Key], s.chunked
	s.mu.Unlock()
	sum := md5.Sum(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	h.Set("Last-Modified", time.Date(2026, 5, 20, 17, 15, 30, 0, time.UTC).Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	if !chunked {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	status := http.StatusOK
	if first, last, ok := s3Range(req.Range); ok && r.Method == http.MethodGet { // refusal saw first is in the object
		last = min(last, len(body)-1)
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(body)))
		body, status = body[first:last+1], http.StatusPartialContent
		if !chunked {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if chunked {
		for chunk := range slices.Chunk(body, 64<<10) {
			_, _ = w.Write(chunk)
			http.NewResponseController(w).Flush()
		}
		return
	}
	_, _ = w.Write(body)
}

// s3Range reads a single "bytes=first-last" or "bytes=first-" range; ok is
// false for no range or any other form.
func s3Range(header string) (first, last int, ok bool) {
	spec, found := strings.CutPrefix(header, "bytes=")
	a, b, dash := strings.Cut(spec, "-")
	if !found || !dash {
		return 0, 0, false
	}
	first, err := strconv.Atoi(a)
	if err != nil || first < 0 {
		return 0, 0, false
	}
	if b == "" {
		return first, int(^uint(0) >> 1), true
	}
	last, err = strconv.Atoi(b)
	if err != nil || last < first {
		return 0, 0, false
	}
	return first, last, true
}

func s3WriteError(w http.ResponseWriter, r *http.Request, e *s3Error, reqID string) {
	e.RequestID, e.HostID = reqID, "fake-host-"+reqID
	body, err := xml.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("lookuptest: encode S3 error: %v", err))
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	if r.Method == http.MethodHead { // S3 sends no body for HEAD
		return
	}
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}
