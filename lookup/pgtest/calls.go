package pgtest

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CallsSchema creates the calls table with the columns the runbook lists (from
// @retaintive/common's schema/calls.ts), interleaved with columns tracebot must
// ignore, so a query that depends on column order or SELECT * fails the tests.
// created_at is a timestamp WITHOUT time zone, as in production.
const CallsSchema = `
CREATE TABLE calls (
	id                   bigserial UNIQUE,
	telephony_session_id text PRIMARY KEY,
	transcript           text,
	store_id             uuid,
	franchise_id         text,
	call_state           text,
	from_phone_number    text,
	to_phone_number      text,
	duration_seconds     integer,
	contact_phone        text,
	created_at           timestamp NOT NULL,
	s3_analysis_path     text,
	updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_contact_phone_created_at ON calls (contact_phone, created_at);
CREATE INDEX calls_from_phone_number_created_at ON calls (from_phone_number, created_at);
CREATE INDEX calls_to_phone_number_created_at ON calls (to_phone_number, created_at);
`

// CallRow is one row to seed into calls. Empty strings are stored as NULL (except
// the session id); the extra columns get fixed filler values.
type CallRow struct {
	TelephonySessionID string
	StoreID            string // a UUID
	FranchiseID        string
	FromPhoneNumber    string
	ToPhoneNumber      string
	ContactPhone       string
	// CreatedAt is the wall-clock value as stored, "2006-01-02 15:04:05", in the
	// zone the database keeps (TRACEBOT_DB_TIME_ZONE).
	CreatedAt      string
	S3AnalysisPath string
}

// CreateCallsTable creates the calls table (CallsSchema) in the database at connString.
func CreateCallsTable(ctx context.Context, connString string) error {
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return fmt.Errorf("pgtest: create calls table: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, CallsSchema); err != nil {
		return fmt.Errorf("pgtest: create calls table: %w", err)
	}
	return nil
}

const insertCall = `
INSERT INTO calls (telephony_session_id, store_id, franchise_id, from_phone_number,
	to_phone_number, contact_phone, created_at, s3_analysis_path,
	transcript, call_state, duration_seconds)
VALUES ($1, nullif($2, '')::uuid, nullif($3, ''), nullif($4, ''),
	nullif($5, ''), nullif($6, ''), $7::timestamp, nullif($8, ''),
	'Agent: Thanks for calling. Customer: Hi, I need to reschedule.', 'human_conversation', 184)`

// InsertCalls seeds rows into the calls table of the database at connString.
func InsertCalls(ctx context.Context, connString string, rows ...CallRow) error {
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return fmt.Errorf("pgtest: insert calls: %w", err)
	}
	defer conn.Close(context.Background())
	batch := &pgx.Batch{}
	for _, r := range rows {
		batch.Queue(insertCall, r.TelephonySessionID, r.StoreID, r.FranchiseID, r.FromPhoneNumber,
			r.ToPhoneNumber, r.ContactPhone, r.CreatedAt, r.S3AnalysisPath)
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("pgtest: insert calls: %w", err)
	}
	return nil
}
