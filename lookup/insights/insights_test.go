package insights

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	testRegion = "us-east-1"
	groupA     = "/aws/lambda/a"
	groupB     = "/aws/lambda/b"
)

var t0 = time.Date(2026, 5, 20, 17, 0, 0, 0, time.UTC)

// ev is an ai_usage event at t0+offset with fields given as key, value pairs.
func ev(offset time.Duration, kv ...string) Event {
	f := map[string]string{"@message": "ai_usage " + fmt.Sprint(kv)}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	return Event{Timestamp: t0.Add(offset), Fields: f}
}

func testStore() *Store {
	s := NewStore("123456789012")
	s.Add(testRegion, groupA,
		ev(10*time.Second, "telephonySessionId", "s-1", "model", "m1", "provider", "P", "inputTokens", "100", "cacheReadTokens", "90", "costUsd", "0.5", "finishReason", "stop"),
		ev(20*time.Second, "telephonySessionId", "s-1", "model", "m1", "provider", "Q", "inputTokens", "300", "cacheReadTokens", "0", "costUsd", "1.5", "finishReason", "length"),
		ev(70*time.Minute, "telephonySessionId", "s-2", "model", "m2", "provider", "P", "inputTokens", "200", "costUsd", "0.25", "finishReason", "stop"),
		ev(80*time.Minute, "telephonySessionId", `s-"3\`, "model", "m2", "inputTokens", "50", "finishReason", "stop"),
	)
	s.Add(testRegion, groupB, ev(30*time.Second, "telephonySessionId", "s-1", "model", "m1", "provider", "P", "inputTokens", "1000", "cacheReadTokens", "500", "costUsd", "2", "finishReason", "stop"))
	s.Add("us-west-2", groupA, ev(time.Minute, "telephonySessionId", "s-9", "inputTokens", "7"))
	return s
}

// run queries groups A and B of the test store over t0 ± 1 day.
func run(t *testing.T, query string) Result {
	t.Helper()
	res, err := testStore().Run(testRegion, []string{groupA, groupB}, query, t0.Add(-24*time.Hour), t0.Add(24*time.Hour), 0)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return res
}

// column is one field of every row ("-" where a row lacks it).
func column(rows [][]Field, name string) []string {
	out := []string{}
	for _, r := range rows {
		v := "-"
		for _, f := range r {
			if f.Name == name {
				v = f.Value
			}
		}
		out = append(out, v)
	}
	return out
}

func TestFilters(t *testing.T) {
	tests := []struct {
		name, filter string
		want         []string // telephonySessionId of the matches, oldest first
	}{
		{"regex on the message", `@message like /ai_usage/`, []string{"s-1", "s-1", "s-1", "s-2", `s-"3\`}},
		{"regex matches nothing", `@message like /^nothing/`, []string{}},
		{"substring like", `provider like "Q"`, []string{"s-1"}},
		{"not like", `model not like /1$/`, []string{"s-2", `s-"3\`}},
		{"equal string", `telephonySessionId = "s-2"`, []string{"s-2"}},
		{"escaped string", `telephonySessionId = "s-\"3\\"`, []string{`s-"3\`}},
		{"not equal skips absent", `provider != "P"`, []string{"s-1"}},
		{"numeric greater", `inputTokens > 150`, []string{"s-1", "s-1", "s-2"}},
		{"numeric less or equal", `inputTokens <= 100`, []string{"s-1", `s-"3\`}},
		{"number on the left", `150 < inputTokens`, []string{"s-1", "s-1", "s-2"}},
		{"numbers compare as numbers", `costUsd = 2.0`, []string{"s-1"}},
		{"in list", `telephonySessionId in ["s-2", "s-\"3\\"]`, []string{"s-2", `s-"3\`}},
		{"not in list", `telephonySessionId not in ["s-1"]`, []string{"s-2", `s-"3\`}},
		{"and binds tighter than or", `model = "m2" and inputTokens > 100 or provider = "Q"`, []string{"s-1", "s-2"}},
		{"parentheses", `model = "m2" and (inputTokens > 100 or provider = "Q")`, []string{"s-2"}},
		{"not", `not ispresent(costUsd)`, []string{`s-"3\`}},
		{"ispresent", `ispresent(cacheReadTokens)`, []string{"s-1", "s-1", "s-1"}},
		{"keywords in any case", `model = "m2" AND NOT ispresent(provider)`, []string{`s-"3\`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, "fields telephonySessionId | filter "+tt.filter+" | sort @timestamp asc")
			if diff := cmp.Diff(tt.want, column(res.Rows, "telephonySessionId")); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
			if res.Statistics.RecordsMatched != float64(len(tt.want)) {
				t.Errorf("recordsMatched %v, want %d", res.Statistics.RecordsMatched, len(tt.want))
			}
		})
	}
}

func TestEventResultShape(t *testing.T) {
	res := run(t, "fields @timestamp, @log, model, nosuchfield | filter telephonySessionId = \"s-2\"")
	want := [][]Field{{
		{"@timestamp", "2026-05-20 18:10:00.000"}, {"@log", "123456789012:" + groupA}, {"model", "m2"},
		{"@ptr", "ptr:us-east-1:/aws/lambda/a:2"},
	}}
	if diff := cmp.Diff(want, res.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if res.Stats {
		t.Error("an event query reported as stats")
	}
	// Without fields or display, Insights shows @timestamp and @message, newest first.
	res = run(t, `filter provider = "P"`)
	if got := column(res.Rows, "@timestamp"); !cmp.Equal(got, []string{"2026-05-20 18:10:00.000", "2026-05-20 17:00:30.000", "2026-05-20 17:00:10.000"}) {
		t.Errorf("default order %v, want newest first", got)
	}
	if len(res.Rows[0]) != 3 || res.Rows[0][1].Name != "@message" {
		t.Errorf("default fields %v, want @timestamp, @message, @ptr", res.Rows[0])
	}
	res = run(t, "fields model, costUsd | display costUsd | sort costUsd desc | limit 2")
	if diff := cmp.Diff([][]Field{{{"costUsd", "2"}, {"@ptr", "ptr:us-east-1:/aws/lambda/b:0"}}, {{"costUsd", "1.5"}, {"@ptr", "ptr:us-east-1:/aws/lambda/a:1"}}}, res.Rows); diff != "" {
		t.Errorf("display rows (-want +got):\n%s", diff)
	}
}

func TestStats(t *testing.T) {
	tests := []struct {
		name, query string
		want        [][]Field
	}{
		{
			name:  "aggregates with aliases",
			query: `stats count(*) as n, sum(inputTokens) as input, avg(costUsd) as avg_cost, min(inputTokens) as lo, max(costUsd) as hi, count(provider) as with_provider, count_distinct(model) as models`,
			want:  [][]Field{{{"n", "5"}, {"input", "1650"}, {"avg_cost", "1.0625"}, {"lo", "50"}, {"hi", "2"}, {"with_provider", "4"}, {"models", "2"}}},
		},
		{
			name:  "names as written without aliases",
			query: `stats count(*), count(), sum(costUsd) by model | sort model asc`,
			want: [][]Field{
				{{"model", "m1"}, {"count(*)", "3"}, {"count()", "3"}, {"sum(costUsd)", "4"}},
				{{"model", "m2"}, {"count(*)", "2"}, {"count()", "2"}, {"sum(costUsd)", "0.25"}},
			},
		},
		{
			name:  "bin(1h) prints the hour's start like Insights",
			query: `stats sum(inputTokens) as input, sum(cacheReadTokens) as cached by bin(1h), model | sort ` + "`bin(1h)`" + ` asc`,
			want: [][]Field{
				{{"bin(1h)", "2026-05-20 17:00:00.000"}, {"model", "m1"}, {"input", "1400"}, {"cached", "590"}},
				{{"bin(1h)", "2026-05-20 18:00:00.000"}, {"model", "m2"}, {"input", "250"}},
			},
		},
		{
			name:  "absent group field is a null key",
			query: `stats count(*) as n by provider | sort n desc`,
			want:  [][]Field{{{"provider", "P"}, {"n", "3"}}, {{"provider", "Q"}, {"n", "1"}}, {{"n", "1"}}},
		},
		{
			name:  "@log groups by log group",
			query: `stats count(*) as n by @log | sort n asc`,
			want:  [][]Field{{{"@log", "123456789012:" + groupB}, {"n", "1"}}, {{"@log", "123456789012:" + groupA}, {"n", "4"}}},
		},
		{
			name:  "filter, sort and limit after stats",
			query: `stats sum(costUsd) as cost by telephonySessionId | filter cost > 0.3 | sort cost desc | limit 1`,
			want:  [][]Field{{{"telephonySessionId", "s-1"}, {"cost", "4"}}},
		},
		{
			name: "a second stats over the first one's results",
			query: `filter ispresent(provider) | stats count_distinct(provider) as providers by telephonySessionId
				| stats count(*) as sessions, sortsFirst(telephonySessionId) as first, sortsLast(telephonySessionId) as last by providers | sort providers asc`,
			want: [][]Field{
				{{"providers", "1"}, {"sessions", "1"}, {"first", "s-2"}, {"last", "s-2"}},
				{{"providers", "2"}, {"sessions", "1"}, {"first", "s-1"}, {"last", "s-1"}},
			},
		},
		{
			name:  "stats over nothing still answers one row",
			query: `filter model = "none" | stats count(*) as n, sum(costUsd) as cost`,
			want:  [][]Field{{{"n", "0"}}},
		},
		{
			name:  "multi-key sort",
			query: `stats count(*) as n by model, finishReason | sort n desc, finishReason asc`,
			want: [][]Field{
				{{"model", "m1"}, {"finishReason", "stop"}, {"n", "2"}}, {{"model", "m2"}, {"finishReason", "stop"}, {"n", "2"}},
				{{"model", "m1"}, {"finishReason", "length"}, {"n", "1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, tt.query)
			if diff := cmp.Diff(tt.want, res.Rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if !res.Stats {
				t.Error("a stats query not reported as stats")
			}
		})
	}
}

func TestSortOrder(t *testing.T) {
	s := NewStore("1")
	for i, v := range []string{"10", "9", "b", "a", "2.5"} {
		s.Add(testRegion, groupA, ev(time.Duration(i)*time.Second, "v", v))
	}
	s.Add(testRegion, groupA, ev(10*time.Second, "other", "x"))
	res, err := s.Run(testRegion, []string{groupA}, "fields v | sort v asc", t0, t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Text before numbers, numbers by value, a row without the field last.
	if diff := cmp.Diff([]string{"a", "b", "2.5", "9", "10", "-"}, column(res.Rows, "v")); diff != "" {
		t.Errorf("asc (-want +got):\n%s", diff)
	}
	res, _ = s.Run(testRegion, []string{groupA}, "fields v | sort v desc", t0, t0.Add(time.Hour), 0)
	if diff := cmp.Diff([]string{"10", "9", "2.5", "b", "a", "-"}, column(res.Rows, "v")); diff != "" {
		t.Errorf("desc (-want +got):\n%s", diff)
	}
}

func TestStatisticsCountEverythingScanned(t *testing.T) {
	s := testStore()
	var all, bytes float64
	for _, g := range []string{groupA, groupB} {
		for _, e := range s.events[[2]string{testRegion, g}] {
			all++
			bytes += float64(e.Size())
		}
	}
	from, to := t0.Add(-time.Hour), t0.Add(2*time.Hour)
	res, err := s.Run(testRegion, []string{groupA, groupB}, `filter model = "m2" | stats count(*) as n`, from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := Statistics{RecordsMatched: 2, RecordsScanned: all, BytesScanned: bytes}
	if diff := cmp.Diff(want, res.Statistics); diff != "" {
		t.Errorf("statistics (-want +got):\n%s", diff)
	}
	// The range is inclusive to the second, and only the queried groups count.
	res, _ = s.Run(testRegion, []string{groupA}, `fields model`, t0.Add(20*time.Second), t0.Add(70*time.Minute), 0)
	if res.Statistics.RecordsScanned != 2 || len(res.Rows) != 2 {
		t.Errorf("scanned %v, rows %d in [t0+20s, t0+70m], want the two events on its edges", res.Statistics.RecordsScanned, len(res.Rows))
	}
}

func TestRowCap(t *testing.T) {
	s := NewStore("1")
	events := make([]Event, maxRows+5)
	for i := range events {
		events[i] = ev(time.Duration(i)*time.Millisecond, "n", fmt.Sprint(i))
	}
	s.Add(testRegion, groupA, events...)
	res, err := s.Run(testRegion, []string{groupA}, "fields n", t0, t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != maxRows || res.Statistics.RecordsMatched != maxRows+5 {
		t.Errorf("%d rows, %v matched; want the %d-row cap and every match counted", len(res.Rows), res.Statistics.RecordsMatched, maxRows)
	}
	res, _ = s.Run(testRegion, []string{groupA}, "stats count(*) as c by n", t0, t0.Add(time.Hour), 0)
	if len(res.Rows) != maxRows {
		t.Errorf("%d stats rows, want the cap", len(res.Rows))
	}
	res, _ = s.Run(testRegion, []string{groupA}, "fields n", t0, t0.Add(time.Hour), 7)
	if len(res.Rows) != 7 {
		t.Errorf("%d rows with StartQuery limit 7", len(res.Rows))
	}
}

func TestMalformedQueries(t *testing.T) {
	for _, q := range []string{
		"",
		"fields",
		"parse @message 'x' as y",
		"fields a | | limit 1",
		"filter x ==== 1",
		"filter x = ",
		`filter x = "unterminated`,
		`filter x = "bad \q escape"`,
		"filter x like /unterminated",
		"filter x like /(/",
		"filter strlen(x) > 1",
		"filter x in [y]",
		"filter x in [\"a\"",
		"stats median(x)",
		"stats count(*) by bin(1mo)",
		"stats count(*) by bin(x)",
		"stats count(*) | stats count(*) | stats count(*)",
		"sort",
		"limit 0",
		"limit 10001",
		"limit many",
		"fields a b",
		"fields a | dedup a",
		"fields median(x) as m",
		"fields log(x, 2) as l",
		"fields floor() as f",
		"fields (x + 1 as y",
		"fields x + as y",
	} {
		t.Run(q, func(t *testing.T) {
			_, err := Parse(q)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("Parse(%q) = %v, want a *SyntaxError", q, err)
			}
		})
	}
}

// TestTraceQuery runs the trace's own query (SPEC §3), whose session id is
// escaped: an injected clause must match literally, not widen the filter.
func TestTraceQuery(t *testing.T) {
	const query = `fields @timestamp, @log, @requestId, service, openrouterId, provider, model,
       inputTokens, outputTokens, cacheReadTokens, cacheReadRatio, costUsd, finishReason
| filter @message like /ai_usage/
| filter telephonySessionId = %s
| sort @timestamp asc
| limit 100`
	tests := []struct {
		literal string
		want    int
	}{
		{`"s-1"`, 3},
		{`"s-\"3\\"`, 1},
		{`"s-1\" or telephonySessionId like /s-/ or \"x"`, 0},
	}
	for _, tt := range tests {
		res := run(t, fmt.Sprintf(query, tt.literal))
		if len(res.Rows) != tt.want {
			t.Errorf("%s: %d rows, want %d", tt.literal, len(res.Rows), tt.want)
		}
	}
}

// TestComputedFields: fields computes arithmetic and Insights' numeric functions
// (log is the natural logarithm); a value is null, and absent from the row,
// when a field it reads is absent or the arithmetic has no real answer.
func TestComputedFields(t *testing.T) {
	tests := []struct {
		name, fields string
		want         []string // the computed field of each row by @timestamp ("-": absent)
	}{
		{"log bucket", "floor(log(inputTokens) * 100) as x", []string{"460", "570", "690", "529", "391"}},
		{"natural log", "log(inputTokens) as x", []string{"4.605170185988092", "5.703782474656201", "6.907755278982137", "5.298317366548036", "3.912023005428146"}},
		{"precedence", "2 + 3 * 4 ^ 2 - 1 as x", []string{"49", "49", "49", "49", "49"}},
		{"power is right-associative", "2 ^ 3 ^ 2 as x", []string{"512", "512", "512", "512", "512"}},
		{"parentheses and minus", "-(inputTokens - 1) / 3 as x", []string{"-33", "-99.66666666666667", "-333", "-66.33333333333333", "-16.333333333333332"}},
		{"a negative number after a field subtracts", "inputTokens -1 as x", []string{"99", "299", "999", "199", "49"}},
		{"an absent field is null", "cacheReadTokens * 2 as x", []string{"180", "0", "1000", "-", "-"}},
		{"log of zero is null", "log(cacheReadTokens) as x", []string{"4.499809670330265", "-", "6.214608098422191", "-", "-"}},
		{"coalesce", "coalesce(floor(log(cacheReadTokens)), -1) as x", []string{"4", "-1", "6", "-1", "-1"}},
		{"greatest and least skip nulls", "greatest(cacheReadTokens, 95) - least(costUsd, 1) as x", []string{"94.5", "94", "499", "94.75", "94"}},
		{"abs ceil sqrt and modulo", "abs(ceil(sqrt(inputTokens)) % 7 - 10) as x", []string{"7", "6", "6", "9", "9"}},
		{"division by zero is null", "inputTokens / (costUsd - costUsd) as x", []string{"-", "-", "-", "-", "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, "fields "+tt.fields+" | sort @timestamp asc")
			if diff := cmp.Diff(tt.want, column(res.Rows, "x")); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
	// A computed field groups like any other; rows where it is null form one
	// group, which shows without the field (and sorts last).
	res := run(t, "fields floor(log(cacheReadTokens)) as b | stats count(*) as n, count(inputTokens) as with_input by b | sort b asc")
	want := [][]Field{{{"b", "4"}, {"n", "1"}, {"with_input", "1"}}, {{"b", "6"}, {"n", "1"}, {"with_input", "1"}}, {{"n", "3"}, {"with_input", "3"}}}
	if diff := cmp.Diff(want, res.Rows); diff != "" {
		t.Errorf("grouped by a computed field (-want +got):\n%s", diff)
	}
	// Without an alias a computed field is named as written.
	res = run(t, `fields floor(inputTokens / 7) | filter telephonySessionId = "s-2"`)
	if got := column(res.Rows, "floor(inputTokens/7)"); !cmp.Equal(got, []string{"28"}) {
		t.Errorf("unnamed computed field: %v", res.Rows)
	}
}
