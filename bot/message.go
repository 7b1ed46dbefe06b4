// Package bot puts tracebot in chat: the platform-neutral core. Each platform's
// package (bot/slack, bot/lark) turns what arrives into one Message or Action for
// the Bot and implements Poster by rendering the one Reply model (its markup read
// by Tokens) to Block Kit or a Lark card. The Bot in between holds the flow —
// dedupe, permissions, rate limits, the worker pool, progress, reprocess, reports
// across calls, the Model output answer — and no lookup logic; Alerts schedules
// the alert posts. Its own records live in bot/state. The core imports no
// platform.
//
// A new button is an Act* kind (DecodeActionValue and the Bot's action table); a
// new answer is a builder in replies*.go (or alert_replies.go) with its sentences
// in i18n.go and a golden under testdata/replies; a new platform is a package
// beside slack and lark.
package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/callytics/tracebot/lookup"
)

// Platform names a chat platform.
type Platform string

// Platforms.
const (
	Slack Platform = "slack"
	Lark  Platform = "lark"
)

// Name is how people write the platform: "Slack", "Lark".
func (p Platform) Name() string {
	switch p {
	case Slack:
		return "Slack"
	case Lark:
		return "Lark"
	}
	return string(p)
}

// Source says how a request reached the bot.
type Source string

// Sources.
const (
	SourceCommand  Source = "command"  // Slack /trace: answered under a new root message
	SourceMention  Source = "mention"  // @bot with a pasted report
	SourceDM       Source = "dm"       // a direct message
	SourceShortcut Source = "shortcut" // the "Trace this report" message shortcut
)

// Message is one request to trace, whatever platform it came from.
type Message struct {
	Platform   Platform
	Source     Source
	DeliveryID string // dedupe key (Slack event_id / trigger_id, Lark event_id); empty: no dedupe
	Channel    string
	// Thread is the message to answer under. Empty for a slash command: the bot posts a
	// root message in Channel first and answers under it.
	Thread string
	// MessageID is the triggering message itself (Lark replies to it).
	MessageID   string
	User        string
	Text        string
	ResponseURL string // Slack: where a private answer can go when posting fails
}

// Ref names a posted message.
type Ref struct {
	Channel string
	Thread  string // the thread it is in ("" for a root message)
	ID      string // Slack ts, Lark message_id
}

// ThreadRef is the thread a message heads or belongs to.
func (r Ref) ThreadRef() Ref {
	if r.Thread != "" {
		return Ref{Channel: r.Channel, Thread: r.Thread}
	}
	return Ref{Channel: r.Channel, Thread: r.ID}
}

// Poster talks back on one platform. Errors wrap ErrCannotPost when the bot may not
// post in that channel (Slack not_in_channel / channel_not_found, Lark no permission).
type Poster interface {
	// Post sends r in to.Channel, under to.Thread when set (Lark: as a reply to
	// to.Thread with reply_in_thread). dedupeKey, when set, makes a retried send
	// idempotent where the platform supports it (Lark uuid).
	Post(ctx context.Context, to Ref, r Reply, dedupeKey string) (Ref, error)
	// Update replaces the content of a message the bot posted.
	Update(ctx context.Context, msg Ref, r Reply) error
	// Private answers only the requester of m (Slack ephemeral or response_url; Lark:
	// a direct message).
	Private(ctx context.Context, m Message, r Reply) error
}

// GroupResolver is implemented by posters whose platform has user groups, so
// TRACEBOT_REPROCESS_ALLOWED may name groups.
type GroupResolver interface {
	// InGroup reports whether user belongs to group.
	InGroup(ctx context.Context, group, user string) (bool, error)
}

// ErrCannotPost is wrapped by Poster errors that mean "not allowed in that channel".
var ErrCannotPost = fmt.Errorf("cannot post in this channel")

// Action is a button click, whatever platform it came from.
type Action struct {
	Platform    Platform
	DeliveryID  string // dedupe key for the click
	Message     Ref    // the message that carries the button
	User        string
	ResponseURL string
	Value       ActionValue
}

// Action kinds.
const (
	ActTraceCall = "trace_call" // one of several candidates
	ActWiden     = "widen"      // ±6h around the same time
	ActLastWeek  = "last_week"  // the number over the last 7 days
	ActRefresh   = "refresh"    // re-run steps 3–4 in place
	ActReprocess = "reprocess"
	ActEscalate  = "escalate"
	// ActModelOutput shows the clicker, privately, each stage's stored answer and
	// input excerpt (SPEC §11); the value's Refs name the stages.
	ActModelOutput = "model_output"
	ActReport      = "report" // run the report the value's Report names, in the button's thread
	ActMute        = "mute"   // an alert's Mute 24h
)

// ActionValue is the typed JSON carried by a button.
type ActionValue struct {
	Action    string     `json:"a"`
	SessionID string     `json:"s,omitempty"`
	StoreID   string     `json:"st,omitempty"`
	Phone     string     `json:"p,omitempty"`
	At        *time.Time `json:"at,omitempty"`
	Zone      string     `json:"z,omitempty"`
	Direction string     `json:"d,omitempty"`
	TraceID   string     `json:"t,omitempty"`
	// Refs name the stages whose stored content a Model output button shows.
	Refs []lookup.ContentRef `json:"c,omitempty"`
	// Report is the report an ActReport button runs.
	Report *ReportValue `json:"r,omitempty"`
	// An alert's buttons: its rule, subject (stage or backend) and episode.
	Rule    string `json:"rl,omitempty"`
	Subject string `json:"sb,omitempty"`
	Episode string `json:"e,omitempty"`
}

// Encode returns the value as a button payload.
func (v ActionValue) Encode() string {
	b, _ := json.Marshal(v) // cannot fail: plain strings, a time and refs of strings
	return string(b)
}

// ActionKinds are the actions a button may carry; the Bot handles each.
var ActionKinds = []string{ActTraceCall, ActWiden, ActLastWeek, ActRefresh, ActReprocess, ActEscalate, ActModelOutput, ActReport, ActMute}

// DecodeActionValue reads a button payload. Unknown actions are an error.
func DecodeActionValue(s string) (ActionValue, error) {
	var v ActionValue
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return v, fmt.Errorf("action value: %w", err)
	}
	if !slices.Contains(ActionKinds, v.Action) {
		return v, fmt.Errorf("action value: unknown action %q", v.Action)
	}
	return v, nil
}
