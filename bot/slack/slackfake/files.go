package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// This file is Slack's external file upload (files.upload is retired):
//
//  1. files.getUploadURLExternal(filename, length[, alt_txt]) → upload_url, file_id
//  2. POST upload_url, the file as multipart field "file" (slack-go also sends the
//     bot token, which is why the URL shares the API URL's host)
//  3. files.completeUploadExternal(files=[{id, title}], channel_id[, thread_ts])
//     shares the file: it appears in the channel, or in the thread, as a message.
//
// As Slack does, the fake refuses a step out of order, a length that does not
// match the bytes uploaded, and sharing where the bot may not post.

// File is a file uploaded through the external flow.
type File struct {
	ID       string
	Name     string // filename given in step 1
	Length   int    // length given in step 1
	AltText  string
	Title    string // given in step 3
	Content  []byte // uploaded in step 2
	Channel  string // where step 3 shared it ("" while not shared)
	ThreadTS string // the thread it was shared in ("" for the channel)
	Shared   bool
}

// maxUpload bounds one uploaded file (Slack allows 1 GB; tests need far less).
const maxUpload = 32 << 20

// Files returns the files shared with files.completeUploadExternal, in order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, id := range s.fileOrder {
		if f := s.files[id]; f.Shared {
			c := *f
			c.Content = slices.Clone(f.Content)
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) getUploadURL(p map[string]string) map[string]any {
	n, err := strconv.Atoi(p["length"])
	if p["filename"] == "" || err != nil || n <= 0 {
		return fail("invalid_arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	f := &File{ID: fmt.Sprintf("F0FAKE%04d", s.seq), Name: p["filename"], Length: n, AltText: p["alt_txt"]}
	s.files[f.ID] = f
	s.fileOrder = append(s.fileOrder, f.ID)
	return map[string]any{"ok": true, "upload_url": s.srv.URL + "/upload/" + f.ID, "file_id": f.ID}
}

// serveUpload takes step 2: the file's bytes, as multipart field "file".
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	call := Call{Method: "upload", Params: map[string]string{"file_id": id}}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		call.Token = tok
	}
	status, body := s.upload(r, id, &call)
	call.Status = status
	if status != http.StatusOK {
		call.Error = body
	}
	s.mu.Lock()
	s.record(call)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (s *Server) upload(r *http.Request, id string, call *Call) (int, string) {
	if err := r.ParseMultipartForm(maxUpload); err != nil {
		return http.StatusBadRequest, "invalid multipart body"
	}
	part, hdr, err := r.FormFile("file")
	if err != nil {
		return http.StatusBadRequest, "no file field"
	}
	defer part.Close()
	content, err := io.ReadAll(io.LimitReader(part, maxUpload))
	if err != nil {
		return http.StatusBadRequest, "unreadable file"
	}
	call.Params["filename"], call.Params["bytes"] = hdr.Filename, strconv.Itoa(len(content))
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	switch {
	case !ok:
		return http.StatusNotFound, "unknown upload url"
	case f.Content != nil:
		return http.StatusBadRequest, "already uploaded"
	case len(content) != f.Length:
		return http.StatusBadRequest, fmt.Sprintf("length %d given, %d bytes uploaded", f.Length, len(content))
	}
	f.Content = content
	return http.StatusOK, fmt.Sprintf("OK - %d", len(content))
}

func (s *Server) completeUpload(p map[string]string) map[string]any {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p["files"]), &files); err != nil || len(files) == 0 {
		return fail("invalid_arguments")
	}
	ch, thread := p["channel_id"], p["thread_ts"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := s.channelFault[ch]; code != "" && ch != "" {
		return fail(code)
	}
	for _, in := range files {
		if f, ok := s.files[in.ID]; !ok || f.Content == nil || f.Shared {
			return fail("file_not_found")
		}
	}
	out := make([]map[string]any, 0, len(files))
	var ids []string
	for _, in := range files {
		f := s.files[in.ID]
		f.Title, f.Channel, f.ThreadTS, f.Shared = in.Title, ch, thread, true
		ids = append(ids, f.ID)
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	if ch != "" {
		s.messages = append(s.messages, &Message{Channel: ch, ThreadTS: thread, User: s.cfg.BotUserID, BotID: s.cfg.BotID,
			Text: p["initial_comment"], TS: s.nextTS(), Files: ids})
	}
	return map[string]any{"ok": true, "files": out}
}
