package slack

import (
	"context"
	"fmt"

	slackgo "github.com/slack-go/slack"

	"github.com/callytics/tracebot/bot"
)

// CheckChannel verifies that the bot can post in channel: the channel exists
// and the bot is a member (conversations.info, scope channels:read or
// groups:read). The error wraps bot.ErrCannotPost when it cannot.
func (e *Edge) CheckChannel(ctx context.Context, channel string) error {
	var info *slackgo.Channel
	err := e.call(ctx, "conversations.info", channel, func(api *slackgo.Client) error {
		var err error
		info, err = api.GetConversationInfoContext(ctx, &slackgo.GetConversationInfoInput{ChannelID: channel})
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case info.IsArchived:
		return fmt.Errorf("slack %s: the channel is archived: %w", channel, bot.ErrCannotPost)
	case !info.IsMember:
		return fmt.Errorf("slack %s (#%s): the bot is not a member; /invite @tracebot there: %w", channel, info.Name, bot.ErrCannotPost)
	}
	return nil
}
