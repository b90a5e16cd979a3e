-- The per-user limit becomes a token bucket (SPEC §7): a rate and a burst per user, shared by every Api replica.
-- A NULL burst means the default, 60 × the rate.
ALTER TABLE users ADD COLUMN rate_limit_burst integer CHECK (rate_limit_burst > 0);

-- One row per user and bucket ('send:live', 'send:test', 'read'). The whole state of a bucket is the time at which it
-- will be full again (the "theoretical arrival time" of the generic cell rate algorithm): taking n tokens moves it
-- n / rate later, and a take is allowed while it stays within burst / rate of now. `granted` is how many tokens the
-- latest statement took, so that the one guarded statement that takes them can also report it.
-- UNLOGGED: a bucket is worth nothing after a crash (it starts full), and skipping the WAL keeps this hot write cheap.
CREATE UNLOGGED TABLE rate_limit_buckets (
    user_id bigint      NOT NULL,
    bucket  text        NOT NULL,
    full_at timestamptz NOT NULL,
    granted integer     NOT NULL,
    PRIMARY KEY (user_id, bucket)
);

-- rate_limit_windows (0004) is no longer read or written; it stays until no replica of the previous release runs,
-- so a rolling deploy never fails a send, and a later migration drops it.
