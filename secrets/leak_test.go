package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callytics/tracebot/secrets"
	"github.com/callytics/tracebot/secrets/secretstest"
)

// Canary values: if any of these, or a telling part of one, shows up in an error,
// a status or a log line, a secret has leaked.
var canaries = map[string]string{
	keyName:   "sk-or-v1-CANARY-7f3a9c1e5d",
	dbName:    "postgres://tracebot:CANARY-db-pass-91b2@db.internal/calls?sslmode=require",
	tokenName: `xoxb-CANARY-"quoted"\token`,
	appName:   "xapp-CANARY-app-token-33",
}

// canaryParts are the substrings that must never appear.
var canaryParts = []string{"CANARY", "7f3a9c1e5d", "db-pass-91b2", "token-33"}

// outputs collects everything the package emits.
type outputs struct {
	texts []string
}

func (o *outputs) add(label string, v any) {
	switch v := v.(type) {
	case nil:
	case error:
		o.texts = append(o.texts, label+": "+v.Error(), fmt.Sprintf("%s: %+v %#v", label, v, v))
	default:
		o.texts = append(o.texts, fmt.Sprintf("%s: %v %+v %#v", label, v, v, v))
	}
}

// leaks returns the outputs containing a canary part.
func (o *outputs) leaks() []string {
	var bad []string
	for _, text := range o.texts {
		for _, part := range canaryParts {
			if strings.Contains(text, part) {
				bad = append(bad, text)
				break
			}
		}
	}
	return bad
}

func TestLeakCheckerCatchesLeaks(t *testing.T) {
	o := &outputs{}
	o.add("plain", "nothing here")
	if len(o.leaks()) != 0 {
		t.Fatal("false positive")
	}
	o.add("err", fmt.Errorf("dial %s: refused", url.QueryEscape("db-pass-91b2")))
	if len(o.leaks()) == 0 {
		t.Fatal("the checker misses a leak")
	}
}

func TestNoCanaryLeaksFromSSMStore(t *testing.T) {
	o := &outputs{}
	logs := &syncBuffer{}
	clk := newClock()
	srv := secretstest.NewSSMServer(t, canaries)
	store := secrets.NewStore(secrets.NewSSMSource(srv.Client(t)), ttl,
		secrets.WithClock(clk.Now), secrets.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))),
		secrets.WithRetryAfter(time.Second))
	ctx := context.Background()

	// Success first, so the store holds every canary.
	o.add("load", store.Load(ctx, keyName, dbName, tokenName))
	o.add("load optional", store.LoadOptional(ctx, appName))
	for name, want := range canaries {
		if got, err := store.Get(ctx, name); err != nil || got.Reveal() != want {
			t.Fatalf("Get(%s) = %v, %v: the canaries must be loaded for this test to mean anything", name, got, err)
		}
		got, _ := store.Get(ctx, name)
		o.add("secret", got)
		slog.New(slog.NewTextHandler(logs, nil)).Info("holding", "name", name, "secret", got, "struct", struct{ s secrets.Secret }{got})
	}

	// Missing names, required and fetched by Get.
	o.add("load missing", store.Load(ctx, keyName, "/callytics/missing-a", "/callytics/missing-b"))
	_, err := store.Get(ctx, "/callytics/missing-c")
	o.add("get missing", err)

	// Every failure the fake can produce: at load, on refresh (last good value
	// served, warnings logged), after Invalidate, and in Status.
	for _, fail := range []struct {
		errType string
		status  int
	}{{"AccessDeniedException", 400}, {"ThrottlingException", 400}, {"InternalServerError", 500}, {"ValidationException", 400}} {
		srv.Fail(fail.errType, fail.status)
		o.add("load "+fail.errType, store.Load(ctx, keyName, dbName))
		clk.Advance(ttl)
		for name := range canaries {
			v, err := store.Get(ctx, name)
			o.add("get "+fail.errType, err)
			o.add("stale", v)
			store.Invalidate(name)
		}
		_, err := store.Get(ctx, "/callytics/never-fetched")
		o.add("get unfetched "+fail.errType, err)
		o.add("status "+fail.errType, store.Status(ctx))
		srv.Recover()
	}
	o.add("store", store)
	o.add("scrubber", store.Scrubber())
	o.add("logs", logs.String())

	if bad := o.leaks(); len(bad) > 0 {
		t.Errorf("canary leaked in:\n%s", strings.Join(bad, "\n"))
	}
	if !strings.Contains(logs.String(), "refresh failed") {
		t.Errorf("the failure paths did not run: no refresh warning in\n%s", logs)
	}
}

func TestNoCanaryLeaksFromDirStore(t *testing.T) {
	o := &outputs{}
	dir := secretstest.Dir(t, canaries)
	ctx := context.Background()
	store := secrets.NewStore(secrets.DirSource{Dir: dir}, ttl)
	o.add("load", store.Load(ctx, keyName, dbName, tokenName, appName))
	if got, err := store.Get(ctx, dbName); err != nil || got.Reveal() != canaries[dbName] {
		t.Fatalf("Get(%s) = %v, %v", dbName, got, err)
	}

	// A name whose file is a directory, names that collide, a directory that
	// disappears, missing names.
	if err := os.Mkdir(filepath.Join(dir, "a-directory"), 0o700); err != nil {
		t.Fatal(err)
	}
	o.add("unreadable", store.Load(ctx, keyName, "/callytics/a-directory"))
	o.add("collision", store.Load(ctx, keyName, "/other/openrouter-api-key"))
	o.add("missing", store.Load(ctx, keyName, "/callytics/absent"))
	for _, source := range []secrets.DirSource{{Dir: filepath.Join(dir, "gone")}, {Dir: filepath.Join(dir, "openrouter-api-key")}} {
		values, missing, err := source.Fetch(ctx, []string{keyName, dbName})
		if err == nil {
			t.Errorf("Fetch from %s succeeded", source.Dir)
		}
		o.add("fetch", err)
		o.add("values", values)
		o.add("missing", missing)
	}
	store.Invalidate(keyName)
	if err := os.Remove(filepath.Join(dir, "openrouter-api-key")); err != nil {
		t.Fatal(err)
	}
	v, err := store.Get(ctx, keyName)
	o.add("get deleted", err)
	o.add("stale", v)
	o.add("status", store.Status(ctx))

	if bad := o.leaks(); len(bad) > 0 {
		t.Errorf("canary leaked in:\n%s", strings.Join(bad, "\n"))
	}
}

// TestScrubberRemovesCanaries: defence in depth when a value reaches text anyway,
// e.g. a driver error quoting the DSN, or a key in a URL.
func TestScrubberRemovesCanaries(t *testing.T) {
	store := secrets.NewStore(secrets.DirSource{Dir: secretstest.Dir(t, canaries)}, ttl)
	if err := store.Load(context.Background(), keyName, dbName, tokenName, appName); err != nil {
		t.Fatal(err)
	}
	sc := store.Scrubber()
	dbErr := fmt.Errorf("pgx: connect %q: %w", canaries[dbName], errors.New("password authentication failed (password CANARY-db-pass-91b2)"))
	texts := []string{
		dbErr.Error(),
		fmt.Sprintf("%+v", dbErr),
		"GET https://openrouter.ai/api/v1/generation?key=" + url.QueryEscape(canaries[keyName]),
		fmt.Sprintf(`{"token":%q}`, canaries[tokenName]),
		mustJSON(map[string]string{"a": canaries[appName], "t": canaries[tokenName]}),
	}
	o := &outputs{}
	for _, text := range texts {
		o.add("scrubbed", sc.Scrub(text))
	}
	if bad := o.leaks(); len(bad) > 0 {
		t.Errorf("scrubbed text still holds a canary:\n%s", strings.Join(bad, "\n"))
	}
}
