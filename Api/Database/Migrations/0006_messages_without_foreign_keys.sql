-- The send path inserts thousands of messages a second for a handful of users and templates. Each foreign-key check
-- takes a KEY SHARE lock on the referenced users/templates row, and concurrent inserts turn that into MultiXact churn
-- on the same few rows, which cost more than everything else the insert does. Users and templates are never deleted
-- (operators disable users and revoke grants instead), and the Api only ever writes ids it has just read, so the
-- constraints protect nothing the application does not already guarantee.
ALTER TABLE messages DROP CONSTRAINT messages_user_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_template_id_fkey;
