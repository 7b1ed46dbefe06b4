-- The bot's shared state (SPEC §5, §9). Tables are prefixed so the state may live
-- in a database shared with other applications.

-- Chat deliveries already handled (Slack event_id / trigger_id, Lark event_id). A row
-- whose expires_at has passed may be claimed again, and is purged now and then.
CREATE TABLE tracebot_deliveries (
    platform    text        NOT NULL,
    delivery_id text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (platform, delivery_id)
);
CREATE INDEX tracebot_deliveries_expires_at ON tracebot_deliveries (expires_at);

-- Every reprocess request: who, when, where, the call, the target and what became of it.
CREATE TABLE tracebot_reprocesses (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id     text        NOT NULL,
    store_id       text        NOT NULL DEFAULT '',
    platform       text        NOT NULL DEFAULT '',
    channel        text        NOT NULL DEFAULT '',
    thread         text        NOT NULL DEFAULT '',
    requested_by   text        NOT NULL DEFAULT '',
    requested_at   timestamptz NOT NULL DEFAULT now(),
    target         text        NOT NULL DEFAULT '',
    outcome        text        NOT NULL
        CHECK (outcome IN ('pending', 'requested', 'refused', 'failed', 'unknown')),
    aws_request_id text        NOT NULL DEFAULT '',
    error          text        NOT NULL DEFAULT '',
    finished_at    timestamptz
);
CREATE INDEX tracebot_reprocesses_requested_at ON tracebot_reprocesses (requested_at DESC, id DESC);
CREATE INDEX tracebot_reprocesses_requested_by ON tracebot_reprocesses (requested_by, requested_at DESC);

-- The reprocess cooldown of each session: the primary key makes a claim exactly-once
-- across replicas (INSERT ... ON CONFLICT DO UPDATE ... WHERE expired). A refused or
-- failed request deletes its row, releasing the cooldown at once.
CREATE TABLE tracebot_reprocess_cooldowns (
    session_id   text        PRIMARY KEY,
    reprocess_id bigint      NOT NULL REFERENCES tracebot_reprocesses (id) ON DELETE CASCADE,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX tracebot_reprocess_cooldowns_expires_at ON tracebot_reprocess_cooldowns (expires_at);

-- Every trace the bot ran, successes and failures, with per-step timings. Input and
-- phone are stored masked.
CREATE TABLE tracebot_traces (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trace_id       text        NOT NULL DEFAULT '',
    platform       text        NOT NULL DEFAULT '',
    channel        text        NOT NULL DEFAULT '',
    user_id        text        NOT NULL DEFAULT '',
    input          text        NOT NULL DEFAULT '',
    phone          text        NOT NULL DEFAULT '',
    session_id     text        NOT NULL DEFAULT '',
    outcome        text        NOT NULL DEFAULT '',
    failed_step    text        NOT NULL DEFAULT '',
    error          text        NOT NULL DEFAULT '',
    calls_ms       bigint      NOT NULL DEFAULT 0,
    logs_ms        bigint      NOT NULL DEFAULT 0,
    generations_ms bigint      NOT NULL DEFAULT 0,
    total_ms       bigint      NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tracebot_traces_created_at ON tracebot_traces (created_at DESC, id DESC);
CREATE INDEX tracebot_traces_user_id ON tracebot_traces (user_id, created_at DESC);
CREATE INDEX tracebot_traces_trace_id ON tracebot_traces (trace_id);
