-- Status callbacks (SPEC §11.1) and the status events they deliver (SPEC §4).

-- One row per user who has ever set a callback URL; url NULL means callbacks are off. The delivery worker keeps the
-- endpoint's health here: after several failures in a row the whole endpoint is paused (paused_until), so a dead
-- endpoint costs one attempt per pause instead of one per event.
CREATE TABLE callback_settings (
    user_id              bigint      PRIMARY KEY REFERENCES users (id),
    url                  text,
    updated_at           timestamptz NOT NULL,
    last_success_at      timestamptz,
    last_failure_at      timestamptz,
    last_failure_reason  text,
    consecutive_failures integer     NOT NULL DEFAULT 0,
    paused_until         timestamptz
);

-- Signing secrets. Deliveries sign with them, so they are stored as they are, not hashed (a hash cannot sign); they are
-- only ever shown once (on creation) and by their last five characters. A rotated secret keeps signing until
-- valid_until (24 h after the rotation); the current one has valid_until NULL.
CREATE TABLE callback_secrets (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id),
    secret      text        NOT NULL,
    created_at  timestamptz NOT NULL,
    valid_until timestamptz
);
CREATE INDEX callback_secrets_user ON callback_secrets (user_id, created_at DESC);

-- A status event waiting for delivery: the message as the statement that changed it left it (`data`, the SPEC §3.5
-- object), recorded in that same statement, and only for users whose callbacks are on. Delivered or dropped events are
-- deleted. next_attempt_at is also the lease of a delivery under way: a claim moves it past the attempt's timeout, so
-- no two Dispatchers deliver one event at once, and an event whose Dispatcher died is delivered again.
CREATE TABLE status_events (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint      NOT NULL,
    message_id      bigint      NOT NULL,
    key_type        text        NOT NULL,
    created_at      timestamptz NOT NULL,
    data            json        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL
);
CREATE INDEX status_events_user_due ON status_events (user_id, next_attempt_at);

-- The message object of SPEC §3.5, as the Api writes it: ids as strings, UTC timestamps with milliseconds. A json (not
-- jsonb) value keeps the field order of the Api's answers.
CREATE FUNCTION status_event_data(m messages) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN json_build_object(
        'id', m.id::text, 'recipient', m.recipient, 'template_id', m.template_id::text, 'params', m.params,
        'language_code', m.language_code,
        'created_at', to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'updated_at', to_char(m.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'accepted_at', to_char(m.accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'sent_at', to_char(m.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'delivered_at', to_char(m.delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'read_at', to_char(m.read_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'errored_at', to_char(m.errored_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'error_code', m.error_code, 'error_description', m.error_description, 'status', m.status);

-- Wakes the delivery workers (LISTEN callback_events) instead of having them poll. Row-level, so a statement that
-- records no event (every statement of a user without callbacks) never runs it; PostgreSQL folds identical
-- notifications of one transaction into one.
CREATE FUNCTION notify_callback_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('callback_events', '');
    RETURN NULL;
END $$;

CREATE TRIGGER status_events_notify AFTER INSERT ON status_events
    FOR EACH ROW EXECUTE FUNCTION notify_callback_events();
