-- Turning callbacks off (or on again) discards what is pending (SPEC §11.1) without deleting it in the request. After
-- a few hours of a dead endpoint that is millions of rows (5 million took 8 s to delete on a small machine), past the
-- request's 5 s statement timeout: the agency could not turn callbacks off, nor the GET show its settings, when it
-- needed them most. The request now records that the user's events with ids up to discard_through are discarded: no
-- claim takes them and no count shows them, and the delivery workers delete them in batches while discard_pending.
ALTER TABLE callback_settings
    ADD COLUMN discard_through bigint NOT NULL DEFAULT 0,
    ADD COLUMN discard_pending boolean NOT NULL DEFAULT false;
