package bot

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// This file renders a Reply as a Lark interactive card (message card JSON 1.0:
// config, header, elements), the content of msg_type "interactive".

// larkCardLimit is the most a card's JSON may weigh: Lark refuses cards over 30 KB.
// Rendering stays 2 KB under it, for the request's own JSON escaping.
const (
	larkCardLimit  = 30 * 1024
	larkCardBudget = larkCardLimit - 2*1024
)

// larkCard is a message card. update_multi makes it one shared card that PATCH
// updates for everyone in the chat; without it PATCH fails on group cards.
type larkCard struct {
	Config   larkCardConfig `json:"config"`
	Header   *larkHeader    `json:"header,omitempty"`
	Elements []larkElement  `json:"elements"`
}

type larkCardConfig struct {
	WideScreenMode bool `json:"wide_screen_mode"`
	UpdateMulti    bool `json:"update_multi"`
}

type larkHeader struct {
	Title    larkText `json:"title"`
	Template string   `json:"template,omitempty"`
}

// larkText is a text object: tag plain_text or lark_md.
type larkText struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

// larkElement is one card element; Tag says which fields it uses: div (Text or
// Fields), markdown (Content), note (Notes), hr, action (Actions).
type larkElement struct {
	Tag     string       `json:"tag"`
	Text    *larkText    `json:"text,omitempty"`
	Fields  []larkField  `json:"fields,omitempty"`
	Content string       `json:"content,omitempty"`
	Notes   []larkText   `json:"elements,omitempty"`
	Actions []larkButton `json:"actions,omitempty"`
	Layout  string       `json:"layout,omitempty"`
}

type larkField struct {
	IsShort bool     `json:"is_short"`
	Text    larkText `json:"text"`
}

// larkButton is an action button (Value) or a link button (URL).
type larkButton struct {
	Tag     string            `json:"tag"`
	Text    larkText          `json:"text"`
	Type    string            `json:"type"`
	URL     string            `json:"url,omitempty"`
	Value   map[string]string `json:"value,omitempty"`
	Confirm *larkConfirm      `json:"confirm,omitempty"`
}

type larkConfirm struct {
	Title larkText `json:"title"`
	Text  larkText `json:"text"`
}

// larkValueKey is the key of the ActionValue in a button's value object.
const larkValueKey = "v"

// larkRenderCard renders r as a card, in lang for the few words the renderer adds.
// The first header block becomes the card's header.
func larkRenderCard(r Reply, lang string) larkCard {
	c := larkCard{Config: larkCardConfig{WideScreenMode: true, UpdateMulti: true}, Elements: []larkElement{}}
	if r.Sample {
		c.Elements = append(c.Elements, larkNote(larkEscape(t(lang, "sample"))))
	}
	for _, bl := range r.Blocks {
		if bl.Kind == BlockHeader && c.Header == nil {
			c.Header = &larkHeader{Title: larkText{Tag: "plain_text", Content: larkPlain(bl.Text)}, Template: "blue"}
			continue
		}
		if el, ok := larkRenderBlock(bl); ok {
			c.Elements = append(c.Elements, el)
		}
	}
	return c
}

// larkRenderBlock renders one block; ok is false for a block that draws nothing.
func larkRenderBlock(bl Block) (larkElement, bool) {
	switch bl.Kind {
	case BlockHeader:
		return larkDiv("**" + larkMarkdown(bl.Text) + "**"), bl.Text != ""
	case BlockText:
		return larkDiv(larkMarkdown(bl.Text)), bl.Text != ""
	case BlockContext:
		return larkNote(larkMarkdown(bl.Text)), bl.Text != ""
	case BlockFields:
		return larkFields(bl.Fields), len(bl.Fields) > 0
	case BlockTable:
		return larkDiv(larkTable(bl.Table)), bl.Table != nil && len(bl.Table.Rows) > 0
	case BlockCode:
		return larkElement{Tag: "markdown", Content: larkCodeBlock(bl.Text)}, bl.Text != ""
	case BlockDivider:
		return larkElement{Tag: "hr"}, true
	case BlockButtons:
		return larkActions(bl.Buttons), len(bl.Buttons) > 0
	}
	return larkElement{}, false
}

func larkDiv(md string) larkElement {
	return larkElement{Tag: "div", Text: &larkText{Tag: "lark_md", Content: md}}
}

func larkNote(md string) larkElement {
	return larkElement{Tag: "note", Notes: []larkText{{Tag: "lark_md", Content: md}}}
}

// larkFields draws label/value pairs two to a row.
func larkFields(fields []Field) larkElement {
	el := larkElement{Tag: "div"}
	for _, f := range fields {
		md := larkMarkdown(f.Value)
		if f.Label != "" {
			md = "**" + larkEscape(f.Label) + "**\n" + md
		}
		el.Fields = append(el.Fields, larkField{IsShort: true, Text: larkText{Tag: "lark_md", Content: md}})
	}
	return el
}

// larkTable draws one line per row, "first cell — Label: cell · Label: cell …":
// cards have no table that stays readable with eight columns on a phone.
func larkTable(tab *Table) string {
	lines := make([]string, 0, len(tab.Rows))
	for _, row := range tab.Rows {
		var parts []string
		for i, cell := range row[min(1, len(row)):] {
			md := larkMarkdown(cell)
			if i+1 < len(tab.Header) && tab.Header[i+1] != "" {
				md = larkEscape(tab.Header[i+1]) + ": " + md
			}
			parts = append(parts, md)
		}
		line := ""
		if len(row) > 0 {
			line = larkMarkdown(row[0])
		}
		if len(parts) > 0 {
			line += " — " + strings.Join(parts, " · ")
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// larkCodeBlock fences text verbatim; a fence inside it is broken up so it cannot
// end the block early.
func larkCodeBlock(text string) string {
	return "```\n" + strings.ReplaceAll(text, "```", "`\u200b``") + "\n```"
}

func larkActions(buttons []Button) larkElement {
	el := larkElement{Tag: "action", Layout: "flow"}
	for _, b := range buttons {
		el.Actions = append(el.Actions, larkRenderButton(b))
	}
	return el
}

func larkRenderButton(b Button) larkButton {
	btn := larkButton{Tag: "button", Text: larkText{Tag: "plain_text", Content: larkPlain(b.Label)}, Type: "default"}
	switch b.Style {
	case StylePrimary:
		btn.Type = "primary"
	case StyleDanger:
		btn.Type = "danger"
	}
	if b.URL != "" {
		btn.URL = b.URL
	} else {
		btn.Value = map[string]string{larkValueKey: b.Value.Encode()}
	}
	if b.Confirm != nil {
		btn.Confirm = &larkConfirm{
			Title: larkText{Tag: "plain_text", Content: larkPlain(b.Confirm.Title)},
			Text:  larkText{Tag: "plain_text", Content: larkPlain(b.Confirm.Text)},
		}
	}
	return btn
}

// larkCardContent renders r as the JSON content of an interactive message, within
// Lark's size limit: when it is too big, the biggest texts are shortened (and, if
// that is not enough, dropped) and a note says so; buttons are always kept.
func larkCardContent(r Reply, lang string) string {
	c := larkRenderCard(r, lang)
	larkFit(&c, lang, larkCardBudget)
	return string(larkMarshal(c))
}

// larkMarshal encodes v without HTML escaping (lark_md holds <at> tags and &…;).
func larkMarshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // cannot fail: strings, bools and maps of strings
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// larkFit shrinks c until its JSON fits in limit bytes: a big text (over
// larkBigText) is shortened, else the last text goes; buttons always stay.
func larkFit(c *larkCard, lang string, limit int) {
	total := len(larkMarshal(c))
	if total <= limit {
		return
	}
	c.Elements = append(c.Elements, larkNote(larkEscape(t(lang, "truncated"))))
	sizes := make([]int, len(c.Elements))
	for i, el := range c.Elements {
		sizes[i] = len(larkMarshal(el))
	}
	total = len(larkMarshal(c))
	for total > limit {
		i := larkBiggestText(c.Elements, sizes)
		if i < 0 {
			return
		}
		if sizes[i] >= larkBigText && c.Elements[i].shorten(total-limit+16) {
			n := len(larkMarshal(c.Elements[i]))
			total += n - sizes[i]
			sizes[i] = n
			continue
		}
		if sizes[i] < larkBigText {
			i = larkLastText(c.Elements)
		}
		total -= sizes[i] + 1 // and its comma
		c.Elements = append(c.Elements[:i], c.Elements[i+1:]...)
		sizes = append(sizes[:i], sizes[i+1:]...)
	}
}

// larkBigText is the size from which an element is shortened rather than dropped.
const larkBigText = 1024

// larkTrimmable reports whether the element at i of n may be shortened or dropped:
// not buttons, rules, or the truncation note (the last element).
func larkTrimmable(el larkElement, i, n int) bool {
	return i < n-1 && el.Tag != "action" && el.Tag != "hr"
}

// larkBiggestText is the index of the trimmable element with the most text, or -1.
func larkBiggestText(els []larkElement, sizes []int) int {
	best := -1
	for i, el := range els {
		if larkTrimmable(el, i, len(els)) && (best < 0 || sizes[i] > sizes[best]) {
			best = i
		}
	}
	return best
}

// larkLastText is the index of the last trimmable element (there is one).
func larkLastText(els []larkElement) int {
	for i := len(els) - 1; i >= 0; i-- {
		if larkTrimmable(els[i], i, len(els)) {
			return i
		}
	}
	return -1
}

// shorten cuts at least n bytes of text from el and reports whether el still says
// something useful (otherwise it should be dropped).
func (el *larkElement) shorten(n int) bool {
	const keep = 200 // less than this is not worth showing
	switch {
	case el.Tag == "markdown":
		inner := strings.TrimSuffix(strings.TrimPrefix(el.Content, "```\n"), "\n```")
		cut, ok := larkCut(inner, n, keep)
		el.Content = "```\n" + cut + "\n```"
		return ok
	case el.Text != nil:
		cut, ok := larkCut(el.Text.Content, n, keep)
		el.Text.Content = cut
		return ok
	case len(el.Notes) == 1:
		cut, ok := larkCut(el.Notes[0].Content, n, keep)
		el.Notes[0].Content = cut
		return ok
	}
	return false
}

// larkCut drops at least n bytes from the end of s and adds "…". It never cuts a
// character, an HTML character reference or a code span in two. ok is false when
// fewer than keep bytes would be left.
func larkCut(s string, n, keep int) (string, bool) {
	end := len(s) - n - len("…")
	if end < keep {
		return "", false
	}
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	s = s[:end]
	if amp := strings.LastIndexByte(s, '&'); amp >= 0 && !strings.Contains(s[amp:], ";") {
		s = s[:amp]
	}
	if strings.Count(s, "`")%2 == 1 {
		s = s[:strings.LastIndexByte(s, '`')]
	}
	return s + "…", true
}
