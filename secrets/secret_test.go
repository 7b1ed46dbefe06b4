package secrets_test

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/secrets"
)

const secretValue = "sk-or-v1-canary-0123456789abcdef"

// config mimics how callers embed secrets: exported and unexported fields, maps,
// slices, pointers.
type config struct {
	Key     secrets.Secret
	key     secrets.Secret
	ptr     *secrets.Secret
	Byname  map[string]secrets.Secret
	list    []secrets.Secret
	Nested  struct{ Token secrets.Secret }
	nested  struct{ token secrets.Secret }
	Counter int
}

func newConfig() config {
	s := secrets.New(secretValue)
	c := config{Key: s, key: s, ptr: &s, Byname: map[string]secrets.Secret{"a": s}, list: []secrets.Secret{s, s}, Counter: 7}
	c.Nested.Token = s
	c.nested.token = s
	return c
}

func TestSecretNeverPrintsValue(t *testing.T) {
	s := secrets.New(secretValue)
	c := newConfig()
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%10.3s", "%-v"}
	values := map[string]any{
		"secret":          s,
		"pointer":         &s,
		"struct":          c,
		"struct pointer":  &c,
		"map":             map[string]secrets.Secret{"k": s},
		"slice":           []secrets.Secret{s, s},
		"array":           [2]secrets.Secret{s, s},
		"map of pointers": map[string]*secrets.Secret{"k": &s},
		"any slice":       []any{s, &s, c},
	}
	for name, v := range values {
		for _, verb := range verbs {
			got := fmt.Sprintf(verb, v)
			if strings.Contains(got, secretValue) || strings.Contains(got, fmt.Sprintf("%x", secretValue)) {
				t.Errorf("%s with %s leaks: %s", name, verb, got)
			}
		}
	}
}

func TestSecretFormatsAsRedacted(t *testing.T) {
	s := secrets.New(secretValue)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"v", fmt.Sprintf("%v", s), "[redacted]"},
		{"+v", fmt.Sprintf("%+v", s), "[redacted]"},
		{"#v", fmt.Sprintf("%#v", s), "[redacted]"},
		{"s", fmt.Sprintf("%s", s), "[redacted]"},
		{"q", fmt.Sprintf("%q", s), "[redacted]"},
		{"x", fmt.Sprintf("%x", s), "[redacted]"},
		{"String", s.String(), "[redacted]"},
		{"GoString", s.GoString(), "[redacted]"},
		{"Println", fmt.Sprintln(s), "[redacted]\n"},
		{"exported field", fmt.Sprintf("%+v", struct{ Key secrets.Secret }{s}), "{Key:[redacted]}"},
		{"map", fmt.Sprintf("%v", map[string]secrets.Secret{"k": s}), "map[k:[redacted]]"},
		{"slice", fmt.Sprintf("%v", []secrets.Secret{s, s}), "[[redacted] [redacted]]"},
		{"Errorf", fmt.Errorf("dial: key %v: %w", s, fmt.Errorf("boom")).Error(), "dial: key [redacted]: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestSecretMarshalling(t *testing.T) {
	s := secrets.New(secretValue)
	b, err := json.Marshal(newConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Key":"[redacted]","Byname":{"a":"[redacted]"},"Nested":{"Token":"[redacted]"},"Counter":7}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("json (-want +got)\n%s", diff)
	}
	var tm encoding.TextMarshaler = s
	text, err := tm.MarshalText()
	if err != nil || string(text) != "[redacted]" {
		t.Errorf("MarshalText = %q, %v; want [redacted]", text, err)
	}
	keyed, err := json.Marshal(map[secrets.Secret]int{s: 1})
	if err != nil || string(keyed) != `{"[redacted]":1}` {
		t.Errorf("json map key = %s, %v", keyed, err)
	}
}

func TestSecretInSlog(t *testing.T) {
	s := secrets.New(secretValue)
	c := newConfig()
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(h(&buf))
			log.Info("msg", "secret", s, "ptr", &s, "config", c, "cfgptr", &c,
				slog.Any("any", c), slog.Group("g", "secret", s), "list", []secrets.Secret{s})
			log.With("with", s).WithGroup("grp").Info("msg2", "secret", s)
			out := buf.String()
			if strings.Contains(out, secretValue) {
				t.Errorf("log leaks:\n%s", out)
			}
			if !strings.Contains(out, "[redacted]") {
				t.Errorf("log does not show [redacted]:\n%s", out)
			}
		})
	}
}

func TestSecretReveal(t *testing.T) {
	s := secrets.New(secretValue)
	if got := s.Reveal(); got != secretValue {
		t.Errorf("Reveal = %q", got)
	}
	if s.IsZero() {
		t.Error("IsZero of a set secret")
	}
	var zero secrets.Secret
	if zero.Reveal() != "" || !zero.IsZero() || !secrets.New("").IsZero() {
		t.Error("zero Secret: want empty Reveal and IsZero")
	}
}

func TestSecretEqual(t *testing.T) {
	a, b, other := secrets.New(secretValue), secrets.New(secretValue), secrets.New("different")
	if !a.Equal(b) || a.Equal(other) || !(secrets.Secret{}).Equal(secrets.New("")) {
		t.Error("Equal compares values")
	}
	// go-cmp uses Equal, so structs holding secrets can be diffed in other tests.
	type holder struct{ S secrets.Secret }
	if diff := cmp.Diff(holder{a}, holder{b}); diff != "" {
		t.Errorf("cmp.Diff of equal secrets:\n%s", diff)
	}
	if cmp.Equal(holder{a}, holder{other}) {
		t.Error("cmp.Equal of different secrets")
	}
}
