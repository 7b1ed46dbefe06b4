package lookup

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
)

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
	payload := p.payload.render(r)
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
	payload := p.payload.render(r)
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
