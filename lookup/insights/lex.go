// Package insights evaluates CloudWatch Logs Insights queries over log events held
// in memory. It implements the part of the query language tracebot sends (fields,
// with computed fields of arithmetic and the numeric functions of expr.go; filter,
// stats with bin and by, sort, limit, display) with Insights' result shape,
// statistics and 10,000-row cap, and refuses anything else the way Insights does,
// with a syntax error. Two users share it: the wire-level fake of lookuptest, which
// the real SDK client talks to in tests, and the in-process sample world behind
// `--sandbox`, so the report engine runs unchanged against both.
package insights

import (
	"fmt"
	"strings"
	"unicode"
)

// SyntaxError is a query Insights would refuse (MalformedQueryException).
type SyntaxError struct {
	Msg string
}

func (e *SyntaxError) Error() string { return "malformed query: " + e.Msg }

func syntaxErrorf(format string, args ...any) *SyntaxError {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}

type tokenKind int

const (
	tokIdent  tokenKind = iota // a name: fields, @timestamp, count, and, …
	tokString                  // "…" or '…', unescaped
	tokNumber                  // 12, 0.5
	tokPeriod                  // 1h, 5m: a number with a unit, as bin() takes
	tokRegex                   // /…/ after like or =~
	tokPunct                   // | , ( ) [ ] * = != < > <= >= =~ + - / % ^
)

type token struct {
	kind tokenKind
	text string // the value: unescaped for strings, the pattern for regexes
	pos  int
}

func (t token) is(kind tokenKind, text string) bool {
	if t.kind != kind {
		return false
	}
	if kind == tokIdent {
		return strings.EqualFold(t.text, text)
	}
	return t.text == text
}

// lex splits a query into tokens. A slash starts a regex only right after like or
// =~, where Insights expects one.
func lex(src string) ([]token, error) {
	var out []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			s, n, err := lexString(src[i:])
			if err != nil {
				return nil, err
			}
			out = append(out, token{tokString, s, i})
			i += n
		case c == '`':
			end := strings.IndexByte(src[i+1:], '`')
			if end < 0 {
				return nil, syntaxErrorf("unterminated `name` at %d", i)
			}
			out = append(out, token{tokIdent, src[i+1 : i+1+end], i})
			i += end + 2
		case c == '/' && len(out) > 0 && (out[len(out)-1].is(tokIdent, "like") || out[len(out)-1].is(tokPunct, "=~")):
			re, n, err := lexRegex(src[i:])
			if err != nil {
				return nil, err
			}
			out = append(out, token{tokRegex, re, i})
			i += n
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			t, n := lexNumber(src[i:])
			t.pos = i
			out = append(out, t)
			i += n
		case c == '@' || c == '_' || unicode.IsLetter(rune(c)):
			n := lexNameLen(src[i:])
			out = append(out, token{tokIdent, src[i : i+n], i})
			i += n
		default:
			p, ok := lexPunct(src[i:])
			if !ok {
				return nil, syntaxErrorf("unexpected %q at %d", c, i)
			}
			out = append(out, token{tokPunct, p, i})
			i += len(p)
		}
	}
	return out, nil
}

func lexNameLen(s string) int {
	n := 1
	for n < len(s) {
		c := s[n]
		if c == '_' || c == '.' || c == '@' || c == '$' || c >= '0' && c <= '9' || c < 0x80 && unicode.IsLetter(rune(c)) {
			n++
			continue
		}
		break
	}
	return n
}

func lexNumber(s string) (token, int) {
	n := 0
	if s[0] == '-' {
		n++
	}
	for n < len(s) && (s[n] >= '0' && s[n] <= '9' || s[n] == '.') {
		n++
	}
	unit := n
	for unit < len(s) && (s[unit] >= 'a' && s[unit] <= 'z' || s[unit] >= 'A' && s[unit] <= 'Z') {
		unit++
	}
	if unit > n {
		return token{kind: tokPeriod, text: s[:unit]}, unit
	}
	return token{kind: tokNumber, text: s[:n]}, n
}

func lexPunct(s string) (string, bool) {
	for _, p := range []string{"!=", "<=", ">=", "=~", "|", ",", "(", ")", "[", "]", "*", "=", "<", ">", "+", "-", "/", "%", "^"} {
		if strings.HasPrefix(s, p) {
			return p, true
		}
	}
	return "", false
}

// lexString reads a quoted string; backslash escapes the quote, the backslash and
// \n, \r, \t. It returns the value and the bytes consumed.
func lexString(s string) (string, int, error) {
	quote := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == quote:
			return b.String(), i + 1, nil
		case c == '\n' || c == '\r':
			return "", 0, syntaxErrorf("line break inside a string")
		case c == '\\':
			if i+1 == len(s) {
				return "", 0, syntaxErrorf("unterminated escape")
			}
			i++
			switch e := s[i]; e {
			case '\\', '"', '\'':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				return "", 0, syntaxErrorf("unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, syntaxErrorf("unterminated string")
}

// lexRegex reads /pattern/; "\/" is a slash inside the pattern.
func lexRegex(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '/':
			return b.String(), i + 1, nil
		case c == '\n':
			return "", 0, syntaxErrorf("line break inside a regular expression")
		case c == '\\' && i+1 < len(s) && s[i+1] == '/':
			b.WriteByte('/')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, syntaxErrorf("unterminated regular expression")
}

// splitCommands cuts the token list at top-level pipes.
func splitCommands(toks []token) [][]token {
	var out [][]token
	start := 0
	for i, t := range toks {
		if t.is(tokPunct, "|") {
			out = append(out, toks[start:i])
			start = i + 1
		}
	}
	return append(out, toks[start:])
}
