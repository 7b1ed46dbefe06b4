package slack

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/slack/slackfake"

	"github.com/callytics/tracebot/bot"
)

// These tests run whole conversations: signed requests in, the real bot over the
// sandbox world, and every answer through slack-go into the fake Slack.

func TestSlashCommandFlow(t *testing.T) {
	h := newHarness(t, harnessOpts{sandboxMS: 3})
	start := time.Now()
	h.command(testUser, testChannel, testReport)
	if ack := time.Since(start); ack > time.Second {
		t.Errorf("ack took %s", ack)
	}
	root := h.rootMessage(testChannel)
	if !strings.Contains(root.Text, "requested by <@"+testUser+">") || !strings.Contains(root.Text, "+19142654371") {
		t.Errorf("root message: %q", root.Text)
	}
	result := h.waitResult(testChannel, root.TS, "Call "+testSession+"\n")
	h.waitResult(testChannel, root.TS, "For engineers")
	h.shutdown()

	replies := h.botReplies(testChannel, root.TS)
	if len(replies) != 2 {
		t.Fatalf("want the progress-then-result message and the engineers' block in the thread, got %d", len(replies))
	}
	if replies[0].TS != result.TS || result.Edits < 2 {
		t.Errorf("the first reply must be updated with progress, then the result (edits %d)", result.Edits)
	}
	updates := h.fake.CallsTo("chat.update")
	if len(updates) < 2 || !strings.Contains(updates[0].Params["blocks"], "✓") {
		t.Errorf("want progress updates before the result, got %d updates", len(updates))
	}
	for _, want := range []string{"gen-1779299695-aBcDeFg", "$0.001535", "Sample data (--sandbox)", `"a":"reprocess"`, `"a":"refresh"`, `"a":"escalate"`} {
		if !strings.Contains(result.BlockText(), want) {
			t.Errorf("result lacks %q", want)
		}
	}
	var order []string
	for _, c := range h.fake.Calls() {
		if c.Method == "chat.postMessage" {
			order = append(order, "post thread="+c.Params["thread_ts"])
		}
	}
	if diff := cmp.Diff([]string{"post thread=", "post thread=" + root.TS, "post thread=" + root.TS}, order); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
	if bad := h.failedCalls(); len(bad) > 0 {
		t.Errorf("Slack refused calls: %+v", bad)
	}
}

func TestShortcutAnswersInThatMessagesThread(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	parent := h.fake.AddMessage(testChannel, "U0CUSTOMER", "customer thread", "")
	report := h.fake.AddMessage(testChannel, "U0CUSTOMER", "Customer says: "+testReport+", analysis looks off", parent.TS)
	h.interact(slackfake.Shortcut{CallbackID: "trace_report", User: testUser, Channel: testChannel, Message: report,
		TriggerID: h.fake.NewTriggerID(), ResponseURL: h.fake.NewResponseURL()}.Payload())
	h.waitResult(testChannel, parent.TS, "Call "+testSession+"\n")

	empty := h.fake.AddMessage(testChannel, "U0CUSTOMER", "", "")
	ru := h.fake.NewResponseURL()
	h.interact(slackfake.Shortcut{CallbackID: "trace_report", User: testUser, Channel: testChannel, Message: empty,
		TriggerID: h.fake.NewTriggerID(), ResponseURL: ru}.Payload())
	h.waitResponse(ru, "no text to trace")
	h.shutdown()
	for _, m := range h.fake.Messages(testChannel) {
		if m.BotID != "" && m.ThreadTS == "" {
			t.Errorf("a shortcut must not post a root message: %+v", m)
		}
	}
}

func TestMentionAndDirectMessage(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	mention := h.fake.AddMessage(testChannel, testUser, "<@"+slackfake.DefaultBotUserID+"> "+testReport, "")
	h.event("Ev0MENTION", slackfake.AppMention(testChannel, testUser, mention.Text, mention.TS, ""), nil)
	h.waitResult(testChannel, mention.TS, "Call "+testSession+"\n")

	dm := h.fake.AddMessage("D0SUPPORT", testUser, testReport, "")
	h.event("Ev0DM", slackfake.DirectMessage("D0SUPPORT", testUser, dm.Text, dm.TS, ""), nil)
	answer := h.waitResult("D0SUPPORT", dm.TS, "Call "+testSession+"\n")

	// The bot's own message in the DM (its answer) comes back as an event: ignored.
	own := slackfake.DirectMessage("D0SUPPORT", slackfake.DefaultBotUserID, answer.Text, answer.TS, dm.TS)
	own["bot_id"] = slackfake.DefaultBotID
	h.event("Ev0OWN", own, nil)
	h.shutdown()
	if n := len(h.botReplies("D0SUPPORT", dm.TS)); n != 2 {
		t.Errorf("want result + engineers in the DM thread and nothing for the bot's own message, got %d", n)
	}
}

func TestCandidatesThenPick(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.command(testUser, testChannel, "312-555-0142 5/21 10:30am")
	root := h.rootMessage(testChannel)
	list := h.waitResult(testChannel, root.TS, "Which one?")
	var picks []slackfake.Button
	for _, b := range slackfake.Buttons(list) {
		if strings.HasPrefix(b.ActionID, actionPrefix+bot.ActTraceCall) {
			picks = append(picks, b)
		}
	}
	if len(picks) != 2 {
		t.Fatalf("want a Trace this call button per candidate, got %+v", slackfake.Buttons(list))
	}
	h.click(testUser, list, actionPrefix+bot.ActTraceCall)
	h.waitResult(testChannel, root.TS, "Call s-4f1a9c0e7e58\n")
	h.shutdown()
	if bad := h.failedCalls(); len(bad) > 0 {
		t.Errorf("Slack refused calls: %+v", bad)
	}
}

func TestNotFoundOffersWiderSearches(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.command(testUser, testChannel, "(914) 265-4371 5/10 9am")
	root := h.rootMessage(testChannel)
	nf := h.waitResult(testChannel, root.TS, "No call found")
	var labels []string
	for _, b := range slackfake.Buttons(nf) {
		labels = append(labels, b.Text)
	}
	if diff := cmp.Diff([]string{"Widen to ±6h", "Last 7 days"}, labels); diff != "" {
		t.Errorf("buttons (-want +got):\n%s", diff)
	}
	h.click(testUser, nf, actionPrefix+bot.ActLastWeek)
	h.waitResult(testChannel, root.TS, "Call "+testSession+"\n")
}

func TestNotUnderstoodIsPrivate(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ru := h.command(testUser, testChannel, "the analysis for my customer is wrong")
	p := h.waitResponse(ru, "could not read that report")
	if p.ResponseType != "ephemeral" || !strings.Contains(p.BlockText(), "/trace (914) 265-4371 5/20 1:15pm") {
		t.Errorf("not-understood answer: %+v", p)
	}
	// A mention has no response_url: the answer is ephemeral in the thread.
	m := h.fake.AddMessage(testChannel, testUser, "<@"+slackfake.DefaultBotUserID+"> please check this", "")
	h.event("Ev0HELP", slackfake.AppMention(testChannel, testUser, m.Text, m.TS, ""), nil)
	h.fake.Wait(t, 10*time.Second, "an ephemeral answer", func() bool {
		for _, e := range h.fake.Messages(testChannel) {
			if e.Ephemeral && e.User == testUser && e.ThreadTS == m.TS && strings.Contains(e.BlockText(), "could not read") {
				return true
			}
		}
		return false
	})
	h.shutdown()
	if n := len(h.fake.CallsTo("chat.postMessage")); n != 0 {
		t.Errorf("nothing may be posted in the channel, got %d posts", n)
	}
}

func TestRejectsUnverifiedRequests(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cmd := slackfake.Command{Command: "/trace", Text: testReport, ChannelID: testChannel, UserID: testUser,
		TriggerID: "trig-x", ResponseURL: h.fake.NewResponseURL()}.Form()
	ev := slackfake.JSON(slackfake.EventCallback("T1", "Ev0X", slackfake.AppMention(testChannel, testUser, testReport, "1.1", "")))
	click := slackfake.InteractionForm(slackfake.Click{User: testUser, Message: slackfake.Message{Channel: testChannel, TS: "1.1"},
		Button: slackfake.Button{ActionID: "tracebot:reprocess:0", Value: bot.ActionValue{Action: bot.ActReprocess, SessionID: testSession}.Encode()}}.Payload())
	endpoints := []struct {
		path, ct string
		body     []byte
	}{{"/slack/commands", slackfake.ContentForm, cmd}, {"/slack/events", slackfake.ContentJSON, ev}, {"/slack/interactivity", slackfake.ContentForm, click}}
	now := time.Now()
	tests := []struct {
		name  string
		build func(path, ct string, body []byte) *http.Request
	}{
		{"unsigned", func(path, ct string, body []byte) *http.Request {
			req := slackfake.NewRequest(h.srv.URL+path, h.secret, now, ct, body)
			req.Header.Del("X-Slack-Signature")
			req.Header.Del("X-Slack-Request-Timestamp")
			return req
		}},
		{"wrong secret", func(path, ct string, body []byte) *http.Request {
			return slackfake.NewRequest(h.srv.URL+path, "not-the-signing-secret", now, ct, body)
		}},
		{"replayed after 6 minutes", func(path, ct string, body []byte) *http.Request {
			return slackfake.NewRequest(h.srv.URL+path, h.secret, now.Add(-6*time.Minute), ct, body)
		}},
		{"from the future", func(path, ct string, body []byte) *http.Request {
			return slackfake.NewRequest(h.srv.URL+path, h.secret, now.Add(10*time.Minute), ct, body)
		}},
		{"body changed after signing", func(path, ct string, body []byte) *http.Request {
			req := slackfake.NewRequest(h.srv.URL+path, h.secret, now, ct, append([]byte(nil), body...))
			tampered := slackfake.NewRequest(h.srv.URL+path, h.secret, now, ct, append(body, '&'))
			tampered.Header = req.Header
			return tampered
		}},
		{"timestamp changed after signing", func(path, ct string, body []byte) *http.Request {
			req := slackfake.NewRequest(h.srv.URL+path, h.secret, now, ct, body)
			req.Header.Set("X-Slack-Request-Timestamp", req.Header.Get("X-Slack-Request-Timestamp")+"1")
			return req
		}},
		{"not hex", func(path, ct string, body []byte) *http.Request {
			req := slackfake.NewRequest(h.srv.URL+path, h.secret, now, ct, body)
			req.Header.Set("X-Slack-Signature", "v0=zz")
			return req
		}},
	}
	for _, tc := range tests {
		for _, ep := range endpoints {
			if status, _ := h.do(tc.build(ep.path, ep.ct, ep.body)); status != http.StatusUnauthorized {
				t.Errorf("%s %s: status %d, want 401", tc.name, ep.path, status)
			}
		}
	}
	h.shutdown()
	if calls := h.fake.Calls(); len(calls) != 1 || calls[0].Method != "auth.test" {
		t.Errorf("refused requests must cause nothing; Slack saw %+v", calls)
	}
	if n := h.lambda.Requests(); n != 0 {
		t.Errorf("refused requests must cause nothing; Lambda saw %d", n)
	}
}

func TestURLVerificationAndLimits(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	challenge := "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
	if out := h.signed("/slack/events", slackfake.ContentJSON, slackfake.JSON(slackfake.URLVerification(challenge)), nil); out != challenge {
		t.Errorf("challenge answer %q", out)
	}
	status, _ := h.send("/slack/events", slackfake.ContentJSON, slackfake.JSON(slackfake.URLVerification(challenge)), "wrong", time.Now(), nil)
	if status != http.StatusUnauthorized {
		t.Errorf("unsigned challenge: status %d", status)
	}
	huge := []byte(`{"type":"event_callback","x":"` + strings.Repeat("a", 2<<20) + `"}`)
	if status, _ := h.send("/slack/events", slackfake.ContentJSON, huge, h.secret, time.Now(), nil); status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MB body: status %d, want 413", status)
	}
	if status, _ := h.send("/slack/interactivity", slackfake.ContentForm, []byte("payload=%7Bnot-json"), h.secret, time.Now(), nil); status != http.StatusBadRequest {
		t.Errorf("bad payload: status %d, want 400", status)
	}
	req := slackfake.NewRequest(h.srv.URL+"/slack/events", h.secret, time.Now(), slackfake.ContentJSON, []byte("{}"))
	req.Method = http.MethodGet
	if status, _ := h.do(req); status != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", status)
	}
}

func TestRetriedEventHandledOnce(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	m := h.fake.AddMessage(testChannel, testUser, "<@"+slackfake.DefaultBotUserID+"> "+testReport, "")
	ev := slackfake.AppMention(testChannel, testUser, m.Text, m.TS, "")
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hdr := http.Header{}
			if i > 0 {
				hdr.Set("X-Slack-Retry-Num", "1")
				hdr.Set("X-Slack-Retry-Reason", "http_timeout")
			}
			h.event("Ev0RETRY", ev, hdr)
		}()
	}
	wg.Wait()
	h.waitResult(testChannel, m.TS, "Call "+testSession+"\n")
	h.shutdown()
	if n := len(h.botReplies(testChannel, m.TS)); n != 2 {
		t.Errorf("want one trace (result + engineers), got %d bot messages", n)
	}
}

// traced runs /trace for the runbook's call and returns the root and the
// result message.
func traced(t *testing.T, h *harness, channel string) (slackfake.Message, slackfake.Message) {
	t.Helper()
	h.command(testUser, channel, testReport)
	root := h.rootMessage(channel)
	result := h.waitResult(channel, root.TS, `"a":"reprocess"`)
	return root, result
}

func TestReprocessExactlyOnce(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	root, result := traced(t, h, testChannel)
	btn := h.clickPayload("U0ALICE", result, actionPrefix+bot.ActReprocess).Button
	if !btn.Confirm || !strings.Contains(btn.ConfirmText, testSession) {
		t.Errorf("the Reprocess button needs a confirm dialog naming the session: %+v", btn)
	}
	var wg sync.WaitGroup
	urls := make([]string, 3)
	for i := range 3 {
		c := h.clickPayload("U0ALICE", result, actionPrefix+bot.ActReprocess)
		urls[i] = c.ResponseURL
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.interact(c.Payload())
		}()
	}
	wg.Wait()
	h.waitResult(testChannel, root.TS, "Reprocess of")
	h.fake.Wait(t, 10*time.Second, "the result redrawn", func() bool {
		for _, m := range h.botReplies(testChannel, root.TS) {
			if m.TS == result.TS {
				return strings.Contains(m.BlockText(), "Reprocess requested by <@U0ALICE>")
			}
		}
		return false
	})
	h.shutdown()

	if inv := h.lambda.Invocations(); len(inv) != 1 || inv[0].InvocationType != "Event" ||
		!strings.Contains(string(inv[0].Payload), testSession) {
		t.Fatalf("want exactly one async invoke for the session, got %+v", inv)
	}
	announcements := 0
	for _, m := range h.botReplies(testChannel, root.TS) {
		if strings.Contains(m.Text, "Reprocess of") {
			announcements++
			if !strings.Contains(m.Text, "<@U0ALICE>") || !strings.Contains(m.Text, h.lambda.Invocations()[0].RequestID) {
				t.Errorf("announcement must name who and the request id: %q", m.Text)
			}
		}
		if m.TS == result.TS && strings.Contains(m.BlockText(), `"a":"reprocess"`) {
			t.Errorf("the Reprocess button must be gone from the result")
		}
	}
	if announcements != 1 {
		t.Errorf("want one announcement, got %d", announcements)
	}
	private := 0
	for _, p := range h.fake.ResponsePosts() {
		if strings.Contains(p.Text, "Reprocess of") && p.ResponseType == "ephemeral" {
			private++
		}
	}
	if private != 2 {
		t.Errorf("the two losing clicks must be told privately, got %d answers", private)
	}
}

func TestReprocessCooldownSaysWhoAndWhen(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	root, result := traced(t, h, testChannel)
	h.click("U0ALICE", result, actionPrefix+bot.ActReprocess)
	h.waitResult(testChannel, root.TS, "Reprocess of")
	h.fake.Wait(t, 10*time.Second, "one invocation", func() bool { return len(h.lambda.Invocations()) == 1 })
	// U0BOB still has the old message with the button.
	ru := h.click("U0BOB", result, actionPrefix+bot.ActReprocess)
	p := h.waitResponse(ru, "already requested by <@U0ALICE>")
	if p.ResponseType != "ephemeral" || !strings.Contains(p.Text, "UTC") {
		t.Errorf("cooldown answer: %+v", p)
	}
	h.shutdown()
	if n := len(h.lambda.Invocations()); n != 1 {
		t.Errorf("cooldown: %d invocations", n)
	}
}

func TestReprocessAuthorization(t *testing.T) {
	h := newHarness(t, harnessOpts{bot: func(c *bot.Config) { c.ReprocessAllowed = []string{"U0ROOT", "S0ADMINS"} }})
	h.fake.SetUserGroup("S0ADMINS", "U0ALICE")
	_, result := traced(t, h, testChannel)
	ru := h.click("U0MALLORY", result, actionPrefix+bot.ActReprocess)
	h.waitResponse(ru, "not allowed to reprocess")
	if n := h.lambda.Requests(); n != 0 {
		t.Fatalf("a refused click reached Lambda %d times", n)
	}
	h.click("U0ALICE", result, actionPrefix+bot.ActReprocess) // allowed through the user group
	h.fake.Wait(t, 10*time.Second, "one invocation", func() bool { return len(h.lambda.Invocations()) == 1 })
	h.shutdown()
	if n := len(h.fake.CallsTo("usergroups.users.list")); n < 1 {
		t.Errorf("the group must be resolved through usergroups.users.list")
	}
}

func TestEscalate(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	root, result := traced(t, h, testChannel)
	h.click("U0BOB", result, actionPrefix+bot.ActEscalate)
	m := h.waitResult(testChannel, root.TS, "<!subteam^S0ONCALL>")
	if !strings.Contains(m.Text, "<@U0BOB>") {
		t.Errorf("escalation must name who escalated: %q", m.Text)
	}
}

func TestNotInChannelAnswersThroughResponseURL(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.FailChannel("G0PRIVATE", "not_in_channel")
	ru := h.command(testUser, "G0PRIVATE", testReport)
	p := h.waitResponse(ru, "/invite @tracebot")
	if p.ResponseType != "ephemeral" {
		t.Errorf("fallback must be ephemeral: %+v", p)
	}
	h.shutdown()
	if msgs := h.fake.Messages("G0PRIVATE"); len(msgs) != 0 {
		t.Errorf("nothing can be in the channel: %+v", msgs)
	}
	if got := bottest.Counter(t, h.metrics, "tracebot_chat_api_errors_total", "method", "chat.postMessage"); got != 1 {
		t.Errorf("chat API errors = %v, want 1", got)
	}
}

func TestRateLimitedFlowLosesNothing(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.RateLimit("chat.postMessage", 3, 2)
	h.fake.RateLimit("chat.update", 2, 1)
	root, _ := traced(t, h, testChannel)
	h.waitResult(testChannel, root.TS, "For engineers")
	h.shutdown()
	if diff := cmp.Diff([]time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, time.Second, time.Second}, h.sleeps.get()); diff != "" {
		t.Errorf("rate-limit waits (-want +got):\n%s", diff)
	}
	var rateLimited int
	for _, c := range h.fake.Calls() {
		if c.Status == http.StatusTooManyRequests {
			rateLimited++
		}
	}
	if rateLimited != 5 {
		t.Errorf("want 5 rate-limited calls, got %d", rateLimited)
	}
	if n := len(h.botReplies(testChannel, root.TS)); n != 2 {
		t.Errorf("want result and engineers despite 429s, got %d", n)
	}
}

// TestSlackAckIsImmediate: the edge answers Slack before the trace runs, even
// when Slack's Web API is slow.
func TestAckIsImmediate(t *testing.T) {
	h := newHarness(t, harnessOpts{sandboxMS: 50})
	h.fake.SetLatency(400 * time.Millisecond) // every Web API call, auth.test done
	var worst time.Duration
	for range 3 {
		start := time.Now()
		h.command(testUser, testChannel, testReport)
		worst = max(worst, time.Since(start))
	}
	h.fake.SetLatency(0)
	if worst > 300*time.Millisecond {
		t.Errorf("slowest ack %s; posting and tracing must not hold up the answer", worst)
	}
}

func TestRefreshRedrawsInPlace(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	root, result := traced(t, h, testChannel)
	h.waitResult(testChannel, root.TS, "For engineers")
	result = h.waitResult(testChannel, root.TS, `"a":"refresh"`)
	before := len(h.botReplies(testChannel, root.TS))
	h.click(testUser, result, actionPrefix+bot.ActRefresh)
	h.fake.Wait(t, 10*time.Second, "the result updated again", func() bool {
		for _, m := range h.botReplies(testChannel, root.TS) {
			if m.TS == result.TS && m.Edits > result.Edits+1 && strings.Contains(m.BlockText(), "Call "+testSession+"\n") {
				return true
			}
		}
		return false
	})
	h.shutdown()
	if after := len(h.botReplies(testChannel, root.TS)); after != before {
		t.Errorf("refresh must redraw in place: %d messages before, %d after", before, after)
	}
}

// The result shows the verdict under the call; Model output answers the clicker
// alone through the click's response_url (an ephemeral message that leaves the
// result alone), with each stage's answer and input excerpt, and the channel
// never sees the input.
func TestModelOutputIsEphemeral(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	root, result := traced(t, h, testChannel)
	if !strings.Contains(result.BlockText(), "🔎 *Model error* — the stored analysis is what the model answered (triage: call_state=voicemail") {
		t.Errorf("the result has no verdict line:\n%s", result.BlockText())
	}
	ru := h.click("U0BOB", result, actionPrefix+bot.ActModelOutput)
	p := h.waitResponse(ru, "Model output · call "+testSession)
	if p.ResponseType != "ephemeral" || p.ReplaceOriginal {
		t.Errorf("answer posted as %q (replace_original %v), want a new ephemeral message", p.ResponseType, p.ReplaceOriginal)
	}
	for _, want := range []string{"*triage* · `gen-1779299695-aBcDeFg` — answer (parsed JSON)", `"call_state": "voicemail"`,
		"user: Agent: Hi, you've reached Bright Smile Dental"} {
		if !strings.Contains(p.BlockText(), want) {
			t.Errorf("answer lacks %q:\n%s", want, p.BlockText())
		}
	}
	if strings.Contains(p.Text, "Bright Smile") {
		t.Errorf("the notification text holds the transcript: %q", p.Text)
	}
	h.shutdown()
	for _, c := range h.fake.Calls() {
		if c.Method != "response_url" && strings.Contains(c.Payload(), "Bright Smile") {
			t.Errorf("%s carried the transcript:\n%.500s", c.Method, c.Payload())
		}
	}
	if n := len(h.botReplies(testChannel, root.TS)); n != 2 { // the result (progress updated), the engineers' block
		t.Errorf("%d bot messages in the thread, want the result and the engineers' block", n)
	}
}
