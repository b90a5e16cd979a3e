-- Indexes for GET /v1/transactional/govsg (SPEC §3.4): every filter and sort order walks an index in order and stops
-- after limit + 1 rows, even with millions of rows per user. (user_id, created_at DESC, id DESC) already exists.
CREATE INDEX messages_user_updated ON messages (user_id, updated_at DESC, id DESC);
CREATE INDEX messages_user_status_created ON messages (user_id, status, created_at DESC, id DESC);
CREATE INDEX messages_user_status_updated ON messages (user_id, status, updated_at DESC, id DESC);
