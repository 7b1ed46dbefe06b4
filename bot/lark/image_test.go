package lark

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"testing"

	"github.com/callytics/tracebot/bot/lark/larkfake"

	"github.com/callytics/tracebot/bot"
)

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 800, 400))
	img.Set(10, 10, color.Black)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// PostImage uploads through the SDK and shows the image in a card in the thread;
// a refused upload posts nothing.
func TestPostImageInThread(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	h.fake.AddMessage("oc_1", "om_user")
	pic := testPNG(t)
	err := h.edge.PostImage(ctx, bot.Ref{Channel: "oc_1", Thread: "om_user"}, bot.Image{PNG: pic, Filename: "c.png",
		Title: "Cache hit rate <per hour>", AltText: "line chart"})
	if err != nil {
		t.Fatal(err)
	}
	images := h.fake.Images()
	if len(images) != 1 || images[0].Type != "message" || images[0].Format != "png" || !bytes.Equal(images[0].Content, pic) {
		t.Fatalf("images: %+v", images)
	}
	sent := h.sentTo("om_user")
	if len(sent) != 1 || !sent[0].ReplyInThread {
		t.Fatalf("want one reply in the thread, got %+v", sent)
	}
	card := cardOf(t, sent[0])
	if keys := card.ImageKeys(); len(keys) != 1 || keys[0] != images[0].Key {
		t.Errorf("card images %v, want %s", keys, images[0].Key)
	}
	if el := card.Elements[0]; el.Alt == nil || el.Alt.Content != "line chart" || el.Title == nil || el.Title.Content != "**Cache hit rate &lt;per hour&gt;**" {
		t.Errorf("img element: %+v", el)
	}

	h.fake.Fail(larkfake.OpImage, 99991672, http.StatusBadRequest, 1, "Access denied: im:resource")
	err = h.edge.PostImage(ctx, bot.Ref{Channel: "oc_1", Thread: "om_user"}, bot.Image{PNG: pic, Filename: "c.png"})
	if !errors.Is(err, bot.ErrCannotPost) {
		t.Errorf("upload without the scope: %v", err)
	}
	if n := len(h.sentTo("om_user")); n != 1 {
		t.Errorf("a failed upload posted a card: %d replies", n)
	}
	if err := h.edge.PostImage(ctx, bot.Ref{Channel: "oc_1"}, bot.Image{PNG: []byte("not a picture")}); err == nil {
		t.Error("the fake must refuse what is not an image")
	}
}
