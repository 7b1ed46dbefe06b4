package lark

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"

	"github.com/callytics/tracebot/secrets"

	"github.com/callytics/tracebot/bot"
)

// Routes registers the webhook endpoints (TRACEBOT_LARK_MODE=webhook):
// POST /lark/events, the event subscription's request URL (im.message.receive_v1),
// and POST /lark/card, the callback request URL (card.action.trigger). Both accept
// either kind, and Lark's url_verification challenge.
//
// Every request is checked before the SDK's dispatcher sees it: the body must
// decrypt with the encrypt key when one is configured (and must not be encrypted
// otherwise), X-Lark-Signature must match sha256(timestamp + nonce + encrypt key +
// body) when a key is configured, and the verification token in the body must
// match. Anything else is refused with 400 or 401 and has no effect; the SDK alone
// checks neither the token of events nor signatures in constant time, and answers
// refusals with 500, which would make Lark retry.
func (e *Edge) Routes(mux *http.ServeMux) {
	mux.Handle("POST /lark/events", e.webhook("events"))
	mux.Handle("POST /lark/card", e.webhook("card"))
}

// webhook serves one endpoint and records how long the answer took.
func (e *Edge) webhook(endpoint string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() { e.cfg.Metrics.ObserveAck(bot.Lark, endpoint, time.Since(start).Seconds()) }()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.cfg.MaxBodyBytes))
		if err != nil {
			status := http.StatusBadRequest
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				status = http.StatusRequestEntityTooLarge
			}
			e.refuse(w, endpoint, status, "unreadable body")
			return
		}
		token, key, err := e.webhookSecrets(r)
		if err != nil {
			e.log.Error("lark: webhook secrets unavailable", "endpoint", endpoint, "err", err)
			http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
			return
		}
		if status, why := verify(r.Header, body, token.Reveal(), key.Reveal()); status != http.StatusOK {
			e.refuse(w, endpoint, status, why)
			return
		}
		resp := e.eventDispatcher(token, key).Handle(r.Context(),
			&larkevent.EventReq{Header: r.Header, Body: body, RequestURI: r.RequestURI})
		if resp.StatusCode >= http.StatusInternalServerError {
			// Past verify the SDK fails only on an event whose fields do not decode
			// (or a panic it recovered and logged). A 5xx would make Lark retry it
			// forever: refuse it as a bad request instead.
			e.log.Warn("lark: event does not decode", "endpoint", endpoint, "sdk", string(resp.Body))
			e.refuse(w, endpoint, http.StatusBadRequest, "event does not decode")
			return
		}
		writeResp(w, resp)
	})
}

// webhookSecrets reads the verification token (required) and the encrypt key.
func (e *Edge) webhookSecrets(r *http.Request) (token, key secrets.Secret, err error) {
	if token, err = readSecret(r.Context(), e.cfg.VerificationToken, "verification token"); err != nil {
		return token, key, err
	}
	if token.IsZero() {
		return token, key, errors.New("lark: no verification token configured")
	}
	key, err = readSecret(r.Context(), e.cfg.EncryptKey, "encrypt key")
	return token, key, err
}

func (e *Edge) refuse(w http.ResponseWriter, endpoint string, status int, why string) {
	e.log.Warn("lark: request refused", "endpoint", endpoint, "status", status, "reason", why)
	http.Error(w, http.StatusText(status), status)
}

// verify checks a webhook request as Lark signs it and returns 200, or the
// status to refuse it with and why (no secret in it). A signed request's signature
// is checked before its body is decrypted.
func verify(h http.Header, body []byte, token, key string) (int, string) {
	signature := h.Get(larkevent.EventSignature)
	if key != "" && signature != "" {
		want := larkevent.Signature(h.Get(larkevent.EventRequestTimestamp), h.Get(larkevent.EventRequestNonce), key, string(body))
		if !hmac.Equal([]byte(want), []byte(signature)) {
			return http.StatusUnauthorized, "bad signature"
		}
	}
	plain, status, why := openBody(body, key)
	if status != http.StatusOK {
		return status, why
	}
	var env larkevent.EventFuzzy
	if err := json.Unmarshal(plain, &env); err != nil {
		return http.StatusBadRequest, "body is not a Lark event"
	}
	// Lark does not sign the url_verification challenge; the token (inside the
	// encrypted body when a key is set) proves it. Everything else is signed.
	if key != "" && signature == "" && larkevent.ReqType(env.Type) != larkevent.ReqTypeChallenge {
		return http.StatusUnauthorized, "no signature"
	}
	claimed := env.Token
	if env.Header != nil {
		claimed = env.Header.Token
	}
	if !hmac.Equal([]byte(claimed), []byte(token)) {
		return http.StatusUnauthorized, "bad verification token"
	}
	return http.StatusOK, ""
}

// openBody returns the plain body: decrypted when an encrypt key is configured (a
// plain body is then refused), as is otherwise (an encrypted one is refused).
func openBody(body []byte, key string) ([]byte, int, string) {
	var env struct {
		Encrypt *string `json:"encrypt"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, http.StatusBadRequest, "body is not JSON"
	}
	switch {
	case key == "" && env.Encrypt != nil:
		return nil, http.StatusBadRequest, "encrypted body but no encrypt key configured"
	case key == "":
		return body, http.StatusOK, ""
	case env.Encrypt == nil:
		return nil, http.StatusBadRequest, "plain body but an encrypt key is configured"
	}
	plain, err := decrypt(*env.Encrypt, key)
	if err != nil {
		return nil, http.StatusBadRequest, "body does not decrypt"
	}
	return plain, http.StatusOK, ""
}

// decrypt opens an encrypted body as Lark makes it: base64 of a random IV and
// the AES-256-CBC ciphertext, with key SHA-256(encrypt key) and PKCS#7 padding;
// the plaintext must be a JSON object. Bad padding and bad JSON fail alike. (The SDK's EventDecrypt panics on some
// ciphertexts made with another key, so it only ever sees bodies this accepted.)
func decrypt(encrypted, key string) ([]byte, error) {
	buf, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, fmt.Errorf("base64: %w", err)
	}
	if len(buf) < 2*aes.BlockSize || len(buf)%aes.BlockSize != 0 {
		return nil, errors.New("ciphertext length is not a whole number of blocks")
	}
	sum := sha256.Sum256([]byte(key))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(buf)-aes.BlockSize)
	cipher.NewCBCDecrypter(block, buf[:aes.BlockSize]).CryptBlocks(plain, buf[aes.BlockSize:])
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > aes.BlockSize || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errors.New("bad padding")
	}
	plain = bytes.TrimSpace(plain[:len(plain)-pad])
	if len(plain) == 0 || plain[0] != '{' || !json.Valid(plain) {
		return nil, errors.New("plaintext is not a JSON object")
	}
	return plain, nil
}

// writeResp writes the dispatcher's answer (headers before the status, which
// the SDK's own adapter gets wrong).
func writeResp(w http.ResponseWriter, resp *larkevent.EventResp) {
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(resp.Body)
}
