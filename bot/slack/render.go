package slack

import (
	"strconv"
	"strings"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"

	"github.com/callytics/tracebot/bot"
)

// Block Kit limits (https://docs.slack.dev/reference/block-kit). Lengths are in
// characters (runes), as Slack and slack-go count them.
const (
	maxBlocks       = 50   // blocks in one message
	maxSectionText  = 3000 // section / context text
	maxFieldText    = 2000 // one section field
	maxFields       = 10   // fields in one section
	maxHeaderText   = 150  // header block (plain_text)
	maxActions      = 25   // elements in one actions block
	maxButtonText   = 75   // button label
	maxButtonValue  = 2000 // button value
	maxButtonURL    = 3000 // link button url
	maxConfirmTitle = 100
	maxConfirmText  = 300
	maxConfirmOK    = 30
	maxFallbackText = 3000 // message "text": notifications only, keep it short
)

// Action ids of the buttons the renderer draws. A click on a link button also
// reaches the interactivity endpoint; its id says there is nothing to do.
const (
	actionPrefix = "tracebot:"      // + action + ":" + index; the value is an ActionValue
	linkPrefix   = "tracebot-link:" // + index; a URL button
)

// message is one Slack message rendered from a Reply: the notification text
// and the blocks.
type message struct {
	Text   string          `json:"text"`
	Blocks []slackgo.Block `json:"blocks"`
}

// renderSlack turns r into Block Kit messages. The first is the reply itself; a
// reply longer than one message allows (50 blocks) continues in the following
// ones, which the poster sends in the same thread. lang picks the language of the
// sample-data label, which heads every message of a Sandbox reply. No message has
// more than 50 blocks and no text exceeds its Block Kit limit: long text is split
// into several sections (at line breaks where possible), table rows are never cut.
func render(r bot.Reply, lang string) []message {
	blocks := make([]slackgo.Block, 0, len(r.Blocks)+1)
	buttons := 0
	for _, b := range r.Blocks {
		blocks = append(blocks, renderBlock(b, &buttons)...)
	}
	text := fallback(r)
	var label slackgo.Block
	per := maxBlocks
	if r.Sandbox {
		label = contextBlock(escape(bot.T(lang, "sample")))
		per--
	}
	var out []message
	for len(blocks) > 0 || len(out) == 0 {
		n := min(per, len(blocks))
		page := make([]slackgo.Block, 0, n+1)
		if label != nil {
			page = append(page, label)
		}
		page = append(page, blocks[:n]...)
		blocks = blocks[n:]
		out = append(out, message{Text: text, Blocks: page})
	}
	return out
}

// fallback is the message's "text": what notifications and screen readers
// show. It is the reply's Text, or else its first text, as a notification shows it.
func fallback(r bot.Reply) string {
	s := r.Text
	for _, b := range r.Blocks {
		if s != "" {
			break
		}
		if b.Kind == bot.BlockHeader || b.Kind == bot.BlockText {
			s = b.Text
		}
	}
	s = notification(s)
	if r.Sandbox {
		s = "[sample] " + s
	}
	return truncate(s, maxFallbackText)
}

// renderBlock renders one neutral block; buttons counts the buttons drawn so far
// (their action ids must be unique in a message).
func renderBlock(b bot.Block, buttons *int) []slackgo.Block {
	switch b.Kind {
	case bot.BlockHeader:
		return header(b.Text)
	case bot.BlockText:
		return textSections(b.Text)
	case bot.BlockFields:
		return fieldSections(b.Fields)
	case bot.BlockTable:
		return tableSections(b.Table)
	case bot.BlockCode:
		return codeSections(b.Text)
	case bot.BlockContext:
		return contexts(b.Text)
	case bot.BlockButtons:
		return actionBlocks(b.Buttons, buttons)
	case bot.BlockDivider:
		return []slackgo.Block{slackgo.NewDividerBlock()}
	}
	return textSections(b.Text)
}

func header(s string) []slackgo.Block {
	s = strings.TrimSpace(strings.ReplaceAll(bot.Plain(s), "\n", " "))
	if s == "" {
		return nil
	}
	return []slackgo.Block{slackgo.NewHeaderBlock(plainText(s, maxHeaderText))}
}

// textSections renders a paragraph of markup as one section, or several when
// it is longer than a section may be.
func textSections(s string) []slackgo.Block {
	var out []slackgo.Block
	for _, chunk := range chunks(mrkdwnLines(s), maxSectionText) {
		out = append(out, slackgo.NewSectionBlock(mrkdwnText(chunk), nil, nil))
	}
	return out
}

func contexts(s string) []slackgo.Block {
	var out []slackgo.Block
	for _, chunk := range chunks(mrkdwnLines(s), maxSectionText) {
		out = append(out, contextBlock(chunk))
	}
	return out
}

func contextBlock(mrkdwn string) slackgo.Block {
	return slackgo.NewContextBlock("", mrkdwnText(mrkdwn))
}

// fieldSections renders label/value pairs as section fields, ten per section.
func fieldSections(fields []bot.Field) []slackgo.Block {
	var out []slackgo.Block
	for len(fields) > 0 {
		n := min(maxFields, len(fields))
		objs := make([]*slackgo.TextBlockObject, 0, n)
		for _, f := range fields[:n] {
			s := "*" + escape(bot.Plain(f.Label)) + "*\n" + mrkdwn(f.Value)
			objs = append(objs, mrkdwnText(truncate(s, maxFieldText)))
		}
		out = append(out, slackgo.NewSectionBlock(nil, objs, nil))
		fields = fields[n:]
	}
	return out
}

// tableSections draws a table as a context line of column names and one mrkdwn line
// per row ("triage · model · provider · …"), as few sections as the rows fit in.
func tableSections(tab *bot.Table) []slackgo.Block {
	if tab == nil {
		return nil
	}
	var out []slackgo.Block
	if len(tab.Header) > 0 {
		head := make([]string, len(tab.Header))
		for i, h := range tab.Header {
			head[i] = escape(bot.Plain(h))
		}
		out = append(out, contexts(strings.Join(head, " · "))...)
	}
	rows := make([]string, 0, len(tab.Rows))
	for _, row := range tab.Rows {
		cells := make([]string, 0, len(row))
		for _, c := range row {
			cells = append(cells, mrkdwn(strings.ReplaceAll(c, "\n", " ")))
		}
		rows = append(rows, strings.Join(cells, " · "))
	}
	for _, chunk := range chunks(rows, maxSectionText) {
		out = append(out, slackgo.NewSectionBlock(mrkdwnText(chunk), nil, nil))
	}
	return out
}

// codeSections renders preformatted text in ``` fences, split at line breaks into
// as many sections as needed.
func codeSections(s string) []slackgo.Block {
	const fence = "```"
	// A fence inside the text would end the block early: break it up.
	s = strings.ReplaceAll(strings.Trim(s, "\n"), fence, "`\u200b``")
	lines := strings.Split(escape(s), "\n")
	var out []slackgo.Block
	for _, chunk := range chunks(lines, maxSectionText-2*len(fence)-2) {
		out = append(out, slackgo.NewSectionBlock(mrkdwnText(fence+"\n"+chunk+"\n"+fence), nil, nil))
	}
	return out
}

// actionBlocks renders buttons, at most 25 per actions block.
func actionBlocks(buttons []bot.Button, count *int) []slackgo.Block {
	var out []slackgo.Block
	var elems []slackgo.BlockElement
	flush := func() {
		if len(elems) > 0 {
			out = append(out, slackgo.NewActionBlock("", elems...))
			elems = nil
		}
	}
	for _, b := range buttons {
		el := button(b, *count)
		if el == nil {
			continue
		}
		*count++
		elems = append(elems, el)
		if len(elems) == maxActions {
			flush()
		}
	}
	flush()
	return out
}

// button renders one button, or nil for one Slack cannot carry (a value or
// URL over the limit: both are built by the bot and far shorter in practice).
func button(b bot.Button, i int) *slackgo.ButtonBlockElement {
	label := plainText(bot.Plain(b.Label), maxButtonText)
	var el *slackgo.ButtonBlockElement
	if b.URL != "" {
		if len(b.URL) > maxButtonURL || !bot.LinkURL(b.URL) {
			return nil
		}
		el = slackgo.NewButtonBlockElement(linkPrefix+strconv.Itoa(i), "", label).WithURL(b.URL)
	} else {
		v := b.Value.Encode()
		if utf8.RuneCountInString(v) > maxButtonValue {
			return nil
		}
		el = slackgo.NewButtonBlockElement(actionPrefix+b.Value.Action+":"+strconv.Itoa(i), v, label)
	}
	if b.Style != bot.StyleDefault {
		el = el.WithStyle(slackgo.Style(b.Style))
	}
	if c := b.Confirm; c != nil {
		el = el.WithConfirm(confirm(*c, b.Style))
	}
	return el
}

func confirm(c bot.Confirm, style bot.ButtonStyle) *slackgo.ConfirmationBlockObject {
	cb := slackgo.NewConfirmationBlockObject(
		plainText(bot.Plain(c.Title), maxConfirmTitle),
		plainText(bot.Plain(c.Text), maxConfirmText),
		plainText(bot.Plain(c.OK), maxConfirmOK),
		plainText(bot.Plain(c.Cancel), maxConfirmOK),
	)
	if style != bot.StyleDefault {
		cb = cb.WithStyle(slackgo.Style(style))
	}
	return cb
}

func mrkdwnText(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false)
}

// plainText is a plain_text object of at most max characters ("…" marks a
// cut); Slack rejects empty ones, so an empty text becomes a dash.
func plainText(s string, max int) *slackgo.TextBlockObject {
	if strings.TrimSpace(s) == "" {
		s = "—"
	}
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, truncate(s, max), true, false)
}

// truncate cuts s to at most max runes, ending in "…" when cut.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return safeCut(string(r[:max-1])) + "…"
}

// safeCut drops a trailing partial mrkdwn token (an unclosed "<…" or "&…")
// left by a cut, so the text never ends in a broken link or entity.
func safeCut(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 && !strings.Contains(s[i:], ">") {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '&'); i >= 0 && !strings.Contains(s[i:], ";") {
		s = s[:i]
	}
	return s
}

// mrkdwnLines converts markup line by line (markup never spans lines).
func mrkdwnLines(s string) []string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = mrkdwn(l)
	}
	return lines
}

// chunks packs lines (already mrkdwn) into texts of at most max runes, joined
// by newlines. A line longer than max is split by splitLine.
func chunks(lines []string, max int) []string {
	var out []string
	var cur strings.Builder
	n := 0
	flush := func() {
		if n > 0 || cur.Len() > 0 {
			out = append(out, cur.String())
		}
		cur.Reset()
		n = 0
	}
	for _, l := range lines {
		ln := utf8.RuneCountInString(l)
		if ln > max {
			flush()
			parts := splitLine(l, max)
			out = append(out, parts[:len(parts)-1]...)
			l = parts[len(parts)-1]
			ln = utf8.RuneCountInString(l)
		}
		if cur.Len() > 0 && n+1+ln > max {
			flush()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
			n++
		}
		cur.WriteString(l)
		n += ln
	}
	flush()
	var kept []string // blank chunks would be empty sections, which Slack refuses
	for _, c := range out {
		if strings.TrimSpace(c) != "" {
			kept = append(kept, c)
		}
	}
	return kept
}

// splitLine cuts one mrkdwn line into pieces of at most max runes, preferring
// spaces, never inside a <link> or an &entity;.
func splitLine(s string, max int) []string {
	var out []string
	for utf8.RuneCountInString(s) > max {
		r := []rune(s)
		cut := cutPoint(r, max)
		out = append(out, strings.TrimRight(string(r[:cut]), " "))
		s = strings.TrimLeft(string(r[cut:]), " ")
	}
	return append(out, s)
}

// cutPoint picks where to cut r so the first part has at most max runes.
func cutPoint(r []rune, max int) int {
	open := -1 // start of the token (<…> or &…;) that max falls in, if any
	for i := 0; i < max; i++ {
		switch r[i] {
		case '<', '&':
			open = i
		case '>', ';':
			open = -1
		}
	}
	cut := max
	if open > 0 {
		cut = open
	}
	for i := cut; i > cut/2; i-- {
		if r[i-1] == ' ' {
			return i
		}
	}
	if open == 0 { // one token longer than max: cut it, nothing else can be done
		return max
	}
	return cut
}
