-- Which pepper the API keys are hashed with, as a fingerprint (HMAC-SHA256 of a fixed label, keyed with the pepper),
-- never the pepper itself. An Api, or an operator's `admin key create`, configured with another pepper would make keys
-- that never work and refuse every agency (401): the first to use a pepper records it, and every later one must match
-- (Auth/PepperCheck). One row at most.
CREATE TABLE key_pepper (
    only_row    boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    fingerprint bytea       NOT NULL,
    recorded_at timestamptz NOT NULL
);
