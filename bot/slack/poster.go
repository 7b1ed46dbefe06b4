package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"slices"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/callytics/tracebot/bot"
)

// cannotPostErrors are the Web API errors that mean the bot may not post in the
// channel: they wrap ErrCannotPost so the bot answers privately instead.
var cannotPostErrors = []string{"not_in_channel", "channel_not_found", "is_archived"}

// authErrors mean the token itself was refused.
var authErrors = []string{"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}

// quietLog discards slack-go's own logging (it logs only in debug mode, which
// tracebot never turns on, but it must never print payloads either).
var quietLog = log.New(io.Discard, "", 0)

// Post sends r to to.Channel, in the thread to.Thread when set, and returns the
// new message. A reply longer than one Slack message continues in follow-up
// messages in the same thread. Errors wrap ErrCannotPost when Slack answers
// not_in_channel, channel_not_found or is_archived. Rate limits are waited out.
// The dedupe key is not used: chat.postMessage has no idempotency key, and a
// rate-limited post is retried only because Slack did not take it.
func (e *Edge) Post(ctx context.Context, to bot.Ref, r bot.Reply, _ string) (bot.Ref, error) {
	msgs := render(r, e.cfg.Lang)
	ts, err := e.postMessage(ctx, to.Channel, to.Thread, msgs[0])
	if err != nil {
		return bot.Ref{}, err
	}
	ref := bot.Ref{Channel: to.Channel, Thread: to.Thread, ID: ts}
	e.postOverflow(ctx, ref.ThreadRef(), msgs[1:])
	return ref, nil
}

// Update replaces the content of the bot's message msg with r (chat.update). The
// part of a reply that does not fit one message is posted in msg's thread.
func (e *Edge) Update(ctx context.Context, msg bot.Ref, r bot.Reply) error {
	msgs := render(r, e.cfg.Lang)
	err := e.call(ctx, "chat.update", msg.Channel, func(api *slackgo.Client) error {
		_, _, _, err := api.UpdateMessageContext(ctx, msg.Channel, msg.ID,
			slackgo.MsgOptionText(msgs[0].Text, false), slackgo.MsgOptionBlocks(msgs[0].Blocks...))
		return err
	})
	if err != nil {
		return err
	}
	e.postOverflow(ctx, msg.ThreadRef(), msgs[1:])
	return nil
}

// Private answers only m's requester: through m.ResponseURL when there is one
// (it works even where the bot is not a member), else as an ephemeral message
// in m.Channel (chat.postEphemeral, in m.Thread).
func (e *Edge) Private(ctx context.Context, m bot.Message, r bot.Reply) error {
	msgs := render(r, e.cfg.Lang)
	var errs []error
	if m.ResponseURL != "" {
		err := e.respond(ctx, m.ResponseURL, msgs)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	if m.Channel == "" || m.User == "" {
		return errors.Join(append(errs, errors.New("slack private answer: no response_url, channel or user"))...)
	}
	for _, msg := range msgs {
		if err := e.postEphemeral(ctx, m, msg); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	return nil
}

func (e *Edge) postMessage(ctx context.Context, channel, thread string, msg message) (string, error) {
	opts := []slackgo.MsgOption{slackgo.MsgOptionText(msg.Text, false), slackgo.MsgOptionDisableLinkUnfurl(),
		slackgo.MsgOptionDisableMediaUnfurl()}
	if len(msg.Blocks) > 0 {
		opts = append(opts, slackgo.MsgOptionBlocks(msg.Blocks...))
	}
	if thread != "" {
		opts = append(opts, slackgo.MsgOptionTS(thread))
	}
	var ts string
	err := e.call(ctx, "chat.postMessage", channel, func(api *slackgo.Client) error {
		var err error
		_, ts, err = api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ts, err
}

// postOverflow posts the continuation of a long reply in thread. The reply itself
// was delivered, so a failure here is logged rather than returned.
func (e *Edge) postOverflow(ctx context.Context, thread bot.Ref, msgs []message) {
	for i, msg := range msgs {
		if _, err := e.postMessage(ctx, thread.Channel, thread.Thread, msg); err != nil {
			e.log.Warn("slack: follow-up of a long reply failed", "channel", thread.Channel, "part", i+2, "err", err)
			return
		}
	}
}

func (e *Edge) postEphemeral(ctx context.Context, m bot.Message, msg message) error {
	opts := []slackgo.MsgOption{slackgo.MsgOptionText(msg.Text, false)}
	if len(msg.Blocks) > 0 {
		opts = append(opts, slackgo.MsgOptionBlocks(msg.Blocks...))
	}
	if m.Thread != "" {
		opts = append(opts, slackgo.MsgOptionTS(m.Thread))
	}
	return e.call(ctx, "chat.postEphemeral", m.Channel, func(api *slackgo.Client) error {
		_, err := api.PostEphemeralContext(ctx, m.Channel, m.User, opts...)
		return err
	})
}

// respond posts msgs to a response_url as ephemeral messages that leave the
// original message alone. The URL is a capability: errors never quote it.
func (e *Edge) respond(ctx context.Context, responseURL string, msgs []message) error {
	for _, msg := range msgs {
		opts := []slackgo.MsgOption{slackgo.MsgOptionResponseURL(responseURL, slackgo.ResponseTypeEphemeral),
			slackgo.MsgOptionText(msg.Text, false)}
		if len(msg.Blocks) > 0 {
			opts = append(opts, slackgo.MsgOptionBlocks(msg.Blocks...))
		}
		err := e.call(ctx, "response_url", "", func(api *slackgo.Client) error {
			_, _, err := api.PostMessageContext(ctx, "", opts...)
			return withoutURL(err)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// withoutURL drops the request URL from a transport error (*url.Error quotes it).
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// InGroup reports whether user belongs to the Slack user group (an S… id, or
// <!subteam^S…>), from usergroups.users.list cached for GroupCacheTTL. Ids that
// are not user groups are not groups of anyone: (false, nil).
func (e *Edge) InGroup(ctx context.Context, group, user string) (bool, error) {
	group = strings.TrimSuffix(strings.TrimPrefix(group, "<!subteam^"), ">")
	if group, _, _ = strings.Cut(group, "|"); !strings.HasPrefix(group, "S") {
		return false, nil
	}
	members, err := e.groupMembers(ctx, group)
	if err != nil {
		return false, err
	}
	return slices.Contains(members, user), nil
}

func (e *Edge) groupMembers(ctx context.Context, group string) ([]string, error) {
	if m, ok := e.groups.Get(group); ok && time.Since(m.fetched) < e.cfg.GroupCacheTTL {
		return m.users, nil
	}
	v, err, _ := e.groupFlight.Do(group, func() (any, error) {
		var members []string
		err := e.call(ctx, "usergroups.users.list", "", func(api *slackgo.Client) error {
			var err error
			members, err = api.GetUserGroupMembersContext(ctx, group)
			return err
		})
		if err != nil {
			return nil, err
		}
		e.groups.Add(group, groupMembers{users: members, fetched: time.Now()})
		return members, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]string), nil
}

// call runs one Web API call with the current bot token. A rate-limited call is
// retried after Slack's Retry-After, up to RateRetries times, so nothing is
// dropped; every failed attempt is counted in the chat API error metric. Errors
// are wrapped with the method and channel; not_in_channel and the like wrap
// ErrCannotPost.
func (e *Edge) call(ctx context.Context, method, channel string, fn func(api *slackgo.Client) error) error {
	for attempt := 0; ; attempt++ {
		api, err := e.client(ctx)
		if err != nil {
			return fmt.Errorf("slack %s: %w", method, err)
		}
		err = fn(api)
		if err == nil {
			return nil
		}
		e.cfg.Metrics.ChatAPIError(bot.Slack, method)
		var rl *slackgo.RateLimitedError
		if errors.As(err, &rl) && attempt < e.cfg.RateRetries {
			wait := max(rl.RetryAfter, time.Second)
			e.log.Info("slack: rate limited, waiting", "method", method, "retry_after", wait, "attempt", attempt+1)
			if werr := e.sleep(ctx, wait); werr != nil {
				return fmt.Errorf("slack %s %s: rate limited, gave up waiting: %w", method, channel, werr)
			}
			continue
		}
		return e.wrapError(method, channel, err)
	}
}

// wrapError names the call in err and classifies Slack's error code.
func (e *Edge) wrapError(method, channel string, err error) error {
	where := "slack " + method
	if channel != "" {
		where += " " + channel
	}
	var se slackgo.SlackErrorResponse
	if errors.As(err, &se) {
		switch {
		case slices.Contains(cannotPostErrors, se.Err):
			return fmt.Errorf("%s: %w: %w", where, bot.ErrCannotPost, err)
		case slices.Contains(authErrors, se.Err) && e.cfg.OnAuthFailure != nil:
			e.cfg.OnAuthFailure(BotTokenName)
		}
	}
	return fmt.Errorf("%s: %w", where, err)
}

// client returns a Web API client holding the current bot token (the token may
// rotate, so clients are not kept).
func (e *Edge) client(ctx context.Context) (*slackgo.Client, error) {
	if e.cfg.BotToken == nil {
		return nil, errors.New("no bot token configured")
	}
	tok, err := e.cfg.BotToken(ctx)
	if err != nil {
		return nil, fmt.Errorf("bot token: %w", err)
	}
	if tok.IsZero() {
		return nil, errors.New("bot token is empty")
	}
	return slackgo.New(tok.Reveal(), slackgo.OptionAPIURL(e.cfg.APIURL), slackgo.OptionHTTPClient(e.cfg.HTTPClient),
		slackgo.OptionLog(quietLog)), nil
}
