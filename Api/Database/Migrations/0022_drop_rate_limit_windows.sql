-- The fixed one-second windows (0004) gave way to token buckets (0008), whose release no longer reads or writes them;
-- that release has been out since, so no replica that counts in this table remains.
DROP TABLE IF EXISTS rate_limit_windows;
