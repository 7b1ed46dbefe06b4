package lookup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callytics/tracebot/lookup/pgtest"
)

const (
	pgCustomer      = "+19142654371"
	pgOtherCustomer = "+13475550123"
	pgStoreLine     = "+15167770100"
	pgStoreAlt      = "+15167770200"
	pgCanary        = "CANARY-pw-123"
)

// pgSeedCalls is the calls table for UTC tests: the runbook's example call and its
// neighbours, each matching the customer through a different column.
var pgSeedCalls = []pgtest.CallRow{
	{TelephonySessionID: "s-abc123def456", StoreID: "a1b2c3d4-5e6f-4a0b-8c9d-0e1f2a3b4c5d", FranchiseID: "bluewave",
		FromPhoneNumber: pgCustomer, ToPhoneNumber: pgStoreLine, ContactPhone: pgCustomer,
		CreatedAt: "2026-05-20 13:14:52", S3AnalysisPath: "s3://callytics-analysis/prod/s-abc123def456/analysis.json"},
	{TelephonySessionID: "s-outbound-1440", StoreID: "a1b2c3d4-5e6f-4a0b-8c9d-0e1f2a3b4c5d", FranchiseID: "bluewave",
		FromPhoneNumber: pgStoreLine, ToPhoneNumber: pgCustomer, ContactPhone: pgCustomer, CreatedAt: "2026-05-20 14:40:00"},
	{TelephonySessionID: "s-from-only-1230", FromPhoneNumber: pgCustomer, ToPhoneNumber: pgStoreAlt,
		CreatedAt: "2026-05-20 12:30:00"}, // no contact_phone, no store, not analysed
	{TelephonySessionID: "s-to-only-1120", FromPhoneNumber: pgStoreAlt, ToPhoneNumber: pgCustomer, ContactPhone: pgOtherCustomer,
		CreatedAt: "2026-05-20 11:20:00"},
	{TelephonySessionID: "s-other-1315", FromPhoneNumber: pgOtherCustomer, ToPhoneNumber: pgStoreLine, ContactPhone: pgOtherCustomer,
		CreatedAt: "2026-05-20 13:15:00"},
	{TelephonySessionID: "s-old-0518", FromPhoneNumber: pgCustomer, ToPhoneNumber: pgStoreLine, ContactPhone: pgCustomer,
		CreatedAt: "2026-05-18 13:15:00"},
	{TelephonySessionID: "s-late-1600", FromPhoneNumber: pgCustomer, ToPhoneNumber: pgStoreLine, ContactPhone: pgCustomer,
		CreatedAt: "2026-05-20 16:00:00"},
}

// pgRunbookCall is pgSeedCalls[0] as FindCalls reports it.
var pgRunbookCall = Call{
	TelephonySessionID: "s-abc123def456",
	CreatedAt:          time.Date(2026, 5, 20, 13, 14, 52, 0, time.UTC),
	StoreID:            "a1b2c3d4-5e6f-4a0b-8c9d-0e1f2a3b4c5d",
	FranchiseID:        "bluewave",
	FromPhoneNumber:    pgCustomer,
	ToPhoneNumber:      pgStoreLine,
	ContactPhone:       pgCustomer,
	MatchedColumn:      "contact_phone",
	S3AnalysisPath:     "s3://callytics-analysis/prod/s-abc123def456/analysis.json",
	Direction:          DirectionInbound,
}

// pgSeededStore returns a store over a fresh database holding rows.
func pgSeededStore(t *testing.T, dbZone *time.Location, rows ...pgtest.CallRow) *PostgresStore {
	t.Helper()
	db := SharedPostgres.NewDatabase(t)
	if err := pgtest.CreateCallsTable(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	if err := pgtest.InsertCalls(t.Context(), db, rows...); err != nil {
		t.Fatal(err)
	}
	store, err := OpenPostgres(t.Context(), db, dbZone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

// pgHit is what the ordering tests compare of each call.
type pgHit struct {
	ID        string
	Matched   string
	Direction Direction
}

func pgHits(calls []Call) []pgHit {
	out := []pgHit{}
	for _, c := range calls {
		out = append(out, pgHit{c.TelephonySessionID, c.MatchedColumn, c.Direction})
	}
	return out
}

func pgUTC(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// pgAround is the query for phone within ±window of at.
func pgAround(phone, at string, window time.Duration) CallQuery {
	t := pgUTC(at)
	return CallQuery{Phone: phone, From: t.Add(-window), To: t.Add(window), At: &t}
}

func TestPostgresStoreFindCalls(t *testing.T) {
	t.Parallel()
	store := pgSeededStore(t, time.UTC, pgSeedCalls...)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	atNY := pgUTC("2026-05-20T13:15:00Z").In(ny)

	tests := []struct {
		name  string
		query CallQuery
		want  []pgHit
	}{
		{
			name:  "any column ±2h, closest to the report first",
			query: pgAround(pgCustomer, "2026-05-20T13:15:00Z", 2*time.Hour),
			want: []pgHit{
				{"s-abc123def456", "contact_phone", DirectionInbound},
				{"s-from-only-1230", "from_phone_number", DirectionAny},
				{"s-outbound-1440", "contact_phone", DirectionOutbound},
				{"s-to-only-1120", "to_phone_number", DirectionAny},
			},
		},
		{
			name: "the same window written in another zone is the same search",
			query: CallQuery{Phone: pgCustomer, From: pgUTC("2026-05-20T11:15:00Z").In(ny), To: pgUTC("2026-05-20T15:15:00Z").In(ny),
				At: &atNY},
			want: []pgHit{
				{"s-abc123def456", "contact_phone", DirectionInbound},
				{"s-from-only-1230", "from_phone_number", DirectionAny},
				{"s-outbound-1440", "contact_phone", DirectionOutbound},
				{"s-to-only-1120", "to_phone_number", DirectionAny},
			},
		},
		{
			name:  "inbound: the customer called, from_phone_number only",
			query: pgWithDirection(pgAround(pgCustomer, "2026-05-20T13:15:00Z", 2*time.Hour), DirectionInbound),
			want: []pgHit{
				{"s-abc123def456", "from_phone_number", DirectionInbound},
				{"s-from-only-1230", "from_phone_number", DirectionAny},
			},
		},
		{
			name:  "outbound: the customer was called, to_phone_number only",
			query: pgWithDirection(pgAround(pgCustomer, "2026-05-20T13:15:00Z", 2*time.Hour), DirectionOutbound),
			want: []pgHit{
				{"s-outbound-1440", "to_phone_number", DirectionOutbound},
				{"s-to-only-1120", "to_phone_number", DirectionAny},
			},
		},
		{
			name:  "a report near the older calls puts them first",
			query: pgAround(pgCustomer, "2026-05-20T11:30:00Z", 2*time.Hour),
			want: []pgHit{
				{"s-to-only-1120", "to_phone_number", DirectionAny},
				{"s-from-only-1230", "from_phone_number", DirectionAny},
				{"s-abc123def456", "contact_phone", DirectionInbound},
			},
		},
		{
			name:  "no time: newest first over the lookback",
			query: CallQuery{Phone: pgCustomer, From: pgUTC("2026-05-13T17:00:00Z"), To: pgUTC("2026-05-20T17:00:00Z")},
			want: []pgHit{
				{"s-late-1600", "contact_phone", DirectionInbound},
				{"s-outbound-1440", "contact_phone", DirectionOutbound},
				{"s-abc123def456", "contact_phone", DirectionInbound},
				{"s-from-only-1230", "from_phone_number", DirectionAny},
				{"s-to-only-1120", "to_phone_number", DirectionAny},
				{"s-old-0518", "contact_phone", DirectionInbound},
			},
		},
		{
			name:  "window edges are inclusive",
			query: CallQuery{Phone: pgCustomer, From: pgUTC("2026-05-20T11:20:00Z"), To: pgUTC("2026-05-20T13:14:52Z")},
			want: []pgHit{
				{"s-abc123def456", "contact_phone", DirectionInbound},
				{"s-from-only-1230", "from_phone_number", DirectionAny},
				{"s-to-only-1120", "to_phone_number", DirectionAny},
			},
		},
		{
			name:  "a second inside each edge leaves the edge calls out",
			query: CallQuery{Phone: pgCustomer, From: pgUTC("2026-05-20T11:20:01Z"), To: pgUTC("2026-05-20T13:14:51Z")},
			want:  []pgHit{{"s-from-only-1230", "from_phone_number", DirectionAny}},
		},
		{
			name:  "limit keeps the closest",
			query: pgWithLimit(pgAround(pgCustomer, "2026-05-20T13:15:00Z", 2*time.Hour), 2),
			want: []pgHit{
				{"s-abc123def456", "contact_phone", DirectionInbound},
				{"s-from-only-1230", "from_phone_number", DirectionAny},
			},
		},
		{
			name:  "no call of that number is an empty list",
			query: pgAround("+12125550000", "2026-05-20T13:15:00Z", 2*time.Hour),
			want:  []pgHit{},
		},
		{
			name:  "no call of that number in the window is an empty list",
			query: pgAround(pgCustomer, "2026-05-21T13:15:00Z", 2*time.Hour),
			want:  []pgHit{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.FindCalls(t.Context(), tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Error("FindCalls returned a nil slice, want an empty one")
			}
			if diff := cmp.Diff(tt.want, pgHits(got)); diff != "" {
				t.Errorf("FindCalls (-want +got):\n%s", diff)
			}
		})
	}
}

func pgWithDirection(q CallQuery, d Direction) CallQuery { q.Direction = d; return q }
func pgWithLimit(q CallQuery, n int) CallQuery           { q.Limit = n; return q }

func TestPostgresStoreFindCallsFields(t *testing.T) {
	t.Parallel()
	store := pgSeededStore(t, time.UTC, pgSeedCalls...)
	got, err := store.FindCalls(t.Context(), pgAround(pgCustomer, "2026-05-20T13:15:00Z", 45*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []Call{pgRunbookCall, {
		TelephonySessionID: "s-from-only-1230",
		CreatedAt:          time.Date(2026, 5, 20, 12, 30, 0, 0, time.UTC),
		FromPhoneNumber:    pgCustomer,
		ToPhoneNumber:      pgStoreAlt,
		MatchedColumn:      "from_phone_number",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FindCalls (-want +got):\n%s", diff)
	}
	for _, c := range got {
		if c.CreatedAt.Location() != time.UTC {
			t.Errorf("%s: CreatedAt in %v, want UTC", c.TelephonySessionID, c.CreatedAt.Location())
		}
	}
}

func TestPostgresStoreDatabaseZone(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	store := pgSeededStore(t, ny,
		pgtest.CallRow{TelephonySessionID: "s-ny-summer", FromPhoneNumber: pgCustomer, ToPhoneNumber: pgStoreLine,
			ContactPhone: pgCustomer, CreatedAt: "2026-05-20 13:14:52"}, // EDT, UTC−4
		pgtest.CallRow{TelephonySessionID: "s-ny-winter", FromPhoneNumber: pgStoreLine, ToPhoneNumber: pgCustomer,
			ContactPhone: pgCustomer, CreatedAt: "2026-01-15 09:00:00"}, // EST, UTC−5
	)

	tests := []struct {
		name  string
		query CallQuery
		want  map[string]time.Time
	}{
		{"summer wall clock is EDT", pgAround(pgCustomer, "2026-05-20T17:15:00Z", 2*time.Hour),
			map[string]time.Time{"s-ny-summer": pgUTC("2026-05-20T17:14:52Z")}},
		{"winter wall clock is EST", pgAround(pgCustomer, "2026-01-15T14:00:00Z", time.Minute),
			map[string]time.Time{"s-ny-winter": pgUTC("2026-01-15T14:00:00Z")}},
		{"the wall clock read as UTC is outside the window", pgAround(pgCustomer, "2026-05-20T13:15:00Z", time.Hour),
			map[string]time.Time{}},
		{"lookback spans both offsets", CallQuery{Phone: pgCustomer, From: pgUTC("2026-01-01T00:00:00Z"), To: pgUTC("2026-06-01T00:00:00Z")},
			map[string]time.Time{"s-ny-summer": pgUTC("2026-05-20T17:14:52Z"), "s-ny-winter": pgUTC("2026-01-15T14:00:00Z")}},
	}
	t.Run("CallsSQL shows New York wall clock", func(t *testing.T) {
		_, args := store.CallsSQL(tests[0].query)
		want := []any{pgCustomer, "2026-05-20 11:15:00", "2026-05-20 15:15:00", "2026-05-20 13:15:00", DefaultCallLimit}
		if diff := cmp.Diff(want, args); diff != "" {
			t.Errorf("args (-want +got):\n%s", diff)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, err := store.FindCalls(t.Context(), tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]time.Time{}
			for _, c := range calls {
				got[c.TelephonySessionID] = c.CreatedAt
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("created_at by session (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostgresStoreCallBySession(t *testing.T) {
	t.Parallel()
	store := pgSeededStore(t, time.UTC, pgSeedCalls...)

	got, err := store.CallBySession(t.Context(), "s-abc123def456")
	if err != nil {
		t.Fatal(err)
	}
	want := pgRunbookCall
	want.MatchedColumn = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CallBySession (-want +got):\n%s", diff)
	}

	for _, id := range []string{"s-does-not-exist", "", "s-abc123def456' OR '1'='1"} {
		_, err := store.CallBySession(t.Context(), id)
		if code := ErrorCode(err); code != CodeNotFound {
			t.Errorf("CallBySession(%q) error = %v (code %q), want code %q", id, err, code, CodeNotFound)
		}
	}
}

// TestPostgresStoreNewestAnalysisPath: the newest call that has an
// s3_analysis_path gives it, newer calls without one skipped;
// none at all is "" without an error.
func TestPostgresStoreNewestAnalysisPath(t *testing.T) {
	t.Parallel()
	const newest = "s3://callytics-analysis/prod/s-newest-0521/analysis.json"
	rows := append([]pgtest.CallRow{
		{TelephonySessionID: "s-newest-0521", ContactPhone: pgCustomer, CreatedAt: "2026-05-21 09:00:00", S3AnalysisPath: newest},
		{TelephonySessionID: "s-unanalysed-0522", ContactPhone: pgCustomer, CreatedAt: "2026-05-22 09:00:00"}, // NULL
		{TelephonySessionID: "s-older-0519", ContactPhone: pgCustomer, CreatedAt: "2026-05-19 09:00:00",
			S3AnalysisPath: "s3://callytics-analysis/prod/s-older-0519/analysis.json"},
	}, pgSeedCalls...)
	store := pgSeededStore(t, time.UTC, rows...)
	got, err := store.NewestAnalysisPath(t.Context())
	if err != nil || got != newest {
		t.Errorf("NewestAnalysisPath = %q, %v; want %q", got, err, newest)
	}
	empty := pgSeededStore(t, time.UTC, pgtest.CallRow{TelephonySessionID: "s-unanalysed-0522", CreatedAt: "2026-05-22 09:00:00"})
	if got, err := empty.NewestAnalysisPath(t.Context()); err != nil || got != "" {
		t.Errorf("no call with a path: NewestAnalysisPath = %q, %v; want \"\", nil", got, err)
	}
}

func TestPostgresStoreInjectionIsInert(t *testing.T) {
	t.Parallel()
	store := pgSeededStore(t, time.UTC, pgSeedCalls...)
	everything := CallQuery{Phone: pgCustomer, From: pgUTC("2026-01-01T00:00:00Z"), To: pgUTC("2027-01-01T00:00:00Z")}
	for _, phone := range []string{
		"' OR '1'='1",
		pgCustomer + "' OR 1=1 --",
		pgCustomer + "'); DROP TABLE calls; --",
		"$1",
		`\' OR 1=1; --`,
	} {
		q := everything
		q.Phone = phone
		got, err := store.FindCalls(t.Context(), q)
		if err != nil {
			t.Errorf("FindCalls(%q): %v", phone, err)
		}
		if len(got) != 0 {
			t.Errorf("FindCalls(%q) = %v, want nothing", phone, pgHits(got))
		}
	}
	got, err := store.FindCalls(t.Context(), everything)
	if err != nil || len(got) != 6 {
		t.Errorf("after the attempts FindCalls(customer) = %d calls, %v; want the 6 seeded", len(got), err)
	}
}

func TestPostgresStoreRejectsIncompleteQueries(t *testing.T) {
	t.Parallel()
	store, err := OpenPostgres(t.Context(), "postgres://tracebot@127.0.0.1:1/calls?sslmode=disable", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	at := pgUTC("2026-05-20T13:15:00Z")
	tests := []struct {
		name  string
		query CallQuery
	}{
		{"no phone", CallQuery{From: at.Add(-time.Hour), To: at.Add(time.Hour)}},
		{"no window", CallQuery{Phone: pgCustomer}},
		{"window backwards", CallQuery{Phone: pgCustomer, From: at.Add(time.Hour), To: at.Add(-time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := store.FindCalls(t.Context(), tt.query)
			if code := ErrorCode(err); code != CodeInvalid {
				t.Errorf("FindCalls error = %v (code %q), want code %q", err, code, CodeInvalid)
			}
		})
	}
}

func TestCallsSQL(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := pgUTC("2026-05-20T17:15:00Z")
	window := CallQuery{Phone: pgCustomer, From: at.Add(-2 * time.Hour), To: at.Add(2 * time.Hour)}
	withAt := window
	withAt.At = &at
	tests := []struct {
		name     string
		query    CallQuery
		zone     *time.Location
		where    string
		matched  string
		orderBy  string
		wantArgs []any
	}{
		{
			name: "any direction, UTC", query: withAt, zone: nil,
			where:    "WHERE (contact_phone = $1 OR from_phone_number = $1 OR to_phone_number = $1)\n",
			matched:  "CASE WHEN contact_phone = $1 THEN 'contact_phone' WHEN from_phone_number = $1 THEN 'from_phone_number' ELSE 'to_phone_number' END AS matched_column",
			orderBy:  "ORDER BY abs(extract(epoch FROM created_at - $4::timestamp)), created_at DESC, telephony_session_id\nLIMIT $5",
			wantArgs: []any{pgCustomer, "2026-05-20 15:15:00", "2026-05-20 19:15:00", "2026-05-20 17:15:00", DefaultCallLimit},
		},
		{
			name: "inbound, New York wall clock", query: pgWithDirection(withAt, DirectionInbound), zone: ny,
			where:    "WHERE from_phone_number = $1\n",
			matched:  "'from_phone_number' AS matched_column",
			orderBy:  "ORDER BY abs(extract(epoch FROM created_at - $4::timestamp)), created_at DESC, telephony_session_id\nLIMIT $5",
			wantArgs: []any{pgCustomer, "2026-05-20 11:15:00", "2026-05-20 15:15:00", "2026-05-20 13:15:00", DefaultCallLimit},
		},
		{
			name: "outbound without a time, limit 5", query: pgWithLimit(pgWithDirection(window, DirectionOutbound), 5), zone: time.UTC,
			where:    "WHERE to_phone_number = $1\n",
			matched:  "'to_phone_number' AS matched_column",
			orderBy:  "ORDER BY created_at DESC, telephony_session_id\nLIMIT $4",
			wantArgs: []any{pgCustomer, "2026-05-20 15:15:00", "2026-05-20 19:15:00", 5},
		},
		{
			name: "sub-second bounds keep microseconds", zone: time.UTC,
			query: CallQuery{Phone: pgCustomer, From: pgUTC("2026-05-20T15:15:00Z").Add(1500 * time.Microsecond), To: pgUTC("2026-05-20T19:15:00Z").Add(time.Nanosecond)},
			where: "WHERE (contact_phone = $1", matched: "END AS matched_column",
			orderBy:  "ORDER BY created_at DESC, telephony_session_id\nLIMIT $4",
			wantArgs: []any{pgCustomer, "2026-05-20 15:15:00.0015", "2026-05-20 19:15:00", DefaultCallLimit},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			query, args := CallsSQL(tt.query, tt.zone)
			if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			for _, part := range []string{tt.where, tt.matched, tt.orderBy, "AND created_at BETWEEN $2::timestamp AND $3::timestamp\n"} {
				if !strings.Contains(query, part) {
					t.Errorf("query lacks %q:\n%s", part, query)
				}
			}
			if strings.Contains(query, pgCustomer) || strings.Contains(query, "2026") {
				t.Errorf("query has a value spliced in:\n%s", query)
			}
		})
	}
}

func TestPostgresStoreDownFailsFastWithoutSecrets(t *testing.T) {
	t.Parallel()
	dsn := fmt.Sprintf("postgres://tracebot:%s@%s/calls?sslmode=disable", pgCanary, pgClosedPort(t))
	store, err := OpenPostgres(t.Context(), dsn, nil)
	if err != nil {
		t.Fatalf("OpenPostgres does no I/O, yet: %v", err)
	}
	t.Cleanup(store.Close)

	for name, op := range pgStoreOps(store) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			start := time.Now()
			err := op(ctx)
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("took %v with nothing listening", elapsed)
			}
			pgAssertNoSecret(t, err, dsn)
			if !IsRetryable(err) {
				t.Errorf("error %q is not retryable; a refused connection is", err)
			}
		})
	}
}

// pgx lists each connection attempt on a line of its own, and with the default
// sslmode (prefer) it tries the host with and without TLS: the cause is said once.
func TestPostgresStoreDownSaysTheCauseOnce(t *testing.T) {
	t.Parallel()
	store, err := OpenPostgres(t.Context(), "postgres://tracebot@"+pgClosedPort(t)+"/calls", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	_, err = store.CallBySession(t.Context(), "s-abc123def456")
	if err == nil || strings.Count(err.Error(), "connection refused") != 1 {
		t.Errorf("error %q: want the refused connection named once", err)
	}
}

func TestPostgresStoreHonoursDeadlineOnUnresponsiveServer(t *testing.T) {
	t.Parallel()
	addr := pgSilentServer(t)
	dsn := fmt.Sprintf("postgres://tracebot:%s@%s/calls?sslmode=disable&connect_timeout=30", pgCanary, addr)
	store, err := OpenPostgres(t.Context(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)

	for name, op := range pgStoreOps(store) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := op(ctx)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("returned after %v, deadline was 300ms", elapsed)
			}
			pgAssertNoSecret(t, err, dsn)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %q does not wrap context.DeadlineExceeded", err)
			}
			if IsRetryable(err) {
				t.Errorf("error %q is retryable although the deadline has passed", err)
			}
		})
	}
}

func TestOpenPostgresMalformedDSNHidesIt(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{
		"postgres://tracebot:" + pgCanary + "@127.0.0.1:notaport/calls",
		"postgres://tracebot:" + pgCanary + "@[::1/calls",
		"postgresql://tracebot:" + pgCanary + "@127.0.0.1:5432/calls?sslmode=bogus",
		"postgres://tracebot:" + pgCanary + "@127.0.0.1:5432/calls?connect_timeout=soon",
		"postgres://tracebot:" + pgCanary + "@host:5432:" + pgCanary + "@x/calls",
		"host=127.0.0.1 password=" + pgCanary + " port=abc",
		"host=127.0.0.1 password='" + pgCanary,
		"host=127.0.0.1 password=" + pgCanary + " sslmode=maybe",
	} {
		t.Run(dsn, func(t *testing.T) {
			store, err := OpenPostgres(t.Context(), dsn, nil)
			if err == nil {
				store.Close()
				t.Fatal("OpenPostgres accepted a malformed connection string")
			}
			pgAssertNoSecret(t, err, dsn)
		})
	}
}

func TestPostgresStoreErrorsAreRedacted(t *testing.T) {
	t.Parallel()
	const dsn = "postgres://tracebot:CANARY%2Fpw%40123@127.0.0.1:5432/calls?sslmode=disable"
	store, err := OpenPostgres(t.Context(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	cause := fmt.Errorf("server echoed CANARY/pw@123 from %s: %w", dsn, context.DeadlineExceeded)

	err = store.fail(t.Context(), "find calls", cause)
	pgAssertNoSecret(t, err, dsn)
	if want := "postgres: find calls: server echoed [redacted] from [redacted]: context deadline exceeded"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("redaction lost the cause for errors.Is")
	}
}

func TestPostgresStorePing(t *testing.T) {
	t.Parallel()
	store := pgSeededStore(t, nil)
	if err := store.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// pgStoreOps are the store's operations that reach the database.
func pgStoreOps(store *PostgresStore) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"Ping": store.Ping,
		"FindCalls": func(ctx context.Context) error {
			_, err := store.FindCalls(ctx, pgAround(pgCustomer, "2026-05-20T13:15:00Z", 2*time.Hour))
			return err
		},
		"CallBySession": func(ctx context.Context) error {
			_, err := store.CallBySession(ctx, "s-abc123def456")
			return err
		},
		"NewestAnalysisPath": func(ctx context.Context) error {
			_, err := store.NewestAnalysisPath(ctx)
			return err
		},
	}
}

func pgAssertNoSecret(t *testing.T, err error, dsn string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "CANARY") || strings.Contains(msg, dsn) {
		t.Errorf("error leaks the secret: %q", msg)
	}
	if !strings.HasPrefix(msg, "postgres: ") {
		t.Errorf("error %q does not name its component", msg)
	}
}

// pgClosedPort returns a loopback address with nothing listening.
func pgClosedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// pgSilentServer accepts connections and never answers, like a hung database.
func pgSilentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
