package bot

// Reply is what the bot says, independent of platform. Its texts are written in
// the neutral markup that Tokens reads (see markup.go):
//
//	**bold**   `code`   [label](https://url)   <@USER>   <@!GROUP>
//
// and each platform renders the tokens, escaping everything else. A new kind of
// content is a new BlockKind that every renderer learns to draw.
type Reply struct {
	// Text is the notification text (what a phone's banner or a screen reader
	// says), in the same markup: each platform shows it as its notifications can
	// (Slack keeps mentions and links, drops bold). Empty: the first header or text
	// block.
	Text    string  `json:"text,omitempty"`
	Sandbox bool    `json:"sandbox,omitempty"` // built from --sandbox sample data: every renderer labels it
	Blocks  []Block `json:"blocks"`            // in order
}

// BlockKind says how a block is drawn.
type BlockKind string

// Block kinds.
const (
	BlockHeader  BlockKind = "header"  // short plain title
	BlockText    BlockKind = "text"    // a paragraph of markup
	BlockFields  BlockKind = "fields"  // label/value pairs, two columns where possible
	BlockTable   BlockKind = "table"   // the per-stage table
	BlockCode    BlockKind = "code"    // preformatted, no markup
	BlockContext BlockKind = "context" // small print
	BlockButtons BlockKind = "buttons"
	BlockDivider BlockKind = "divider"
)

// Block is one part of a Reply; Kind says which of the other fields it uses.
type Block struct {
	Kind    BlockKind `json:"kind"`
	Text    string    `json:"text,omitempty"`
	Fields  []Field   `json:"fields,omitempty"`
	Table   *Table    `json:"table,omitempty"`
	Buttons []Button  `json:"buttons,omitempty"`
}

// Field is a label (plain) and a markup value.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Table is a small table of markup cells. Renderers without tables draw one line
// per row.
type Table struct {
	Header []string   `json:"header"`
	Rows   [][]string `json:"rows"`
}

// ButtonStyle colours a button.
type ButtonStyle string

// Button styles.
const (
	StyleDefault ButtonStyle = ""
	StylePrimary ButtonStyle = "primary"
	StyleDanger  ButtonStyle = "danger"
)

// Button is an action button (Value set) or a link button (URL set, held to
// LinkURL). Its texts are shown plain.
type Button struct {
	Label   string      `json:"label"`
	Value   ActionValue `json:"value,omitzero"`
	URL     string      `json:"url,omitempty"`
	Style   ButtonStyle `json:"style,omitempty"`
	Confirm *Confirm    `json:"confirm,omitempty"`
}

// Confirm is a confirmation dialog shown before a button's action runs.
type Confirm struct {
	Title  string `json:"title"`
	Text   string `json:"text"`
	OK     string `json:"ok"`
	Cancel string `json:"cancel"`
}
