package lark

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/bot"
)

func TestMarkdown(t *testing.T) {
	t.Parallel()
	cloudwatch := "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:logs-insights$3FqueryDetail$3D~(end~'2026~source~(~'*2faws))"
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello world", "hello world"},
		{"escapes lark_md specials", "a & b < c > d * e ~ f [g] `", "a &amp; b &lt; c &gt; d &#42; e &#126; f &#91;g&#93; &#96;"},
		{"no injected at tag", "<at id=all></at>", "&lt;at id=all&gt;&lt;/at&gt;"},
		{"bold stays", "**Total** $0.1", "**Total** $0.1"},
		{"bold with code inside", "**call `s-1`**", "**call `s-1`**"},
		{"bold escapes its text", "**a*b**", "**a&#42;b**"},
		{"code stays verbatim", "`a<b & *c*`", "`a<b & *c*`"},
		{"link stays", "[gen-1](https://openrouter.ai/activity/gen-1)", "[gen-1](https://openrouter.ai/activity/gen-1)"},
		{"link with balanced parentheses", "[Open (us-east-1)](" + cloudwatch + ") after", "[Open (us-east-1)](" + cloudwatch + ") after"},
		{"link label escaped", "[a*b](https://x.example)", "[a&#42;b](https://x.example)"},
		{"unsafe scheme is text", "[click](javascript:alert(1))", "&#91;click&#93;(javascript:alert(1))"},
		{"link with a space is text", "[x](https://a b)", "&#91;x&#93;(https://a b)"},
		{"user mention", "requested by <@ou_abc123>", "requested by <at id=ou_abc123></at>"},
		{"all mention", "<@!all> and <@all>", "<at id=all></at> and <at id=all></at>"},
		{"group mention is named", "<@!S0ONCALL> please look", "@S0ONCALL please look"},
		{"mention with bad id is text", "<@ou_1 2>", "&lt;@ou_1 2&gt;"},
		{"mention smuggling a tag is text", "<@ou_1></at><at id=all>", "<at id=ou_1></at>&lt;/at&gt;&lt;at id=all&gt;"},
		{"unbalanced bold", "**oops", "&#42;&#42;oops"},
		{"unbalanced code", "a ` b", "a &#96; b"},
		{"empty bold", "****", "&#42;&#42;&#42;&#42;"},
		{"unicode", "✓ 号码 +1 914-265-4371 5月20日", "✓ 号码 +1 914-265-4371 5月20日"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, markdown(tc.in)); diff != "" {
				t.Errorf("larkMarkdown(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestPlain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"markers go", "**Call** `s-1`", "Call s-1"},
		{"link keeps its label", "see [docs](https://x.example) now", "see docs now"},
		{"mention keeps its id", "by <@ou_a>", "by @ou_a"},
		{"group mention", "<@!all>", "@all"},
		{"plain characters stay", "a < b & c", "a < b & c"},
		{"unicode", "重新分析这通电话？", "重新分析这通电话？"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := bot.Plain(tc.in); got != tc.want {
				t.Errorf("larkPlain(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestMarkdownAgreesWithTheGrammar: on the grammar's edge cases the renderer draws
// a link, bold, code or mention exactly where bot.Tokens finds one, and escaped
// text everywhere else.
func TestMarkdownAgreesWithTheGrammar(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"] in a label is text", "[a]b](https://x.example)", "&#91;a&#93;b&#93;(https://x.example)"},
		{"javascript: URL is text", "[click](javascript:alert(1))", "&#91;click&#93;(javascript:alert(1))"},
		{"label markup is plain", "[**b** `c`](https://x.example)", "[b c](https://x.example)"},
		{"unterminated bold is text", "**oops `c`", "&#42;&#42;oops `c`"},
		{"backticks inside bold", "**call `s-1`** done", "**call `s-1`** done"},
		{"bold ends at the first closing marker", "**a `b** c`", "**a &#96;b** c&#96;"},
		{"bold does not span lines", "**a\nb**", "&#42;&#42;a\nb&#42;&#42;"},
		{"code does not span lines", "`a\nb`", "&#96;a\nb&#96;"},
		{"user and group mentions", "<@ou_1> <@!S2> <@!all>", "<at id=ou_1></at> @S2 <at id=all></at>"},
		{"bad mention is text", "<@ou_1|x>", "&lt;@ou_1|x&gt;"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := markdown(tc.in)
			if got != tc.want {
				t.Errorf("markdown(%q) = %q, want %q", tc.in, got, tc.want)
			}
			links := 0
			for _, tok := range bot.Tokens(tc.in) {
				if tok.Kind == bot.TokenLink {
					links++
				}
			}
			if n := strings.Count(got, "]("); n != links {
				t.Errorf("%d links drawn, the grammar has %d", n, links)
			}
		})
	}
}
