-- One send schedule per WhatsApp number, shared by every dispatcher (SPEC §5: together they stay under the number's
-- limit, also while one starts, stops or dies). Dispatchers reserve call slots from it under a row lock. Unlogged:
-- after a crash the schedule simply starts afresh. It replaces the heartbeats of dispatcher_instances, which nothing
-- reads any more.
CREATE UNLOGGED TABLE provider_pace (
    phone_number_id text             PRIMARY KEY,
    next_slot       timestamptz      NOT NULL,
    throttled_rate  double precision NOT NULL,
    throttled_at    timestamptz      NOT NULL,
    version         bigint           NOT NULL
);
