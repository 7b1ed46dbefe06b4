package larkfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
)

// call makes one open API request with the app's tenant token and returns Lark's
// code and data.
func call(t *testing.T, s *Server, method, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, s.URL()+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.TenantToken())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Code int            `json:"code"`
		Data map[string]any `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Code, out.Data
}

const card = `{"config":{"update_multi":true},"elements":[]}`

func TestTokenIsRequired(t *testing.T) {
	s := New(t, Options{AppSecret: "sec"})
	resp, err := http.Post(s.URL()+"/open-apis/im/v1/messages?receive_id_type=chat_id", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Code int }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if out.Code != CodeMissingAccessToken {
		t.Errorf("code without a token = %d, want %d", out.Code, CodeMissingAccessToken)
	}
}

func TestSendRules(t *testing.T) {
	s := New(t, Options{AppSecret: "sec"})
	send := func(chat, uuid, content string) (int, string) {
		code, data := call(t, s, http.MethodPost, "/open-apis/im/v1/messages?receive_id_type=chat_id",
			map[string]any{"receive_id": chat, "msg_type": "interactive", "content": content, "uuid": uuid})
		id, _ := data["message_id"].(string)
		return code, id
	}
	_, first := send("oc_1", "u-1", card)
	if code, again := send("oc_1", "u-1", card); code != CodeOK || again != first {
		t.Errorf("same uuid: %d %s, want the first message %s", code, again, first)
	}
	if len(s.Sent()) != 1 {
		t.Errorf("sent %d, want 1", len(s.Sent()))
	}
	s.RemoveBot("oc_2")
	if code, _ := send("oc_2", "", card); code != CodeBotNotInChat {
		t.Errorf("chat without the bot: code %d", code)
	}
	if code, _ := send("oc_1", "", `{"elements":[`); code != CodeInvalidParam {
		t.Errorf("bad card: code %d", code)
	}
	if code, _ := send("oc_1", "", `{"elements":["`+strings.Repeat("x", CardLimit)+`"]}`); code != CodeContentTooLong {
		t.Errorf("card over 30 KB: code %d", code)
	}
	if code, _ := call(t, s, http.MethodPost, "/open-apis/im/v1/messages/om_unknown/reply", map[string]any{"msg_type": "interactive", "content": card}); code != CodeInvalidParam {
		t.Errorf("reply to an unknown message: code %d", code)
	}
}

func TestPatchRules(t *testing.T) {
	s := New(t, Options{AppSecret: "sec"})
	_, data := call(t, s, http.MethodPost, "/open-apis/im/v1/messages?receive_id_type=chat_id",
		map[string]any{"receive_id": "oc_1", "msg_type": "interactive", "content": card})
	id := data["message_id"].(string)
	patch := func(content string) int {
		code, _ := call(t, s, http.MethodPatch, "/open-apis/im/v1/messages/"+id, map[string]any{"content": content})
		return code
	}
	if code := patch(`{"config":{},"elements":[]}`); code != CodeInvalidParam {
		t.Errorf("patch of a card that is not shared: code %d", code)
	}
	for i := range PatchesPerSecond {
		if code := patch(card); code != CodeOK {
			t.Fatalf("patch %d: code %d", i, code)
		}
	}
	if code := patch(card); code != CodeRateLimited {
		t.Errorf("patch %d within a second: code %d, want %d", PatchesPerSecond+1, code, CodeRateLimited)
	}
	s.AddMessage("oc_1", "om_user")
	if code, _ := call(t, s, http.MethodPatch, "/open-apis/im/v1/messages/om_user", map[string]any{"content": card}); code != CodeNotSender {
		t.Errorf("patch of a user's message: code %d", code)
	}
}

// The fake encrypts and signs as the SDK (and so Lark) expects.
func TestEncryptAndSignMatchTheSDK(t *testing.T) {
	plain := []byte(`{"schema":"2.0","header":{"token":"t"},"event":{"text":"号码"}}`)
	var env struct{ Encrypt string }
	if err := json.Unmarshal(Encrypt("k3y", plain), &env); err != nil {
		t.Fatal(err)
	}
	got, err := larkevent.EventDecrypt(env.Encrypt, "k3y")
	if err != nil || string(got) != string(plain) {
		t.Errorf("EventDecrypt = %q, %v; want %q", got, err, plain)
	}
	if got, want := Sign("1700000000", "n", "k3y", plain), larkevent.Signature("1700000000", "n", "k3y", string(plain)); got != want {
		t.Errorf("Sign = %s, SDK says %s", got, want)
	}
	req := WebhookRequest("http://x/lark/events", plain, "k3y")
	var body bytes.Buffer
	_, _ = body.ReadFrom(req.Body)
	if req.Header.Get("X-Lark-Signature") != Sign(req.Header.Get("X-Lark-Request-Timestamp"), req.Header.Get("X-Lark-Request-Nonce"), "k3y", body.Bytes()) {
		t.Error("WebhookRequest's signature does not cover its body")
	}
}

// An ephemeral card needs a group chat the bot is in, and a card object.
func TestEphemeralRules(t *testing.T) {
	s := New(t, Options{AppSecret: "sec"})
	s.SetP2PChat("ou_alice", "oc_dm_alice")
	s.RemoveBot("oc_gone")
	send := func(chat string, c any) int {
		code, _ := call(t, s, http.MethodPost, "/open-apis/ephemeral/v1/send",
			map[string]any{"chat_id": chat, "open_id": "ou_alice", "msg_type": "interactive", "card": c})
		return code
	}
	tests := []struct {
		name string
		chat string
		card any
		want int
	}{
		{"group", "oc_group", json.RawMessage(card), CodeOK},
		{"direct chat", "oc_dm_alice", json.RawMessage(card), CodeInvalidParam},
		{"default direct chat", "oc_p2p_ou_bob", json.RawMessage(card), CodeInvalidParam},
		{"bot not in the chat", "oc_gone", json.RawMessage(card), CodeBotNotInChat},
		{"card as a string", "oc_group", card, CodeInvalidParam},
		{"no elements", "oc_group", json.RawMessage(`{"config":{}}`), CodeInvalidParam},
	}
	for _, tt := range tests {
		if got := send(tt.chat, tt.card); got != tt.want {
			t.Errorf("%s: code %d, want %d", tt.name, got, tt.want)
		}
	}
	sent := s.Sent()
	if len(sent) != 1 || !sent[0].Ephemeral || sent[0].ChatID != "oc_group" || sent[0].ReceiveID != "ou_alice" {
		t.Errorf("sent %+v, want the one ephemeral card in oc_group for ou_alice", sent)
	}
}
