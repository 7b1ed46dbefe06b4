package slack

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/callytics/tracebot/bot"
)

// bodyHandler serves a request whose signature has been verified.
type bodyHandler func(w http.ResponseWriter, r *http.Request, body []byte)

// Routes registers the Slack HTTP endpoints on mux: POST /slack/commands,
// POST /slack/interactivity and POST /slack/events. Every request is verified with
// the signing secret before anything else is done with it; a request that is
// unsigned, forged or older than five minutes gets 401 and causes nothing. Valid
// requests are acknowledged at once (200, empty) after being handed to the bot,
// which does the work in the background.
func (e *Edge) Routes(mux *http.ServeMux) {
	mux.Handle("POST /slack/commands", e.verified("commands", e.serveCommand))
	mux.Handle("POST /slack/interactivity", e.verified("interactivity", e.serveInteraction))
	mux.Handle("POST /slack/events", e.verified("events", e.serveEvents))
}

// verified wraps h with the signature check and the ack-time metric.
func (e *Edge) verified(endpoint string, h bodyHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() { e.cfg.Metrics.ObserveAck(bot.Slack, endpoint, time.Since(start).Seconds()) }()
		body, status := e.verify(w, r)
		if status != http.StatusOK {
			http.Error(w, http.StatusText(status), status)
			return
		}
		h(w, r, body)
	})
}

// verify checks Slack's v0 signature (HMAC-SHA256 of "v0:ts:body" with the signing
// secret, compared in constant time, timestamp within five minutes) and returns the
// body it covers, or the HTTP status to refuse the request with.
func (e *Edge) verify(w http.ResponseWriter, r *http.Request) ([]byte, int) {
	if e.cfg.SigningSecret == nil {
		e.log.Error("slack: request refused: no signing secret configured")
		return nil, http.StatusServiceUnavailable
	}
	secret, err := e.cfg.SigningSecret(r.Context())
	if err != nil || secret.IsZero() {
		e.log.Error("slack: request refused: signing secret unavailable", "err", err)
		return nil, http.StatusServiceUnavailable
	}
	sv, err := slackgo.NewSecretsVerifier(r.Header, secret.Reveal())
	if err != nil {
		e.log.Warn("slack: unsigned or stale request refused", "path", r.URL.Path, "reason", err.Error())
		return nil, http.StatusUnauthorized
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			e.log.Warn("slack: request body too large", "path", r.URL.Path, "limit", e.cfg.MaxBodyBytes)
			return nil, http.StatusRequestEntityTooLarge
		}
		return nil, http.StatusBadRequest
	}
	_, _ = sv.Write(body)
	if err := sv.Ensure(); err != nil {
		e.log.Warn("slack: forged request refused", "path", r.URL.Path, "reason", err.Error())
		return nil, http.StatusUnauthorized
	}
	return body, http.StatusOK
}

// serveCommand takes a slash command (form-encoded).
func (e *Edge) serveCommand(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	e.onCommand(r.Context(), slackgo.SlashCommand{
		TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"), Command: form.Get("command"),
		Text: form.Get("text"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"),
		APIAppID: form.Get("api_app_id"),
	})
	w.WriteHeader(http.StatusOK)
}

// serveInteraction takes a shortcut or a button click (form field "payload").
func (e *Edge) serveInteraction(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "no payload", http.StatusBadRequest)
		return
	}
	var ic slackgo.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	// A refused button value was answered privately: Slack needs only the ack.
	_ = e.onInteraction(r.Context(), ic)
	w.WriteHeader(http.StatusOK)
}

// serveEvents takes Events API deliveries: the url_verification challenge and
// event callbacks. A retried delivery (X-Slack-Retry-Num) carries the same
// event_id, which the bot handles once.
func (e *Edge) serveEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	var outer struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
		EventID   string `json:"event_id"`
	}
	if err := json.Unmarshal(body, &outer); err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	switch outer.Type {
	case slackevents.URLVerification:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, outer.Challenge)
		return
	case slackevents.AppRateLimited:
		e.log.Warn("slack: events are being rate limited by Slack")
	case slackevents.CallbackEvent:
		if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
			e.log.Info("slack: event delivered again", "event_id", outer.EventID, "retry", n,
				"reason", r.Header.Get("X-Slack-Retry-Reason"))
		}
		e.dispatchEvent(r, body, outer.EventID)
	}
	w.WriteHeader(http.StatusOK)
}

// dispatchEvent parses an event callback and hands it on. An event type tracebot
// does not subscribe to is acknowledged and dropped.
func (e *Edge) dispatchEvent(r *http.Request, body []byte, eventID string) {
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		e.log.Debug("slack: event not handled", "event_id", eventID, "reason", strings.SplitN(err.Error(), "\n", 2)[0])
		return
	}
	e.onEvent(r.Context(), eventID, ev.InnerEvent)
}
