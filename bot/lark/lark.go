// Package lark puts the bot in Lark/Feishu: it receives events and card
// callbacks (the SDK's long connection or webhooks), turns them into the core's
// Message and Action, and implements bot.Poster over the open API, rendering
// Replies as interactive cards (lark_md from bot.Tokens). larkfake beside it is the
// wire fake its tests use.
package lark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	larksdk "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	"golang.org/x/time/rate"

	"github.com/callytics/tracebot/secrets"

	"github.com/callytics/tracebot/bot"
)

// Lark base URLs (TRACEBOT_LARK_BASE_URL): the same API under two brands.
const (
	BaseURL       = "https://open.larksuite.com"
	FeishuBaseURL = "https://open.feishu.cn"
)

// Lark modes (TRACEBOT_LARK_MODE).
const (
	ModeWS      = "ws"      // the SDK's long connection: no public URL needed
	ModeWebhook = "webhook" // Lark calls POST /lark/events and POST /lark/card
)

// Defaults of Config.
const (
	DefaultMaxBody     = 1 << 20
	DefaultHTTPTimeout = 15 * time.Second
	// patchInterval spaces the updates of one message: Lark allows 5 a
	// second; 4 leaves room for network jitter against its sliding window.
	patchInterval    = 250 * time.Millisecond
	limiterCacheSize = 4096
)

// Config configures the Lark/Feishu edge.
type Config struct {
	AppID     string         // TRACEBOT_LARK_APP_ID (not secret); required
	AppSecret bot.SecretFunc // for tenant tokens and the long connection; required
	// VerificationToken and EncryptKey check what Lark sends over HTTP (webhook
	// mode): every callback carries the token; with an encrypt key set in the
	// developer console, bodies are AES-encrypted and signed with it as well.
	// The token is required for Routes; the key is optional but recommended.
	VerificationToken bot.SecretFunc
	EncryptKey        bot.SecretFunc // nil: no encryption configured
	BaseURL           string         // TRACEBOT_LARK_BASE_URL, for the API and the long connection; "" → BaseURL
	Mode              string         // TRACEBOT_LARK_MODE; "" → ModeWS
	Lang              string         // TRACEBOT_LANG, for the few words the edge says itself
	HTTPClient        *http.Client   // for API calls and the long connection's bootstrap; nil → a client with DefaultHTTPTimeout
	Logger            *slog.Logger
	Metrics           *bot.Metrics // chat API errors and ack times; nil: none
	MaxBodyBytes      int64        // webhook request body cap; 0 → DefaultMaxBody
}

func (c *Config) setDefaults() {
	if c.BaseURL == "" {
		c.BaseURL = BaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Mode == "" {
		c.Mode = ModeWS
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBody
	}
}

// Edge puts the bot in Lark/Feishu: it receives im.message.receive_v1 events and
// card.action.trigger callbacks (over the long connection or HTTP), turns them into
// Messages and Actions for the Bot, and implements the bot's Poster with
// interactive cards over the open API. It is safe for concurrent use.
type Edge struct {
	cfg Config
	bot handler // nil: the edge only posts
	log *slog.Logger
	sdk larkcore.Logger // the SDK's logs, into log

	self atomic.Pointer[identity]

	// mu guards the SDK objects, rebuilt when the secrets they hold change.
	mu         sync.Mutex
	client     *larksdk.Client // for the app secret clientKey
	clientKey  secrets.Secret
	dispatch   *dispatcher.EventDispatcher // for the token and key in dispatchOf
	dispatchOf [2]secrets.Secret

	limMu    sync.Mutex
	limiters *lru.Cache[string, *rate.Limiter] // message id → its update limiter (an idle one is full again)
	retry    retryPolicy                       // tests shorten it
}

// identity is who the bot is (bot/v3/info).
type identity struct{ OpenID, Name string }

var _ bot.Poster = (*Edge)(nil)

// New returns the Lark edge of b and registers it as b's Lark poster. It does
// no I/O; call Open before serving.
func New(cfg Config, b *bot.Bot) *Edge {
	cfg.setDefaults()
	log := cfg.Logger.With("component", "lark")
	e := &Edge{
		cfg:   cfg,
		log:   log,
		sdk:   sdkLogger{log: log},
		retry: defaultRetry,
	}
	e.limiters, _ = lru.New[string, *rate.Limiter](limiterCacheSize) // fails only for a size <= 0
	if b != nil {
		e.bot = b
		b.AddPoster(bot.Lark, e)
	}
	return e
}

// handler is the part of the Bot the edge hands requests to.
type handler interface {
	HandleMessage(ctx context.Context, m bot.Message)
	HandleAction(ctx context.Context, a bot.Action) bot.Ack
}

// Open learns the bot's own open_id (GET /open-apis/bot/v3/info with the tenant
// token), so that a group message is taken only when it @mentions the bot itself.
// It fails when the app secret cannot be read, Lark refuses the app's credentials,
// or the app has no bot capability. Until it succeeds, group messages are ignored.
func (e *Edge) Open(ctx context.Context) error {
	var out struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
		Bot  struct {
			OpenID  string `json:"open_id"`
			AppName string `json:"app_name"`
		} `json:"bot"`
	}
	err := e.call(ctx, "bot.info", true, func(ctx context.Context, c *larksdk.Client) (*larkcore.ApiResp, larkcore.CodeError, error) {
		resp, err := c.Get(ctx, "/open-apis/bot/v3/info", nil, larkcore.AccessTokenTypeTenant)
		if err != nil {
			return resp, larkcore.CodeError{}, err
		}
		if err := json.Unmarshal(resp.RawBody, &out); err != nil {
			return resp, larkcore.CodeError{}, fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
		}
		return resp, larkcore.CodeError{Code: out.Code, Msg: out.Msg}, nil
	})
	if err != nil {
		return err
	}
	if out.Bot.OpenID == "" {
		return fmt.Errorf("lark bot.info: no open_id in the answer: is the bot capability enabled?")
	}
	e.self.Store(&identity{OpenID: out.Bot.OpenID, Name: out.Bot.AppName})
	e.log.Info("lark: signed in", "app_id", e.cfg.AppID, "bot_open_id", out.Bot.OpenID, "bot_name", out.Bot.AppName)
	return nil
}

// BotOpenID is the bot's own open_id, "" before Open.
func (e *Edge) BotOpenID() string {
	if id := e.self.Load(); id != nil {
		return id.OpenID
	}
	return ""
}

// Mode is the configured way in: ModeWS or ModeWebhook.
func (e *Edge) Mode() string { return e.cfg.Mode }

// apiClient returns the SDK client for the current app secret, building a new one
// when the secret changed (rotation). Tenant tokens are the SDK's job.
func (e *Edge) apiClient(ctx context.Context) (*larksdk.Client, error) {
	secret, err := readSecret(ctx, e.cfg.AppSecret, "app secret")
	if err != nil {
		return nil, err
	}
	if secret.IsZero() {
		return nil, errors.New("lark: app secret is empty")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client == nil || !e.clientKey.Equal(secret) {
		e.client = larksdk.NewClient(e.cfg.AppID, secret.Reveal(),
			larksdk.WithOpenBaseUrl(e.cfg.BaseURL),
			larksdk.WithHttpClient(e.cfg.HTTPClient),
			larksdk.WithLogger(e.sdk),
			larksdk.WithLogLevel(larkcore.LogLevelInfo),
			larksdk.WithEnableTokenCache(true),
		)
		e.clientKey = secret
	}
	return e.client, nil
}

// eventDispatcher returns the SDK dispatcher for the current verification token
// and encrypt key, with the bot's handlers registered.
func (e *Edge) eventDispatcher(token, key secrets.Secret) *dispatcher.EventDispatcher {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dispatch == nil || !e.dispatchOf[0].Equal(token) || !e.dispatchOf[1].Equal(key) {
		d := dispatcher.NewEventDispatcher(token.Reveal(), key.Reveal())
		d.InitConfig(larkevent.WithLogger(e.sdk), larkevent.WithLogLevel(larkcore.LogLevelInfo))
		d.OnP2MessageReceiveV1(e.onMessage)
		d.OnP2CardActionTrigger(e.onCardAction)
		e.dispatch, e.dispatchOf = d, [2]secrets.Secret{token, key}
	}
	return e.dispatch
}

// readSecret reads a secret; a nil getter is an empty secret.
func readSecret(ctx context.Context, get bot.SecretFunc, what string) (secrets.Secret, error) {
	if get == nil {
		return secrets.Secret{}, nil
	}
	s, err := get(ctx)
	if err != nil {
		return secrets.Secret{}, fmt.Errorf("lark: read %s: %w", what, err)
	}
	return s, nil
}

// sdkLogger sends the SDK's logs to slog. Debug lines are dropped: the SDK
// prints whole event bodies (with the verification token) and requests at debug.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Debug(context.Context, ...any) {}
func (l sdkLogger) Info(ctx context.Context, args ...any) {
	l.log.InfoContext(ctx, "lark sdk: "+joinArgs(args))
}
func (l sdkLogger) Warn(ctx context.Context, args ...any) {
	l.log.WarnContext(ctx, "lark sdk: "+joinArgs(args))
}
func (l sdkLogger) Error(ctx context.Context, args ...any) {
	l.log.ErrorContext(ctx, "lark sdk: "+joinArgs(args))
}

func joinArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprint(a)
	}
	return strings.Join(parts, " ")
}
