package bot

import (
	"net/url"
	"strings"
)

// This file converts the Reply model's neutral markup (see Reply) to Slack mrkdwn
// and to plain text:
//
//	**bold**        → *bold*
//	`code`          → `code`
//	[label](url)    → <url|label>
//	<@U123>         → <@U123>
//	<@!S123>        → <!subteam^S123>
//
// Everything else is text: &, < and > are escaped, so a pasted report can never
// smuggle in <!channel>, a mention or a link.

// markupKind is one kind of neutral markup token.
type markupKind int

const (
	markupText markupKind = iota
	markupBold
	markupCode
	markupLink
	markupUser
	markupGroup
)

// markupToken is one piece of a line of neutral markup.
type markupToken struct {
	kind markupKind
	text string // text, bold or code content, link label, user or group id
	url  string // links only
}

// parseMarkup splits s into tokens. Unbalanced markup is text.
func parseMarkup(s string) []markupToken {
	var out []markupToken
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, markupToken{kind: markupText, text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		tok, n := markupAt(s[i:])
		if n == 0 {
			text.WriteByte(s[i])
			i++
			continue
		}
		flush()
		out = append(out, tok)
		i += n
	}
	flush()
	return out
}

// markupAt reads the token starting s, returning its length, or 0 when s does not
// start a token.
func markupAt(s string) (markupToken, int) {
	switch {
	case strings.HasPrefix(s, "**"):
		if end := strings.Index(s[2:], "**"); end > 0 {
			return markupToken{kind: markupBold, text: s[2 : 2+end]}, end + 4
		}
	case s[0] == '`':
		if end := strings.IndexByte(s[1:], '`'); end > 0 {
			return markupToken{kind: markupCode, text: s[1 : 1+end]}, end + 2
		}
	case s[0] == '[':
		return linkAt(s)
	case strings.HasPrefix(s, "<@!"):
		if id, n := idAt(s[3:]); n > 0 {
			return markupToken{kind: markupGroup, text: id}, n + 3
		}
	case strings.HasPrefix(s, "<@"):
		if id, n := idAt(s[2:]); n > 0 {
			return markupToken{kind: markupUser, text: id}, n + 2
		}
	}
	return markupToken{}, 0
}

// linkAt reads "[label](url)"; the url may hold balanced parentheses (CloudWatch
// console links do).
func linkAt(s string) (markupToken, int) {
	mid := strings.Index(s, "](")
	if mid <= 1 || strings.ContainsAny(s[1:mid], "[\n") {
		return markupToken{}, 0
	}
	depth := 0
	for i := mid + 2; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				u := s[mid+2 : i]
				if u == "" {
					return markupToken{}, 0
				}
				return markupToken{kind: markupLink, text: s[1:mid], url: u}, i + 1
			}
			depth--
		case ' ', '\n':
			return markupToken{}, 0
		}
	}
	return markupToken{}, 0
}

// idAt reads a user or group id followed by '>' and returns it with the length
// consumed (the '>' included).
func idAt(s string) (string, int) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
		case c == '>' && i > 0:
			return s[:i], i + 1
		default:
			return "", 0
		}
	}
	return "", 0
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes the three characters mrkdwn gives meaning to.
func slackEscape(s string) string { return slackEscaper.Replace(s) }

// slackMrkdwn converts one text of neutral markup to mrkdwn.
func slackMrkdwn(s string) string {
	var b strings.Builder
	for _, tok := range parseMarkup(s) {
		switch tok.kind {
		case markupText:
			b.WriteString(slackEscape(tok.text))
		case markupBold:
			if inner := slackMrkdwn(tok.text); strings.TrimSpace(inner) != "" {
				b.WriteString("*" + inner + "*")
			}
		case markupCode:
			b.WriteString("`" + slackEscape(tok.text) + "`")
		case markupLink:
			b.WriteString(slackLink(tok))
		case markupUser:
			b.WriteString("<@" + tok.text + ">")
		case markupGroup:
			b.WriteString("<!subteam^" + tok.text + ">")
		}
	}
	return b.String()
}

// slackLink renders a link; one whose URL is not http(s) is shown as text.
func slackLink(tok markupToken) string {
	label := slackEscape(slackPlain(tok.text))
	if !slackSafeURL(tok.url) {
		return label + " (" + slackEscape(tok.url) + ")"
	}
	return "<" + slackURLEscaper.Replace(tok.url) + "|" + label + ">"
}

// slackURLEscaper makes a URL safe inside <url|label>: & is escaped like any text
// (Slack unescapes it), and the characters that would end the link are
// percent-encoded.
var slackURLEscaper = strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C", " ", "%20")

// slackSafeURL reports whether u is an absolute http or https URL.
func slackSafeURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != ""
}

// slackPlain converts neutral markup to plain text (headers, buttons, dialogs):
// the markup characters go, labels stay, mentions become @id.
func slackPlain(s string) string {
	var b strings.Builder
	for _, tok := range parseMarkup(s) {
		switch tok.kind {
		case markupBold:
			b.WriteString(slackPlain(tok.text))
		case markupUser, markupGroup:
			b.WriteString("@" + tok.text)
		default:
			b.WriteString(tok.text)
		}
	}
	return b.String()
}
