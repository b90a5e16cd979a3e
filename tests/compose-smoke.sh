#!/usr/bin/env bash
# The docker-compose smoke test: builds and starts docker-compose.yml on the local images (deploy/images), waits until
# every service is healthy, sends one message through the Api and polls it to READ, checks that no container runs as
# root, and takes everything down again, also on failure. Secrets are generated into a private env file for the run.
# Needs a running engine (deploy/images/engine.sh); builds the images it lacks. Published ports: 18180 (Api), 18190
# (simulator), 18172 (RabbitMQ UI), unless GOVSG_API_PORT etc. say otherwise.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export DOCKER_API_VERSION=1.41
docker() { /usr/bin/docker "$@"; }
log() { echo "compose-smoke: $*"; }

bash deploy/images/build.sh dotnet

work=$(mktemp -d)
env_file="$work/compose.env"
(
  umask 077
  for name in POSTGRES_PASSWORD POSTGRES_API_PASSWORD POSTGRES_DISPATCHER_PASSWORD POSTGRES_OPERATOR_PASSWORD \
              RABBITMQ_PASSWORD RABBITMQ_API_PASSWORD RABBITMQ_DISPATCHER_PASSWORD AUTH_KEY_PEPPER \
              WEBHOOK_VERIFY_TOKEN WEBHOOK_APP_SECRET WHATSAPP_ACCESS_TOKEN; do
    echo "$name=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  done > "$env_file"
  echo "GOVSG_API_PORT=${GOVSG_API_PORT:-18180}" >> "$env_file"
  echo "GOVSG_SIMULATOR_PORT=${GOVSG_SIMULATOR_PORT:-18190}" >> "$env_file"
  echo "GOVSG_RABBITMQ_UI_PORT=${GOVSG_RABBITMQ_UI_PORT:-18172}" >> "$env_file"
)
api="http://127.0.0.1:${GOVSG_API_PORT:-18180}"

compose() {
  docker-compose --project-name govsg-smoke --env-file "$env_file" \
    -f docker-compose.yml -f deploy/images/docker-compose.local.yml "$@"
}
finish() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "FAILED; the last log lines of each service:"
    compose logs --no-color --tail=15 >&2 || true
  fi
  compose down --volumes --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT
# A run killed before its cleanup leaves the project behind; start from nothing.
compose down --volumes --remove-orphans >/dev/null 2>&1 || true

started=$SECONDS
log "building the images"
compose build --force-rm -q >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; exit 1; }
log "starting the stack"
compose up -d >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }

# Every long-running container healthy, and the one-shot steps (migrate, seed) exited 0.
state() { docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.ExitCode}}{{end}}' "$@"; }
deadline=$((SECONDS + 180))
while :; do
  states=$(state $(compose ps -q))
  unready=$(awk '!($2 == "running" && $3 == "healthy") && !($2 == "exited" && $3 == "0")' <<<"$states")
  [ -z "$unready" ] && break
  if grep -q ' exited [1-9]\| unhealthy$' <<<"$unready" || [ "$SECONDS" -ge "$deadline" ]; then
    log "not healthy: $(tr '\n' ';' <<<"$unready")"
    exit 1
  fi
  sleep 2
done
log "healthy after $((SECONDS - started)) s: $(awk '{print $1 "=" ($3 == "healthy" ? "healthy" : "done")}' <<<"$states" | tr -d / | tr '\n' ' ')"

# Non-root: the image's user for every container, and the running process's uid where one runs.
for container in $(compose ps -q); do
  read -r name user status < <(docker inspect -f '{{.Name}} {{.Config.User}} {{.State.Status}}' "$container")
  uid=$([ "$status" = running ] && docker exec "$container" id -u || echo "-")
  if [ -z "$user" ] || [ "$user" = root ] || [ "$user" = 0 ] || [ "$uid" = 0 ]; then
    log "${name#/} runs as root (user '${user}', uid $uid)"
    exit 1
  fi
done
log "no container runs as root"

key=$(compose logs --no-color seed | sed -n 's/.*api key: *//p' | tail -n 1)
[ -n "$key" ] || { log "the seed step printed no api key"; exit 1; }
body='{"recipient":"+6591234567","template_id":1,"params":{"recipient_name":"Stanley Nguyen","officer_name":"John Tan",
"officer_designation":"Reception Officer","agency":"Open Government Products","topic":"document collection",
"timeslot":"1-3PM"}}'
sent=$(curl -sS --fail-with-body -X POST "$api/v1/transactional/govsg/send" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' -d "$body")
id=$(sed -n 's/^{"id":"\([0-9]*\)".*/\1/p' <<<"$sent")
[ -n "$id" ] || { log "the send answered: $sent"; exit 1; }
log "sent message $id"

status="" deadline=$((SECONDS + 60))
while [ "$SECONDS" -lt "$deadline" ]; do
  status=$(curl -sS --fail-with-body "$api/v1/transactional/govsg/$id" -H "Authorization: Bearer $key" \
    | sed -n 's/.*"status":"\([A-Z_]*\)".*/\1/p')
  case "$status" in READ) break ;; ERROR) break ;; esac
  sleep 0.5
done
[ "$status" = READ ] || { log "message $id is $status, not READ, after 60 s"; exit 1; }
log "message $id is READ; stack up to READ in $((SECONDS - started)) s; taking it down"
