// Package lookuptest holds fakes of tracebot's backends for tests and benchmarks of
// any package: real SDK or HTTP clients talk to them over loopback.
//
// This file fakes CloudWatch Logs Insights: it keeps log events per region and log
// group and evaluates the queries it is sent with the insights package, the same
// evaluator the --sandbox sample world runs. The package imports lookup, so
// lookup's own tests that use it live in package lookup_test.
package lookuptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/callytics/tracebot/lookup/insights"
)

// Operation names, as in X-Amz-Target "Logs_20140328.<op>".
const (
	LogsStartQuery        = "StartQuery"
	LogsGetQueryResults   = "GetQueryResults"
	LogsStopQuery         = "StopQuery"
	LogsDescribeLogGroups = "DescribeLogGroups"
	LogsDescribeQueries   = "DescribeQueries"
)

// LogsAccountID is the account id in the fake's @log values ("account:group").
const LogsAccountID = "123456789012"

// LogsMaxQueryLen is the longest queryString StartQuery accepts.
const LogsMaxQueryLen = 10000

// LogsTimestampLayout is how Insights prints @timestamp (UTC).
const LogsTimestampLayout = "2006-01-02 15:04:05.000"

// LogsRow is one ai_usage line of a session, for AddRows.
type LogsRow struct {
	Timestamp time.Time
	LogGroup  string // returned only when a query covers this group
	// Fields are the line's fields by name ("openrouterId": "gen-…"); a key that is
	// absent is absent from the result, as in Insights.
	Fields map[string]string
}

// LogsQuery is what the fake recorded about one query it accepted.
type LogsQuery struct {
	ID        string
	Region    string
	LogGroups []string
	SessionID string   // the one telephonySessionId the filters ask for ("" unless exactly one)
	Sessions  []string // every telephonySessionId the filters ask for (= or in [...])
	Query     string
	Start     time.Time // startTime, epoch seconds
	End       time.Time // endTime, epoch seconds
	Limit     int       // StartQuery's limit parameter (0: none)
	Stats     bool      // the query aggregates (stats)
	Rows      int       // result rows it returned when complete
	Scanned   insights.Statistics
	Status    types.QueryStatus
	Stopped   bool
	Polls     int // GetQueryResults calls for this query
	Described int // DescribeQueries answers that reported it
}

// LogsServer is an httptest server speaking the CloudWatch Logs AWS JSON 1.1
// protocol for StartQuery, GetQueryResults, StopQuery, DescribeQueries and
// DescribeLogGroups. The
// region of a call is read from its SigV4 credential scope, so one server serves
// every region. All methods are safe for concurrent use.
type LogsServer struct {
	srv  *httptest.Server
	http *http.Client

	mu       sync.Mutex
	groups   map[string]map[string]bool   // region → existing groups
	store    *insights.Store              // the events, by region and group
	ready    map[string]logsReadiness     // region → readiness; "" = default
	status   map[string]types.QueryStatus // region → terminal status override
	latency  time.Duration
	faults   map[[2]string]*logsFault // (region, op) → injected error
	pageSize int
	onCall   func(region, op string)

	nextID     int
	queries    map[string]*logsQuery
	order      []string
	calls      map[[2]string]int // (region, op) → calls received
	stopped    map[string][]string
	pollTimes  map[string][]time.Time // region → GetQueryResults arrivals
	running    int
	maxRunning int
}

type logsReadiness struct {
	polls int
	after time.Duration
}

type logsFault struct {
	code  string
	times int // remaining; <0 means every call
}

type logsQuery struct {
	LogsQuery
	started time.Time
	result  insights.Result
}

// NewLogsServer starts a fake closed when tb ends. By default no log group exists,
// every query completes on its first poll and there is no latency.
func NewLogsServer(tb testing.TB) *LogsServer {
	tb.Helper()
	s := &LogsServer{
		groups:    map[string]map[string]bool{},
		store:     insights.NewStore(LogsAccountID),
		ready:     map[string]logsReadiness{},
		status:    map[string]types.QueryStatus{},
		faults:    map[[2]string]*logsFault{},
		pageSize:  50,
		queries:   map[string]*logsQuery{},
		calls:     map[[2]string]int{},
		stopped:   map[string][]string{},
		pollTimes: map[string][]time.Time{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.http = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	tb.Cleanup(func() {
		s.http.CloseIdleConnections()
		s.srv.Close()
	})
	return s
}

// URL is the server's base URL.
func (s *LogsServer) URL() string { return s.srv.URL }

// Client returns a real CloudWatch Logs client for region aimed at the fake, with
// static credentials and the SDK's retries only for connection errors, as its
// standard retryer retries them in production (a loaded machine can reset a
// keep-alive connection); injected throttling and other errors reach the caller's
// own retry logic.
func (s *LogsServer) Client(tb testing.TB, region string) *cloudwatchlogs.Client {
	tb.Helper()
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOGSFAKE", "logs-fake-secret", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		}),
		HTTPClient: s.http,
	})
}

// SetLogGroups makes exactly these groups exist in region.
func (s *LogsServer) SetLogGroups(region string, groups ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := map[string]bool{}
	for _, g := range groups {
		set[g] = true
	}
	s.groups[region] = set
}

// AddRows adds ai_usage lines of a session in region: each gets the session's
// telephonySessionId and, unless it has one, an @message holding "ai_usage" and
// its fields, as the pipeline logs them.
func (s *LogsServer) AddRows(region, sessionID string, rows ...LogsRow) {
	for _, r := range rows {
		f := make(map[string]string, len(r.Fields)+2)
		for k, v := range r.Fields {
			f[k] = v
		}
		f["telephonySessionId"] = sessionID
		if _, ok := f["@message"]; !ok {
			line, _ := json.Marshal(f)
			f["@message"] = r.Timestamp.UTC().Format(time.RFC3339Nano) + "\t" + f["@requestId"] + "\tINFO\tai_usage " + string(line)
		}
		s.store.Add(region, r.LogGroup, insights.Event{Timestamp: r.Timestamp, Fields: f})
	}
}

// AddEvents adds log events of one group in region, in bulk.
func (s *LogsServer) AddEvents(region, group string, events ...insights.Event) {
	s.store.Add(region, group, events...)
}

// SetReady makes queries in region ("" for every region without its own setting)
// report Running until they have been polled afterPolls times (GetQueryResults
// calls and DescribeQueries answers that report them) and afterDuration has
// passed since StartQuery.
func (s *LogsServer) SetReady(region string, afterPolls int, afterDuration time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready[region] = logsReadiness{polls: afterPolls, after: afterDuration}
}

// SetQueryStatus makes queries in region end with status (Failed, Timeout,
// Cancelled, Unknown) instead of Complete once they are ready.
func (s *LogsServer) SetQueryStatus(region string, status types.QueryStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[region] = status
}

// SetLatency delays every call by d before it is answered.
func (s *LogsServer) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// OnCall makes fn hear every call as it arrives, before the injected latency
// and whether or not the caller still waits for the answer (a call whose caller
// went away is still carried out, as AWS may carry it out). fn runs on the
// server's goroutine, must be quick, and must not call the server's methods.
func (s *LogsServer) OnCall(fn func(region, op string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCall = fn
}

// SetDescribePageSize sets how many groups one DescribeLogGroups page holds.
func (s *LogsServer) SetDescribePageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = max(n, 1)
}

// Fail makes the next times calls of op in region fail with the error code (such
// as "AccessDeniedException" or "ThrottlingException"); times <= 0 fails every call.
func (s *LogsServer) Fail(region, op, code string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times <= 0 {
		times = -1
	}
	s.faults[[2]string{region, op}] = &logsFault{code: code, times: times}
}

// Calls is how many op calls region received, failed ones included.
func (s *LogsServer) Calls(region, op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[[2]string{region, op}]
}

// Queries returns every query the fake accepted, in the order they started.
func (s *LogsServer) Queries() []LogsQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LogsQuery, 0, len(s.order))
	for _, id := range s.order {
		q := s.queries[id].LogsQuery
		q.LogGroups = slices.Clone(q.LogGroups)
		out = append(out, q)
	}
	return out
}

// Stopped returns the query ids StopQuery was called with in region.
func (s *LogsServer) Stopped(region string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.stopped[region])
}

// MaxPollRate is the most GetQueryResults calls region received within any
// one-second sliding window [t, t+1s), by the time each request reached the
// server's handler.
func (s *LogsServer) MaxPollRate(region string) int {
	s.mu.Lock()
	times := slices.Clone(s.pollTimes[region])
	s.mu.Unlock()
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i, j := 0, 0; j < len(times); j++ {
		for times[j].Sub(times[i]) >= time.Second {
			i++
		}
		most = max(most, j-i+1)
	}
	return most
}

// Running is how many queries are running now (started, not finished or stopped).
func (s *LogsServer) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// MaxRunning is the most queries that were running at once, over all regions.
func (s *LogsServer) MaxRunning() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxRunning
}

// logsError is an AWS JSON error response.
type logsError struct {
	code    string
	message string
}

func (e *logsError) Error() string { return e.code + ": " + e.message }

func (s *LogsServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	region := logsCredentialRegion(r.Header.Get("Authorization"))
	// The whole request is received before it is carried out, even when its
	// caller gives up during the latency.
	body, readErr := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var out any
	var err error
	switch {
	case !ok || r.Method != http.MethodPost:
		err = &logsError{"UnknownOperationException", "unknown target " + r.Header.Get("X-Amz-Target")}
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		err = &logsError{"SerializationException", "content type must be application/x-amz-json-1.1"}
	case region == "":
		err = &logsError{"IncompleteSignatureException", "no SigV4 credential scope"}
	case readErr != nil:
		err = &logsError{"SerializationException", "incomplete request body: " + readErr.Error()}
	default:
		s.heard(region, op)
		s.wait(r)
		out, err = s.dispatch(region, op, arrived, r)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("fake-%d", time.Now().UnixNano()))
	var le *logsError
	if errors.As(err, &le) {
		w.WriteHeader(http.StatusBadRequest)
		out = map[string]string{"__type": le.code, "message": le.message}
	}
	_ = json.NewEncoder(w).Encode(out)
}

// heard tells the OnCall function, if any, of a call.
func (s *LogsServer) heard(region, op string) {
	s.mu.Lock()
	fn := s.onCall
	s.mu.Unlock()
	if fn != nil {
		fn(region, op)
	}
}

// wait applies the injected latency, ending early if the client went away.
func (s *LogsServer) wait(r *http.Request) {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
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

// logsCredentialRegion reads the region from "Credential=AKID/date/region/logs/aws4_request".
func logsCredentialRegion(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return ""
	}
	return parts[2]
}

func (s *LogsServer) dispatch(region, op string, arrived time.Time, r *http.Request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[[2]string{region, op}]++
	if op == LogsGetQueryResults {
		s.pollTimes[region] = append(s.pollTimes[region], arrived)
	}
	if err := s.fault(region, op); err != nil {
		return nil, err
	}
	switch op {
	case LogsStartQuery:
		var in logsStartQueryInput
		if err := logsDecode(r, &in); err != nil {
			return nil, err
		}
		return s.startQuery(region, in)
	case LogsGetQueryResults:
		var in logsQueryIDInput
		if err := logsDecode(r, &in); err != nil {
			return nil, err
		}
		return s.getQueryResults(region, in.QueryID)
	case LogsStopQuery:
		var in logsQueryIDInput
		if err := logsDecode(r, &in); err != nil {
			return nil, err
		}
		return s.stopQuery(region, in.QueryID)
	case LogsDescribeLogGroups:
		var in logsDescribeInput
		if err := logsDecode(r, &in); err != nil {
			return nil, err
		}
		return s.describeLogGroups(region, in)
	case LogsDescribeQueries:
		var in logsDescribeQueriesInput
		if err := logsDecode(r, &in); err != nil {
			return nil, err
		}
		return s.describeQueries(region, in)
	}
	return nil, &logsError{"UnknownOperationException", "unsupported operation " + op}
}

func logsDecode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return &logsError{"SerializationException", err.Error()}
	}
	return nil
}

// fault consumes one injected failure of (region, op), if any.
func (s *LogsServer) fault(region, op string) error {
	f := s.faults[[2]string{region, op}]
	if f == nil || f.times == 0 {
		return nil
	}
	if f.times > 0 {
		f.times--
	}
	return &logsError{f.code, "injected " + f.code + " on logs:" + op}
}

type logsStartQueryInput struct {
	LogGroupNames []string `json:"logGroupNames"`
	QueryString   string   `json:"queryString"`
	StartTime     *int64   `json:"startTime"`
	EndTime       *int64   `json:"endTime"`
	Limit         int      `json:"limit"`
}

type logsQueryIDInput struct {
	QueryID string `json:"queryId"`
}

type logsDescribeInput struct {
	LogGroupNamePrefix string `json:"logGroupNamePrefix"`
	Limit              int    `json:"limit"`
	NextToken          string `json:"nextToken"`
}

func (s *LogsServer) startQuery(region string, in logsStartQueryInput) (any, error) {
	if len(in.LogGroupNames) == 0 || in.StartTime == nil || in.EndTime == nil {
		return nil, &logsError{"InvalidParameterException", "logGroupNames, startTime and endTime are required"}
	}
	if len(in.QueryString) > LogsMaxQueryLen {
		return nil, &logsError{"InvalidParameterException", fmt.Sprintf("1 validation error detected: Value at 'queryString' failed to satisfy constraint: Member must have length less than or equal to %d", LogsMaxQueryLen)}
	}
	if *in.EndTime < *in.StartTime {
		return nil, &logsError{"InvalidParameterException", "endTime is before startTime"}
	}
	for _, g := range in.LogGroupNames {
		if !s.groups[region][g] {
			return nil, &logsError{"ResourceNotFoundException", "Log group '" + g + "' does not exist for account ID '" + LogsAccountID + "'"}
		}
	}
	parsed, err := insights.Parse(in.QueryString)
	if err != nil {
		return nil, &logsError{"MalformedQueryException", err.Error()}
	}
	start, end := time.Unix(*in.StartTime, 0).UTC(), time.Unix(*in.EndTime, 0).UTC()
	res, err := s.store.Run(region, in.LogGroupNames, in.QueryString, start, end, in.Limit)
	if err != nil {
		return nil, &logsError{"MalformedQueryException", err.Error()}
	}
	s.nextID++
	q := &logsQuery{
		LogsQuery: LogsQuery{
			ID:        fmt.Sprintf("%s-query-%04d", region, s.nextID),
			Region:    region,
			LogGroups: slices.Clone(in.LogGroupNames),
			Sessions:  parsed.FilterValues("telephonySessionId"),
			Query:     in.QueryString,
			Start:     start,
			End:       end,
			Limit:     in.Limit,
			Stats:     res.Stats,
			Scanned:   res.Statistics,
			Status:    types.QueryStatusScheduled,
		},
		started: time.Now(),
		result:  res,
	}
	if len(q.Sessions) == 1 {
		q.SessionID = q.Sessions[0]
	}
	s.queries[q.ID] = q
	s.order = append(s.order, q.ID)
	s.running++
	s.maxRunning = max(s.maxRunning, s.running)
	return map[string]string{"queryId": q.ID}, nil
}

func (s *LogsServer) getQueryResults(region, id string) (any, error) {
	q, ok := s.queries[id]
	if !ok || q.Region != region {
		return nil, &logsError{"ResourceNotFoundException", "query " + id + " not found"}
	}
	q.Polls++
	s.advance(q)
	out := map[string]any{"status": q.Status}
	if q.Status == types.QueryStatusComplete {
		rows := logsResultRows(q.result.Rows)
		q.Rows = len(rows)
		out["results"] = rows
		st := q.result.Statistics
		out["statistics"] = map[string]float64{"recordsMatched": st.RecordsMatched, "recordsScanned": st.RecordsScanned, "bytesScanned": st.BytesScanned}
	}
	return out, nil
}

// advance moves q on after its status was observed (Polls or Described counted):
// Scheduled, then Running from the second observation, then its end once ready.
func (s *LogsServer) advance(q *logsQuery) {
	switch {
	case logsTerminal(q.Status):
	case s.isReady(q):
		q.Status = types.QueryStatusComplete
		if st, ok := s.status[q.Region]; ok {
			q.Status = st
		}
		s.running--
	case q.Status == types.QueryStatusScheduled && q.Polls+q.Described > 1:
		q.Status = types.QueryStatusRunning
	}
}

func (s *LogsServer) isReady(q *logsQuery) bool {
	r, ok := s.ready[q.Region]
	if !ok {
		r = s.ready[""]
	}
	return q.Polls+q.Described > r.polls && time.Since(q.started) >= r.after
}

type logsDescribeQueriesInput struct {
	LogGroupName string `json:"logGroupName"`
	Status       string `json:"status"`
	MaxResults   int    `json:"maxResults"`
	NextToken    string `json:"nextToken"`
}

// describeQueries lists the region's queries, newest first, optionally only those
// of one log group or in one status, maxResults (1–1000, default 1000) a page. A
// query's status is observed (and may move on) as GetQueryResults would observe it.
func (s *LogsServer) describeQueries(region string, in logsDescribeQueriesInput) (any, error) {
	if in.MaxResults < 0 || in.MaxResults > 1000 {
		return nil, &logsError{"InvalidParameterException", "maxResults must be between 1 and 1000"}
	}
	size := in.MaxResults
	if size == 0 {
		size = 1000
	}
	var list []map[string]any
	for i := len(s.order) - 1; i >= 0; i-- {
		q := s.queries[s.order[i]]
		if q.Region != region || in.LogGroupName != "" && !slices.Contains(q.LogGroups, in.LogGroupName) {
			continue
		}
		q.Described++
		s.advance(q)
		if in.Status != "" && string(q.Status) != in.Status {
			continue
		}
		list = append(list, map[string]any{"queryId": q.ID, "queryString": q.Query, "status": q.Status,
			"createTime": q.started.UnixMilli(), "logGroupName": q.LogGroups[0]})
	}
	from, _ := strconv.Atoi(in.NextToken)
	to := min(from+size, len(list))
	from = min(from, to)
	out := map[string]any{"queries": list[from:to]}
	if to < len(list) {
		out["nextToken"] = strconv.Itoa(to)
	}
	return out, nil
}

func logsTerminal(st types.QueryStatus) bool {
	return st != types.QueryStatusScheduled && st != types.QueryStatusRunning
}

type logsResultField struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// logsResultRows is the results array of GetQueryResults.
func logsResultRows(rows [][]insights.Field) [][]logsResultField {
	out := make([][]logsResultField, 0, len(rows))
	for _, r := range rows {
		fields := make([]logsResultField, 0, len(r))
		for _, f := range r {
			fields = append(fields, logsResultField{f.Name, f.Value})
		}
		out = append(out, fields)
	}
	return out
}

func (s *LogsServer) stopQuery(region, id string) (any, error) {
	s.stopped[region] = append(s.stopped[region], id)
	q, ok := s.queries[id]
	if !ok || q.Region != region {
		return nil, &logsError{"ResourceNotFoundException", "query " + id + " not found"}
	}
	if logsTerminal(q.Status) {
		return map[string]bool{"success": false}, nil
	}
	q.Status = types.QueryStatusCancelled
	q.Stopped = true
	s.running--
	return map[string]bool{"success": true}, nil
}

func (s *LogsServer) describeLogGroups(region string, in logsDescribeInput) (any, error) {
	var names []string
	for g := range s.groups[region] {
		if strings.HasPrefix(g, in.LogGroupNamePrefix) {
			names = append(names, g)
		}
	}
	sort.Strings(names)
	from, _ := strconv.Atoi(in.NextToken)
	size := s.pageSize
	if in.Limit > 0 {
		size = min(size, in.Limit)
	}
	to := min(from+size, len(names))
	from = min(from, to)
	groups := make([]map[string]any, 0, to-from)
	for _, g := range names[from:to] {
		groups = append(groups, map[string]any{
			"logGroupName": g,
			"arn":          "arn:aws:logs:" + region + ":" + LogsAccountID + ":log-group:" + g + ":*",
		})
	}
	out := map[string]any{"logGroups": groups}
	if to < len(names) {
		out["nextToken"] = strconv.Itoa(to)
	}
	return out, nil
}

// SessionFilter parses query as Insights does and returns the one
// telephonySessionId its filters ask for, unescaped. It fails on anything a
// spliced value could produce: a query Insights would refuse, or one whose filters
// name no session or more than one.
func SessionFilter(query string) (string, error) {
	parsed, err := insights.Parse(query)
	if err != nil {
		return "", err
	}
	sessions := parsed.FilterValues("telephonySessionId")
	if len(sessions) != 1 {
		return "", fmt.Errorf("%d telephonySessionId filter values, want 1", len(sessions))
	}
	return sessions[0], nil
}
