// Package state holds the bot's own records: the chat deliveries it handled, the
// reprocess requests with their cooldowns, and the traces it ran. Memory keeps
// them in the process (one replica); Postgres shares them between replicas, with
// exactly-once claims enforced by the database. The package knows no chat
// platform and nothing of the bot's flows: it stores what it is given.
package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store is the bot's shared state (SPEC §5, §9): handled chat deliveries, reprocess
// records with their cooldowns, and trace records. With Postgres it is shared by
// replicas: cooldowns and delivery dedupe hold across processes. Implementations are
// safe for concurrent use.
type Store interface {
	// ClaimDelivery records that a chat delivery (Slack event_id / trigger_id / retry,
	// Lark event_id) is being handled. It returns false when the same (platform, id)
	// was already claimed within ttl. Atomic across replicas. It fails on an empty
	// platform or id, or a ttl that is not positive.
	ClaimDelivery(ctx context.Context, platform, id string, ttl time.Duration) (bool, error)

	// ClaimReprocess atomically takes the reprocess cooldown for rec.SessionID. It
	// returns ok=true when no other reprocess of that session is pending or succeeded
	// within cooldown: rec is then stored with Outcome ReprocessPending, the store's
	// clock as RequestedAt and a new ID, and returned. Otherwise ok=false and the
	// record holding the cooldown (who requested it and when) is returned. Exactly one
	// caller wins across goroutines and replicas. It fails on an empty session id or a
	// cooldown that is not positive.
	ClaimReprocess(ctx context.Context, rec ReprocessRecord, cooldown time.Duration) (ReprocessRecord, bool, error)

	// FinishReprocess records the outcome of a claimed reprocess. A refused or failed
	// request releases the cooldown (the button can be used again); a requested one
	// keeps it. It returns an error wrapping ErrNoPendingReprocess when id names no
	// record, or one already finished, and fails on an outcome other than requested, unknown,
	// refused or failed.
	FinishReprocess(ctx context.Context, id string, outcome ReprocessOutcome, awsRequestID, errMsg string) error

	// RecordTrace stores one trace record (successes and failures). A zero CreatedAt
	// is set to the store's clock.
	RecordTrace(ctx context.Context, rec TraceRecord) error

	// History returns recent traces and reprocesses matching q, newest first.
	History(ctx context.Context, q HistoryQuery) (History, error)

	// Ping reports whether the store can be reached.
	Ping(ctx context.Context) error

	// Close releases the store's resources. The store must not be used afterwards.
	Close()
}

// ErrNoPendingReprocess is returned (wrapped) by FinishReprocess when the id names no
// reprocess waiting for its outcome.
var ErrNoPendingReprocess = errors.New("no pending reprocess with that id")

// ReprocessOutcome is the state of one reprocess request.
type ReprocessOutcome string

// Reprocess outcomes. Refused and failed requests release the cooldown; pending and
// requested ones hold it until it expires.
const (
	// ReprocessPending: claimed, the request to the target is under way.
	ReprocessPending ReprocessOutcome = "pending"
	// ReprocessRequested: the target accepted the request.
	ReprocessRequested ReprocessOutcome = "requested"
	// ReprocessRefused: the target refused the request (e.g. AccessDenied).
	ReprocessRefused ReprocessOutcome = "refused"
	// ReprocessFailed: the request could not be made (timeout, network).
	ReprocessFailed ReprocessOutcome = "failed"
	// ReprocessUnknown: the target may have accepted it (timeout, dropped connection,
	// 5xx). It holds the cooldown, so a second click cannot start a second run.
	ReprocessUnknown ReprocessOutcome = "unknown"
)

// releasesCooldown reports whether a reprocess finished with o lets the session be
// reprocessed again at once.
func (o ReprocessOutcome) releasesCooldown() bool {
	return o == ReprocessRefused || o == ReprocessFailed
}

// validFinish reports whether o is an outcome FinishReprocess accepts.
func (o ReprocessOutcome) validFinish() bool {
	return o == ReprocessRequested || o == ReprocessUnknown || o.releasesCooldown()
}

// ReprocessRecord is one reprocess request: who asked, where, for which call, and
// what became of it.
type ReprocessRecord struct {
	ID           string // assigned by the store
	SessionID    string // telephony_session_id
	StoreID      string
	Platform     string // "slack" or "lark"
	Channel      string
	Thread       string
	RequestedBy  string // user id on Platform
	RequestedAt  time.Time
	Target       string // TRACEBOT_REPROCESS_TARGET
	Outcome      ReprocessOutcome
	AWSRequestID string // Lambda request id or SQS message id
	Error        string // why the request was refused or failed
	FinishedAt   *time.Time
}

// TraceRecord is one trace the bot ran, successful or not, with its step timings
// (the request record of seed 003).
type TraceRecord struct {
	TraceID  string
	Platform string
	Channel  string
	User     string
	// Input is the report with phone numbers masked: the caller masks.
	Input string
	// Phone is the normalized number, masked (+1914***4371).
	Phone      string
	SessionID  string
	Outcome    string
	FailedStep string
	Error      string

	CallsMS, LogsMS, GenerationsMS, TotalMS int64
	CreatedAt                               time.Time
}

// HistoryQuery selects records for History. Zero fields do not filter.
type HistoryQuery struct {
	User  string    // traces run by, and reprocesses requested by, this user
	Since time.Time // records at or after this instant
	// Limit caps each list; zero or less means DefaultHistoryLimit, and it is never
	// more than MaxHistoryLimit.
	Limit int
}

// History limits.
const (
	DefaultHistoryLimit = 50
	MaxHistoryLimit     = 1000
)

// limit returns the effective per-list limit of q.
func (q HistoryQuery) limit() int {
	switch {
	case q.Limit <= 0:
		return DefaultHistoryLimit
	case q.Limit > MaxHistoryLimit:
		return MaxHistoryLimit
	default:
		return q.Limit
	}
}

// History is what History returns: both lists newest first.
type History struct {
	Traces      []TraceRecord
	Reprocesses []ReprocessRecord
}

// validateDeliveryClaim checks the arguments of ClaimDelivery.
func validateDeliveryClaim(platform, id string, ttl time.Duration) error {
	if platform == "" || id == "" {
		return fmt.Errorf("state store: claim delivery: empty platform (%q) or id", platform)
	}
	if ttl <= 0 {
		return fmt.Errorf("state store: claim delivery: ttl %s is not positive", ttl)
	}
	return nil
}

// validateReprocessClaim checks the arguments of ClaimReprocess.
func validateReprocessClaim(rec ReprocessRecord, cooldown time.Duration) error {
	if rec.SessionID == "" {
		return errors.New("state store: claim reprocess: empty session id")
	}
	if cooldown <= 0 {
		return fmt.Errorf("state store: claim reprocess: cooldown %s is not positive", cooldown)
	}
	return nil
}

// validateFinish checks the outcome given to FinishReprocess.
func validateFinish(outcome ReprocessOutcome) error {
	if !outcome.validFinish() {
		return fmt.Errorf("state store: finish reprocess: outcome %q is not requested, unknown, refused or failed", outcome)
	}
	return nil
}

// Compile-time checks that both implementations satisfy Store.
var (
	_ Store = (*Memory)(nil)
	_ Store = (*Postgres)(nil)
)
