package insights

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Query is a parsed Logs Insights query: its commands in order.
type Query struct {
	commands []command
}

type command interface{ name() string }

type fieldsCmd struct{ items []fieldItem }

// fieldItem is one field of a fields command: a field by name, or a computed
// one (expr set) named by its alias, else by the expression as written.
type fieldItem struct {
	name string
	expr expr
}
type displayCmd struct{ names []string }
type filterCmd struct{ cond cond }
type sortCmd struct{ keys []sortKey }
type limitCmd struct{ n int }
type statsCmd struct {
	aggs   []aggregate
	groups []groupKey
}

func (fieldsCmd) name() string  { return "fields" }
func (displayCmd) name() string { return "display" }
func (filterCmd) name() string  { return "filter" }
func (sortCmd) name() string    { return "sort" }
func (limitCmd) name() string   { return "limit" }
func (statsCmd) name() string   { return "stats" }

type sortKey struct {
	field string
	desc  bool
}

// aggregate is one stats function: fn(arg) [as alias].
type aggregate struct {
	fn    string // count, sum, avg, min, max, count_distinct, sortsfirst, sortslast
	arg   string // field name; "*" for count(*) and count()
	label string // the result field: the alias, else the expression as written
}

// groupKey is one `by` term: a field or bin(period).
type groupKey struct {
	field string        // "" for a bin
	bin   time.Duration // >0 for bin(period)
	label string        // the result field: the alias, else "bin(1h)" or the field
}

// maxStats is how many stats commands one query may hold (Insights allows two,
// the second over the first one's results).
const maxStats = 2

// Parse reads a query. Anything outside the supported language is a *SyntaxError,
// as Insights answers MalformedQueryException.
func Parse(text string) (*Query, error) {
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	q := &Query{}
	stats := 0
	for _, cmd := range splitCommands(toks) {
		if len(cmd) == 0 {
			return nil, syntaxErrorf("empty command")
		}
		p := &parser{toks: cmd[1:], head: cmd[0]}
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		if _, ok := c.(statsCmd); ok {
			if stats++; stats > maxStats {
				return nil, syntaxErrorf("at most %d stats commands", maxStats)
			}
		}
		q.commands = append(q.commands, c)
	}
	return q, nil
}

// IsStats reports whether the query aggregates (has a stats command).
func (q *Query) IsStats() bool {
	for _, c := range q.commands {
		if _, ok := c.(statsCmd); ok {
			return true
		}
	}
	return false
}

type parser struct {
	head token
	toks []token
	i    int
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *parser) next() (token, error) {
	t, ok := p.peek()
	if !ok {
		return token{}, syntaxErrorf("%s: unexpected end of command", p.head.text)
	}
	p.i++
	return t, nil
}

func (p *parser) accept(kind tokenKind, text string) bool {
	if t, ok := p.peek(); ok && t.is(kind, text) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(kind tokenKind, text string) error {
	if !p.accept(kind, text) {
		t, _ := p.peek()
		return syntaxErrorf("%s: expected %q at %d, found %q", p.head.text, text, t.pos, t.text)
	}
	return nil
}

func (p *parser) done() error {
	if t, ok := p.peek(); ok {
		return syntaxErrorf("%s: unexpected %q at %d", p.head.text, t.text, t.pos)
	}
	return nil
}

func (p *parser) command() (command, error) {
	if p.head.kind != tokIdent {
		return nil, syntaxErrorf("expected a command at %d, found %q", p.head.pos, p.head.text)
	}
	var c command
	var err error
	switch strings.ToLower(p.head.text) {
	case "fields":
		var items []fieldItem
		items, err = p.fieldItems()
		c = fieldsCmd{items}
	case "display":
		var names []string
		names, err = p.fieldList()
		c = displayCmd{names}
	case "filter":
		var cnd cond
		cnd, err = p.or()
		c = filterCmd{cnd}
	case "stats":
		c, err = p.stats()
	case "sort":
		c, err = p.sort()
	case "limit":
		c, err = p.limit()
	default:
		return nil, syntaxErrorf("unsupported command %q", p.head.text)
	}
	if err != nil {
		return nil, err
	}
	return c, p.done()
}

func (p *parser) field() (string, error) {
	t, err := p.next()
	if err != nil {
		return "", err
	}
	if t.kind != tokIdent || isKeyword(t.text) {
		return "", syntaxErrorf("%s: expected a field name at %d, found %q", p.head.text, t.pos, t.text)
	}
	return t.text, nil
}

func (p *parser) fieldList() ([]string, error) {
	var names []string
	for {
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		names = append(names, f)
		if !p.accept(tokPunct, ",") {
			return names, nil
		}
	}
}

// fieldItems reads the fields of a fields command: names, or expressions with
// an optional alias.
func (p *parser) fieldItems() ([]fieldItem, error) {
	var out []fieldItem
	for {
		start := p.i
		x, err := p.exprSum()
		if err != nil {
			return nil, err
		}
		it := fieldItem{expr: x}
		if f, plain := x.(fieldExpr); plain {
			it = fieldItem{name: f.name}
		} else {
			it.name = p.written(start)
		}
		if err := p.alias(&it.name); err != nil {
			return nil, err
		}
		out = append(out, it)
		if !p.accept(tokPunct, ",") {
			return out, nil
		}
	}
}

// written is the text of the tokens from start to the current one, as a label.
func (p *parser) written(start int) string {
	var b strings.Builder
	for _, t := range p.toks[start:p.i] {
		b.WriteString(t.text)
	}
	return b.String()
}

var keywords = map[string]bool{"and": true, "or": true, "not": true, "like": true, "in": true, "as": true, "by": true, "asc": true, "desc": true}

func isKeyword(s string) bool { return keywords[strings.ToLower(s)] }

func (p *parser) sort() (command, error) {
	var keys []sortKey
	for {
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		k := sortKey{field: f}
		switch {
		case p.accept(tokIdent, "desc"):
			k.desc = true
		case p.accept(tokIdent, "asc"):
		}
		keys = append(keys, k)
		if !p.accept(tokPunct, ",") {
			return sortCmd{keys}, nil
		}
	}
}

// maxRows is the most rows one query returns.
const maxRows = 10000

func (p *parser) limit() (command, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(t.text)
	if t.kind != tokNumber || err != nil || n < 1 || n > maxRows {
		return nil, syntaxErrorf("limit: want a whole number from 1 to %d, found %q", maxRows, t.text)
	}
	return limitCmd{n}, nil
}

var aggregateFuncs = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true,
	"count_distinct": true, "sortsfirst": true, "sortslast": true,
}

func (p *parser) stats() (command, error) {
	var s statsCmd
	for {
		a, err := p.aggregate()
		if err != nil {
			return nil, err
		}
		s.aggs = append(s.aggs, a)
		if !p.accept(tokPunct, ",") {
			break
		}
	}
	if !p.accept(tokIdent, "by") {
		return s, nil
	}
	for {
		g, err := p.groupKey()
		if err != nil {
			return nil, err
		}
		s.groups = append(s.groups, g)
		if !p.accept(tokPunct, ",") {
			return s, nil
		}
	}
}

func (p *parser) aggregate() (aggregate, error) {
	t, err := p.next()
	if err != nil {
		return aggregate{}, err
	}
	fn := strings.ToLower(t.text)
	if t.kind != tokIdent || !aggregateFuncs[fn] {
		return aggregate{}, syntaxErrorf("stats: unsupported function %q at %d", t.text, t.pos)
	}
	if err := p.expect(tokPunct, "("); err != nil {
		return aggregate{}, err
	}
	a := aggregate{fn: fn, arg: "*"}
	written := "*"
	switch {
	case fn == "count" && p.accept(tokPunct, "*"):
	case fn == "count" && p.accept(tokPunct, ")"):
		p.i-- // count() is count(*)
		written = ""
	default:
		if a.arg, err = p.field(); err != nil {
			return aggregate{}, err
		}
		written = a.arg
	}
	if err := p.expect(tokPunct, ")"); err != nil {
		return aggregate{}, err
	}
	a.label = t.text + "(" + written + ")"
	return a, p.alias(&a.label)
}

func (p *parser) alias(label *string) error {
	if !p.accept(tokIdent, "as") {
		return nil
	}
	name, err := p.field()
	*label = name
	return err
}

func (p *parser) groupKey() (groupKey, error) {
	t, ok := p.peek()
	if ok && t.is(tokIdent, "bin") && p.i+1 < len(p.toks) && p.toks[p.i+1].is(tokPunct, "(") {
		p.i += 2
		per, err := p.next()
		if err != nil {
			return groupKey{}, err
		}
		d, err := parsePeriod(per)
		if err != nil {
			return groupKey{}, err
		}
		if err := p.expect(tokPunct, ")"); err != nil {
			return groupKey{}, err
		}
		g := groupKey{bin: d, label: "bin(" + per.text + ")"}
		return g, p.alias(&g.label)
	}
	f, err := p.field()
	if err != nil {
		return groupKey{}, err
	}
	g := groupKey{field: f, label: f}
	return g, p.alias(&g.label)
}

// periodUnits are bin()'s units that have a fixed length (months, quarters and
// years do not, and tracebot never bins by them).
var periodUnits = map[string]time.Duration{
	"ms": time.Millisecond, "msec": time.Millisecond, "millisecond": time.Millisecond,
	"s": time.Second, "sec": time.Second, "second": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour,
}

func parsePeriod(t token) (time.Duration, error) {
	if t.kind != tokPeriod {
		return 0, syntaxErrorf("bin: want a period like 1h, found %q", t.text)
	}
	i := strings.IndexFunc(t.text, func(r rune) bool { return r < '0' || r > '9' })
	n, err := strconv.Atoi(t.text[:i])
	unit := strings.ToLower(t.text[i:])
	d, ok := periodUnits[unit]
	if !ok && len(unit) > 1 {
		d, ok = periodUnits[strings.TrimSuffix(unit, "s")]
	}
	if err != nil || n < 1 || !ok {
		return 0, syntaxErrorf("bin: unsupported period %q", t.text)
	}
	return time.Duration(n) * d, nil
}

// Conditions of filter.

type cond interface {
	match(r *row) bool
}

type orCond struct{ l, r cond }
type andCond struct{ l, r cond }
type notCond struct{ c cond }
type presentCond struct{ field string }
type compareCond struct {
	l, r operand
	op   string
}
type likeCond struct {
	o      operand
	re     *regexp.Regexp // nil: substring match of sub
	sub    string
	negate bool
}
type inCond struct {
	o      operand
	list   []operand
	negate bool
}

// operand is a field reference or a literal.
type operand struct {
	field   string
	literal string
	isField bool
}

func (p *parser) or() (cond, error) {
	l, err := p.and()
	for err == nil && p.accept(tokIdent, "or") {
		var r cond
		r, err = p.and()
		l = orCond{l, r}
	}
	return l, err
}

func (p *parser) and() (cond, error) {
	l, err := p.not()
	for err == nil && p.accept(tokIdent, "and") {
		var r cond
		r, err = p.not()
		l = andCond{l, r}
	}
	return l, err
}

func (p *parser) not() (cond, error) {
	if p.accept(tokIdent, "not") {
		c, err := p.not()
		return notCond{c}, err
	}
	return p.primary()
}

func (p *parser) primary() (cond, error) {
	if p.accept(tokPunct, "(") {
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		return c, p.expect(tokPunct, ")")
	}
	if t, ok := p.peek(); ok && t.is(tokIdent, "ispresent") {
		p.i++
		if err := p.expect(tokPunct, "("); err != nil {
			return nil, err
		}
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		return presentCond{f}, p.expect(tokPunct, ")")
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	return p.comparison(l)
}

func (p *parser) comparison(l operand) (cond, error) {
	negate := p.accept(tokIdent, "not")
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	switch {
	case t.is(tokIdent, "like") || !negate && t.is(tokPunct, "=~"):
		return p.like(l, negate)
	case t.is(tokIdent, "in"):
		list, err := p.list()
		return inCond{o: l, list: list, negate: negate}, err
	case negate:
		return nil, syntaxErrorf("filter: expected like or in after not at %d", t.pos)
	case t.kind == tokPunct && strings.Contains("= != < > <= >=", t.text) && t.text != "=~":
		r, err := p.operand()
		return compareCond{l: l, r: r, op: t.text}, err
	}
	return nil, syntaxErrorf("filter: expected a comparison at %d, found %q", t.pos, t.text)
}

func (p *parser) like(l operand, negate bool) (cond, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tokRegex:
		re, err := regexp.Compile(t.text)
		if err != nil {
			return nil, syntaxErrorf("filter: bad regular expression /%s/: %v", t.text, err)
		}
		return likeCond{o: l, re: re, negate: negate}, nil
	case tokString:
		return likeCond{o: l, sub: t.text, negate: negate}, nil
	}
	return nil, syntaxErrorf("filter: like wants /regex/ or a string at %d", t.pos)
}

func (p *parser) list() ([]operand, error) {
	if err := p.expect(tokPunct, "["); err != nil {
		return nil, err
	}
	var out []operand
	for {
		o, err := p.operand()
		if err != nil {
			return nil, err
		}
		if o.isField {
			return nil, syntaxErrorf("filter: in [...] holds literals, found the name %q", o.field)
		}
		out = append(out, o)
		if !p.accept(tokPunct, ",") {
			return out, p.expect(tokPunct, "]")
		}
	}
}

func (p *parser) operand() (operand, error) {
	t, err := p.next()
	if err != nil {
		return operand{}, err
	}
	switch {
	case t.kind == tokString || t.kind == tokNumber:
		return operand{literal: t.text}, nil
	case t.kind == tokIdent && !isKeyword(t.text):
		if n, ok := p.peek(); ok && n.is(tokPunct, "(") {
			return operand{}, syntaxErrorf("filter: unsupported function %s() at %d", t.text, t.pos)
		}
		return operand{field: t.text, isField: true}, nil
	}
	return operand{}, syntaxErrorf("filter: expected a field or a value at %d, found %q", t.pos, t.text)
}

// FilterValues returns the literals the query's filters require field to equal, by
// `field = "…"` or `field in [...]`, in the order written: the sessions a trace
// query (or a batch of them) asks for.
func (q *Query) FilterValues(field string) []string {
	var out []string
	var walk func(c cond)
	walk = func(c cond) {
		switch c := c.(type) {
		case orCond:
			walk(c.l)
			walk(c.r)
		case andCond:
			walk(c.l)
			walk(c.r)
		case compareCond:
			switch {
			case c.op != "=":
			case c.l.isField && c.l.field == field && !c.r.isField:
				out = append(out, c.r.literal)
			case c.r.isField && c.r.field == field && !c.l.isField:
				out = append(out, c.l.literal)
			}
		case inCond:
			if c.o.isField && c.o.field == field && !c.negate {
				for _, o := range c.list {
					out = append(out, o.literal)
				}
			}
		}
	}
	for _, c := range q.commands {
		if f, ok := c.(filterCmd); ok {
			walk(f.cond)
		}
	}
	return out
}
