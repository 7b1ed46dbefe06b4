package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// The alert state in PostgreSQL. Every exactly-once decision is one statement
// (INSERT ... ON CONFLICT DO UPDATE ... WHERE), judged by the database clock,
// so it holds across replicas, restarts and a transaction pooler.

const acquireLeaseSQL = `
INSERT INTO tracebot_leases AS l (name, holder, expires_at)
VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond')
ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
RETURNING true`

// AcquireLease implements AlertStore.
func (s *Postgres) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := validateLease(name, holder, ttl); err != nil {
		return false, err
	}
	var held bool
	err := s.pool.QueryRow(ctx, acquireLeaseSQL, name, holder, ttl.Microseconds()).Scan(&held)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil // another holder's lease has not expired
	case err != nil:
		return false, fmt.Errorf("state store: lease %s: %w", name, s.clean(err))
	}
	return held, nil
}

// ReleaseLease implements AlertStore.
func (s *Postgres) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM tracebot_leases WHERE name = $1 AND holder = $2", name, holder); err != nil {
		return fmt.Errorf("state store: release lease %s: %w", name, s.clean(err))
	}
	return nil
}

const episodeColumns = `id, rule, episode_key, subject, level, message, alert, opened_at, seen_at, closed_at, settled`

// openEpisodeSQL opens an episode or refreshes the open one; xmax = 0 tells a
// row this statement inserted from one it updated.
const openEpisodeSQL = `
INSERT INTO tracebot_alert_episodes AS e (rule, episode_key, subject, level, message, alert)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (rule, episode_key) WHERE closed_at IS NULL DO UPDATE
	SET subject = EXCLUDED.subject, level = EXCLUDED.level, message = EXCLUDED.message,
	    alert = EXCLUDED.alert, seen_at = now()
RETURNING ` + episodeColumns + `, (xmax = 0)`

// OpenEpisode implements AlertStore.
func (s *Postgres) OpenEpisode(ctx context.Context, ep AlertEpisode) (AlertEpisode, bool, error) {
	if ep.Rule == "" {
		return AlertEpisode{}, false, errors.New("state store: open episode: empty rule")
	}
	alert := ep.Alert
	if alert == nil {
		alert = []byte{}
	}
	var opened bool
	got, err := scanEpisode(s.pool.QueryRow(ctx, openEpisodeSQL, ep.Rule, ep.Key, ep.Subject, ep.Level, ep.Message, alert), &opened)
	if err != nil {
		return AlertEpisode{}, false, fmt.Errorf("state store: open episode %s: %w", ep.Rule, s.clean(err))
	}
	return got, opened, nil
}

func scanEpisode(row pgx.Row, extra ...any) (AlertEpisode, error) {
	var ep AlertEpisode
	var id int64
	dest := append([]any{&id, &ep.Rule, &ep.Key, &ep.Subject, &ep.Level, &ep.Message, &ep.Alert, &ep.OpenedAt,
		&ep.SeenAt, &ep.ClosedAt, &ep.Settled}, extra...)
	err := row.Scan(dest...)
	ep.ID = strconv.FormatInt(id, 10)
	return ep, err
}

// CloseEpisode implements AlertStore.
func (s *Postgres) CloseEpisode(ctx context.Context, id string) error {
	return s.updateEpisode(ctx, "close", id, "UPDATE tracebot_alert_episodes SET closed_at = COALESCE(closed_at, now()) WHERE id = $1")
}

// SettleEpisode implements AlertStore.
func (s *Postgres) SettleEpisode(ctx context.Context, id string) error {
	return s.updateEpisode(ctx, "settle", id, "UPDATE tracebot_alert_episodes SET settled = true WHERE id = $1")
}

func (s *Postgres) updateEpisode(ctx context.Context, what, id, sql string) error {
	key, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return fmt.Errorf("state store: %s episode %q: %w", what, id, ErrNoEpisode)
	}
	tag, err := s.pool.Exec(ctx, sql, key)
	switch {
	case err != nil:
		return fmt.Errorf("state store: %s episode %s: %w", what, id, s.clean(err))
	case tag.RowsAffected() == 0:
		return fmt.Errorf("state store: %s episode %s: %w", what, id, ErrNoEpisode)
	}
	return nil
}

// UnsettledEpisodes implements AlertStore.
func (s *Postgres) UnsettledEpisodes(ctx context.Context) ([]AlertEpisode, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+episodeColumns+" FROM tracebot_alert_episodes WHERE NOT settled ORDER BY opened_at, id")
	eps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AlertEpisode, error) { return scanEpisode(row) })
	if err != nil {
		return nil, fmt.Errorf("state store: unsettled episodes: %w", s.clean(err))
	}
	return eps, nil
}

const postColumns = `rule, episode_id, channel, kind, state, holder, attempts, claimed_at, done_at, message_id, thread, error`

// claimPostSQL returns a row only when the claim was taken: new, failed before,
// or pending for longer than $6 (its holder died mid-post).
const claimPostSQL = `
INSERT INTO tracebot_alert_posts AS p (rule, episode_id, channel, kind, state, holder)
VALUES ($1, $2, $3, $4, 'posting', $5)
ON CONFLICT (rule, episode_id, channel, kind) DO UPDATE
	SET state = 'posting', holder = EXCLUDED.holder, attempts = p.attempts + 1, claimed_at = now(), error = ''
	WHERE p.state = 'failed' OR (p.state = 'posting' AND p.claimed_at <= now() - $6::bigint * interval '1 microsecond')
RETURNING ` + postColumns

const postByKeySQL = `SELECT ` + postColumns + ` FROM tracebot_alert_posts
WHERE rule = $1 AND episode_id = $2 AND channel = $3 AND kind = $4`

// ClaimAlertPost implements AlertStore.
func (s *Postgres) ClaimAlertPost(ctx context.Context, p AlertPost, stale time.Duration) (AlertPost, bool, error) {
	if err := validateClaim(p, stale); err != nil {
		return AlertPost{}, false, err
	}
	ep, err := strconv.ParseInt(p.EpisodeID, 10, 64)
	if err != nil {
		return AlertPost{}, false, fmt.Errorf("state store: claim alert post: %w", ErrNoEpisode)
	}
	got, err := scanPost(s.pool.QueryRow(ctx, claimPostSQL, p.Rule, ep, p.Channel, string(p.Kind), p.Holder, stale.Microseconds()))
	if err == nil {
		return got, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return AlertPost{}, false, fmt.Errorf("state store: claim alert post %s/%s/%s: %w", p.Rule, p.EpisodeID, p.Channel, s.clean(err))
	}
	cur, err := scanPost(s.pool.QueryRow(ctx, postByKeySQL, p.Rule, ep, p.Channel, string(p.Kind)))
	if err != nil {
		return AlertPost{}, false, fmt.Errorf("state store: claim alert post %s/%s/%s: %w", p.Rule, p.EpisodeID, p.Channel, s.clean(err))
	}
	return cur, false, nil
}

func scanPost(row pgx.Row) (AlertPost, error) {
	var p AlertPost
	var ep int64
	var kind, st string
	err := row.Scan(&p.Rule, &ep, &p.Channel, &kind, &st, &p.Holder, &p.Attempts, &p.ClaimedAt, &p.DoneAt,
		&p.MessageID, &p.Thread, &p.Error)
	p.EpisodeID, p.Kind, p.State = strconv.FormatInt(ep, 10), AlertPostKind(kind), AlertPostState(st)
	return p, err
}

const finishPostSQL = `
UPDATE tracebot_alert_posts
SET state = $6, error = $7, done_at = CASE WHEN $6 = 'failed' THEN NULL ELSE now() END,
    message_id = CASE WHEN $8 = '' THEN message_id ELSE $8 END,
    thread = CASE WHEN $8 = '' THEN thread ELSE $9 END
WHERE rule = $1 AND episode_id = $2 AND channel = $3 AND kind = $4 AND attempts = $5 AND state = 'posting'`

// FinishAlertPost implements AlertStore.
func (s *Postgres) FinishAlertPost(ctx context.Context, p AlertPost) error {
	if err := validatePostOutcome(p.State); err != nil {
		return err
	}
	ep, err := strconv.ParseInt(p.EpisodeID, 10, 64)
	if err != nil {
		return fmt.Errorf("state store: finish alert post: %w", ErrNotClaimed)
	}
	tag, err := s.pool.Exec(ctx, finishPostSQL, p.Rule, ep, p.Channel, string(p.Kind), p.Attempts, string(p.State),
		p.Error, p.MessageID, p.Thread)
	switch {
	case err != nil:
		return fmt.Errorf("state store: finish alert post %s/%s/%s: %w", p.Rule, p.EpisodeID, p.Channel, s.clean(err))
	case tag.RowsAffected() == 0:
		return fmt.Errorf("state store: finish alert post %s/%s/%s: %w", p.Rule, p.EpisodeID, p.Channel, ErrNotClaimed)
	}
	return nil
}

// AlertPosts implements AlertStore.
func (s *Postgres) AlertPosts(ctx context.Context, episodeID string) ([]AlertPost, error) {
	ep, err := strconv.ParseInt(episodeID, 10, 64)
	if err != nil {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, "SELECT "+postColumns+" FROM tracebot_alert_posts WHERE episode_id = $1 ORDER BY channel, kind", ep)
	posts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AlertPost, error) { return scanPost(row) })
	if err != nil {
		return nil, fmt.Errorf("state store: alert posts of %s: %w", episodeID, s.clean(err))
	}
	return posts, nil
}

const muteColumns = `rule, subject, muted_by, platform, channel, muted_at, until`

const muteSQL = `
INSERT INTO tracebot_alert_mutes (rule, subject, muted_by, platform, channel, until)
VALUES ($1, $2, $3, $4, $5, now() + $6::bigint * interval '1 microsecond')
RETURNING ` + muteColumns

// Mute implements AlertStore.
func (s *Postgres) Mute(ctx context.Context, m AlertMute, d time.Duration) (AlertMute, error) {
	if err := validateMute(m, d); err != nil {
		return AlertMute{}, err
	}
	got, err := scanMute(s.pool.QueryRow(ctx, muteSQL, m.Rule, m.Subject, m.By, m.Platform, m.Channel, d.Microseconds()))
	if err != nil {
		return AlertMute{}, fmt.Errorf("state store: mute %s: %w", m.Rule, s.clean(err))
	}
	return got, nil
}

func scanMute(row pgx.Row) (AlertMute, error) {
	var m AlertMute
	err := row.Scan(&m.Rule, &m.Subject, &m.By, &m.Platform, &m.Channel, &m.At, &m.Until)
	return m, err
}

// ActiveMute implements AlertStore.
func (s *Postgres) ActiveMute(ctx context.Context, rule, subject string) (AlertMute, bool, error) {
	m, err := scanMute(s.pool.QueryRow(ctx, `SELECT `+muteColumns+` FROM tracebot_alert_mutes
		WHERE rule = $1 AND subject = $2 AND until > now() ORDER BY until DESC LIMIT 1`, rule, subject))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return AlertMute{}, false, nil
	case err != nil:
		return AlertMute{}, false, fmt.Errorf("state store: mute of %s: %w", rule, s.clean(err))
	}
	return m, true, nil
}

// TraceFailures implements AlertStore.
func (s *Postgres) TraceFailures(ctx context.Context, since time.Time) ([]FailureRecord, error) {
	rows, _ := s.pool.Query(ctx, `SELECT trace_id, step, backend, cause, created_at FROM tracebot_trace_failures
		WHERE created_at >= $1 ORDER BY created_at, id`, since)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (FailureRecord, error) {
		var f FailureRecord
		err := row.Scan(&f.TraceID, &f.Step, &f.Backend, &f.Cause, &f.At)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("state store: trace failures: %w", s.clean(err))
	}
	return out, nil
}

// historyAlertsSQL lists finished posts (with their episode) and mutes, newest
// first; posts only when no user filter is given.
const historyAlertsSQL = `
SELECT at, event, rule, level, subject, channel, by_user, until, message FROM (
	SELECT p.done_at AS at,
	       CASE WHEN p.state = 'refused' THEN 'refused' WHEN p.kind = 'resolved' THEN 'resolved' ELSE 'posted' END AS event,
	       p.rule, e.level, e.subject, p.channel, '' AS by_user, NULL::timestamptz AS until,
	       CASE WHEN p.state = 'refused' THEN p.error ELSE e.message END AS message
	FROM tracebot_alert_posts p JOIN tracebot_alert_episodes e ON e.id = p.episode_id
	WHERE p.done_at IS NOT NULL AND p.state IN ('posted', 'refused') AND $1::text = ''
	  AND ($2::timestamptz IS NULL OR p.done_at >= $2)
	UNION ALL
	SELECT muted_at, 'muted', rule, '', subject, channel, muted_by, until, ''
	FROM tracebot_alert_mutes
	WHERE ($1::text = '' OR muted_by = $1) AND ($2::timestamptz IS NULL OR muted_at >= $2)
) ev ORDER BY at DESC, channel, event LIMIT $3`

func (s *Postgres) alertHistory(ctx context.Context, q HistoryQuery) ([]AlertEvent, error) {
	rows, _ := s.pool.Query(ctx, historyAlertsSQL, q.User, optionalTime(q.Since), q.limit())
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (AlertEvent, error) {
		var e AlertEvent
		err := row.Scan(&e.At, &e.Event, &e.Rule, &e.Level, &e.Subject, &e.Channel, &e.By, &e.Until, &e.Message)
		return e, err
	})
}
