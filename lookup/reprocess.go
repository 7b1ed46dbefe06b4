package lookup

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ReprocessRequest says which call to re-analyze and who asked.
type ReprocessRequest struct {
	SessionID   string // telephony_session_id
	StoreID     string
	RequestedBy string // the chat user id of whoever clicked
	Platform    string // "slack" or "lark"
}

// ReprocessResult identifies an accepted request at the target.
type ReprocessResult struct {
	Target string // as configured, e.g. "lambda:call-analytics-prod-reprocess"
	Kind   string // ReprocessLambda or ReprocessSQS
	// RequestID is the Lambda invocation's request id (x-amzn-RequestId) or the
	// SQS MessageId.
	RequestID string
}

// Reprocessor starts a re-analysis of one call.
type Reprocessor interface {
	// Request sends exactly one request to the target: it never sends a second one
	// that the target could accept as well (see LambdaReprocessor and
	// SQSReprocessor for the retry rules). On failure the error is a
	// *ReprocessError, wrapped in a *RetryableError when trying again later could
	// succeed; ReprocessRefused tells whether the target certainly did not take it.
	Request(ctx context.Context, r ReprocessRequest) (ReprocessResult, error)
}

// LambdaAPI is the part of the Lambda client a Reprocessor uses.
type LambdaAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// SQSAPI is the part of the SQS client a Reprocessor uses.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// reprocessTimeout bounds one Request, retries included, when the caller's
// context allows longer.
const reprocessTimeout = 20 * time.Second

var (
	_ Reprocessor = (*LambdaReprocessor)(nil)
	_ Reprocessor = (*SQSReprocessor)(nil)
)

// NewReprocessor returns the Reprocessor for TRACEBOT_REPROCESS_TARGET (target)
// and TRACEBOT_REPROCESS_PAYLOAD (payloadTemplate; "" means
// DefaultReprocessPayload): a *LambdaReprocessor for "lambda:<function name or
// ARN>" or an *SQSReprocessor for "sqs:<queue URL>". The client the target does
// not use may be nil. It does no I/O; an invalid target, a template that cannot
// produce valid JSON, or a missing client is an error naming the variable.
func NewReprocessor(target, payloadTemplate string, lambdaAPI LambdaAPI, sqsAPI SQSAPI) (Reprocessor, error) {
	t, err := ParseReprocessTarget(target)
	if err != nil {
		return nil, err
	}
	if payloadTemplate == "" {
		payloadTemplate = DefaultReprocessPayload
	}
	tmpl, err := parsePayloadTemplate(payloadTemplate)
	if err != nil {
		return nil, fmt.Errorf("TRACEBOT_REPROCESS_PAYLOAD: %w", err)
	}
	switch {
	case t.Kind == ReprocessLambda && lambdaAPI == nil:
		return nil, fmt.Errorf("TRACEBOT_REPROCESS_TARGET: %s: no Lambda client", t.Raw)
	case t.Kind == ReprocessLambda:
		return &LambdaReprocessor{target: t, payload: tmpl, api: lambdaAPI}, nil
	case sqsAPI == nil:
		return nil, fmt.Errorf("TRACEBOT_REPROCESS_TARGET: %s: no SQS client", t.Raw)
	}
	return &SQSReprocessor{target: t, payload: tmpl, api: sqsAPI}, nil
}

// LambdaReprocessor starts a re-analysis with an asynchronous Lambda Invoke
// (InvocationType Event): Lambda queues the event and answers 202 with a request id.
//
// Retries: an Event invocation carries no idempotency token, so a retried request
// that Lambda had already queued would start a second run. Request therefore lets
// the client's retryer retry only failures after which Lambda certainly did not
// queue the event: a throttling answer (TooManyRequestsException and the SDK's
// other throttle codes) or a connection that was never made. A timeout, a dropped
// connection or a 5xx answer is not retried: the event may have been queued, and
// the error says so (ReprocessRefused is false).
type LambdaReprocessor struct {
	target  ReprocessTarget
	payload payloadTemplate
	api     LambdaAPI
}

// Request invokes the function once with the rendered payload. See Reprocessor.
func (p *LambdaReprocessor) Request(ctx context.Context, r ReprocessRequest) (ReprocessResult, error) {
	payload, err := p.payload.render(r)
	if err != nil {
		return ReprocessResult{}, p.target.fail("invoke", err)
	}
	ctx, cancel := context.WithTimeout(ctx, reprocessTimeout)
	defer cancel()
	out, err := p.api.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(p.target.Function),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        payload,
	}, func(o *lambda.Options) { o.Retryer = unacceptedOnly(o.Retryer) })
	if err != nil {
		return ReprocessResult{}, p.target.fail("invoke", err)
	}
	requestID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if out.FunctionError != nil {
		return ReprocessResult{}, p.target.fail("invoke", &functionError{kind: *out.FunctionError, requestID: requestID})
	}
	return ReprocessResult{Target: p.target.Raw, Kind: ReprocessLambda, RequestID: requestID}, nil
}

// SQSReprocessor starts a re-analysis by sending the rendered payload to a queue.
//
// Retries: on a standard queue a retried SendMessage that SQS had already stored
// would deliver a second message, so Request retries only what LambdaReprocessor
// retries (throttling, no connection). On a FIFO queue each Request carries a
// fresh MessageDeduplicationId, so SQS drops the duplicates of the SDK's retries
// within its five-minute window and the client's retryer is used as it is; the
// message group is the session, so reprocesses of one call stay in order.
type SQSReprocessor struct {
	target  ReprocessTarget
	payload payloadTemplate
	api     SQSAPI
}

// Request sends one message. See Reprocessor.
func (p *SQSReprocessor) Request(ctx context.Context, r ReprocessRequest) (ReprocessResult, error) {
	payload, err := p.payload.render(r)
	if err != nil {
		return ReprocessResult{}, p.target.fail("send message", err)
	}
	in := &sqs.SendMessageInput{QueueUrl: aws.String(p.target.QueueURL), MessageBody: aws.String(string(payload))}
	optFns := []func(*sqs.Options){func(o *sqs.Options) { o.Retryer = unacceptedOnly(o.Retryer) }}
	if p.target.FIFO {
		in.MessageGroupId = aws.String(messageGroupID(r.SessionID))
		in.MessageDeduplicationId = aws.String(newDeduplicationID())
		optFns = nil
	}
	ctx, cancel := context.WithTimeout(ctx, reprocessTimeout)
	defer cancel()
	out, err := p.api.SendMessage(ctx, in, optFns...)
	if err != nil {
		return ReprocessResult{}, p.target.fail("send message", err)
	}
	return ReprocessResult{Target: p.target.Raw, Kind: ReprocessSQS, RequestID: aws.ToString(out.MessageId)}, nil
}

// messageGroupID is the FIFO message group of a session: the id itself when SQS
// allows it (1–128 printable ASCII characters), else its SHA-256.
func messageGroupID(sessionID string) string {
	ok := sessionID != "" && len(sessionID) <= 128
	for i := 0; ok && i < len(sessionID); i++ {
		ok = sessionID[i] >= '!' && sessionID[i] <= '~'
	}
	if ok {
		return sessionID
	}
	sum := sha256.Sum256([]byte(sessionID))
	return hex.EncodeToString(sum[:])
}

// newDeduplicationID returns a random FIFO deduplication id, one per Request.
func newDeduplicationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// unacceptedOnly narrows r so that it retries only failures after which the
// target certainly did not accept the request. r's limits, backoff and retry
// quota still apply.
func unacceptedOnly(r aws.Retryer) aws.Retryer {
	if r == nil {
		return aws.NopRetryer{}
	}
	v2, ok := r.(aws.RetryerV2)
	if !ok {
		v2 = retryerV2{r}
	}
	return unacceptedRetryer{v2}
}

type unacceptedRetryer struct{ aws.RetryerV2 }

// IsErrorRetryable reports whether the inner retryer would retry err and the
// target certainly did not accept the failed attempt.
func (r unacceptedRetryer) IsErrorRetryable(err error) bool {
	return notAccepted(err) && r.RetryerV2.IsErrorRetryable(err)
}

// retryerV2 adapts a Retryer that lacks GetAttemptToken.
type retryerV2 struct{ aws.Retryer }

func (r retryerV2) GetAttemptToken(context.Context) (func(error) error, error) {
	return r.GetInitialToken(), nil
}

// notAccepted reports whether err proves that the target did not accept the
// request: it answered with a throttling error, or no connection was made.
func notAccepted(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return isThrottle(apiErr.ErrorCode())
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

func isThrottle(code string) bool {
	_, ok := retry.DefaultThrottleErrorCodes[code]
	return ok
}

// ReprocessError is a reprocess request that failed.
type ReprocessError struct {
	Target string // as configured
	Op     string // "invoke" or "send message"
	// Refused is true when the target certainly did not accept the request: it
	// answered with an error, or the request never left. Nothing was started, so
	// the request may be made again. False means it failed in transit (timeout,
	// dropped connection, a 5xx answer): the target may have accepted it.
	Refused bool
	// Code is the target's error code ("AccessDeniedException",
	// "ResourceNotFoundException", "TooManyRequestsException"), or "" when it did
	// not answer with one.
	Code string
	// Message is the target's own explanation, or what went wrong on the way.
	Message string
	// RequestID is the AWS request id of the target's answer, when there was one.
	RequestID string
	Retryable bool // trying again later may succeed (throttling, 5xx, transit)
	Err       error
}

func (e *ReprocessError) Error() string {
	return flattenSpace(fmt.Sprintf("reprocess %s: %s: %v", e.Target, e.Op, e.Err))
}

func (e *ReprocessError) Unwrap() error { return e.Err }

// Cause is a one-line explanation for the thread ("AccessDeniedException: User:
// … is not authorized to perform: lambda:InvokeFunction on resource: …"), at
// most 300 characters. When the request may have been accepted it says so.
func (e *ReprocessError) Cause() string {
	switch {
	case e.Refused && e.Code != "":
		return causeLine(e.Code + ": " + e.Message)
	case e.Refused:
		return causeLine(e.Message)
	case e.Code != "":
		return causeLine(e.Code + ": " + e.Message + " (the request may have been accepted)")
	}
	return causeLine("no answer from the target (" + e.Message + "); the request may have been accepted")
}

// ReprocessRefused reports whether err is a reprocess failure after which the
// target certainly did not accept the request.
func ReprocessRefused(err error) bool {
	var e *ReprocessError
	return errors.As(err, &e) && e.Refused
}

// functionError is an answer with X-Amz-Function-Error set.
type functionError struct{ kind, requestID string }

func (e *functionError) Error() string {
	return fmt.Sprintf("function error %s (request id %s)", e.kind, e.requestID)
}

// fail classifies err into a *ReprocessError, wrapped in a *RetryableError when
// trying again later may help.
func (t ReprocessTarget) fail(op string, err error) error {
	re := &ReprocessError{Target: t.Raw, Op: op, Err: err}
	classifyReprocess(re, err)
	if re.Retryable {
		return &RetryableError{Err: re}
	}
	return re
}

// classifyReprocess fills in Refused, Retryable, Code and Message from err.
func classifyReprocess(re *ReprocessError, err error) {
	var (
		apiErr  smithy.APIError
		fnErr   *functionError
		tmplErr *payloadError
	)
	switch {
	case errors.As(err, &tmplErr):
		re.Refused, re.Message = true, err.Error()
	case errors.As(err, &fnErr):
		re.Refused, re.Message, re.RequestID = true, err.Error(), fnErr.requestID
	case errors.As(err, &apiErr):
		re.Code, re.Message = apiErr.ErrorCode(), apiErr.ErrorMessage()
		status, requestID := answerOf(err)
		re.RequestID = requestID
		re.Refused = isThrottle(re.Code) || status < 500 && apiErr.ErrorFault() != smithy.FaultServer
		re.Retryable = isThrottle(re.Code) || !re.Refused
	case notAccepted(err):
		re.Refused, re.Retryable, re.Message = true, true, "cannot connect: "+innermostError(err)
	default:
		re.Retryable, re.Message = true, innermostError(err)
	}
}

// answerOf is the HTTP status and AWS request id of the answer err came from,
// or 0 and "".
func answerOf(err error) (status int, requestID string) {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode(), re.ServiceRequestID()
	}
	var sre *smithyhttp.ResponseError
	if errors.As(err, &sre) {
		return sre.HTTPStatusCode(), ""
	}
	return 0, ""
}

// innermostError is the innermost error's text ("connection refused", "context
// deadline exceeded"), shorter than the SDK's operation error.
func innermostError(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// Reprocess target kinds.
const (
	ReprocessLambda = "lambda"
	ReprocessSQS    = "sqs"
)

// ReprocessTarget is a parsed TRACEBOT_REPROCESS_TARGET.
type ReprocessTarget struct {
	Raw  string // as configured
	Kind string // ReprocessLambda or ReprocessSQS
	// Function is what follows "lambda:", as Invoke's FunctionName takes it: a name,
	// name:qualifier, a partial ARN (account:function:name) or a full ARN.
	Function  string
	QueueURL  string // what follows "sqs:"
	Name      string // the function or queue name
	Qualifier string // the function version or alias, when given
	FIFO      bool   // the queue is a FIFO queue (name ends in ".fifo")
	// Region, Account and Partition are what the ARN or queue URL says; "" when it
	// does not say.
	Region, Account, Partition string
}

// ParseReprocessTarget parses "lambda:<function name or ARN>" or "sqs:<queue
// URL>". An error names TRACEBOT_REPROCESS_TARGET and says what is wrong.
func ParseReprocessTarget(target string) (ReprocessTarget, error) {
	kind, rest, _ := strings.Cut(strings.TrimSpace(target), ":")
	t := ReprocessTarget{Raw: strings.TrimSpace(target), Kind: kind}
	var err error
	switch kind {
	case ReprocessLambda:
		err = t.parseFunction(rest)
	case ReprocessSQS:
		err = t.parseQueueURL(rest)
	default:
		err = errors.New(`want "lambda:<function name or ARN>" or "sqs:<queue URL>"`)
	}
	if err != nil {
		return ReprocessTarget{}, fmt.Errorf("TRACEBOT_REPROCESS_TARGET %q: %w", target, err)
	}
	return t, nil
}

var (
	lambdaNameRE      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	lambdaQualifierRE = regexp.MustCompile(`^(\$LATEST|[A-Za-z0-9_-]{1,128})$`)
	awsAccountRE      = regexp.MustCompile(`^[0-9]{12}$`)
	awsRegionRE       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	queueNameRE       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,75}(\.fifo)?$|^[A-Za-z0-9_-]{1,80}$`)
	sqsHostRE         = regexp.MustCompile(`^(?:sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?)$`)
)

// parseFunction reads a function name, name:qualifier, partial ARN
// (account:function:name[:qualifier]) or full ARN
// (arn:partition:lambda:region:account:function:name[:qualifier]).
func (t *ReprocessTarget) parseFunction(s string) error {
	t.Function = s
	parts := strings.Split(s, ":")
	var name, qualifier []string
	switch {
	case parts[0] == "arn" && (len(parts) == 7 || len(parts) == 8):
		if !strings.HasPrefix(parts[1], "aws") || parts[2] != "lambda" || !awsRegionRE.MatchString(parts[3]) ||
			!awsAccountRE.MatchString(parts[4]) || parts[5] != "function" {
			return errors.New("not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)")
		}
		t.Partition, t.Region, t.Account = parts[1], parts[3], parts[4]
		name, qualifier = parts[6:7], parts[7:]
	case len(parts) == 3 || len(parts) == 4:
		if !awsAccountRE.MatchString(parts[0]) || parts[1] != "function" {
			return errors.New("not a partial function ARN (<account>:function:<name>)")
		}
		t.Account = parts[0]
		name, qualifier = parts[2:3], parts[3:]
	case len(parts) <= 2:
		name, qualifier = parts[:1], parts[1:]
	default:
		return errors.New("not a function name or ARN")
	}
	return t.setFunctionName(name[0], qualifier)
}

func (t *ReprocessTarget) setFunctionName(name string, qualifier []string) error {
	if !lambdaNameRE.MatchString(name) {
		return fmt.Errorf("function name %q: want 1-64 letters, digits, '-' or '_'", name)
	}
	t.Name = name
	if len(qualifier) == 0 {
		return nil
	}
	if !lambdaQualifierRE.MatchString(qualifier[0]) {
		return fmt.Errorf("function qualifier %q: want a version, an alias or $LATEST", qualifier[0])
	}
	t.Qualifier = qualifier[0]
	return nil
}

// parseQueueURL reads https://sqs.<region>.amazonaws.com/<account>/<queue> (or
// any http(s) host with that path, such as a local emulator).
func (t *ReprocessTarget) parseQueueURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("not a queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>)")
	}
	account, queue, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !ok || !awsAccountRE.MatchString(account) || !queueNameRE.MatchString(queue) {
		return fmt.Errorf("queue URL path %q: want /<12-digit account>/<queue name>", u.Path)
	}
	t.QueueURL, t.Name, t.Account = s, queue, account
	t.FIFO = strings.HasSuffix(queue, ".fifo")
	if m := sqsHostRE.FindStringSubmatch(u.Hostname()); m != nil {
		t.Region = m[1] + m[2]
	}
	return nil
}

// Resource is the ARN an IAM policy grants lambda:InvokeFunction or
// sqs:SendMessage on. The target's own region and account win; region and
// account fill in what it does not say, and "*" what neither says.
func (t ReprocessTarget) Resource(region, account string) string {
	region = cmp.Or(t.Region, region, "*")
	account = cmp.Or(t.Account, account, "*")
	partition := cmp.Or(t.Partition, partitionOf(region))
	if t.Kind == ReprocessSQS {
		return fmt.Sprintf("arn:%s:sqs:%s:%s:%s", partition, region, account, t.Name)
	}
	arn := fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", partition, region, account, t.Name)
	if t.Qualifier != "" {
		arn += ":" + t.Qualifier
	}
	return arn
}

// partitionOf is the AWS partition of a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// ReprocessTargetKind is ReprocessLambda or ReprocessSQS for a valid target, else "".
func ReprocessTargetKind(target string) string {
	t, err := ParseReprocessTarget(target)
	if err != nil {
		return ""
	}
	return t.Kind
}

// ReprocessResource is the ARN of the target for an IAM policy (see
// ReprocessTarget.Resource), or "" when the target is not valid: a function name
// becomes arn:aws:lambda:{region}:{account}:function:{name}, a queue URL
// https://sqs.{region}.amazonaws.com/{account}/{queue} becomes
// arn:aws:sqs:{region}:{account}:{queue}.
func ReprocessResource(target, region, account string) string {
	t, err := ParseReprocessTarget(target)
	if err != nil {
		return ""
	}
	return t.Resource(region, account)
}

// DefaultReprocessPayload is TRACEBOT_REPROCESS_PAYLOAD's default.
const DefaultReprocessPayload = `{"telephonySessionId":"{session_id}","requestedBy":"{requested_by}"}`

// payloadFields are the template's placeholders and the request values they take.
var payloadFields = map[string]func(ReprocessRequest) string{
	"session_id":   func(r ReprocessRequest) string { return r.SessionID },
	"store_id":     func(r ReprocessRequest) string { return r.StoreID },
	"requested_by": func(r ReprocessRequest) string { return r.RequestedBy },
	"platform":     func(r ReprocessRequest) string { return r.Platform },
}

// RenderPayload fills template's placeholders {session_id}, {store_id},
// {requested_by} and {platform} with r's values, JSON-escaped. The template is
// JSON whose placeholders sit inside strings; a placeholder outside a string, an
// unknown placeholder, or a template that is not valid JSON is an error. The
// result is valid JSON for any values, and pure ASCII: quotes, backslashes,
// control characters, "<", ">", "&" and all non-ASCII characters are \u escapes.
func RenderPayload(template string, r ReprocessRequest) ([]byte, error) {
	t, err := parsePayloadTemplate(template)
	if err != nil {
		return nil, err
	}
	return t.render(r)
}

// payloadError is a template or rendering problem: nothing was sent.
type payloadError struct{ msg string }

func (e *payloadError) Error() string { return e.msg }

func payloadErrorf(format string, args ...any) error {
	return &payloadError{msg: fmt.Sprintf(format, args...)}
}

// payloadTemplate is a parsed template: literal JSON text and placeholders, in
// order. It is immutable, so safe for concurrent use.
type payloadTemplate struct{ parts []payloadPart }

type payloadPart struct {
	literal string
	field   string // a payloadFields key when this part is a placeholder
}

// placeholderRE matches a placeholder-like "{name}" at the start of a string.
var placeholderRE = regexp.MustCompile(`^\{([a-z_]+)\}`)

// parsePayloadTemplate splits template into literals and placeholders, tracking
// JSON string boundaries so that only placeholders inside strings are filled, and
// checks that the template renders to valid JSON.
func parsePayloadTemplate(template string) (payloadTemplate, error) {
	var t payloadTemplate
	var lit strings.Builder
	inString := false
	for i := 0; i < len(template); i++ {
		c := template[i]
		if m := placeholderRE.FindStringSubmatch(template[i:]); m != nil {
			if err := checkPlaceholder(m[1], inString); err != nil {
				return payloadTemplate{}, err
			}
			if inString {
				t.parts = append(t.parts, payloadPart{literal: lit.String()}, payloadPart{field: m[1]})
				lit.Reset()
				i += len(m[0]) - 1
				continue
			}
		}
		lit.WriteByte(c)
		switch {
		case inString && c == '\\' && i+1 < len(template):
			i++
			lit.WriteByte(template[i])
		case c == '"':
			inString = !inString
		}
	}
	t.parts = append(t.parts, payloadPart{literal: lit.String()})
	return t, t.check()
}

// checkPlaceholder rejects unknown placeholders and known ones outside strings
// (filled there, a value could add JSON of its own). An unknown "{name}" outside a
// string is left alone: it is not valid JSON anyway, and check reports that.
func checkPlaceholder(name string, inString bool) error {
	_, known := payloadFields[name]
	switch {
	case known && !inString:
		return payloadErrorf("placeholder {%s} must be inside a JSON string, as in \"{%s}\"", name, name)
	case !known && inString:
		return payloadErrorf("unknown placeholder {%s}; want {session_id}, {store_id}, {requested_by} or {platform}", name)
	}
	return nil
}

// check renders the template with awkward values and requires valid JSON.
func (t payloadTemplate) check() error {
	probe := "\"\\\n\t</script>\u2028é🙂"
	_, err := t.render(ReprocessRequest{SessionID: probe, StoreID: probe, RequestedBy: probe, Platform: probe})
	return err
}

// render fills the placeholders with r's values, JSON-escaped.
func (t payloadTemplate) render(r ReprocessRequest) ([]byte, error) {
	var b []byte
	for _, p := range t.parts {
		b = append(b, p.literal...)
		if p.field != "" {
			b = appendJSONEscaped(b, payloadFields[p.field](r))
		}
	}
	if !json.Valid(b) {
		return nil, payloadErrorf("template is not valid JSON: %s", jsonSyntaxError(b))
	}
	return b, nil
}

// jsonSyntaxError says where b stops being JSON.
func jsonSyntaxError(b []byte) string {
	var v any
	err := json.Unmarshal(b, &v)
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// appendJSONEscaped appends s as the inside of a JSON string: pure ASCII, with
// '"', '\\', control characters, '<', '>', '&' and every non-ASCII rune as an
// escape (invalid UTF-8 becomes U+FFFD), so the result is safe in any transport
// and in HTML.
func appendJSONEscaped(b []byte, s string) []byte {
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r >= 0x7f:
			b = appendUnicodeEscape(b, r)
		default:
			b = append(b, byte(r))
		}
	}
	return b
}

// appendUnicodeEscape appends r as \uXXXX, or a surrogate pair beyond the BMP.
func appendUnicodeEscape(b []byte, r rune) []byte {
	if r > 0xffff {
		hi, lo := utf16.EncodeRune(r)
		return appendUnicodeEscape(appendUnicodeEscape(b, hi), lo)
	}
	return fmt.Appendf(b, `\u%04x`, r)
}

// flattenSpace collapses runs of white space, line breaks included, to one space.
func flattenSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// causeLine flattens s and cuts it to at most 300 characters.
func causeLine(s string) string {
	s = flattenSpace(s)
	if r := []rune(s); len(r) > 300 {
		s = string(r[:299]) + "…"
	}
	return s
}
