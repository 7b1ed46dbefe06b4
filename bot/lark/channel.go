package lark

import (
	"context"
	"fmt"

	larksdk "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"github.com/callytics/tracebot/bot"
)

const methodIsInChat = "im.chat.members.is_in_chat"

// CheckChannel verifies that the bot is in the chat (GET
// /open-apis/im/v1/chats/:chat_id/members/is_in_chat with the tenant token, which
// asks about the bot itself; scope im:chat:readonly). It returns what it found;
// the error wraps bot.ErrCannotPost when the bot is not in the chat.
func (e *Edge) CheckChannel(ctx context.Context, chat string) (string, error) {
	var in *bool
	err := e.call(ctx, methodIsInChat, true, func(ctx context.Context, c *larksdk.Client) (*larkcore.ApiResp, larkcore.CodeError, error) {
		resp, err := c.Im.ChatMembers.IsInChat(ctx, larkim.NewIsInChatChatMembersReqBuilder().ChatId(chat).Build())
		if err != nil {
			return nil, larkcore.CodeError{}, err
		}
		if resp.Data != nil {
			in = resp.Data.IsInChat
		}
		return resp.ApiResp, resp.CodeError, nil
	})
	if err != nil {
		return "", err
	}
	if in == nil || !*in {
		return "", fmt.Errorf("lark %s: the bot is not in the chat; add it in the group's settings → Bots: %w", chat, bot.ErrCannotPost)
	}
	return "the bot is in the chat", nil
}
