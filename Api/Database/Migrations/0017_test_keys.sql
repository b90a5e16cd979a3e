-- Test keys (SPEC §11.2): a test key sees only test messages and a live key only live ones, so every read of a user's
-- messages is also by key type.

-- Idempotency keys are unique per user, key type and key: a test key's key never replays (or blocks) a live message,
-- on either route.
DROP INDEX messages_idempotency_key;
CREATE UNIQUE INDEX messages_idempotency_key ON messages (user_id, key_type, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

ALTER TABLE message_batches ADD COLUMN key_type text NOT NULL DEFAULT 'live' CHECK (key_type IN ('live', 'test'));
ALTER TABLE message_batches DROP CONSTRAINT message_batches_user_id_idempotency_key_key;
ALTER TABLE message_batches ADD CONSTRAINT message_batches_user_key_type_idempotency_key
    UNIQUE (user_id, key_type, idempotency_key);

-- The list (SPEC §3.4) walks one user's messages of one key type in order: the key type goes right after the user, so
-- a test key listing its few messages never walks the user's millions of live ones. The same indexes as before
-- (0003, less the one 0007 dropped), so sends pay for no more.
DROP INDEX messages_user_created;
DROP INDEX messages_user_updated;
DROP INDEX messages_user_status_created;
CREATE INDEX messages_user_created ON messages (user_id, key_type, created_at DESC, id DESC);
CREATE INDEX messages_user_updated ON messages (user_id, key_type, updated_at DESC, id DESC);
CREATE INDEX messages_user_status_created ON messages (user_id, key_type, status, created_at DESC, id DESC);

-- The Dispatcher's simulated receipts for test messages (Dispatcher/TestKeys) are derived from the message itself:
-- its status and accepted_at say which receipt comes next and when. Small by construction: only test messages still
-- waiting for a receipt. +6580000004 never gets one (TestProvider.SilentRecipient), so it stays out.
CREATE INDEX messages_test_receipts_due ON messages (accepted_at)
    WHERE key_type = 'test' AND status IN ('ACCEPTED', 'SENT', 'DELIVERED') AND recipient <> '+6580000004';
