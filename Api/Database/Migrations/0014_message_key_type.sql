-- A message belongs to the key type that sent it (SPEC §11.2): test keys see only test messages, live keys only live
-- ones, and callbacks carry the type in `X-GovSg-Key-Type`. Every message stored before key types existed is live.
ALTER TABLE messages ADD COLUMN key_type text NOT NULL DEFAULT 'live' CHECK (key_type IN ('live', 'test'));
