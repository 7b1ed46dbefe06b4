package lookup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// DefaultReprocessPayload is TRACEBOT_REPROCESS_PAYLOAD's default.
const DefaultReprocessPayload = `{"telephonySessionId":"{session_id}","requestedBy":"{requested_by}"}`

// payloadFields are the template's placeholders and the request values they take.
var payloadFields = map[string]func(ReprocessRequest) string{
	"session_id":   func(r ReprocessRequest) string { return r.SessionID },
	"store_id":     func(r ReprocessRequest) string { return r.StoreID },
	"requested_by": func(r ReprocessRequest) string { return r.RequestedBy },
	"platform":     func(r ReprocessRequest) string { return r.Platform },
}

// placeholderRE matches a placeholder-like "{name}".
var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// RenderPayload fills template's placeholders {session_id}, {store_id},
// {requested_by} and {platform} with r's values, JSON-escaped. The template is
// JSON whose placeholders sit inside strings; a placeholder outside a string, an
// unknown placeholder, or a template that is not valid JSON is an error. The
// result is valid JSON for any values, keeps the template's key order, and is
// pure ASCII: control characters, "<", ">", "&" and all non-ASCII characters are
// \u escapes.
func RenderPayload(template string, r ReprocessRequest) ([]byte, error) {
	t, err := parsePayloadTemplate(template)
	if err != nil {
		return nil, err
	}
	return t.render(r), nil
}

// payloadError is a template problem: nothing was sent.
type payloadError struct{ msg string }

func (e *payloadError) Error() string { return e.msg }

func payloadErrorf(format string, args ...any) error {
	return &payloadError{msg: fmt.Sprintf(format, args...)}
}

// payloadTemplate is a decoded template: its JSON tokens in order, the strings
// still holding their placeholders. It is immutable, so safe for concurrent use.
type payloadTemplate struct{ tokens []json.Token }

// parsePayloadTemplate decodes template as exactly one JSON value and checks its
// placeholders. The JSON decoder does the scanning: only placeholders inside
// strings (keys or values) are ever filled.
func parsePayloadTemplate(template string) (payloadTemplate, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(template)))
	dec.UseNumber()
	var t payloadTemplate
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF && len(t.tokens) > 0 && depth == 0 {
			return t, nil
		}
		if err != nil {
			return payloadTemplate{}, templateSyntaxError(template, err)
		}
		if depth == 0 && len(t.tokens) > 0 {
			return payloadTemplate{}, payloadErrorf("template is not valid JSON: more than one value")
		}
		if err := checkPlaceholders(tok); err != nil {
			return payloadTemplate{}, err
		}
		depth += delimDepth(tok)
		t.tokens = append(t.tokens, tok)
	}
}

// templateSyntaxError explains a decoding failure, naming a placeholder written
// where a JSON value or key belongs (filled there, a value could add JSON of its own).
func templateSyntaxError(template string, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		for _, m := range placeholderRE.FindAllStringSubmatchIndex(template, -1) {
			_, known := payloadFields[template[m[2]:m[3]]]
			if known && int64(m[0]) < syn.Offset && syn.Offset <= int64(m[1]) {
				name := template[m[2]:m[3]]
				return payloadErrorf("placeholder {%s} must be inside a JSON string, as in \"{%s}\"", name, name)
			}
		}
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("unexpected end of JSON input")
	}
	return payloadErrorf("template is not valid JSON: %v", err)
}

// checkPlaceholders rejects unknown placeholders inside a string token.
func checkPlaceholders(tok json.Token) error {
	s, ok := tok.(string)
	if !ok {
		return nil
	}
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		if _, known := payloadFields[m[1]]; !known {
			return payloadErrorf("unknown placeholder {%s}; want {session_id}, {store_id}, {requested_by} or {platform}", m[1])
		}
	}
	return nil
}

// delimDepth is +1 for an opening and -1 for a closing delimiter, else 0.
func delimDepth(tok json.Token) int {
	switch tok {
	case json.Delim('{'), json.Delim('['):
		return 1
	case json.Delim('}'), json.Delim(']'):
		return -1
	}
	return 0
}

// render writes the tokens back as JSON, each string with its placeholders filled
// and encoded by json.Marshal (then made pure ASCII).
func (t payloadTemplate) render(r ReprocessRequest) []byte {
	var b []byte
	var open []json.Delim // enclosing containers
	var written []int     // tokens written in each
	for _, tok := range t.tokens {
		if d := delimDepth(tok); d < 0 {
			b = append(b, byte(tok.(json.Delim)))
			open, written = open[:len(open)-1], written[:len(written)-1]
			continue
		}
		if n := len(open); n > 0 {
			b = appendSeparator(b, open[n-1], written[n-1])
			written[n-1]++
		}
		b = appendToken(b, tok, r)
		if d, ok := tok.(json.Delim); ok {
			open, written = append(open, d), append(written, 0)
		}
	}
	return b
}

// appendSeparator writes what comes before the n-th token of a container: ":"
// between an object's key and value, "," between members or elements.
func appendSeparator(b []byte, in json.Delim, n int) []byte {
	switch {
	case in == '{' && n%2 == 1:
		return append(b, ':')
	case n > 0:
		return append(b, ',')
	}
	return b
}

func appendToken(b []byte, tok json.Token, r ReprocessRequest) []byte {
	switch v := tok.(type) {
	case json.Delim:
		return append(b, byte(v))
	case string:
		filled := placeholderRE.ReplaceAllStringFunc(v, func(ph string) string {
			return payloadFields[ph[1:len(ph)-1]](r)
		})
		enc, _ := json.Marshal(filled) // a string always encodes
		return appendASCII(b, enc)
	case json.Number:
		return append(b, v...)
	case bool:
		return strconv.AppendBool(b, v)
	}
	return append(b, "null"...)
}

// appendASCII appends JSON text with every rune from U+007F up written as a \u
// escape (a surrogate pair beyond the BMP); non-ASCII only occurs inside strings.
func appendASCII(b, enc []byte) []byte {
	for len(enc) > 0 {
		r, size := utf8.DecodeRune(enc)
		switch {
		case r < utf8.RuneSelf-1:
			b = append(b, enc[0])
		case r > 0xffff:
			r -= 0x10000
			b = fmt.Appendf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b = fmt.Appendf(b, `\u%04x`, r)
		}
		enc = enc[size:]
	}
	return b
}
