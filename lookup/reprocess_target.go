package lookup

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

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
