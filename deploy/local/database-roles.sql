-- The login roles GovSg's parts connect as (least privilege; SECURITY.md). Run once per PostgreSQL cluster, and again
-- to change a password, by a role that may create roles, with psql:
--   psql -v ON_ERROR_STOP=1 -v api_password=... -v dispatcher_password=... -v operator_password=... \
--        -f deploy/local/database-roles.sql
-- It makes roles and sets passwords only: what each may do on each table is Api/Database/grants.sql, which the
-- migration runner applies (as the owner of the tables, itself none of these) after every run. Used by
-- deploy/local/infra.sh, docker-compose.yml and the tests; on Kubernetes a database administrator runs it
-- (deploy/k8s/README.md).

SELECT format('CREATE ROLE %I', name)
FROM (VALUES ('govsg_api'), ('govsg_dispatcher'), ('govsg_operator')) AS wanted(name)
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = wanted.name)
\gexec

-- Plain login roles: nothing beyond the grants, and no inherited membership that could add to them.
ALTER ROLE govsg_api LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION PASSWORD :'api_password';
ALTER ROLE govsg_dispatcher LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION PASSWORD :'dispatcher_password';
ALTER ROLE govsg_operator LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION PASSWORD :'operator_password';
