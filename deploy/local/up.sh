#!/usr/bin/env bash
# Runs the whole system locally with the WhatsApp simulator as the provider: PostgreSQL and RabbitMQ (installed and
# started when missing), migrations, a demo user, key and templates, then the simulator, the Api and a Dispatcher in
# the background. Prints the Api URL, where the demo key is and a ready-to-paste curl. Run it again to restart everything;
# deploy/local/down.sh stops it.
#
# Optional knobs (the benchmark uses them; unset, nothing changes):
#   GOVSG_DISPATCHERS=N   start N dispatchers (default 1; 0 for none), on ports 8081, 8082, ...
#   GOVSG_BUILD=0         skip the build and run the binaries of the last Release build
#   GOVSG_DATABASE=name   use (and create when missing) this PostgreSQL database instead of govsg
#   GOVSG_PORT=N          the Api's port (default 8080); dispatchers take the next ones, the simulator N + 10
# The services also read any other setting from the environment they inherit (e.g. WhatsApp__MessagesPerSecond).
# One local run per machine: a run stops the one before it from this folder, but runs from two clones would share the
# broker's virtual host (their Dispatchers competing for one queue, each with its own database) and its users (each
# run resets their passwords to its own), whatever their GOVSG_DATABASE and GOVSG_PORT.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
state="$root/.local"
mkdir -p "$state/logs"
log() { printf '[up] %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

bash deploy/local/infra.sh
database=${GOVSG_DATABASE:-govsg}
[[ "$database" =~ ^[a-z_][a-z0-9_]*$ ]] || { log "GOVSG_DATABASE must be a plain lower-case name (letters, digits, _; not a digit first)"; exit 1; }
if [ "$(as_root su postgres -c "psql -qtAX -c \"SELECT 1 FROM pg_database WHERE datname = '$database'\"")" != 1 ]; then
  as_root su postgres -c "psql -qtAX -c 'CREATE DATABASE $database OWNER govsg'" >/dev/null
fi
bash deploy/local/down.sh >/dev/null 2>&1 || true

# Local secrets, made once (each one missing from an older file is added) and kept out of the repository, readable
# by their owner only (SPEC §9.1).
rand() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
(umask 077 && touch "$state/secrets.env")
chmod 600 "$state/secrets.env"
grep -q '^Auth__KeyPepper=' "$state/secrets.env" || new_pepper=1
for name in Auth__KeyPepper Webhooks__VerifyToken Webhooks__AppSecrets__0 WhatsApp__AccessToken \
            GOVSG_PG_API_PASSWORD GOVSG_PG_DISPATCHER_PASSWORD GOVSG_PG_OPERATOR_PASSWORD \
            RABBITMQ_API_PASSWORD RABBITMQ_DISPATCHER_PASSWORD; do
  grep -q "^$name=" "$state/secrets.env" || echo "$name=$(rand)" >>"$state/secrets.env"
done
# shellcheck disable=SC1091
. "$state/secrets.env"

# Least privilege (SECURITY.md): the migrations run as govsg, the owner of the tables; the Api, the Dispatchers and the
# admin verbs each connect to PostgreSQL and RabbitMQ as a user of their own.
# The passwords go in on stdin, not as arguments any process listing would show.
{ printf '\\set %s %s\n' api_password "$GOVSG_PG_API_PASSWORD" dispatcher_password "$GOVSG_PG_DISPATCHER_PASSWORD" \
    operator_password "$GOVSG_PG_OPERATOR_PASSWORD"; cat deploy/local/database-roles.sql; } \
  | as_root su postgres -c "psql -qX -v ON_ERROR_STOP=1 -d postgres" >/dev/null
as_root env RABBITMQ_API_PASSWORD="$RABBITMQ_API_PASSWORD" RABBITMQ_DISPATCHER_PASSWORD="$RABBITMQ_DISPATCHER_PASSWORD" \
  bash deploy/local/broker-users.sh /
# Over PostgreSQL's Unix socket (Debian's directory; infra.sh allows the roles' password logins there).
postgres_as() { echo "Host=/var/run/postgresql;Port=5432;Database=$database;Username=$1;Password=$2;Maximum Pool Size=64"; }

export Auth__KeyPepper Webhooks__VerifyToken Webhooks__AppSecrets__0 WhatsApp__AccessToken
set -a
DOTNET_CLI_TELEMETRY_OPTOUT=1
DOTNET_NOLOGO=1
Logging__Console__FormatterName=simple
# The simulator's sender number (its appsettings.json): the services ship without one, so that none calls Meta for a
# number that is not ours.
WhatsApp__PhoneNumberId=106540352242922
Webhooks__PhoneNumberId=106540352242922
# Local runs only: callbacks may go to http and loopback, e.g. the simulator's sink at http://localhost:8090/_sim/callbacks.
Callbacks__AllowInsecureLoopback=true
set +a

port=${GOVSG_PORT:-8080}
[[ "$port" =~ ^[0-9]+$ ]] || { log "GOVSG_PORT must be a number"; exit 1; }
simulator_port=$((port + 10))
dispatchers=${GOVSG_DISPATCHERS:-1}
[[ "$dispatchers" =~ ^[0-9]+$ ]] || { log "GOVSG_DISPATCHERS must be a number"; exit 1; }
if [ "${GOVSG_BUILD:-1}" = 0 ]; then
  log "using the last Release build (GOVSG_BUILD=0)"
else
  log "building (Release)"
  dotnet build GovSg.sln -c Release -v quiet -nologo >"$state/logs/build.log" 2>&1 || { tail -n 30 "$state/logs/build.log"; exit 1; }
fi
bin() { echo "$root/$1/bin/Release/net10.0"; }
api() { (cd "$(bin Api)" && dotnet GovSg.Api.dll "$@"); }
migrate() { ConnectionStrings__Postgres=$(postgres_as govsg govsg) api migrate; }
admin() { GOVSG_DATABASE=$database bash "$root/deploy/local/admin.sh" "$@"; }

log "migrating and seeding"
migrate >"$state/logs/migrate.log" 2>&1 || { cat "$state/logs/migrate.log"; exit 1; }
# A key pepper made just now (a new .local folder beside an older database) replaces the one the database recorded: the
# keys made with that one can never be verified again anyway, and the Api refuses a pepper it did not record.
[ -z "${new_pepper:-}" ] || as_root su postgres -c "psql -qX -d $database -c 'DELETE FROM key_pepper'" >/dev/null
email=demo@agency.gov.sg
admin user upsert --email "$email" --agency "Demo Agency" --rate-limit 100 >/dev/null
admin template import --file "$root/deploy/local/templates.json" >/dev/null
for template in 1 2 3; do admin template grant --email "$email" --template "$template" >/dev/null; done
# One demo key and one test key at a time: the previous run's key is revoked (when this database has it: a new
# GOVSG_DATABASE has not) before a new one is made. A key lives in an owner-only file and is never printed, so it stays
# out of logs that capture this script's output (the benchmark's, CI's). A test key's messages go through the queue and
# the Dispatcher but never reach WhatsApp (SPEC §11.2).
replace_key() { # file, label, then options of "admin key create"
  local file=$1 label=$2 previous=; shift 2
  [ ! -s "$file" ] || previous=$(sed -n 's/^gsg_\([0-9a-f]*\)_.*/\1/p' "$file")
  [ -z "$previous" ] || admin key revoke --key-id "$previous" >/dev/null 2>&1 || true
  local made
  if ! made=$(admin key create --email "$email" --label "$label $(date -u +%FT%TZ)" --valid-days 30 "$@" 2>&1); then
    printf '%s\n' "$made" >&2
    # The key pepper is checked here. Another checkout's up.sh (a .local folder of its own) recorded its own in the same
    # database: say how to go on, not only that they differ.
    if grep -q "is not the pepper" <<<"$made"; then
      log "the database $database was set up by another checkout's deploy/local/up.sh, with another key pepper. Stop"
      log "that run (its deploy/local/down.sh: one local run per machine), then either give this checkout a database of"
      log "its own (GOVSG_DATABASE=<name>) or replace the other's pepper (delete the Auth__KeyPepper line of"
      log "$state/secrets.env; the keys the other checkout made then stop working), and run up.sh again."
    fi
    exit 1
  fi
  (umask 077 && sed -n 's/^api key: *//p' <<<"$made" >"$file")
}
key_file="$state/demo-key" test_key_file="$state/demo-test-key"
replace_key "$key_file" demo
replace_key "$test_key_file" "demo test" --type test

start() { # name, folder, dll, then environment assignments (exported, not arguments: ps shows arguments to anyone)
  local name=$1 folder=$2 dll=$3; shift 3
  (cd "$(bin "$folder")" && export "$@" && exec nohup dotnet "$dll" >"$state/logs/$name.log" 2>&1 & echo $! >"$state/$name.pid")
}
start simulator tests/GovSg.WhatsAppSimulator GovSg.WhatsAppSimulator.dll \
  ASPNETCORE_URLS=http://localhost:$simulator_port Simulator__AccessToken="$WhatsApp__AccessToken" \
  Simulator__AppSecret="$Webhooks__AppSecrets__0" Simulator__WebhookUrl=http://localhost:$port/v1/callback/govsg \
  Simulator__TemplatesFile="$root/deploy/local/templates.json"
start api Api GovSg.Api.dll ASPNETCORE_URLS=http://localhost:$port \
  ConnectionStrings__Postgres="$(postgres_as govsg_api "$GOVSG_PG_API_PASSWORD")" \
  RabbitMq__Username=govsg-api RabbitMq__Password="$RABBITMQ_API_PASSWORD"
dispatcher_urls=()
for i in $(seq 1 "$dispatchers"); do
  name=dispatcher; [ "$i" -eq 1 ] || name="dispatcher-$i"
  url="http://localhost:$((port + i))"
  start "$name" Dispatcher GovSg.Dispatcher.dll ASPNETCORE_URLS="$url" WhatsApp__BaseUrl=http://localhost:$simulator_port/ \
    WhatsApp__AllowInsecureBaseUrl=true \
    ConnectionStrings__Postgres="$(postgres_as govsg_dispatcher "$GOVSG_PG_DISPATCHER_PASSWORD")" \
    RabbitMq__Username=govsg-dispatcher RabbitMq__Password="$RABBITMQ_DISPATCHER_PASSWORD"
  dispatcher_urls+=("$url/health/ready")
done

for url in http://localhost:$simulator_port/health http://localhost:$port/health/ready "${dispatcher_urls[@]}"; do
  for _ in $(seq 1 60); do curl -fsS "$url" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fsS "$url" >/dev/null 2>&1 || { log "$url is not healthy; see $state/logs"; exit 1; }
done

dispatcher_lines=$(for url in "${dispatcher_urls[@]}"; do echo "  Dispatcher  $url"; done)
[ "$dispatchers" -gt 0 ] || dispatcher_lines="  Dispatcher  none (GOVSG_DISPATCHERS=0)"
cat <<INFO

GovSg is running (logs in .local/logs, stop with: bash deploy/local/down.sh)
  Api         http://localhost:$port   (OpenAPI: http://localhost:$port/openapi/v1.json)
$dispatcher_lines
  Simulator   http://localhost:$simulator_port   (control API under /_sim)
  Demo user   $email
  Demo key    in .local/demo-key (readable by you only; revoked and replaced on the next start)
  Test key    in .local/demo-test-key (likewise; its messages are simulated and never reach WhatsApp)

Send the officer-call template:

curl -sS -X POST http://localhost:$port/v1/transactional/govsg/send \\
  -H "Authorization: Bearer \$(cat $key_file)" -H 'Content-Type: application/json' \\
  -d '{"recipient":"+6591234567","template_id":1,"params":{"recipient_name":"Stanley Nguyen","officer_name":"John Tan","officer_designation":"Reception Officer","agency":"Open Government Products","topic":"document collection","timeslot":"1-3PM"}}'

Then read it back (use the "id" from the answer):

curl -sS http://localhost:$port/v1/transactional/govsg/<id> -H "Authorization: Bearer \$(cat $key_file)"

With \$(cat $test_key_file) instead of the demo key, the same send is simulated: ACCEPTED at once, then SENT,
DELIVERED and READ about 1, 2 and 3 s later (see "Test keys" in the README).
INFO
