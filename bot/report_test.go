package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/lookup"
)

// imageRecorder is a recorder that can also post images.
type imageRecorder struct {
	*recorder
	mu     sync.Mutex
	images []postedImage
	fail   error
}

type postedImage struct {
	to  Ref
	img Image
}

func (r *imageRecorder) PostImage(_ context.Context, to Ref, img Image) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.images = append(r.images, postedImage{to: to, img: img})
	return nil
}

func (r *imageRecorder) posted() []postedImage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]postedImage(nil), r.images...)
}

// newReportBot is a test bot answering reports from the sample world, its Slack
// poster able to post images, with metrics.
func newReportBot(t *testing.T) (*testBot, *imageRecorder, *prometheus.Registry) {
	t.Helper()
	tb := newTestBot(t, func(c *Config) { c.ReportParseOptions = goldenReportOptions(t) })
	tb.deps.Reporter = lookup.NewSandboxReports(lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax})
	reg := prometheus.NewRegistry()
	tb.deps.Metrics = NewMetrics(reg)
	ir := &imageRecorder{recorder: tb.rec}
	tb.AddPoster(Slack, ir)
	return tb, ir, reg
}

func TestSlashCommandReportAnswersInAThread(t *testing.T) {
	tb, ir, reg := newReportBot(t)
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceCommand, Channel: "C1", User: "U1",
		Text: "cache 24h", DeliveryID: "trigger-1"})
	tb.drain(t)
	posts, updates, privates := tb.rec.snapshot()
	if len(privates) != 0 || len(posts) != 2 {
		t.Fatalf("want a root and a progress message, got %d posts, %d private answers", len(posts), len(privates))
	}
	root, progress := posts[0], posts[1]
	if root.to.Thread != "" || !strings.Contains(replyText(root.reply), "Report **cache**, last 24h — requested by <@U1>") {
		t.Errorf("root: %s", replyText(root.reply))
	}
	if progress.to.Thread != root.ref.ID || !strings.Contains(replyText(progress.reply), "asking every region") {
		t.Errorf("progress %+v: %s", progress.to, replyText(progress.reply))
	}
	if n := len(updates[progress.ref.ID]); n < 2 {
		t.Errorf("the progress message was updated %d times; want region progress, then the result", n)
	}
	result := replyText(tb.rec.lastUpdate(progress.ref.ID))
	for _, want := range []string{"Overall **80%**", "cache_collapse", "prompts-cache-invariant", "Data scanned", "us-east-2 ✓"} {
		if !strings.Contains(result, want) {
			t.Errorf("result lacks %q:\n%s", want, result)
		}
	}
	images := ir.posted()
	if len(images) != 1 || images[0].to != (Ref{Channel: "C1", Thread: root.ref.ID}) {
		t.Fatalf("want the chart in the root's thread, got %+v", images)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(images[0].img.PNG)); err != nil || cfg.Width < 800 || cfg.Height < 400 {
		t.Errorf("chart: %v %+v", err, cfg)
	}
	if img := images[0].img; !strings.Contains(img.Title, "Cache hit rate per hour per model") || img.Filename != "tracebot-cache-24h.png" || img.AltText == "" {
		t.Errorf("chart image %q %q %q", img.Title, img.Filename, img.AltText)
	}
	if got := reportCount(t, reg, "cache", "answered"); got != 1 {
		t.Errorf("reports{cache,answered} = %v", got)
	}
}

// reportCount is tracebot_reports_total{platform="slack",kind,outcome}.
func reportCount(t *testing.T, reg *prometheus.Registry, kind, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "tracebot_reports_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["platform"] == "slack" && labels["kind"] == kind && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// Help, a misspelt kind and a window too long are answered privately with the
// kinds and examples, never traced.
func TestReportHelpAndRefusals(t *testing.T) {
	for _, c := range []struct{ text, want, outcome string }{
		{"help", "`/trace cache 24h` — cache hit rate", "help"},
		{"cahce 24h", "Did you mean “cache 24h”?", "not_understood"},
		{"/trace cost banana", "could not read the window “banana”", "not_understood"},
		{"cost 9d", "A report covers at most 7d", lookup.CodeWindowTooLong},
	} {
		t.Run(c.text, func(t *testing.T) {
			tb, ir, reg := newReportBot(t)
			text := strings.TrimPrefix(c.text, "/trace ")
			tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceMention, Channel: "C1", Thread: "1.1", User: "U1", Text: text})
			tb.drain(t)
			posts, _, privates := tb.rec.snapshot()
			if len(posts) != 0 || len(ir.posted()) != 0 || len(privates) != 1 {
				t.Fatalf("want one private answer and nothing in the channel, got %d posts, %d privates", len(posts), len(privates))
			}
			got := replyText(privates[0])
			for _, want := range []string{c.want, "`/trace deploys`", "`/trace (914) 265-4371 5/20 1:15pm`"} {
				if !strings.Contains(got, want) {
					t.Errorf("answer lacks %q:\n%s", want, got)
				}
			}
			kind := "unknown"
			if c.outcome == "help" {
				kind = "help"
			}
			if n := reportCount(t, reg, kind, c.outcome); n != 1 {
				t.Errorf("reports{%s,%s} = %v", kind, c.outcome, n)
			}
		})
	}
}

// A report whose chart cannot be posted still answers in text, and one line in
// its thread says the chart was not posted and why (it was only logged); a kind
// without a chart posts none; a bot without a reporter says reports are off.
func TestReportChartFailureAndNoChart(t *testing.T) {
	tb, ir, _ := newReportBot(t)
	ir.fail = fmt.Errorf("slack files.completeUploadExternal: %w", errors.New("not_in_channel\n\tmore detail"))
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceDM, Channel: "D1", Thread: "1.1", User: "U1", Text: "finish 24h"})
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceDM, Channel: "D1", Thread: "1.2", User: "U1", Text: "providers 24h"})
	tb.drain(t)
	posts, _, _ := tb.rec.snapshot()
	byThread := map[string][]string{}
	for _, p := range posts {
		byThread[p.to.Thread] = append(byThread[p.to.Thread], p.reply.Text)
	}
	if len(posts) != 3 || len(byThread["1.1"]) != 2 || len(byThread["1.2"]) != 1 {
		t.Fatalf("want a progress message per report and one line for the chart that failed, got %q", byThread)
	}
	for _, p := range posts[:2] {
		if res := replyText(tb.rec.lastUpdate(p.ref.ID)); !strings.Contains(res, "Data scanned") {
			t.Errorf("report in %s has no answer:\n%s", p.to.Thread, res)
		}
	}
	if want := "Chart not posted: slack files.completeUploadExternal: not_in_channel more detail"; byThread["1.1"][1] != want {
		t.Errorf("chart failure line %q, want %q", byThread["1.1"][1], want)
	}
	if len(ir.posted()) != 0 {
		t.Errorf("images posted: %+v", ir.posted())
	}

	off := newTestBot(t, nil)
	off.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceDM, Channel: "D1", Thread: "1.1", User: "U1", Text: "cost 2h"})
	off.drain(t)
	if _, _, privates := off.rec.snapshot(); len(privates) != 1 || !strings.Contains(replyText(privates[0]), "not configured") {
		t.Errorf("a bot without reports: %v", privates)
	}
}

// A cost report's Trace button starts the trace of that session in the report's
// thread; a Report button (the alerts' Details) runs its report in its thread.
func TestReportButtons(t *testing.T) {
	tb, ir, _ := newReportBot(t)
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceMention, Channel: "C1", Thread: "1.1", User: "U1", Text: "cost 2h"})
	tb.drain(t)
	posts, _, _ := tb.rec.snapshot()
	result := tb.rec.lastUpdate(posts[0].ref.ID)
	var trace *Button
	for _, b := range buttons(result) {
		if b.Value.Action == ActTraceCall {
			trace = &b
			break
		}
	}
	if trace == nil || trace.Value.SessionID != "s-b5e2b18475c7" || trace.Label != "Trace s-b5e2b18475c7" {
		t.Fatalf("first Trace button: %+v", trace)
	}
	if v, err := DecodeActionValue(trace.Value.Encode()); err != nil || v.SessionID != trace.Value.SessionID {
		t.Fatalf("button value does not round-trip: %v %+v", err, v)
	}
	if n := len(buttons(result)); n != reportMaxSessions {
		t.Errorf("%d buttons, want the bound %d", n, reportMaxSessions)
	}
	tb.HandleAction(context.Background(), Action{Platform: Slack, Message: posts[0].ref, User: "U2", Value: trace.Value})
	tb.drain(t)
	posts, _, _ = tb.rec.snapshot()
	last := posts[len(posts)-1]
	if last.to.Thread != "1.1" || !strings.Contains(replyText(tb.rec.lastUpdate(last.ref.ID)), "s-b5e2b18475c7") {
		t.Errorf("the click traced %+v:\n%s", last.to, replyText(tb.rec.lastUpdate(last.ref.ID)))
	}

	q, err := lookup.ParseReportQuery("finish yesterday", goldenReportOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	details := ReportButton("Details", q)
	v, err := DecodeActionValue(details.Value.Encode())
	if err != nil {
		t.Fatal(err)
	}
	tb.HandleAction(context.Background(), Action{Platform: Slack, Message: Ref{Channel: "C9", ID: "9.9"}, User: "U3", Value: v})
	tb.drain(t)
	posts, _, _ = tb.rec.snapshot()
	last = posts[len(posts)-1]
	res := replyText(tb.rec.lastUpdate(last.ref.ID))
	if last.to != (Ref{Channel: "C9", Thread: "9.9"}) || !strings.Contains(res, "yesterday · Thu May 21 00:00 → Fri May 22 00:00 EDT") {
		t.Errorf("Details ran in %+v:\n%s", last.to, res)
	}
	if imgs := ir.posted(); len(imgs) != 1 || imgs[0].to != (Ref{Channel: "C9", Thread: "9.9"}) { // cost has no chart
		t.Errorf("charts: %+v", imgs)
	}
	bad := ActionValue{Action: ActReport}
	tb.HandleAction(context.Background(), Action{Platform: Slack, Message: Ref{Channel: "C9", ID: "9.9"}, User: "U3", Value: bad})
	tb.drain(t)
	if _, _, privates := tb.rec.snapshot(); len(privates) != 1 || !strings.Contains(replyText(privates[0]), "names no report") {
		t.Errorf("a Report button without a report: %v", privates)
	}
}

// Reports go through the same gates as traces: allowed channels, the per-user
// rate limit, and dedupe of a delivery seen before.
func TestReportsShareTheTraceGates(t *testing.T) {
	tb, _, reg := newReportBot(t)
	tb.cfg.AllowedChannels = []string{"C1"}
	tb.cfg.RateLimit, tb.cfg.RatePer = 1, time.Hour
	ask := func(channel, delivery string) {
		tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceDM, Channel: channel, Thread: "1.1",
			User: "U1", Text: "deploys", DeliveryID: delivery})
		tb.drain(t)
	}
	ask("C2", "d-1") // not an allowed channel
	ask("C1", "d-2") // answered
	ask("C1", "d-2") // the same delivery again: nothing
	ask("C1", "d-3") // over the rate limit
	posts, _, privates := tb.rec.snapshot()
	if len(posts) != 1 {
		t.Errorf("%d reports posted, want 1", len(posts))
	}
	var said []string
	for _, p := range privates {
		said = append(said, replyText(p))
	}
	if len(said) != 2 || !strings.Contains(said[0], "not enabled in this channel") || !strings.Contains(said[1], "please wait") {
		t.Errorf("private answers: %q", said)
	}
	if n := reportCount(t, reg, "deploys", "answered"); n != 1 {
		t.Errorf("reports{deploys,answered} = %v", n)
	}
}

// TestReportErrorCause: a report that could not run says why in one line a
// person can read: a timeout as "timed out", a user-facing error as its message,
// however they were wrapped.
func TestReportErrorCause(t *testing.T) {
	q := lookup.ReportQuery{Kind: lookup.ReportCost, Window: "2h"}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"timeout", fmt.Errorf("report cost: %w", context.DeadlineExceeded), "The cost report (last 2h) failed: timed out"},
		{"user-facing", fmt.Errorf("report cost: %w", lookup.Errorf(lookup.CodeInvalid, "no region is configured")),
			"The cost report (last 2h) failed: no region is configured"},
		{"two lines", errors.New("report cost: boom\n\tat somewhere"), "The cost report (last 2h) failed: report cost: boom at somewhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (replies{}).reportError(q, tc.err).Text; got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestRefusalsReadWrappedErrors: the friendly answers to words not understood
// find the lookup.Error however it was wrapped (errors.As), with what was
// understood and what is missing.
func TestRefusalsReadWrappedErrors(t *testing.T) {
	notUnderstood := &lookup.Error{Code: lookup.CodeNotUnderstood, Message: "no phone number", Understood: []string{"May 20 1:15 PM"},
		Missing: []string{"a phone number"}}
	tooLong := lookup.Errorf(lookup.CodeWindowTooLong, "30d is longer than TRACEBOT_REPORT_MAX_RANGE (7d)")
	for _, tc := range []struct {
		name  string
		reply Reply
		want  []string
	}{
		{"trace", (replies{}).notUnderstood(fmt.Errorf("parse: %w", notUnderstood)),
			[]string{"Sorry, I could not read that report: no phone number", "**Understood:** May 20 1:15 PM", "**Missing:** a phone number"}},
		{"report", (replies{}).reportHelp(fmt.Errorf("parse: %w", notUnderstood)), []string{"Sorry, I could not read that: no phone number"}},
		{"window", (replies{}).reportHelp(fmt.Errorf("parse: %w", tooLong)), []string{"30d is longer than TRACEBOT_REPORT_MAX_RANGE (7d)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, b := range tc.reply.Blocks[:min(len(tc.want), len(tc.reply.Blocks))] {
				got = append(got, b.Text)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("first blocks (-want +got):\n%s", diff)
			}
		})
	}
}

// A report whose env has no log group in any region says so in the thread, with
// what to check, instead of showing zeros; it posts no chart.
func TestReportNoLogGroupSaysWhatToCheck(t *testing.T) {
	tb, ir, reg := newReportBot(t)
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceMention, Channel: "C1", Thread: "1.1", User: "U1", Text: "cost 2h env test"})
	tb.drain(t)
	posts, _, _ := tb.rec.snapshot()
	if len(posts) != 1 {
		t.Fatalf("want the progress message, got %d posts", len(posts))
	}
	res := replyText(tb.rec.lastUpdate(posts[0].ref.ID))
	for _, want := range []string{"could not be answered", "✗ us-east-1: no log group", "**no_log_group**", `env "test"`, "TRACEBOT_LOG_GROUPS"} {
		if !strings.Contains(res, want) {
			t.Errorf("reply lacks %q:\n%s", want, res)
		}
	}
	if strings.Contains(res, "**Total**") || len(ir.posted()) != 0 {
		t.Errorf("a report that searched nothing shows numbers or a chart:\n%s", res)
	}
	if n := reportCount(t, reg, "cost", "failed"); n != 1 {
		t.Errorf("reports{cost,failed} = %v", n)
	}
}

// TestReportRouting: Slack's bold around a kind is still the report, and a
// pasted report whose first word only looks like a kind ("Lost…", "Post…") is
// a trace that asks for the phone number, not "did you mean cost 2h".
func TestReportRouting(t *testing.T) {
	tb, _, reg := newReportBot(t)
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceMention, Channel: "C1", Thread: "1.1", User: "U1", Text: "*cost* 2h"})
	tb.drain(t)
	if n := reportCount(t, reg, "cost", "answered"); n != 1 {
		t.Errorf("*cost* 2h: reports{cost,answered} = %v, want 1", n)
	}
	for _, text := range []string{"Lost the analysis of a call yesterday around 3pm", "Post call summary is empty for the customer who called at 2pm"} {
		tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceMention, Channel: "C1", Thread: "1.2", User: "U2", Text: text})
	}
	tb.drain(t)
	_, _, privates := tb.rec.snapshot()
	if len(privates) != 2 {
		t.Fatalf("want two private answers, got %d", len(privates))
	}
	for _, p := range privates {
		if got := replyText(p); strings.Contains(got, "Did you mean") || !strings.Contains(got, "phone number") {
			t.Errorf("a pasted report was answered as a report:\n%s", got)
		}
	}
}
