package lookup

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
)

// cwUsageQuery is the SPEC §3 Insights query; %s is the escaped session id.
const cwUsageQuery = `fields @timestamp, @log, @requestId, service, openrouterId, provider, model,
       inputTokens, outputTokens, cacheReadTokens, cacheReadRatio, costUsd, finishReason
| filter @message like /ai_usage/
| filter telephonySessionId = %s
| sort @timestamp asc
| limit 100`

// cwBatchQuery is the query of several sessions at once: %s is the list of
// escaped ids, %d the row limit. telephonySessionId is among the fields so the
// rows can be split back per session.
const cwBatchQuery = `fields @timestamp, @log, @requestId, telephonySessionId, service, openrouterId, provider, model,
       inputTokens, outputTokens, cacheReadTokens, cacheReadRatio, costUsd, finishReason
| filter @message like /ai_usage/
| filter telephonySessionId in [%s]
| sort @timestamp asc
| limit %d`

// Insights' own bounds on one query.
const (
	cwRowsPerSession = 100   // the limit of the one-session query
	cwMaxRows        = 10000 // Insights returns at most this many rows
	cwMaxQueryLen    = 10000 // StartQuery's queryString is at most this long
)

// cwTimestampLayout is how Insights prints @timestamp, in UTC.
const cwTimestampLayout = "2006-01-02 15:04:05.000"

// UsageQueryText is the Insights query for a session's ai_usage lines. The id sits
// in a double-quoted string: backslash and quote are backslash-escaped, line breaks
// and tabs become \n, \r, \t, and other control characters U+FFFD, so nothing in
// the id can end the string or start another clause.
func UsageQueryText(sessionID string) string {
	return fmt.Sprintf(cwUsageQuery, cwQuote(sessionID))
}

// UsageBatchQueryText is the Insights query for the ai_usage lines of several
// sessions: `filter telephonySessionId in [...]` over the ids (escaped as in
// UsageQueryText, repeats dropped), with telephonySessionId among the fields and a
// limit of 100 rows per session (at most Insights' 10,000). With one distinct id it
// is UsageQueryText of that id.
func UsageBatchQueryText(sessionIDs []string) string {
	var ids []string
	for _, id := range sessionIDs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 1 {
		return UsageQueryText(ids[0])
	}
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = cwQuote(id)
	}
	return fmt.Sprintf(cwBatchQuery, strings.Join(quoted, ", "), cwBatchLimit(len(ids)))
}

// cwBatchLimit is the row limit of a query over n sessions.
func cwBatchLimit(n int) int { return min(n*cwRowsPerSession, cwMaxRows) }

// cwQuote is id as an Insights double-quoted string.
func cwQuote(id string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range id {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r):
			b.WriteRune(unicode.ReplacementChar)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ConsoleLink is a CloudWatch console URL that opens Logs Insights in region on
// query over groups and the absolute range [from, to]. The console reads its state
// from the fragment "logs-insights?queryDetail=…" with '?' and '=' written $3F and
// $3D, and the detail in JSURL: ~(key~value…), strings prefixed with ', every byte
// other than [A-Za-z0-9_.-] written *hh, "$" written "!", non-Latin-1 characters
// written **hhhh.
func ConsoleLink(region string, groups []string, query string, from, to time.Time) string {
	var d strings.Builder
	d.WriteString("~(end~'")
	d.WriteString(cwJSURL(to.UTC().Format("2006-01-02T15:04:05.000Z")))
	d.WriteString("~start~'")
	d.WriteString(cwJSURL(from.UTC().Format("2006-01-02T15:04:05.000Z")))
	d.WriteString("~timeType~'ABSOLUTE~tz~'UTC~editorString~'")
	d.WriteString(cwJSURL(query))
	d.WriteString("~source~(")
	for _, g := range groups {
		d.WriteString("~'")
		d.WriteString(cwJSURL(g))
	}
	d.WriteString("))")
	r := url.QueryEscape(region)
	return "https://" + r + ".console.aws.amazon.com/cloudwatch/home?region=" + r +
		"#logsV2:logs-insights$3FqueryDetail$3D" + d.String()
}

// cwJSURL escapes s as a JSURL string body.
func cwJSURL(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80 && (r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		case r == '$':
			b.WriteByte('!')
		case r < 0x100:
			fmt.Fprintf(&b, "*%02x", r)
		default:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, "**%04x", u)
			}
		}
	}
	return b.String()
}

// cwParseRow reads one result row. Absent fields stay zero or nil; the names of
// fields whose values could not be read are returned.
func cwParseRow(region string, fields []types.ResultField) (row UsageRow, bad []string) {
	row.Region = region
	for _, f := range fields {
		name, v := aws.ToString(f.Field), aws.ToString(f.Value)
		if !cwSetField(&row, name, v) {
			bad = append(bad, name)
		}
	}
	return row, bad
}

// cwSetField stores one field's value; false when the value is unreadable.
func cwSetField(row *UsageRow, name, v string) bool {
	var ok = true
	switch name {
	case "@timestamp":
		t, err := time.ParseInLocation(cwTimestampLayout, v, time.UTC)
		row.Timestamp, ok = t, err == nil
	case "@log": // "accountId:logGroupName"
		row.LogGroup = v
		if _, group, found := strings.Cut(v, ":"); found {
			row.LogGroup = group
		}
	case "@requestId":
		row.RequestID = v
	case "service":
		row.Service = v
	case "openrouterId":
		row.OpenRouterID = v
	case "provider":
		row.Provider = v
	case "model":
		row.Model = v
	case "finishReason":
		row.FinishReason = v
	case "inputTokens":
		row.InputTokens, ok = cwInt(v)
	case "outputTokens":
		row.OutputTokens, ok = cwInt(v)
	case "cacheReadTokens":
		row.CacheReadTokens, ok = cwOptional(v, cwInt)
	case "cacheReadRatio":
		row.CacheReadRatio, ok = cwOptional(v, cwFloat)
	case "costUsd":
		row.CostUSD, ok = cwOptional(v, cwFloat)
	}
	return ok
}

// cwInt reads a token count written "123" or "123.0".
func cwInt(v string) (int64, bool) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, true
	}
	f, ok := cwFloat(v)
	return int64(math.Round(f)), ok
}

func cwFloat(v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// cwOptional reads an optional number: empty, "null" and "undefined" are absent.
func cwOptional[T int64 | float64](v string, parse func(string) (T, bool)) (*T, bool) {
	switch strings.TrimSpace(v) {
	case "", "null", "undefined":
		return nil, true
	}
	n, ok := parse(v)
	if !ok {
		return nil, false
	}
	return &n, true
}

func cwSortRows(rows []UsageRow) {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Timestamp.Before(rows[j].Timestamp) })
}

// cwErrorCode is the AWS error code in err's chain, or "".
func cwErrorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// cwThrottled reports whether err is AWS throttling (LimitExceededException,
// ThrottlingException and the SDK's other throttle codes).
func cwThrottled(err error) bool {
	_, ok := retry.DefaultThrottleErrorCodes[cwErrorCode(err)]
	return ok
}

// cwRetryable reports whether a search that failed with err may succeed later.
func cwRetryable(err error) bool {
	return cwThrottled(err) || errors.Is(err, context.DeadlineExceeded)
}

// cwRetryThrottled calls call, retrying throttling with exponential backoff and
// jitter, at most cfg.ThrottleRetries times and never past ctx.
func cwRetryThrottled[T any](ctx context.Context, cfg CloudWatchConfig, call func(context.Context) (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		out, err := call(ctx)
		if err == nil || attempt >= cfg.ThrottleRetries || !cwThrottled(err) {
			return out, err
		}
		if werr := Sleep(ctx, cwBackoff(cfg.ThrottleBackoff, attempt)); werr != nil {
			return out, fmt.Errorf("%w (while backing off from %w)", werr, err)
		}
	}
}

// cwBackoff is base·2^attempt, at most 16·base, with the upper half jittered.
func cwBackoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 4)
	return d/2 + rand.N(d/2+1)
}

// cwErrorLine is err as one line for a region's status, without secrets or
// request details: "us-east-2: AccessDenied on logs:StartQuery".
func cwErrorLine(region string, err error) string {
	var status *cwQueryStatusError
	if errors.As(err, &status) {
		return fmt.Sprintf("%s: Insights query ended %s", region, cwOr(string(status.status), "without a status"))
	}
	return awsErrorLine(region, "logs", err)
}

// awsErrorLine is an AWS call's failure in region as one line without request
// details: "us-east-2: AccessDenied on lambda:GetFunction", "us-east-1: timed out".
func awsErrorLine(region, service string, err error) string {
	var op *smithy.OperationError
	unreachable, offline := awsUnreachable(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return region + ": timed out"
	case errors.Is(err, context.Canceled):
		return region + ": cancelled"
	case cwErrorCode(err) != "" && errors.As(err, &op):
		return fmt.Sprintf("%s: %s on %s:%s", region, strings.TrimSuffix(cwErrorCode(err), "Exception"), service, op.Operation())
	case offline && errors.As(err, &op):
		return fmt.Sprintf("%s: %s:%s: %s", region, service, op.Operation(), unreachable)
	case errors.As(err, &op):
		return fmt.Sprintf("%s: %s:%s: %s", region, service, op.Operation(), cwClip(op.Err.Error()))
	}
	msg := err.Error()
	for _, prefix := range []string{"cloudwatch " + region + ": ", service + " " + region + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return region + ": " + cwClip(msg)
}

// awsUnreachable says that an AWS call never got a connection (a wrong endpoint,
// a proxy or VPC endpoint down, no route): "cannot reach AWS (after 3 attempts):
// dial tcp …: connection refused". ok is false for every other failure, a read on
// an open connection included.
func awsUnreachable(err error) (why string, ok bool) {
	var netErr *net.OpError
	if !errors.As(err, &netErr) || netErr.Op != "dial" {
		return "", false
	}
	return "cannot reach AWS" + awsAttempts(err) + ": " + cwClip(netErr.Error()), true
}

// awsAttempts notes how many attempts the SDK made when it gave up retrying.
func awsAttempts(err error) string {
	var max *retry.MaxAttemptsError
	if errors.As(err, &max) {
		return fmt.Sprintf(" (after %d attempts)", max.Attempt)
	}
	return ""
}

// cwClip makes msg one line of at most 160 characters.
func cwClip(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if r := []rune(msg); len(r) > 160 {
		msg = string(r[:159]) + "…"
	}
	return msg
}
