package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

// recorder is a Poster that keeps everything the bot says.
type recorder struct {
	mu       sync.Mutex
	n        int
	posts    []posted
	updates  map[string][]Reply
	privates []Reply
	denied   map[string]bool // channels where posting fails with ErrCannotPost
}

type posted struct {
	to    Ref
	ref   Ref
	reply Reply
}

func newRecorder() *recorder {
	return &recorder{updates: map[string][]Reply{}, denied: map[string]bool{}}
}

func (r *recorder) Post(_ context.Context, to Ref, rep Reply, _ string) (Ref, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.denied[to.Channel] {
		return Ref{}, fmt.Errorf("slack: not_in_channel: %w", ErrCannotPost)
	}
	r.n++
	ref := Ref{Channel: to.Channel, Thread: to.Thread, ID: fmt.Sprintf("m%d", r.n)}
	r.posts = append(r.posts, posted{to: to, ref: ref, reply: rep})
	return ref, nil
}

func (r *recorder) Update(_ context.Context, msg Ref, rep Reply) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates[msg.ID] = append(r.updates[msg.ID], rep)
	return nil
}

func (r *recorder) Private(_ context.Context, _ Message, rep Reply) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.privates = append(r.privates, rep)
	return nil
}

func (r *recorder) snapshot() ([]posted, map[string][]Reply, []Reply) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := map[string][]Reply{}
	for k, v := range r.updates {
		u[k] = append([]Reply(nil), v...)
	}
	return append([]posted(nil), r.posts...), u, append([]Reply(nil), r.privates...)
}

// lastUpdate is the final content of a posted message.
func (r *recorder) lastUpdate(id string) Reply {
	_, u, _ := r.snapshot()
	if len(u[id]) == 0 {
		return Reply{}
	}
	return u[id][len(u[id])-1]
}

func sandboxTracer() Tracer {
	sb := lookup.NewSandbox(0)
	return lookup.NewService(sb.Calls, sb.Usage, sb.Generations, lookup.ServiceConfig{Sandbox: true})
}

type testBot struct {
	*Bot
	rec *recorder
	// lambda is the Lambda behind the bot's real LambdaReprocessor: fakes keep the
	// real contract (errors come back wrapped as the real client wraps them).
	lambda *lookuptest.LambdaServer
	store  *state.Memory
}

func newTestBot(t *testing.T, mod func(*Config)) *testBot {
	t.Helper()
	return newTestBotDeps(t, mod, nil)
}

// newTestBotDeps is newTestBot with its collaborators changed by deps (the test
// bot's recorder and stores are made by then).
func newTestBotDeps(t *testing.T, mod func(*Config), deps func(*testBot, *Deps)) *testBot {
	t.Helper()
	cfg := Config{
		Sandbox: true, Workers: 4, ProgressInterval: time.Millisecond, EscalationMention: "S0ONCALL",
		Now:          func() time.Time { return lookup.SandboxNow },
		ParseOptions: lookup.ParseOptions{DefaultZone: mustZone(t, "America/New_York"), Window: 2 * time.Hour, NoTimeLookback: 168 * time.Hour},
	}
	if mod != nil {
		mod(&cfg)
	}
	tb := &testBot{rec: newRecorder(), lambda: lookuptest.NewLambdaServer(t), store: state.NewMemory(nil)}
	rp, err := lookup.NewReprocessor("lambda:call-analytics-prod-reprocess", "", tb.lambda.Client(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := goldenService() // the verdict on: each result has one, and a Model output button
	d := Deps{Tracer: svc, Contents: svc, Store: tb.store, Reprocessor: rp}
	if deps != nil {
		deps(tb, &d)
	}
	tb.Bot = New(cfg, d)
	tb.AddPoster(Slack, tb.rec)
	t.Cleanup(func() { _ = tb.Shutdown(context.Background()) })
	return tb
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// drain waits for every queued job.
func (tb *testBot) drain(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() { tb.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("jobs did not finish")
	}
}

func replyText(r Reply) string {
	var b strings.Builder
	b.WriteString(r.Text + "\n")
	for _, bl := range r.Blocks {
		b.WriteString(bl.Text + "\n")
		for _, f := range bl.Fields {
			b.WriteString(f.Label + ": " + f.Value + "\n")
		}
		if bl.Table != nil {
			for _, row := range bl.Table.Rows {
				b.WriteString(strings.Join(row, " | ") + "\n")
			}
		}
		for _, btn := range bl.Buttons {
			b.WriteString("[" + btn.Label + " " + btn.Value.Action + "]\n")
		}
	}
	return b.String()
}

func buttons(r Reply) []Button {
	var out []Button
	for _, bl := range r.Blocks {
		out = append(out, bl.Buttons...)
	}
	return out
}

// steppedTracer hands each progress on and waits until the poster has shown an
// update for it, so a test sees progress however fast the trace runs (the
// updater drops a pending progress when the result is ready first).
type steppedTracer struct {
	Tracer
	rec *recorder
}

func (s steppedTracer) Trace(ctx context.Context, req lookup.Request, progress func(lookup.Progress)) *lookup.Trace {
	return s.Tracer.Trace(ctx, req, func(p lookup.Progress) {
		n := s.rec.updateCount()
		progress(p)
		for deadline := time.Now().Add(5 * time.Second); s.rec.updateCount() == n && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	})
}

func (r *recorder) updateCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, u := range r.updates {
		n += len(u)
	}
	return n
}

func TestSlashCommandPostsRootThenProgressThenResult(t *testing.T) {
	tb := newTestBotDeps(t, nil, func(tb *testBot, d *Deps) { d.Tracer = steppedTracer{Tracer: d.Tracer, rec: tb.rec} })
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceCommand, Channel: "C1", User: "U1",
		Text: "(914) 265-4371 5/20 1:15pm", DeliveryID: "trigger-1"})
	tb.drain(t)

	posts, updates, privates := tb.rec.snapshot()
	if len(privates) != 0 {
		t.Fatalf("unexpected private answers: %v", privates)
	}
	if len(posts) != 3 {
		t.Fatalf("want root, progress and engineers posts, got %d", len(posts))
	}
	root, progress, eng := posts[0], posts[1], posts[2]
	if root.to.Thread != "" || !strings.Contains(replyText(root.reply), "requested by <@U1>") {
		t.Errorf("root message: %+v", root)
	}
	if progress.to.Thread != root.ref.ID || eng.to.Thread != root.ref.ID {
		t.Errorf("progress and engineers must be in the root's thread: %+v %+v", progress.to, eng.to)
	}
	if len(updates[progress.ref.ID]) < 2 {
		t.Errorf("want progress updates then the result, got %d updates", len(updates[progress.ref.ID]))
	}
	result := replyText(tb.rec.lastUpdate(progress.ref.ID))
	for _, want := range []string{"s-abc123def456", "gen-1779299695-aBcDeFg", "$0.001535", "88%", "[Reprocess reprocess]", "[Refresh refresh]", "[Escalate escalate]"} {
		if !strings.Contains(result, want) {
			t.Errorf("result lacks %q:\n%s", want, result)
		}
	}
	if !tb.rec.lastUpdate(progress.ref.ID).Sandbox {
		t.Error("sandbox replies must be labelled as sample data")
	}
	if !strings.Contains(replyText(eng.reply), "filter telephonySessionId = \"s-abc123def456\"") {
		t.Errorf("engineers block lacks the Insights query:\n%s", replyText(eng.reply))
	}
}

func TestMentionAnswersInTheTriggeringThread(t *testing.T) {
	tb := newTestBot(t, nil)
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceMention, Channel: "C1", Thread: "171.001", User: "U1",
		Text: "customer says 914.265.4371 on May 20 around 1pm was wrong"})
	tb.drain(t)
	posts, _, _ := tb.rec.snapshot()
	if len(posts) == 0 || posts[0].to.Thread != "171.001" {
		t.Fatalf("want the progress message in thread 171.001, got %+v", posts)
	}
}

func TestRetriedDeliveryIsHandledOnce(t *testing.T) {
	tb := newTestBot(t, nil)
	m := Message{Platform: Slack, Source: SourceMention, Channel: "C1", Thread: "1.1", User: "U1", Text: "(914) 265-4371 5/20 1:15pm", DeliveryID: "Ev1"}
	for range 3 {
		tb.HandleMessage(context.Background(), m)
	}
	tb.drain(t)
	posts, _, _ := tb.rec.snapshot()
	if len(posts) != 2 { // progress (→ result) and engineers, once
		t.Fatalf("want one trace (2 posts), got %d posts", len(posts))
	}
}

func TestNotUnderstoodIsPrivateWithExamples(t *testing.T) {
	tb := newTestBot(t, nil)
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceCommand, Channel: "C1", User: "U1", Text: "the analysis was wrong, please check"})
	tb.drain(t)
	posts, _, privates := tb.rec.snapshot()
	if len(posts) != 0 || len(privates) != 1 {
		t.Fatalf("want one private answer and no posts, got %d posts %d privates", len(posts), len(privates))
	}
	got := replyText(privates[0])
	for _, want := range []string{"could not read", "phone number", "(914) 265-4371 5/20 1:15pm"} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
}

func TestCandidatesOfferOneButtonEach(t *testing.T) {
	tb := newTestBot(t, nil)
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceDM, Channel: "D1", Thread: "5.5", User: "U1", Text: "312-555-0142 5/21 10:30am"})
	tb.drain(t)
	posts, _, _ := tb.rec.snapshot()
	res := tb.rec.lastUpdate(posts[0].ref.ID)
	bs := buttons(res)
	if len(bs) != 2 || bs[0].Value.Action != ActTraceCall || bs[0].Value.SessionID != "s-4f1a9c0e7e58" {
		t.Fatalf("want two trace_call buttons, closest first: %+v", bs)
	}

	tb.HandleAction(context.Background(), Action{Platform: Slack, Message: posts[0].ref, User: "U1", Value: bs[1].Value})
	tb.drain(t)
	posts, _, _ = tb.rec.snapshot()
	last := posts[len(posts)-2] // the new progress/result message, then engineers
	if got := replyText(tb.rec.lastUpdate(last.ref.ID)); !strings.Contains(got, "s-4f1a9c0e7d21") {
		t.Errorf("trace_call did not trace the chosen call:\n%s", got)
	}
}

func TestNotFoundOffersWidenAndLastWeek(t *testing.T) {
	tb := newTestBot(t, nil)
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceDM, Channel: "D1", Thread: "5.5", User: "U1", Text: "(914) 265-4371 5/20 9am"})
	tb.drain(t)
	posts, _, _ := tb.rec.snapshot()
	res := tb.rec.lastUpdate(posts[0].ref.ID)
	bs := buttons(res)
	if len(bs) != 2 || bs[0].Value.Action != ActWiden || bs[1].Value.Action != ActLastWeek {
		t.Fatalf("want widen and last-week buttons: %+v", bs)
	}
	if !strings.Contains(replyText(res), "No call found for +19142654371") {
		t.Errorf("not-found text:\n%s", replyText(res))
	}
	// 9am ±6h reaches the 1:14pm call.
	tb.HandleAction(context.Background(), Action{Platform: Slack, Message: posts[0].ref, User: "U1", Value: bs[0].Value})
	tb.drain(t)
	posts, _, _ = tb.rec.snapshot()
	if got := replyText(tb.rec.lastUpdate(posts[len(posts)-2].ref.ID)); !strings.Contains(got, "s-abc123def456") {
		t.Errorf("widen did not find the call:\n%s", got)
	}
}

// traceResult runs the runbook example and returns the result message and its buttons.
func traceResult(t *testing.T, tb *testBot) (Ref, map[string]ActionValue) {
	t.Helper()
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceDM, Channel: "D1", Thread: "9.9", User: "U1", Text: "(914) 265-4371 5/20 1:15pm"})
	tb.drain(t)
	posts, _, _ := tb.rec.snapshot()
	ref := posts[0].ref
	vals := map[string]ActionValue{}
	for _, b := range buttons(tb.rec.lastUpdate(ref.ID)) {
		vals[b.Value.Action] = b.Value
	}
	return ref, vals
}

func TestConcurrentReprocessClicksSendExactlyOneRequest(t *testing.T) {
	tb := newTestBot(t, nil)
	tb.lambda.SetLatency(20 * time.Millisecond)
	ref, vals := traceResult(t, tb)
	for i := range 3 {
		go tb.HandleAction(context.Background(), Action{Platform: Slack, Message: ref, User: fmt.Sprintf("U%d", i+1),
			DeliveryID: fmt.Sprintf("click-%d", i), Value: vals[ActReprocess]})
	}
	time.Sleep(50 * time.Millisecond)
	tb.drain(t)
	if n := tb.lambda.Requests(); n != 1 {
		t.Fatalf("reprocess requests: got %d, want 1", n)
	}
	posts, _, privates := tb.rec.snapshot()
	var announcements int
	for _, p := range posts {
		if strings.Contains(replyText(p.reply), "Reprocess of") {
			announcements++
		}
	}
	if announcements != 1 || len(privates) != 2 {
		t.Fatalf("want 1 announcement and 2 private 'already requested' answers, got %d and %d", announcements, len(privates))
	}
	if !strings.Contains(replyText(privates[0]), "already") && !strings.Contains(replyText(privates[0]), "being requested") {
		t.Errorf("loser's answer: %s", replyText(privates[0]))
	}
	final := tb.rec.lastUpdate(ref.ID)
	if strings.Contains(replyText(final), "[Reprocess reprocess]") {
		t.Errorf("the Reprocess button should be replaced once requested:\n%s", replyText(final))
	}
	if !strings.Contains(replyText(final), "Reprocess requested by") {
		t.Errorf("result should show who requested the reprocess:\n%s", replyText(final))
	}
}

func TestRefusedReprocessReleasesTheButton(t *testing.T) {
	tb := newTestBot(t, nil)
	tb.lambda.Fail("AccessDeniedException", 403, 0)
	ref, vals := traceResult(t, tb)
	for range 2 {
		tb.HandleAction(context.Background(), Action{Platform: Slack, Message: ref, User: "U1", Value: vals[ActReprocess]})
		tb.drain(t)
	}
	if n := tb.lambda.Requests(); n != 2 {
		t.Fatalf("a refused request must not start the cooldown: got %d requests, want 2", n)
	}
	posts, _, _ := tb.rec.snapshot()
	if got := replyText(posts[len(posts)-1].reply); !strings.Contains(got, "was not accepted") {
		t.Errorf("thread should say why: %s", got)
	}
}

func TestReprocessAuthorization(t *testing.T) {
	tb := newTestBot(t, func(c *Config) { c.ReprocessAllowed = []string{"UBOSS"} })
	ref, vals := traceResult(t, tb)
	tb.HandleAction(context.Background(), Action{Platform: Slack, Message: ref, User: "U1", Value: vals[ActReprocess]})
	tb.drain(t)
	_, _, privates := tb.rec.snapshot()
	if tb.lambda.Requests() != 0 || len(privates) != 1 || !strings.Contains(replyText(privates[0]), "not allowed") {
		t.Fatalf("unauthorised click: %d requests, privates %v", tb.lambda.Requests(), privates)
	}
	tb.HandleAction(context.Background(), Action{Platform: Slack, Message: ref, User: "UBOSS", Value: vals[ActReprocess]})
	tb.drain(t)
	if tb.lambda.Requests() != 1 {
		t.Fatal("allowed user's click was not sent")
	}
}

func TestEscalateMentionsTheGroup(t *testing.T) {
	tb := newTestBot(t, nil)
	ref, vals := traceResult(t, tb)
	tb.HandleAction(context.Background(), Action{Platform: Slack, Message: ref, User: "U2", Value: vals[ActEscalate]})
	tb.drain(t)
	posts, _, _ := tb.rec.snapshot()
	got := replyText(posts[len(posts)-1].reply)
	if !strings.Contains(got, "<@!S0ONCALL>") || !strings.Contains(got, "<@U2>") || !strings.Contains(got, "s-abc123def456") {
		t.Errorf("handoff summary: %s", got)
	}
}

func TestRateLimitAnswersPolitely(t *testing.T) {
	tb := newTestBot(t, func(c *Config) { c.RateLimit = 2 })
	for range 3 {
		tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceDM, Channel: "D1", Thread: "1", User: "U1", Text: "(914) 265-4371 5/20 1:15pm"})
	}
	tb.drain(t)
	_, _, privates := tb.rec.snapshot()
	if len(privates) != 1 || !strings.Contains(replyText(privates[0]), "please wait") {
		t.Fatalf("want one polite rate-limit answer, got %v", privates)
	}
}

// TestRateLimitHoldsForConcurrentFirstRequests: a user's first requests arriving
// together share one limiter, so they get the burst once, not once each.
func TestRateLimitHoldsForConcurrentFirstRequests(t *testing.T) {
	tb := newTestBot(t, func(c *Config) { c.RateLimit = 2 })
	const users, each = 100, 8
	for u := range users {
		user := fmt.Sprintf("U%03d", u)
		var allowed atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range each {
			wg.Go(func() {
				<-start
				if tb.allowTrace(user) {
					allowed.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := allowed.Load(); n != 2 {
			t.Fatalf("%s: %d of %d concurrent first requests allowed, want 2", user, n, each)
		}
	}
}

func TestChannelNotAllowed(t *testing.T) {
	tb := newTestBot(t, func(c *Config) { c.AllowedChannels = []string{"COK"} })
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceCommand, Channel: "CNO", User: "U1", Text: "(914) 265-4371 5/20 1:15pm"})
	tb.drain(t)
	posts, _, privates := tb.rec.snapshot()
	if len(posts) != 0 || len(privates) != 1 || !strings.Contains(replyText(privates[0]), "not enabled") {
		t.Fatalf("posts %d privates %v", len(posts), privates)
	}
}

func TestCannotPostFallsBackToPrivate(t *testing.T) {
	tb := newTestBot(t, nil)
	tb.rec.denied["CPRIV"] = true
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceCommand, Channel: "CPRIV", User: "U1", Text: "(914) 265-4371 5/20 1:15pm"})
	tb.drain(t)
	_, _, privates := tb.rec.snapshot()
	if len(privates) != 1 || !strings.Contains(replyText(privates[0]), "/invite @tracebot") {
		t.Fatalf("want a private answer explaining how to invite the bot, got %v", privates)
	}
}

func TestShutdownRefusesNewWorkAndFinishesInFlight(t *testing.T) {
	tb := newTestBot(t, nil)
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceDM, Channel: "D1", Thread: "1", User: "U1", Text: "(914) 265-4371 5/20 1:15pm"})
	if err := tb.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	posts, _, _ := tb.rec.snapshot()
	if len(posts) != 2 {
		t.Fatalf("in-flight trace should finish before shutdown returns: %d posts", len(posts))
	}
	if tb.Accepting() {
		t.Fatal("still accepting after shutdown")
	}
	ack := tb.HandleAction(context.Background(), Action{Platform: Slack, User: "U1", Value: ActionValue{Action: ActRefresh, SessionID: "s-abc123def456"}})
	if !strings.Contains(ack.Toast, "restarting") {
		t.Errorf("ack after shutdown: %q", ack.Toast)
	}
}

func TestChineseReplies(t *testing.T) {
	tb := newTestBot(t, func(c *Config) { c.Lang = "zh" })
	tb.HandleMessage(context.Background(), Message{Platform: Slack, Source: SourceCommand, Channel: "C1", User: "U1", Text: "(914) 265-4371 5月20日 下午1:15"})
	tb.drain(t)
	posts, _, _ := tb.rec.snapshot()
	if !strings.Contains(replyText(posts[0].reply), "正在追踪") {
		t.Errorf("root in Chinese: %s", replyText(posts[0].reply))
	}
	if got := replyText(tb.rec.lastUpdate(posts[1].ref.ID)); !strings.Contains(got, "合计") || !strings.Contains(got, "重新分析") {
		t.Errorf("result in Chinese:\n%s", got)
	}
}

func TestActionValueRoundTrip(t *testing.T) {
	at := time.Date(2026, 5, 20, 17, 15, 0, 0, time.UTC)
	v := ActionValue{Action: ActWiden, Phone: "+19142654371", At: &at, Zone: "America/New_York"}
	got, err := DecodeActionValue(v.Encode())
	if err != nil || got.Phone != v.Phone || !got.At.Equal(at) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"", "{", `{"a":"rm -rf"}`, `"refresh"`} {
		if _, err := DecodeActionValue(bad); err == nil {
			t.Errorf("DecodeActionValue(%q) accepted", bad)
		}
	}
}

func TestUncertainReprocessKeepsTheCooldown(t *testing.T) {
	tb := newTestBot(t, nil)
	// Lambda takes the event, then the connection drops: the real client's error is
	// a *ReprocessError wrapped in a *lookup.RetryableError.
	tb.lambda.Disconnect(1)
	ref, vals := traceResult(t, tb)
	for range 2 {
		tb.HandleAction(context.Background(), Action{Platform: Slack, Message: ref, User: "U1", Value: vals[ActReprocess]})
		tb.drain(t)
	}
	if n := tb.lambda.Requests(); n != 1 {
		t.Fatalf("a request that may have been accepted must hold the cooldown: got %d requests, want 1", n)
	}
	posts, _, privates := tb.rec.snapshot()
	if got := replyText(posts[len(posts)-1].reply); !strings.Contains(got, "may or may not have started") {
		t.Errorf("thread should say the outcome is unknown: %s", got)
	}
	// The thread shows the cause's one line, not the raw error chain.
	if got := replyText(posts[len(posts)-1].reply); !strings.Contains(got, "the request may have been accepted") || strings.Contains(got, "operation error") {
		t.Errorf("thread should give the cause's one line: %s", got)
	}
	if len(privates) != 1 {
		t.Errorf("the second click should be told it was already requested: %v", privates)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{10 * time.Minute: "10m", time.Hour: "1h", 90 * time.Minute: "1h30m", 40 * time.Second: "40s", 2*time.Minute + 5*time.Second: "2m5s"} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// sayIn is the package's t, for tests where t is the *testing.T.
func sayIn(lang, key string) string { return T(lang, key) }

// deadlineTracer records the context each trace runs with.
type deadlineTracer struct {
	inner Tracer
	mu    sync.Mutex
	ctxs  []context.Context
}

func (d *deadlineTracer) Trace(ctx context.Context, req lookup.Request, progress func(lookup.Progress)) *lookup.Trace {
	d.mu.Lock()
	d.ctxs = append(d.ctxs, ctx)
	d.mu.Unlock()
	return d.inner.Trace(ctx, req, progress)
}

func (d *deadlineTracer) seen() []context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]context.Context(nil), d.ctxs...)
}

// A job may run as long as the trace timeout allows, plus the time to post the
// answer: a TRACEBOT_TRACE_TIMEOUT above two minutes is not cut short.
func TestJobDeadlineFollowsTheTraceTimeout(t *testing.T) {
	tr := &deadlineTracer{inner: sandboxTracer()}
	b := New(Config{Workers: 1, TraceTimeout: 5 * time.Minute, PostMargin: 30 * time.Second,
		Now: func() time.Time { return lookup.SandboxNow }, ParseOptions: lookup.ParseOptions{DefaultZone: time.UTC}},
		Deps{Tracer: tr})
	b.AddPoster(Slack, newRecorder())
	start := time.Now()
	b.HandleMessage(context.Background(), Message{Platform: Slack, Channel: "D1", Thread: "1", User: "U1", Text: "(914) 265-4371 5/20 1:15pm"})
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctxs := tr.seen()
	if len(ctxs) != 1 {
		t.Fatalf("traces run = %d, want 1", len(ctxs))
	}
	deadline, ok := ctxs[0].Deadline()
	if want := start.Add(5*time.Minute + 30*time.Second); !ok || deadline.Before(want) {
		t.Errorf("job deadline = %v (set %v), want at least trace timeout + post margin (%v)", deadline, ok, want)
	}
}

type ctxKey struct{}

// HandleMessage and HandleAction use their context: its values reach the job, and
// a request whose context is already done is not queued.
func TestHandleUsesTheRequestContext(t *testing.T) {
	t.Run("values reach the job", func(t *testing.T) {
		tr := &deadlineTracer{inner: sandboxTracer()}
		b := New(Config{Workers: 1, Now: func() time.Time { return lookup.SandboxNow },
			ParseOptions: lookup.ParseOptions{DefaultZone: time.UTC}}, Deps{Tracer: tr})
		b.AddPoster(Slack, newRecorder())
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "request-7"))
		b.HandleMessage(ctx, Message{Platform: Slack, Channel: "D1", Thread: "1", User: "U1", Text: "(914) 265-4371 5/20 1:15pm"})
		cancel() // the request ends once the edge has acknowledged it: the job goes on
		if err := b.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctxs := tr.seen()
		if len(ctxs) != 1 || ctxs[0].Value(ctxKey{}) != "request-7" {
			t.Fatalf("the job did not get the request's values: %d traces", len(ctxs))
		}
	})
	t.Run("a done context is not queued", func(t *testing.T) {
		tb := newTestBot(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		tb.HandleMessage(ctx, Message{Platform: Slack, Channel: "D1", Thread: "1", User: "U1", Text: "(914) 265-4371 5/20 1:15pm"})
		ack := tb.HandleAction(ctx, Action{Platform: Slack, Message: Ref{Channel: "D1", ID: "1"}, User: "U1",
			Value: ActionValue{Action: ActRefresh, SessionID: "s-abc123def456"}})
		tb.drain(t)
		posts, updates, privates := tb.rec.snapshot()
		if len(posts)+len(updates)+len(privates) != 0 || ack.Toast != "" {
			t.Errorf("abandoned requests ran: %d posts, %d updates, %d private answers, toast %q", len(posts), len(updates), len(privates), ack.Toast)
		}
	})
}

// blockingPoster holds every private answer until release is closed.
type blockingPoster struct {
	*recorder
	release  chan struct{}
	inFlight atomic.Int32
	calls    atomic.Int32
}

func (p *blockingPoster) Private(ctx context.Context, m Message, r Reply) error {
	p.calls.Add(1)
	p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	select {
	case <-p.release:
	case <-ctx.Done():
	}
	return p.recorder.Private(ctx, m, r)
}

// An overloaded bot refuses work with a bounded number of private answers in
// flight: past the bound, refusals are dropped (and logged), never piled up.
func TestRefusalsAreBounded(t *testing.T) {
	gate := make(chan struct{})
	b := New(Config{Workers: 1, QueueSize: 1, Now: func() time.Time { return lookup.SandboxNow },
		ParseOptions: lookup.ParseOptions{DefaultZone: time.UTC}},
		Deps{Tracer: gatedTracer{gate}})
	p := &blockingPoster{recorder: newRecorder(), release: make(chan struct{})}
	b.AddPoster(Slack, p)
	const requests = 50
	for i := range requests {
		b.HandleMessage(context.Background(), Message{Platform: Slack, Channel: "D1", Thread: "1",
			User: fmt.Sprintf("U%d", i), Text: "(914) 265-4371 5/20 1:15pm"})
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.calls.Load() < maxRefusals && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(p.release)
	close(gate)
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := p.calls.Load(); n != maxRefusals {
		t.Errorf("refusals sent = %d, want the bound %d (of %d requests)", n, maxRefusals, requests)
	}
}

// gatedTracer holds every trace until its channel is closed.
type gatedTracer struct{ open chan struct{} }

func (g gatedTracer) Trace(ctx context.Context, req lookup.Request, _ func(lookup.Progress)) *lookup.Trace {
	select {
	case <-g.open:
	case <-ctx.Done():
	}
	return &lookup.Trace{TraceID: "t-gated", Outcome: lookup.OutcomeNotFound}
}

// Every action a button may carry has a handler, and nothing else does.
func TestEveryActionKindIsHandled(t *testing.T) {
	b := New(Config{}, Deps{})
	defer func() { _ = b.Shutdown(context.Background()) }()
	handled := b.actions()
	for _, kind := range ActionKinds {
		if handled[kind] == nil {
			t.Errorf("action %q has no handler", kind)
		}
	}
	if len(handled) != len(ActionKinds) {
		t.Errorf("%d handlers for %d action kinds", len(handled), len(ActionKinds))
	}
}
