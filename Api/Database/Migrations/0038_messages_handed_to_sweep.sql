-- Never-claimed messages whose command the Api (or a sweep) could not publish and handed to the sweep: sweep_at is back
-- at the message's own due time, so no command is in flight and the sweep publishes one at once, behind a backlog too.
-- Only such rows are in this index (a new message's sweep_at is its pick-up deadline), so the sweep finds them without
-- walking a backlog's rows in the unclaimed sweep index.
CREATE INDEX messages_unsent_unclaimed_handed ON messages (sweep_at)
    WHERE status = 'UNSENT' AND attempts = 0 AND sweep_at = available_at;
