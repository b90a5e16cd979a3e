-- The Dispatchers' heartbeats (0005) gave way to one shared pace schedule (0019, provider_pace); no release since reads
-- or writes them, so no replica that keeps a heartbeat here remains.
DROP TABLE IF EXISTS dispatcher_instances;
