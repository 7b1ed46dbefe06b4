package lookuptest

// This file adds Lambda's GetFunction (GET /2015-03-31/functions/{FunctionName})
// to the Lambda fake, for the deploys report.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// LambdaFunction is what GetFunction answers for one function in one region.
type LambdaFunction struct {
	CodeSHA256   string
	Version      string // "$LATEST" when empty
	LastModified time.Time
}

// LambdaGet is one GetFunction request the fake answered.
type LambdaGet struct {
	Region, FunctionName, Qualifier string
}

// SetFunction makes GetFunction of name in region answer f. A function never set
// is 404 ResourceNotFoundException in GetFunction.
func (s *LambdaServer) SetFunction(region, name string, f LambdaFunction) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.code == nil {
		s.code = map[[2]string]LambdaFunction{}
	}
	s.code[[2]string{region, name}] = f
}

// FailGetFunction answers the next times GetFunction requests in region with an
// error of type errType and HTTP status; times <= 0 fails every request.
func (s *LambdaServer) FailGetFunction(region, errType string, status, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.getFault == nil {
		s.getFault = map[string]*awsFakeFault{}
	}
	s.getFault[region] = newAWSFakeFault(errType, status, times)
}

// Gets returns the GetFunction requests answered, in arrival order.
func (s *LambdaServer) Gets() []LambdaGet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LambdaGet(nil), s.gets...)
}

// RegionClient is Client for another region.
func (s *LambdaServer) RegionClient(tb testing.TB, region string) *lambda.Client {
	tb.Helper()
	return lambda.New(lambda.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLAMBDAFAKE", "lambda-fake-secret", ""),
		HTTPClient:   s.srv.Client(),
		Retryer:      awsFakeRetryer(),
	})
}

func (s *LambdaServer) serveGetFunction(w http.ResponseWriter, r *http.Request) {
	get := LambdaGet{Region: awsFakeCredentialRegion(r.Header.Get("Authorization")), Qualifier: r.URL.Query().Get("Qualifier")}
	inv := LambdaInvocation{Region: get.Region, RequestID: awsFakeUUID()}
	label, ok := strings.CutPrefix(r.URL.EscapedPath(), "/2015-03-31/functions/")
	name, err := url.PathUnescape(label)
	if !ok || err != nil || label == "" || strings.Contains(label, "/") {
		lambdaWriteError(w, &awsFakeError{errType: "UnknownOperationException", status: http.StatusNotFound,
			message: "Unknown operation GET " + r.URL.Path}, inv)
		return
	}
	get.FunctionName, inv.FunctionName = name, name
	if get.Region == "" {
		lambdaWriteError(w, &awsFakeError{errType: "MissingAuthenticationTokenException", status: http.StatusForbidden,
			message: "Missing Authentication Token"}, inv)
		return
	}
	f, ferr := s.admitGet(get)
	if ferr != nil {
		if ferr.errType == "AccessDeniedException" && ferr.message == "" {
			ferr.message = "User is not authorized to perform: lambda:GetFunction on resource: " + name
		}
		lambdaWriteError(w, ferr, inv)
		return
	}
	base, _ := lambdaBaseName(name)
	version := f.Version
	if version == "" {
		version = "$LATEST"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", inv.RequestID)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"Configuration": map[string]any{
			"FunctionName": base, "FunctionArn": "arn:aws:lambda:" + get.Region + ":" + LambdaAccountID + ":function:" + base,
			"Runtime": "nodejs20.x", "CodeSha256": f.CodeSHA256, "Version": version,
			"LastModified": f.LastModified.UTC().Format("2006-01-02T15:04:05.000-0700"), "State": "Active",
		},
		"Code": map[string]string{"RepositoryType": "S3", "Location": "https://awslambda-" + get.Region + "-tasks.s3.amazonaws.com/snapshots/" + base},
	})
}

// admitGet records a GetFunction and returns the function or the error to answer.
func (s *LambdaServer) admitGet(get LambdaGet) (LambdaFunction, *awsFakeError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.getFault[get.Region].take(); err != nil {
		return LambdaFunction{}, err
	}
	s.gets = append(s.gets, get)
	base, _ := lambdaBaseName(get.FunctionName)
	f, ok := s.code[[2]string{get.Region, base}]
	if !ok {
		return LambdaFunction{}, &awsFakeError{errType: "ResourceNotFoundException", status: http.StatusNotFound}
	}
	return f, nil
}
