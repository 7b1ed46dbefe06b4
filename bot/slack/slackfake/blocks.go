package slackfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Limits Slack enforces on a message (https://docs.slack.dev/reference/block-kit).
const (
	MaxMessageText  = 40000
	MaxBlocks       = 50
	MaxSectionText  = 3000
	MaxFieldText    = 2000
	MaxFields       = 10
	MaxHeaderText   = 150
	MaxContextElems = 10
	MaxActionElems  = 25
	MaxButtonText   = 75
	MaxButtonValue  = 2000
	MaxButtonURL    = 3000
	MaxActionID     = 255
	MaxConfirmTitle = 100
	MaxConfirmText  = 300
	MaxConfirmLabel = 30
)

type textObject struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji *bool  `json:"emoji,omitempty"`
}

type confirmObject struct {
	Title   *textObject `json:"title"`
	Text    *textObject `json:"text"`
	Confirm *textObject `json:"confirm"`
	Deny    *textObject `json:"deny"`
	Style   string      `json:"style"`
}

type element struct {
	Type     string         `json:"type"`
	Text     *textObject    `json:"text"`
	ActionID string         `json:"action_id"`
	Value    string         `json:"value"`
	URL      string         `json:"url"`
	Style    string         `json:"style"`
	Confirm  *confirmObject `json:"confirm"`
}

type block struct {
	Type     string            `json:"type"`
	BlockID  string            `json:"block_id"`
	Text     *textObject       `json:"text"`
	Fields   []*textObject     `json:"fields"`
	Elements []json.RawMessage `json:"elements"`
}

// ValidateBlocks checks a message's blocks (a JSON array) against the Block Kit
// rules tracebot's renderer must respect: block count, text lengths, field and
// element counts, button shapes, confirm dialogs, unique action and block ids.
// The error says what is wrong, like Slack's invalid_blocks details.
func ValidateBlocks(raw []byte) error {
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return fmt.Errorf("blocks are not a JSON array of blocks: %w", err)
	}
	if len(blocks) > MaxBlocks {
		return fmt.Errorf("no more than %d items allowed [json-pointer:/blocks] (got %d)", MaxBlocks, len(blocks))
	}
	ids := map[string]bool{}
	for i, b := range blocks {
		if b.BlockID != "" {
			if ids["block:"+b.BlockID] {
				return fmt.Errorf("duplicate block_id %q [json-pointer:/blocks/%d]", b.BlockID, i)
			}
			ids["block:"+b.BlockID] = true
		}
		if err := validateBlock(b, ids); err != nil {
			return fmt.Errorf("%w [json-pointer:/blocks/%d]", err, i)
		}
	}
	return nil
}

func validateBlock(b block, ids map[string]bool) error {
	switch b.Type {
	case "section":
		return validateSection(b)
	case "header":
		return validateText(b.Text, "plain_text", MaxHeaderText, "header text")
	case "context":
		return validateContext(b)
	case "actions":
		return validateActions(b, ids)
	case "divider":
		return nil
	}
	return fmt.Errorf("unsupported block type %q", b.Type)
}

func validateSection(b block) error {
	if b.Text == nil && len(b.Fields) == 0 {
		return errors.New("section needs text or fields")
	}
	if b.Text != nil {
		if err := validateText(b.Text, "", MaxSectionText, "section text"); err != nil {
			return err
		}
	}
	if len(b.Fields) > MaxFields {
		return fmt.Errorf("section has %d fields, no more than %d allowed", len(b.Fields), MaxFields)
	}
	for _, f := range b.Fields {
		if err := validateText(f, "", MaxFieldText, "section field"); err != nil {
			return err
		}
	}
	return nil
}

func validateContext(b block) error {
	if len(b.Elements) == 0 || len(b.Elements) > MaxContextElems {
		return fmt.Errorf("context has %d elements, 1 to %d allowed", len(b.Elements), MaxContextElems)
	}
	for _, raw := range b.Elements {
		var t textObject
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Errorf("context element: %w", err)
		}
		if err := validateText(&t, "", MaxSectionText, "context element"); err != nil {
			return err
		}
	}
	return nil
}

func validateActions(b block, ids map[string]bool) error {
	if len(b.Elements) == 0 || len(b.Elements) > MaxActionElems {
		return fmt.Errorf("actions has %d elements, 1 to %d allowed", len(b.Elements), MaxActionElems)
	}
	for _, raw := range b.Elements {
		var el element
		if err := json.Unmarshal(raw, &el); err != nil {
			return fmt.Errorf("actions element: %w", err)
		}
		if err := validateButton(el); err != nil {
			return err
		}
		if ids["action:"+el.ActionID] {
			return fmt.Errorf("duplicate action_id %q", el.ActionID)
		}
		ids["action:"+el.ActionID] = true
	}
	return nil
}

func validateButton(el element) error {
	if el.Type != "button" {
		return fmt.Errorf("unsupported element type %q", el.Type)
	}
	if err := validateText(el.Text, "plain_text", MaxButtonText, "button text"); err != nil {
		return err
	}
	switch {
	case el.ActionID == "" || len(el.ActionID) > MaxActionID:
		return fmt.Errorf("button action_id must be 1 to %d characters", MaxActionID)
	case utf8.RuneCountInString(el.Value) > MaxButtonValue:
		return fmt.Errorf("button value longer than %d characters", MaxButtonValue)
	case utf8.RuneCountInString(el.URL) > MaxButtonURL:
		return fmt.Errorf("button url longer than %d characters", MaxButtonURL)
	case el.Style != "" && el.Style != "primary" && el.Style != "danger":
		return fmt.Errorf("button style %q is not primary or danger", el.Style)
	}
	if c := el.Confirm; c != nil {
		return validateConfirm(c)
	}
	return nil
}

func validateConfirm(c *confirmObject) error {
	checks := []struct {
		t    *textObject
		typ  string
		max  int
		name string
	}{
		{c.Title, "plain_text", MaxConfirmTitle, "confirm title"},
		{c.Text, "", MaxConfirmText, "confirm text"},
		{c.Confirm, "plain_text", MaxConfirmLabel, "confirm button"},
		{c.Deny, "plain_text", MaxConfirmLabel, "deny button"},
	}
	for _, ch := range checks {
		if err := validateText(ch.t, ch.typ, ch.max, ch.name); err != nil {
			return err
		}
	}
	return nil
}

// validateText checks a text object: present, of type typ (any text type when
// ""), non-empty, at most max characters, emoji only on plain_text.
func validateText(t *textObject, typ string, max int, what string) error {
	switch {
	case t == nil:
		return fmt.Errorf("%s is missing", what)
	case t.Type != "plain_text" && t.Type != "mrkdwn":
		return fmt.Errorf("%s has type %q", what, t.Type)
	case typ != "" && t.Type != typ:
		return fmt.Errorf("%s must be %s, not %s", what, typ, t.Type)
	case t.Type == "mrkdwn" && t.Emoji != nil:
		return fmt.Errorf("%s: emoji is only allowed on plain_text", what)
	case t.Text == "":
		return fmt.Errorf("%s must not be empty", what)
	case utf8.RuneCountInString(t.Text) > max:
		return fmt.Errorf("%s must be less than %d characters (got %d)", what, max+1, utf8.RuneCountInString(t.Text))
	}
	return nil
}
