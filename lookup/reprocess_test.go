package lookup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// awkward is a requested_by value that breaks naive templating: quotes,
// backslashes, newlines, a closing script tag, a line separator, non-ASCII and a
// character outside the BMP.
const awkward = "Zoë \"Z\" O'Neil\\\n</script>\u2028王🙂"

func TestParseReprocessTarget(t *testing.T) {
	tests := []struct {
		name   string
		target string
		want   lookup.ReprocessTarget
	}{
		{
			name:   "function name",
			target: "lambda:call-analytics-prod-reprocess",
			want: lookup.ReprocessTarget{Raw: "lambda:call-analytics-prod-reprocess", Kind: "lambda",
				Function: "call-analytics-prod-reprocess", Name: "call-analytics-prod-reprocess"},
		},
		{
			name:   "name and alias",
			target: " lambda:reprocess:live ",
			want:   lookup.ReprocessTarget{Raw: "lambda:reprocess:live", Kind: "lambda", Function: "reprocess:live", Name: "reprocess", Qualifier: "live"},
		},
		{
			name:   "partial ARN",
			target: "lambda:123456789012:function:reprocess",
			want: lookup.ReprocessTarget{Raw: "lambda:123456789012:function:reprocess", Kind: "lambda",
				Function: "123456789012:function:reprocess", Name: "reprocess", Account: "123456789012"},
		},
		{
			name:   "full ARN with version",
			target: "lambda:arn:aws:lambda:us-west-2:123456789012:function:reprocess:$LATEST",
			want: lookup.ReprocessTarget{Raw: "lambda:arn:aws:lambda:us-west-2:123456789012:function:reprocess:$LATEST", Kind: "lambda",
				Function: "arn:aws:lambda:us-west-2:123456789012:function:reprocess:$LATEST", Name: "reprocess", Qualifier: "$LATEST",
				Region: "us-west-2", Account: "123456789012", Partition: "aws"},
		},
		{
			name:   "queue URL",
			target: "sqs:https://sqs.us-east-2.amazonaws.com/123456789012/reprocess",
			want: lookup.ReprocessTarget{Raw: "sqs:https://sqs.us-east-2.amazonaws.com/123456789012/reprocess", Kind: "sqs",
				QueueURL: "https://sqs.us-east-2.amazonaws.com/123456789012/reprocess", Name: "reprocess",
				Region: "us-east-2", Account: "123456789012"},
		},
		{
			name:   "legacy FIFO queue URL",
			target: "sqs:https://eu-west-1.queue.amazonaws.com/123456789012/reprocess.fifo",
			want: lookup.ReprocessTarget{Raw: "sqs:https://eu-west-1.queue.amazonaws.com/123456789012/reprocess.fifo", Kind: "sqs",
				QueueURL: "https://eu-west-1.queue.amazonaws.com/123456789012/reprocess.fifo", Name: "reprocess.fifo", FIFO: true,
				Region: "eu-west-1", Account: "123456789012"},
		},
		{
			name:   "local emulator",
			target: "sqs:http://localhost:4566/000000000000/reprocess",
			want: lookup.ReprocessTarget{Raw: "sqs:http://localhost:4566/000000000000/reprocess", Kind: "sqs",
				QueueURL: "http://localhost:4566/000000000000/reprocess", Name: "reprocess", Account: "000000000000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookup.ParseReprocessTarget(tt.target)
			if err != nil {
				t.Fatalf("ParseReprocessTarget(%q): %v", tt.target, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseReprocessTarget(%q) (-want +got):\n%s", tt.target, diff)
			}
			if kind := lookup.ReprocessTargetKind(tt.target); kind != tt.want.Kind {
				t.Errorf("ReprocessTargetKind(%q) = %q, want %q", tt.target, kind, tt.want.Kind)
			}
		})
	}
}

func TestParseReprocessTargetErrors(t *testing.T) {
	tests := []struct{ target, wantErr string }{
		{"", "want \"lambda:<function name or ARN>\""},
		{"s3:bucket", "want \"lambda:<function name or ARN>\""},
		{"call-analytics-prod-reprocess", "want \"lambda:<function name or ARN>\""},
		{"lambda:", "function name \"\""},
		{"lambda:re process", "function name \"re process\""},
		{"lambda:reprocess:bad.alias", "function qualifier"},
		{"lambda:arn:aws:s3:us-east-1:123456789012:function:x", "not a Lambda function ARN"},
		{"lambda:12345:function:x", "not a partial function ARN"},
		{"lambda:a:b:c:d:e", "not a function name or ARN"},
		{"sqs:", "not a queue URL"},
		{"sqs:reprocess", "not a queue URL"},
		{"sqs:ftp://sqs.us-east-1.amazonaws.com/123456789012/q", "not a queue URL"},
		{"sqs:https://sqs.us-east-1.amazonaws.com/reprocess", "want /<12-digit account>/<queue name>"},
		{"sqs:https://sqs.us-east-1.amazonaws.com/123456789012/a/b", "want /<12-digit account>/<queue name>"},
		{"sqs:https://sqs.us-east-1.amazonaws.com/123456789012/q?x=1", "not a queue URL"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			_, err := lookup.ParseReprocessTarget(tt.target)
			if err == nil {
				t.Fatalf("ParseReprocessTarget(%q) succeeded, want an error", tt.target)
			}
			for _, want := range []string{"TRACEBOT_REPROCESS_TARGET", tt.wantErr} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("ParseReprocessTarget(%q) = %q, want it to contain %q", tt.target, err, want)
				}
			}
			if kind := lookup.ReprocessTargetKind(tt.target); kind != "" {
				t.Errorf("ReprocessTargetKind(%q) = %q, want \"\"", tt.target, kind)
			}
		})
	}
}

func TestReprocessResource(t *testing.T) {
	tests := []struct {
		target, region, account string
		want                    string
	}{
		{"lambda:reprocess", "us-east-1", "111122223333", "arn:aws:lambda:us-east-1:111122223333:function:reprocess"},
		{"lambda:reprocess:live", "us-east-1", "111122223333", "arn:aws:lambda:us-east-1:111122223333:function:reprocess:live"},
		{"lambda:123456789012:function:reprocess", "us-east-1", "111122223333", "arn:aws:lambda:us-east-1:123456789012:function:reprocess"},
		{"lambda:arn:aws:lambda:us-west-2:123456789012:function:reprocess", "us-east-1", "111122223333", "arn:aws:lambda:us-west-2:123456789012:function:reprocess"},
		{"lambda:reprocess", "cn-north-1", "111122223333", "arn:aws-cn:lambda:cn-north-1:111122223333:function:reprocess"},
		{"lambda:reprocess", "", "", "arn:aws:lambda:*:*:function:reprocess"},
		{"sqs:https://sqs.us-east-2.amazonaws.com/123456789012/reprocess", "us-east-1", "111122223333", "arn:aws:sqs:us-east-2:123456789012:reprocess"},
		{"sqs:https://sqs.us-east-2.amazonaws.com/123456789012/reprocess.fifo", "", "", "arn:aws:sqs:us-east-2:123456789012:reprocess.fifo"},
		{"sqs:http://localhost:4566/000000000000/reprocess", "us-east-1", "", "arn:aws:sqs:us-east-1:000000000000:reprocess"},
		{"sqs:nope", "us-east-1", "111122223333", ""},
	}
	for _, tt := range tests {
		if got := lookup.ReprocessResource(tt.target, tt.region, tt.account); got != tt.want {
			t.Errorf("ReprocessResource(%q, %q, %q) = %q, want %q", tt.target, tt.region, tt.account, got, tt.want)
		}
	}
}

func TestRenderPayload(t *testing.T) {
	req := lookup.ReprocessRequest{SessionID: "s-abc123def456", StoreID: "store-42", RequestedBy: "U024BE7LH", Platform: "slack"}
	tests := []struct {
		name     string
		template string
		req      lookup.ReprocessRequest
		want     string
	}{
		{
			name:     "default template",
			template: lookup.DefaultReprocessPayload,
			req:      req,
			want:     `{"telephonySessionId":"s-abc123def456","requestedBy":"U024BE7LH"}`,
		},
		{
			name:     "every placeholder, twice in one string, and in a key",
			template: `{"id":"{session_id}/{session_id}","store":"{store_id}","by":"{requested_by} via {platform}","{platform}":true,"n":1}`,
			req:      req,
			want:     `{"id":"s-abc123def456/s-abc123def456","store":"store-42","by":"U024BE7LH via slack","slack":true,"n":1}`,
		},
		{
			name:     "escaped quote before a placeholder, braces that are not placeholders",
			template: `{"note":"say \"{requested_by}\"","raw":"{Not} {x1} {}","nested":{"a":["{store_id}"]}}`,
			req:      req,
			want:     `{"note":"say \"U024BE7LH\"","raw":"{Not} {x1} {}","nested":{"a":["store-42"]}}`,
		},
		{
			name:     "awkward value",
			template: `{"by":"{requested_by}"}`,
			req:      lookup.ReprocessRequest{RequestedBy: awkward},
			want:     `{"by":"Zo\u00eb \"Z\" O'Neil\\\n\u003c/script\u003e\u2028\u738b\ud83d\ude42"}`,
		},
		{
			name:     "control characters and invalid UTF-8",
			template: `["{session_id}"]`,
			req:      lookup.ReprocessRequest{SessionID: "a\x00b\x1f\r\t\x7f\xff&"},
			want:     `["a\u0000b\u001f\r\t\u007f\ufffd\u0026"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookup.RenderPayload(tt.template, tt.req)
			if err != nil {
				t.Fatalf("RenderPayload: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("RenderPayload (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderPayloadRoundTrip checks that any value survives: the payload is valid
// JSON, pure ASCII, and decodes to exactly the value (invalid UTF-8 aside).
func TestRenderPayloadRoundTrip(t *testing.T) {
	values := []string{"", awkward, `"}],"admin":true,"x":["`, `\u0022`, "\\", "\x00\x01\n", "</script><script>alert(1)</script>",
		"\u2028\u2029", "😀𝄞", "a\"b\\c/d", strings.Repeat("é\"", 500)}
	for _, v := range values {
		r := lookup.ReprocessRequest{SessionID: v, StoreID: v, RequestedBy: v, Platform: v}
		got, err := lookup.RenderPayload(`{"s":"{session_id}","t":"x{store_id}y","u":["{requested_by}","{platform}"]}`, r)
		if err != nil {
			t.Fatalf("RenderPayload(%q): %v", v, err)
		}
		for i, c := range got {
			if c >= utf8.RuneSelf || c == '<' || c == '>' {
				t.Fatalf("RenderPayload(%q) = %s: byte %d is %q, want ASCII without < and >", v, got, i, c)
			}
		}
		var decoded struct {
			S, T string
			U    []string
		}
		if err := json.Unmarshal(got, &decoded); err != nil {
			t.Fatalf("RenderPayload(%q) = %s: not JSON: %v", v, got, err)
		}
		want := struct {
			S, T string
			U    []string
		}{v, "x" + v + "y", []string{v, v}}
		if diff := cmp.Diff(want, decoded); diff != "" {
			t.Errorf("RenderPayload(%q) decoded (-want +got):\n%s", v, diff)
		}
	}
}

// FuzzRenderPayload: for any value the payload is ASCII JSON that decodes to the
// value (each invalid UTF-8 byte read as U+FFFD).
func FuzzRenderPayload(f *testing.F) {
	for _, seed := range []string{"", awkward, `","admin":true,"x":"`, "\\u0000", "\xff\xfe", "}]}"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := lookup.RenderPayload(`{"by":"{requested_by}!"}`, lookup.ReprocessRequest{RequestedBy: v})
		if err != nil {
			t.Fatalf("RenderPayload(%q): %v", v, err)
		}
		var decoded map[string]string
		if err := json.Unmarshal(got, &decoded); err != nil {
			t.Fatalf("RenderPayload(%q) = %s: %v", v, got, err)
		}
		if want := string([]rune(v)) + "!"; decoded["by"] != want || len(decoded) != 1 {
			t.Fatalf("RenderPayload(%q) = %s, decodes to %q, want only by=%q", v, got, decoded, want)
		}
		for _, c := range got {
			if c >= utf8.RuneSelf {
				t.Fatalf("RenderPayload(%q) = %s: not ASCII", v, got)
			}
		}
	})
}

// FuzzPayloadTemplate: whatever template is accepted, no value can change the
// JSON's structure (the sequence of token kinds), only the text of strings.
func FuzzPayloadTemplate(f *testing.F) {
	for _, seed := range [][2]string{
		{lookup.DefaultReprocessPayload, awkward},
		{`{"a":["{session_id}",1,{"{platform}":null}]}`, `","x":"`},
		{`"\\{session_id}\""`, `\"`},
		{`{"a":"{x}"}`, "1"},
		{`{"a":{session_id}}`, "1"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, template, v string) {
		plain, err := lookup.RenderPayload(template, lookup.ReprocessRequest{SessionID: "a", StoreID: "a", RequestedBy: "a", Platform: "a"})
		if err != nil {
			return // refused templates are TestRenderPayloadErrors' business
		}
		got, err := lookup.RenderPayload(template, lookup.ReprocessRequest{SessionID: v, StoreID: v, RequestedBy: v, Platform: v})
		if err != nil {
			t.Fatalf("template %q renders with \"a\" but not with %q: %v", template, v, err)
		}
		if want, got := tokenKinds(t, plain), tokenKinds(t, got); want != got {
			t.Fatalf("template %q: value %q changes the JSON structure from %s to %s", template, v, want, got)
		}
	})
}

// tokenKinds lists the kinds of b's JSON tokens ("{", "s", "n", …).
func tokenKinds(t *testing.T, b []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var kinds strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return kinds.String()
		}
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		switch tok := tok.(type) {
		case json.Delim:
			kinds.WriteString(tok.String())
		case string:
			kinds.WriteString("s")
		default:
			fmt.Fprintf(&kinds, "%T(%v)", tok, tok)
		}
	}
}

func TestRenderPayloadErrors(t *testing.T) {
	tests := []struct{ name, template, wantErr string }{
		{"not JSON", `{"id": "{session_id}"`, "not valid JSON"},
		{"empty", ``, "not valid JSON"},
		{"placeholder outside a string", `{"id": {session_id}}`, "placeholder {session_id} must be inside a JSON string"},
		{"placeholder as a number", `{"id": "x", "n": {store_id}}`, "placeholder {store_id} must be inside a JSON string"},
		{"unknown placeholder", `{"id": "{sesion_id}"}`, "unknown placeholder {sesion_id}"},
		{"string broken by the template", `{"id": "{session_id}`, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookup.RenderPayload(tt.template, lookup.ReprocessRequest{SessionID: "1"})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("RenderPayload(%q) = %s, %v; want an error containing %q", tt.template, got, err, tt.wantErr)
			}
		})
	}
}

func TestNewReprocessorErrors(t *testing.T) {
	lambdaClient := lookuptest.NewLambdaServer(t).Client(t)
	sqsClient := lookuptest.NewSQSServer(t).Client(t)
	queue := "sqs:" + lookuptest.SQSQueueURL("us-east-1", "reprocess")
	tests := []struct {
		name             string
		target, template string
		lambda           lookup.LambdaAPI
		sqs              lookup.SQSAPI
		wantErr          []string
	}{
		{"bad target", "lambdas:reprocess", "", lambdaClient, sqsClient, []string{"TRACEBOT_REPROCESS_TARGET", "lambdas:reprocess"}},
		{"bad template", "lambda:reprocess", `{"id":{session_id}}`, lambdaClient, sqsClient, []string{"TRACEBOT_REPROCESS_PAYLOAD", "inside a JSON string"}},
		{"template not JSON", queue, `{"id":"{session_id}"`, lambdaClient, sqsClient, []string{"TRACEBOT_REPROCESS_PAYLOAD", "not valid JSON"}},
		{"no Lambda client", "lambda:reprocess", "", nil, sqsClient, []string{"TRACEBOT_REPROCESS_TARGET", "no Lambda client"}},
		{"no SQS client", queue, "", lambdaClient, nil, []string{"TRACEBOT_REPROCESS_TARGET", "no SQS client"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := lookup.NewReprocessor(tt.target, tt.template, tt.lambda, tt.sqs)
			if err == nil {
				t.Fatalf("NewReprocessor = %T, want an error", p)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("NewReprocessor error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func mustReprocessor(t *testing.T, target, template string, l lookup.LambdaAPI, s lookup.SQSAPI) lookup.Reprocessor {
	t.Helper()
	p, err := lookup.NewReprocessor(target, template, l, s)
	if err != nil {
		t.Fatalf("NewReprocessor(%q): %v", target, err)
	}
	return p
}

const fullTemplate = `{"telephonySessionId":"{session_id}","storeId":"{store_id}","requestedBy":"{requested_by}","platform":"{platform}","source":"tracebot"}`

func TestLambdaReprocess(t *testing.T) {
	tests := []struct {
		name, target, wantFunction string
	}{
		{"name", "lambda:call-analytics-prod-reprocess", "call-analytics-prod-reprocess"},
		{"ARN with alias", "lambda:arn:aws:lambda:us-east-1:123456789012:function:call-analytics-prod-reprocess:live",
			"arn:aws:lambda:us-east-1:123456789012:function:call-analytics-prod-reprocess:live"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := lookuptest.NewLambdaServer(t)
			srv.AddFunction("call-analytics-prod-reprocess")
			p := mustReprocessor(t, tt.target, fullTemplate, srv.Client(t), nil)
			req := lookup.ReprocessRequest{SessionID: "s-abc123def456", StoreID: "store-42", RequestedBy: awkward, Platform: "slack"}

			got, err := p.Request(context.Background(), req)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}

			invs := srv.Invocations()
			if len(invs) != 1 {
				t.Fatalf("the fake accepted %d invocations, want 1: %+v", len(invs), invs)
			}
			wantResult := lookup.ReprocessResult{Target: tt.target, Kind: lookup.ReprocessLambda, RequestID: invs[0].RequestID}
			if diff := cmp.Diff(wantResult, got); diff != "" {
				t.Errorf("Request result (-want +got):\n%s", diff)
			}
			wantPayload, err := lookup.RenderPayload(fullTemplate, req)
			if err != nil {
				t.Fatal(err)
			}
			wantInv := lookuptest.LambdaInvocation{Region: "us-east-1", FunctionName: tt.wantFunction,
				InvocationType: "Event", Payload: wantPayload, RequestID: invs[0].RequestID}
			if diff := cmp.Diff(wantInv, invs[0]); diff != "" {
				t.Errorf("invocation (-want +got):\n%s", diff)
			}
			var decoded map[string]string
			if err := json.Unmarshal(invs[0].Payload, &decoded); err != nil || decoded["requestedBy"] != awkward {
				t.Errorf("payload %s decodes to %q (%v), want requestedBy %q", invs[0].Payload, decoded["requestedBy"], err, awkward)
			}
			if invs[0].RequestID == "" {
				t.Error("the fake answered without a request id")
			}
		})
	}
}

func TestSQSReprocess(t *testing.T) {
	srv := lookuptest.NewSQSServer(t)
	queueURL := srv.AddQueue("call-analytics-prod-reprocess")
	target := "sqs:" + queueURL
	p := mustReprocessor(t, target, "", nil, srv.Client(t))
	req := lookup.ReprocessRequest{SessionID: "s-abc123def456", StoreID: "store-42", RequestedBy: awkward, Platform: "lark"}

	got, err := p.Request(context.Background(), req)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}

	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the fake stored %d messages, want 1: %+v", len(msgs), msgs)
	}
	wantResult := lookup.ReprocessResult{Target: target, Kind: lookup.ReprocessSQS, RequestID: msgs[0].MessageID}
	if diff := cmp.Diff(wantResult, got); diff != "" {
		t.Errorf("Request result (-want +got):\n%s", diff)
	}
	wantBody, err := lookup.RenderPayload(lookup.DefaultReprocessPayload, req)
	if err != nil {
		t.Fatal(err)
	}
	wantMsg := lookuptest.SQSMessage{Region: "us-east-1", QueueURL: queueURL, Body: string(wantBody), MessageID: msgs[0].MessageID}
	if diff := cmp.Diff(wantMsg, msgs[0]); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if srv.Requests() != 1 {
		t.Errorf("the fake received %d requests, want 1", srv.Requests())
	}
}

// TestSQSReprocessFIFO: on a FIFO queue the SDK may retry a request that was
// stored, because the deduplication id makes SQS drop the copy.
func TestSQSReprocessFIFO(t *testing.T) {
	srv := lookuptest.NewSQSServer(t)
	queueURL := srv.AddQueue("reprocess.fifo")
	p := mustReprocessor(t, "sqs:"+queueURL, "", nil, srv.Client(t))
	srv.Disconnect(1) // the first attempt is stored, its answer lost

	got, err := p.Request(context.Background(), lookup.ReprocessRequest{SessionID: "s-abc123def456", RequestedBy: "U1"})
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	second, err := p.Request(context.Background(), lookup.ReprocessRequest{SessionID: "s-abc123def456", RequestedBy: "U2"})
	if err != nil {
		t.Fatalf("second Request: %v", err)
	}

	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("the fake stored %d messages, want 2 (one per Request): %+v", len(msgs), msgs)
	}
	if got.RequestID != msgs[0].MessageID || second.RequestID != msgs[1].MessageID {
		t.Errorf("message ids %q, %q; want %q, %q", got.RequestID, second.RequestID, msgs[0].MessageID, msgs[1].MessageID)
	}
	for _, m := range msgs {
		if m.GroupID != "s-abc123def456" || m.DeduplicationID == "" {
			t.Errorf("message group %q, deduplication id %q; want the session and a fresh id", m.GroupID, m.DeduplicationID)
		}
	}
	if msgs[0].DeduplicationID == msgs[1].DeduplicationID {
		t.Errorf("two Requests share deduplication id %q: the second would be dropped", msgs[0].DeduplicationID)
	}
	if n := srv.Requests(); n != 3 {
		t.Errorf("the fake received %d requests, want 3 (a retry of the lost answer, then the second Request)", n)
	}
}

// reprocessFailure is what a test expects of a failed Request.
type reprocessFailure struct {
	Refused, Retryable bool
	Code               string
	HasRequestID       bool // the target answered, with an x-amzn-RequestId
	CauseContains      string
}

func checkFailure(t *testing.T, err error, want reprocessFailure) {
	t.Helper()
	var re *lookup.ReprocessError
	if !errors.As(err, &re) {
		t.Fatalf("Request error = %v (%T), want a *lookup.ReprocessError", err, err)
	}
	got := reprocessFailure{Refused: re.Refused, Retryable: lookup.IsRetryable(err), Code: re.Code,
		HasRequestID: re.RequestID != "", CauseContains: want.CauseContains}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failure (-want +got):\n%s\nerror: %v", diff, err)
	}
	if lookup.ReprocessRefused(err) != want.Refused {
		t.Errorf("ReprocessRefused = %v, want %v", lookup.ReprocessRefused(err), want.Refused)
	}
	cause := re.Cause()
	if !strings.Contains(cause, want.CauseContains) || strings.ContainsAny(cause, "\r\n") || cause == "" {
		t.Errorf("Cause() = %q, want one line containing %q", cause, want.CauseContains)
	}
	if strings.ContainsAny(err.Error(), "\r\n") || !strings.HasPrefix(err.Error(), "reprocess "+re.Target+": ") {
		t.Errorf("Error() = %q, want one line starting with the component and target", err)
	}
}

func TestLambdaReprocessFailures(t *testing.T) {
	tests := []struct {
		name            string
		setup           func(*lookuptest.LambdaServer)
		timeout         time.Duration
		want            reprocessFailure
		wantRequests    int
		wantInvocations int
	}{
		{
			name:         "function not found",
			setup:        func(s *lookuptest.LambdaServer) { s.AddFunction("another-function") },
			want:         reprocessFailure{Refused: true, Code: "ResourceNotFoundException", HasRequestID: true, CauseContains: "ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:123456789012:function:reprocess"},
			wantRequests: 1,
		},
		{
			name:         "access denied",
			setup:        func(s *lookuptest.LambdaServer) { s.Fail("AccessDeniedException", http.StatusForbidden, 0) },
			want:         reprocessFailure{Refused: true, Code: "AccessDeniedException", HasRequestID: true, CauseContains: "is not authorized to perform: lambda:InvokeFunction"},
			wantRequests: 1,
		},
		{
			name:         "throttled on every attempt: refused, retried while certainly not accepted",
			setup:        func(s *lookuptest.LambdaServer) { s.Fail("TooManyRequestsException", http.StatusTooManyRequests, 0) },
			want:         reprocessFailure{Refused: true, Retryable: true, Code: "TooManyRequestsException", HasRequestID: true, CauseContains: "Rate Exceeded."},
			wantRequests: 3, // the client's three attempts
		},
		{
			name:            "function error",
			setup:           func(s *lookuptest.LambdaServer) { s.SetFunctionError("Unhandled") },
			want:            reprocessFailure{Refused: true, HasRequestID: true, CauseContains: "function error Unhandled"},
			wantRequests:    1,
			wantInvocations: 1,
		},
		{
			name:         "service error: may have been accepted, not retried",
			setup:        func(s *lookuptest.LambdaServer) { s.Fail("ServiceException", http.StatusInternalServerError, 1) },
			want:         reprocessFailure{Retryable: true, Code: "ServiceException", HasRequestID: true, CauseContains: "may have been accepted"},
			wantRequests: 1,
		},
		{
			name:            "answer lost after Lambda queued the event: not retried",
			setup:           func(s *lookuptest.LambdaServer) { s.Disconnect(1) },
			want:            reprocessFailure{Retryable: true, CauseContains: "may have been accepted"},
			wantRequests:    1,
			wantInvocations: 1,
		},
		{
			name:            "timeout after Lambda queued the event: not retried",
			setup:           func(s *lookuptest.LambdaServer) { s.SetLatency(2 * time.Second) },
			timeout:         100 * time.Millisecond,
			want:            reprocessFailure{Retryable: true, CauseContains: "deadline exceeded"},
			wantRequests:    1,
			wantInvocations: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := lookuptest.NewLambdaServer(t)
			tt.setup(srv)
			p := mustReprocessor(t, "lambda:reprocess", "", srv.Client(t), nil)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}

			_, err := p.Request(ctx, lookup.ReprocessRequest{SessionID: "s-1", RequestedBy: "U1"})

			checkFailure(t, err, tt.want)
			if n := srv.Requests(); n != tt.wantRequests {
				t.Errorf("the fake received %d requests, want %d", n, tt.wantRequests)
			}
			if n := len(srv.Invocations()); n != tt.wantInvocations {
				t.Errorf("the fake accepted %d invocations, want %d", n, tt.wantInvocations)
			}
		})
	}
}

// TestLambdaReprocessThrottledThenAccepted: a throttled attempt is retried, and
// exactly one invocation is accepted.
func TestLambdaReprocessThrottledThenAccepted(t *testing.T) {
	srv := lookuptest.NewLambdaServer(t)
	srv.Fail("TooManyRequestsException", http.StatusTooManyRequests, 2)
	p := mustReprocessor(t, "lambda:reprocess", "", srv.Client(t), nil)

	got, err := p.Request(context.Background(), lookup.ReprocessRequest{SessionID: "s-1"})
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	invs := srv.Invocations()
	if len(invs) != 1 || srv.Requests() != 3 {
		t.Fatalf("the fake accepted %d invocations of %d requests, want 1 of 3", len(invs), srv.Requests())
	}
	if got.RequestID != invs[0].RequestID {
		t.Errorf("request id %q, want the accepted invocation's %q", got.RequestID, invs[0].RequestID)
	}
}

// TestLambdaPlainSDKRetryDuplicates shows why Request narrows the retryer: the
// same client, used directly, retries a lost answer and starts a second run.
func TestLambdaPlainSDKRetryDuplicates(t *testing.T) {
	srv := lookuptest.NewLambdaServer(t)
	srv.Disconnect(1)
	_, err := srv.Client(t).Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String("reprocess"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{}`),
	})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if n := len(srv.Invocations()); n != 2 {
		t.Fatalf("the plain SDK call made %d accepted invocations; want 2, or the fake no longer shows the hazard", n)
	}
}

func TestReprocessConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now

	var attempts int
	var mu sync.Mutex
	client := lookuptest.NewLambdaServer(t).Client(t, func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.HTTPClient = countingClient{&mu, &attempts}
	})
	p := mustReprocessor(t, "lambda:reprocess", "", client, nil)

	_, err = p.Request(context.Background(), lookup.ReprocessRequest{SessionID: "s-1"})

	checkFailure(t, err, reprocessFailure{Refused: true, Retryable: true, CauseContains: "cannot connect: connection refused"})
	mu.Lock()
	defer mu.Unlock()
	if attempts != 3 {
		t.Errorf("%d attempts, want 3: a connection that was never made is safe to retry", attempts)
	}
}

// countingClient counts the HTTP requests an SDK client sends.
type countingClient struct {
	mu *sync.Mutex
	n  *int
}

func (c countingClient) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	*c.n++
	c.mu.Unlock()
	return http.DefaultClient.Do(r)
}

func TestSQSReprocessFailures(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(*lookuptest.SQSServer)
		want         reprocessFailure
		wantRequests int
		wantMessages int
	}{
		{
			name:         "queue does not exist",
			setup:        func(s *lookuptest.SQSServer) { s.AddQueue("another-queue") },
			want:         reprocessFailure{Refused: true, Code: "AWS.SimpleQueueService.NonExistentQueue", HasRequestID: true, CauseContains: "The specified queue does not exist."},
			wantRequests: 1,
		},
		{
			name:         "access denied",
			setup:        func(s *lookuptest.SQSServer) { s.Fail("AccessDeniedException", http.StatusBadRequest, 0) },
			want:         reprocessFailure{Refused: true, Code: "AccessDenied", HasRequestID: true, CauseContains: "is not authorized to perform: sqs:sendmessage"},
			wantRequests: 1,
		},
		{
			name:         "throttled on every attempt",
			setup:        func(s *lookuptest.SQSServer) { s.Fail("RequestThrottled", http.StatusBadRequest, 0) },
			want:         reprocessFailure{Refused: true, Retryable: true, Code: "RequestThrottled", HasRequestID: true, CauseContains: "Request is throttled."},
			wantRequests: 3,
		},
		{
			name:         "answer lost after SQS stored the message: not retried",
			setup:        func(s *lookuptest.SQSServer) { s.Disconnect(1) },
			want:         reprocessFailure{Retryable: true, CauseContains: "may have been accepted"},
			wantRequests: 1,
			wantMessages: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := lookuptest.NewSQSServer(t)
			tt.setup(srv)
			p := mustReprocessor(t, "sqs:"+lookuptest.SQSQueueURL("us-east-1", "reprocess"), "", nil, srv.Client(t))

			_, err := p.Request(context.Background(), lookup.ReprocessRequest{SessionID: "s-1", RequestedBy: "U1"})

			checkFailure(t, err, tt.want)
			if n := srv.Requests(); n != tt.wantRequests {
				t.Errorf("the fake received %d requests, want %d", n, tt.wantRequests)
			}
			if n := len(srv.Messages()); n != tt.wantMessages {
				t.Errorf("the fake stored %d messages, want %d", n, tt.wantMessages)
			}
		})
	}
}

// TestReprocessConcurrent: one Reprocessor serves many goroutines, each Request
// reaching the target exactly once (run with -race).
func TestReprocessConcurrent(t *testing.T) {
	lambdaSrv := lookuptest.NewLambdaServer(t)
	sqsSrv := lookuptest.NewSQSServer(t)
	lambdaSrv.Fail("TooManyRequestsException", http.StatusTooManyRequests, 2) // at most 2 of a Request's 3 attempts
	sqsSrv.Fail("RequestThrottled", http.StatusBadRequest, 2)
	targets := []struct {
		p       lookup.Reprocessor
		results func() map[string]string // request id → session id
	}{
		{mustReprocessor(t, "lambda:reprocess", "", lambdaSrv.Client(t), nil), func() map[string]string {
			m := map[string]string{}
			for _, inv := range lambdaSrv.Invocations() {
				m[inv.RequestID] = sessionOf(t, inv.Payload)
			}
			return m
		}},
		{mustReprocessor(t, "sqs:"+lookuptest.SQSQueueURL("us-east-1", "q"), "", nil, sqsSrv.Client(t)), func() map[string]string {
			m := map[string]string{}
			for _, msg := range sqsSrv.Messages() {
				m[msg.MessageID] = sessionOf(t, []byte(msg.Body))
			}
			return m
		}},
	}
	for _, target := range targets {
		const n = 40
		var wg sync.WaitGroup
		got := make(map[string]string, n)
		var mu sync.Mutex
		for i := range n {
			wg.Go(func() {
				session := fmt.Sprintf("s-%03d", i)
				res, err := target.p.Request(context.Background(), lookup.ReprocessRequest{SessionID: session})
				if err != nil {
					t.Errorf("Request(%s): %v", session, err)
					return
				}
				mu.Lock()
				got[res.RequestID] = session
				mu.Unlock()
			})
		}
		wg.Wait()
		if diff := cmp.Diff(target.results(), got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("accepted at the target vs returned by Request (-target +returned):\n%s", diff)
		}
		if len(got) != n {
			t.Errorf("%d distinct accepted requests, want %d", len(got), n)
		}
	}
}

func sessionOf(t *testing.T, payload []byte) string {
	t.Helper()
	var v struct{ TelephonySessionID string }
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Errorf("payload %s: %v", payload, err)
	}
	return v.TelephonySessionID
}

var _ lookup.SQSAPI = (*sqs.Client)(nil)
var _ lookup.LambdaAPI = (*lambda.Client)(nil)
