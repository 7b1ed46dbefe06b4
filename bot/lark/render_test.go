package lark

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/bot/lark/larkfake"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/internal/golden"
)

// fixtures loads the fixed Reply fixtures, testdata/replies/<name>.json, one per
// situation ("zh_" names are in Chinese). They are not built by the core, so a
// change of the bot's wording moves only the core's goldens (bot/testdata/replies).
func fixtures(t *testing.T) map[string]bot.Reply {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "replies", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	out := map[string]bot.Reply{}
	for _, path := range paths {
		var r bot.Reply
		golden.Load(t, path, &r)
		out[strings.TrimSuffix(filepath.Base(path), ".json")] = r
	}
	return out
}

// TestCardGolden renders every fixture as a card and compares it with
// testdata/<name>.golden.
//
//	go test ./bot/lark -run Golden -update
func TestCardGolden(t *testing.T) {
	t.Parallel()
	for name, r := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			lang := "en"
			if strings.HasPrefix(name, "zh_") {
				lang = "zh"
			}
			content := cardContent(r, lang)
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, []byte(content), "", "  "); err != nil {
				t.Fatalf("card is not JSON: %v\n%s", err, content)
			}
			pretty.WriteByte('\n')
			golden.Check(t, filepath.Join("testdata", name+".golden"), pretty.Bytes())
		})
	}
}

// TestLarkCardInvariants checks what every card must hold, whatever its golden
// says: it is a shared card Lark accepts, the sample note comes first, and every
// button carries the action value of the Reply's button.
func TestCardInvariants(t *testing.T) {
	t.Parallel()
	for name, r := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			content := cardContent(r, "en")
			if len(content) > cardBudget {
				t.Errorf("card is %d bytes, over the %d budget", len(content), cardBudget)
			}
			c, err := larkfake.ParseCard(content)
			if err != nil {
				t.Fatal(err)
			}
			if !c.Config.UpdateMulti || !c.Config.WideScreenMode {
				t.Errorf("config = %+v, want wide and shared (update_multi)", c.Config)
			}
			if len(c.Elements) == 0 || c.Elements[0].Tag != "note" || !strings.Contains(c.Elements[0].Elements[0].Content, "Sample data") {
				t.Errorf("the first element is not the sample note:\n%s", c.Text())
			}
			var got, want []bot.ActionValue
			for _, b := range c.Buttons() {
				got = append(got, buttonValue(t, b))
			}
			for _, bl := range r.Blocks {
				for _, b := range bl.Buttons {
					want = append(want, b.Value)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("button values (-reply +card):\n%s", diff)
			}
		})
	}
}

func TestCardButtons(t *testing.T) {
	t.Parallel()
	v := bot.ActionValue{Action: bot.ActReprocess, SessionID: "s-1", StoreID: "st-9", TraceID: "tr-1"}
	r := bot.Reply{Blocks: []bot.Block{{Kind: bot.BlockButtons, Buttons: []bot.Button{
		{Label: "Reprocess", Value: v, Style: bot.StyleDanger, Confirm: &bot.Confirm{Title: "Reprocess this call?", Text: "Session `s-1` again", OK: "Go", Cancel: "No"}},
		{Label: "Refresh", Value: bot.ActionValue{Action: bot.ActRefresh, SessionID: "s-1"}},
		{Label: "Widen", Value: bot.ActionValue{Action: bot.ActWiden, Phone: "+19142654371"}, Style: bot.StylePrimary},
		{Label: "Open **docs**", URL: "https://example.com/docs"},
	}}}}
	got := renderCard(r, "en").Elements[0]
	want := element{Tag: "action", Layout: "flow", Actions: []cardButton{
		{Tag: "button", Text: textObject{"plain_text", "Reprocess"}, Type: "danger", Value: map[string]string{"v": v.Encode()},
			Confirm: &cardConfirm{Title: textObject{"plain_text", "Reprocess this call?"}, Text: textObject{"plain_text", "Session s-1 again"}}},
		{Tag: "button", Text: textObject{"plain_text", "Refresh"}, Type: "default", Value: map[string]string{"v": `{"a":"refresh","s":"s-1"}`}},
		{Tag: "button", Text: textObject{"plain_text", "Widen"}, Type: "primary", Value: map[string]string{"v": `{"a":"widen","p":"+19142654371"}`}},
		{Tag: "button", Text: textObject{"plain_text", "Open docs"}, Type: "default", URL: "https://example.com/docs"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("buttons (-want +got):\n%s", diff)
	}
}

// TestLarkCardFitsInLarksLimit: an oversized reply is shortened under 30 KB, says
// so, and keeps its buttons.
func TestCardFitsInLarksLimit(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("SELECT * FROM calls WHERE x = 'é&<>' ", 3000) // ~110 KB
	btn := bot.Button{Label: "Refresh", Value: bot.ActionValue{Action: bot.ActRefresh, SessionID: "s-1"}}
	tests := []struct {
		name   string
		blocks []bot.Block
	}{
		{"one huge code block", []bot.Block{{Kind: bot.BlockCode, Text: big}, {Kind: bot.BlockButtons, Buttons: []bot.Button{btn}}}},
		{"huge text and fields", []bot.Block{{Kind: bot.BlockText, Text: big}, {Kind: bot.BlockFields, Fields: []bot.Field{{Label: "A", Value: big[:40000]}}},
			{Kind: bot.BlockContext, Text: "small print"}, {Kind: bot.BlockButtons, Buttons: []bot.Button{btn}}}},
		{"many small blocks", manyBlocks(2000, btn)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, lang := range []string{"en", "zh"} {
				content := cardContent(bot.Reply{Blocks: tc.blocks}, lang)
				if len(content) > cardBudget {
					t.Fatalf("%s: card is %d bytes, over %d", lang, len(content), cardBudget)
				}
				c, err := larkfake.ParseCard(content)
				if err != nil {
					t.Fatal(err)
				}
				if got := c.Buttons(); len(got) != 1 || got[0].Text.Content != "Refresh" {
					t.Errorf("%s: buttons after shortening = %+v, want Refresh kept", lang, got)
				}
				last := c.Elements[len(c.Elements)-1]
				if last.Tag != "note" || last.Elements[0].Content != escape(bot.T(lang, "truncated")) {
					t.Errorf("%s: last element %+v, want the truncation note", lang, last)
				}
				for _, el := range c.Elements {
					if el.Tag == "markdown" && (!strings.HasPrefix(el.Content, "```\n") || !strings.HasSuffix(el.Content, "\n```")) {
						t.Errorf("%s: code block lost its fences", lang)
					}
				}
			}
		})
	}
}

func manyBlocks(n int, btn bot.Button) []bot.Block {
	blocks := []bot.Block{{Kind: bot.BlockButtons, Buttons: []bot.Button{btn}}}
	for i := range n {
		blocks = append(blocks, bot.Block{Kind: bot.BlockText, Text: "line " + strings.Repeat("x", i%50)})
	}
	return blocks
}

func TestCut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		n, keep  int
		want     string
		ok       bool
	}{
		{"plain", "abcdefghij", 3, 1, "abcd…", true},
		{"keeps runes whole", "号码号码号码", 4, 1, "号码号…", true},
		{"keeps entities whole", "ab &#42;cdefgh", 7, 1, "ab …", true},
		{"keeps code spans whole", "ab `code span` end!", 5, 1, "ab …", true},
		{"too short to keep", "abcdefghij", 3, 8, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := cutText(tc.in, tc.n, tc.keep)
			if got != tc.want || ok != tc.ok {
				t.Errorf("larkCut(%q, %d, %d) = %q, %v; want %q, %v", tc.in, tc.n, tc.keep, got, ok, tc.want, tc.ok)
			}
		})
	}
}
