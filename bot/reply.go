package bot

// Reply is what the bot says, independent of platform. Text in blocks uses a small
// neutral markup that each renderer converts:
//
//	**bold**   `code`   [label](https://url)   <@USER>   <@!GROUP>
//
// Renderers escape everything else.
type Reply struct {
	Text   string  // plain fallback / notification text
	Sample bool    // built from --sandbox sample data: every renderer labels it
	Blocks []Block // in order
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

// Block is one part of a Reply.
type Block struct {
	Kind    BlockKind
	Text    string
	Fields  []Field
	Table   *Table
	Buttons []Button
}

// Field is a label and a markup value.
type Field struct{ Label, Value string }

// Table is a small table of markup cells. Renderers without tables draw one line
// per row.
type Table struct {
	Header []string
	Rows   [][]string
}

// ButtonStyle colours a button.
type ButtonStyle string

// Button styles.
const (
	StyleDefault ButtonStyle = ""
	StylePrimary ButtonStyle = "primary"
	StyleDanger  ButtonStyle = "danger"
)

// Button is an action button (Value set) or a link button (URL set).
type Button struct {
	Label   string
	Value   ActionValue
	URL     string
	Style   ButtonStyle
	Confirm *Confirm
}

// Confirm is a confirmation dialog shown before a button's action runs.
type Confirm struct{ Title, Text, OK, Cancel string }
