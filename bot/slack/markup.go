package slack

import (
	"strings"

	"github.com/callytics/tracebot/bot"
)

// This file renders the core's markup tokens (bot.Tokens) as Slack mrkdwn:
//
//	**bold**        → *bold*
//	`code`          → `code`
//	[label](url)    → <url|label>
//	<@U123>         → <@U123>
//	<@!S123>        → <!subteam^S123>
//
// Text is escaped (&, < and >), so a pasted report can never smuggle in
// <!channel>, a mention or a link: the grammar decides what markup is, and what it
// does not accept arrives here as text.

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape escapes the three characters mrkdwn gives meaning to.
func escape(s string) string { return escaper.Replace(s) }

// mrkdwn converts one text of markup to mrkdwn.
func mrkdwn(s string) string { return mrkdwnTokens(bot.Tokens(s), false) }

// notification converts markup to the text of a notification: as mrkdwn, but
// bold and code without their markers (a banner shows them literally).
func notification(s string) string { return mrkdwnTokens(bot.Tokens(s), true) }

func mrkdwnTokens(toks []bot.Token, plain bool) string {
	var b strings.Builder
	for _, tok := range toks {
		switch tok.Kind {
		case bot.TokenText:
			b.WriteString(escape(tok.Text))
		case bot.TokenBold:
			inner := mrkdwnTokens(tok.Inner, plain)
			switch {
			case plain:
				b.WriteString(inner)
			case strings.TrimSpace(inner) != "": // "* *" is no bold in mrkdwn
				b.WriteString("*" + inner + "*")
			}
		case bot.TokenCode:
			if plain {
				b.WriteString(escape(tok.Text))
			} else {
				b.WriteString("`" + escape(tok.Text) + "`")
			}
		case bot.TokenLink:
			b.WriteString("<" + urlEscaper.Replace(tok.URL) + "|" + escape(bot.PlainTokens(tok.Inner)) + ">")
		case bot.TokenUser:
			b.WriteString("<@" + tok.Text + ">")
		case bot.TokenGroup:
			b.WriteString("<!subteam^" + tok.Text + ">")
		}
	}
	return b.String()
}

// urlEscaper makes a URL safe inside <url|label>: & is escaped like any text
// (Slack unescapes it), and | (which would end the URL) is percent-encoded. The
// grammar admits no space, < or > in a link's URL.
var urlEscaper = strings.NewReplacer("&", "&amp;", "|", "%7C")
