-- The sweeper asks two different questions, each now answered by its own small index:
--   claimed before (a retry fell due, a claim lapsed, a pause ended) — always re-published when due;
--   never claimed — re-published only when the send queue has no backlog (their commands may still be queued).
-- One index for both made every sweep walk the whole never-claimed backlog to find the few retries.
DROP INDEX messages_unsent_sweep;
CREATE INDEX messages_unsent_claimed_sweep ON messages (sweep_at) WHERE status = 'UNSENT' AND attempts > 0;
CREATE INDEX messages_unsent_unclaimed_sweep ON messages (sweep_at) WHERE status = 'UNSENT' AND attempts = 0;

-- Every non-HOT update writes an entry into every index, and each message is updated four or five times; this one
-- earned its keep nowhere: status filters sorted by updated_at are served by messages_user_status_created (rare
-- statuses, then a small sort) or messages_user_updated (common statuses, filtered while walking).
DROP INDEX messages_user_status_updated;
