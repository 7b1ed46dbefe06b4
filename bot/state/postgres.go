package state

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callytics/tracebot/secrets"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

const (
	// migrationLock is the pg_advisory_xact_lock key that serialises migrations
	// of replicas starting at once: "tracebot" in ASCII.
	migrationLock int64 = 0x7472616365626f74
	// purgeEvery is how many delivery claims of one store pass between purges of
	// expired rows; purgeBatch bounds the rows one purge deletes per table.
	purgeEvery = 256
	purgeBatch = 1000
	// connectTimeout bounds a connection attempt when the DSN sets none.
	connectTimeout = 10 * time.Second
)

// Postgres is a Store in PostgreSQL, shared by every replica that opens the same
// database. Exactly-once claims are enforced by the database (primary keys and
// INSERT ... ON CONFLICT), and expiry is judged by the database clock, so replicas
// with skewed clocks agree.
//
// Errors never contain the connection string or its password, and unwrap only to
// the server's *pgconn.PgError and to context errors, never to pgx's connection or
// parse errors (whose fields hold the configuration, password included).
type Postgres struct {
	pool       *pgxpool.Pool
	scrub      *secrets.Scrubber // knows the connection string and its password
	claims     atomic.Uint64     // delivery claims, to pace purges
	purgeEvery uint64
}

// OpenPostgres connects to the database at dsn and applies the embedded
// migrations that it lacks, under an advisory lock so replicas starting at once do
// not race. The caller must Close the store.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	if dsn == "" {
		return nil, errors.New("state store: empty connection string")
	}
	scrub := secrets.NewScrubber()
	scrub.Add(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("state store: parse connection string: %w", sanitizePGError(scrub, err))
	}
	scrub.Add(cfg.ConnConfig.Password)
	configurePool(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("state store: create pool: %w", sanitizePGError(scrub, err))
	}
	s := &Postgres{pool: pool, scrub: scrub, purgeEvery: purgeEvery}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// configurePool sets what the connection string left open: a connect timeout
// (a shorter ctx deadline still wins) and an application name that tells the bot's
// sessions apart in pg_stat_activity.
func configurePool(cfg *pgxpool.Config) {
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "tracebot-state"
	}
}

// migration is one embedded migration file; its version is the file name
// without ".sql", and files apply in name order.
type migration struct {
	version string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations") // sorted by name
	if err != nil {
		return nil, fmt.Errorf("state store: read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		b, err := fs.ReadFile(migrationFiles, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("state store: read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: strings.TrimSuffix(e.Name(), ".sql"), sql: string(b)})
	}
	return out, nil
}

// migrate applies the migrations not yet recorded in tracebot_schema_migrations, all
// in one transaction holding the migration lock.
func (s *Postgres) migrate(ctx context.Context) error {
	migrations, err := loadMigrations()
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("state store: migrate: %w", s.clean(err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // no-op after Commit
	applied, err := lockedAppliedMigrations(ctx, tx)
	if err != nil {
		return fmt.Errorf("state store: migrate: %w", s.clean(err))
	}
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		if err := applyMigration(ctx, tx, m); err != nil {
			return fmt.Errorf("state store: migration %s: %w", m.version, s.clean(err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("state store: migrate: commit: %w", s.clean(err))
	}
	return nil
}

// lockedAppliedMigrations takes the migration lock for tx and returns the versions
// already applied, creating the bookkeeping table on first use.
func lockedAppliedMigrations(ctx context.Context, tx pgx.Tx) (map[string]bool, error) {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS tracebot_schema_migrations (
		version    text        PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, err
	}
	rows, _ := tx.Query(ctx, "SELECT version FROM tracebot_schema_migrations")
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	applied := make(map[string]bool, len(versions))
	for _, v := range versions {
		applied[v] = true
	}
	return applied, nil
}

func applyMigration(ctx context.Context, tx pgx.Tx, m migration) error {
	// Without arguments pgx sends the file with the simple protocol, which runs
	// several statements.
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "INSERT INTO tracebot_schema_migrations (version) VALUES ($1)", m.version)
	return err
}

const claimDeliverySQL = `
INSERT INTO tracebot_deliveries AS d (platform, delivery_id, expires_at)
VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond')
ON CONFLICT (platform, delivery_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
WHERE d.expires_at <= now()
RETURNING true`

// ClaimDelivery implements Store. Every purgeEvery-th claim also purges expired
// rows, so the table stays bounded.
func (s *Postgres) ClaimDelivery(ctx context.Context, platform, id string, ttl time.Duration) (bool, error) {
	if err := validateDeliveryClaim(platform, id, ttl); err != nil {
		return false, err
	}
	var claimed bool
	err := s.pool.QueryRow(ctx, claimDeliverySQL, platform, id, ttl.Microseconds()).Scan(&claimed)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		claimed = false // claimed before and not expired: the WHERE kept the row
	case err != nil:
		return false, fmt.Errorf("state store: claim delivery %s: %w", platform, s.clean(err))
	}
	if s.claims.Add(1)%s.purgeEvery == 0 {
		s.purgeExpired(ctx)
	}
	return claimed, nil
}

// purgeExpiredSQL deletes a bounded batch of expired deliveries and cooldowns. An
// expired row means the same as a missing one, so a row a concurrent claim renews
// meanwhile is simply skipped (its ctid changes).
var purgeExpiredSQL = fmt.Sprintf(`
WITH deliveries AS (
	DELETE FROM tracebot_deliveries WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM tracebot_deliveries WHERE expires_at <= now() LIMIT %[1]d))
), cooldowns AS (
	DELETE FROM tracebot_reprocess_cooldowns WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM tracebot_reprocess_cooldowns WHERE expires_at <= now() LIMIT %[1]d))
)
SELECT 1`, purgeBatch)

// purgeExpired is housekeeping: expired rows never change an answer, only the
// tables' size, so a failure is left for the next purge rather than failing the
// claim that triggered it (the claim has already been recorded).
func (s *Postgres) purgeExpired(ctx context.Context) {
	_, _ = s.pool.Exec(ctx, purgeExpiredSQL)
}

// reprocessColumns are the columns scanReprocess reads, in its order.
const reprocessColumns = `id, session_id, store_id, platform, channel, thread, requested_by,
	requested_at, target, outcome, aws_request_id, error, finished_at`

const insertReprocessSQL = `
INSERT INTO tracebot_reprocesses
	(session_id, store_id, platform, channel, thread, requested_by, target, outcome)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')
RETURNING ` + reprocessColumns

// takeCooldownSQL returns a row only when the session had no cooldown or its
// cooldown had expired. On conflict the existing row is locked even when the WHERE
// fails, so the holder read next in the same transaction cannot change meanwhile.
const takeCooldownSQL = `
INSERT INTO tracebot_reprocess_cooldowns AS c (session_id, reprocess_id, expires_at)
VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond')
ON CONFLICT (session_id) DO UPDATE
	SET reprocess_id = EXCLUDED.reprocess_id, expires_at = EXCLUDED.expires_at
	WHERE c.expires_at <= now()
RETURNING true`

const cooldownHolderSQL = `
SELECT ` + reprocessColumns + ` FROM tracebot_reprocesses
WHERE id = (SELECT reprocess_id FROM tracebot_reprocess_cooldowns WHERE session_id = $1)`

// ClaimReprocess implements Store. In one transaction it inserts the record, then
// tries to take the session's cooldown row; the loser reads the holder's record and
// rolls its own insert back.
func (s *Postgres) ClaimReprocess(ctx context.Context, rec ReprocessRecord, cooldown time.Duration) (ReprocessRecord, bool, error) {
	if err := validateReprocessClaim(rec, cooldown); err != nil {
		return ReprocessRecord{}, false, err
	}
	got, ok, err := s.claimReprocess(ctx, rec, cooldown)
	if err != nil {
		return ReprocessRecord{}, false, fmt.Errorf("state store: claim reprocess: %w", s.clean(err))
	}
	return got, ok, nil
}

func (s *Postgres) claimReprocess(ctx context.Context, rec ReprocessRecord, cooldown time.Duration) (ReprocessRecord, bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return ReprocessRecord{}, false, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // the loser's insert goes
	claimed, err := scanReprocess(tx.QueryRow(ctx, insertReprocessSQL, rec.SessionID, rec.StoreID,
		rec.Platform, rec.Channel, rec.Thread, rec.RequestedBy, rec.Target))
	if err != nil {
		return ReprocessRecord{}, false, err
	}
	var taken bool
	err = tx.QueryRow(ctx, takeCooldownSQL, rec.SessionID, claimed.ID, cooldown.Microseconds()).Scan(&taken)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		holder, err := scanReprocess(tx.QueryRow(ctx, cooldownHolderSQL, rec.SessionID))
		return holder, false, err
	case err != nil:
		return ReprocessRecord{}, false, err
	}
	return claimed, true, tx.Commit(ctx)
}

// finishReprocessSQL sets the outcome of a pending record and, when $5, deletes the
// cooldown row if this record still holds it (a newer claim keeps its own).
const finishReprocessSQL = `
WITH finished AS (
	UPDATE tracebot_reprocesses
	SET outcome = $2, aws_request_id = $3, error = $4, finished_at = now()
	WHERE id = $1 AND outcome = 'pending'
	RETURNING id, session_id
), released AS (
	DELETE FROM tracebot_reprocess_cooldowns c USING finished f
	WHERE $5::boolean AND c.session_id = f.session_id AND c.reprocess_id = f.id
)
SELECT count(*) FROM finished`

// FinishReprocess implements Store.
func (s *Postgres) FinishReprocess(ctx context.Context, id string, outcome ReprocessOutcome, awsRequestID, errMsg string) error {
	if err := validateFinish(outcome); err != nil {
		return err
	}
	key, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return fmt.Errorf("state store: finish reprocess %q: %w", id, ErrNoPendingReprocess)
	}
	var finished int64
	err = s.pool.QueryRow(ctx, finishReprocessSQL, key, string(outcome), awsRequestID, errMsg,
		outcome.releasesCooldown()).Scan(&finished)
	switch {
	case err != nil:
		return fmt.Errorf("state store: finish reprocess %s: %w", id, s.clean(err))
	case finished == 0:
		return fmt.Errorf("state store: finish reprocess %s: %w", id, ErrNoPendingReprocess)
	}
	return nil
}

// scanReprocess reads one row of reprocessColumns.
func scanReprocess(row pgx.Row) (ReprocessRecord, error) {
	var (
		r       ReprocessRecord
		id      int64
		outcome string
	)
	err := row.Scan(&id, &r.SessionID, &r.StoreID, &r.Platform, &r.Channel, &r.Thread, &r.RequestedBy,
		&r.RequestedAt, &r.Target, &outcome, &r.AWSRequestID, &r.Error, &r.FinishedAt)
	r.ID, r.Outcome = strconv.FormatInt(id, 10), ReprocessOutcome(outcome)
	return r, err
}

// traceColumns are the columns of a trace record, in scanTrace's and RecordTrace's
// order.
const traceColumns = `trace_id, platform, channel, user_id, input, phone, session_id, outcome,
	failed_step, error, calls_ms, logs_ms, generations_ms, total_ms, created_at`

const recordTraceSQL = `INSERT INTO tracebot_traces (` + traceColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, COALESCE($15, now()))`

// RecordTrace implements Store.
func (s *Postgres) RecordTrace(ctx context.Context, rec TraceRecord) error {
	_, err := s.pool.Exec(ctx, recordTraceSQL, rec.TraceID, rec.Platform, rec.Channel, rec.User,
		rec.Input, rec.Phone, rec.SessionID, rec.Outcome, rec.FailedStep, rec.Error,
		rec.CallsMS, rec.LogsMS, rec.GenerationsMS, rec.TotalMS, optionalTime(rec.CreatedAt))
	if err != nil {
		return fmt.Errorf("state store: record trace %s: %w", rec.TraceID, s.clean(err))
	}
	return nil
}

// scanTrace reads one row of traceColumns.
func scanTrace(row pgx.CollectableRow) (TraceRecord, error) {
	var t TraceRecord
	err := row.Scan(&t.TraceID, &t.Platform, &t.Channel, &t.User, &t.Input, &t.Phone, &t.SessionID,
		&t.Outcome, &t.FailedStep, &t.Error, &t.CallsMS, &t.LogsMS, &t.GenerationsMS, &t.TotalMS, &t.CreatedAt)
	return t, err
}

const historyTracesSQL = `SELECT ` + traceColumns + ` FROM tracebot_traces
WHERE ($1::text = '' OR user_id = $1) AND ($2::timestamptz IS NULL OR created_at >= $2)
ORDER BY created_at DESC, id DESC LIMIT $3`

const historyReprocessesSQL = `SELECT ` + reprocessColumns + ` FROM tracebot_reprocesses
WHERE ($1::text = '' OR requested_by = $1) AND ($2::timestamptz IS NULL OR requested_at >= $2)
ORDER BY requested_at DESC, id DESC LIMIT $3`

// History implements Store.
func (s *Postgres) History(ctx context.Context, q HistoryQuery) (History, error) {
	since, limit := optionalTime(q.Since), q.limit()
	rows, _ := s.pool.Query(ctx, historyTracesSQL, q.User, since, limit)
	traces, err := pgx.CollectRows(rows, scanTrace)
	if err != nil {
		return History{}, fmt.Errorf("state store: history: traces: %w", s.clean(err))
	}
	rows, _ = s.pool.Query(ctx, historyReprocessesSQL, q.User, since, limit)
	reprocesses, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReprocessRecord, error) {
		return scanReprocess(row)
	})
	if err != nil {
		return History{}, fmt.Errorf("state store: history: reprocesses: %w", s.clean(err))
	}
	return History{Traces: traces, Reprocesses: reprocesses}, nil
}

// optionalTime is nil (SQL NULL) for the zero time.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Ping implements Store: it checks that a connection can be made and used.
func (s *Postgres) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("state store: ping: %w", s.clean(err))
	}
	return nil
}

// Close implements Store: it closes the pool, waiting for connections in use.
func (s *Postgres) Close() { s.pool.Close() }

// clean makes a pgx error safe to return; see sanitizePGError.
func (s *Postgres) clean(err error) error { return sanitizePGError(s.scrub, err) }

// pgError is a pgx error made safe to show: its text is scrubbed of the
// connection string and password, and it unwraps only to a safe cause.
type pgError struct {
	msg   string
	cause error // a *pgconn.PgError, a context error, or nil
}

func (e *pgError) Error() string { return e.msg }
func (e *pgError) Unwrap() error { return e.cause }

// sanitizePGError returns err's text with every value scrub knows removed, and with
// the connection string that a parse error quotes cut out. The result unwraps to the
// server's *pgconn.PgError (SQLSTATE and message, useful to callers) or to
// context.Canceled / context.DeadlineExceeded, and to nothing else.
func sanitizePGError(scrub *secrets.Scrubber, err error) error {
	if err == nil {
		return nil
	}
	return &pgError{msg: scrub.Scrub(pgErrorText(err)), cause: safePGCause(err)}
}

// pgErrorText is err's text without the connection string a *pgconn.ParseConfigError
// quotes as "cannot parse `<connection string>`: <reason>": pgx masks the password
// there only as far as it can recognise it in a malformed string.
func pgErrorText(err error) string {
	text := err.Error()
	var parseErr *pgconn.ParseConfigError
	if !errors.As(err, &parseErr) {
		return text
	}
	const invalid = "invalid connection string"
	i := strings.LastIndex(text, "`: ")
	if i < 0 {
		return invalid
	}
	if reason := strings.TrimSpace(text[i+len("`: "):]); reason != "" {
		return invalid + ": " + reason
	}
	return invalid
}

func safePGCause(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr):
		return pgErr
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return context.Canceled
	}
	return nil
}
