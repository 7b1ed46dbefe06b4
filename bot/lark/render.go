package lark

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/callytics/tracebot/bot"
)

// This file renders a Reply as a Lark interactive card (message card JSON 1.0:
// config, header, elements), the content of msg_type "interactive".

// cardLimit is the most a card's JSON may weigh: Lark refuses cards over 30 KB.
// Rendering stays 2 KB under it, for the request's own JSON escaping.
const (
	cardLimit  = 30 * 1024
	cardBudget = cardLimit - 2*1024
)

// messageCard is a message card. update_multi makes it one shared card that PATCH
// updates for everyone in the chat; without it PATCH fails on group cards.
type messageCard struct {
	Config   cardConfig  `json:"config"`
	Header   *cardHeader `json:"header,omitempty"`
	Elements []element   `json:"elements"`
}

type cardConfig struct {
	WideScreenMode bool `json:"wide_screen_mode"`
	UpdateMulti    bool `json:"update_multi"`
}

type cardHeader struct {
	Title    textObject `json:"title"`
	Template string     `json:"template,omitempty"`
}

// textObject is a text object: tag plain_text or lark_md.
type textObject struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

// element is one card element; Tag says which fields it uses: div (Text or
// Fields), markdown (Content), note (Notes), hr, action (Actions).
type element struct {
	Tag     string       `json:"tag"`
	Text    *textObject  `json:"text,omitempty"`
	Fields  []cardField  `json:"fields,omitempty"`
	Content string       `json:"content,omitempty"`
	Notes   []textObject `json:"elements,omitempty"`
	Actions []cardButton `json:"actions,omitempty"`
	Layout  string       `json:"layout,omitempty"`
}

type cardField struct {
	IsShort bool       `json:"is_short"`
	Text    textObject `json:"text"`
}

// cardButton is an action button (Value) or a link button (URL).
type cardButton struct {
	Tag     string            `json:"tag"`
	Text    textObject        `json:"text"`
	Type    string            `json:"type"`
	URL     string            `json:"url,omitempty"`
	Value   map[string]string `json:"value,omitempty"`
	Confirm *cardConfirm      `json:"confirm,omitempty"`
}

type cardConfirm struct {
	Title textObject `json:"title"`
	Text  textObject `json:"text"`
}

// valueKey is the key of the ActionValue in a button's value object.
const valueKey = "v"

// renderCard renders r as a card, in lang for the few words the renderer adds.
// The first header block becomes the card's header.
func renderCard(r bot.Reply, lang string) messageCard {
	c := messageCard{Config: cardConfig{WideScreenMode: true, UpdateMulti: true}, Elements: []element{}}
	if r.Sandbox {
		c.Elements = append(c.Elements, note(escape(bot.T(lang, "sample"))))
	}
	for _, bl := range r.Blocks {
		if bl.Kind == bot.BlockHeader && c.Header == nil {
			c.Header = &cardHeader{Title: textObject{Tag: "plain_text", Content: bot.Plain(bl.Text)}, Template: "blue"}
			continue
		}
		if el, ok := renderBlock(bl); ok {
			c.Elements = append(c.Elements, el)
		}
	}
	return c
}

// renderBlock renders one block; ok is false for a block that draws nothing.
func renderBlock(bl bot.Block) (element, bool) {
	switch bl.Kind {
	case bot.BlockHeader:
		return div("**" + markdown(bl.Text) + "**"), bl.Text != ""
	case bot.BlockText:
		return div(markdown(bl.Text)), bl.Text != ""
	case bot.BlockContext:
		return note(markdown(bl.Text)), bl.Text != ""
	case bot.BlockFields:
		return fieldsDiv(bl.Fields), len(bl.Fields) > 0
	case bot.BlockTable:
		return div(tableText(bl.Table)), bl.Table != nil && len(bl.Table.Rows) > 0
	case bot.BlockCode:
		return element{Tag: "markdown", Content: codeBlock(bl.Text)}, bl.Text != ""
	case bot.BlockDivider:
		return element{Tag: "hr"}, true
	case bot.BlockButtons:
		return actionElement(bl.Buttons), len(bl.Buttons) > 0
	}
	return element{}, false
}

func div(md string) element {
	return element{Tag: "div", Text: &textObject{Tag: "lark_md", Content: md}}
}

func note(md string) element {
	return element{Tag: "note", Notes: []textObject{{Tag: "lark_md", Content: md}}}
}

// fieldsDiv draws label/value pairs two to a row.
func fieldsDiv(fields []bot.Field) element {
	el := element{Tag: "div"}
	for _, f := range fields {
		md := markdown(f.Value)
		if f.Label != "" {
			md = "**" + escape(f.Label) + "**\n" + md
		}
		el.Fields = append(el.Fields, cardField{IsShort: true, Text: textObject{Tag: "lark_md", Content: md}})
	}
	return el
}

// tableText draws one line per row, "first cell — Label: cell · Label: cell …":
// cards have no table that stays readable with eight columns on a phone.
func tableText(tab *bot.Table) string {
	lines := make([]string, 0, len(tab.Rows))
	for _, row := range tab.Rows {
		var parts []string
		for i, cell := range row[min(1, len(row)):] {
			md := markdown(cell)
			if i+1 < len(tab.Header) && tab.Header[i+1] != "" {
				md = escape(tab.Header[i+1]) + ": " + md
			}
			parts = append(parts, md)
		}
		line := ""
		if len(row) > 0 {
			line = markdown(row[0])
		}
		if len(parts) > 0 {
			line += " — " + strings.Join(parts, " · ")
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// codeBlock fences text verbatim; a fence inside it is broken up so it cannot
// end the block early.
func codeBlock(text string) string {
	return "```\n" + strings.ReplaceAll(text, "```", "`\u200b``") + "\n```"
}

func actionElement(buttons []bot.Button) element {
	el := element{Tag: "action", Layout: "flow"}
	for _, b := range buttons {
		el.Actions = append(el.Actions, renderButton(b))
	}
	return el
}

func renderButton(b bot.Button) cardButton {
	btn := cardButton{Tag: "button", Text: textObject{Tag: "plain_text", Content: bot.Plain(b.Label)}, Type: "default"}
	switch b.Style {
	case bot.StylePrimary:
		btn.Type = "primary"
	case bot.StyleDanger:
		btn.Type = "danger"
	}
	if b.URL != "" {
		btn.URL = b.URL
	} else {
		btn.Value = map[string]string{valueKey: b.Value.Encode()}
	}
	if b.Confirm != nil {
		btn.Confirm = &cardConfirm{
			Title: textObject{Tag: "plain_text", Content: bot.Plain(b.Confirm.Title)},
			Text:  textObject{Tag: "plain_text", Content: bot.Plain(b.Confirm.Text)},
		}
	}
	return btn
}

// cardContent renders r as the JSON content of an interactive message, within
// Lark's size limit: when it is too big, the biggest texts are shortened (and, if
// that is not enough, dropped) and a note says so; buttons are always kept.
func cardContent(r bot.Reply, lang string) string {
	c := renderCard(r, lang)
	fit(&c, lang, cardBudget)
	return string(marshal(c))
}

// marshal encodes v without HTML escaping (lark_md holds <at> tags and &…;).
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // cannot fail: strings, bools and maps of strings
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// fit shrinks c until its JSON fits in limit bytes: a big text (over
// bigText) is shortened, else the last text goes; buttons always stay.
func fit(c *messageCard, lang string, limit int) {
	total := len(marshal(c))
	if total <= limit {
		return
	}
	c.Elements = append(c.Elements, note(escape(bot.T(lang, "truncated"))))
	sizes := make([]int, len(c.Elements))
	for i, el := range c.Elements {
		sizes[i] = len(marshal(el))
	}
	total = len(marshal(c))
	for total > limit {
		i := biggestText(c.Elements, sizes)
		if i < 0 {
			return
		}
		if sizes[i] >= bigText && c.Elements[i].shorten(total-limit+16) {
			n := len(marshal(c.Elements[i]))
			total += n - sizes[i]
			sizes[i] = n
			continue
		}
		if sizes[i] < bigText {
			i = lastText(c.Elements)
		}
		total -= sizes[i] + 1 // and its comma
		c.Elements = append(c.Elements[:i], c.Elements[i+1:]...)
		sizes = append(sizes[:i], sizes[i+1:]...)
	}
}

// bigText is the size from which an element is shortened rather than dropped.
const bigText = 1024

// trimmable reports whether the element at i of n may be shortened or dropped:
// not buttons, rules, or the truncation note (the last element).
func trimmable(el element, i, n int) bool {
	return i < n-1 && el.Tag != "action" && el.Tag != "hr"
}

// biggestText is the index of the trimmable element with the most text, or -1.
func biggestText(els []element, sizes []int) int {
	best := -1
	for i, el := range els {
		if trimmable(el, i, len(els)) && (best < 0 || sizes[i] > sizes[best]) {
			best = i
		}
	}
	return best
}

// lastText is the index of the last trimmable element (there is one).
func lastText(els []element) int {
	for i := len(els) - 1; i >= 0; i-- {
		if trimmable(els[i], i, len(els)) {
			return i
		}
	}
	return -1
}

// shorten cuts at least n bytes of text from el and reports whether el still says
// something useful (otherwise it should be dropped).
func (el *element) shorten(n int) bool {
	const keep = 200 // less than this is not worth showing
	switch {
	case el.Tag == "markdown":
		inner := strings.TrimSuffix(strings.TrimPrefix(el.Content, "```\n"), "\n```")
		cut, ok := cutText(inner, n, keep)
		el.Content = "```\n" + cut + "\n```"
		return ok
	case el.Text != nil:
		cut, ok := cutText(el.Text.Content, n, keep)
		el.Text.Content = cut
		return ok
	case len(el.Notes) == 1:
		cut, ok := cutText(el.Notes[0].Content, n, keep)
		el.Notes[0].Content = cut
		return ok
	}
	return false
}

// cutText drops at least n bytes from the end of s and adds "…". It never cuts a
// character, an HTML character reference or a code span in two. ok is false when
// fewer than keep bytes would be left.
func cutText(s string, n, keep int) (string, bool) {
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
