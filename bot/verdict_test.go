package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/callytics/tracebot/lookup"
)

// sampleVerdicts traces the sample calls that show each verdict code.
var sampleVerdicts = map[string]string{
	lookup.VerdictModelOutput: "(914) 265-4371 5/20 1:15pm",
	lookup.VerdictMappingBug:  "646-555-0134 5/21 2pm",
	lookup.VerdictTruncated:   "617.555.0199 2026-05-18 16:20",
	lookup.VerdictUnknown:     "+1 415 555 0123 May 19 around 9:40am",
}

// TestVerdictWordsSayTheMessage: worded from its facts with the English sentences,
// each sample verdict says exactly what its message says, so the Chinese
// sentences (the same facts, the other column) say it too.
func TestVerdictWordsSayTheMessage(t *testing.T) {
	en := replies{lang: "en"}
	for code, report := range sampleVerdicts {
		t.Run(code, func(t *testing.T) {
			_, tr := goldenTrace(t, report)
			if tr.Verdict == nil || tr.Verdict.Code != code {
				t.Fatalf("verdict %+v, want %s", tr.Verdict, code)
			}
			if got, want := en.verdictWords(tr.Verdict), strings.TrimPrefix(tr.Verdict.Message, noVerdict); got != want {
				t.Errorf("worded from the facts:\n%s\nthe message:\n%s", got, want)
			}
			zh := replies{lang: "zh"}.verdictSection(tr.Verdict)
			if strings.Contains(zh, tr.Verdict.Message) || !strings.Contains(zh, T("zh", "v_"+code)) {
				t.Errorf("the Chinese section is not worded in Chinese:\n%s", zh)
			}
		})
	}
}

// TestVerdictSection: one line with the label and the message, then at most five
// differences, values clipped and in code; text from answers never becomes markup.
func TestVerdictSection(t *testing.T) {
	diff := func(field, model, stored string) lookup.Difference {
		return lookup.Difference{Stage: "triage", Field: field, Model: json.RawMessage(model), Stored: json.RawMessage(stored)}
	}
	var diffs []lookup.Difference
	for i := range 7 {
		diffs = append(diffs, diff(fmt.Sprintf("f%d", i), `"a"`, `"b"`))
	}
	long := strings.Repeat("x", 100)
	tests := []struct {
		name      string
		v         *lookup.Verdict
		want, not []string
	}{
		{"off", nil, nil, []string{"🔎"}},
		{"bounded", &lookup.Verdict{Code: lookup.VerdictMappingBug, Message: "triage answered f0=a", Differences: diffs},
			[]string{"🔎 **Mapping bug** — triage answered f0=a\n", "• `f4` (triage): model `a` · stored `b`\n+2 more"}, []string{"`f5`"}},
		{"long values are clipped", &lookup.Verdict{Code: lookup.VerdictMappingBug, Message: "m",
			Differences: []lookup.Difference{diff("summary", `"`+long+`"`, `{"a":1}`)}},
			[]string{"model `" + strings.Repeat("x", 59) + "…` · stored `{\"a\":1}`"}, []string{long}},
		{"markup in values and messages is text", &lookup.Verdict{Code: lookup.VerdictMappingBug, Message: "triage answered name=<@U0BOSS> **x**",
			Differences: []lookup.Difference{diff("name", "\"<@U0BOSS> `x`\"", `"[a](https://evil.example)"`)}},
			[]string{"model `<@U0BOSS> 'x'` · stored `[a](https://evil.example)`"}, []string{"<@U0BOSS> **x**"}},
		{"unknown code", &lookup.Verdict{Code: "new_code", Message: "m"}, []string{"🔎 **new_code** — m"}, nil},
		{"unknown leaves 'no verdict' to the label", &lookup.Verdict{Code: lookup.VerdictUnknown, Message: "no verdict: S3 AccessDenied on s3://b/k"},
			[]string{"🔎 **Verdict unknown** — S3 AccessDenied on s3://b/k"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := replies{lang: "en"}.verdictSection(tt.v)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("section lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("section holds %q:\n%s", n, got)
				}
			}
			for _, line := range strings.Split(got, "\n") {
				for _, tok := range Tokens(line) {
					if tok.Kind == TokenUser || tok.Kind == TokenGroup || tok.Kind == TokenLink {
						t.Errorf("section line %q holds a %v token", line, tok.Kind)
					}
				}
			}
		})
	}
}

// The Model output button is offered when there is something to show.
func TestModelOutputButton(t *testing.T) {
	req, on := goldenTrace(t, "(914) 265-4371 5/20 1:15pm")
	sb := lookup.NewSandbox(0)
	off := lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true}).
		Trace(context.Background(), req, nil)
	noGen := *on
	noGen.Stages = nil
	tests := []struct {
		name   string
		r      replies
		tr     *lookup.Trace
		button bool
	}{
		{"verdict on", replies{modelOutput: true}, on, true},
		{"verdict off: nothing stored", replies{modelOutput: true}, off, false},
		{"no content reader", replies{}, on, false},
		{"no stage", replies{modelOutput: true}, &noGen, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.r.modelOutputButton(tt.tr, ActionValue{SessionID: "s-1"})
			if (b != nil) != tt.button {
				t.Fatalf("button %+v, want one: %v", b, tt.button)
			}
			if b != nil && (len(b.Value.Refs) != 3 || b.Value.Refs[0].GenerationID != "gen-1779299695-aBcDeFg" || b.Value.SessionID != "s-1") {
				t.Errorf("button value %+v", b.Value)
			}
			if v := tt.r.verdictSection(tt.tr.Verdict); (v != "") != (tt.tr.Verdict != nil) {
				t.Errorf("verdict section %q for verdict %v", v, tt.tr.Verdict)
			}
		})
	}
}

// countingReader counts the content fetches of a ContentReader.
type countingReader struct {
	ContentReader
	mu    sync.Mutex
	calls int
}

func (c *countingReader) StoredContents(ctx context.Context, refs []lookup.ContentRef) ([]lookup.Stage, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.ContentReader.StoredContents(ctx, refs)
}

func (c *countingReader) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// clickOn decodes the button's value as a platform would and clicks it.
func clickOn(t *testing.T, tb *testBot, ref Ref, user string, v ActionValue) {
	t.Helper()
	decoded, err := DecodeActionValue(v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	tb.HandleAction(context.Background(), Action{Platform: Slack, Message: ref, User: user, Value: decoded})
	tb.drain(t)
}

// A replica that did not run the trace answers a Model output click from the
// button alone, privately, with each stage's answer and input excerpt; nothing
// reaches the channel.
func TestModelOutputOnAnotherReplica(t *testing.T) {
	a := newTestBot(t, nil)
	ref, vals := traceResult(t, a)
	v, ok := vals[ActModelOutput]
	if !ok {
		t.Fatalf("no Model output button: %v", vals)
	}
	b := newTestBot(t, nil)
	clickOn(t, b, ref, "U2", v)
	posts, updates, privates := b.rec.snapshot()
	if len(posts) != 0 || len(updates) != 0 {
		t.Fatalf("the click wrote in the channel: %+v %+v", posts, updates)
	}
	if len(privates) != 1 {
		t.Fatalf("private answers: %d, want 1", len(privates))
	}
	got := replyText(privates[0])
	for _, want := range []string{"Model output · call s-abc123def456", "**triage** · `gen-1779299695-aBcDeFg` — answer (parsed JSON)",
		`"call_state": "voicemail"`, "user: Agent: Hi, you've reached Bright Smile Dental", "**coaching**"} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(privates[0].Text, "Bright Smile") {
		t.Errorf("the notification text holds customer data: %q", privates[0].Text)
	}
}

// Allowed channels and the per-user rate limit hold for Model output too; a bot
// with the verdict off says so.
func TestModelOutputIsGuarded(t *testing.T) {
	reader := &countingReader{ContentReader: goldenService()}
	tb := newTestBotDeps(t, func(c *Config) { c.RateLimit = 2 }, func(_ *testBot, d *Deps) { d.Contents = reader })
	ref, vals := traceResult(t, tb) // U1 spends one of two traces
	v := vals[ActModelOutput]
	clickOn(t, tb, ref, "U1", v)
	clickOn(t, tb, ref, "U1", v) // over the limit
	_, _, privates := tb.rec.snapshot()
	if len(privates) != 2 || !strings.Contains(replyText(privates[0]), "Model output") || !strings.Contains(replyText(privates[1]), "please wait") {
		t.Fatalf("want an answer, then the rate limit: %v", privates)
	}
	if reader.count() != 1 {
		t.Errorf("content fetches: %d, want 1", reader.count())
	}

	closed := newTestBotDeps(t, func(c *Config) { c.AllowedChannels = []string{"C-ELSEWHERE"} }, func(_ *testBot, d *Deps) { d.Contents = reader })
	clickOn(t, closed, ref, "U3", v)
	if _, _, p := closed.rec.snapshot(); len(p) != 1 || !strings.Contains(replyText(p[0]), "not enabled in this channel") || reader.count() != 1 {
		t.Errorf("a click in a channel that is not allowed: %v, %d fetches", p, reader.count())
	}

	sb := lookup.NewSandbox(0)
	off := newTestBotDeps(t, nil, func(_ *testBot, d *Deps) {
		d.Contents = lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true})
	})
	clickOn(t, off, ref, "U4", v)
	if _, _, p := off.rec.snapshot(); len(p) != 1 || !strings.Contains(replyText(p[0]), "TRACEBOT_VERDICT=off") {
		t.Errorf("verdict off: %v", p)
	}
}

// ephemeralRecorder is a recorder whose platform shows replies to one person
// inside the conversation; refuse makes it fail as Lark does in a direct chat.
type ephemeralRecorder struct {
	*recorder
	refuse bool
	mu     sync.Mutex
	shown  []Reply
}

func (e *ephemeralRecorder) Ephemeral(_ context.Context, m Message, r Reply) error {
	if e.refuse {
		return errors.New("lark ephemeral.send: code 230001: not a group chat")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shown = append(e.shown, r)
	return nil
}

// Where the platform can show an answer inside the conversation, Model output
// goes there; where it refuses, the answer is private.
func TestModelOutputPrefersEphemeral(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("refused=%v", refuse), func(t *testing.T) {
			tb := newTestBot(t, nil)
			ep := &ephemeralRecorder{recorder: tb.rec, refuse: refuse}
			tb.AddPoster(Slack, ep)
			ref, vals := traceResult(t, tb)
			clickOn(t, tb, ref, "U2", vals[ActModelOutput])
			_, _, privates := tb.rec.snapshot()
			if got, want := len(ep.shown), 1; refuse {
				got, want = len(privates), 1
				if len(ep.shown) != 0 {
					t.Error("shown in the conversation although refused")
				}
			} else if len(privates) != 0 || got != want {
				t.Errorf("ephemeral %d, private %d: want only the ephemeral answer", len(ep.shown), len(privates))
			}
			if refuse && len(privates) != 1 {
				t.Errorf("private answers %d, want 1 after the refusal", len(privates))
			}
		})
	}
}

// An escalation on a replica that did not show the trace traces the call again,
// so the handoff still carries the verdict and its differences.
func TestEscalateCarriesTheVerdict(t *testing.T) {
	a := newTestBot(t, nil)
	a.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceDM, Channel: "D1", Thread: "9.9", User: "U1", Text: "646-555-0134 5/21 2pm"})
	a.drain(t)
	posts, _, _ := a.rec.snapshot()
	ref := posts[0].ref
	var v ActionValue
	for _, b := range buttons(a.rec.lastUpdate(ref.ID)) {
		if b.Value.Action == ActEscalate {
			v = b.Value
		}
	}
	for name, tb := range map[string]*testBot{"same replica": a, "another replica": newTestBot(t, nil)} {
		t.Run(name, func(t *testing.T) {
			clickOn(t, tb, ref, "U2", v)
			posts, _, _ := tb.rec.snapshot()
			got := replyText(posts[len(posts)-1].reply)
			for _, want := range []string{"<@!S0ONCALL> — escalation from <@U2>: Call s-5e9b2d4c7a10", "🔎 **Mapping bug** — triage answered call_state=human_conversation",
				"• `call_state` (triage): model `human_conversation` · stored `voicemail`"} {
				if !strings.Contains(got, want) {
					t.Errorf("handoff lacks %q:\n%s", want, got)
				}
			}
		})
	}
}

// TestChineseSummaryOfACall: the one line that sums a call up (a result's
// notification text, the head of the escalation handoff) is in the reply
// language, not English inside a Chinese sentence.
func TestChineseSummaryOfACall(t *testing.T) {
	_, tr := goldenTrace(t, "646-555-0134 5/21 2pm")
	zh := replies{lang: "zh"}
	for name, got := range map[string]string{
		"result":  zh.traced(tr, nil).Text,
		"handoff": zh.handoff(groupMention("S0ONCALL"), mention("U0BOB"), tr.Call.TelephonySessionID, tr).Blocks[0].Text,
	} {
		if !strings.Contains(got, "通话 s-5e9b2d4c7a10：3 个阶段，$0.001535，缓存 88%，0 条警告") || strings.Contains(got, "stages") {
			t.Errorf("%s: %q", name, got)
		}
	}
	if got, want := (replies{}).summary(tr), "Call s-5e9b2d4c7a10: 3 stages, $0.001535, cache 88%, 0 warnings"; got != want {
		t.Errorf("English summary %q, want %q", got, want)
	}
}

// TestChineseTraceProgress: the regions' states in a trace's progress are in
// the reply language, as a report's are.
func TestChineseTraceProgress(t *testing.T) {
	p := lookup.Progress{Regions: []lookup.RegionStatus{{Region: "us-east-1", State: lookup.RegionRows, Rows: 3},
		{Region: "us-west-2", State: lookup.RegionRunning}, {Region: "us-east-2", State: lookup.RegionNoGroup},
		{Region: "eu-west-1", State: lookup.RegionStopped}}}
	for lang, want := range map[string]string{
		"en": "… logs: us-east-1 3 rows, us-west-2 running, us-east-2 no log group, eu-west-1 stopped",
		"zh": "… 日志：us-east-1 3 行, us-west-2 查询中, us-east-2 无日志组, eu-west-1 已停止",
	} {
		if got := (replies{lang: lang}).progressLogs(p); got != want {
			t.Errorf("%s: got  %q\nwant %q", lang, got, want)
		}
	}
}
