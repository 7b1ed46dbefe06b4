-- Alerts (SPEC §13) and every failed backend of a trace (seed 003).

-- Each backend a trace failed at, with its one-line cause (never customer
-- content): what backend_failures counts.
CREATE TABLE tracebot_trace_failures (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trace_row  bigint      NOT NULL REFERENCES tracebot_traces (id) ON DELETE CASCADE,
    trace_id   text        NOT NULL DEFAULT '',
    step       text        NOT NULL DEFAULT '',
    backend    text        NOT NULL,
    cause      text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tracebot_trace_failures_created_at ON tracebot_trace_failures (created_at);
CREATE INDEX tracebot_trace_failures_trace_row ON tracebot_trace_failures (trace_row);

-- Leases: one replica evaluates the alert rules per interval. A plain row with an
-- expiry, taken and renewed by INSERT ... ON CONFLICT DO UPDATE ... WHERE expired or
-- mine, so it works through a transaction pooler (no session advisory lock).
CREATE TABLE tracebot_leases (
    name       text        PRIMARY KEY,
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL
);

-- Alert episodes: at most one open per (rule, episode_key), enforced by the
-- partial unique index, so two replicas never open the same episode twice.
CREATE TABLE tracebot_alert_episodes (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule        text        NOT NULL,
    episode_key text        NOT NULL DEFAULT '',
    subject     text        NOT NULL DEFAULT '',
    level       text        NOT NULL DEFAULT '',
    message     text        NOT NULL DEFAULT '',
    alert       bytea       NOT NULL DEFAULT '',
    opened_at   timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz,
    settled     boolean     NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX tracebot_alert_episodes_open ON tracebot_alert_episodes (rule, episode_key) WHERE closed_at IS NULL;
CREATE INDEX tracebot_alert_episodes_unsettled ON tracebot_alert_episodes (opened_at, id) WHERE NOT settled;

-- One row per post of an episode in a channel, claimed before posting: the
-- primary key makes each post exactly-once across replicas and restarts; a
-- failed attempt is claimed again at the next interval.
CREATE TABLE tracebot_alert_posts (
    rule       text        NOT NULL,
    episode_id bigint      NOT NULL REFERENCES tracebot_alert_episodes (id) ON DELETE CASCADE,
    channel    text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('alert', 'resolved')),
    state      text        NOT NULL CHECK (state IN ('posting', 'posted', 'failed', 'refused')),
    holder     text        NOT NULL DEFAULT '',
    attempts   integer     NOT NULL DEFAULT 1,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    done_at    timestamptz,
    message_id text        NOT NULL DEFAULT '',
    thread     text        NOT NULL DEFAULT '',
    error      text        NOT NULL DEFAULT '',
    PRIMARY KEY (rule, episode_id, channel, kind)
);
CREATE INDEX tracebot_alert_posts_episode ON tracebot_alert_posts (episode_id);
CREATE INDEX tracebot_alert_posts_done_at ON tracebot_alert_posts (done_at DESC) WHERE done_at IS NOT NULL;

-- Mute 24h clicks: who silenced which rule and subject, until when.
CREATE TABLE tracebot_alert_mutes (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule       text        NOT NULL,
    subject    text        NOT NULL DEFAULT '',
    muted_by   text        NOT NULL,
    platform   text        NOT NULL DEFAULT '',
    channel    text        NOT NULL DEFAULT '',
    muted_at   timestamptz NOT NULL DEFAULT now(),
    until      timestamptz NOT NULL
);
CREATE INDEX tracebot_alert_mutes_active ON tracebot_alert_mutes (rule, subject, until DESC);
CREATE INDEX tracebot_alert_mutes_muted_at ON tracebot_alert_mutes (muted_at DESC);
