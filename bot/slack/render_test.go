package slack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/bot/slack/slackfake"

	"github.com/callytics/tracebot/bot"
)

func TestMrkdwn(t *testing.T) {
	cloudwatch := "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:logs-insights$3FqueryDetail$3D~(end~'2026~source~(~'*2faws))"
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello world", "hello world"},
		{"escapes", "a & b < c > d", "a &amp; b &lt; c &gt; d"},
		{"no injected broadcast", "<!channel> ping <!here|here>", "&lt;!channel&gt; ping &lt;!here|here&gt;"},
		{"bold", "**Total** $0.1", "*Total* $0.1"},
		{"bold with code", "**call `s-1`**", "*call `s-1`*"},
		{"code escaped", "`a<b & c>`", "`a&lt;b &amp; c&gt;`"},
		{"link", "[gen-1](https://openrouter.ai/activity/gen-1)", "<https://openrouter.ai/activity/gen-1|gen-1>"},
		{"link with ampersand and pipe", "[x](https://h.example/?a=1&b=2|3)", "<https://h.example/?a=1&amp;b=2%7C3|x>"},
		{"link with balanced parentheses", "[Open](" + cloudwatch + ") after",
			"<" + cloudwatch + "|Open> after"},
		{"link label markup stripped", "[**bold** `c`](https://x.example)", "<https://x.example|bold c>"},
		{"link label escaped", "[a<b](https://x.example)", "<https://x.example|a&lt;b>"},
		{"unsafe scheme is text", "[click](javascript:alert(1))", "[click](javascript:alert(1))"},
		{"user mention", "requested by <@U123ABC>", "requested by <@U123ABC>"},
		{"group mention", "<@!S0ONCALL> please look", "<!subteam^S0ONCALL> please look"},
		{"mention with bad id is text", "<@U1 2>", "&lt;@U1 2&gt;"},
		{"unbalanced bold", "**oops", "**oops"},
		{"unbalanced code", "a ` b", "a ` b"},
		{"empty bold", "****", "****"},
		{"brackets not a link", "[not a link] (x)", "[not a link] (x)"},
		{"unicode", "✓ 号码 +1 914-265-4371", "✓ 号码 +1 914-265-4371"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, mrkdwn(tc.in)); diff != "" {
				t.Errorf("slackMrkdwn(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestPlain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Call **s-abc**", "Call s-abc"},
		{"`code` and [label](https://x.example)", "code and label"},
		{"by <@U1> for <@!S2>", "by @U1 for @S2"},
		{"a & b < c", "a & b < c"},
	}
	for _, tc := range tests {
		if got := bot.Plain(tc.in); got != tc.want {
			t.Errorf("slackPlain(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// validateSlack fails t unless every message passes the fake's Block Kit checks.
func validate(t *testing.T, msgs []message) {
	t.Helper()
	for i, m := range msgs {
		raw, err := json.Marshal(m.Blocks)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if err := slackfake.ValidateBlocks(raw); err != nil {
			t.Errorf("message %d of %d is not valid Block Kit: %v", i+1, len(msgs), err)
		}
		if n := utf8.RuneCountInString(m.Text); n > maxFallbackText {
			t.Errorf("message %d: fallback text has %d characters", i+1, n)
		}
	}
}

// allText is every text of the rendered messages' blocks.
func allText(t *testing.T, msgs []message) string {
	t.Helper()
	var blocks []any
	for _, m := range msgs {
		for _, b := range m.Blocks {
			blocks = append(blocks, b)
		}
	}
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if str, ok := x.(string); ok && k == "text" {
					texts = append(texts, str)
				} else {
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var decoded any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	walk(decoded)
	return strings.Join(texts, "\n")
}

func TestRenderSlackHugeReplyRespectsLimits(t *testing.T) {
	var r bot.Reply
	r.Text = strings.Repeat("fallback ", 1000)
	r.Sandbox = true
	r.Blocks = append(r.Blocks, bot.Block{Kind: bot.BlockHeader, Text: strings.Repeat("Very long header ", 20)})
	for i := range 70 {
		r.Blocks = append(r.Blocks, bot.Block{Kind: bot.BlockText, Text: fmt.Sprintf("paragraph %d with **bold** and [a link](https://x.example/%d)", i, i)})
	}
	long := strings.Repeat("word<&> ", 1200) // 9600 characters, 14400 once escaped
	r.Blocks = append(r.Blocks, bot.Block{Kind: bot.BlockText, Text: long})
	var fields []bot.Field
	for i := range 23 {
		fields = append(fields, bot.Field{Label: fmt.Sprintf("Field %d", i), Value: strings.Repeat("v", 2500)})
	}
	r.Blocks = append(r.Blocks, bot.Block{Kind: bot.BlockFields, Fields: fields})
	tab := &bot.Table{Header: []string{"Stage", "Model", "Cost"}}
	for i := range 300 {
		tab.Rows = append(tab.Rows, []string{fmt.Sprintf("**row%03d**", i), "deepseek/deepseek-v4-flash", "$0.000122"})
	}
	r.Blocks = append(r.Blocks, bot.Block{Kind: bot.BlockTable, Table: tab})
	r.Blocks = append(r.Blocks, bot.Block{Kind: bot.BlockCode, Text: strings.Repeat("SELECT * FROM calls WHERE x < 1;\n", 300)})
	var btns []bot.Button
	for i := range 60 {
		btns = append(btns, bot.Button{Label: strings.Repeat("Trace this call ", 10), Value: bot.ActionValue{Action: bot.ActTraceCall, SessionID: fmt.Sprintf("s-%d", i)}})
	}
	r.Blocks = append(r.Blocks, bot.Block{Kind: bot.BlockButtons, Buttons: btns})

	msgs := render(r, "en")
	if len(msgs) < 2 {
		t.Fatalf("want the reply split over several messages, got %d", len(msgs))
	}
	validate(t, msgs)
	label, _ := json.Marshal(render(bot.Reply{Sandbox: true}, "en")[0].Blocks[0])
	if !strings.Contains(string(label), "Sample data") {
		t.Fatalf("sample label: %s", label)
	}
	for i, m := range msgs {
		if len(m.Blocks) > maxBlocks {
			t.Errorf("message %d has %d blocks", i, len(m.Blocks))
		}
		first, _ := json.Marshal(m.Blocks[0])
		if string(first) != string(label) {
			t.Errorf("message %d does not start with the sample label: %s", i, first)
		}
	}
	all := allText(t, msgs)
	for i := range 300 {
		if !strings.Contains(all, fmt.Sprintf("*row%03d* · deepseek/deepseek-v4-flash · $0.000122", i)) {
			t.Fatalf("table row %d is missing or cut", i)
		}
	}
	for i := range 70 {
		if !strings.Contains(all, fmt.Sprintf("paragraph %d with *bold* and <https://x.example/%d|a link>", i, i)) {
			t.Fatalf("paragraph %d is missing", i)
		}
	}
	if got, want := strings.Count(all, "word&lt;&amp;&gt;"), 1200; got != want {
		t.Errorf("long text: %d of %d words survived the split", got, want)
	}
	if got, want := strings.Count(all, "SELECT * FROM calls WHERE x &lt; 1;"), 300; got != want {
		t.Errorf("code: %d of %d lines survived the split", got, want)
	}
	if got := strings.Count(all, "Trace this call"); got < 60 {
		t.Errorf("buttons: want 60, found %d labels", got)
	}
}

func TestRenderSlackOneLongLine(t *testing.T) {
	// One line with no spaces, links and entities throughout: cut only between tokens.
	var b strings.Builder
	for i := range 400 {
		fmt.Fprintf(&b, "[l%d](https://x.example/%d)&", i, i)
	}
	msgs := render(bot.Reply{Blocks: []bot.Block{{Kind: bot.BlockText, Text: b.String()}}}, "en")
	validate(t, msgs)
	all := allText(t, msgs)
	for i := range 400 {
		if !strings.Contains(all, fmt.Sprintf("<https://x.example/%d|l%d>", i, i)) {
			t.Fatalf("link %d was cut", i)
		}
	}
	if got := strings.Count(all, "&amp;"); got != 400 {
		t.Errorf("%d of 400 entities survived the split", got)
	}
}

func TestRenderSlackButtons(t *testing.T) {
	r := bot.Reply{Blocks: []bot.Block{{Kind: bot.BlockButtons, Buttons: []bot.Button{
		{Label: "Reprocess", Style: bot.StyleDanger, Value: bot.ActionValue{Action: bot.ActReprocess, SessionID: "s-1"},
			Confirm: &bot.Confirm{Title: "Reprocess this call?", Text: "Session **s-1** " + strings.Repeat("x", 400), OK: "Reprocess", Cancel: "Cancel"}},
		{Label: "Open", URL: "https://openrouter.ai/activity/gen-1"},
		{Label: "Bad link", URL: "javascript:alert(1)"},
	}}}}
	msgs := render(r, "en")
	validate(t, msgs)
	raw, _ := json.Marshal(msgs[0].Blocks)
	var m slackfake.Message
	m.Blocks = raw
	got := slackfake.Buttons(m)
	if len(got) != 2 {
		t.Fatalf("want 2 buttons (the javascript: link dropped), got %+v", got)
	}
	v, err := bot.DecodeActionValue(got[0].Value)
	if err != nil || v.SessionID != "s-1" || !strings.HasPrefix(got[0].ActionID, actionPrefix) || !got[0].Confirm || got[0].Style != "danger" {
		t.Errorf("reprocess button: %+v (value %+v, %v)", got[0], v, err)
	}
	if !strings.HasPrefix(got[0].ConfirmText, "Session s-1 ") {
		t.Errorf("confirm text should be plain: %q", got[0].ConfirmText)
	}
	if got[1].URL == "" || !strings.HasPrefix(got[1].ActionID, linkPrefix) {
		t.Errorf("link button: %+v", got[1])
	}
}

func TestRenderSlackCodeKeepsItsFence(t *testing.T) {
	msgs := render(bot.Reply{Blocks: []bot.Block{{Kind: bot.BlockCode, Text: "\nselect '```' <x>\n"}}}, "en")
	validate(t, msgs)
	all := allText(t, msgs)
	if strings.Count(all, "```") != 2 || !strings.HasPrefix(all, "```\nselect") || !strings.Contains(all, "&lt;x&gt;") {
		t.Errorf("code block: %q", all)
	}
}

// TestMrkdwnAgreesWithTheGrammar: on the grammar's edge cases the renderer draws a
// link, bold, code or mention exactly where bot.Tokens finds one, and escaped text
// everywhere else.
func TestMrkdwnAgreesWithTheGrammar(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"] in a label is text", "[a]b](https://x.example)", "[a]b](https://x.example)"},
		{"javascript: URL is text", "[click](javascript:alert(1))", "[click](javascript:alert(1))"},
		{"URL with < is text", "[x](https://a.example/<b>)", "[x](https://a.example/&lt;b&gt;)"},
		{"unterminated bold is text", "**oops `c`", "**oops `c`"},
		{"backticks inside bold", "**call `s-1`** done", "*call `s-1`* done"},
		{"bold ends at the first closing marker", "**a `b** c`", "*a `b* c`"},
		{"bold does not span lines", "**a\nb**", "**a\nb**"},
		{"user and group mentions", "<@U1> <@!S2> <@!all>", "<@U1> <!subteam^S2> <!subteam^all>"},
		{"bad mention is text", "<@U1|x>", "&lt;@U1|x&gt;"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mrkdwn(tc.in)
			if got != tc.want {
				t.Errorf("mrkdwn(%q) = %q, want %q", tc.in, got, tc.want)
			}
			links, mentions := 0, 0
			for _, tok := range bot.Tokens(tc.in) {
				switch tok.Kind {
				case bot.TokenLink:
					links++
				case bot.TokenUser, bot.TokenGroup:
					mentions++
				}
			}
			if n := strings.Count(got, "<http"); n != links {
				t.Errorf("%d links drawn, the grammar has %d", n, links)
			}
			if n := strings.Count(got, "<@") + strings.Count(got, "<!subteam^"); n != mentions {
				t.Errorf("%d mentions drawn, the grammar has %d", n, mentions)
			}
		})
	}
}
