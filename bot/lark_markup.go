package bot

import (
	"strings"
	"unicode/utf8"
)

// This file converts the Reply model's neutral markup to Lark's lark_md:
//
//	**bold**        → **bold** (its inside converted too)
//	`code`          → `code`, verbatim
//	[label](url)    → [label](url) for http(s) URLs
//	<@ou_x>         → <at id=ou_x></at>
//	<@!all>, <@all> → <at id=all></at>
//	<@!group>       → @group as plain text (cards cannot mention user groups)
//
// Everything else is plain text: the characters lark_md would read as markup are
// written as HTML character references, which lark_md shows literally.

// larkMarkdown converts neutral markup to lark_md.
func larkMarkdown(s string) string {
	var b strings.Builder
	larkWriteMarkup(&b, s, true)
	return b.String()
}

// larkWriteMarkup converts s into b; bold spans are recognised only when bold is
// true (they do not nest).
func larkWriteMarkup(b *strings.Builder, s string, bold bool) {
	for i := 0; i < len(s); {
		if n := larkWriteToken(b, s[i:], bold); n > 0 {
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(larkEscapeRune(r))
		i += size
	}
}

// larkWriteToken writes the markup token s starts with and returns its length, or
// returns 0 when s does not start with one.
func larkWriteToken(b *strings.Builder, s string, bold bool) int {
	switch {
	case bold && strings.HasPrefix(s, "**"):
		end := strings.Index(s[2:], "**")
		if end <= 0 {
			return 0
		}
		b.WriteString("**")
		larkWriteMarkup(b, s[2:2+end], false)
		b.WriteString("**")
		return end + 4
	case s[0] == '`':
		end := strings.IndexByte(s[1:], '`')
		if end <= 0 {
			return 0
		}
		b.WriteString(s[:end+2])
		return end + 2
	case s[0] == '[':
		label, url, n := larkParseLink(s)
		if n == 0 {
			return 0
		}
		b.WriteString("[" + larkEscape(label) + "](" + url + ")")
		return n
	case strings.HasPrefix(s, "<@"):
		id, group, n := larkParseMention(s)
		if n == 0 {
			return 0
		}
		b.WriteString(larkMention(id, group))
		return n
	}
	return 0
}

// larkParseLink reads "[label](http…)" at the start of s. The URL may hold balanced
// parentheses (CloudWatch console links do). n is 0 when s starts with no link.
func larkParseLink(s string) (label, url string, n int) {
	mid := strings.Index(s, "](")
	if mid <= 1 || strings.ContainsAny(s[1:mid], "[]\n") {
		return "", "", 0
	}
	rest := s[mid+2:]
	if !strings.HasPrefix(rest, "https://") && !strings.HasPrefix(rest, "http://") {
		return "", "", 0
	}
	depth := 0
	for i, r := range rest {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth == 0:
			return s[1:mid], rest[:i], mid + 2 + i + 1
		case r == ')':
			depth--
		case r == ' ' || r == '\n' || r == '\t' || r == '<' || r == '>':
			return "", "", 0
		}
	}
	return "", "", 0
}

// larkParseMention reads "<@ID>" or "<@!GROUP>" at the start of s.
func larkParseMention(s string) (id string, group bool, n int) {
	end := strings.IndexByte(s, '>')
	if end < 3 {
		return "", false, 0
	}
	id = s[2:end]
	if strings.HasPrefix(id, "!") {
		group, id = true, id[1:]
	}
	if id == "" || !larkIDChars(id) {
		return "", false, 0
	}
	return id, group, end + 1
}

// larkMention writes a mention of user id, or of a group: only "all" can be
// mentioned in a card, other groups are named.
func larkMention(id string, group bool) string {
	if id == "all" {
		return "<at id=all></at>"
	}
	if group {
		return "@" + larkEscape(id)
	}
	return "<at id=" + id + "></at>"
}

// larkIDChars reports whether s looks like a Lark or Slack id (letters, digits, _
// and -), so nothing else can be smuggled into an <at> tag.
func larkIDChars(s string) bool {
	for _, r := range s {
		ok := r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}

// larkEscape writes plain text so that lark_md shows it as is.
func larkEscape(s string) string {
	if !strings.ContainsAny(s, larkSpecials) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteString(larkEscapeRune(r))
	}
	return b.String()
}

// larkSpecials are the characters lark_md reads as markup.
const larkSpecials = "&<>*~[]`"

func larkEscapeRune(r rune) string {
	switch r {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	case '*':
		return "&#42;"
	case '~':
		return "&#126;"
	case '[':
		return "&#91;"
	case ']':
		return "&#93;"
	case '`':
		return "&#96;"
	}
	return string(r)
}

// larkPlain turns neutral markup into plain text, for plain_text fields (card
// headers, button labels, confirm dialogs): markers go, links keep their label,
// mentions their id.
func larkPlain(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "**"):
			i += 2
			continue
		case s[i] == '`':
			i++
			continue
		case s[i] == '[':
			if label, _, n := larkParseLink(s[i:]); n > 0 {
				b.WriteString(label)
				i += n
				continue
			}
		case strings.HasPrefix(s[i:], "<@"):
			if id, _, n := larkParseMention(s[i:]); n > 0 {
				b.WriteString("@" + id)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
