package larkfake

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Card is a message card (JSON 1.0) as Lark reads it, for tests to inspect what
// the bot sent.
type Card struct {
	Config struct {
		WideScreenMode bool `json:"wide_screen_mode"`
		UpdateMulti    bool `json:"update_multi"`
	} `json:"config"`
	Header *struct {
		Title    Text   `json:"title"`
		Template string `json:"template"`
	} `json:"header"`
	Elements []Element `json:"elements"`
}

// Text is a text object (plain_text or lark_md).
type Text struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

// Element is a card element: div, markdown, note, hr, action or img.
type Element struct {
	Tag    string `json:"tag"`
	Text   *Text  `json:"text"`
	ImgKey string `json:"img_key"` // img: an uploaded image's key
	Alt    *Text  `json:"alt"`     // img: what a screen reader says
	Title  *Text  `json:"title"`   // img: the caption
	Fields []struct {
		IsShort bool `json:"is_short"`
		Text    Text `json:"text"`
	} `json:"fields"`
	Content  string   `json:"content"`
	Elements []Text   `json:"elements"` // a note's texts
	Actions  []Button `json:"actions"`
}

// Button is a button of an action element.
type Button struct {
	Tag     string         `json:"tag"`
	Text    Text           `json:"text"`
	Type    string         `json:"type"`
	URL     string         `json:"url"`
	Value   map[string]any `json:"value"`
	Confirm *struct {
		Title Text `json:"title"`
		Text  Text `json:"text"`
	} `json:"confirm"`
}

// ParseCard reads the content of an interactive message.
func ParseCard(content string) (Card, error) {
	var c Card
	if err := json.Unmarshal([]byte(content), &c); err != nil {
		return c, fmt.Errorf("larkfake: card: %w", err)
	}
	return c, nil
}

// Buttons returns the card's buttons in order.
func (c Card) Buttons() []Button {
	var out []Button
	for _, el := range c.Elements {
		out = append(out, el.Actions...)
	}
	return out
}

// Text returns every text of the card (header, texts, fields, notes, button
// labels), one per line.
func (c Card) Text() string {
	var lines []string
	if c.Header != nil {
		lines = append(lines, c.Header.Title.Content)
	}
	for _, el := range c.Elements {
		if el.Text != nil {
			lines = append(lines, el.Text.Content)
		}
		for _, f := range el.Fields {
			lines = append(lines, f.Text.Content)
		}
		if el.Content != "" {
			lines = append(lines, el.Content)
		}
		for _, t := range el.Elements {
			lines = append(lines, t.Content)
		}
		for _, b := range el.Actions {
			lines = append(lines, "["+b.Text.Content+"]")
		}
		if el.Tag == "img" && el.Title != nil {
			lines = append(lines, el.Title.Content)
		}
	}
	return strings.Join(lines, "\n")
}

// ImageKeys returns the image keys of the card's img elements, in order.
func (c Card) ImageKeys() []string {
	var out []string
	for _, el := range c.Elements {
		if el.Tag == "img" {
			out = append(out, el.ImgKey)
		}
	}
	return out
}
