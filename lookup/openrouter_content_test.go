package lookup_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

const contentID = "gen-1779299695-aBcDeFg"

func addTriageContent(srv *lookuptest.OpenRouterServer, id, completion string) {
	srv.AddContent(id, lookuptest.OpenRouterContent{
		Input:  lookuptest.ChatInput("You classify calls. Answer JSON.", "Agent: Hello? Caller: Hi, I wanted to book a cleaning."),
		Output: lookuptest.OpenRouterContentOutput{Completion: &completion},
	})
}

func TestFetchContentStored(t *testing.T) {
	t.Parallel()
	srv := lookuptest.NewOpenRouterServer(t)
	addTriageContent(srv, contentID, `{"call_state":"human_conversation"}`)
	or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), nil)
	c, err := or.FetchContent(context.Background(), contentID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Stored || c.Completion() != `{"call_state":"human_conversation"}` {
		t.Fatalf("content %v: completion %q", c, c.Completion())
	}
	want := "system: You classify calls. Answer JSON.\nuser: Agent: Hello? Caller: Hi, I wanted to book a cleaning."
	if got := c.InputExcerpt(500); got != want {
		t.Errorf("excerpt %q, want %q", got, want)
	}
	// Cached: a second fetch sends nothing.
	if _, err := or.FetchContent(context.Background(), contentID); err != nil || srv.ContentRequests(contentID) != 1 {
		t.Errorf("second fetch: %v, %d requests", err, srv.ContentRequests(contentID))
	}
}

// TestFetchContentNotStored: a 404 or a null completion is "not stored", not an
// error; an old generation's 404 is not retried, a fresh one's is.
func TestFetchContentNotStored(t *testing.T) {
	t.Parallel()
	fresh := fmt.Sprintf("gen-%d-FrEsH1", time.Now().Unix())
	tests := []struct {
		name         string
		id           string
		setup        func(*lookuptest.OpenRouterServer, string)
		wantStored   bool
		wantHow      string
		wantRequests int
	}{
		{name: "404 on an old generation", id: contentID, wantHow: "HTTP 404", wantRequests: 1},
		{name: "null completion", id: contentID, setup: func(s *lookuptest.OpenRouterServer, id string) {
			s.AddContent(id, lookuptest.OpenRouterContent{Input: map[string]any{"prompt": "x"}})
		}, wantHow: "no completion", wantRequests: 1},
		{name: "null data", id: contentID, setup: func(s *lookuptest.OpenRouterServer, id string) { s.AddContentJSON(id, []byte(`null`)) },
			wantHow: "no completion", wantRequests: 1},
		{name: "fresh 404 is retried until it appears", id: fresh, setup: func(s *lookuptest.OpenRouterServer, id string) {
			addTriageContent(s, id, `{}`)
			s.NotFoundTimes(id, 2)
		}, wantStored: true, wantRequests: 3},
		{name: "fresh 404 that never appears", id: fresh, wantHow: "HTTP 404", wantRequests: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := lookuptest.NewOpenRouterServer(t)
			if tt.setup != nil {
				tt.setup(srv, tt.id)
			}
			or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey),
				func(c *lookup.OpenRouterConfig) { c.NotFoundFor = 200 * time.Millisecond })
			c, err := or.FetchContent(context.Background(), tt.id)
			if err != nil {
				t.Fatalf("FetchContent: %v", err)
			}
			if c.Stored != tt.wantStored || c.NotStored != tt.wantHow {
				t.Errorf("stored %v (%q), want %v (%q)", c.Stored, c.NotStored, tt.wantStored, tt.wantHow)
			}
			n := srv.ContentRequests(tt.id)
			if tt.wantRequests >= 0 && n != tt.wantRequests || tt.wantRequests < 0 && n < 2 {
				t.Errorf("%d requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

// TestFetchContentFailures: 429/5xx back off, a refused key is re-read once, and
// the errors carry neither the key nor the content.
func TestFetchContentFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		setup         func(*lookuptest.OpenRouterServer)
		keys          []string
		wantErr       string
		wantRetryable bool
		wantRequests  int
	}{
		{name: "429 then ok", setup: func(s *lookuptest.OpenRouterServer) { s.Fail(http.StatusTooManyRequests, 2) }, wantRequests: 3},
		{name: "5xx storm", setup: func(s *lookuptest.OpenRouterServer) { s.Fail(http.StatusBadGateway, 100) },
			wantErr: "openrouter " + contentID + ": content: gave up after 4 attempts: HTTP 502: Bad Gateway", wantRetryable: true, wantRequests: 4},
		{name: "rotated key", keys: []string{"sk-or-v1-old", lookuptest.OpenRouterDefaultKey}, wantRequests: 2},
		{name: "refused twice", keys: []string{"sk-or-v1-old", "sk-or-v1-stale"},
			wantErr: "unauthorized (HTTP 401: User not found.; check /callytics/openrouter-api-key)", wantRequests: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := lookuptest.NewOpenRouterServer(t)
			addTriageContent(srv, contentID, `{"call_state":"voicemail"}`)
			if tt.setup != nil {
				tt.setup(srv)
			}
			keys := tt.keys
			if keys == nil {
				keys = []string{lookuptest.OpenRouterDefaultKey}
			}
			var logs bytes.Buffer
			or := newTestOpenRouter(srv.URL(), newTestKeys(keys...), func(c *lookup.OpenRouterConfig) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			c, err := or.FetchContent(context.Background(), contentID)
			switch {
			case tt.wantErr == "" && (err != nil || !c.Stored):
				t.Fatalf("FetchContent: %v %v", c, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if lookup.IsRetryable(err) != tt.wantRetryable {
				t.Errorf("retryable %v, want %v", lookup.IsRetryable(err), tt.wantRetryable)
			}
			if n := srv.ContentRequests(contentID); n != tt.wantRequests {
				t.Errorf("%d requests, want %d", n, tt.wantRequests)
			}
			for _, leak := range append(keys, "book a cleaning", "call_state") {
				if err != nil && strings.Contains(err.Error(), leak) || strings.Contains(logs.String(), leak) {
					t.Errorf("%q leaked into the error or logs: %v\n%s", leak, err, logs.String())
				}
			}
		})
	}
}

func TestFetchContentBadBody(t *testing.T) {
	t.Parallel()
	srv := lookuptest.NewOpenRouterServer(t)
	srv.AddContentJSON(contentID, []byte(`{"input":{"prompt":"secret transcript"},"output":{"completion":42}}`))
	or := newTestOpenRouter(srv.URL(), newTestKeys(lookuptest.OpenRouterDefaultKey), nil)
	_, err := or.FetchContent(context.Background(), contentID)
	if err == nil || !strings.HasPrefix(err.Error(), "openrouter "+contentID+": content: decode response") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %v", err)
	}
	if _, err := or.FetchContent(context.Background(), "gen-1 OR 1=1"); lookup.ErrorCode(err) != lookup.CodeInvalid {
		t.Errorf("bad id: %v", err)
	}
}

// TestContentPrintsNoText: however a Content is printed or logged, its text stays out.
func TestContentPrintsNoText(t *testing.T) {
	c := lookup.NewContent(contentID, `{"call_state":"CANARY-answer"}`, []byte(`{"prompt":"CANARY-transcript"}`))
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "content", c, "ptr", &c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v %v", c, c, &c), logs.String()} {
		if strings.Contains(out, "CANARY") {
			t.Errorf("content text printed: %s", out)
		}
	}
	if !strings.Contains(c.InputExcerpt(100), "CANARY-transcript") {
		t.Error("InputExcerpt lost the input")
	}
}

func TestInputExcerptIsBounded(t *testing.T) {
	long := strings.Repeat("system prompt words ", 500)
	c := lookup.NewContent(contentID, "{}", []byte(fmt.Sprintf(
		`{"messages":[{"role":"system","content":%q},{"role":"user","content":[{"type":"text","text":"Caller: my order never came"}]}]}`, long)))
	got := c.InputExcerpt(300)
	if n := len([]rune(got)); n > 301 {
		t.Errorf("excerpt has %d runes", n)
	}
	if !strings.Contains(got, "user: Caller: my order never came") {
		t.Errorf("the user message was crowded out:\n%s", got)
	}
}
