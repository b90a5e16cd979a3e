-- Events not delivered within the retry budget (SPEC §11.1: 24 h) are given up even while their endpoint is paused and
-- no attempt runs: the delivery worker deletes them by age, which this index finds without reading the whole table.
CREATE INDEX status_events_created ON status_events (created_at);
