package lark

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/lark/larkfake"
	"github.com/callytics/tracebot/secrets"

	"github.com/callytics/tracebot/bot"
)

const testEncryptKey = "encrypt-key-for-tests"

// request builds a webhook request with full control over body and headers.
func request(t *testing.T, url string, body []byte, headers map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// signed signs body with key as Lark does.
func signed(body []byte, key string) map[string]string {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return map[string]string{"X-Lark-Request-Timestamp": ts, "X-Lark-Request-Nonce": "n0nce",
		"X-Lark-Signature": larkfake.Sign(ts, "n0nce", key, body)}
}

// With an encrypt key, only bodies encrypted with it, signed with it and carrying
// the verification token are let through; anything else is refused with 4xx and
// has no effect.
func TestWebhookEncrypted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{encryptKey: testEncryptKey})
	url := h.srv.URL + "/lark/events"
	event := h.dm("ou_alice", testReport)
	plain := event.JSON()
	good := encryptFixed(plain)
	wrongToken := event
	wrongToken.Token = "not-the-token"
	wrongTokenBody := encryptFixed(wrongToken.JSON())
	otherKey := larkfake.Encrypt("some-other-key", plain)
	garbage := []byte(`{"encrypt":"bm90IGEgY2lwaGVydGV4dA=="}`)

	refused := []struct {
		name    string
		body    []byte
		headers map[string]string
		status  int
	}{
		{"signed with another key", good, signed(good, "some-other-key"), http.StatusUnauthorized},
		{"signature of another body", good, signed(encryptFixed(plain), testEncryptKey), http.StatusUnauthorized},
		{"no signature", good, nil, http.StatusUnauthorized},
		{"replayed with a changed timestamp", good, func() map[string]string {
			hs := signed(good, testEncryptKey)
			hs["X-Lark-Request-Timestamp"] = "1"
			return hs
		}(), http.StatusUnauthorized},
		{"encrypted with another key", otherKey, signed(otherKey, testEncryptKey), http.StatusBadRequest},
		{"plain body", plain, signed(plain, testEncryptKey), http.StatusBadRequest},
		{"wrong verification token", wrongTokenBody, signed(wrongTokenBody, testEncryptKey), http.StatusUnauthorized},
		{"garbage ciphertext", garbage, signed(garbage, testEncryptKey), http.StatusBadRequest},
		{"not JSON", []byte("hello"), signed([]byte("hello"), testEncryptKey), http.StatusBadRequest},
		{"too big", bytes.Repeat([]byte("x"), DefaultMaxBody+1), nil, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			status, body := h.do(t, request(t, url, tc.body, tc.headers))
			if status != tc.status {
				t.Errorf("status = %d (%s), want %d", status, body, tc.status)
			}
		})
	}
	h.drain(t)
	if sent := h.fake.Sent(); len(sent) != 0 {
		t.Fatalf("refused requests had an effect: %+v", sent)
	}

	status, body := h.do(t, request(t, url, good, signed(good, testEncryptKey)))
	if status != http.StatusOK {
		t.Fatalf("genuine event answered %d %s", status, body)
	}
	h.drain(t)
	if got := len(h.sentTo(event.MessageID)); got == 0 {
		t.Error("genuine event was not traced")
	}
}

// encryptFixed encrypts with the tests' key.
func encryptFixed(plain []byte) []byte { return larkfake.Encrypt(testEncryptKey, plain) }

// Without an encrypt key, plain bodies with the verification token are let through.
func TestWebhookPlain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	url := h.srv.URL + "/lark/events"
	event := h.dm("ou_alice", testReport)
	wrongToken := event
	wrongToken.Token = "guessed"
	noToken := event
	noToken.Token = ""
	tests := []struct {
		name   string
		body   []byte
		status int
	}{
		{"wrong token", wrongToken.JSON(), http.StatusUnauthorized},
		{"no token", noToken.JSON(), http.StatusUnauthorized},
		{"encrypted but no key configured", encryptFixed(event.JSON()), http.StatusBadRequest},
		{"genuine", event.JSON(), http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := h.do(t, request(t, url, tc.body, nil)); status != tc.status {
				t.Errorf("status = %d (%s), want %d", status, body, tc.status)
			}
		})
	}
	h.drain(t)
	if got := len(h.sentTo(event.MessageID)); got != 2 {
		t.Errorf("replies = %d, want one trace from the genuine delivery only", got)
	}
}

// url_verification: the challenge is echoed when the token matches (the body is
// encrypted when a key is set; Lark does not sign it), on both endpoints.
func TestURLVerification(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"", testEncryptKey} {
		h := newHarness(t, harnessOpts{encryptKey: key})
		for _, path := range []string{"/lark/events", "/lark/card"} {
			name := path + " key=" + strconv.FormatBool(key != "")
			status, body := h.do(t, larkfake.WebhookRequest(h.srv.URL+path, larkfake.URLVerification(h.token, "ch-4f2a"), key))
			if status != http.StatusOK || body != `{"challenge":"ch-4f2a"}` {
				t.Errorf("%s: challenge answered %d %q", name, status, body)
			}
			status, _ = h.do(t, larkfake.WebhookRequest(h.srv.URL+path, larkfake.URLVerification("guessed", "ch-4f2a"), key))
			if status != http.StatusUnauthorized {
				t.Errorf("%s: challenge with a wrong token answered %d, want 401", name, status)
			}
		}
	}
}

// A secret that cannot be read refuses requests with 503 (Lark retries later),
// and one that is not configured refuses them too.
func TestWebhookWithoutSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	for name, get := range map[string]bot.SecretFunc{
		"unreadable": func(context.Context) (secrets.Secret, error) { return secrets.Secret{}, errors.New("ssm: throttled") },
		"missing":    nil,
		"empty":      staticSecret(""),
	} {
		h.edge.cfg.VerificationToken = get
		status, _ := h.deliver(t, "/lark/events", h.dm("ou_alice", testReport).JSON())
		if status != http.StatusServiceUnavailable {
			t.Errorf("%s token: status %d, want 503", name, status)
		}
	}
	h.drain(t)
	if len(h.fake.Sent()) != 0 {
		t.Error("a request was handled without a verification token")
	}
	if !strings.Contains(h.logs.String(), "webhook secrets unavailable") {
		t.Error("the missing secret was not logged")
	}
}

// decrypt opens what Lark encrypts and refuses, without panicking, anything
// made with another key or malformed (the SDK's own EventDecrypt can panic there).
func TestDecrypt(t *testing.T) {
	t.Parallel()
	event := []byte(`{"schema":"2.0","header":{"token":"t"},"event":{"text":"号码 914"}}`)
	for range 20 {
		body := larkfake.Encrypt(testEncryptKey, event)
		var env struct{ Encrypt string }
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatal(err)
		}
		got, err := decrypt(env.Encrypt, testEncryptKey)
		if err != nil || string(got) != string(event) {
			t.Fatalf("larkDecrypt = %q, %v; want the event", got, err)
		}
		for range 50 {
			other := larkfake.Encrypt("another-key", event)
			if err := json.Unmarshal(other, &env); err != nil {
				t.Fatal(err)
			}
			if got, err := decrypt(env.Encrypt, testEncryptKey); err == nil {
				t.Fatalf("a body encrypted with another key opened: %q", got)
			}
		}
	}
	for name, in := range map[string]string{
		"not base64":  "%%%",
		"empty":       "",
		"one block":   base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"partial":     base64.StdEncoding.EncodeToString(make([]byte, 40)),
		"zero blocks": base64.StdEncoding.EncodeToString(make([]byte, 64)),
	} {
		if _, err := decrypt(in, testEncryptKey); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}

// verify refuses each forgery for its own reason.
func TestVerify(t *testing.T) {
	t.Parallel()
	const token, key = "tok", testEncryptKey
	event := larkfake.MessageEvent{EventID: "ev-1", Token: token, ChatID: "oc_1", ChatType: "p2p", MessageID: "om_1",
		SenderOpenID: "ou_a", Text: "914-265-4371", CreateTime: time.Unix(1779300000, 0)}
	plain := event.JSON()
	good := encryptFixed(plain)
	badToken := event
	badToken.Token = "guess"
	badTokenBody := encryptFixed(badToken.JSON())
	challenge := encryptFixed(larkfake.URLVerification(token, "c"))
	badChallenge := encryptFixed(larkfake.URLVerification("guess", "c"))
	tests := []struct {
		name    string
		key     string
		body    []byte
		headers map[string]string
		status  int
		why     string
	}{
		{"genuine encrypted", key, good, signed(good, key), http.StatusOK, ""},
		{"genuine plain", "", plain, nil, http.StatusOK, ""},
		{"challenge unsigned", key, challenge, nil, http.StatusOK, ""},
		{"challenge with a wrong token", key, badChallenge, nil, http.StatusUnauthorized, "bad verification token"},
		{"bad signature", key, good, signed(good, "other"), http.StatusUnauthorized, "bad signature"},
		{"unsigned event", key, good, nil, http.StatusUnauthorized, "no signature"},
		{"wrong token, signed", key, badTokenBody, signed(badTokenBody, key), http.StatusUnauthorized, "bad verification token"},
		{"wrong token, plain", "", badToken.JSON(), nil, http.StatusUnauthorized, "bad verification token"},
		{"plain body with a key", key, plain, signed(plain, key), http.StatusBadRequest, "plain body but an encrypt key is configured"},
		{"encrypted body without a key", "", good, nil, http.StatusBadRequest, "encrypted body but no encrypt key configured"},
		{"another key", key, larkfake.Encrypt("other", plain), nil, http.StatusBadRequest, "body does not decrypt"},
		{"not JSON", "", []byte("{"), nil, http.StatusBadRequest, "body is not JSON"},
		{"JSON but no event", "", []byte(`[1]`), nil, http.StatusBadRequest, "body is not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.headers {
				h.Set(k, v)
			}
			status, why := verify(h, tc.body, token, tc.key)
			if status != tc.status || why != tc.why {
				t.Errorf("larkVerify = %d %q, want %d %q", status, why, tc.status, tc.why)
			}
		})
	}
}
