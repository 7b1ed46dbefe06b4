package insights

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TimestampLayout is how Insights prints @timestamp and bin() values, in UTC.
const TimestampLayout = "2006-01-02 15:04:05.000"

// Field is one field of a result row, as GetQueryResults returns it.
type Field struct {
	Name, Value string
}

// row is a log event or a stats result while a query runs.
type row struct {
	ts time.Time // the event's time; zero for stats results
	f  map[string]string
}

func (r *row) get(name string) (string, bool) {
	v, ok := r.f[name]
	return v, ok
}

// evaluation is one run of a query over some rows.
type evaluation struct {
	rows      []*row
	fields    []string // named by fields commands, in order
	display   []string // the last display command
	labels    []string // result fields of the last stats
	stats     bool
	sorted    bool
	matched   int // rows that passed the filters before the first stats
	matchedOK bool
}

// run evaluates q over rows (already limited to the queried groups and range) and
// returns the result rows, at most limit of them (0: the 10,000 cap), and the
// number of records that matched the filters.
func (q *Query) run(rows []*row, limit int) ([][]Field, int) {
	e := &evaluation{rows: rows}
	for _, c := range q.commands {
		e.apply(c)
	}
	if !e.matchedOK {
		e.matched = len(e.rows)
	}
	if !e.stats && !e.sorted {
		slices.SortStableFunc(e.rows, func(a, b *row) int { return b.ts.Compare(a.ts) })
	}
	if limit <= 0 || limit > maxRows {
		limit = maxRows
	}
	if len(e.rows) > limit {
		e.rows = e.rows[:limit]
	}
	return e.output(), e.matched
}

func (e *evaluation) apply(c command) {
	switch c := c.(type) {
	case fieldsCmd:
		for _, it := range c.items {
			if !slices.Contains(e.fields, it.name) {
				e.fields = append(e.fields, it.name)
			}
			if it.expr != nil {
				e.compute(it)
			}
		}
	case displayCmd:
		e.display = c.names
	case filterCmd:
		kept := e.rows[:0:0]
		for _, r := range e.rows {
			if c.cond.match(r) {
				kept = append(kept, r)
			}
		}
		e.rows = kept
	case statsCmd:
		if !e.stats {
			e.matched, e.matchedOK = len(e.rows), true
		}
		e.rows, e.labels = c.run(e.rows), c.labels()
		e.stats, e.sorted = true, false
	case sortCmd:
		slices.SortStableFunc(e.rows, c.compare)
		e.sorted = true
	case limitCmd:
		if len(e.rows) > c.n {
			e.rows = e.rows[:c.n]
		}
	}
}

// compute sets the computed field on every row, or takes it away where its
// value is null.
func (e *evaluation) compute(it fieldItem) {
	for _, r := range e.rows {
		if v, ok := it.expr.eval(r); ok {
			r.f[it.name] = v
		} else {
			delete(r.f, it.name)
		}
	}
}

// output prints the rows: the displayed (else the named) fields that each row
// has; log events end with @ptr, as Insights' do.
func (e *evaluation) output() [][]Field {
	names := e.display
	switch {
	case names != nil:
	case e.stats:
		names = e.labels
	case e.fields != nil:
		names = e.fields
	default:
		names = []string{"@timestamp", "@message"}
	}
	out := make([][]Field, 0, len(e.rows))
	for _, r := range e.rows {
		fields := make([]Field, 0, len(names)+1)
		for _, n := range names {
			if v, ok := r.get(n); ok {
				fields = append(fields, Field{n, v})
			}
		}
		if p, ok := r.get("@ptr"); ok && !e.stats {
			fields = append(fields, Field{"@ptr", p})
		}
		out = append(out, fields)
	}
	return out
}

// Values: numbers are compared as numbers, everything else as text.

func number(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// compareValues orders two values as Insights' ascending sort does: text before
// numbers, numbers by value, text by code point.
func compareValues(a, b string) int {
	na, aNum := number(a)
	nb, bNum := number(b)
	switch {
	case aNum && bNum:
		return cmpFloat(na, nb)
	case aNum:
		return 1
	case bNum:
		return -1
	}
	return strings.Compare(a, b)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equalValues is = between two values: numerically when both are numbers.
func equalValues(a, b string) bool {
	na, aNum := number(a)
	nb, bNum := number(b)
	if aNum && bNum {
		return na == nb
	}
	return a == b
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (o operand) value(r *row) (string, bool) {
	if o.isField {
		return r.get(o.field)
	}
	return o.literal, true
}

func (c orCond) match(r *row) bool      { return c.l.match(r) || c.r.match(r) }
func (c andCond) match(r *row) bool     { return c.l.match(r) && c.r.match(r) }
func (c notCond) match(r *row) bool     { return !c.c.match(r) }
func (c presentCond) match(r *row) bool { _, ok := r.get(c.field); return ok }

// match is false when either side is absent, whatever the operator, as a
// comparison with a missing field never holds in Insights.
func (c compareCond) match(r *row) bool {
	l, lok := c.l.value(r)
	v, rok := c.r.value(r)
	if !lok || !rok {
		return false
	}
	switch c.op {
	case "=":
		return equalValues(l, v)
	case "!=":
		return !equalValues(l, v)
	}
	n := compareValues(l, v)
	switch c.op {
	case "<":
		return n < 0
	case ">":
		return n > 0
	case "<=":
		return n <= 0
	}
	return n >= 0
}

func (c likeCond) match(r *row) bool {
	v, ok := c.o.value(r)
	if !ok {
		return false
	}
	var hit bool
	if c.re != nil {
		hit = c.re.MatchString(v)
	} else {
		hit = strings.Contains(v, c.sub)
	}
	return hit != c.negate
}

func (c inCond) match(r *row) bool {
	v, ok := c.o.value(r)
	if !ok {
		return false
	}
	hit := slices.ContainsFunc(c.list, func(o operand) bool { return equalValues(v, o.literal) })
	return hit != c.negate
}

// compare orders rows by the sort keys; a row without a key's field comes last
// in either direction.
func (c sortCmd) compare(a, b *row) int {
	for _, k := range c.keys {
		va, aok := a.get(k.field)
		vb, bok := b.get(k.field)
		var n int
		switch {
		case !aok && !bok:
		case !aok:
			return 1
		case !bok:
			return -1
		default:
			n = compareValues(va, vb)
			if k.desc {
				n = -n
			}
		}
		if n != 0 {
			return n
		}
	}
	return 0
}

func (s statsCmd) labels() []string {
	out := make([]string, 0, len(s.groups)+len(s.aggs))
	for _, g := range s.groups {
		out = append(out, g.label)
	}
	for _, a := range s.aggs {
		out = append(out, a.label)
	}
	return out
}

// run groups rows by the by-terms, in order of first appearance, and aggregates
// each group. A group term whose field a row lacks groups that row under a null
// key, which the result omits.
func (s statsCmd) run(rows []*row) []*row {
	type group struct {
		keys []groupValue
		accs []accumulator
	}
	var order []string
	groups := map[string]*group{}
	for _, r := range rows {
		keys := make([]groupValue, len(s.groups))
		var id strings.Builder
		for i, g := range s.groups {
			keys[i] = g.value(r)
			id.WriteString(strconv.FormatBool(keys[i].ok))
			id.WriteString(keys[i].v)
			id.WriteByte(0)
		}
		g, ok := groups[id.String()]
		if !ok {
			g = &group{keys: keys, accs: make([]accumulator, len(s.aggs))}
			groups[id.String()] = g
			order = append(order, id.String())
		}
		for i, a := range s.aggs {
			g.accs[i].add(a, r)
		}
	}
	if len(s.groups) == 0 && len(order) == 0 {
		// A stats without by answers one row even over no events.
		groups[""], order = &group{accs: make([]accumulator, len(s.aggs))}, []string{""}
	}
	out := make([]*row, 0, len(order))
	for _, id := range order {
		g := groups[id]
		res := &row{f: map[string]string{}}
		for i, k := range g.keys {
			if k.ok {
				res.f[s.groups[i].label] = k.v
			}
		}
		for i, a := range s.aggs {
			if v, ok := g.accs[i].result(a); ok {
				res.f[a.label] = v
			}
		}
		out = append(out, res)
	}
	return out
}

type groupValue struct {
	v  string
	ok bool
}

func (g groupKey) value(r *row) groupValue {
	if g.bin > 0 {
		if r.ts.IsZero() {
			return groupValue{}
		}
		return groupValue{r.ts.UTC().Truncate(g.bin).Format(TimestampLayout), true}
	}
	v, ok := r.get(g.field)
	return groupValue{v, ok}
}

// accumulator collects one aggregate of one group.
type accumulator struct {
	n        int
	sum      float64
	numbers  int
	min, max float64
	first    string // sortsFirst / sortsLast, in sort order
	last     string
	seen     bool
	distinct map[string]bool
}

func (acc *accumulator) add(a aggregate, r *row) {
	if a.arg == "*" {
		acc.n++
		return
	}
	v, ok := r.get(a.arg)
	if !ok {
		return
	}
	acc.n++
	if f, isNum := number(v); isNum {
		if acc.numbers == 0 || f < acc.min {
			acc.min = f
		}
		if acc.numbers == 0 || f > acc.max {
			acc.max = f
		}
		acc.sum += f
		acc.numbers++
	}
	if !acc.seen || compareValues(v, acc.first) < 0 {
		acc.first = v
	}
	if !acc.seen || compareValues(v, acc.last) > 0 {
		acc.last = v
	}
	acc.seen = true
	if a.fn == "count_distinct" {
		if acc.distinct == nil {
			acc.distinct = map[string]bool{}
		}
		acc.distinct[v] = true
	}
}

// result is the aggregate's value; false when there was nothing to aggregate
// (a sum, average, minimum or maximum of no numbers), which Insights leaves out.
func (acc *accumulator) result(a aggregate) (string, bool) {
	switch a.fn {
	case "count":
		return strconv.Itoa(acc.n), true
	case "count_distinct":
		return strconv.Itoa(len(acc.distinct)), true
	case "sortsfirst":
		return acc.first, acc.seen
	case "sortslast":
		return acc.last, acc.seen
	}
	if acc.numbers == 0 {
		return "", false
	}
	switch a.fn {
	case "sum":
		return formatNumber(acc.sum), true
	case "avg":
		return formatNumber(acc.sum / float64(acc.numbers)), true
	case "min":
		return formatNumber(acc.min), true
	}
	return formatNumber(acc.max), true
}
