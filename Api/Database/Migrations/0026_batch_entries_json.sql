-- A batch's stored answer echoes what its rejected items sent (SPEC §3.8: the same message a single send would get),
-- and that may hold a NUL (\u0000), which jsonb cannot store: the batch answered 500 and stored nothing. json keeps the
-- answer's text as written; nothing queries inside it.
ALTER TABLE message_batches ALTER COLUMN entries TYPE json USING entries::json;
