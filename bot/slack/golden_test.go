package slack

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/bot/internal/golden"
)

// TestGolden renders fixed Reply fixtures (testdata/replies/<name>.json, one per
// situation; <name>.zh.json in Chinese) to Block Kit and compares the messages
// with testdata/<name>.golden. The fixtures are not built by the core, so a change
// of the bot's wording moves only the core's goldens (bot/testdata/replies);
// these move when the rendering does. Every rendering must also pass the fake
// Slack's Block Kit checks.
//
//	go test ./bot/slack -run Golden -update
func TestGolden(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "replies", "*.json"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range fixtures {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			lang := "en"
			if strings.HasSuffix(name, ".zh") {
				lang = "zh"
			}
			var r bot.Reply
			golden.Load(t, path, &r)
			msgs := render(r, lang)
			validate(t, msgs)
			golden.Check(t, filepath.Join("testdata", name+".golden"), golden.JSON(t, msgs))
		})
	}
}

// fixtures loads every Reply fixture of lang ("en" or "zh"), by situation.
func fixtures(t *testing.T, lang string) map[string]bot.Reply {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("testdata", "replies", "*.json"))
	out := map[string]bot.Reply{}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		if zh := strings.HasSuffix(name, ".zh"); zh != (lang == "zh") {
			continue
		}
		var r bot.Reply
		golden.Load(t, path, &r)
		out[strings.TrimSuffix(name, ".zh")] = r
	}
	return out
}
