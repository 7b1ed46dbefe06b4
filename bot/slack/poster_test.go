package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/bot/internal/bottest"
	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/secrets"

	"github.com/callytics/tracebot/bot"
)

func notice(s string) bot.Reply {
	return bot.Reply{Text: s, Blocks: []bot.Block{{Kind: bot.BlockText, Text: s}}}
}

func TestPostUpdateThread(t *testing.T) {
	s := newStubEdge(t, nil)
	ctx := context.Background()
	root, err := s.edge.Post(ctx, bot.Ref{Channel: "C1"}, notice("Tracing **+19142654371** — requested by <@U1>"), "")
	if err != nil {
		t.Fatal(err)
	}
	if root.Channel != "C1" || root.Thread != "" || root.ID == "" {
		t.Fatalf("root ref %+v", root)
	}
	reply, err := s.edge.Post(ctx, root.ThreadRef(), notice("… finding the call"), "")
	if err != nil {
		t.Fatal(err)
	}
	if reply.Thread != root.ID {
		t.Fatalf("reply ref %+v, want thread %s", reply, root.ID)
	}
	if err := s.edge.Update(ctx, reply, notice("✓ call `s-1`")); err != nil {
		t.Fatal(err)
	}
	msgs := s.fake.Messages("C1")
	if len(msgs) != 2 {
		t.Fatalf("want 2 messages, got %+v", msgs)
	}
	// The notification text is the reply's Text rendered as a banner shows it:
	// mentions and links stay, bold and code lose their markers.
	if got, want := msgs[0].Text, "Tracing +19142654371 — requested by <@U1>"; got != want {
		t.Errorf("root text %q, want %q", got, want)
	}
	if msgs[1].ThreadTS != root.ID || msgs[1].Edits != 1 || !strings.Contains(msgs[1].BlockText(), "✓ call `s-1`") {
		t.Errorf("thread reply after update: %+v", msgs[1])
	}
	post := s.fake.CallsTo("chat.postMessage")[0]
	if post.Params["unfurl_links"] != "false" || post.Params["unfurl_media"] != "false" {
		t.Errorf("links must not unfurl: %v", post.Params)
	}
}

func TestLongReplyContinuesInThread(t *testing.T) {
	s := newStubEdge(t, nil)
	var r bot.Reply
	for i := range 130 {
		r.Blocks = append(r.Blocks, bot.Block{Kind: bot.BlockText, Text: fmt.Sprintf("line %d", i)})
	}
	ctx := context.Background()
	root, err := s.edge.Post(ctx, bot.Ref{Channel: "C1"}, r, "")
	if err != nil {
		t.Fatal(err)
	}
	replies := s.fake.Replies("C1", root.ID)
	if len(replies) != 2 {
		t.Fatalf("want the overflow in 2 follow-ups in the root's thread, got %d", len(replies))
	}
	for _, want := range []string{"line 49", "line 50", "line 99", "line 100", "line 129"} {
		n := 0
		for _, m := range s.fake.Messages("C1") {
			n += strings.Count(string(m.Blocks), `"`+want+`"`)
		}
		if n != 1 {
			t.Errorf("%q appears %d times", want, n)
		}
	}
	// An update that overflows continues in the updated message's thread.
	inThread := bot.Ref{Channel: "C1", Thread: root.ID, ID: replies[0].TS}
	if err := s.edge.Update(ctx, inThread, r); err != nil {
		t.Fatal(err)
	}
	if got := len(s.fake.Replies("C1", root.ID)); got != 4 {
		t.Errorf("after the update want 4 replies in the thread, got %d", got)
	}
	if bad := failedCalls(s.fake.Calls()); len(bad) > 0 {
		t.Errorf("Slack refused calls: %+v", bad)
	}
}

func failedCalls(calls []slackfake.Call) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range calls {
		if c.Error != "" {
			out = append(out, c)
		}
	}
	return out
}

func TestCannotPostWrapsErrCannotPost(t *testing.T) {
	tests := []struct {
		code   string
		cannot bool
	}{
		{"not_in_channel", true},
		{"channel_not_found", true},
		{"is_archived", true},
		{"msg_blocks_too_long", false},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			s := newStubEdge(t, nil)
			s.fake.FailChannel("C0PRIVATE", tc.code)
			_, err := s.edge.Post(context.Background(), bot.Ref{Channel: "C0PRIVATE"}, notice("hi"), "")
			if err == nil {
				t.Fatal("want an error")
			}
			if errors.Is(err, bot.ErrCannotPost) != tc.cannot {
				t.Errorf("errors.Is(%v, ErrCannotPost) = %v, want %v", err, !tc.cannot, tc.cannot)
			}
			if !strings.Contains(err.Error(), "slack chat.postMessage C0PRIVATE") || !strings.Contains(err.Error(), tc.code) {
				t.Errorf("error should name the method, channel and code: %v", err)
			}
			uerr := s.edge.Update(context.Background(), bot.Ref{Channel: "C0PRIVATE", ID: "1.1"}, notice("x"))
			if errors.Is(uerr, bot.ErrCannotPost) != tc.cannot {
				t.Errorf("update: %v", uerr)
			}
		})
	}
}

func TestPrivate(t *testing.T) {
	s := newStubEdge(t, nil)
	ctx := context.Background()
	ru := s.fake.NewResponseURL()

	// response_url first: ephemeral, leaving the original message alone.
	if err := s.edge.Private(ctx, bot.Message{Channel: "C1", User: "U1", ResponseURL: ru}, notice("only you")); err != nil {
		t.Fatal(err)
	}
	posts := s.fake.ResponsePosts()
	if len(posts) != 1 || posts[0].ResponseType != "ephemeral" || posts[0].ReplaceOriginal || posts[0].Text != "only you" {
		t.Fatalf("response posts: %+v", posts)
	}
	if c := s.fake.CallsTo("response_url")[0]; c.Token != "" {
		t.Errorf("the bot token must not go to a response_url")
	}

	// An expired response_url falls back to an ephemeral message in the thread.
	expired := strings.Replace(ru, "/response/", "/response/9", 1)
	if err := s.edge.Private(ctx, bot.Message{Channel: "C1", User: "U1", Thread: "1.5", ResponseURL: expired}, notice("fallback")); err != nil {
		t.Fatal(err)
	}
	// No response_url: ephemeral.
	if err := s.edge.Private(ctx, bot.Message{Channel: "D1", User: "U2"}, notice("dm")); err != nil {
		t.Fatal(err)
	}
	type eph struct{ Channel, User, Thread, Text string }
	var got []eph
	for _, ch := range []string{"C1", "D1"} {
		for _, m := range s.fake.Messages(ch) {
			if m.Ephemeral {
				got = append(got, eph{m.Channel, m.User, m.ThreadTS, m.Text})
			}
		}
	}
	want := []eph{{"C1", "U1", "1.5", "fallback"}, {"D1", "U2", "", "dm"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ephemeral messages (-want +got):\n%s", diff)
	}
	// Nowhere to answer.
	if err := s.edge.Private(ctx, bot.Message{}, notice("x")); err == nil {
		t.Error("want an error with no response_url, channel or user")
	}
}

func TestPrivateErrorHidesResponseURL(t *testing.T) {
	s := newStubEdge(t, nil)
	bad := "http://127.0.0.1:1/response/secret-capability-path"
	err := s.edge.Private(context.Background(), bot.Message{ResponseURL: bad}, notice("x"))
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "secret-capability-path") {
		t.Errorf("error quotes the response_url: %v", err)
	}
}

func TestRateLimitIsWaitedOut(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics := bot.NewMetrics(reg)
	s := newStubEdge(t, func(c *Config) { c.Metrics = metrics; c.RateRetries = 3 })
	sl := &sleeps{}
	s.edge.sleep = sl.sleep
	s.fake.RateLimit("chat.postMessage", 2, 7)
	ref, err := s.edge.Post(context.Background(), bot.Ref{Channel: "C1"}, notice("hi"), "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{7 * time.Second, 7 * time.Second}, sl.get()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if msgs := s.fake.Messages("C1"); len(msgs) != 1 || msgs[0].TS != ref.ID {
		t.Errorf("want the message posted once, got %+v", msgs)
	}
	if got := bottest.Counter(t, reg, "tracebot_chat_api_errors_total", "method", "chat.postMessage"); got != 2 {
		t.Errorf("chat API errors = %v, want 2", got)
	}

	// More 429s than retries: the error says so, and nothing was posted twice.
	s.fake.RateLimit("chat.update", 10, 1)
	err = s.edge.Update(context.Background(), ref, notice("x"))
	var rl interface{ Retryable() bool }
	if err == nil || !errors.As(err, &rl) {
		t.Fatalf("want the rate-limit error after the retries, got %v", err)
	}
	if n := len(s.fake.CallsTo("chat.update")); n != 4 {
		t.Errorf("want 1 try + 3 retries, got %d calls", n)
	}
}

func TestRateLimitWaitStopsWithContext(t *testing.T) {
	s := newStubEdge(t, nil)
	s.fake.RateLimit("chat.postMessage", 1, 30)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.edge.Post(ctx, bot.Ref{Channel: "C1"}, notice("hi"), "")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("want the wait to end with the context, got %v after %s", err, time.Since(start))
	}
}

func TestTokenRotation(t *testing.T) {
	var mu sync.Mutex
	token := "xoxb-old-revoked-token"
	var failures []string
	s := newStubEdge(t, func(c *Config) {
		c.BotToken = func(context.Context) (secrets.Secret, error) {
			mu.Lock()
			defer mu.Unlock()
			return secrets.New(token), nil
		}
		c.OnAuthFailure = func(which string) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, which)
			token = slackfake.DefaultBotToken // the store fetched the rotated value
		}
	})
	_, err := s.edge.Post(context.Background(), bot.Ref{Channel: "C1"}, notice("hi"), "")
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("want invalid_auth, got %v", err)
	}
	if strings.Contains(err.Error(), "xoxb-old") {
		t.Errorf("error quotes the token: %v", err)
	}
	if _, err := s.edge.Post(context.Background(), bot.Ref{Channel: "C1"}, notice("hi"), ""); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if diff := cmp.Diff([]string{BotTokenName}, failures); diff != "" {
		t.Errorf("auth failures (-want +got):\n%s", diff)
	}
}

func TestInGroup(t *testing.T) {
	s := newStubEdge(t, nil)
	s.fake.SetUserGroup("S0ADMINS", "U0ALICE", "U0BOB")
	ctx := context.Background()
	tests := []struct {
		group, user string
		want        bool
	}{
		{"S0ADMINS", "U0ALICE", true},
		{"<!subteam^S0ADMINS>", "U0BOB", true},
		{"<!subteam^S0ADMINS|admins>", "U0BOB", true},
		{"S0ADMINS", "U0MALLORY", false},
		{"U0ALICE", "U0ALICE", false}, // a user id is nobody's group
	}
	for _, tc := range tests {
		got, err := s.edge.InGroup(ctx, tc.group, tc.user)
		if err != nil || got != tc.want {
			t.Errorf("InGroup(%q, %q) = %v, %v; want %v", tc.group, tc.user, got, err, tc.want)
		}
	}
	if n := len(s.fake.CallsTo("usergroups.users.list")); n != 1 {
		t.Errorf("members must be cached: %d usergroups.users.list calls", n)
	}
	if _, err := s.edge.InGroup(ctx, "S0NOPE", "U0ALICE"); err == nil || !strings.Contains(err.Error(), "no_such_subteam") {
		t.Errorf("unknown group: %v", err)
	}
}

func TestOpenFailsOnBadToken(t *testing.T) {
	s := newStubEdge(t, func(c *Config) { c.BotToken = bot.StaticSecret(secrets.New("xoxb-wrong-token")) })
	if err := s.edge.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "slack auth.test: invalid_auth") {
		t.Errorf("Open = %v", err)
	}
	s2 := newStubEdge(t, func(c *Config) { c.BotToken = nil })
	if err := s2.edge.Open(context.Background()); err == nil {
		t.Error("Open without a token must fail")
	}
}

// TestPostedBlocksAreValid posts every Reply fixture through the poster: the fake
// refuses anything Slack would.
func TestPostedBlocksAreValid(t *testing.T) {
	s := newStubEdge(t, nil)
	for name, r := range fixtures(t, "en") {
		if _, err := s.edge.Post(context.Background(), bot.Ref{Channel: "C1"}, r, ""); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, m := range s.fake.Messages("C1") {
		var blocks []json.RawMessage
		if err := json.Unmarshal(m.Blocks, &blocks); err != nil || len(blocks) == 0 {
			t.Errorf("message %s has no blocks: %v", m.TS, err)
		}
	}
}

// TestCheckChannel: conversations.info says whether the bot is a member.
func TestCheckChannel(t *testing.T) {
	s := newStubEdge(t, nil)
	s.fake.FailChannel("COUTSIDE", "not_in_channel")
	s.fake.FailChannel("GPRIVATE1", "not_in_channel")
	s.fake.FailChannel("CGONE", "channel_not_found")
	s.fake.FailChannel("COLD", "is_archived")
	for _, tt := range []struct {
		channel    string
		cannotPost bool
		found      string
	}{{"C0ALERTS", false, "the bot is a member"}, {"COUTSIDE", false, "chat:write.public"}, {"GPRIVATE1", true, ""},
		{"CGONE", true, ""}, {"COLD", true, ""}} {
		found, err := s.edge.CheckChannel(context.Background(), tt.channel)
		if (err != nil) != tt.cannotPost || (err != nil && !errors.Is(err, bot.ErrCannotPost)) || !strings.Contains(found, tt.found) {
			t.Errorf("CheckChannel(%s) = %q, %v; want cannot post %v", tt.channel, found, err, tt.cannotPost)
		}
	}
	if n := len(s.fake.CallsTo("conversations.info")); n != 5 {
		t.Errorf("%d conversations.info calls, want 5", n)
	}
}
