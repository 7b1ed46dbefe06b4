// Package slack puts the bot in Slack: it verifies and acknowledges what Slack
// sends (HTTP endpoints or Socket Mode), turns it into the core's Message and
// Action, and implements bot.Poster over the Web API, rendering Replies to Block
// Kit (mrkdwn from bot.Tokens). slackfake beside it is the wire fake its tests use.
package slack

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

	lru "github.com/hashicorp/golang-lru/v2"
	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"golang.org/x/sync/singleflight"

	"github.com/callytics/tracebot/bot"
	"github.com/callytics/tracebot/lookup"
)

// Which token Slack rejected, for Config.OnAuthFailure.
const (
	BotTokenName = "bot_token"
	AppTokenName = "app_token"
)

// Defaults of Config.
const (
	DefaultAPIURL       = "https://slack.com/api/"
	DefaultMaxBody      = 1 << 20
	DefaultRetries      = 5
	DefaultGroupTTL     = time.Minute
	DefaultHTTPTimeout  = 15 * time.Second
	traceShortcutID     = "trace_report"
	groupCacheSize      = 256
	deliveryCommand     = "command:"
	deliveryEvent       = "event:"
	deliveryShortcut    = "shortcut:"
	deliveryInteraction = "action:"
)

// Config configures the Slack edge.
type Config struct {
	BotToken      bot.SecretFunc // xoxb-…, for the Web API; required
	SigningSecret bot.SecretFunc // verifies HTTP requests; required for Routes
	AppToken      bot.SecretFunc // xapp-…, for Socket Mode; nil: HTTP only
	APIURL        string         // TRACEBOT_SLACK_API_URL; "" → DefaultAPIURL
	HTTPClient    *http.Client
	Lang          string // TRACEBOT_LANG, for the few sentences the edge says itself
	Logger        *slog.Logger
	Metrics       *bot.Metrics // chat API errors and ack times; nil: none
	// OnAuthFailure, when set, is called with BotTokenName or
	// AppTokenName when Slack rejects that token (invalid_auth,
	// token_revoked, …), so the secret can be fetched again at once.
	OnAuthFailure func(which string)
	MaxBodyBytes  int64         // request body cap; 0 → DefaultMaxBody
	RateRetries   int           // retries of a call Slack rate-limited; 0 → DefaultRetries
	GroupCacheTTL time.Duration // how long user-group members are cached; 0 → DefaultGroupTTL
}

func (c *Config) setDefaults() {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
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
	if c.RateRetries <= 0 {
		c.RateRetries = DefaultRetries
	}
	if c.GroupCacheTTL <= 0 {
		c.GroupCacheTTL = DefaultGroupTTL
	}
}

// Edge puts the bot in Slack: it verifies and acknowledges what Slack sends
// (over HTTP or Socket Mode), turns it into Messages and Actions for the Bot, and
// implements the bot's Poster (and GroupResolver) over the Web API. It is safe for
// concurrent use.
type Edge struct {
	cfg Config
	bot handler
	log *slog.Logger

	self atomic.Pointer[identity]

	groups      *lru.Cache[string, groupMembers] // lapses after GroupCacheTTL
	groupFlight singleflight.Group
	answers     *bot.Errands // the edge's own private answers

	// sleep waits out a rate limit; tests shorten it.
	sleep func(ctx context.Context, d time.Duration) error
}

// handler is the part of the Bot the edge hands requests to.
type handler interface {
	HandleMessage(ctx context.Context, m bot.Message)
	HandleAction(ctx context.Context, a bot.Action) bot.Ack
}

// identity is who the bot is in the workspace (auth.test).
type identity struct {
	UserID, BotID, TeamID string
	mention               *regexp.Regexp // <@UBOT> or <@UBOT|name>
}

var (
	_ bot.Poster        = (*Edge)(nil)
	_ bot.GroupResolver = (*Edge)(nil)
)

// New returns the Slack edge of b and registers it as b's Slack poster. It
// does no I/O; call Open before serving.
func New(cfg Config, b *bot.Bot) *Edge {
	e := newEdge(cfg, b)
	b.AddPoster(bot.Slack, e)
	return e
}

// newSlackEdge builds an edge that hands requests to h.
func newEdge(cfg Config, h handler) *Edge {
	cfg.setDefaults()
	e := &Edge{
		cfg:     cfg,
		bot:     h,
		log:     cfg.Logger.With("component", "slack"),
		answers: bot.NewErrands(maxPrivateAnswers, privateAnswerTimeout, cfg.Logger),
		sleep:   lookup.Sleep,
	}
	e.groups, _ = lru.New[string, groupMembers](groupCacheSize) // fails only for a size <= 0
	return e
}

// groupMembers are the members of a user group as fetched at one time.
type groupMembers struct {
	users   []string
	fetched time.Time
}

// Open learns the bot's own user and bot ids (auth.test), so that its own
// messages are never taken as reports and its mention is removed from a report.
// It fails when the token is missing or Slack refuses it.
func (e *Edge) Open(ctx context.Context) error {
	var res *slackgo.AuthTestResponse
	err := e.call(ctx, "auth.test", "", func(api *slackgo.Client) error {
		var err error
		res, err = api.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		return err
	}
	e.self.Store(newIdentity(res.UserID, res.BotID, res.TeamID))
	e.log.Info("slack: signed in", "team", res.TeamID, "bot_user", res.UserID, "bot_id", res.BotID)
	return nil
}

func newIdentity(user, bot, team string) *identity {
	id := &identity{UserID: user, BotID: bot, TeamID: team}
	if user != "" {
		id.mention = regexp.MustCompile(`<@` + regexp.QuoteMeta(user) + `(\|[^>]*)?>`)
	}
	return id
}

// BotUserID is the bot's own user id, "" before Open.
func (e *Edge) BotUserID() string {
	if id := e.self.Load(); id != nil {
		return id.UserID
	}
	return ""
}

// isSelf reports whether a message by user (or bot botID) is the bot's own.
func (e *Edge) isSelf(user, botID string) bool {
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
func (e *Edge) stripSelfMention(text string, leading bool) string {
	if id := e.self.Load(); id != nil && id.mention != nil {
		text = id.mention.ReplaceAllString(text, " ")
	} else if leading {
		text = leadingMention.ReplaceAllString(text, " ")
	}
	return strings.TrimSpace(text)
}

// onCommand hands a slash command to the bot. Everything is answered under a new
// root message, so Thread stays empty.
func (e *Edge) onCommand(ctx context.Context, c slackgo.SlashCommand) {
	e.bot.HandleMessage(ctx, bot.Message{
		Platform: bot.Slack, Source: bot.SourceCommand, DeliveryID: deliveryKey(deliveryCommand, c.TriggerID),
		Channel: c.ChannelID, User: c.UserID, Text: strings.TrimSpace(c.Text), ResponseURL: c.ResponseURL,
	})
}

// onEvent hands an Events API event to the bot: app_mention and message.im; other
// events, and messages by bots or the bot itself, are ignored.
func (e *Edge) onEvent(ctx context.Context, eventID string, inner slackevents.EventsAPIInnerEvent) {
	switch ev := inner.Data.(type) {
	case *slackevents.AppMentionEvent:
		e.onMention(ctx, eventID, ev)
	case *slackevents.MessageEvent:
		e.onDirectMessage(ctx, eventID, ev)
	default:
		e.log.Debug("slack: event ignored", "type", inner.Type)
	}
}

func (e *Edge) onMention(ctx context.Context, eventID string, ev *slackevents.AppMentionEvent) {
	switch {
	case ev.User == "" || ev.BotID != "" || e.isSelf(ev.User, ev.BotID):
		e.log.Debug("slack: mention by a bot ignored", "channel", ev.Channel)
		return
	case strings.HasPrefix(ev.Channel, "D"):
		return // a direct message: message.im delivers it too, and is handled there
	}
	e.bot.HandleMessage(ctx, bot.Message{
		Platform: bot.Slack, Source: bot.SourceMention, DeliveryID: deliveryKey(deliveryEvent, eventID),
		Channel: ev.Channel, Thread: firstOf(ev.ThreadTimeStamp, ev.TimeStamp), MessageID: ev.TimeStamp,
		User: ev.User, Text: e.stripSelfMention(ev.Text, true),
	})
}

func (e *Edge) onDirectMessage(ctx context.Context, eventID string, ev *slackevents.MessageEvent) {
	switch {
	case ev.ChannelType != "im":
		return
	case ev.SubType != "" || ev.BotID != "" || ev.User == "" || e.isSelf(ev.User, ev.BotID):
		// message_changed, message_deleted, bot_message, the bot's own answers …
		e.log.Debug("slack: message ignored", "subtype", ev.SubType, "bot", ev.BotID != "")
		return
	}
	e.bot.HandleMessage(ctx, bot.Message{
		Platform: bot.Slack, Source: bot.SourceDM, DeliveryID: deliveryKey(deliveryEvent, eventID),
		Channel: ev.Channel, Thread: firstOf(ev.ThreadTimeStamp, ev.TimeStamp), MessageID: ev.TimeStamp,
		User: ev.User, Text: e.stripSelfMention(ev.Text, false),
	})
}

// onInteraction handles the "Trace this report" shortcut and button clicks.
// It returns an error for a payload it must refuse (an unknown button value).
func (e *Edge) onInteraction(ctx context.Context, ic slackgo.InteractionCallback) error {
	switch {
	case ic.Type == slackgo.InteractionTypeMessageAction && ic.CallbackID == traceShortcutID:
		e.onShortcut(ctx, ic)
	case ic.Type == slackgo.InteractionTypeBlockActions:
		return e.onBlockActions(ctx, ic)
	default:
		e.log.Debug("slack: interaction ignored", "type", ic.Type, "callback_id", ic.CallbackID)
	}
	return nil
}

// onShortcut traces the text of the message the shortcut was used on, in that
// message's thread. The bot's own messages are not reports: the user is told so.
func (e *Edge) onShortcut(ctx context.Context, ic slackgo.InteractionCallback) {
	msg := ic.Message
	m := bot.Message{
		Platform: bot.Slack, Source: bot.SourceShortcut, DeliveryID: deliveryKey(deliveryShortcut, ic.TriggerID),
		Channel: ic.Channel.ID, Thread: firstOf(msg.ThreadTimestamp, msg.Timestamp), MessageID: msg.Timestamp,
		User: ic.User.ID, Text: e.stripSelfMention(msg.Text, false), ResponseURL: ic.ResponseURL,
	}
	if e.isSelf(msg.User, msg.BotID) {
		e.answerPrivately(ctx, m, bot.T(e.cfg.Lang, "own_message"))
		return
	}
	e.bot.HandleMessage(ctx, m)
}

// onBlockActions hands each clicked tracebot button to the bot. Link buttons need
// nothing; a button value that does not decode is refused.
func (e *Edge) onBlockActions(ctx context.Context, ic slackgo.InteractionCallback) error {
	var errs []error
	for _, act := range ic.ActionCallback.BlockActions {
		if !strings.HasPrefix(act.ActionID, actionPrefix) {
			continue // a link button, or not ours
		}
		v, err := bot.DecodeActionValue(act.Value)
		if err != nil {
			e.log.Warn("slack: button value refused", "action_id", act.ActionID, "err", err)
			e.answerPrivately(ctx, bot.Message{Platform: bot.Slack, Channel: ic.Channel.ID, User: ic.User.ID,
				ResponseURL: ic.ResponseURL}, bot.T(e.cfg.Lang, "bad_button"))
			errs = append(errs, fmt.Errorf("slack block_actions %s: %w", act.ActionID, err))
			continue
		}
		e.bot.HandleAction(ctx, bot.Action{
			Platform:    bot.Slack,
			DeliveryID:  deliveryKey(deliveryInteraction, ic.TriggerID),
			Message:     actionRef(ic),
			User:        ic.User.ID,
			ResponseURL: ic.ResponseURL,
			Value:       v,
		})
	}
	return errors.Join(errs...)
}

// actionRef names the message carrying the clicked button.
func actionRef(ic slackgo.InteractionCallback) bot.Ref {
	ref := bot.Ref{
		Channel: firstOf(ic.Container.ChannelID, ic.Channel.ID),
		Thread:  firstOf(ic.Container.ThreadTs, ic.Message.ThreadTimestamp),
		ID:      firstOf(ic.Container.MessageTs, ic.Message.Timestamp),
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
func (e *Edge) answerPrivately(ctx context.Context, m bot.Message, text string) {
	e.answers.Go(ctx, "slack private answer", func(ctx context.Context) {
		r := bot.Reply{Text: text, Blocks: []bot.Block{{Kind: bot.BlockText, Text: text}}}
		if err := e.Private(ctx, m, r); err != nil {
			e.log.Warn("slack: private answer failed", "err", err)
		}
	})
}

// Shutdown waits until the private answers the edge is sending have been sent, or
// ctx ends. Nothing the edge started runs afterwards.
func (e *Edge) Shutdown(ctx context.Context) error { return e.answers.Wait(ctx) }

// deliveryKey is the dedupe key of a delivery, or "" when Slack gave no id.
func deliveryKey(kind, id string) string {
	if id == "" {
		return ""
	}
	return kind + id
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
