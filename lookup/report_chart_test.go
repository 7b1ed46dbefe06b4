package lookup_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/go-analyze/charts"

	"github.com/callytics/tracebot/lookup"
)

// TestReportChartStructure decodes each chart: at least 800×400, mostly drawn on
// (not blank), and every series' colour present, so each line was drawn.
func TestReportChartStructure(t *testing.T) {
	e := lookup.NewSandboxReports(lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax})
	tests := []struct {
		text   string
		series int // lines: models or stages, plus "all models" or the threshold
	}{
		{"cache 24h", 5},  // three models, all models, the collapse threshold
		{"finish 24h", 6}, // four stages' length, contacts' content-filter, the threshold
		{"spend 24h", 4},  // three models, all models (the alerts' cost per hour)
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			words, spend := strings.CutPrefix(tt.text, "spend ")
			if spend {
				words = "cost " + words
			}
			q, err := lookup.ParseReportQuery(words, lookup.ReportParseOptions{Now: lookup.SandboxNow})
			if err != nil {
				t.Fatal(err)
			}
			if spend {
				q.Kind = lookup.ReportSpend
			}
			r, err := e.Report(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			b, err := lookup.ReportChart(r)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if sz := img.Bounds().Size(); sz.X < 800 || sz.Y < 400 {
				t.Errorf("size %v, want at least 800×400", sz)
			}
			assertDrawn(t, img, tt.series)
		})
	}
	for _, q := range []lookup.ReportQuery{{Kind: lookup.ReportDeploys},
		{Kind: lookup.ReportCost, From: lookup.SandboxNow.Add(-2 * time.Hour), To: lookup.SandboxNow}} {
		r, err := e.Report(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lookup.ReportChart(r); !errors.Is(err, lookup.ErrNoChart) {
			t.Errorf("%s chart: %v, want ErrNoChart", q.Kind, err)
		}
	}
}

func assertDrawn(t *testing.T, img image.Image, series int) {
	t.Helper()
	theme := charts.GetDefaultTheme()
	want := map[[3]uint8]int{}
	for i := range series {
		c := theme.GetSeriesColor(i)
		want[[3]uint8{c.R, c.G, c.B}] = 0
	}
	inked := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			k := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}
			if k != [3]uint8{255, 255, 255} {
				inked++
			}
			if _, ok := want[k]; ok {
				want[k]++
			}
		}
	}
	if total := b.Dx() * b.Dy(); inked < total/50 {
		t.Errorf("only %d of %d pixels drawn", inked, total)
	}
	for c, n := range want {
		if n < 50 {
			t.Errorf("series colour %v has %d pixels: a line is missing", c, n)
		}
	}
}
