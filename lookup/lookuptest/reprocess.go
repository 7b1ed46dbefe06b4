package lookuptest

// This file fakes the two Reprocess targets at the wire level: AWS Lambda's
// REST-JSON Invoke and Amazon SQS's AWS JSON 1.0 SendMessage, as the aws-sdk-go-v2
// clients in go.mod speak them.

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// LambdaAccountID is the account in the ARNs the Lambda fake prints.
const LambdaAccountID = "123456789012"

// LambdaMaxAsyncPayload is the largest Event payload Lambda accepts (1 MiB).
const LambdaMaxAsyncPayload = 1 << 20

// LambdaInvocation is one Invoke request the fake accepted.
type LambdaInvocation struct {
	Region         string // from the SigV4 credential scope
	FunctionName   string // the {FunctionName} label as sent (name, name:qualifier, or ARN)
	Qualifier      string // the Qualifier query parameter
	InvocationType string // X-Amz-Invocation-Type; "RequestResponse" when absent
	Payload        []byte
	RequestID      string // the x-amzn-RequestId the fake answered with
}

// LambdaServer is an httptest server speaking Lambda's Invoke
// (POST /2015-03-31/functions/{FunctionName}/invocations). Event invocations are
// answered 202 with an x-amzn-RequestId, as Lambda does once the event is queued.
// Every function exists unless AddFunction names some. All methods are safe for
// concurrent use.
type LambdaServer struct {
	srv *httptest.Server

	mu            sync.Mutex
	functions     map[string]bool // nil: every function exists
	invocations   []LambdaInvocation
	requests      int
	fault         *awsFakeFault
	disconnects   int
	latency       time.Duration
	functionError string
	code          map[[2]string]LambdaFunction // (region, name) → GetFunction's answer
	getFault      map[string]*awsFakeFault     // region → injected GetFunction failure
	gets          []LambdaGet
}

// NewLambdaServer starts a fake Lambda API, closed when the test ends.
func NewLambdaServer(tb testing.TB) *LambdaServer {
	tb.Helper()
	s := &LambdaServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL, for a client's BaseEndpoint.
func (s *LambdaServer) URL() string { return s.srv.URL }

// Client returns a Lambda client for region us-east-1 that talks to the fake with
// static credentials. It keeps the SDK's standard retry rules (3 attempts, the
// default retryable errors) but without backoff delays, so tests stay fast and
// still see every retry the SDK would make; optFns adjust it further.
func (s *LambdaServer) Client(tb testing.TB, optFns ...func(*lambda.Options)) *lambda.Client {
	tb.Helper()
	return lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLAMBDAFAKE", "lambda-fake-secret", ""),
		HTTPClient:   s.srv.Client(),
		Retryer:      awsFakeRetryer(),
	}, optFns...)
}

// AddFunction declares functions that exist; once any is declared, invoking any
// other answers 404 ResourceNotFoundException.
func (s *LambdaServer) AddFunction(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.functions == nil {
		s.functions = map[string]bool{}
	}
	for _, n := range names {
		s.functions[n] = true
	}
}

// Fail answers the next times Invoke requests with an error of type errType
// (such as "AccessDeniedException" 403, "ResourceNotFoundException" 404 or
// "TooManyRequestsException" 429) and HTTP status; times <= 0 fails every
// request. A failed request is not accepted: it is not recorded as an invocation.
func (s *LambdaServer) Fail(errType string, status, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = newAWSFakeFault(errType, status, times)
}

// Disconnect makes the next times Invoke requests be accepted and recorded, and
// then the connection closed without an answer: the caller cannot tell whether
// the event was queued, as when the network fails after Lambda took it.
func (s *LambdaServer) Disconnect(times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disconnects = times
}

// SetLatency delays every answer by d, after the invocation was recorded.
func (s *LambdaServer) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetFunctionError makes accepted invocations answer with X-Amz-Function-Error set
// to v (Lambda sets it for synchronous invocations whose function failed).
func (s *LambdaServer) SetFunctionError(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.functionError = v
}

// Invocations returns the accepted invocations in arrival order.
func (s *LambdaServer) Invocations() []LambdaInvocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.invocations)
	for i := range out {
		out[i].Payload = slices.Clone(out[i].Payload)
	}
	return out
}

// Requests is how many requests arrived, refused, malformed and disconnected
// ones included.
func (s *LambdaServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *LambdaServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	if r.Method == http.MethodGet {
		s.serveGetFunction(w, r)
		return
	}
	inv, ferr := lambdaParseInvoke(r)
	if ferr == nil {
		ferr = s.admit(&inv)
	}
	if ferr != nil {
		lambdaWriteError(w, ferr, inv)
		return
	}
	disconnect, latency, fnErr := s.accept(inv)
	awsFakeSleep(r, latency)
	if disconnect {
		awsFakeHangUp(w)
		return
	}
	w.Header().Set("X-Amzn-Requestid", inv.RequestID)
	if fnErr != "" {
		w.Header().Set("X-Amz-Function-Error", fnErr)
	}
	lambdaWriteSuccess(w, inv.InvocationType)
}

// admit decides whether a well-formed request is refused.
func (s *LambdaServer) admit(inv *LambdaInvocation) *awsFakeError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fault.take(); err != nil {
		return err
	}
	name, _ := lambdaBaseName(inv.FunctionName)
	if s.functions != nil && !s.functions[name] {
		return &awsFakeError{errType: "ResourceNotFoundException", status: http.StatusNotFound}
	}
	return nil
}

// accept records an admitted invocation and returns how to answer it.
func (s *LambdaServer) accept(inv LambdaInvocation) (disconnect bool, latency time.Duration, fnErr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invocations = append(s.invocations, inv)
	if s.disconnects > 0 {
		s.disconnects--
		disconnect = true
	}
	return disconnect, s.latency, s.functionError
}

// lambdaParseInvoke reads an Invoke request; a malformed one is refused the way
// Lambda refuses it.
func lambdaParseInvoke(r *http.Request) (LambdaInvocation, *awsFakeError) {
	inv := LambdaInvocation{
		Region:         awsFakeCredentialRegion(r.Header.Get("Authorization")),
		Qualifier:      r.URL.Query().Get("Qualifier"),
		InvocationType: r.Header.Get("X-Amz-Invocation-Type"),
		RequestID:      awsFakeUUID(),
	}
	if inv.InvocationType == "" {
		inv.InvocationType = "RequestResponse"
	}
	name, ok := lambdaPathFunction(r.URL.EscapedPath())
	if r.Method != http.MethodPost || !ok {
		return inv, &awsFakeError{errType: "UnknownOperationException", status: http.StatusNotFound,
			message: "Unknown operation " + r.Method + " " + r.URL.Path}
	}
	inv.FunctionName = name
	if inv.Region == "" {
		return inv, &awsFakeError{errType: "MissingAuthenticationTokenException", status: http.StatusForbidden,
			message: "Missing Authentication Token"}
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, LambdaMaxAsyncPayload+1))
	if err != nil {
		return inv, &awsFakeError{errType: "InvalidRequestContentException", status: http.StatusBadRequest,
			message: "Could not read request body: " + err.Error()}
	}
	inv.Payload = payload
	return inv, lambdaCheckInvoke(inv)
}

// lambdaCheckInvoke applies Lambda's own checks on an invocation.
func lambdaCheckInvoke(inv LambdaInvocation) *awsFakeError {
	switch inv.InvocationType {
	case "Event", "RequestResponse", "DryRun":
	default:
		return &awsFakeError{errType: "InvalidParameterValueException", status: http.StatusBadRequest,
			message: "1 validation error detected: Value '" + inv.InvocationType + "' at 'invocationType' failed to satisfy constraint"}
	}
	if _, ok := lambdaBaseName(inv.FunctionName); !ok {
		return &awsFakeError{errType: "ValidationException", status: http.StatusBadRequest,
			message: "1 validation error detected: Value '" + inv.FunctionName + "' at 'functionName' failed to satisfy constraint"}
	}
	if len(inv.Payload) > LambdaMaxAsyncPayload {
		return &awsFakeError{errType: "RequestTooLargeException", status: http.StatusRequestEntityTooLarge,
			message: "Request must be smaller than 1048576 bytes for the InvokeFunction operation"}
	}
	if len(inv.Payload) > 0 && !json.Valid(inv.Payload) {
		return &awsFakeError{errType: "InvalidRequestContentException", status: http.StatusBadRequest,
			message: "Could not parse request body into json: Unexpected character"}
	}
	return nil
}

// lambdaPathFunction returns the unescaped {FunctionName} of an Invoke path.
func lambdaPathFunction(escapedPath string) (string, bool) {
	rest, ok := strings.CutPrefix(escapedPath, "/2015-03-31/functions/")
	if !ok {
		return "", false
	}
	label, ok := strings.CutSuffix(rest, "/invocations")
	if !ok || label == "" || strings.Contains(label, "/") {
		return "", false
	}
	name, err := url.PathUnescape(label)
	return name, err == nil
}

// lambdaBaseName returns the function name inside a name, name:qualifier, partial
// ARN (account:function:name) or full ARN.
func lambdaBaseName(s string) (string, bool) {
	parts := strings.Split(s, ":")
	var name string
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function":
		name = parts[6]
	case len(parts) >= 3 && parts[1] == "function":
		name = parts[2]
	case len(parts) <= 2:
		name = parts[0]
	}
	valid := name != "" && len(name) <= 64 && strings.IndexFunc(name, func(r rune) bool {
		return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0
	return name, valid
}

func lambdaWriteSuccess(w http.ResponseWriter, invocationType string) {
	switch invocationType {
	case "Event":
		w.WriteHeader(http.StatusAccepted)
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "null")
	}
}

// lambdaWriteError answers in Lambda's REST-JSON error shape: the type in
// X-Amzn-ErrorType, {"Type": "User"|"Service", "message": …} in the body.
func lambdaWriteError(w http.ResponseWriter, e *awsFakeError, inv LambdaInvocation) {
	body := map[string]string{"Type": "User", "message": e.message}
	if e.status >= 500 {
		body["Type"] = "Service"
	}
	if body["message"] == "" {
		body["message"] = lambdaErrorMessage(e.errType, inv)
	}
	if e.errType == "TooManyRequestsException" {
		body["Reason"] = "ConcurrentInvocationLimitExceeded"
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", e.errType)
	w.Header().Set("X-Amzn-Requestid", inv.RequestID)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(body)
}

func lambdaErrorMessage(errType string, inv LambdaInvocation) string {
	name, _ := lambdaBaseName(inv.FunctionName)
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", inv.Region, LambdaAccountID, name)
	switch errType {
	case "ResourceNotFoundException":
		return "Function not found: " + arn
	case "AccessDeniedException":
		return fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/tracebot/tracebot is not authorized to perform: "+
			"lambda:InvokeFunction on resource: %s because no identity-based policy allows the "+
			"lambda:InvokeFunction action", LambdaAccountID, arn)
	case "TooManyRequestsException":
		return "Rate Exceeded."
	case "ServiceException":
		return "An error occurred and the request cannot be processed."
	}
	return errType
}

// SQSAccountID is the account in the queue URLs the SQS fake hands out.
const SQSAccountID = "123456789012"

// SQSMaxMessageSize is the largest message body SQS accepts (1 MiB).
const SQSMaxMessageSize = 1 << 20

// sqsDedupWindow is how long a FIFO queue remembers a deduplication id.
const sqsDedupWindow = 5 * time.Minute

// SQSMessage is one message a queue of the fake accepted.
type SQSMessage struct {
	Region          string // from the SigV4 credential scope
	QueueURL        string
	Body            string
	MessageID       string
	GroupID         string // FIFO only
	DeduplicationID string // FIFO only
	SequenceNumber  string // FIFO only
}

// SQSServer is an httptest server speaking SQS's AWS JSON 1.0 protocol
// (X-Amz-Target: AmazonSQS.SendMessage) for SendMessage. It answers with a
// MessageId and the MD5OfMessageBody the SDK checks. A queue whose name ends in
// ".fifo" requires a MessageGroupId and a MessageDeduplicationId and drops a
// message whose deduplication id it saw in the last five minutes, answering with
// the first message's id, as SQS does. Every queue URL exists unless AddQueue
// names some. All methods are safe for concurrent use.
type SQSServer struct {
	srv *httptest.Server

	mu          sync.Mutex
	queues      map[string]bool // nil: every queue exists
	messages    []SQSMessage
	dedup       map[[2]string]sqsDedupEntry // (queue URL, dedup id) → first message
	requests    int
	fault       *awsFakeFault
	disconnects int
	latency     time.Duration
	sequence    int64
}

type sqsDedupEntry struct {
	msg SQSMessage
	at  time.Time
}

// NewSQSServer starts a fake SQS API, closed when the test ends.
func NewSQSServer(tb testing.TB) *SQSServer {
	tb.Helper()
	s := &SQSServer{dedup: map[[2]string]sqsDedupEntry{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL, for a client's BaseEndpoint.
func (s *SQSServer) URL() string { return s.srv.URL }

// Client returns an SQS client for region us-east-1 that talks to the fake, with
// static credentials and the SDK's standard retry rules without backoff delays
// (see LambdaServer.Client); optFns adjust it further.
func (s *SQSServer) Client(tb testing.TB, optFns ...func(*sqs.Options)) *sqs.Client {
	tb.Helper()
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSQSFAKE", "sqs-fake-secret", ""),
		HTTPClient:   s.srv.Client(),
		Retryer:      awsFakeRetryer(),
	}, optFns...)
}

// SQSQueueURL is the URL SQS gives queue name in region, in the fake's account.
func SQSQueueURL(region, name string) string {
	return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, SQSAccountID, name)
}

// AddQueue declares that the queue name exists in us-east-1 and returns its URL;
// once any queue is declared, sending to any other answers QueueDoesNotExist.
func (s *SQSServer) AddQueue(name string) string {
	u := SQSQueueURL("us-east-1", name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues == nil {
		s.queues = map[string]bool{}
	}
	s.queues[u] = true
	return u
}

// Fail answers the next times SendMessage requests with an error of type errType
// (such as "QueueDoesNotExist", "AccessDeniedException", "RequestThrottled") and
// HTTP status; times <= 0 fails every request. A failed request stores nothing.
func (s *SQSServer) Fail(errType string, status, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = newAWSFakeFault(errType, status, times)
}

// Disconnect makes the next times SendMessage requests be accepted and stored,
// and then the connection closed without an answer.
func (s *SQSServer) Disconnect(times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disconnects = times
}

// SetLatency delays every answer by d, after the message was stored.
func (s *SQSServer) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Messages returns the stored messages in arrival order (FIFO duplicates that
// were dropped are not included).
func (s *SQSServer) Messages() []SQSMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Requests is how many requests arrived, refused, malformed, deduplicated and
// disconnected ones included.
func (s *SQSServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// sqsSendMessageInput is SendMessage's JSON request body (the fields the fake reads).
type sqsSendMessageInput struct {
	QueueUrl               string
	MessageBody            string
	MessageGroupId         string
	MessageDeduplicationId string
	DelaySeconds           int
}

func (s *SQSServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	msg, ferr := sqsParseSendMessage(r)
	if ferr == nil {
		ferr = s.admit(msg)
	}
	if ferr != nil {
		sqsWriteError(w, ferr)
		return
	}
	stored, disconnect, latency := s.store(msg)
	awsFakeSleep(r, latency)
	if disconnect {
		awsFakeHangUp(w)
		return
	}
	sqsWriteSuccess(w, stored)
}

// admit decides whether a well-formed request is refused.
func (s *SQSServer) admit(msg SQSMessage) *awsFakeError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fault.take(); err != nil {
		return err
	}
	if s.queues != nil && !s.queues[msg.QueueURL] {
		return &awsFakeError{errType: "QueueDoesNotExist", status: http.StatusBadRequest}
	}
	return nil
}

// store keeps an admitted message, or finds the one it duplicates, and returns how
// to answer.
func (s *SQSServer) store(msg SQSMessage) (stored SQSMessage, disconnect bool, latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disconnects > 0 {
		s.disconnects--
		disconnect = true
	}
	key := [2]string{msg.QueueURL, msg.DeduplicationID}
	if prev, ok := s.dedup[key]; ok && msg.DeduplicationID != "" && time.Since(prev.at) < sqsDedupWindow {
		return prev.msg, disconnect, s.latency
	}
	msg.MessageID = awsFakeUUID()
	if msg.DeduplicationID != "" {
		s.sequence++
		msg.SequenceNumber = fmt.Sprintf("1880%016d", s.sequence)
		s.dedup[key] = sqsDedupEntry{msg: msg, at: time.Now()}
	}
	s.messages = append(s.messages, msg)
	return msg, disconnect, s.latency
}

// sqsParseSendMessage reads a SendMessage request; a malformed one is refused the
// way SQS refuses it.
func sqsParseSendMessage(r *http.Request) (SQSMessage, *awsFakeError) {
	if target := r.Header.Get("X-Amz-Target"); r.Method != http.MethodPost || target != "AmazonSQS.SendMessage" {
		return SQSMessage{}, &awsFakeError{errType: "UnsupportedOperation", status: http.StatusBadRequest,
			message: "The fake only implements AmazonSQS.SendMessage, got " + r.Method + " " + target}
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-amz-json-1.0" {
		return SQSMessage{}, &awsFakeError{errType: "InvalidParameterValue", status: http.StatusBadRequest,
			message: "Unsupported content type " + ct}
	}
	var in sqsSendMessageInput
	if err := json.NewDecoder(io.LimitReader(r.Body, 2*SQSMaxMessageSize)).Decode(&in); err != nil {
		return SQSMessage{}, &awsFakeError{errType: "InvalidParameterValue", status: http.StatusBadRequest,
			message: "Could not parse request body: " + err.Error()}
	}
	msg := SQSMessage{
		Region:          awsFakeCredentialRegion(r.Header.Get("Authorization")),
		QueueURL:        in.QueueUrl,
		Body:            in.MessageBody,
		GroupID:         in.MessageGroupId,
		DeduplicationID: in.MessageDeduplicationId,
	}
	if msg.Region == "" {
		return msg, &awsFakeError{errType: "MissingAuthenticationToken", status: http.StatusForbidden,
			message: "Request is missing Authentication Token"}
	}
	return msg, sqsCheckMessage(msg)
}

// sqsCheckMessage applies SQS's own checks on a message.
func sqsCheckMessage(msg SQSMessage) *awsFakeError {
	invalid := func(errType, text string) *awsFakeError {
		return &awsFakeError{errType: errType, status: http.StatusBadRequest, message: text}
	}
	switch {
	case msg.QueueURL == "":
		return invalid("MissingParameter", "The request must contain the parameter QueueUrl.")
	case msg.Body == "":
		return invalid("MissingParameter", "The request must contain the parameter MessageBody.")
	case len(msg.Body) > SQSMaxMessageSize:
		return invalid("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.")
	case !sqsValidBody(msg.Body):
		return invalid("InvalidMessageContents", "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
	}
	if !strings.HasSuffix(msg.QueueURL, ".fifo") {
		if msg.GroupID != "" || msg.DeduplicationID != "" {
			return invalid("InvalidParameterValue", "The request include parameter that is not valid for this queue type")
		}
		return nil
	}
	switch {
	case msg.GroupID == "":
		return invalid("MissingParameter", "The request must contain the parameter MessageGroupId.")
	case msg.DeduplicationID == "":
		return invalid("InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
	}
	return nil
}

// sqsValidBody reports whether body holds only the characters SQS allows.
func sqsValidBody(body string) bool {
	if !utf8.ValidString(body) {
		return false
	}
	for _, r := range body {
		ok := r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF ||
			r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !ok {
			return false
		}
	}
	return true
}

func sqsWriteSuccess(w http.ResponseWriter, msg SQSMessage) {
	sum := md5.Sum([]byte(msg.Body))
	out := map[string]string{"MessageId": msg.MessageID, "MD5OfMessageBody": hex.EncodeToString(sum[:])}
	if msg.SequenceNumber != "" {
		out["SequenceNumber"] = msg.SequenceNumber
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", awsFakeUUID())
	_ = json.NewEncoder(w).Encode(out)
}

// sqsQueryErrorCodes are the legacy (Query protocol) codes SQS's JSON protocol
// still reports in x-amzn-query-error, by error type.
var sqsQueryErrorCodes = map[string]string{
	"QueueDoesNotExist":     "AWS.SimpleQueueService.NonExistentQueue",
	"AccessDeniedException": "AccessDenied",
	"UnsupportedOperation":  "AWS.SimpleQueueService.UnsupportedOperation",
}

// sqsWriteError answers in SQS's AWS JSON 1.0 error shape, with the query-compatible
// x-amzn-query-error header "Code;Sender|Receiver".
func sqsWriteError(w http.ResponseWriter, e *awsFakeError) {
	message := e.message
	if message == "" {
		message = sqsErrorMessage(e.errType)
	}
	code, fault := e.errType, "Sender"
	if c, ok := sqsQueryErrorCodes[e.errType]; ok {
		code = c
	}
	if e.status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
	w.Header().Set("X-Amzn-Requestid", awsFakeUUID())
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.errType, "message": message})
}

func sqsErrorMessage(errType string) string {
	switch errType {
	case "QueueDoesNotExist":
		return "The specified queue does not exist."
	case "AccessDeniedException":
		return "User: arn:aws:sts::" + SQSAccountID + ":assumed-role/tracebot/tracebot is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:" + SQSAccountID + ":reprocess because no identity-based policy allows the sqs:sendmessage action"
	case "RequestThrottled":
		return "Request is throttled."
	}
	return errType
}

// awsFakeError is a refusal the Lambda or SQS fake answers with.
type awsFakeError struct {
	errType string
	status  int
	message string // "" → the service's usual message for errType
}

// awsFakeFault is an injected refusal and how many more requests it hits (< 0:
// every one).
type awsFakeFault struct {
	awsFakeError
	times int
}

func newAWSFakeFault(errType string, status, times int) *awsFakeFault {
	if times <= 0 {
		times = -1
	}
	return &awsFakeFault{awsFakeError: awsFakeError{errType: errType, status: status}, times: times}
}

// take returns the fault's error for one more request, or nil when it is spent.
// The caller holds the server's lock.
func (f *awsFakeFault) take() *awsFakeError {
	if f == nil || f.times == 0 {
		return nil
	}
	if f.times > 0 {
		f.times--
	}
	e := f.awsFakeError
	return &e
}

// awsFakeRetryer is the SDK's standard retryer without backoff delays.
func awsFakeRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

// awsFakeCredentialRegion reads the region from a SigV4 Authorization header
// ("… Credential=AKID/date/region/service/aws4_request, …").
func awsFakeCredentialRegion(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[2]
}

// awsFakeSleep waits d or until the client gives up.
func awsFakeSleep(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// awsFakeHangUp closes the connection without writing an answer.
func awsFakeHangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection without a response
	}
	_ = conn.Close()
}

// awsFakeUUID returns a random version-4 UUID, like AWS request and message ids.
func awsFakeUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
