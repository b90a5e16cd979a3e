-- GET /v1/api-keys shows every active key and the newest keys of all; revoked and expired keys pile up with every
-- rotation, so both parts are read by index: the newest of a user's keys of every type (a live key lists both types),
-- and the unrevoked ones, which creating a key counts too. The first index leads with user_id, as the one it replaces.
CREATE INDEX api_keys_user_created ON api_keys (user_id, created_at DESC, id DESC);
CREATE INDEX api_keys_user_unrevoked ON api_keys (user_id, type) WHERE revoked_at IS NULL;
DROP INDEX api_keys_user_id;
