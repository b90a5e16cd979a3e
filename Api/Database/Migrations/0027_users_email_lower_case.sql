-- The operator's commands name a user by email, trimmed and in lower case (admin ... --email folds what it is given),
-- so that "OPS@Agency.gov.sg " and "ops@agency.gov.sg" are one user, not two. Existing addresses are folded too, unless
-- two would fold to one: those stay as they are, for an operator to merge.
UPDATE users u SET email = lower(btrim(u.email))
WHERE u.email <> lower(btrim(u.email))
  AND (SELECT count(*) FROM users o WHERE lower(btrim(o.email)) = lower(btrim(u.email))) = 1;
