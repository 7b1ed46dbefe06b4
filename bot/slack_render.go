package bot

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Block Kit limits (https://docs.slack.dev/reference/block-kit). Lengths are in
// characters (runes), as Slack and slack-go count them.
const (
	slackMaxBlocks       = 50   // blocks in one message
	slackMaxSectionText  = 3000 // section / context text
	slackMaxFieldText    = 2000 // one section field
	slackMaxFields       = 10   // fields in one section
	slackMaxHeaderText   = 150  // header block (plain_text)
	slackMaxActions      = 25   // elements in one actions block
	slackMaxButtonText   = 75   // button label
	slackMaxButtonValue  = 2000 // button value
	slackMaxButtonURL    = 3000 // link button url
	slackMaxConfirmTitle = 100
	slackMaxConfirmText  = 300
	slackMaxConfirmOK    = 30
	slackMaxFallbackText = 3000 // message "text": notifications only, keep it short
)

// Action ids of the buttons the renderer draws. A click on a link button also
// reaches the interactivity endpoint; its id says there is nothing to do.
const (
	slackActionPrefix = "tracebot:"      // + action + ":" + index; the value is an ActionValue
	slackLinkPrefix   = "tracebot-link:" // + index; a URL button
)

// slackMessage is one Slack message rendered from a Reply: the notification text
// and the blocks.
type slackMessage struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks"`
}

// renderSlack turns r into Block Kit messages. The first is the reply itself; a
// reply longer than one message allows (50 blocks) continues in the following
// ones, which the poster sends in the same thread. lang picks the language of the
// sample-data label, which heads every message of a Sample reply. No message has
// more than 50 blocks and no text exceeds its Block Kit limit: long text is split
// into several sections (at line breaks where possible), table rows are never cut.
func renderSlack(r Reply, lang string) []slackMessage {
	blocks := make([]slack.Block, 0, len(r.Blocks)+1)
	buttons := 0
	for _, b := range r.Blocks {
		blocks = append(blocks, slackBlocks(b, &buttons)...)
	}
	text := slackFallback(r)
	var label slack.Block
	per := slackMaxBlocks
	if r.Sample {
		label = slackContext(slackEscape(t(lang, "sample")))
		per--
	}
	var out []slackMessage
	for len(blocks) > 0 || len(out) == 0 {
		n := min(per, len(blocks))
		page := make([]slack.Block, 0, n+1)
		if label != nil {
			page = append(page, label)
		}
		page = append(page, blocks[:n]...)
		blocks = blocks[n:]
		out = append(out, slackMessage{Text: text, Blocks: page})
	}
	return out
}

// slackFallback is the message's "text": what notifications and screen readers
// show. It is the reply's Text, or else its first text, converted to mrkdwn.
func slackFallback(r Reply) string {
	s := r.Text
	for _, b := range r.Blocks {
		if s != "" {
			break
		}
		if b.Kind == BlockHeader || b.Kind == BlockText {
			s = b.Text
		}
	}
	if r.Sample {
		s = "[sample] " + s
	}
	return slackTruncate(slackMrkdwn(s), slackMaxFallbackText)
}

// slackBlocks renders one neutral block; buttons counts the buttons drawn so far
// (their action ids must be unique in a message).
func slackBlocks(b Block, buttons *int) []slack.Block {
	switch b.Kind {
	case BlockHeader:
		return slackHeader(b.Text)
	case BlockText:
		return slackTextSections(b.Text)
	case BlockFields:
		return slackFieldSections(b.Fields)
	case BlockTable:
		return slackTable(b.Table)
	case BlockCode:
		return slackCode(b.Text)
	case BlockContext:
		return slackContexts(b.Text)
	case BlockButtons:
		return slackActions(b.Buttons, buttons)
	case BlockDivider:
		return []slack.Block{slack.NewDividerBlock()}
	}
	return slackTextSections(b.Text)
}

func slackHeader(s string) []slack.Block {
	s = strings.TrimSpace(strings.ReplaceAll(slackPlain(s), "\n", " "))
	if s == "" {
		return nil
	}
	return []slack.Block{slack.NewHeaderBlock(slackPlainText(s, slackMaxHeaderText))}
}

// slackTextSections renders a paragraph of markup as one section, or several when
// it is longer than a section may be.
func slackTextSections(s string) []slack.Block {
	var out []slack.Block
	for _, chunk := range slackChunks(slackMrkdwnLines(s), slackMaxSectionText) {
		out = append(out, slack.NewSectionBlock(slackMrkdwnText(chunk), nil, nil))
	}
	return out
}

func slackContexts(s string) []slack.Block {
	var out []slack.Block
	for _, chunk := range slackChunks(slackMrkdwnLines(s), slackMaxSectionText) {
		out = append(out, slackContext(chunk))
	}
	return out
}

func slackContext(mrkdwn string) slack.Block {
	return slack.NewContextBlock("", slackMrkdwnText(mrkdwn))
}

// slackFieldSections renders label/value pairs as section fields, ten per section.
func slackFieldSections(fields []Field) []slack.Block {
	var out []slack.Block
	for len(fields) > 0 {
		n := min(slackMaxFields, len(fields))
		objs := make([]*slack.TextBlockObject, 0, n)
		for _, f := range fields[:n] {
			s := "*" + slackEscape(slackPlain(f.Label)) + "*\n" + slackMrkdwn(f.Value)
			objs = append(objs, slackMrkdwnText(slackTruncate(s, slackMaxFieldText)))
		}
		out = append(out, slack.NewSectionBlock(nil, objs, nil))
		fields = fields[n:]
	}
	return out
}

// slackTable draws a table as a context line of column names and one mrkdwn line
// per row ("triage · model · provider · …"), as few sections as the rows fit in.
func slackTable(tab *Table) []slack.Block {
	if tab == nil {
		return nil
	}
	var out []slack.Block
	if len(tab.Header) > 0 {
		head := make([]string, len(tab.Header))
		for i, h := range tab.Header {
			head[i] = slackEscape(slackPlain(h))
		}
		out = append(out, slackContexts(strings.Join(head, " · "))...)
	}
	rows := make([]string, 0, len(tab.Rows))
	for _, row := range tab.Rows {
		cells := make([]string, 0, len(row))
		for _, c := range row {
			cells = append(cells, slackMrkdwn(strings.ReplaceAll(c, "\n", " ")))
		}
		rows = append(rows, strings.Join(cells, " · "))
	}
	for _, chunk := range slackChunks(rows, slackMaxSectionText) {
		out = append(out, slack.NewSectionBlock(slackMrkdwnText(chunk), nil, nil))
	}
	return out
}

// slackCode renders preformatted text in ``` fences, split at line breaks into
// as many sections as needed.
func slackCode(s string) []slack.Block {
	const fence = "```"
	// A fence inside the text would end the block early: break it up.
	s = strings.ReplaceAll(strings.Trim(s, "\n"), fence, "`\u200b``")
	lines := strings.Split(slackEscape(s), "\n")
	var out []slack.Block
	for _, chunk := range slackChunks(lines, slackMaxSectionText-2*len(fence)-2) {
		out = append(out, slack.NewSectionBlock(slackMrkdwnText(fence+"\n"+chunk+"\n"+fence), nil, nil))
	}
	return out
}

// slackActions renders buttons, at most 25 per actions block.
func slackActions(buttons []Button, count *int) []slack.Block {
	var out []slack.Block
	var elems []slack.BlockElement
	flush := func() {
		if len(elems) > 0 {
			out = append(out, slack.NewActionBlock("", elems...))
			elems = nil
		}
	}
	for _, b := range buttons {
		el := slackButton(b, *count)
		if el == nil {
			continue
		}
		*count++
		elems = append(elems, el)
		if len(elems) == slackMaxActions {
			flush()
		}
	}
	flush()
	return out
}

// slackButton renders one button, or nil for one Slack cannot carry (a value or
// URL over the limit: both are built by the bot and far shorter in practice).
func slackButton(b Button, i int) *slack.ButtonBlockElement {
	label := slackPlainText(slackPlain(b.Label), slackMaxButtonText)
	var el *slack.ButtonBlockElement
	if b.URL != "" {
		if len(b.URL) > slackMaxButtonURL || !slackSafeURL(b.URL) {
			return nil
		}
		el = slack.NewButtonBlockElement(slackLinkPrefix+strconv.Itoa(i), "", label).WithURL(b.URL)
	} else {
		v := b.Value.Encode()
		if utf8.RuneCountInString(v) > slackMaxButtonValue {
			return nil
		}
		el = slack.NewButtonBlockElement(slackActionPrefix+b.Value.Action+":"+strconv.Itoa(i), v, label)
	}
	if b.Style != StyleDefault {
		el = el.WithStyle(slack.Style(b.Style))
	}
	if c := b.Confirm; c != nil {
		el = el.WithConfirm(slackConfirm(*c, b.Style))
	}
	return el
}

func slackConfirm(c Confirm, style ButtonStyle) *slack.ConfirmationBlockObject {
	cb := slack.NewConfirmationBlockObject(
		slackPlainText(slackPlain(c.Title), slackMaxConfirmTitle),
		slackPlainText(slackPlain(c.Text), slackMaxConfirmText),
		slackPlainText(slackPlain(c.OK), slackMaxConfirmOK),
		slackPlainText(slackPlain(c.Cancel), slackMaxConfirmOK),
	)
	if style != StyleDefault {
		cb = cb.WithStyle(slack.Style(style))
	}
	return cb
}

func slackMrkdwnText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// slackPlainText is a plain_text object of at most max characters ("…" marks a
// cut); Slack rejects empty ones, so an empty text becomes a dash.
func slackPlainText(s string, max int) *slack.TextBlockObject {
	if strings.TrimSpace(s) == "" {
		s = "—"
	}
	return slack.NewTextBlockObject(slack.PlainTextType, slackTruncate(s, max), true, false)
}

// slackTruncate cuts s to at most max runes, ending in "…" when cut.
func slackTruncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return slackSafeCut(string(r[:max-1])) + "…"
}

// slackSafeCut drops a trailing partial mrkdwn token (an unclosed "<…" or "&…")
// left by a cut, so the text never ends in a broken link or entity.
func slackSafeCut(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 && !strings.Contains(s[i:], ">") {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '&'); i >= 0 && !strings.Contains(s[i:], ";") {
		s = s[:i]
	}
	return s
}

// slackMrkdwnLines converts markup line by line (markup never spans lines).
func slackMrkdwnLines(s string) []string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = slackMrkdwn(l)
	}
	return lines
}

// slackChunks packs lines (already mrkdwn) into texts of at most max runes, joined
// by newlines. A line longer than max is split by slackSplitLine.
func slackChunks(lines []string, max int) []string {
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
			parts := slackSplitLine(l, max)
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

// slackSplitLine cuts one mrkdwn line into pieces of at most max runes, preferring
// spaces, never inside a <link> or an &entity;.
func slackSplitLine(s string, max int) []string {
	var out []string
	for utf8.RuneCountInString(s) > max {
		r := []rune(s)
		cut := slackCutPoint(r, max)
		out = append(out, strings.TrimRight(string(r[:cut]), " "))
		s = strings.TrimLeft(string(r[cut:]), " ")
	}
	return append(out, s)
}

// slackCutPoint picks where to cut r so the first part has at most max runes.
func slackCutPoint(r []rune, max int) int {
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
