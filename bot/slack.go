package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"golang.org/x/sync/singleflight"

	"github.com/callytics/tracebot/secrets"
)

// SecretFunc returns the current value of a secret. It is called at every use, so
// a rotated secret is picked up; (*secrets.Store).Get bound to a name fits.
type SecretFunc func(ctx context.Context) (secrets.Secret, error)

// StaticSecret is a SecretFunc that always returns s.
func StaticSecret(s secrets.Secret) SecretFunc {
	return func(context.Context) (secrets.Secret, error) { return s, nil }
}

// Which token Slack rejected, for SlackConfig.OnAuthFailure.
const (
	SlackBotTokenName = "bot_token"
	SlackAppTokenName = "app_token"
)

// Defaults of SlackConfig.
const (
	DefaultSlackAPIURL       = "https://slack.com/api/"
	DefaultSlackMaxBody      = 1 << 20
	DefaultSlackRetries      = 5
	DefaultSlackGroupTTL     = time.Minute
	DefaultSlackHTTPTimeout  = 15 * time.Second
	slackTraceShortcutID     = "trace_report"
	slackGroupCacheSize      = 256
	slackDeliveryCommand     = "command:"
	slackDeliveryEvent       = "event:"
	slackDeliveryShortcut    = "shortcut:"
	slackDeliveryInteraction = "action:"
)

// SlackConfig configures the Slack edge.
type SlackConfig struct {
	BotToken      SecretFunc // xoxb-…, for the Web API; required
	SigningSecret SecretFunc // verifies HTTP requests; required for Routes
	AppToken      SecretFunc // xapp-…, for Socket Mode; nil: HTTP only
	APIURL        string     // TRACEBOT_SLACK_API_URL; "" → DefaultSlackAPIURL
	HTTPClient    *http.Client
	Lang          string // TRACEBOT_LANG, for the few sentences the edge says itself
	Logger        *slog.Logger
	Metrics       *Metrics // chat API errors and ack times; nil: none
	// OnAuthFailure, when set, is called with SlackBotTokenName or
	// SlackAppTokenName when Slack rejects that token (invalid_auth,
	// token_revoked, …), so the secret can be fetched again at once.
	OnAuthFailure func(which string)
	MaxBodyBytes  int64         // request body cap; 0 → DefaultSlackMaxBody
	RateRetries   int           // retries of a call Slack rate-limited; 0 → DefaultSlackRetries
	GroupCacheTTL time.Duration // how long user-group members are cached; 0 → DefaultSlackGroupTTL
}

func (c *SlackConfig) setDefaults() {
	if c.APIURL == "" {
		c.APIURL = DefaultSlackAPIURL
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultSlackHTTPTimeout}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultSlackMaxBody
	}
	if c.RateRetries <= 0 {
		c.RateRetries = DefaultSlackRetries
	}
	if c.GroupCacheTTL <= 0 {
		c.GroupCacheTTL = DefaultSlackGroupTTL
	}
}

// SlackEdge puts the bot in Slack: it verifies and acknowledges what Slack sends
// (over HTTP or Socket Mode), turns it into Messages and Actions for the Bot, and
// implements the bot's Poster (and GroupResolver) over the Web API. It is safe for
// concurrent use.
type SlackEdge struct {
	cfg SlackConfig
	bot slackHandler
	log *slog.Logger

	self atomic.Pointer[slackIdentity]

	groups      *expiring[string, []string]
	groupFlight singleflight.Group
	answers     *Errands // the edge's own private answers

	// sleep waits out a rate limit; tests shorten it.
	sleep func(ctx context.Context, d time.Duration) error
}

// slackHandler is the part of the Bot the edge hands requests to.
type slackHandler interface {
	HandleMessage(ctx context.Context, m Message)
	HandleAction(ctx context.Context, a Action) Ack
}

// slackIdentity is who the bot is in the workspace (auth.test).
type slackIdentity struct {
	UserID, BotID, TeamID string
	mention               *regexp.Regexp // <@UBOT> or <@UBOT|name>
}

var (
	_ Poster        = (*SlackEdge)(nil)
	_ GroupResolver = (*SlackEdge)(nil)
)

// NewSlack returns the Slack edge of b and registers it as b's Slack poster. It
// does no I/O; call Open before serving.
func NewSlack(cfg SlackConfig, b *Bot) *SlackEdge {
	e := newSlackEdge(cfg, b)
	b.AddPoster(Slack, e)
	return e
}

// newSlackEdge builds an edge that hands requests to h.
func newSlackEdge(cfg SlackConfig, h slackHandler) *SlackEdge {
	cfg.setDefaults()
	return &SlackEdge{
		cfg:     cfg,
		bot:     h,
		log:     cfg.Logger.With("component", "slack"),
		groups:  newExpiring[string, []string](slackGroupCacheSize, cfg.GroupCacheTTL),
		answers: NewErrands(maxPrivateAnswers, privateAnswerTimeout, cfg.Logger),
		sleep:   sleepCtx,
	}
}

// Open learns the bot's own user and bot ids (auth.test), so that its own
// messages are never taken as reports and its mention is removed from a report.
// It fails when the token is missing or Slack refuses it.
func (e *SlackEdge) Open(ctx context.Context) error {
	var res *slack.AuthTestResponse
	err := e.call(ctx, "auth.test", "", func(api *slack.Client) error {
		var err error
		res, err = api.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		return err
	}
	e.self.Store(newSlackIdentity(res.UserID, res.BotID, res.TeamID))
	e.log.Info("slack: signed in", "team", res.TeamID, "bot_user", res.UserID, "bot_id", res.BotID)
	return nil
}

func newSlackIdentity(user, bot, team string) *slackIdentity {
	id := &slackIdentity{UserID: user, BotID: bot, TeamID: team}
	if user != "" {
		id.mention = regexp.MustCompile(`<@` + regexp.QuoteMeta(user) + `(\|[^>]*)?>`)
	}
	return id
}

// BotUserID is the bot's own user id, "" before Open.
func (e *SlackEdge) BotUserID() string {
	if id := e.self.Load(); id != nil {
		return id.UserID
	}
	return ""
}

// isSelf reports whether a message by user (or bot botID) is the bot's own.
func (e *SlackEdge) isSelf(user, botID string) bool {
	id := e.self.Load()
	if id == nil {
		return false
	}
	return (user != "" && user == id.UserID) || (botID != "" && botID == id.BotID)
}

// leadingMention matches a user mention at the start of a text.
var leadingMention = regexp.MustCompile(`^\s*<@[A-Z0-9]+(\|[^>]*)?>`)

// stripSelfMention removes the bot's own mentions from a report. Before Open has
// learnt the bot's id, the mention an app_mention starts with is taken as the bot's.
func (e *SlackEdge) stripSelfMention(text string, leading bool) string {
	if id := e.self.Load(); id != nil && id.mention != nil {
		text = id.mention.ReplaceAllString(text, " ")
	} else if leading {
		text = leadingMention.ReplaceAllString(text, " ")
	}
	return strings.TrimSpace(text)
}

// onCommand hands a slash command to the bot. Everything is answered under a new
// root message, so Thread stays empty.
func (e *SlackEdge) onCommand(ctx context.Context, c slack.SlashCommand) {
	e.bot.HandleMessage(ctx, Message{
		Platform: Slack, Source: SourceCommand, DeliveryID: slackDelivery(slackDeliveryCommand, c.TriggerID),
		Channel: c.ChannelID, User: c.UserID, Text: strings.TrimSpace(c.Text), ResponseURL: c.ResponseURL,
	})
}

// onEvent hands an Events API event to the bot: app_mention and message.im; other
// events, and messages by bots or the bot itself, are ignored.
func (e *SlackEdge) onEvent(ctx context.Context, eventID string, inner slackevents.EventsAPIInnerEvent) {
	switch ev := inner.Data.(type) {
	case *slackevents.AppMentionEvent:
		e.onMention(ctx, eventID, ev)
	case *slackevents.MessageEvent:
		e.onDirectMessage(ctx, eventID, ev)
	default:
		e.log.Debug("slack: event ignored", "type", inner.Type)
	}
}

func (e *SlackEdge) onMention(ctx context.Context, eventID string, ev *slackevents.AppMentionEvent) {
	switch {
	case ev.User == "" || ev.BotID != "" || e.isSelf(ev.User, ev.BotID):
		e.log.Debug("slack: mention by a bot ignored", "channel", ev.Channel)
		return
	case strings.HasPrefix(ev.Channel, "D"):
		return // a direct message: message.im delivers it too, and is handled there
	}
	e.bot.HandleMessage(ctx, Message{
		Platform: Slack, Source: SourceMention, DeliveryID: slackDelivery(slackDeliveryEvent, eventID),
		Channel: ev.Channel, Thread: slackFirst(ev.ThreadTimeStamp, ev.TimeStamp), MessageID: ev.TimeStamp,
		User: ev.User, Text: e.stripSelfMention(ev.Text, true),
	})
}

func (e *SlackEdge) onDirectMessage(ctx context.Context, eventID string, ev *slackevents.MessageEvent) {
	switch {
	case ev.ChannelType != "im":
		return
	case ev.SubType != "" || ev.BotID != "" || ev.User == "" || e.isSelf(ev.User, ev.BotID):
		// message_changed, message_deleted, bot_message, the bot's own answers …
		e.log.Debug("slack: message ignored", "subtype", ev.SubType, "bot", ev.BotID != "")
		return
	}
	e.bot.HandleMessage(ctx, Message{
		Platform: Slack, Source: SourceDM, DeliveryID: slackDelivery(slackDeliveryEvent, eventID),
		Channel: ev.Channel, Thread: slackFirst(ev.ThreadTimeStamp, ev.TimeStamp), MessageID: ev.TimeStamp,
		User: ev.User, Text: e.stripSelfMention(ev.Text, false),
	})
}

// onInteraction handles the "Trace this report" shortcut and button clicks.
// It returns an error for a payload it must refuse (an unknown button value).
func (e *SlackEdge) onInteraction(ctx context.Context, ic slack.InteractionCallback) error {
	switch {
	case ic.Type == slack.InteractionTypeMessageAction && ic.CallbackID == slackTraceShortcutID:
		e.onShortcut(ctx, ic)
	case ic.Type == slack.InteractionTypeBlockActions:
		return e.onBlockActions(ctx, ic)
	default:
		e.log.Debug("slack: interaction ignored", "type", ic.Type, "callback_id", ic.CallbackID)
	}
	return nil
}

// onShortcut traces the text of the message the shortcut was used on, in that
// message's thread. The bot's own messages are not reports: the user is told so.
func (e *SlackEdge) onShortcut(ctx context.Context, ic slack.InteractionCallback) {
	msg := ic.Message
	m := Message{
		Platform: Slack, Source: SourceShortcut, DeliveryID: slackDelivery(slackDeliveryShortcut, ic.TriggerID),
		Channel: ic.Channel.ID, Thread: slackFirst(msg.ThreadTimestamp, msg.Timestamp), MessageID: msg.Timestamp,
		User: ic.User.ID, Text: e.stripSelfMention(msg.Text, false), ResponseURL: ic.ResponseURL,
	}
	if e.isSelf(msg.User, msg.BotID) {
		e.answerPrivately(ctx, m, t(e.cfg.Lang, "own_message"))
		return
	}
	e.bot.HandleMessage(ctx, m)
}

// onBlockActions hands each clicked tracebot button to the bot. Link buttons need
// nothing; a button value that does not decode is refused.
func (e *SlackEdge) onBlockActions(ctx context.Context, ic slack.InteractionCallback) error {
	var errs []error
	for _, act := range ic.ActionCallback.BlockActions {
		if !strings.HasPrefix(act.ActionID, slackActionPrefix) {
			continue // a link button, or not ours
		}
		v, err := DecodeActionValue(act.Value)
		if err != nil {
			e.log.Warn("slack: button value refused", "action_id", act.ActionID, "err", err)
			e.answerPrivately(ctx, Message{Platform: Slack, Channel: ic.Channel.ID, User: ic.User.ID,
				ResponseURL: ic.ResponseURL}, t(e.cfg.Lang, "bad_button"))
			errs = append(errs, fmt.Errorf("slack block_actions %s: %w", act.ActionID, err))
			continue
		}
		e.bot.HandleAction(ctx, Action{
			Platform:    Slack,
			DeliveryID:  slackDelivery(slackDeliveryInteraction, ic.TriggerID),
			Message:     slackActionRef(ic),
			User:        ic.User.ID,
			ResponseURL: ic.ResponseURL,
			Value:       v,
		})
	}
	return errors.Join(errs...)
}

// slackActionRef names the message carrying the clicked button.
func slackActionRef(ic slack.InteractionCallback) Ref {
	ref := Ref{
		Channel: slackFirst(ic.Container.ChannelID, ic.Channel.ID),
		Thread:  slackFirst(ic.Container.ThreadTs, ic.Message.ThreadTimestamp),
		ID:      slackFirst(ic.Container.MessageTs, ic.Message.Timestamp),
	}
	if ref.Thread == ref.ID {
		ref.Thread = "" // a thread's parent carries its own ts as thread_ts
	}
	return ref
}

// The edge's own private answers: at most maxPrivateAnswers at once, each within
// privateAnswerTimeout.
const (
	maxPrivateAnswers    = 8
	privateAnswerTimeout = 30 * time.Second
)

// answerPrivately tells only the requester something, without waiting (see
// Errands: past the bound, the answer is dropped).
func (e *SlackEdge) answerPrivately(ctx context.Context, m Message, text string) {
	e.answers.Go(ctx, "slack private answer", func(ctx context.Context) {
		r := Reply{Text: text, Blocks: []Block{{Kind: BlockText, Text: text}}}
		if err := e.Private(ctx, m, r); err != nil {
			e.log.Warn("slack: private answer failed", "err", err)
		}
	})
}

// Shutdown waits until the private answers the edge is sending have been sent, or
// ctx ends. Nothing the edge started runs afterwards.
func (e *SlackEdge) Shutdown(ctx context.Context) error { return e.answers.Wait(ctx) }

// slackDelivery is the dedupe key of a delivery, or "" when Slack gave no id.
func slackDelivery(kind, id string) string {
	if id == "" {
		return ""
	}
	return kind + id
}

func slackFirst(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
