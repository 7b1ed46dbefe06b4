package main

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A real `serve --sandbox` answers /trace cache 24h from the sample world: the
// answer in the thread, the chart uploaded into it, and the report counted in
// /metrics.
func TestServeSandboxAnswersReports(t *testing.T) {
	c := newCluster(t)
	r := c.start(t)
	c.slash(t, r, "cache 24h")
	var root string
	c.slack.Wait(t, 20*time.Second, "a cache report with its chart", func() bool {
		for _, m := range c.slack.Messages("CSUPPORT") {
			if m.ThreadTS == "" && strings.Contains(m.Text, "Report cache, last 24h") {
				root = m.TS
			}
		}
		for _, f := range c.slack.Files() {
			if root != "" && f.ThreadTS == root {
				return true
			}
		}
		return false
	})
	answered := false
	for _, m := range c.slack.Replies("CSUPPORT", root) {
		answered = answered || strings.Contains(m.BlockText(), "*cache_collapse*")
	}
	if !answered {
		t.Errorf("no answer with the collapse in the thread:\n%s", r.logs)
	}
	for _, f := range c.slack.Files() {
		if _, err := png.DecodeConfig(bytes.NewReader(f.Content)); err != nil {
			t.Errorf("chart %s: %v", f.Name, err)
		}
	}
	resp, err := http.Get("http://" + r.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if want := `tracebot_reports_total{kind="cache",outcome="answered",platform="slack"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
