-- SPEC §5: after a 131056 (pair rate) no message goes to that recipient for the pair-rate wait, whichever dispatcher
-- claims it. Claims read the wait and hand such a message back until it ends. Unlogged: after a crash the waits are
-- gone, and a message sent too soon meets another 131056 and waits again.
CREATE UNLOGGED TABLE recipient_waits (
    recipient text        PRIMARY KEY,
    until     timestamptz NOT NULL
);
