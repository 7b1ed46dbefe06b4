package secrets_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/secrets"
	"github.com/callytics/tracebot/secrets/secretstest"
)

func TestDirSourceFetch(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"openrouter-api-key": "sk-or-v1-dir\n",
		"slack-bot-token":    "xoxb-dir\r\n",
		"no-newline":         "plain",
		"inner-newline":      "line1\nline2\n\n",
		"empty":              "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name        string
		names       []string
		wantValues  map[string]string
		wantMissing []string
	}{
		{
			name:       "last path element, newline trimmed",
			names:      []string{"/callytics/openrouter-api-key", "/callytics/tracebot/slack-bot-token"},
			wantValues: map[string]string{"/callytics/openrouter-api-key": "sk-or-v1-dir", "/callytics/tracebot/slack-bot-token": "xoxb-dir"},
		},
		{
			name:       "bare name, no newline, inner newlines kept",
			names:      []string{"no-newline", "/x/inner-newline"},
			wantValues: map[string]string{"no-newline": "plain", "/x/inner-newline": "line1\nline2"},
		},
		{
			name:        "missing and empty files are missing names",
			names:       []string{"/callytics/absent", "/callytics/openrouter-api-key", "/callytics/empty"},
			wantValues:  map[string]string{"/callytics/openrouter-api-key": "sk-or-v1-dir"},
			wantMissing: []string{"/callytics/absent", "/callytics/empty"},
		},
		{
			name:       "repeated names fetched once",
			names:      []string{"no-newline", "no-newline"},
			wantValues: map[string]string{"no-newline": "plain"},
		},
		{
			name:       "no names",
			wantValues: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values, missing, err := secrets.DirSource{Dir: dir}.Fetch(context.Background(), tt.names)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if diff := cmp.Diff(tt.wantValues, reveal(values)); diff != "" {
				t.Errorf("values (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMissing, missing); diff != "" {
				t.Errorf("missing (-want +got)\n%s", diff)
			}
		})
	}
}

func TestDirSourceErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "a-directory"), 0o700); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		names   []string
		wantErr string
	}{
		{"directory missing", filepath.Join(dir, "nope"), []string{"/a/b"}, "no such file or directory"},
		{"not a directory", notDir, []string{"/a/b"}, "not a directory"},
		{"unreadable file", dir, []string{"/callytics/a-directory"}, "is a directory"},
		{"name without file", dir, []string{"/callytics/.."}, "has no file name"},
		{"names collide", dir, []string{"/prod/key", "/test/key"}, "names /prod/key and /test/key both map to file key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values, missing, err := secrets.DirSource{Dir: tt.dir}.Fetch(context.Background(), tt.names)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if values != nil || missing != nil {
				t.Errorf("values %v, missing %v on error; want nil", values, missing)
			}
		})
	}
}

func TestFileName(t *testing.T) {
	tests := map[string]string{
		"/callytics/openrouter-api-key":       "openrouter-api-key",
		"/callytics/tracebot/slack-app-token": "slack-app-token",
		"plain":                               "plain",
		"/trailing/":                          "trailing",
		"/":                                   "",
		"":                                    "",
		"/a/..":                               "",
	}
	for name, want := range tests {
		if got := secrets.FileName(name); got != want {
			t.Errorf("FileName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestDirFixtureMatchesDirSource keeps secretstest.Dir in the layout DirSource reads.
func TestDirFixtureMatchesDirSource(t *testing.T) {
	want := map[string]string{"/callytics/neon-database-url": "postgres://u:dir-fixture@h/db", "/callytics/tracebot/lark-app-secret": "lark-secret"}
	dir := secretstest.Dir(t, want)
	values, missing, err := secrets.DirSource{Dir: dir}.Fetch(context.Background(), []string{"/callytics/neon-database-url", "/callytics/tracebot/lark-app-secret"})
	if err != nil || missing != nil {
		t.Fatalf("Fetch: missing %v, err %v", missing, err)
	}
	if diff := cmp.Diff(want, reveal(values)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// reveal turns fetched secrets into plain values for comparison.
func reveal(values map[string]secrets.Secret) map[string]string {
	if values == nil {
		return nil
	}
	out := make(map[string]string, len(values))
	for k, v := range values {
		out[k] = v.Reveal()
	}
	return out
}
