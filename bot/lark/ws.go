package lark

import (
	"context"
	"errors"
	"fmt"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkws "github.com/larksuite/oapi-sdk-go/v3/ws"
)

// wsStopTimeout bounds how long RunWS waits for the connection to close.
const wsStopTimeout = 10 * time.Second

// RunWS receives events and card callbacks over the SDK's long connection
// (TRACEBOT_LARK_MODE=ws: no public URL needed) until ctx ends, then closes it and
// waits for the SDK's goroutines, returning nil. The SDK reconnects by itself after
// a dropped connection; RunWS returns an error only when the connection cannot be
// had at all (bad app credentials, long connection not enabled for the app,
// reconnects exhausted) or the app secret cannot be read.
func (e *Edge) RunWS(ctx context.Context) error {
	cli, err := e.wsClient(ctx)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cli.Start(ctx) }()
	select {
	case err := <-done:
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("connection closed")
		}
		return fmt.Errorf("lark ws: %w", err)
	case <-ctx.Done():
	}
	stop, cancel := context.WithTimeout(context.Background(), wsStopTimeout)
	defer cancel()
	if err := cli.CloseAndWait(stop); err != nil && !errors.Is(err, context.Canceled) {
		e.log.Warn("lark: closing the long connection", "err", err)
	}
	select {
	case <-done:
	case <-stop.Done():
		return fmt.Errorf("lark ws: not stopped after %s", wsStopTimeout)
	}
	e.log.Info("lark: long connection closed")
	return nil
}

// wsClient builds the SDK's long-connection client for the current app secret,
// delivering to the same dispatcher as the webhooks.
func (e *Edge) wsClient(ctx context.Context) (*larkws.Client, error) {
	secret, err := readSecret(ctx, e.cfg.AppSecret, "app secret")
	if err != nil {
		return nil, fmt.Errorf("lark ws: %w", err)
	}
	if secret.IsZero() {
		return nil, errors.New("lark ws: app secret is empty")
	}
	token, err := readSecret(ctx, e.cfg.VerificationToken, "verification token")
	if err != nil {
		return nil, fmt.Errorf("lark ws: %w", err)
	}
	key, err := readSecret(ctx, e.cfg.EncryptKey, "encrypt key")
	if err != nil {
		return nil, fmt.Errorf("lark ws: %w", err)
	}
	return larkws.NewClient(e.cfg.AppID, secret.Reveal(),
		larkws.WithEventHandler(e.eventDispatcher(token, key)),
		larkws.WithDomain(e.cfg.BaseURL),
		larkws.WithHttpClient(e.cfg.HTTPClient),
		larkws.WithLogger(e.sdk),
		larkws.WithLogLevel(larkcore.LogLevelInfo),
		larkws.WithOnReady(func() { e.log.Info("lark: long connection ready", "base_url", e.cfg.BaseURL) }),
		larkws.WithOnReconnecting(func() { e.log.Warn("lark: long connection lost, reconnecting") }),
		larkws.WithOnReconnected(func() { e.log.Info("lark: long connection back") }),
		larkws.WithOnError(func(err error) { e.log.Warn("lark: long connection error", "err", err) }),
	), nil
}
