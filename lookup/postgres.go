package lookup

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// DefaultCallLimit is how many candidates FindCalls returns when CallQuery.Limit is 0.
	DefaultCallLimit = 20

	poolMaxConns          = 4
	defaultConnectTimeout = 10 * time.Second
	// wallClockLayout writes a timestamp-without-zone parameter as Postgres reads it
	// (microsecond precision, trailing zeros dropped).
	wallClockLayout = "2006-01-02 15:04:05.999999"
)

// PostgresStore is the CallStore over the calls table (Neon Postgres), through a small
// pgx pool. created_at is a timestamp without time zone holding wall-clock time in the
// store's zone (TRACEBOT_DB_TIME_ZONE); the store converts in both directions, so its
// callers only see absolute instants.
type PostgresStore struct {
	pool    *pgxpool.Pool
	zone    *time.Location
	secrets []string // removed from every error text: the connection string, passwords
}

var _ CallStore = (*PostgresStore)(nil)

// OpenPostgres parses dsn and creates a pool of at most 4 connections. It does no
// network I/O: connections are made at first use (Ping checks one). dbZone is the
// zone created_at is stored in; nil means UTC.
//
// The dsn is a secret: a malformed one yields only "postgres: invalid connection
// string", and no error from the store contains the dsn or its password.
func OpenPostgres(ctx context.Context, dsn string, dbZone *time.Location) (*PostgresStore, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can quote the string (best-effort redacted) or wrap a
		// url.Error that quotes it verbatim: nothing of it may leave.
		return nil, errors.New("postgres: invalid connection string (want postgres://user:password@host:port/db?sslmode=require or key=value pairs)")
	}
	cfg.MaxConns = poolMaxConns
	cfg.MinConns = 0 // no I/O until needed; Neon may be scaled to zero
	cfg.MaxConnIdleTime = 5 * time.Minute
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout // a shorter ctx deadline still wins
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "tracebot"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, newRedactedError("postgres: create pool", err, secretsOf(cfg), false)
	}
	return NewPostgresStore(pool, dbZone), nil
}

// NewPostgresStore wraps an existing pool; the store's Close closes it. dbZone is the
// zone created_at is stored in; nil means UTC.
func NewPostgresStore(pool *pgxpool.Pool, dbZone *time.Location) *PostgresStore {
	if dbZone == nil {
		dbZone = time.UTC
	}
	return &PostgresStore{pool: pool, zone: dbZone, secrets: secretsOf(pool.Config())}
}

// secretsOf lists the strings that must not appear in errors: the connection string
// as given and its password, raw and as URL-escaped in the string.
func secretsOf(cfg *pgxpool.Config) []string {
	pw := cfg.ConnConfig.Password // fallback hosts share it
	return []string{cfg.ConnString(), pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("", pw).String()[1:]}
}

// Ping checks that a connection can be made and the server answers, within ctx.
func (s *PostgresStore) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return s.fail(ctx, "ping", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *PostgresStore) Close() { s.pool.Close() }

// FindCalls returns the calls whose number columns (as q.Direction selects) equal
// q.Phone with created_at inside [q.From, q.To], closest to q.At first (newest first
// when At is nil), at most q.Limit (DefaultCallLimit when 0). It runs the one
// parameterised query CallsSQL shows. No match is an empty slice. A query without a
// phone or window is an *Error with code CodeInvalid; a database failure is an error
// with the dsn removed, retryable (IsRetryable) when the connection failed.
func (s *PostgresStore) FindCalls(ctx context.Context, q CallQuery) ([]Call, error) {
	if err := validateCallQuery(q); err != nil {
		return nil, err
	}
	query, args := s.CallsSQL(q)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(ctx, "find calls", err)
	}
	calls, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Call, error) { return s.scanCall(row) })
	if err != nil {
		return nil, s.fail(ctx, "find calls", err)
	}
	if calls == nil {
		calls = []Call{}
	}
	return calls, nil
}

// CallBySession returns the call with that telephony_session_id (MatchedColumn
// empty), an *Error with code CodeNotFound when there is none, or a database error
// as FindCalls does.
func (s *PostgresStore) CallBySession(ctx context.Context, sessionID string) (Call, error) {
	c, err := s.scanCall(s.pool.QueryRow(ctx, callBySessionSQL, sessionID))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Call{}, Errorf(CodeNotFound, "no call with telephony_session_id %q", sessionID)
	case err != nil:
		return Call{}, s.fail(ctx, "call by session", err)
	}
	return c, nil
}

// newestAnalysisSQL reads the s3_analysis_path of the newest call that has one.
const newestAnalysisSQL = "SELECT s3_analysis_path\nFROM calls\nWHERE s3_analysis_path <> ''\nORDER BY created_at DESC\nLIMIT 1"

// NewestAnalysisPath returns the s3_analysis_path of the newest call that has
// one, "" when none has: an object that exists, for `tracebot check` to read. It
// is one query over calls (a scan of the table where created_at has no index of
// its own); a database failure is an error as FindCalls returns.
func (s *PostgresStore) NewestAnalysisPath(ctx context.Context) (string, error) {
	var path string
	err := s.pool.QueryRow(ctx, newestAnalysisSQL).Scan(&path)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case err != nil:
		return "", s.fail(ctx, "newest analysis path", err)
	}
	return path, nil
}

func validateCallQuery(q CallQuery) error {
	switch {
	case q.Phone == "":
		return Errorf(CodeInvalid, "no phone number to search calls by")
	case q.From.IsZero() || q.To.IsZero():
		return Errorf(CodeInvalid, "no time window to search calls in")
	case q.To.Before(q.From):
		return Errorf(CodeInvalid, "the search window ends (%s) before it starts (%s)",
			q.To.UTC().Format(time.RFC3339), q.From.UTC().Format(time.RFC3339))
	}
	return nil
}

// callColumns are the columns a Call is read from, in scanCall's order. The table has
// more; they are never selected.
const callColumns = `telephony_session_id, created_at, store_id::text, franchise_id,
       from_phone_number, to_phone_number, contact_phone, s3_analysis_path`

const callBySessionSQL = "SELECT " + callColumns + ", ''\nFROM calls\nWHERE telephony_session_id = $1"

// CallsSQL returns the query FindCalls runs for q and its parameters, for the reply's
// "for engineers" block: $1 is the phone number; $2 and $3 the window and $4 (when
// q.At is set) the reported time, as wall-clock timestamps in dbZone (the zone
// created_at is stored in; nil means UTC); the last is the limit. Values are never
// spliced into the text.
func CallsSQL(q CallQuery, dbZone *time.Location) (query string, args []any) {
	if dbZone == nil {
		dbZone = time.UTC
	}
	columns := matchColumns(q.Direction)
	args = []any{q.Phone, wallClock(q.From, dbZone), wallClock(q.To, dbZone)}
	var b strings.Builder
	b.WriteString("SELECT " + callColumns + ",\n       " + matchedColumnExpr(columns) + " AS matched_column\n")
	b.WriteString("FROM calls\nWHERE " + matchCondition(columns) + "\n")
	b.WriteString("  AND created_at BETWEEN $2::timestamp AND $3::timestamp\n")
	if q.At != nil {
		args = append(args, wallClock(*q.At, dbZone))
		b.WriteString("ORDER BY abs(extract(epoch FROM created_at - $4::timestamp)), created_at DESC, telephony_session_id\n")
	} else {
		b.WriteString("ORDER BY created_at DESC, telephony_session_id\n")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultCallLimit
	}
	args = append(args, limit)
	b.WriteString("LIMIT $" + strconv.Itoa(len(args)))
	return b.String(), args
}

// CallsSQL returns the query and parameters FindCalls runs for q (see the CallsSQL
// function), in this store's zone.
func (s *PostgresStore) CallsSQL(q CallQuery) (query string, args []any) {
	return CallsSQL(q, s.zone)
}

// matchColumns lists the number columns a direction searches, in the order a match
// is reported: contact_phone holds the customer whichever way the call went.
func matchColumns(d Direction) []string {
	switch d {
	case DirectionInbound:
		return []string{"from_phone_number"}
	case DirectionOutbound:
		return []string{"to_phone_number"}
	default:
		return []string{"contact_phone", "from_phone_number", "to_phone_number"}
	}
}

func matchCondition(columns []string) string {
	terms := make([]string, len(columns))
	for i, c := range columns {
		terms[i] = c + " = $1"
	}
	if len(terms) == 1 {
		return terms[0]
	}
	return "(" + strings.Join(terms, " OR ") + ")"
}

// matchedColumnExpr names the first of columns that holds $1.
func matchedColumnExpr(columns []string) string {
	last := len(columns) - 1
	if last == 0 {
		return "'" + columns[0] + "'"
	}
	var b strings.Builder
	b.WriteString("CASE")
	for _, c := range columns[:last] {
		b.WriteString(" WHEN " + c + " = $1 THEN '" + c + "'")
	}
	b.WriteString(" ELSE '" + columns[last] + "' END")
	return b.String()
}

// wallClock renders t as the wall-clock time in zone, the form created_at stores.
func wallClock(t time.Time, zone *time.Location) string {
	return t.In(zone).Format(wallClockLayout)
}

// scanCall reads one row of callColumns plus the matched column.
func (s *PostgresStore) scanCall(row pgx.Row) (Call, error) {
	var (
		c                                         Call
		created                                   pgtype.Timestamp
		store, franchise, from, to, contact, path pgtype.Text
	)
	err := row.Scan(&c.TelephonySessionID, &created, &store, &franchise, &from, &to, &contact, &path, &c.MatchedColumn)
	if err != nil {
		return Call{}, err
	}
	if created.Valid && created.InfinityModifier == pgtype.Finite {
		c.CreatedAt = s.instant(created.Time)
	}
	c.StoreID, c.FranchiseID, c.S3AnalysisPath = store.String, franchise.String, path.String
	c.FromPhoneNumber, c.ToPhoneNumber, c.ContactPhone = from.String, to.String, contact.String
	c.Direction = callDirection(c)
	return c, nil
}

// instant reads a timestamp-without-zone value (pgx returns its wall clock in UTC) as
// wall-clock time in the store's zone. In the hour a DST change repeats, the wall
// clock is ambiguous and Go picks one of the two instants.
func (s *PostgresStore) instant(wall time.Time) time.Time {
	y, mo, d := wall.Date()
	h, mi, sec := wall.Clock()
	return time.Date(y, mo, d, h, mi, sec, wall.Nanosecond(), s.zone).UTC()
}

// callDirection derives the direction from which side the contact was on.
func callDirection(c Call) Direction {
	switch {
	case c.ContactPhone == "":
		return DirectionAny
	case c.ContactPhone == c.FromPhoneNumber:
		return DirectionInbound
	case c.ContactPhone == c.ToPhoneNumber:
		return DirectionOutbound
	}
	return DirectionAny
}

// fail wraps a database error with the operation and strips secrets from its text.
// A connection that could not be made is worth retrying, unless ctx is already over.
func (s *PostgresStore) fail(ctx context.Context, op string, err error) error {
	var connErr *pgconn.ConnectError
	retry := ctx.Err() == nil && (errors.As(err, &connErr) || pgconn.SafeToRetry(err))
	return newRedactedError("postgres: "+op, err, s.secrets, retry)
}

// redactedError carries a cause whose text may hold a secret: Error prints the
// cleaned text; Unwrap keeps errors.Is/As (context.DeadlineExceeded, *pgconn.PgError)
// working.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func newRedactedError(prefix string, err error, secrets []string, retry bool) error {
	text := uniqueLines(err.Error())
	for _, secret := range secrets {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "[redacted]")
		}
	}
	var out error = &redactedError{msg: fmt.Sprintf("%s: %s", prefix, text), err: err}
	if retry {
		out = &RetryableError{Err: out}
	}
	return out
}

// uniqueLines drops the repeats of a multi-line error: pgx lists every attempt
// to connect on its own line, and a host tried with and without TLS is listed
// twice with the same cause.
func uniqueLines(text string) string {
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		if key := strings.TrimSpace(l); !seen[key] {
			seen[key] = true
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
