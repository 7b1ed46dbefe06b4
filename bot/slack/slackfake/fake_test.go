package slackfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
)

func TestSignatureIsSlacks(t *testing.T) {
	body := []byte("token=x&text=hello")
	req := NewRequest("http://127.0.0.1/slack/commands", "s3cret", time.Now(), ContentForm, body)
	sv, err := slack.NewSecretsVerifier(req.Header, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = sv.Write(body)
	if err := sv.Ensure(); err != nil {
		t.Errorf("slack-go refuses the fake's signature: %v", err)
	}
	// The example from Slack's documentation.
	got := Signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618",
		[]byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"))
	if want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"; got != want {
		t.Errorf("Signature = %s, want %s", got, want)
	}
}

func TestValidateBlocks(t *testing.T) {
	section := func(text string) map[string]any {
		return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}
	}
	button := func(id, label string) map[string]any {
		return map[string]any{"type": "button", "action_id": id, "text": map[string]any{"type": "plain_text", "text": label}}
	}
	many := func(n int, f func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name    string
		blocks  []any
		wantErr string
	}{
		{"ok", []any{section("hi"), map[string]any{"type": "divider"},
			map[string]any{"type": "actions", "elements": []any{button("a", "A"), button("b", "B")}}}, ""},
		{"51 blocks", many(51, func(int) any { return section("x") }), "no more than 50 items"},
		{"long section", []any{section(strings.Repeat("é", 3001))}, "section text must be less than 3001"},
		{"empty section", []any{section("")}, "must not be empty"},
		{"header too long", []any{map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": strings.Repeat("h", 151)}}}, "header text"},
		{"mrkdwn header", []any{map[string]any{"type": "header", "text": map[string]any{"type": "mrkdwn", "text": "h"}}}, "must be plain_text"},
		{"11 fields", []any{map[string]any{"type": "section", "fields": many(11, func(int) any { return map[string]any{"type": "mrkdwn", "text": "f"} })}}, "11 fields"},
		{"26 buttons", []any{map[string]any{"type": "actions", "elements": many(26, func(i int) any { return button(string(rune('a'+i)), "x") })}}, "26 elements"},
		{"duplicate action id", []any{map[string]any{"type": "actions", "elements": []any{button("a", "A")}},
			map[string]any{"type": "actions", "elements": []any{button("a", "B")}}}, "duplicate action_id"},
		{"button label too long", []any{map[string]any{"type": "actions", "elements": []any{button("a", strings.Repeat("x", 76))}}}, "button text"},
		{"confirm text too long", []any{map[string]any{"type": "actions", "elements": []any{map[string]any{
			"type": "button", "action_id": "a", "text": map[string]any{"type": "plain_text", "text": "A"},
			"confirm": map[string]any{"title": map[string]any{"type": "plain_text", "text": "t"},
				"text":    map[string]any{"type": "plain_text", "text": strings.Repeat("x", 301)},
				"confirm": map[string]any{"type": "plain_text", "text": "ok"}, "deny": map[string]any{"type": "plain_text", "text": "no"}}}}}}, "confirm text"},
		{"emoji on mrkdwn", []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "x", "emoji": true}}}, "emoji"},
		{"unknown block", []any{map[string]any{"type": "table"}}, "unsupported block type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateBlocks(JSON(tc.blocks))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestServerThroughSlackGo(t *testing.T) {
	s := New(t, Config{})
	api := slack.New(DefaultBotToken, slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.UserID != DefaultBotUserID || auth.BotID != DefaultBotID {
		t.Fatalf("auth.test = %+v, %v", auth, err)
	}
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("reply", false), slack.MsgOptionTS(ts),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*hi*", false, false), nil, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", reply, slack.MsgOptionText("edited", false)); err != nil {
		t.Fatal(err)
	}
	replies := s.Replies("C1", ts)
	if len(replies) != 1 || replies[0].Text != "edited" || replies[0].Edits != 1 || !strings.Contains(replies[0].BlockText(), "*hi*") {
		t.Errorf("thread: %+v", replies)
	}
	user := s.AddMessage("C1", "U1", "a person", "")
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", user.TS, slack.MsgOptionText("x", false)); err == nil || err.Error() != "cant_update_message" {
		t.Errorf("updating a person's message: %v", err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", "9.9", slack.MsgOptionText("x", false)); err == nil || err.Error() != "message_not_found" {
		t.Errorf("updating a missing message: %v", err)
	}
	huge := make([]slack.Block, 51)
	for i := range huge {
		huge[i] = slack.NewDividerBlock()
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(huge...)); err == nil || err.Error() != "invalid_blocks" {
		t.Errorf("51 blocks: %v", err)
	}
	s.FailChannel("C2", "not_in_channel")
	if _, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("x", false)); err == nil || err.Error() != "not_in_channel" {
		t.Errorf("not_in_channel: %v", err)
	}
	s.RateLimit("chat.postMessage", 1, 4)
	var rl *slack.RateLimitedError
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); !errors.As(err, &rl) || rl.RetryAfter != 4*time.Second {
		t.Errorf("rate limit: %v", err)
	}
	if _, err := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL())).AuthTestContext(ctx); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("wrong token: %v", err)
	}
	calls := s.Calls()
	if calls[0].Token != DefaultBotToken || strings.Contains(calls[1].Payload(), DefaultBotToken) {
		t.Errorf("the token must be recorded apart from the payload: %+v", calls[1])
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal([]byte(s.CallsTo("chat.postMessage")[1].Params["blocks"]), &blocks); err != nil || len(blocks) != 1 {
		t.Errorf("recorded blocks: %v", err)
	}
}

// slack-go's external upload flow runs against the fake: the three steps, the
// file shared in the thread, and Slack's refusals.
func TestFileUploadThroughSlackGo(t *testing.T) {
	s := New(t, Config{})
	api := slack.New(DefaultBotToken, slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	content := []byte("\x89PNG\r\n\x1a\nnot really a picture")
	sum, err := api.UploadFileContext(ctx, slack.UploadFileParameters{Channel: "C1", ThreadTimestamp: "1.1", Filename: "chart.png",
		FileSize: len(content), Reader: bytes.NewReader(content), Title: "Cache hit rate", AltTxt: "a line chart"})
	if err != nil {
		t.Fatal(err)
	}
	files := s.Files()
	if len(files) != 1 || files[0].ID != sum.ID || files[0].Channel != "C1" || files[0].ThreadTS != "1.1" ||
		files[0].Title != "Cache hit rate" || files[0].AltText != "a line chart" || !bytes.Equal(files[0].Content, content) {
		t.Fatalf("files: %+v (summary %+v)", files, sum)
	}
	if replies := s.Replies("C1", "1.1"); len(replies) != 1 || len(replies[0].Files) != 1 || replies[0].Files[0] != sum.ID {
		t.Errorf("the file must be shared as a message in the thread: %+v", replies)
	}
	var order []string
	for _, c := range s.Calls() {
		order = append(order, c.Method)
	}
	if diff := cmp.Diff([]string{"files.getUploadURLExternal", "upload", "files.completeUploadExternal"}, order); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	s.FailChannel("C2", "not_in_channel")
	if _, err := api.UploadFileContext(ctx, slack.UploadFileParameters{Channel: "C2", Filename: "x.png", FileSize: len(content),
		Reader: bytes.NewReader(content)}); err == nil || !strings.Contains(err.Error(), "not_in_channel") {
		t.Errorf("sharing where the bot is not: %v", err)
	}
	if _, err := api.UploadFileContext(ctx, slack.UploadFileParameters{Channel: "C1", Filename: "x.png", FileSize: len(content) + 1,
		Reader: bytes.NewReader(content)}); err == nil {
		t.Error("a length that does not match the bytes must be refused")
	}
	if n := len(s.Files()); n != 1 {
		t.Errorf("%d files shared after the refusals, want 1", n)
	}
}
