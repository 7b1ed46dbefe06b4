package bot

import (
	"net/url"
	"strings"
)

// The Reply model's text is written in one small markup (see Reply), read by one
// grammar: Tokens. Every renderer — Slack mrkdwn, Lark markdown, plain text — is
// built on its tokens, so a link, a mention, bold or code is the same thing on
// every platform, and what the grammar does not accept is text everywhere.
//
//	**bold**       bold; its content may hold code, links and mentions (not bold)
//	`code`         code, verbatim
//	[label](url)   a link: label has no '[' or ']', url is an absolute http(s)
//	               URL without spaces or '<' '>' (balanced parentheses allowed)
//	<@U123>        a user
//	<@!S123>       a group (Slack user group, Lark "all")
//
// No token spans a line break, and nothing is empty: "****", "``" and "[](…)" are
// text. A pasted report therefore cannot smuggle in markup a platform would act
// on: it is text, and each renderer escapes text for its platform.

// TokenKind is the kind of a markup token.
type TokenKind uint8

// Token kinds.
const (
	TokenText  TokenKind = iota // Text is literal text
	TokenBold                   // Inner is the bold content (Text as written)
	TokenCode                   // Text is the code, verbatim
	TokenLink                   // Inner is the label (Text as written), URL the target
	TokenUser                   // Text is the user id
	TokenGroup                  // Text is the group id
)

// Token is one piece of a markup text.
type Token struct {
	Kind  TokenKind
	Text  string
	URL   string  // TokenLink: an absolute http or https URL
	Inner []Token // TokenBold: the content; TokenLink: the label
}

// Tokens splits s into tokens. Adjacent text is one token; markup the grammar
// does not accept (unbalanced, empty, an unsafe link) is text.
func Tokens(s string) []Token {
	var out []Token
	start := 0 // of the pending text
	for i := 0; i < len(s); {
		tok, n := tokenAt(s[i:])
		if n == 0 {
			i++
			continue
		}
		if start < i {
			out = append(out, Token{Kind: TokenText, Text: s[start:i]})
		}
		out = append(out, tok)
		i += n
		start = i
	}
	if start < len(s) {
		out = append(out, Token{Kind: TokenText, Text: s[start:]})
	}
	return out
}

// tokenAt reads the token s starts with and its length, or 0 when s starts with
// text.
func tokenAt(s string) (Token, int) {
	switch {
	case strings.HasPrefix(s, "**"):
		if inner, ok := closedBy(s[2:], "**"); ok {
			return Token{Kind: TokenBold, Text: inner, Inner: Tokens(inner)}, len(inner) + 4
		}
	case s[0] == '`':
		if code, ok := closedBy(s[1:], "`"); ok {
			return Token{Kind: TokenCode, Text: code}, len(code) + 2
		}
	case s[0] == '[':
		return linkAt(s)
	case strings.HasPrefix(s, "<@!"):
		if id, n := idAt(s[3:]); n > 0 {
			return Token{Kind: TokenGroup, Text: id}, n + 3
		}
	case strings.HasPrefix(s, "<@"):
		if id, n := idAt(s[2:]); n > 0 {
			return Token{Kind: TokenUser, Text: id}, n + 2
		}
	}
	return Token{}, 0
}

// closedBy returns what s holds before the first end, when that is not empty and
// on one line.
func closedBy(s, end string) (string, bool) {
	i := strings.Index(s, end)
	if i <= 0 || strings.IndexByte(s[:i], '\n') >= 0 {
		return "", false
	}
	return s[:i], true
}

// linkAt reads "[label](url)" at the start of s.
func linkAt(s string) (Token, int) {
	end := strings.IndexByte(s, ']')
	if end <= 1 || strings.ContainsAny(s[1:end], "[\n") || !strings.HasPrefix(s[end+1:], "(") {
		return Token{}, 0
	}
	label, rest := s[1:end], s[end+2:]
	depth := 0
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == ')':
			if u := rest[:i]; LinkURL(u) {
				return Token{Kind: TokenLink, Text: label, URL: u, Inner: Tokens(label)}, end + 2 + i + 1
			}
			return Token{}, 0
		case c <= ' ' || c == 0x7f || c == '<' || c == '>':
			return Token{}, 0
		}
	}
	return Token{}, 0
}

// LinkURL reports whether u may be linked: an absolute http or https URL with a
// host. Markup links and link buttons are held to it.
func LinkURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != ""
}

// idAt reads a user or group id ([A-Za-z0-9_-]+) followed by '>' and returns it
// with the length consumed, '>' included.
func idAt(s string) (string, int) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
		case c == '>' && i > 0:
			return s[:i], i + 1
		default:
			return "", 0
		}
	}
	return "", 0
}

// Plain renders markup as plain text, for what shows no formatting (titles,
// buttons, dialogs, a platform's notifications): bold and code lose their
// markers, a link is its label, a mention is "@" and the id.
func Plain(s string) string { return PlainTokens(Tokens(s)) }

// PlainTokens renders tokens as Plain does.
func PlainTokens(toks []Token) string {
	var b strings.Builder
	for _, tok := range toks {
		switch tok.Kind {
		case TokenBold, TokenLink:
			b.WriteString(PlainTokens(tok.Inner))
		case TokenUser, TokenGroup:
			b.WriteString("@" + tok.Text)
		default:
			b.WriteString(tok.Text)
		}
	}
	return b.String()
}

// wordJoiner is invisible and joins nothing visible: put between two characters,
// it keeps them from opening a token.
const wordJoiner = "\u2060"

// literalBreaker breaks every sequence that could open a token: a backtick becomes
// an apostrophe (as in code spans), and a word joiner goes inside "**", "<@" and
// "](".
var literalBreaker = strings.NewReplacer("`", "'", "**", "*"+wordJoiner+"*", "<@", "<"+wordJoiner+"@", "](", "]"+wordJoiner+"(")

// literal returns markup that Tokens reads as text only, looking like s: for text
// the bot did not write (a model's answer, a value from a stored analysis), so it
// can never turn into a mention, a link or formatting.
func literal(s string) string {
	// "***" leaves "*" + joiner + "**" after one pass; a second pass breaks the rest.
	return literalBreaker.Replace(literalBreaker.Replace(s))
}
