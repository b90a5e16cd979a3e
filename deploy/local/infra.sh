#!/usr/bin/env bash
# Provides PostgreSQL and RabbitMQ on this machine for local runs and tests: installs them from Debian packages when
# missing, starts them when stopped, lets the govsg roles log in with a password over PostgreSQL's Unix socket, and
# creates the govsg role, databases and RabbitMQ vhosts. Safe to run again.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
log() { printf '[infra] %s\n' "$*"; }

missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql postgresql-contrib)
[ -x /usr/sbin/rabbitmq-server ] || missing+=(rabbitmq-server)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PostgreSQL: the Debian cluster, started without systemd (the server refuses to run as root directly).
pg_version=$(ls /etc/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" && $4 == "online" { ok = 1 } END { exit !ok }'; then
  log "starting PostgreSQL $pg_version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
fi
psql_admin() { as_root su postgres -c "psql -v ON_ERROR_STOP=1 -qtAX $(printf '%q ' "$@")"; }
if [ "$(psql_admin -c 'SHOW max_connections')" -lt 300 ]; then
  # The Api, several dispatchers and the test hosts each hold a pool; 100 is too few for all of them at once.
  log "raising max_connections to 300"
  psql_admin -c 'ALTER SYSTEM SET max_connections = 300'
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main restart
fi
if [ "$(psql_admin -c 'SHOW autovacuum_naptime')" != "20s" ]; then
  # A new table's first statistics come from autovacuum's first ANALYZE. Until then the services' prepared statements
  # keep plans made for a table of a few rows (the status update scans the whole table), so let that come within
  # seconds of the first writes rather than a minute (BENCHMARKS.md, "A benchmark of a brand-new table").
  log "autovacuum every 20 s"
  psql_admin -c "ALTER SYSTEM SET autovacuum_naptime = '20s'"
  psql_admin -c 'SELECT pg_reload_conf()' >/dev/null
fi
# The local run's services connect over the Unix socket (up.sh), with a password as over TCP: a round trip through the
# socket costs PostgreSQL and the services less than through loopback TCP (BENCHMARKS.md, "PostgreSQL over its Unix
# socket"). Debian's own rules let a local login only as the same-named system user, so the govsg roles' rule goes first.
hba=$(psql_admin -c 'SHOW hba_file')
if ! as_root grep -q '^local[[:space:]]\+all[[:space:]]\+govsg,' "$hba"; then
  log "password logins over the Unix socket for the govsg roles"
  as_root sed -i '1i local   all   govsg,govsg_api,govsg_dispatcher,govsg_operator   scram-sha-256' "$hba"
  psql_admin -c 'SELECT pg_reload_conf()' >/dev/null
fi
psql_admin -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'govsg') THEN
    CREATE ROLE govsg LOGIN PASSWORD 'govsg' CREATEDB;
  END IF; END \$\$;"
for db in govsg govsg_test; do
  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
    log "creating database $db"
    psql_admin -c "CREATE DATABASE $db OWNER govsg"
  fi
done

# RabbitMQ: `rabbitmq-diagnostics ping` answers ~2 s before 5672 accepts, so wait for the port too.
if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
  log "starting RabbitMQ"
  as_root rabbitmq-server -detached
fi
for _ in $(seq 1 60); do
  if as_root rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1 && (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
    break
  fi
  sleep 1
done
(exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || { log "RabbitMQ did not start"; exit 1; }
for vhost in / govsg_test; do
  as_root rabbitmqctl -q add_vhost "$vhost" >/dev/null 2>&1 || true
  as_root rabbitmqctl -q set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
done
log "PostgreSQL $pg_version and RabbitMQ are up"
