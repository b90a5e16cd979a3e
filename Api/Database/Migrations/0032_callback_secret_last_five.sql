-- The Api and the operator's CLI show a callback signing secret whole only when they create it, and afterwards by its
-- last five characters; only the Dispatcher signs with it. The last five as a column of their own let those two stop
-- reading secrets, and (once no Api of the release before this runs) grants.sql withhold `secret` from their roles, so
-- stolen Api credentials cannot read the secrets and forge callbacks.
ALTER TABLE callback_secrets ADD COLUMN secret_last_five text GENERATED ALWAYS AS (right(secret, 5)) STORED;
