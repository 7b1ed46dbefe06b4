package lark

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	larksdk "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"github.com/callytics/tracebot/bot"
)

// methodImage names the image upload in errors and metrics.
const methodImage = "im.image.create"

var _ bot.ImagePoster = (*Edge)(nil)

// PostImage uploads img (POST /open-apis/im/v1/images, image_type message; scope
// im:resource) and shows it in a card with an img element: a reply in the thread
// of to.Thread when set, else a new message in chat to.Channel. The card's caption
// and alt text are img's. Errors wrap ErrCannotPost as Post's do; an upload that
// failed posts nothing.
func (e *Edge) PostImage(ctx context.Context, to bot.Ref, img bot.Image) error {
	if len(img.PNG) == 0 {
		return errors.New("lark " + methodImage + ": the image is empty")
	}
	key, err := e.uploadImage(ctx, img.PNG)
	if err != nil {
		return err
	}
	content := string(marshal(imageCard{Config: cardConfig{WideScreenMode: true, UpdateMulti: true},
		Elements: []imageElement{{Tag: "img", ImgKey: key, Mode: "fit_horizontal", Preview: true,
			Alt:   textObject{Tag: "plain_text", Content: img.AltText},
			Title: &textObject{Tag: "lark_md", Content: "**" + escape(img.Title) + "**"}}}}))
	d := destination{parent: to.Thread}
	if to.Thread == "" {
		if to.Channel == "" {
			return fmt.Errorf("lark %s: no chat to post the image in", methodCreate)
		}
		d = destination{idType: receiveIDChat, receiver: to.Channel}
	}
	_, _, err = e.send(ctx, d, content, "")
	return err
}

// uploadImage uploads png as a message image and returns its image_key. An upload
// may be tried again (each attempt gets a key of its own; unused ones cost
// nothing).
func (e *Edge) uploadImage(ctx context.Context, png []byte) (string, error) {
	var key string
	err := e.call(ctx, methodImage, true, func(ctx context.Context, c *larksdk.Client) (*larkcore.ApiResp, larkcore.CodeError, error) {
		req := larkim.NewCreateImageReqBuilder().Body(larkim.NewCreateImageReqBodyBuilder().
			ImageType(larkim.CreateImageImageTypeMessage).Image(bytes.NewReader(png)).Build()).Build()
		resp, err := c.Im.Image.Create(ctx, req)
		if err != nil {
			return nil, larkcore.CodeError{}, err
		}
		if resp.Data != nil {
			key = deref(resp.Data.ImageKey)
		}
		return resp.ApiResp, resp.CodeError, nil
	})
	if err == nil && key == "" {
		err = fmt.Errorf("lark %s: no image_key in the answer", methodImage)
	}
	return key, err
}

// imageCard is a card that shows one uploaded image.
type imageCard struct {
	Config   cardConfig     `json:"config"`
	Elements []imageElement `json:"elements"`
}

// imageElement is a card's img element.
type imageElement struct {
	Tag     string      `json:"tag"`
	ImgKey  string      `json:"img_key"`
	Alt     textObject  `json:"alt"`
	Title   *textObject `json:"title,omitempty"`
	Mode    string      `json:"mode,omitempty"`
	Preview bool        `json:"preview"`
}
