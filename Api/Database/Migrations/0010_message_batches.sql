-- Batch sends with an Idempotency-Key (SPEC §3.8): the key covers the whole batch, so it is held here rather than by
-- a message. `entries` is the answer in request order, each {"id": <message id>} or {"code": ..., "message": ...},
-- so a replay returns the same entries (rejected ones included) with the messages' current states. The row is
-- written in the batch's own transaction: a concurrent duplicate waits on the key and then replays it.
CREATE TABLE message_batches (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint      NOT NULL,
    idempotency_key text        NOT NULL,
    request_hash    bytea       NOT NULL,
    entries         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (user_id, idempotency_key)
);
