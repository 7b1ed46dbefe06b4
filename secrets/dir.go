package secrets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DirSource reads secrets from files in a directory: the TRACEBOT_SECRETS_DIR
// layout, as Kubernetes secret volumes and the Secrets Store CSI driver mount them.
//
// A name maps to the file named like its last path element, so
// "/callytics/openrouter-api-key" is read from <Dir>/openrouter-api-key and
// "/callytics/tracebot/slack-bot-token" from <Dir>/slack-bot-token. The file's
// trailing newlines ("\n" or "\r\n", as `echo` or an editor leaves them) are trimmed.
// A file that does not exist, or holds nothing but newlines, is a missing name.
// Symlinks are followed (Kubernetes mounts files through ..data links).
type DirSource struct {
	Dir string
}

var _ Source = DirSource{}

// Fetch reads each name's file. It fails (err, values nil) when the directory cannot
// be read, a file exists but cannot be read, a name has no usable last element
// ("", ".", ".."), or two names map to the same file. Errors name files, never
// their contents.
func (d DirSource) Fetch(_ context.Context, names []string) (map[string]Secret, []string, error) {
	names = dedupe(names)
	if err := d.checkDir(); err != nil {
		return nil, nil, err
	}
	files, err := fileNames(names)
	if err != nil {
		return nil, nil, fmt.Errorf("secrets dir %s: %w", d.Dir, err)
	}
	values := make(map[string]Secret, len(names))
	var missing []string
	for _, n := range names {
		v, ok, err := d.read(files[n])
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			missing = append(missing, n)
			continue
		}
		values[n] = New(v)
	}
	return values, missing, nil
}

// FileName returns the file name (relative to the directory) that DirSource reads
// for the secret name, or "" when the name has no usable last path element.
func FileName(name string) string {
	base := path.Base(name)
	if base == "." || base == ".." || base == "/" || strings.ContainsRune(base, '\\') {
		return ""
	}
	return base
}

func (d DirSource) checkDir() error {
	info, err := os.Stat(d.Dir)
	if err != nil {
		return fmt.Errorf("secrets dir: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("secrets dir %s: not a directory", d.Dir)
	}
	return nil
}

// fileNames maps each name to its file, rejecting names that would collide.
func fileNames(names []string) (map[string]string, error) {
	files := make(map[string]string, len(names))
	owner := make(map[string]string, len(names))
	for _, n := range names {
		f := FileName(n)
		if f == "" {
			return nil, fmt.Errorf("name %q has no file name", n)
		}
		if prev, ok := owner[f]; ok {
			return nil, fmt.Errorf("names %s and %s both map to file %s", prev, n, f)
		}
		owner[f], files[n] = n, f
	}
	return files, nil
}

// read returns the trimmed content of file; ok is false when it does not exist or
// is empty.
func (d DirSource) read(file string) (value string, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(d.Dir, file))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		// *PathError prints the path and the cause, never the content.
		return "", false, fmt.Errorf("secrets dir: %w", err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	return v, v != "", nil
}
