-- What each part of GovSg may do in the database (least privilege; SECURITY.md). The migration runner applies this
-- file after every run, as the role that ran the migrations and owns the tables, in one transaction: first every
-- privilege it gave the three roles below is taken back, then each table's grants are given again. So this file is the
-- whole truth about them, running it twice changes nothing, and a grant removed here is removed from the database.
--
--   govsg_api         the Api: authenticates keys, stores and reads messages, rate-limit buckets, batches
--   govsg_dispatcher  the Dispatchers: claim and update messages, statuses, pace, callbacks; never reads keys
--   govsg_operator    the `admin ...` CLI: users, keys, templates, grants, and cancel-pending on messages
--
-- The roles themselves (LOGIN, passwords) are made once per cluster by deploy/local/database-roles.sql.
--
-- A NEW TABLE needs its block here, in the same change as its migration: a `-- table:` line and the GRANTs each role
-- needs (or a REVOKE naming it, when no role may touch it). DatabaseGrantsTests fails for any table without one.
-- Identity columns need no sequence grant; a sequence called by name (nextval) does.

-- Nobody but the owner creates objects in the schema: PostgreSQL 15 no longer lets everyone, but a cluster upgraded from
-- an older one, or some managed images, still do. Refused with a warning, harmlessly, when another role owns the schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM govsg_api, govsg_dispatcher, govsg_operator;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM govsg_api, govsg_dispatcher, govsg_operator;

-- table: schema_migrations (the runner's own). The services' readiness asks whether their build's migration is there.
GRANT SELECT (version) ON schema_migrations TO govsg_api, govsg_dispatcher;

-- table: users. The Dispatcher only asks whether a message's user is disabled.
GRANT SELECT ON users TO govsg_api;
GRANT SELECT (id, disabled_at) ON users TO govsg_dispatcher;
GRANT SELECT, INSERT, UPDATE ON users TO govsg_operator;

-- table: api_keys. The Api may mark a key used or revoked, never change whose it is or its hash.
GRANT SELECT, INSERT ON api_keys TO govsg_api;
GRANT UPDATE (last_used_at, revoked_at) ON api_keys TO govsg_api;
GRANT SELECT, INSERT ON api_keys TO govsg_operator;
GRANT UPDATE (revoked_at, disabled_at) ON api_keys TO govsg_operator;

-- table: templates
GRANT SELECT ON templates TO govsg_api;
GRANT SELECT, INSERT, UPDATE ON templates TO govsg_operator;

-- table: template_grants
GRANT SELECT ON template_grants TO govsg_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON template_grants TO govsg_operator;

-- table: messages. Nobody deletes a message. The Api stores them, and after that only hands one to the sweep (its command
-- unpublished) or frees its idempotency key (its insert failed): it never changes a message's content, owner or status.
GRANT SELECT, INSERT ON messages TO govsg_api;
GRANT UPDATE (sweep_at, idempotency_key) ON messages TO govsg_api;
GRANT USAGE ON SEQUENCE messages_id_seq TO govsg_api;
GRANT SELECT, UPDATE ON messages TO govsg_dispatcher;
GRANT SELECT, UPDATE ON messages TO govsg_operator;

-- table: message_batches
GRANT SELECT, INSERT, UPDATE, DELETE ON message_batches TO govsg_api;

-- table: rate_limit_buckets
GRANT SELECT, INSERT, UPDATE ON rate_limit_buckets TO govsg_api;

-- table: pending_status_events
GRANT SELECT, INSERT, UPDATE, DELETE ON pending_status_events TO govsg_dispatcher;

-- table: provider_pace. The Dispatchers' one send schedule per WhatsApp number.
GRANT SELECT, INSERT, UPDATE ON provider_pace TO govsg_dispatcher;

-- table: recipient_waits. The Dispatchers' pair-rate waits: written on a 131056, read by every claim.
GRANT SELECT, INSERT, UPDATE, DELETE ON recipient_waits TO govsg_dispatcher;

-- table: callback_settings. Every status change reads it (to record events only for users with callbacks on); the
-- Dispatcher records each delivery's outcome on it.
GRANT SELECT, INSERT, UPDATE ON callback_settings TO govsg_api;
GRANT SELECT, UPDATE ON callback_settings TO govsg_dispatcher;
GRANT SELECT, INSERT, UPDATE ON callback_settings TO govsg_operator;

-- table: callback_secrets. The Dispatcher signs with them, and is the one role that can read a secret. The Api and the
-- CLI create them and show their last five characters (secret_last_five), and never read or change one; a rotation
-- (the Api's) ends the current one and deletes the ended ones. (Their SELECT was narrowed one release after migration
-- 0032, whose release stopped reading `secret`, so that no Api pod of a rolling deploy lost a column it read.)
GRANT SELECT (id, user_id, created_at, valid_until, secret_last_five) ON callback_secrets TO govsg_api, govsg_operator;
GRANT INSERT (user_id, secret, created_at) ON callback_secrets TO govsg_api, govsg_operator;
GRANT UPDATE (valid_until) ON callback_secrets TO govsg_api;
GRANT DELETE ON callback_secrets TO govsg_api;
GRANT SELECT ON callback_secrets TO govsg_dispatcher;

-- table: status_events. Recorded by every status change (the Dispatcher's, and the operator's cancel-pending), delivered
-- and deleted by the Dispatcher, counted by the Api and the operator, who also make them due at once when the URL
-- changes. Turning callbacks off marks them discarded on the settings row (migration 0036), and the Dispatchers delete
-- them: the Api and the operator delete none (their DELETE was taken back one release after 0036, so that no Api pod
-- of a rolling deploy lost a grant it used).
GRANT SELECT ON status_events TO govsg_api;
GRANT UPDATE (next_attempt_at) ON status_events TO govsg_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON status_events TO govsg_dispatcher;
GRANT SELECT, INSERT ON status_events TO govsg_operator;
GRANT UPDATE (next_attempt_at) ON status_events TO govsg_operator;

-- table: key_pepper. The fingerprint of the key pepper: recorded by whoever uses a pepper first, read by both after.
GRANT SELECT, INSERT ON key_pepper TO govsg_api, govsg_operator;
