package slackfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode envelope types (https://docs.slack.dev/apis/events-api/using-socket-mode).
const (
	EnvelopeEventsAPI     = "events_api"
	EnvelopeSlashCommands = "slash_commands"
	EnvelopeInteractive   = "interactive"
)

// Envelope is one Socket Mode request the fake sends to a connected app.
type Envelope struct {
	Type         string // EnvelopeEventsAPI, EnvelopeSlashCommands or EnvelopeInteractive
	Payload      any    // marshalled to JSON: an event callback, a command or an interaction
	EnvelopeID   string // "" → a new id
	RetryAttempt int    // events_api: how many times Slack already tried
	RetryReason  string // e.g. "timeout"
}

// socketState is the Socket Mode side of the fake.
type socketState struct {
	mu      sync.Mutex
	seq     int
	tickets map[string]bool
	conns   []*socketConn
	next    int // round robin over conns, as Slack spreads envelopes over an app's connections
	acks    map[string]json.RawMessage
	ping    time.Duration
	closed  bool
}

type socketConn struct {
	ws       *websocket.Conn
	wmu      sync.Mutex // gorilla connections take one writer at a time
	done     chan struct{}
	draining bool // asked to reconnect: Slack sends it nothing more (guarded by socketState.mu)
}

func (st *socketState) init() {
	st.tickets = map[string]bool{}
	st.acks = map[string]json.RawMessage{}
}

// newURL hands out a single-use WebSocket URL (apps.connections.open).
func (st *socketState) newURL(base string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.seq++
	ticket := "t" + strconv.Itoa(st.seq)
	st.tickets[ticket] = true
	return "ws" + strings.TrimPrefix(base, "http") + "/socket/" + ticket
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	st := &s.sock
	ticket := r.PathValue("id")
	st.mu.Lock()
	ok := st.tickets[ticket] && !st.closed
	delete(st.tickets, ticket)
	st.ping = s.cfg.PingInterval
	st.mu.Unlock()
	if !ok {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}
	hello := map[string]any{"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": DefaultAppID},
		"debug_info":      map[string]any{"host": "slackfake", "approximate_connection_time": 3600}}
	if err := c.writeJSON(hello); err != nil {
		_ = ws.Close()
		return
	}
	if !st.add(c) {
		_ = ws.Close()
		return
	}
	go st.pingLoop(c)
	st.readLoop(c)
}

func (c *socketConn) writeJSON(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

// add registers c, unless the fake is closing.
func (st *socketState) add(c *socketConn) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return false
	}
	st.conns = append(st.conns, c)
	return true
}

func (st *socketState) remove(c *socketConn) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.conns = slices.DeleteFunc(st.conns, func(x *socketConn) bool { return x == c })
}

// readLoop records the app's acknowledgements until the connection ends.
func (st *socketState) readLoop(c *socketConn) {
	defer func() {
		st.remove(c)
		close(c.done)
		_ = c.ws.Close()
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		st.mu.Lock()
		st.acks[ack.EnvelopeID] = ack.Payload
		st.mu.Unlock()
	}
}

func (st *socketState) pingLoop(c *socketConn) {
	st.mu.Lock()
	every := st.ping
	st.mu.Unlock()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
			c.wmu.Lock()
			err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
			c.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

func (st *socketState) closeAll() {
	st.mu.Lock()
	st.closed = true
	conns := slices.Clone(st.conns)
	st.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
		<-c.done
	}
}

// ErrNoSocket is returned by SendEnvelope when no app is connected.
var ErrNoSocket = errors.New("slackfake: no Socket Mode connection")

// SendEnvelope sends e to one connected app (round robin over the connections,
// as Slack does with several) and returns its envelope id.
func (s *Server) SendEnvelope(e Envelope) (string, error) {
	st := &s.sock
	st.mu.Lock()
	active := st.active()
	if len(active) == 0 {
		st.mu.Unlock()
		return "", ErrNoSocket
	}
	c := active[st.next%len(active)]
	st.next++
	if e.EnvelopeID == "" {
		st.seq++
		e.EnvelopeID = fmt.Sprintf("env-%04d", st.seq)
	}
	st.mu.Unlock()
	msg := map[string]any{"envelope_id": e.EnvelopeID, "type": e.Type, "payload": e.Payload,
		"accepts_response_payload": e.Type != EnvelopeEventsAPI,
		"retry_attempt":            e.RetryAttempt, "retry_reason": e.RetryReason}
	if err := c.writeJSON(msg); err != nil {
		return "", fmt.Errorf("slackfake: send envelope: %w", err)
	}
	return e.EnvelopeID, nil
}

// active lists the connections envelopes may go to; the caller holds st.mu.
func (st *socketState) active() []*socketConn {
	var out []*socketConn
	for _, c := range st.conns {
		if !c.draining {
			out = append(out, c)
		}
	}
	return out
}

// RequestDisconnect asks every connected app to reconnect, as Slack does before
// it rotates its servers; no envelope goes to those connections afterwards.
func (s *Server) RequestDisconnect() {
	st := &s.sock
	st.mu.Lock()
	conns := slices.Clone(st.conns)
	for _, c := range conns {
		c.draining = true
	}
	st.mu.Unlock()
	for _, c := range conns {
		_ = c.writeJSON(map[string]any{"type": "disconnect", "reason": "refresh_requested"})
	}
}

// Acked reports whether the app acknowledged the envelope, and the ack's payload.
func (s *Server) Acked(envelopeID string) (json.RawMessage, bool) {
	st := &s.sock
	st.mu.Lock()
	defer st.mu.Unlock()
	p, ok := st.acks[envelopeID]
	return p, ok
}

// SocketConnections is how many Socket Mode connections are open and not asked
// to reconnect.
func (s *Server) SocketConnections() int {
	st := &s.sock
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.active())
}

// WaitAck fails tb unless the envelope is acknowledged within timeout.
func (s *Server) WaitAck(tb testing.TB, envelopeID string, timeout time.Duration) {
	tb.Helper()
	s.Wait(tb, timeout, "ack of "+envelopeID, func() bool {
		_, ok := s.Acked(envelopeID)
		return ok
	})
}

// WaitSockets fails tb unless n Socket Mode connections are open within timeout.
func (s *Server) WaitSockets(tb testing.TB, n int, timeout time.Duration) {
	tb.Helper()
	s.Wait(tb, timeout, fmt.Sprintf("%d socket connections", n), func() bool { return s.SocketConnections() >= n })
}
