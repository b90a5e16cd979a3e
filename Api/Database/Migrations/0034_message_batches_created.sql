-- A batch stored under an Idempotency-Key answers replays for 24 h, then only takes room: every keyed batch stored
-- deletes a few of those past the window, oldest first, found by this index (BatchStore).
CREATE INDEX message_batches_created ON message_batches (created_at);
