package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives Slack's events, slash commands and interactions over a
// Socket Mode WebSocket (apps.connections.open with the app token) until ctx is
// cancelled, then returns nil. The same handlers serve it as the HTTP endpoints;
// every envelope is acknowledged before it is handed on, and a redelivered one
// (retry_attempt > 0, the same event_id or trigger_id) is handled once.
// Reconnects (Slack's disconnect requests, dropped connections) are handled by
// slack-go. It returns an error when the app token is missing or refused.
func (e *Edge) RunSocketMode(ctx context.Context) error {
	smc, err := e.socketClient(ctx)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- smc.RunContext(runCtx) }()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-done
			return nil
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			e.socketFailed(err)
			return fmt.Errorf("slack socket mode: %w", err)
		case ev := <-smc.Events:
			e.onSocketEvent(runCtx, smc, ev)
		}
	}
}

// socketClient builds the Socket Mode client with the current tokens.
func (e *Edge) socketClient(ctx context.Context) (*socketmode.Client, error) {
	if e.cfg.AppToken == nil {
		return nil, errors.New("slack socket mode: no app token configured")
	}
	app, err := e.cfg.AppToken(ctx)
	if err != nil {
		return nil, fmt.Errorf("slack socket mode: app token: %w", err)
	}
	if app.IsZero() {
		return nil, errors.New("slack socket mode: app token is empty")
	}
	api, err := e.client(ctx)
	if err != nil {
		return nil, fmt.Errorf("slack socket mode: %w", err)
	}
	slackgo.OptionAppLevelToken(app.Reveal())(api)
	return socketmode.New(api, socketmode.OptionLog(quietLog)), nil
}

// socketFailed reports a Socket Mode failure and asks for a fresh app token when
// Slack refused the one it had.
func (e *Edge) socketFailed(err error) {
	var se slackgo.SlackErrorResponse
	auth := slices.Contains(authErrors, err.Error()) ||
		(errors.As(err, &se) && slices.Contains(authErrors, se.Err))
	if auth && e.cfg.OnAuthFailure != nil {
		e.cfg.OnAuthFailure(AppTokenName)
	}
	e.log.Error("slack: socket mode stopped", "err", err)
}

// onSocketEvent acknowledges and dispatches one Socket Mode event.
func (e *Edge) onSocketEvent(ctx context.Context, smc *socketmode.Client, ev socketmode.Event) {
	switch ev.Type {
	case socketmode.EventTypeConnected:
		e.log.Info("slack: socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		e.log.Warn("slack: socket mode trouble", "event", ev.Type, "detail", fmt.Sprint(ev.Data))
	case socketmode.EventTypeInvalidAuth:
		e.log.Error("slack: socket mode: app token refused")
	case socketmode.EventTypeErrorBadMessage:
		e.ackBadMessage(ctx, smc, ev)
	case socketmode.EventTypeEventsAPI:
		e.ack(ctx, smc, ev.Request)
		e.onSocketEventsAPI(ctx, ev)
	case socketmode.EventTypeSlashCommand:
		e.ack(ctx, smc, ev.Request)
		if cmd, ok := ev.Data.(slackgo.SlashCommand); ok {
			e.onCommand(ctx, cmd)
		}
	case socketmode.EventTypeInteractive:
		e.ack(ctx, smc, ev.Request)
		if ic, ok := ev.Data.(slackgo.InteractionCallback); ok {
			_ = e.onInteraction(ctx, ic) // a refused button was answered privately
		}
	}
}

func (e *Edge) onSocketEventsAPI(ctx context.Context, ev socketmode.Event) {
	api, ok := ev.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	cb, ok := api.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		return
	}
	if ev.Request != nil && ev.Request.RetryAttempt > 0 {
		e.log.Info("slack: event delivered again", "event_id", cb.EventID, "retry", ev.Request.RetryAttempt,
			"reason", ev.Request.RetryReason)
	}
	e.onEvent(ctx, cb.EventID, api.InnerEvent)
}

// ack tells Slack the envelope arrived (it redelivers unacknowledged ones).
func (e *Edge) ack(ctx context.Context, smc *socketmode.Client, req *socketmode.Request) {
	if req == nil || req.EnvelopeID == "" {
		return
	}
	if err := smc.AckCtx(ctx, req.EnvelopeID, nil); err != nil {
		e.log.Warn("slack: socket mode ack failed", "envelope_id", req.EnvelopeID, "err", err)
	}
}

// ackBadMessage acknowledges an envelope slack-go could not parse (an event type
// tracebot does not subscribe to), so Slack does not keep redelivering it.
func (e *Edge) ackBadMessage(ctx context.Context, smc *socketmode.Client, ev socketmode.Event) {
	bad, ok := ev.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var env struct {
		EnvelopeID string `json:"envelope_id"`
	}
	if json.Unmarshal(bad.Message, &env) == nil && env.EnvelopeID != "" {
		e.ack(ctx, smc, &socketmode.Request{EnvelopeID: env.EnvelopeID})
	}
	e.log.Debug("slack: socket mode message not handled", "reason", bad.Cause.Error())
}
