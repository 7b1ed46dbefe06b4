package lark

import (
	"strings"

	"github.com/callytics/tracebot/bot"
)

// This file renders the core's markup tokens (bot.Tokens) as Lark's lark_md:
//
//	**bold**        → **bold** (its inside rendered too)
//	`code`          → `code`, verbatim
//	[label](url)    → [label](url)
//	<@ou_x>         → <at id=ou_x></at>
//	<@!all>, <@all> → <at id=all></at>
//	<@!group>       → @group as plain text (cards cannot mention user groups)
//
// Text is plain: the characters lark_md would read as markup are written as HTML
// character references, which lark_md shows literally. The grammar decides what
// markup is; what it does not accept arrives here as text.

// markdown converts markup to lark_md.
func markdown(s string) string {
	var b strings.Builder
	writeTokens(&b, bot.Tokens(s))
	return b.String()
}

func writeTokens(b *strings.Builder, toks []bot.Token) {
	for _, tok := range toks {
		switch tok.Kind {
		case bot.TokenText:
			b.WriteString(escape(tok.Text))
		case bot.TokenBold:
			b.WriteString("**")
			writeTokens(b, tok.Inner)
			b.WriteString("**")
		case bot.TokenCode:
			b.WriteString("`" + tok.Text + "`")
		case bot.TokenLink:
			b.WriteString("[" + escape(bot.PlainTokens(tok.Inner)) + "](" + tok.URL + ")")
		case bot.TokenUser:
			b.WriteString(mention(tok.Text, false))
		case bot.TokenGroup:
			b.WriteString(mention(tok.Text, true))
		}
	}
}

// mention writes a mention of user id, or of a group: only "all" can be mentioned
// in a card, other groups are named. The grammar admits only [A-Za-z0-9_-] in an
// id, so nothing can be smuggled into the <at> tag.
func mention(id string, group bool) string {
	if id == "all" {
		return "<at id=all></at>"
	}
	if group {
		return "@" + escape(id)
	}
	return "<at id=" + id + "></at>"
}

// escape writes plain text so that lark_md shows it as is.
func escape(s string) string {
	if !strings.ContainsAny(s, specials) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteString(escapeRune(r))
	}
	return b.String()
}

// specials are the characters lark_md reads as markup.
const specials = "&<>*~[]`"

func escapeRune(r rune) string {
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
