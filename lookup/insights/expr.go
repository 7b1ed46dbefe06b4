package insights

import (
	"math"
	"strings"
)

// Computed fields: `fields floor(log(inputTokens) * 100) as bucket`. Insights
// evaluates arithmetic (+ - * / % ^) and its numeric and general functions in
// fields; this is the part of them tracebot uses, with Insights' meaning: log is
// the natural logarithm. A value is null when a field it reads is absent or not
// a number, or when the arithmetic has no real answer (log of 0 or less, the
// square root of a negative number, a division by zero); a null computed field
// is absent from the row, as Insights leaves it out of the results.

// expr is a computed value.
type expr interface {
	eval(r *row) (string, bool)
}

type (
	fieldExpr   struct{ name string }
	literalExpr struct{ v string }
	negExpr     struct{ x expr }
	binaryExpr  struct {
		op   string
		l, r expr
	}
	callExpr struct {
		fn   string
		args []expr
	}
)

// exprFuncs are the functions fields may call, with how many arguments each
// takes (-1: one or more).
var exprFuncs = map[string]int{
	"abs": 1, "ceil": 1, "floor": 1, "log": 1, "sqrt": 1,
	"greatest": -1, "least": -1, "coalesce": -1,
}

func (e fieldExpr) eval(r *row) (string, bool) { return r.get(e.name) }
func (e literalExpr) eval(*row) (string, bool) { return e.v, true }
func (e negExpr) eval(r *row) (string, bool) {
	return numeric(r, e.x, func(x float64) float64 { return -x })
}
func (e binaryExpr) eval(r *row) (string, bool) { return e.apply(r) }
func (e callExpr) eval(r *row) (string, bool)   { return e.call(r) }
func numberValue(f float64) (string, bool) {
	return formatNumber(f), !math.IsNaN(f) && !math.IsInf(f, 0)
}
func numberOf(r *row, x expr) (float64, bool) { return valueNumber(x.eval(r)) }
func valueNumber(v string, ok bool) (float64, bool) {
	if !ok {
		return 0, false
	}
	return number(v)
}

// numeric applies f to x's number: null when x is.
func numeric(r *row, x expr, f func(float64) float64) (string, bool) {
	v, ok := numberOf(r, x)
	if !ok {
		return "", false
	}
	return numberValue(f(v))
}

func (e binaryExpr) apply(r *row) (string, bool) {
	a, aok := numberOf(r, e.l)
	b, bok := numberOf(r, e.r)
	if !aok || !bok {
		return "", false
	}
	switch e.op {
	case "+":
		return numberValue(a + b)
	case "-":
		return numberValue(a - b)
	case "*":
		return numberValue(a * b)
	case "/":
		if b == 0 {
			return "", false
		}
		return numberValue(a / b)
	case "%":
		if b == 0 {
			return "", false
		}
		return numberValue(math.Mod(a, b))
	}
	return numberValue(math.Pow(a, b))
}

func (e callExpr) call(r *row) (string, bool) {
	switch e.fn {
	case "coalesce":
		for _, a := range e.args {
			if v, ok := a.eval(r); ok {
				return v, true
			}
		}
		return "", false
	case "greatest", "least":
		return e.extreme(r)
	}
	x, ok := numberOf(r, e.args[0])
	if !ok {
		return "", false
	}
	switch e.fn {
	case "abs":
		return numberValue(math.Abs(x))
	case "ceil":
		return numberValue(math.Ceil(x))
	case "floor":
		return numberValue(math.Floor(x))
	case "sqrt":
		return numberValue(math.Sqrt(x)) // NaN below 0: null
	}
	if x <= 0 {
		return "", false
	}
	return numberValue(math.Log(x))
}

// extreme is greatest or least of the arguments that are numbers; null when
// none is.
func (e callExpr) extreme(r *row) (string, bool) {
	var best float64
	seen := false
	for _, a := range e.args {
		v, ok := numberOf(r, a)
		if !ok {
			continue
		}
		if !seen || e.fn == "greatest" && v > best || e.fn == "least" && v < best {
			best, seen = v, true
		}
	}
	if !seen {
		return "", false
	}
	return numberValue(best)
}

// Parsing, by precedence: + - below * / % below ^ (right-associative) below a
// leading minus.

func (p *parser) exprSum() (expr, error) {
	l, err := p.exprTerm()
	for err == nil {
		t, ok := p.peek()
		var op string
		var r expr
		switch {
		case ok && t.kind == tokPunct && (t.text == "+" || t.text == "-"):
			p.i++
			op = t.text
			r, err = p.exprTerm()
		case ok && t.kind == tokNumber && strings.HasPrefix(t.text, "-"):
			// "x -1" lexes as x and the number -1: a subtraction.
			p.i++
			op, r = "-", literalExpr{strings.TrimPrefix(t.text, "-")}
		default:
			return l, nil
		}
		l = binaryExpr{op: op, l: l, r: r}
	}
	return nil, err
}

func (p *parser) exprTerm() (expr, error) {
	l, err := p.exprPower()
	for err == nil {
		t, ok := p.peek()
		if !ok || t.kind != tokPunct || t.text != "*" && t.text != "/" && t.text != "%" {
			return l, nil
		}
		p.i++
		var r expr
		r, err = p.exprPower()
		l = binaryExpr{op: t.text, l: l, r: r}
	}
	return nil, err
}

func (p *parser) exprPower() (expr, error) {
	l, err := p.exprUnary()
	if err != nil || !p.accept(tokPunct, "^") {
		return l, err
	}
	r, err := p.exprPower()
	return binaryExpr{op: "^", l: l, r: r}, err
}

func (p *parser) exprUnary() (expr, error) {
	if p.accept(tokPunct, "-") {
		x, err := p.exprUnary()
		return negExpr{x}, err
	}
	return p.exprPrimary()
}

func (p *parser) exprPrimary() (expr, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	switch {
	case t.kind == tokNumber || t.kind == tokString:
		return literalExpr{t.text}, nil
	case t.is(tokPunct, "("):
		x, err := p.exprSum()
		if err != nil {
			return nil, err
		}
		return x, p.expect(tokPunct, ")")
	case t.kind != tokIdent || isKeyword(t.text):
		return nil, syntaxErrorf("%s: expected a field, a number or a function at %d, found %q", p.head.text, t.pos, t.text)
	case p.accept(tokPunct, "("):
		return p.exprCall(t)
	}
	return fieldExpr{t.text}, nil
}

func (p *parser) exprCall(name token) (expr, error) {
	fn := strings.ToLower(name.text)
	want, ok := exprFuncs[fn]
	if !ok {
		return nil, syntaxErrorf("%s: unsupported function %s() at %d", p.head.text, name.text, name.pos)
	}
	c := callExpr{fn: fn}
	for !p.accept(tokPunct, ")") {
		if len(c.args) > 0 {
			if err := p.expect(tokPunct, ","); err != nil {
				return nil, err
			}
		}
		a, err := p.exprSum()
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, a)
	}
	if want > 0 && len(c.args) != want || len(c.args) == 0 {
		return nil, syntaxErrorf("%s: %s() takes %s, found %d", p.head.text, name.text, argCount(want), len(c.args))
	}
	return c, nil
}

func argCount(n int) string {
	switch n {
	case -1:
		return "one or more arguments"
	case 1:
		return "one argument"
	}
	return "more arguments"
}
