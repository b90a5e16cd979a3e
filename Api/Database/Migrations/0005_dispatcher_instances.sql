-- Live dispatchers announce themselves here so each can take an equal share of the WhatsApp number's throughput
-- limit (SPEC §5: with several dispatchers, the sum must stay under the number's limit).
CREATE UNLOGGED TABLE dispatcher_instances (
    instance_id  text        PRIMARY KEY,
    heartbeat_at timestamptz NOT NULL
);
