-- Which key made each key (SPEC §3.9 lets a live key make up to 10 live and 10 test keys of its user): after a key is
-- stolen, the operator lists the keys the thief made with it, and `admin key revoke --with-keys-it-made` stops them
-- all at once. Null for a key an operator made (`admin key create`), and for keys made before this column.
ALTER TABLE api_keys ADD COLUMN made_by bigint REFERENCES api_keys (id);
CREATE INDEX api_keys_made_by ON api_keys (made_by) WHERE made_by IS NOT NULL;
