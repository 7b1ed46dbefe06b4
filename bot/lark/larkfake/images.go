package larkfake

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif"  // Lark takes GIF
	_ "image/jpeg" // and JPEG
	_ "image/png"  // and PNG images (among others the fake does not need)
	"io"
	"net/http"
	"slices"
)

// This file is POST /open-apis/im/v1/images: a multipart upload (image_type
// "message" or "avatar", the image bytes in field "image") that answers an
// image_key, which cards then show with an img element. As Lark does, the fake
// refuses an empty or oversized image, one it cannot read as an image, and a card
// whose img element names a key it never issued.

// OpImage is the image upload, for Fail.
const OpImage Op = "im.image.create"

// MaxImage is the largest image Lark accepts (10 MB).
const MaxImage = 10 << 20

// Lark's answers to a bad upload.
const (
	CodeImageInvalid = 234001 // not an image Lark can read, or a bad image_type
	CodeImageTooBig  = 234006
	CodeImageEmpty   = 234010
)

// Image is an image the bot uploaded.
type Image struct {
	Key     string
	Type    string // image_type: "message"
	Content []byte
	Format  string // as decoded: "png", "jpeg", "gif"
	Width   int
	Height  int
}

// Images returns the images uploaded, in order.
func (s *Server) Images() []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Image, len(s.images))
	for i, img := range s.images {
		out[i] = img
		out[i].Content = slices.Clone(img.Content)
	}
	return out
}

// knownImage reports whether key is an image the fake issued; the caller holds s.mu.
func (s *Server) knownImage(key string) bool {
	return slices.ContainsFunc(s.images, func(img Image) bool { return img.Key == key })
}

func (s *Server) serveImage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(MaxImage + 1<<20); err != nil {
		answer(w, http.StatusBadRequest, CodeInvalidParam, "invalid multipart body", nil)
		return
	}
	typ := r.FormValue("image_type")
	if typ != "message" && typ != "avatar" {
		answer(w, http.StatusBadRequest, CodeImageInvalid, "invalid image_type "+fmt.Sprintf("%q", typ), nil)
		return
	}
	part, _, err := r.FormFile("image")
	if err != nil {
		answer(w, http.StatusBadRequest, CodeInvalidParam, "image is required", nil)
		return
	}
	defer part.Close()
	content, err := io.ReadAll(io.LimitReader(part, MaxImage+1))
	switch {
	case err != nil:
		answer(w, http.StatusBadRequest, CodeInvalidParam, "unreadable image", nil)
		return
	case len(content) == 0:
		answer(w, http.StatusBadRequest, CodeImageEmpty, "The image is empty.", nil)
		return
	case len(content) > MaxImage:
		answer(w, http.StatusBadRequest, CodeImageTooBig, "The image exceeds 10 MB.", nil)
		return
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(content))
	if err != nil {
		answer(w, http.StatusBadRequest, CodeImageInvalid, "not an image: "+err.Error(), nil)
		return
	}
	s.mu.Lock()
	s.seq++
	img := Image{Key: fmt.Sprintf("img_v3_fake%04d", s.seq), Type: typ, Content: content, Format: format, Width: cfg.Width, Height: cfg.Height}
	s.images = append(s.images, img)
	s.mu.Unlock()
	answer(w, http.StatusOK, CodeOK, "success", map[string]any{"data": map[string]any{"image_key": img.Key}})
}
