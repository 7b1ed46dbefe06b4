package larkfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	larkws "github.com/larksuite/oapi-sdk-go/v3/ws"
)

// This file fakes the long connection: POST /callback/ws/endpoint hands out a
// websocket URL (checking the app's credentials), and GET /ws speaks the SDK's
// frames: it answers pings with pongs, and PushEvent sends an event as a data
// frame and waits for the client's answer frame.

// wsServiceID is the service id the gateway hands out.
const wsServiceID = "7"

// WSAnswer is the client's answer to a pushed event.
type WSAnswer struct {
	Code int    // 200, or 500 when the handler failed
	Data []byte // the callback's answer (card actions), or nil
}

type gateway struct {
	s        *Server
	upgrader websocket.Upgrader

	mu       sync.Mutex
	conns    map[*wsConn]bool
	accepted int
	changed  chan struct{} // closed and replaced whenever accepted changes
	pending  map[string]chan WSAnswer
	seq      uint64
	devices  map[string]bool
}

type wsConn struct {
	c  *websocket.Conn
	mu sync.Mutex // serialises writes
}

func (c *wsConn) write(f *larkws.Frame) error {
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.c.WriteMessage(websocket.BinaryMessage, b)
}

func newGateway(s *Server) *gateway {
	return &gateway{
		s:        s,
		upgrader: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		conns:    map[*wsConn]bool{}, changed: make(chan struct{}), pending: map[string]chan WSAnswer{},
		devices: map[string]bool{},
	}
}

// serveEndpoint answers the bootstrap request with a websocket URL on this server.
func (g *gateway) serveEndpoint(w http.ResponseWriter, r *http.Request) {
	if f := g.s.takeFault(OpWSStart); f != nil {
		answer(w, f.status, f.code, f.msg, nil)
		return
	}
	var in larkws.BootstrapRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.AppID != g.s.opts.AppID || in.AppSecret != g.s.opts.AppSecret {
		answer(w, http.StatusOK, CodeAppSecretInvalid, "app secret invalid", nil)
		return
	}
	g.mu.Lock()
	g.seq++
	device := "d" + strconv.FormatUint(g.seq, 10)
	g.devices[device] = true
	g.mu.Unlock()
	u := "ws" + strings.TrimPrefix(g.s.srv.URL, "http") + "/ws?device_id=" + device + "&service_id=" + wsServiceID
	answer(w, http.StatusOK, CodeOK, "ok", map[string]any{"data": map[string]any{
		"URL": u,
		"ClientConfig": map[string]int{
			"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 120,
		},
	}})
}

// serveSocket runs one long connection until either side closes it.
func (g *gateway) serveSocket(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	known := g.devices[r.URL.Query().Get("device_id")]
	g.mu.Unlock()
	if !known {
		w.Header().Set("Handshake-Status", "403")
		w.Header().Set("Handshake-Msg", "unknown device")
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	c, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn := &wsConn{c: c}
	g.mu.Lock()
	g.conns[conn] = true
	g.accepted++
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.conns, conn)
		g.mu.Unlock()
		_ = c.Close()
	}()
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return
		}
		g.onFrame(conn, b)
	}
}

// onFrame answers a ping, or hands an answer frame to the PushEvent waiting for it.
func (g *gateway) onFrame(conn *wsConn, b []byte) {
	var f larkws.Frame
	if f.Unmarshal(b) != nil {
		return
	}
	hs := larkws.Headers(f.Headers)
	switch larkws.FrameType(f.Method) {
	case larkws.FrameTypeControl:
		if hs.GetString(larkws.HeaderType) == string(larkws.MessageTypePing) {
			pong := larkws.Frame{Method: int32(larkws.FrameTypeControl), Service: f.Service}
			pong.Headers = append(pong.Headers, larkws.Header{Key: larkws.HeaderType, Value: string(larkws.MessageTypePong)})
			_ = conn.write(&pong)
		}
	case larkws.FrameTypeData:
		g.s.addRequest(Request{Method: "WS", Path: "/ws", Body: append([]byte(nil), f.Payload...)})
		var resp larkws.Response
		_ = json.Unmarshal(f.Payload, &resp)
		g.mu.Lock()
		ch := g.pending[hs.GetString(larkws.HeaderMessageID)]
		g.mu.Unlock()
		if ch != nil {
			ch <- WSAnswer{Code: resp.StatusCode, Data: resp.Data}
		}
	}
}

// WaitWSConnections waits until the gateway has accepted n connections in all.
func (s *Server) WaitWSConnections(ctx context.Context, n int) error {
	g := s.ws
	for {
		g.mu.Lock()
		got, changed := g.accepted, g.changed
		g.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("larkfake: %d long connections, want %d: %w", got, n, ctx.Err())
		}
	}
}

// WSConnections is how many long connections the gateway accepted in all, and
// how many are open now.
func (s *Server) WSConnections() (accepted, open int) {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	return s.ws.accepted, len(s.ws.conns)
}

// DropWSConnections closes every open long connection, as a network failure would.
func (s *Server) DropWSConnections() { s.ws.closeAll() }

func (g *gateway) closeAll() {
	g.mu.Lock()
	conns := make([]*wsConn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		_ = c.c.Close()
	}
}

// PushEvent sends payload (an event or callback, as JSON) over an open long
// connection and returns the client's answer.
func (s *Server) PushEvent(ctx context.Context, payload []byte) (WSAnswer, error) {
	g := s.ws
	g.mu.Lock()
	var conn *wsConn
	for c := range g.conns {
		conn = c
		break
	}
	g.seq++
	id := "msg-" + strconv.FormatUint(g.seq, 10)
	ch := make(chan WSAnswer, 1)
	g.pending[id] = ch
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.pending, id)
		g.mu.Unlock()
	}()
	if conn == nil {
		return WSAnswer{}, errors.New("larkfake: no open long connection")
	}
	f := larkws.Frame{Method: int32(larkws.FrameTypeData), Service: 7, SeqID: g.seqID(), Payload: payload}
	for _, h := range [][2]string{
		{larkws.HeaderType, string(larkws.MessageTypeEvent)}, {larkws.HeaderMessageID, id},
		{larkws.HeaderSum, "1"}, {larkws.HeaderSeq, "0"}, {larkws.HeaderTraceID, "trace-" + id},
	} {
		f.Headers = append(f.Headers, larkws.Header{Key: h[0], Value: h[1]})
	}
	if err := conn.write(&f); err != nil {
		return WSAnswer{}, fmt.Errorf("larkfake: push event: %w", err)
	}
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		return WSAnswer{}, fmt.Errorf("larkfake: no answer to the pushed event: %w", ctx.Err())
	}
}

func (g *gateway) seqID() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seq
}
