-- Reconcile before re-sending (SPEC §5). Every provider call is tagged m:<message id>:<attempt>, so a status can name
-- the attempt it belongs to even when we never saw the call's answer.
--   call_open     a claim's call may be under way: set by the claim, cleared by every outcome write. A claim that
--                 lapses with it still set (its dispatcher died or hung) goes into a hold instead of being re-sent.
--   attempted_at  when the current attempt was claimed: the acceptance time of a message adopted from a status.
--   held_attempt  the attempt whose outcome is (or was last) being reconciled, and held_at when that hold began: the
--                 re-claim that ends an unadopted hold reads them to count the re-send as a possible duplicate, and to
--                 give up instead when the outcome became unknown only after the retry budget.
-- Adding columns with constant defaults rewrites nothing.
ALTER TABLE messages
    ADD COLUMN call_open    boolean NOT NULL DEFAULT false,
    ADD COLUMN attempted_at timestamptz,
    ADD COLUMN held_attempt integer,
    ADD COLUMN held_at      timestamptz;

-- Small by construction: only the calls under way, found by lease end when their dispatcher is gone.
CREATE INDEX messages_open_calls ON messages (available_at) WHERE call_open;

-- A parked status keeps the message and attempt its opaque data named, so it can still adopt once a hold begins.
ALTER TABLE pending_status_events
    ADD COLUMN message_id bigint,
    ADD COLUMN attempt    integer;
