package insights

import (
	"slices"
	"strconv"
	"sync"
	"time"
)

// Event is one log event: when it happened and its fields as Insights discovers
// them. @message is the raw line; its length is what a query scans. @timestamp,
// @log and @ptr are added by the store.
type Event struct {
	Timestamp time.Time
	Fields    map[string]string
}

// Size is the event's size in bytes as a query scans it: the raw line, or the
// fields' text when the event has no @message.
func (e Event) Size() int {
	if m, ok := e.Fields["@message"]; ok {
		return len(m)
	}
	n := 0
	for k, v := range e.Fields {
		n += len(k) + len(v)
	}
	return n
}

// Statistics are a query's statistics, as GetQueryResults reports them. Like
// Insights' bill, RecordsScanned and BytesScanned count every event of the queried
// groups inside the time range, whatever the filters keep.
type Statistics struct {
	RecordsMatched float64
	RecordsScanned float64
	BytesScanned   float64
}

// Result is the answer to one query.
type Result struct {
	Rows       [][]Field
	Statistics Statistics
	Stats      bool // the query aggregated: rows are stats results, not events
}

// Store holds log events by region and log group and runs queries over them. It is
// safe for concurrent use.
type Store struct {
	account string

	mu     sync.RWMutex
	events map[[2]string][]Event // (region, group) → events
}

// NewStore returns an empty store whose @log values name account
// ("account:group", as Insights prints them).
func NewStore(account string) *Store {
	return &Store{account: account, events: map[[2]string][]Event{}}
}

// Add stores events of one group in region.
func (s *Store) Add(region, group string, events ...Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{region, group}
	s.events[k] = append(s.events[k], events...)
}

// Run parses and evaluates query over the events of groups in region whose
// timestamps, to the second, lie in [start, end] (Insights' range is inclusive).
// limit caps the rows as StartQuery's limit does (0: the 10,000-row cap). A query
// outside the supported language is a *SyntaxError.
func (s *Store) Run(region string, groups []string, query string, start, end time.Time, limit int) (Result, error) {
	q, err := Parse(query)
	if err != nil {
		return Result{}, err
	}
	rows, stats := s.scan(region, groups, start, end)
	out, matched := q.run(rows, limit)
	stats.RecordsMatched = float64(matched)
	return Result{Rows: out, Statistics: stats, Stats: q.IsStats()}, nil
}

func (s *Store) scan(region string, groups []string, start, end time.Time) ([]*row, Statistics) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var rows []*row
	var st Statistics
	for _, g := range slices.Compact(slices.Sorted(slices.Values(groups))) {
		for i, e := range s.events[[2]string{region, g}] {
			ts := e.Timestamp.Truncate(time.Second)
			if ts.Before(start) || ts.After(end) {
				continue
			}
			st.RecordsScanned++
			st.BytesScanned += float64(e.Size())
			rows = append(rows, s.row(region, g, i, e))
		}
	}
	slices.SortStableFunc(rows, func(a, b *row) int { return a.ts.Compare(b.ts) })
	return rows, st
}

func (s *Store) row(region, group string, i int, e Event) *row {
	f := make(map[string]string, len(e.Fields)+3)
	for k, v := range e.Fields {
		f[k] = v
	}
	f["@timestamp"] = e.Timestamp.UTC().Format(TimestampLayout)
	f["@log"] = s.account + ":" + group
	f["@ptr"] = "ptr:" + region + ":" + group + ":" + strconv.Itoa(i)
	return &row{ts: e.Timestamp.UTC(), f: f}
}
