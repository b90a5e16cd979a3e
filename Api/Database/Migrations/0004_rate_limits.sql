-- Per-user send counters shared by every Api replica (SPEC §7): one row per user for the current one-second window.
-- UNLOGGED: counters are worth nothing after a crash, and skipping the WAL keeps this hot write cheap.
CREATE UNLOGGED TABLE rate_limit_windows (
    user_id      bigint      PRIMARY KEY,
    window_start timestamptz NOT NULL,
    count        integer     NOT NULL
);
