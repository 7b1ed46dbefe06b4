package secrets_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/secrets"
)

func TestScrub(t *testing.T) {
	const (
		key      = "sk-or-v1-0123456789abcdef"
		quoted   = `ab"c\d<e>&f`
		dsn      = "postgres://tracebot:Pa55w0rd-Neon@ep-cool-1.us-east-2.aws.neon.tech/calls?sslmode=require"
		dsnEnc   = "postgres://tracebot:p%40ss%2Fw0rd@db.internal:5432/calls"
		dsnQuery = "postgres://db.internal/calls?user=tracebot&password=QueryPassw0rd"
		kvDSN    = "host=db.internal user=tracebot password=KvPassw0rd dbname=calls"
		kvQuoted = `host=db user=tracebot password='it\'s a secret' dbname=calls`
	)
	tests := []struct {
		name   string
		values []string
		in     string
		want   string
	}{
		{"plain", []string{key}, "Authorization: Bearer " + key + ".", "Authorization: Bearer [redacted]."},
		{"every occurrence", []string{key}, key + " and " + key, "[redacted] and [redacted]"},
		{"no secret", []string{key}, "nothing to see", "nothing to see"},
		{"nothing known", nil, "sk-or-v1 " + key, "sk-or-v1 " + key},
		{"json escaped", []string{quoted}, `{"v":` + mustJSON(quoted) + `}`, `{"v":"[redacted]"}`},
		{"json without html escaping", []string{quoted}, `{"v":"ab\"c\\d<e>&f"}`, `{"v":"[redacted]"}`},
		{"go quoted", []string{quoted}, fmt.Sprintf("value %q bad", quoted), `value "[redacted]" bad`},
		{"query escaped", []string{"a b&c=d/e"}, "https://x/?k=" + url.QueryEscape("a b&c=d/e"), "https://x/?k=[redacted]"},
		{"path escaped", []string{"a b&c=d/e"}, "https://x/" + url.PathEscape("a b&c=d/e"), "https://x/[redacted]"},
		{"whole dsn", []string{dsn}, "open " + dsn + ": refused", "open [redacted]: refused"},
		{"dsn password alone", []string{dsn}, "failed SASL auth (password Pa55w0rd-Neon)", "failed SASL auth (password [redacted])"},
		{"dsn without password", []string{dsn}, "connect to tracebot@ep-cool-1.us-east-2.aws.neon.tech", "connect to tracebot@ep-cool-1.us-east-2.aws.neon.tech"},
		{"encoded dsn password raw", []string{dsnEnc}, "url tracebot:p%40ss%2Fw0rd@db", "url tracebot:[redacted]@db"},
		{"encoded dsn password decoded", []string{dsnEnc}, "password p@ss/w0rd rejected", "password [redacted] rejected"},
		{"dsn query password", []string{dsnQuery}, "bad password QueryPassw0rd", "bad password [redacted]"},
		{"kv dsn password", []string{kvDSN}, "cannot parse `password=KvPassw0rd`", "cannot parse `password=[redacted]`"},
		{"kv dsn quoted password", []string{kvQuoted}, "pw it's a secret and 'it\\'s a secret'", "pw [redacted] and [redacted]"},
		{"short values ignored", []string{"abc", "12345"}, "abc 12345", "abc 12345"},
		{"short dsn password ignored", []string{"postgres://u:pw@host/db"}, "pw in postgres://u:pw@host/db", "pw in [redacted]"},
		{"longest wins", []string{"abcdef", "abcdefghij"}, "xabcdefghijx abcdefx", "x[redacted]x [redacted]x"},
		{"overlapping values merge", []string{"xxabc123", "abc123yyyyyy"}, "<xxabc123yyyyyy>", "<[redacted]>"},
		{"adjacent values", []string{"aaaaaa1", "bbbbbb2"}, "aaaaaa1bbbbbb2", "[redacted]"},
		{"rotated values all kept", []string{"old-key-111111", "new-key-222222"}, "old-key-111111 new-key-222222", "[redacted] [redacted]"},
		{"multibyte", []string{"密钥密钥密钥"}, "值=密钥密钥密钥。", "值=[redacted]。"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := secrets.NewScrubber()
			sc.Add(tt.values...)
			if diff := cmp.Diff(tt.want, sc.Scrub(tt.in)); diff != "" {
				t.Errorf("Scrub(%q) (-want +got)\n%s", tt.in, diff)
			}
		})
	}
}

func mustJSON(s any) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestScrubberWriter(t *testing.T) {
	const dsn = "postgres://tracebot:Writer-Passw0rd@db/calls"
	sc := secrets.NewScrubber()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(sc.Writer(&buf), nil))
	sc.Add(dsn) // after the writer was made: it sees values added later
	log.Error("connect failed", "err", errors.New(`cannot connect to "`+dsn+`": auth failed for password Writer-Passw0rd`))
	log.Info("fine", "n", 1)
	out := buf.String()
	if strings.Contains(out, "Writer-Passw0rd") {
		t.Fatalf("writer leaks:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 records, got:\n%s", out)
	}
	var rec struct{ Err string }
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("scrubbed record is not JSON: %v\n%s", err, lines[0])
	}
	want := `cannot connect to "[redacted]": auth failed for password [redacted]`
	if diff := cmp.Diff(want, rec.Err); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestScrubberWriterReportsInputLength(t *testing.T) {
	sc := secrets.NewScrubber()
	sc.Add("a-long-secret-value")
	var buf bytes.Buffer
	in := []byte("x a-long-secret-value y")
	n, err := sc.Writer(&buf).Write(in)
	if err != nil || n != len(in) {
		t.Errorf("Write = %d, %v; want %d, nil", n, err, len(in))
	}
	if got := buf.String(); got != "x [redacted] y" {
		t.Errorf("wrote %q", got)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestScrubberWriterPassesErrors(t *testing.T) {
	sc := secrets.NewScrubber()
	sc.Add("a-long-secret-value")
	for _, in := range []string{"plain", "a-long-secret-value"} {
		if n, err := sc.Writer(failingWriter{}).Write([]byte(in)); err == nil || n != 0 {
			t.Errorf("Write(%q) = %d, %v; want 0 and the error", in, n, err)
		}
	}
}

func TestScrubberConcurrent(t *testing.T) {
	sc := secrets.NewScrubber()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			sc.Add(fmt.Sprintf("concurrent-secret-%02d", i))
		}()
		go func() {
			defer wg.Done()
			for range 100 {
				_ = sc.Scrub("text with concurrent-secret-00 maybe")
			}
		}()
	}
	wg.Wait()
	var b strings.Builder
	for i := range 8 {
		fmt.Fprintf(&b, "concurrent-secret-%02d ", i)
	}
	if got, want := sc.Scrub(b.String()), strings.Repeat("[redacted] ", 8); got != want {
		t.Errorf("Scrub = %q, want %q", got, want)
	}
}

func TestScrubberFormatHidesValues(t *testing.T) {
	sc := secrets.NewScrubber()
	sc.Add("scrubber-known-value")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(verb, sc); strings.Contains(got, "scrubber-known-value") {
			t.Errorf("%s of Scrubber leaks: %s", verb, got)
		}
	}
}

// TestScrubAgreesWithNaive checks the one-pass matcher against the obvious
// algorithm (every occurrence of every value, by strings.Index, united) on random
// texts over a small alphabet, where occurrences and overlaps are frequent. Over
// "ab" every escaped form of a value equals the value.
func TestScrubAgreesWithNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randString := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab"[rng.IntN(2)]
		}
		return string(b)
	}
	for round := range 2000 {
		var values []string
		for range 1 + rng.IntN(6) {
			values = append(values, randString(3+rng.IntN(8)))
		}
		// Texts are built from the values themselves and random filler, so values
		// occur often, overlap, and sit at both ends.
		var tb strings.Builder
		for range rng.IntN(12) {
			if rng.IntN(2) == 0 {
				tb.WriteString(values[rng.IntN(len(values))])
			} else {
				tb.WriteString(randString(rng.IntN(5)))
			}
		}
		text := tb.String()
		sc := secrets.NewScrubber()
		sc.Add(values...)
		if got, want := sc.Scrub(text), naiveScrub(values, text); got != want {
			t.Fatalf("round %d: values %q text %q:\n got %q\nwant %q", round, values, text, got, want)
		}
	}
}

func naiveScrub(values []string, text string) string {
	covered := make([]bool, len(text))
	for _, v := range values {
		if len(v) < secrets.MinScrubLen {
			continue
		}
		for i := 0; i+len(v) <= len(text); i++ {
			if strings.HasPrefix(text[i:], v) {
				for j := i; j < i+len(v); j++ {
					covered[j] = true
				}
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		if !covered[i] {
			b.WriteByte(text[i])
			continue
		}
		b.WriteString("[redacted]")
		for i+1 < len(text) && covered[i+1] {
			i++
		}
	}
	return b.String()
}

// benchMessage is a 4 KB log record with ~10 known secrets, one of them present.
func benchScrubber(b *testing.B) (*secrets.Scrubber, string) {
	sc := secrets.NewScrubber()
	for i := range 9 {
		sc.Add(fmt.Sprintf("sk-or-v1-%040d", i))
	}
	sc.Add("postgres://tracebot:Bench-Passw0rd@ep-x.neon.tech/calls?sslmode=require")
	line := `{"time":"2026-05-20T17:15:00Z","level":"INFO","msg":"trace step","session":"s-abc123def456","stage":"triage"}` + "\n"
	msg := strings.Repeat(line, 4096/len(line)) + "password Bench-Passw0rd"
	return sc, msg
}

func BenchmarkScrub4KB(b *testing.B) {
	sc, msg := benchScrubber(b)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		_ = sc.Scrub(msg)
	}
}

// BenchmarkReplacer4KBNoMatch is the baseline the matcher was chosen against: a
// strings.Replacer over the same forms.
func BenchmarkReplacer4KBNoMatch(b *testing.B) {
	_, msg := benchScrubber(b)
	msg = msg[:len(msg)-len("Bench-Passw0rd")]
	var pairs []string
	for i := range 9 {
		pairs = append(pairs, fmt.Sprintf("sk-or-v1-%040d", i), "[redacted]")
	}
	pairs = append(pairs, "postgres://tracebot:Bench-Passw0rd@ep-x.neon.tech/calls?sslmode=require", "[redacted]",
		"Bench-Passw0rd", "[redacted]", "postgres%3A%2F%2Ftracebot%3ABench-Passw0rd%40ep-x.neon.tech%2Fcalls%3Fsslmode%3Drequire", "[redacted]")
	r := strings.NewReplacer(pairs...)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		_ = r.Replace(msg)
	}
}

func BenchmarkScrub4KBNoMatch(b *testing.B) {
	sc, msg := benchScrubber(b)
	msg = msg[:len(msg)-len("Bench-Passw0rd")]
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		_ = sc.Scrub(msg)
	}
}
