package lark

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	larksdk "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"

	"github.com/callytics/tracebot/bot"
)

// methodEphemeral sends a card only one member of a group chat sees.
const methodEphemeral = "ephemeral.send"

var _ bot.EphemeralPoster = (*Edge)(nil)

// Ephemeral shows r to m.User alone in the group chat m.Channel, as a card Lark
// marks "only visible to you" (POST /open-apis/ephemeral/v1/send; the bot's
// im:message scope, the bot in the chat). Lark keeps it out of the chat's history
// and shows it on the user's online clients only. It works in ordinary group
// chats: Lark refuses it in a direct chat or a topic group, and the core then
// answers with Private (a direct message). The call carries no idempotency key,
// so only a refusal that certainly sent nothing (rate limit, server error) is
// tried again.
func (e *Edge) Ephemeral(ctx context.Context, m bot.Message, r bot.Reply) error {
	if m.Channel == "" || m.User == "" {
		return fmt.Errorf("lark %s: no chat or user to show the card to", methodEphemeral)
	}
	req := &larkcore.ApiReq{HttpMethod: http.MethodPost, ApiPath: "/open-apis/ephemeral/v1/send",
		Body: map[string]any{"chat_id": m.Channel, "open_id": m.User, "msg_type": msgTypeInteractive,
			"card": json.RawMessage(cardContent(r, e.cfg.Lang))},
		PathParams: larkcore.PathParams{}, QueryParams: larkcore.QueryParams{},
		SupportedAccessTokenTypes: []larkcore.AccessTokenType{larkcore.AccessTokenTypeTenant}}
	return e.call(ctx, methodEphemeral, false, func(ctx context.Context, c *larksdk.Client) (*larkcore.ApiResp, larkcore.CodeError, error) {
		resp, err := c.Do(ctx, req)
		if err != nil {
			return resp, larkcore.CodeError{}, err
		}
		var out larkcore.CodeError
		if err := json.Unmarshal(resp.RawBody, &out); err != nil {
			return resp, larkcore.CodeError{}, fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
		}
		return resp, out, nil
	})
}
