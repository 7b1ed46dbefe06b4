package bot

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokens(t *testing.T) {
	text := func(s string) Token { return Token{Kind: TokenText, Text: s} }
	cloudwatch := "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:logs-insights$3FqueryDetail$3D~(end~'2026~source~(~'*2faws))"
	tests := []struct {
		name string
		in   string
		want []Token
	}{
		{"empty", "", nil},
		{"plain", "hello world", []Token{text("hello world")}},
		{"bold", "**Total** $1", []Token{{Kind: TokenBold, Text: "Total", Inner: []Token{text("Total")}}, text(" $1")}},
		{"code", "a `s-1` b", []Token{text("a "), {Kind: TokenCode, Text: "s-1"}, text(" b")}},
		{"code is verbatim", "`**x** <@U1>`", []Token{{Kind: TokenCode, Text: "**x** <@U1>"}}},
		{"backticks inside bold", "**call `s-1`**", []Token{{Kind: TokenBold, Text: "call `s-1`",
			Inner: []Token{text("call "), {Kind: TokenCode, Text: "s-1"}}}}},
		{"bold ends at the first closing marker", "**a `b** c`", []Token{{Kind: TokenBold, Text: "a `b",
			Inner: []Token{text("a `b")}}, text(" c`")}},
		{"unterminated bold", "**oops", []Token{text("**oops")}},
		{"unterminated code", "a ` b", []Token{text("a ` b")}},
		{"empty bold", "****", []Token{text("****")}},
		{"empty code", "``", []Token{text("``")}},
		{"bold does not span lines", "**a\nb**", []Token{text("**a\nb**")}},
		{"code does not span lines", "`a\nb`", []Token{text("`a\nb`")}},
		{"link", "[gen-1](https://openrouter.ai/activity/gen-1)", []Token{{Kind: TokenLink, Text: "gen-1",
			URL: "https://openrouter.ai/activity/gen-1", Inner: []Token{text("gen-1")}}}},
		{"link with balanced parentheses", "[Open (x)](" + cloudwatch + ") after", []Token{{Kind: TokenLink,
			Text: "Open (x)", URL: cloudwatch, Inner: []Token{text("Open (x)")}}, text(" after")}},
		{"link label holds markup", "[**b** `c`](https://x.example)", []Token{{Kind: TokenLink, Text: "**b** `c`",
			URL: "https://x.example", Inner: []Token{{Kind: TokenBold, Text: "b", Inner: []Token{text("b")}}, text(" "), {Kind: TokenCode, Text: "c"}}}}},
		{"] in a label is text", "[a]b](https://x.example)", []Token{text("[a]b](https://x.example)")}},
		{"[ in a label is text", "[a[b](https://x.example)", []Token{text("[a"), {Kind: TokenLink, Text: "b",
			URL: "https://x.example", Inner: []Token{text("b")}}}},
		{"javascript: URL is text", "[click](javascript:alert(1))", []Token{text("[click](javascript:alert(1))")}},
		{"relative URL is text", "[x](/etc/passwd)", []Token{text("[x](/etc/passwd)")}},
		{"URL with a space is text", "[x](https://a b)", []Token{text("[x](https://a b)")}},
		{"URL with < is text", "[x](https://a.example/<b>)", []Token{text("[x](https://a.example/<b>)")}},
		{"empty label is text", "[](https://x.example)", []Token{text("[](https://x.example)")}},
		{"brackets not a link", "[not a link] (x)", []Token{text("[not a link] (x)")}},
		{"user", "by <@U123ABC>", []Token{text("by "), {Kind: TokenUser, Text: "U123ABC"}}},
		{"group", "<@!S0ONCALL> look", []Token{{Kind: TokenGroup, Text: "S0ONCALL"}, text(" look")}},
		{"lark ids", "<@ou_a-1> <@!all>", []Token{{Kind: TokenUser, Text: "ou_a-1"}, text(" "), {Kind: TokenGroup, Text: "all"}}},
		{"mention with a bad id is text", "<@U1 2> <@!> <@!!x> <@U1|name>", []Token{text("<@U1 2> <@!> <@!!x> <@U1|name>")}},
		{"broadcast is text", "<!channel> <!here|here>", []Token{text("<!channel> <!here|here>")}},
		{"unicode", "✓ 号码 **通话**", []Token{text("✓ 号码 "), {Kind: TokenBold, Text: "通话", Inner: []Token{text("通话")}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Tokens(tc.in)); diff != "" {
				t.Errorf("Tokens(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// The plain renderer agrees with the grammar: markers go only where Tokens sees
// markup, links keep their label, mentions become @id.
func TestPlain(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"markers go", "**Call** `s-1`", "Call s-1"},
		{"link keeps its label", "see [docs](https://x.example) now", "see docs now"},
		{"label markup goes", "[**b** `c`](https://x.example)", "b c"},
		{"mentions", "by <@U1> for <@!S2>", "by @U1 for @S2"},
		{"] in a label is text", "[a]b](https://x.example)", "[a]b](https://x.example)"},
		{"javascript: URL is text", "[click](javascript:alert(1))", "[click](javascript:alert(1))"},
		{"unterminated bold stays", "**oops", "**oops"},
		{"backticks inside bold", "**call `s-1`**", "call s-1"},
		{"plain characters stay", "a < b & c", "a < b & c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Plain(tc.in); got != tc.want {
				t.Errorf("Plain(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzTokens(f *testing.F) {
	for _, s := range []string{"**a** `b` [c](https://d.example) <@U1> <@!S2>", "[a]b](https://x)", "**`**`", "<@", "[x](https://a.example/(b)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The tokens cover the input exactly: nothing is lost or invented.
		if got := rebuild(Tokens(s)); got != s {
			t.Errorf("tokens of %q rebuild %q", s, got)
		}
	})
}

// rebuild writes tokens back as markup.
func rebuild(toks []Token) string {
	var out string
	for _, tok := range toks {
		switch tok.Kind {
		case TokenText:
			out += tok.Text
		case TokenBold:
			out += "**" + rebuild(tok.Inner) + "**"
		case TokenCode:
			out += "`" + tok.Text + "`"
		case TokenLink:
			out += "[" + rebuild(tok.Inner) + "](" + tok.URL + ")"
		case TokenUser:
			out += "<@" + tok.Text + ">"
		case TokenGroup:
			out += "<@!" + tok.Text + ">"
		}
	}
	return out
}

// TestLiteral: whatever text goes through literal is read as text alone, and
// looks the same once the invisible joiners are gone.
func TestLiteral(t *testing.T) {
	for _, s := range []string{
		"call_state=human_conversation", "<@U123> <@!S0ONCALL> <@!all>", "**bold** ***x*** ****", "`code` ``",
		"[click](https://evil.example/x)", "[a](https://a.example)[b](https://b.example)", "<@<@U1>>", "*`*`*",
	} {
		toks := Tokens(literal(s))
		for _, tok := range toks {
			if tok.Kind != TokenText {
				t.Errorf("literal(%q) holds a %v token: %+v", s, tok.Kind, toks)
			}
		}
		if got, want := strings.ReplaceAll(literal(s), wordJoiner, ""), strings.ReplaceAll(s, "`", "'"); got != want {
			t.Errorf("literal(%q) reads %q", s, got)
		}
	}
}
