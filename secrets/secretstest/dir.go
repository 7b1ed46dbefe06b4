package secretstest

import (
	"os"
	"path"
	"path/filepath"
	"testing"
)

// Dir writes a secrets directory in the TRACEBOT_SECRETS_DIR layout and returns its
// path: each name's value goes, followed by a newline as `echo` would leave it, to
// the file named like the name's last path element ("/callytics/x" → <dir>/x).
func Dir(tb testing.TB, secrets map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, value := range secrets {
		file := filepath.Join(dir, path.Base(name))
		if err := os.WriteFile(file, []byte(value+"\n"), 0o600); err != nil {
			tb.Fatalf("secretstest: write %s: %v", file, err)
		}
	}
	return dir
}
