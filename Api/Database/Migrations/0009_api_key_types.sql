-- A key is `live` or `test` (SPEC §11.2, §3.9); every key issued before types existed is live.
ALTER TABLE api_keys ADD COLUMN type text NOT NULL DEFAULT 'live' CHECK (type IN ('live', 'test'));

-- The key listing shows a key's last five characters (SPEC §3.9); unknown (NULL) for keys issued before it existed.
ALTER TABLE api_keys ADD COLUMN last_five text;

-- The self-service key API counts a user's active keys of one type and lists them newest first.
CREATE INDEX api_keys_user_type_created ON api_keys (user_id, type, created_at DESC);
