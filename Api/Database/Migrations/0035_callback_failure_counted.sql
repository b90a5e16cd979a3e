-- When the endpoint's last counted failure was recorded. Attempts under way together that fail are one failure of the
-- endpoint: a failure adds to consecutive_failures only if its attempt began after this. Measured against
-- last_failure_at (every failure's time) instead, a busy endpoint that kept failing never counted a second failure:
-- with its deliveries in flight refilled as each ended, some other attempt's failure was always recorded during each
-- attempt, so the endpoint was never paused.
ALTER TABLE callback_settings ADD COLUMN failure_counted_at timestamptz;
