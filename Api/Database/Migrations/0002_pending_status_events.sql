-- Provider statuses that arrived before the message's provider id was recorded (a webhook can overtake the
-- ACCEPTED write). The Dispatcher re-applies them for a bounded time, then drops them with a warning (SPEC §6).
CREATE TABLE pending_status_events (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_message_id text           NOT NULL,
    status              message_status NOT NULL,
    occurred_at         timestamptz    NOT NULL,
    error_code          text,
    error_description   text,
    received_at         timestamptz    NOT NULL,
    attempts            integer        NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz    NOT NULL
);

CREATE INDEX pending_status_events_due ON pending_status_events (next_attempt_at);
