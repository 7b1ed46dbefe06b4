package slack

import (
	"context"
	"fmt"

	slackgo "github.com/slack-go/slack"

	"github.com/callytics/tracebot/bot"
)

// CheckChannel verifies that the bot can post in channel (conversations.info,
// scopes channels:read and groups:read): the channel exists, is not archived,
// and the bot is a member — or, for a public channel, may post there without
// being one (chat:write.public, which the manifest asks for). It returns what
// it found; the error wraps bot.ErrCannotPost when the bot cannot post.
func (e *Edge) CheckChannel(ctx context.Context, channel string) (string, error) {
	var info *slackgo.Channel
	err := e.call(ctx, "conversations.info", channel, func(api *slackgo.Client) error {
		var err error
		info, err = api.GetConversationInfoContext(ctx, &slackgo.GetConversationInfoInput{ChannelID: channel})
		return err
	})
	if err != nil {
		return "", err
	}
	switch {
	case info.IsArchived:
		return "", fmt.Errorf("slack %s: the channel is archived: %w", channel, bot.ErrCannotPost)
	case !info.IsMember && info.IsPrivate:
		return "", fmt.Errorf("slack %s (#%s): the bot is not a member of this private channel; /invite @tracebot there: %w",
			channel, info.Name, bot.ErrCannotPost)
	case !info.IsMember:
		return "#" + info.Name + ": public, the bot is not a member and posts with chat:write.public (/invite @tracebot to be sure)", nil
	}
	return "#" + info.Name + ": the bot is a member", nil
}
