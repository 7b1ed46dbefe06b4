package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/state"
	"github.com/callytics/tracebot/lookup"
)

// The scheduler's tests: a scripted checker, the memory store on a clock the
// test moves, and one recorder per platform.

type alertClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *alertClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *alertClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// scriptedChecker answers each check with the next script entry (the last one
// repeats) and counts the checks.
type scriptedChecker struct {
	mu     sync.Mutex
	script []func(now time.Time, in lookup.AlertInputs) lookup.AlertCheck
	calls  int
}

func (s *scriptedChecker) Check(_ context.Context, now time.Time, in lookup.AlertInputs) lookup.AlertCheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.script[min(s.calls, len(s.script)-1)]
	s.calls++
	return f(now, in)
}

func (s *scriptedChecker) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

var allRules = []lookup.AlertRule{lookup.RuleBudget, lookup.RuleCacheCollapse, lookup.RuleCostSpike, lookup.RuleLengthSpike, lookup.RuleBackendFailures}

// firing is a check in which every rule was evaluated and alerts hold.
func firing(alerts ...lookup.Alert) func(time.Time, lookup.AlertInputs) lookup.AlertCheck {
	return func(now time.Time, _ lookup.AlertInputs) lookup.AlertCheck {
		return lookup.AlertCheck{Now: now, Alerts: alerts, Evaluated: allRules}
	}
}

// failing is a check in which rule's report could not be read.
func failing(rule lookup.AlertRule) func(time.Time, lookup.AlertInputs) lookup.AlertCheck {
	return func(now time.Time, _ lookup.AlertInputs) lookup.AlertCheck {
		var ev []lookup.AlertRule
		for _, r := range allRules {
			if r != rule {
				ev = append(ev, r)
			}
		}
		return lookup.AlertCheck{Now: now, Evaluated: ev, Errors: []lookup.RuleError{{Rule: rule, Message: "region us-west-2 failed"}}}
	}
}

var (
	alertStart = time.Date(2026, 5, 22, 16, 10, 0, 0, time.UTC)
	collapse   = lookup.Alert{Rule: lookup.RuleCacheCollapse, Level: lookup.LevelWarning, Value: 0.31, Threshold: 0.5,
		From: time.Date(2026, 5, 22, 14, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 22, 16, 0, 0, 0, time.UTC),
		Report: lookup.ReportCache, Message: "The cache hit rate was below 50% in each of the last 2 full hours."}
)

func budgetAlert(level lookup.AlertLevel, day string) lookup.Alert {
	return lookup.Alert{Rule: lookup.RuleBudget, Level: level, Value: 9.7, Threshold: 9.5, Day: day, Report: lookup.ReportCost,
		From: alertStart.Add(-12 * time.Hour), To: alertStart, Message: "Today's AI spend is $9.70."}
}

// flaky fails the next n posts (a rate limit: Slack did not take them).
type flaky struct {
	*recorder
	mu sync.Mutex
	n  int
}

func (f *flaky) Post(ctx context.Context, to Ref, r Reply, key string) (Ref, error) {
	f.mu.Lock()
	if f.n > 0 {
		f.n--
		f.mu.Unlock()
		return Ref{}, errors.New("slack chat.postMessage: slack rate limit exceeded, retry after 30s")
	}
	f.mu.Unlock()
	return f.recorder.Post(ctx, to, r, key)
}

type alertHarness struct {
	bot          *Bot
	clock        *alertClock
	store        *state.Memory
	slack, lark  *recorder
	slackFlaky   *flaky
	checker      *scriptedChecker
	alerts       *Alerts
	metrics      *Metrics
	reg          *prometheus.Registry
	logs         *bottest.Logs
	slackChannel string
}

func newAlertHarness(t *testing.T, script ...func(time.Time, lookup.AlertInputs) lookup.AlertCheck) *alertHarness {
	t.Helper()
	h := &alertHarness{clock: &alertClock{now: alertStart}, slack: newRecorder(), lark: newRecorder(),
		checker: &scriptedChecker{script: script}, reg: prometheus.NewRegistry(), logs: &bottest.Logs{}, slackChannel: "C0ALERTS"}
	h.store = state.NewMemory(h.clock.Now)
	h.metrics = NewMetrics(h.reg)
	h.slackFlaky = &flaky{recorder: h.slack}
	log := slog.New(slog.NewJSONHandler(h.logs, nil))
	h.bot = New(Config{Now: h.clock.Now, EscalationMention: "S0ONCALL",
		ParseOptions: lookup.ParseOptions{DefaultZone: mustZone(t, "America/New_York")}},
		Deps{Store: h.store, Metrics: h.metrics, Logger: log})
	h.bot.AddPoster(Slack, h.slackFlaky)
	h.bot.AddPoster(Lark, h.lark)
	h.alerts = NewAlerts(h.bot, AlertsConfig{Channels: []string{"C0ALERTS", "oc_alerts"}, Interval: time.Minute,
		Holder: "replica-a", FailuresKnown: true}, h.checker, h.store)
	t.Cleanup(func() { _ = h.bot.Shutdown(context.Background()) })
	return h
}

// tick runs one interval, then moves the clock on by one.
func (h *alertHarness) tick(t *testing.T) {
	t.Helper()
	if err := h.alerts.Tick(context.Background()); err != nil {
		t.Fatalf("tick: %v", err)
	}
	h.clock.advance(time.Minute)
}

// texts are the posts of one recorder: "channel thread: first line".
func postLines(r *recorder) []string {
	posts, _, _ := r.snapshot()
	var out []string
	for _, p := range posts {
		out = append(out, fmt.Sprintf("%s %s: %s", p.to.Channel, p.to.Thread, strings.SplitN(p.reply.Text, ":", 2)[0]))
	}
	return out
}

func TestAlertsPostEachEpisodeOncePerChannel(t *testing.T) {
	h := newAlertHarness(t, firing(collapse), firing(collapse), firing(collapse), firing(), firing())
	for range 5 {
		h.tick(t)
	}
	wantSlack := []string{"C0ALERTS : ⚠️ Alert", "C0ALERTS m1: ✅ Resolved"}
	wantLark := []string{"oc_alerts : ⚠️ Alert", "oc_alerts m1: ✅ Resolved"}
	if got := postLines(h.slack); strings.Join(got, "|") != strings.Join(wantSlack, "|") {
		t.Errorf("slack posts %q, want %q", got, wantSlack)
	}
	if got := postLines(h.lark); strings.Join(got, "|") != strings.Join(wantLark, "|") {
		t.Errorf("lark posts %q, want %q", got, wantLark)
	}
	posts, _, _ := h.slack.snapshot()
	b := buttons(posts[0].reply)
	if len(b) != 2 || b[1].Value.Action != ActMute || b[1].Value.Rule != "cache_collapse" || b[1].Value.Episode == "" {
		t.Fatalf("alert buttons %+v", b)
	}
	details, err := b[0].Value.Report.Query(time.UTC)
	if err != nil || b[0].Value.Action != ActReport || details.Kind != lookup.ReportCache || !details.To.Equal(collapse.To) ||
		!details.From.Equal(collapse.To.Add(-24*time.Hour)) {
		t.Errorf("Details runs %+v (%v), want the cache report of the 24 hours up to the alert's end", details, err)
	}
	if n := counterValue(t, h.reg, "tracebot_alerts_total", map[string]string{"rule": "cache_collapse", "level": "warning"}); n != 1 {
		t.Errorf("tracebot_alerts_total{cache_collapse,warning} = %v, want 1", n)
	}
	if eps, _ := h.store.UnsettledEpisodes(context.Background()); len(eps) != 0 {
		t.Errorf("episodes left unsettled: %+v", eps)
	}
}

// TestAlertsRetryAFailedPost: a rate-limited post is retried next interval, once.
func TestAlertsRetryAFailedPost(t *testing.T) {
	h := newAlertHarness(t, firing(collapse))
	h.slackFlaky.n = 2
	for range 4 {
		h.tick(t)
	}
	if got := postLines(h.slack); len(got) != 1 {
		t.Errorf("slack posts %q, want the alert once (after two rate limits)", got)
	}
	if got := postLines(h.lark); len(got) != 1 {
		t.Errorf("lark posts %q, want the alert once, not delayed by Slack", got)
	}
	posts, _ := h.store.AlertPosts(context.Background(), "1")
	if len(posts) != 2 || posts[0].Attempts != 3 || posts[0].State != state.PostDone {
		t.Errorf("claims %+v", posts)
	}
}

// TestAlertsChannelRefused: a channel the bot may not post in is logged once per
// episode and the alert still goes to the others.
func TestAlertsChannelRefused(t *testing.T) {
	h := newAlertHarness(t, firing(collapse), firing(collapse), firing(collapse), firing())
	h.slack.denied["C0ALERTS"] = true
	for range 4 {
		h.tick(t)
	}
	if got := postLines(h.lark); len(got) != 2 {
		t.Errorf("lark posts %q, want the alert and its resolution", got)
	}
	if n := strings.Count(h.logs.String(), "cannot post the alert in this channel"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once:\n%s", n, h.logs)
	}
	if eps, _ := h.store.UnsettledEpisodes(context.Background()); len(eps) != 0 {
		t.Errorf("a refused channel keeps the episode unsettled: %+v", eps)
	}
}

// TestAlertsUnevaluatedRuleKeepsItsEpisode: a check that could not read the
// cache report neither resolves nor reposts the open collapse.
func TestAlertsUnevaluatedRuleKeepsItsEpisode(t *testing.T) {
	h := newAlertHarness(t, firing(collapse), failing(lookup.RuleCacheCollapse), failing(lookup.RuleCacheCollapse), firing(collapse))
	for range 4 {
		h.tick(t)
	}
	if got := postLines(h.slack); len(got) != 1 {
		t.Errorf("slack posts %q, want the alert once and no resolution", got)
	}
}

func TestAlertsMuteHoldsNewAlerts(t *testing.T) {
	h := newAlertHarness(t, firing(collapse), firing(), firing(collapse))
	ctx := context.Background()
	if _, err := h.store.Mute(ctx, state.AlertMute{Rule: "cache_collapse", By: "U0ALICE"}, DefaultMuteFor); err != nil {
		t.Fatal(err)
	}
	h.tick(t)
	h.tick(t)
	if got := postLines(h.slack); len(got) != 0 {
		t.Fatalf("muted alert posted: %q", got)
	}
	if eps, _ := h.store.UnsettledEpisodes(ctx); len(eps) != 0 {
		t.Errorf("a muted episode that ended is left unsettled: %+v", eps)
	}
	h.clock.advance(DefaultMuteFor)
	h.tick(t)
	if got := postLines(h.slack); len(got) != 1 {
		t.Errorf("after the mute: slack posts %q, want the new episode's alert", got)
	}
}

// TestAlertsBudgetLevels: each level once a day, the escalation mention for
// critical, no "resolved" when a level is passed or the day ends.
func TestAlertsBudgetLevels(t *testing.T) {
	h := newAlertHarness(t, firing(budgetAlert(lookup.LevelWarning, "2026-05-22")),
		firing(budgetAlert(lookup.LevelCritical, "2026-05-22")), firing(budgetAlert(lookup.LevelCritical, "2026-05-22")),
		firing(), firing(budgetAlert(lookup.LevelWarning, "2026-05-23")))
	for range 5 {
		h.tick(t)
	}
	posts, _, _ := h.slack.snapshot()
	var got []string
	for _, p := range posts {
		got = append(got, p.to.Thread+"|"+p.reply.Text[:min(len(p.reply.Text), 60)])
	}
	if len(posts) != 3 {
		t.Fatalf("slack posts %q, want warning, critical, next day's warning", got)
	}
	if !strings.Contains(posts[1].reply.Blocks[1].Text, "<@!S0ONCALL>") || strings.Contains(posts[0].reply.Blocks[1].Text, "S0ONCALL") {
		t.Errorf("the escalation mention belongs to critical only: %q", got)
	}
	for _, p := range posts {
		if p.to.Thread != "" {
			t.Errorf("a budget episode was resolved in thread: %q", got)
		}
	}
}

// TestAlertsBudgetLevelPassedBeforeItsPost: a warning that could not be posted
// yet is not posted after critical replaced it: only the highest level is
// posted, and the passed level's episode is settled.
func TestAlertsBudgetLevelPassedBeforeItsPost(t *testing.T) {
	h := newAlertHarness(t, firing(budgetAlert(lookup.LevelWarning, "2026-05-22")),
		firing(budgetAlert(lookup.LevelCritical, "2026-05-22")), firing(budgetAlert(lookup.LevelCritical, "2026-05-22")))
	h.slackFlaky.n = 1 // the warning's first post is rate limited
	for range 3 {
		h.tick(t)
	}
	slack, _, _ := h.slack.snapshot()
	if len(slack) != 1 || !strings.Contains(slack[0].reply.Text, "critical") {
		t.Errorf("slack posts %q, want critical alone", postLines(h.slack))
	}
	if lark, _, _ := h.lark.snapshot(); len(lark) != 2 {
		t.Errorf("lark posts %q, want warning then critical (each posted in time)", postLines(h.lark))
	}
	eps, _ := h.store.UnsettledEpisodes(context.Background())
	for _, ep := range eps {
		if ep.Level == string(lookup.LevelWarning) {
			t.Errorf("the passed warning's episode is left unsettled: %+v", ep)
		}
	}
}

// TestAlertsLeaseOneEvaluatorPerInterval: two replicas on one store; only the
// lease holder checks, and the other takes over when the holder stops renewing.
func TestAlertsLeaseOneEvaluatorPerInterval(t *testing.T) {
	h := newAlertHarness(t, firing(collapse))
	otherChecker := &scriptedChecker{script: h.checker.script}
	other := NewAlerts(h.bot, AlertsConfig{Channels: []string{"C0ALERTS", "oc_alerts"}, Interval: time.Minute,
		Holder: "replica-b", FailuresKnown: true}, otherChecker, h.store)
	for range 3 {
		for _, a := range []*Alerts{h.alerts, other} {
			if err := a.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		h.clock.advance(time.Minute)
	}
	if h.checker.count() != 3 || otherChecker.count() != 0 {
		t.Errorf("checks: holder %d, other %d; want 3 and 0", h.checker.count(), otherChecker.count())
	}
	h.clock.advance(2 * time.Minute) // replica-a stopped renewing
	if err := other.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if otherChecker.count() != 1 {
		t.Errorf("the other replica did not take the lease over")
	}
	if got := postLines(h.slack); len(got) != 1 {
		t.Errorf("slack posts %q, want the alert once across both replicas", got)
	}
}

// TestAlertsBackendFailuresFromTraceRecords: the bot's own records feed the rule;
// the episode lasts until 10 minutes pass without a new failure.
func TestAlertsBackendFailuresFromTraceRecords(t *testing.T) {
	check := func(now time.Time, in lookup.AlertInputs) lookup.AlertCheck {
		if !in.FailuresKnown {
			t.Error("failures not read")
		}
		return lookup.AlertCheck{Now: now, Evaluated: allRules, Alerts: lookup.BackendFailureAlerts(in.Failures, now, in.OpenBackends)}
	}
	h := newAlertHarness(t, check)
	ctx := context.Background()
	for i := range 6 {
		if err := h.store.RecordTrace(ctx, state.TraceRecord{TraceID: fmt.Sprintf("tr-%d", i), Outcome: "traced",
			Failures: []state.TraceFailure{{Step: lookup.StepGenerations, Backend: "OpenRouter", Cause: "openrouter gen-1: unauthorized (HTTP 401: bad key)"}}}); err != nil {
			t.Fatal(err)
		}
	}
	h.tick(t) // fires: 6 traces
	if err := h.store.RecordTrace(ctx, state.TraceRecord{TraceID: "tr-late", Outcome: "traced",
		Failures: []state.TraceFailure{{Step: lookup.StepGenerations, Backend: "OpenRouter", Cause: "HTTP 401"}}}); err != nil {
		t.Fatal(err)
	}
	for range 10 { // minutes 1–10: the late failure keeps it open until minute 11
		h.tick(t)
	}
	if got := postLines(h.slack); len(got) != 1 || !strings.Contains(got[0], "🚨 Alert") {
		t.Fatalf("slack posts %q, want one critical alert still open", got)
	}
	h.tick(t)
	posts, _, _ := h.slack.snapshot()
	if len(posts) != 2 || posts[1].to.Thread != posts[0].ref.ID || !strings.Contains(posts[0].reply.Text, "OpenRouter 401 on 6 traces in 10 min") {
		t.Errorf("posts %q", postLines(h.slack))
	}
}

func TestMuteButtonRecordsWhoAndSaysUntilWhen(t *testing.T) {
	h := newAlertHarness(t, firing(collapse))
	h.tick(t)
	posts, _, _ := h.slack.snapshot()
	btn := buttonOf(t, posts[0].reply, ActMute)
	h.bot.HandleAction(context.Background(), Action{Platform: Slack, DeliveryID: "click-1", Message: posts[0].ref, User: "U0ALICE", Value: btn.Value})
	if err := h.bot.Idle(context.Background()); err != nil {
		t.Fatal(err)
	}
	m, ok, err := h.store.ActiveMute(context.Background(), "cache_collapse", "")
	if err != nil || !ok || m.By != "U0ALICE" || m.Channel != "C0ALERTS" {
		t.Fatalf("mute %+v %v %v", m, ok, err)
	}
	posts, _, _ = h.slack.snapshot()
	last := posts[len(posts)-1]
	if last.to.Thread != posts[0].ref.ID || !strings.Contains(last.reply.Text, "<@U0ALICE> muted **cache collapse** for 24h, until May 23 12:11 EDT") {
		t.Errorf("mute reply in %q: %q", last.to.Thread, last.reply.Text)
	}
}

// TestTraceRecordsEveryFailedBackend: each backend a trace failed at is in its
// record, with the one-line cause.
func TestTraceRecordsEveryFailedBackend(t *testing.T) {
	tb := newTestBot(t, nil)
	tr := &lookup.Trace{TraceID: "tr-x", Outcome: lookup.OutcomeTraced, Errors: []lookup.StepError{
		{Step: lookup.StepLogs, Region: "us-east-2", Message: "AccessDeniedException: no", Backend: "CloudWatch us-east-2"},
		{Step: lookup.StepGenerations, Message: "classify: not found", Backend: ""},
		{Step: lookup.StepGenerations, Message: "coaching: HTTP 500", Backend: "OpenRouter"},
	}}
	tb.recordTrace(context.Background(), Message{Platform: Slack, Channel: "C1", User: "U1", Text: "x"}, lookup.Request{}, tr,
		chatFailures(Slack, errors.New("slack chat.update C1: ratelimited"))...)
	got, err := tb.store.TraceFailures(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var backends []string
	for _, f := range got {
		backends = append(backends, f.Backend+": "+f.Cause)
	}
	want := []string{"CloudWatch us-east-2: AccessDeniedException: no", "OpenRouter: coaching: HTTP 500", "Slack: slack chat.update C1: ratelimited"}
	if strings.Join(backends, "|") != strings.Join(want, "|") {
		t.Errorf("failures %q, want %q", backends, want)
	}
	if f := chatFailures(Lark, fmt.Errorf("lark: %w", ErrCannotPost)); f != nil {
		t.Errorf("a channel the bot may not post in counted as a failing platform: %+v", f)
	}
}

// counterValue reads one counter of reg by name and labels (0 when absent).
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func buttonOf(t *testing.T, r Reply, action string) Button {
	t.Helper()
	for _, b := range buttons(r) {
		if b.Value.Action == action {
			return b
		}
	}
	t.Fatalf("no %s button in %+v", action, buttons(r))
	return Button{}
}

// TestDetailsRunsTheReportInTheAlertsThread: the Details button of an alert runs
// its report, answered in the alert's thread.
func TestDetailsRunsTheReportInTheAlertsThread(t *testing.T) {
	h := newAlertHarness(t, firing(collapse))
	h.bot.deps.Reporter = lookup.NewSandboxReports(lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin})
	h.tick(t)
	posts, _, _ := h.slack.snapshot()
	alert := posts[0]
	h.bot.HandleAction(context.Background(), Action{Platform: Slack, DeliveryID: "click-d", Message: alert.ref, User: "U0ALICE",
		Value: buttonOf(t, alert.reply, ActReport).Value})
	if err := h.bot.Idle(context.Background()); err != nil {
		t.Fatal(err)
	}
	posts, _, _ = h.slack.snapshot()
	if len(posts) != 2 || posts[1].to.Thread != alert.ref.ID {
		t.Fatalf("posts %q, want the report in the alert's thread", postLines(h.slack))
	}
	if got := replyText(h.slack.lastUpdate(posts[1].ref.ID)); !strings.Contains(got, "Cache hit rate") {
		t.Errorf("the Details answer is not the cache report:\n%s", got)
	}
}

// claimWatcher is a Slack poster that can post images and notes, at each
// upload, where the alert's claim stood in the store.
type claimWatcher struct {
	*imageRecorder
	store  *state.Memory
	states []state.AlertPostState
}

func (c *claimWatcher) PostImage(ctx context.Context, to Ref, img Image) error {
	posts, err := c.store.AlertPosts(ctx, "1")
	if err != nil || len(posts) != 1 {
		return fmt.Errorf("claims of episode 1: %+v, %v", posts, err)
	}
	c.mu.Lock()
	c.states = append(c.states, posts[0].State)
	c.mu.Unlock()
	return c.imageRecorder.PostImage(ctx, to, img)
}

// TestAlertChartAfterThePostIsRecorded: the chart of the report the rule read
// goes in the alert's thread once, and only after the alert is recorded as
// posted — a replica that dies while uploading the chart must not leave a posted
// alert claimed as pending, which another replica would post again.
func TestAlertChartAfterThePostIsRecorded(t *testing.T) {
	h := newAlertHarness(t, firing())
	w := &claimWatcher{imageRecorder: &imageRecorder{recorder: h.slack}, store: h.store}
	h.bot.AddPoster(Slack, w)
	reports := lookup.NewSandboxReports(lookup.ReportConfig{CacheMin: lookup.DefaultCacheMin, LengthMax: lookup.DefaultLengthMax})
	checker := lookup.NewAlertChecker(reports, lookup.AlertConfig{DailyBudget: lookup.SandboxDailyBudget, Zone: time.UTC})
	alerts := NewAlerts(h.bot, AlertsConfig{Channels: []string{"C0ALERTS"}, Interval: time.Minute, Holder: "a"}, checker, h.store)
	for range 2 {
		if err := alerts.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	posts, _, _ := h.slack.snapshot()
	images := w.posted()
	if len(posts) != 1 || len(images) != 1 || images[0].to != posts[0].ref.ThreadRef() {
		t.Fatalf("posts %q, images %+v: want the budget alert and its chart in its thread, once", postLines(h.slack), images)
	}
	if len(w.states) != 1 || w.states[0] != state.PostDone {
		t.Errorf("the alert's claim stood %q while its chart was uploaded, want %q", w.states, state.PostDone)
	}
}

// deadlineStore notes whether each FinishAlertPost had a deadline.
type deadlineStore struct {
	*state.Memory
	mu        sync.Mutex
	deadlines []bool
}

func (d *deadlineStore) FinishAlertPost(ctx context.Context, p state.AlertPost) error {
	_, ok := ctx.Deadline()
	d.mu.Lock()
	d.deadlines = append(d.deadlines, ok)
	d.mu.Unlock()
	return d.Memory.FinishAlertPost(ctx, p)
}

// TestAlertOutcomeRecordedUnderADeadline: the outcome of a post is recorded even
// when the scheduler is being stopped, but within a deadline of its own, so a
// store that hangs cannot keep Run (and serve's shutdown) waiting forever.
func TestAlertOutcomeRecordedUnderADeadline(t *testing.T) {
	h := newAlertHarness(t, firing(collapse))
	store := &deadlineStore{Memory: h.store}
	alerts := NewAlerts(h.bot, AlertsConfig{Channels: []string{"C0ALERTS"}, Interval: time.Minute, Holder: "a"}, h.checker, store)
	if err := alerts.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(store.deadlines) != 1 || !store.deadlines[0] {
		t.Errorf("FinishAlertPost had a deadline: %v, want [true]", store.deadlines)
	}
}
