package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/bot/larkfake"
	"github.com/callytics/tracebot/lookup"
)

// The -update flag rewrites golden files: go test ./bot -run Golden -update. It is
// shared with the other golden tests of the package, whichever defines it first.
var _ = func() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
	return true
}()

func larkGoldenUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// larkSandboxTrace traces report in the sample world, with a fixed trace id.
func larkSandboxTrace(t *testing.T, report string) (*lookup.Trace, lookup.Request) {
	t.Helper()
	req, err := lookup.ParseReport(report, larkParseOptions(t))
	if err != nil {
		t.Fatalf("parse %q: %v", report, err)
	}
	sb := lookup.NewSandbox(0)
	svc := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true})
	tr := svc.Trace(context.Background(), req, nil)
	tr.TraceID = "tr-golden-0001"
	return tr, req
}

func larkParseOptions(t *testing.T) lookup.ParseOptions {
	return lookup.ParseOptions{Now: lookup.SandboxNow, DefaultZone: mustZone(t, "America/New_York"),
		Window: 2 * time.Hour, NoTimeLookback: 168 * time.Hour}
}

func larkGoldenReplies(lang string) replies {
	return replies{lang: lang, sample: true, reprocess: true, cooldown: 10 * time.Minute, escalation: true}
}

// larkGoldenCases builds one Reply of every kind from the core's builders.
func larkGoldenCases(t *testing.T) map[string]Reply {
	t.Helper()
	en, zh := larkGoldenReplies("en"), larkGoldenReplies("zh")
	traced, tracedReq := larkSandboxTrace(t, "(914) 265-4371 5/20 1:15pm")
	cands, candsReq := larkSandboxTrace(t, "312-555-0142 5/21 10:30am")
	none, noneReq := larkSandboxTrace(t, "(914) 265-4371 5/10 9am")
	if traced.Call == nil || cands.Outcome != lookup.OutcomeCandidates || none.Outcome != lookup.OutcomeNotFound {
		t.Fatalf("sample world changed: outcomes %s, %s, %s", traced.Outcome, cands.Outcome, none.Outcome)
	}
	_, parseErr := lookup.ParseReport("can you check the call from this morning?", larkParseOptions(t))
	if parseErr == nil {
		t.Fatal("the not-understood report parsed")
	}
	session := traced.Call.TelephonySessionID
	at := time.Date(2026, 5, 22, 15, 40, 0, 0, time.UTC)
	state := &ReprocessRecord{SessionID: session, RequestedBy: "ou_alice", RequestedAt: at}

	result, extra := en.result(traced, tracedReq, nil)
	if len(extra) != 1 {
		t.Fatalf("want the engineers' block after the result, got %d follow-ups", len(extra))
	}
	requested, _ := en.result(traced, tracedReq, state)
	zhResult, zhExtra := zh.result(traced, tracedReq, nil)
	candidates, _ := en.result(cands, candsReq, nil)
	notFound, _ := en.result(none, noneReq, nil)
	return map[string]Reply{
		"root":                 en.root(tracedReq, "ou_alice"),
		"progress_start":       en.progress(tracedReq, lookup.Progress{Phone: tracedReq.Phone}),
		"progress_logs":        en.progress(tracedReq, larkProgressMidway(traced)),
		"result":               result,
		"result_requested":     requested,
		"engineers":            extra[0],
		"candidates":           candidates,
		"not_found":            notFound,
		"not_understood":       en.notUnderstood(parseErr),
		"reprocess_announced":  en.notice("reprocess_done", code(session), mention("ou_alice"), "request id", code("3f1c-req")),
		"reprocess_again":      en.notice("reprocess_again", code(session), mention("ou_bob"), clock(at), clock(at.Add(10*time.Minute))),
		"escalate":             en.notice("escalate", groupMention("ou_oncall"), mention("ou_alice"), en.summary(traced)),
		"escalate_all":         en.notice("escalate", "<@!all>", mention("ou_alice"), en.summary(traced)),
		"zh_result":            zhResult,
		"zh_engineers":         zhExtra[0],
		"zh_not_understood":    zh.notUnderstood(parseErr),
		"zh_reprocess_pending": zh.notice("reprocess_pending", code(session), mention("ou_bob")),
	}
}

// larkProgressMidway is the progress of a trace whose logs are in and whose
// generations are being fetched.
func larkProgressMidway(tr *lookup.Trace) lookup.Progress {
	return lookup.Progress{Phone: tr.Phone, Call: tr.Call, CallsDone: true, Candidates: 1, Regions: tr.Regions,
		LogsDone: true, GenerationsTotal: 3, GenerationsDone: 1}
}

func TestLarkCardGolden(t *testing.T) {
	t.Parallel()
	for name, r := range larkGoldenCases(t) {
		t.Run(name, func(t *testing.T) {
			lang := "en"
			if strings.HasPrefix(name, "zh_") {
				lang = "zh"
			}
			content := larkCardContent(r, lang)
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, []byte(content), "", "  "); err != nil {
				t.Fatalf("card is not JSON: %v\n%s", err, content)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "lark", name+".golden")
			if larkGoldenUpdate() {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
				t.Errorf("card %s (-golden +got):\n%s", name, diff)
			}
		})
	}
}

// TestLarkCardInvariants checks what every card must hold, whatever its golden
// says: it is a shared card Lark accepts, the sample note comes first, and every
// button carries the action value of the Reply's button.
func TestLarkCardInvariants(t *testing.T) {
	t.Parallel()
	for name, r := range larkGoldenCases(t) {
		t.Run(name, func(t *testing.T) {
			content := larkCardContent(r, "en")
			if len(content) > larkCardBudget {
				t.Errorf("card is %d bytes, over the %d budget", len(content), larkCardBudget)
			}
			c, err := larkfake.ParseCard(content)
			if err != nil {
				t.Fatal(err)
			}
			if !c.Config.UpdateMulti || !c.Config.WideScreenMode {
				t.Errorf("config = %+v, want wide and shared (update_multi)", c.Config)
			}
			if len(c.Elements) == 0 || c.Elements[0].Tag != "note" || !strings.Contains(c.Elements[0].Elements[0].Content, "Sample data") {
				t.Errorf("the first element is not the sample note:\n%s", c.Text())
			}
			var got, want []ActionValue
			for _, b := range c.Buttons() {
				got = append(got, larkButtonValue(t, b))
			}
			for _, b := range buttons(r) {
				want = append(want, b.Value)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("button values (-reply +card):\n%s", diff)
			}
		})
	}
}

func TestLarkCardButtons(t *testing.T) {
	t.Parallel()
	v := ActionValue{Action: ActReprocess, SessionID: "s-1", StoreID: "st-9", TraceID: "tr-1"}
	r := Reply{Blocks: []Block{{Kind: BlockButtons, Buttons: []Button{
		{Label: "Reprocess", Value: v, Style: StyleDanger, Confirm: &Confirm{Title: "Reprocess this call?", Text: "Session `s-1` again", OK: "Go", Cancel: "No"}},
		{Label: "Refresh", Value: ActionValue{Action: ActRefresh, SessionID: "s-1"}},
		{Label: "Widen", Value: ActionValue{Action: ActWiden, Phone: "+19142654371"}, Style: StylePrimary},
		{Label: "Open **docs**", URL: "https://example.com/docs"},
	}}}}
	got := larkRenderCard(r, "en").Elements[0]
	want := larkElement{Tag: "action", Layout: "flow", Actions: []larkButton{
		{Tag: "button", Text: larkText{"plain_text", "Reprocess"}, Type: "danger", Value: map[string]string{"v": v.Encode()},
			Confirm: &larkConfirm{Title: larkText{"plain_text", "Reprocess this call?"}, Text: larkText{"plain_text", "Session s-1 again"}}},
		{Tag: "button", Text: larkText{"plain_text", "Refresh"}, Type: "default", Value: map[string]string{"v": `{"a":"refresh","s":"s-1"}`}},
		{Tag: "button", Text: larkText{"plain_text", "Widen"}, Type: "primary", Value: map[string]string{"v": `{"a":"widen","p":"+19142654371"}`}},
		{Tag: "button", Text: larkText{"plain_text", "Open docs"}, Type: "default", URL: "https://example.com/docs"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("buttons (-want +got):\n%s", diff)
	}
}

// TestLarkCardFitsInLarksLimit: an oversized reply is shortened under 30 KB, says
// so, and keeps its buttons.
func TestLarkCardFitsInLarksLimit(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("SELECT * FROM calls WHERE x = 'é&<>' ", 3000) // ~110 KB
	btn := Button{Label: "Refresh", Value: ActionValue{Action: ActRefresh, SessionID: "s-1"}}
	tests := []struct {
		name   string
		blocks []Block
	}{
		{"one huge code block", []Block{{Kind: BlockCode, Text: big}, {Kind: BlockButtons, Buttons: []Button{btn}}}},
		{"huge text and fields", []Block{{Kind: BlockText, Text: big}, {Kind: BlockFields, Fields: []Field{{"A", big[:40000]}}},
			{Kind: BlockContext, Text: "small print"}, {Kind: BlockButtons, Buttons: []Button{btn}}}},
		{"many small blocks", larkManyBlocks(2000, btn)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, lang := range []string{"en", "zh"} {
				content := larkCardContent(Reply{Blocks: tc.blocks}, lang)
				if len(content) > larkCardBudget {
					t.Fatalf("%s: card is %d bytes, over %d", lang, len(content), larkCardBudget)
				}
				c, err := larkfake.ParseCard(content)
				if err != nil {
					t.Fatal(err)
				}
				if got := c.Buttons(); len(got) != 1 || got[0].Text.Content != "Refresh" {
					t.Errorf("%s: buttons after shortening = %+v, want Refresh kept", lang, got)
				}
				last := c.Elements[len(c.Elements)-1]
				if last.Tag != "note" || last.Elements[0].Content != larkEscape(sayIn(lang, "truncated")) {
					t.Errorf("%s: last element %+v, want the truncation note", lang, last)
				}
				for _, el := range c.Elements {
					if el.Tag == "markdown" && (!strings.HasPrefix(el.Content, "```\n") || !strings.HasSuffix(el.Content, "\n```")) {
						t.Errorf("%s: code block lost its fences", lang)
					}
				}
			}
		})
	}
}

func larkManyBlocks(n int, btn Button) []Block {
	blocks := []Block{{Kind: BlockButtons, Buttons: []Button{btn}}}
	for i := range n {
		blocks = append(blocks, Block{Kind: BlockText, Text: "line " + strings.Repeat("x", i%50)})
	}
	return blocks
}

func TestLarkCut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		n, keep  int
		want     string
		ok       bool
	}{
		{"plain", "abcdefghij", 3, 1, "abcd…", true},
		{"keeps runes whole", "号码号码号码", 4, 1, "号码号…", true},
		{"keeps entities whole", "ab &#42;cdefgh", 7, 1, "ab …", true},
		{"keeps code spans whole", "ab `code span` end!", 5, 1, "ab …", true},
		{"too short to keep", "abcdefghij", 3, 8, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := larkCut(tc.in, tc.n, tc.keep)
			if got != tc.want || ok != tc.ok {
				t.Errorf("larkCut(%q, %d, %d) = %q, %v; want %q, %v", tc.in, tc.n, tc.keep, got, ok, tc.want, tc.ok)
			}
		})
	}
}
