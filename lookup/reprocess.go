package lookup

import (
	"context"
	"errors"
	"fmt"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
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
