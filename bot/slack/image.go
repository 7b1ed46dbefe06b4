package slack

import (
	"bytes"
	"context"
	"errors"

	slackgo "github.com/slack-go/slack"

	"github.com/callytics/tracebot/bot"
)

// methodUpload names the external upload flow in errors and metrics.
const methodUpload = "files.uploadExternal"

var _ bot.ImagePoster = (*Edge)(nil)

// PostImage uploads img into to.Channel, in the thread to.Thread when set, with
// Slack's external upload flow (files.getUploadURLExternal, the upload,
// files.completeUploadExternal; scope files:write) through slack-go. A rate limit
// on any step is waited out and the flow starts again (nothing was shared). Errors
// wrap ErrCannotPost when Slack answers not_in_channel and the like; a transport
// error never quotes the upload URL.
func (e *Edge) PostImage(ctx context.Context, to bot.Ref, img bot.Image) error {
	if len(img.PNG) == 0 {
		return errors.New("slack " + methodUpload + ": the image is empty")
	}
	return e.call(ctx, methodUpload, to.Channel, func(api *slackgo.Client) error {
		_, err := api.UploadFileContext(ctx, slackgo.UploadFileParameters{
			Channel: to.Channel, ThreadTimestamp: to.Thread, Filename: img.Filename, FileSize: len(img.PNG),
			Reader: bytes.NewReader(img.PNG), Title: img.Title, AltTxt: img.AltText,
		})
		return withoutURL(err)
	})
}
