#!/usr/bin/env bash
# Runs one benchmark scenario against the local system and prints the load generator's tables:
#
#   bash tests/GovSg.LoadGenerator/bench.sh ingest|wrk|e2e|dispatchers|backlog|reads|ceilings|idle [load generator options]
#
# The system is (re)started with deploy/local/up.sh, with the provider limits lifted (SPEC §10: we measure our pipeline,
# not Meta's per-number cap) and the simulator's latency and receipt delays set; it is stopped again at the end.
# Knobs are environment variables (README.md beside this script); extra options go to the load generator's measuring
# verb (send, reads or ceilings) and override the script's.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

: "${BENCH_RATE:=1000}"                  # e2e, dispatchers: offered sends per second (open loop)
: "${BENCH_DURATION:=60s}"               # measured length of every load phase
: "${BENCH_WARMUP:=30s}"                 # before it, discarded: a freshly started system runs cold (JIT) for a while
: "${BENCH_USERS:=10}"                   # agency users the load is spread over, each with its own key
: "${BENCH_CONCURRENCY:=32}"             # ingest, wrk, backlog: requests kept in flight (closed loop)
: "${BENCH_KEYED:=0}"                    # wrk: 1 gives each send an Idempotency-Key of its own
: "${BENCH_CEILING_CONCURRENCY:=16}"     # e2e, dispatchers, backlog, ceilings: concurrency of the ceiling probes
: "${BENCH_BACKLOG:=100000}"             # backlog: messages sent while the dispatchers are stopped
: "${BENCH_BACKLOG_DISPATCHERS:=1}"      # backlog: dispatchers started to drain it
: "${BENCH_PROVIDER_RATE:=100000}"       # the WhatsApp number's limit the dispatchers share (the most they take)
: "${BENCH_LATENCY_MS:=100}"             # simulator: answer time of a send
: "${BENCH_SENT_DELAY_MS:=100}"          # simulator: receipts after the send is accepted
: "${BENCH_DELIVERED_DELAY_MS:=300}"
: "${BENCH_READ_DELAY_MS:=600}"
: "${BENCH_WEBHOOK_BATCH:=1}"            # simulator: statuses per webhook POST at most (Meta rarely batches them)
: "${BENCH_WEBHOOK_CONCURRENCY:=100}"    # simulator: webhook POSTs in flight at most
: "${BENCH_HISTORY:=200000}"             # e2e, dispatchers: older messages in the database when the load starts
: "${BENCH_CALLBACKS:=0}"                # e2e, dispatchers: 1 sends every user's status events to the simulator's sink
: "${BENCH_SEED_MESSAGES:=1000000}"      # reads: messages of the heavy user, and as many over 100 other users
: "${BENCH_READ_ITERATIONS:=100}"        # reads: calls per query shape, sequentially and again concurrently
: "${BENCH_READ_CONCURRENCY:=8}"
: "${GOVSG_PORT:=8080}"                 # the Api's port; dispatchers take the next ones, the simulator this + 10
: "${BENCH_BUILD:=1}"                    # 0: use the last Release build of the system
: "${BENCH_KEEP_RUNNING:=0}"             # 1: leave the system running afterwards

scenario=${1:-}
[ $# -eq 0 ] || shift
state="$root/.local"
mkdir -p "$state/logs"
log() { printf '[bench] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The services read these from the environment up.sh starts them in, so they hold from the first message on (a
# Dispatcher meeting a backlog must not see the simulator's default cap of 80/s even for a moment).
export GOVSG_PORT WhatsApp__MessagesPerSecond=$BENCH_PROVIDER_RATE Simulator__MessagesPerSecond=0 Simulator__ErrorRate=0 \
  Simulator__LatencyMs=$BENCH_LATENCY_MS Simulator__SentDelayMs=$BENCH_SENT_DELAY_MS \
  Simulator__DeliveredDelayMs=$BENCH_DELIVERED_DELAY_MS Simulator__ReadDelayMs=$BENCH_READ_DELAY_MS \
  Simulator__WebhookMaxBatch=$BENCH_WEBHOOK_BATCH Simulator__WebhookConcurrency=$BENCH_WEBHOOK_CONCURRENCY
# The `reads` scenario times queries, not the per-user read limit (SPEC §7), which would refuse most of them.
export RateLimits__ReadsPerSecond=1000000 RateLimits__ReadBurst=1000000

# Each scenario but `reads` runs on a database of its own, emptied first (and on emptied queues), so no run measures the
# leftovers of another;
# `reads` keeps its seeded millions of rows in another one between runs.
fresh_database() {
  as_root su postgres -c "psql -qtAX -c 'DROP DATABASE IF EXISTS govsg_bench WITH (FORCE)' -c 'CREATE DATABASE govsg_bench OWNER govsg'" >/dev/null
  for queue in send-message provider-status; do as_root rabbitmqctl -q purge_queue "$queue" >/dev/null 2>&1 || true; done
}
if [ "$scenario" = reads ]; then export GOVSG_DATABASE=govsg_reads; else export GOVSG_DATABASE=govsg_bench; fi
export ConnectionStrings__Postgres="Host=localhost;Port=5432;Database=$GOVSG_DATABASE;Username=govsg;Password=govsg;Maximum Pool Size=64"

loadgen_dir="$root/tests/GovSg.LoadGenerator"
build_load_generator() {
  log "building the load generator (Release)"
  dotnet build "$loadgen_dir" -c Release -v quiet -nologo >"$state/logs/bench-build.log" 2>&1 \
    || { tail -n 30 "$state/logs/bench-build.log"; exit 1; }
}
loadgen() { # verb, then options; the verb's own options may override --api
  local verb=$1; shift
  dotnet "$loadgen_dir/bin/Release/net10.0/GovSg.LoadGenerator.dll" "$verb" --api "http://localhost:$GOVSG_PORT/" "$@"
}

# (Re)starts the whole system with $1 dispatchers through up.sh. Only the first start builds; a restart in the middle
# of a scenario (to stop or add dispatchers) reuses that build.
system() {
  log "starting the system with $1 dispatcher(s) (log: .local/logs/bench-up.log)"
  GOVSG_DISPATCHERS=$1 GOVSG_BUILD=$BENCH_BUILD bash deploy/local/up.sh >"$state/logs/bench-up.log" 2>&1 \
    || { tail -n 30 "$state/logs/bench-up.log"; exit 1; }
  BENCH_BUILD=0
  [ "$BENCH_KEEP_RUNNING" = 1 ] || trap 'bash deploy/local/down.sh >/dev/null 2>&1 || true; log "system stopped"' EXIT
}

# Commands sent with the dispatchers stopped must wait in the Dispatcher's queue, as they would in production; the
# queue exists once a Dispatcher has run against this broker.
ensure_send_queue() {
  as_root rabbitmqctl -q list_queues name | grep -qx send-message || system 1
}

run_id() { echo "$1-$(date -u +%Y%m%d-%H%M%S)"; }

load() { # run id, then send options
  local run=$1; shift
  loadgen send --run-id "$run" --users "$BENCH_USERS" --duration "$BENCH_DURATION" --warmup "$BENCH_WARMUP" "$@"
}

e2e() { # dispatcher count, then extra options
  local callbacks=()
  [ "$BENCH_CALLBACKS" = 1 ] && callbacks=(--callbacks "http://localhost:$((GOVSG_PORT + 10))/_sim/callbacks")
  load "$(run_id "e2e-$1d")" --rate "$BENCH_RATE" --drain read --ceiling-concurrency "$BENCH_CEILING_CONCURRENCY" \
    --history "$BENCH_HISTORY" "${callbacks[@]}" "${@:2}"
}

# The wrk scenario's one user, made as an operator would (deploy/local/admin.sh) under the agency name the load
# generator's own runs carry (Setup/RunUsers.cs), so that `loadgen discard` finds its messages; prints its key.
wrk_key() { # run id
  local email="loadgen-$1@loadgen.invalid"
  bash deploy/local/admin.sh user upsert --email "$email" --agency "GovSg load generator, run $1" --rate-limit 100000 \
    --burst 10000000 >/dev/null
  bash deploy/local/admin.sh template grant --email "$email" --template 1 >/dev/null
  bash deploy/local/admin.sh key create --email "$email" --label "wrk $1" --valid-days 1 | sed -n 's/^api key: *//p'
}

# wrk, closed loop at BENCH_CONCURRENCY connections on two threads; prints the line of wrk/send.lua's done().
run_wrk() { # duration
  GOVSG_KEY=$key BENCH_KEYED=$BENCH_KEYED wrk -t2 -c"$BENCH_CONCURRENCY" -d"$1" --timeout 10s -s "$loadgen_dir/wrk/send.lua" \
    "http://localhost:$GOVSG_PORT" | grep '^wrk: '
}

case "$scenario" in
  ingest | wrk | e2e | dispatchers | backlog | reads | ceilings | idle) build_load_generator ;;
  *)
    echo "usage: bash tests/GovSg.LoadGenerator/bench.sh ingest|wrk|e2e|dispatchers|backlog|reads|ceilings|idle [options]" >&2
    exit 2
    ;;
esac
bash deploy/local/infra.sh >/dev/null
[ "$scenario" = reads ] || [ "$scenario" = ceilings ] || fresh_database
case "$scenario" in
  ingest)
    ensure_send_queue
    system 0
    run=$(run_id ingest)
    load "$run" --concurrency "$BENCH_CONCURRENCY" --drain none "$@"
    # Nothing will send these: drop them, so the next scenario's dispatchers do not start with a backlog.
    loadgen discard --run-id "$run"
    as_root rabbitmqctl -q purge_queue send-message >/dev/null
    ;;
  wrk)
    command -v wrk >/dev/null || as_root apt-get install -y -qq wrk >/dev/null
    ensure_send_queue
    system 0
    run=$(run_id wrk)
    key=$(wrk_key "$run")
    [ -n "$key" ] || { log "no key was made for the wrk user"; exit 1; }
    loadgen ceilings --concurrency "$BENCH_CONCURRENCY" "$@" | tee "$state/logs/wrk-ceilings.txt"
    log "wrk warm-up for $BENCH_WARMUP, discarded"
    run_wrk "$BENCH_WARMUP" >/dev/null
    log "wrk for $BENCH_DURATION at $BENCH_CONCURRENCY connections (keyed: $BENCH_KEYED), sampling CPU beside it"
    loadgen cpu --duration "$BENCH_DURATION" >"$state/logs/wrk-cpu.txt" &
    cpu=$!
    result=$(run_wrk "$BENCH_DURATION")
    wait "$cpu"
    cat "$state/logs/wrk-cpu.txt"
    echo "$result"
    # The same figures as `ingest` prints: the rate as a ratio to pgbench's, and the four parts' CPU per answered send.
    pgbench=$(sed -n 's/^ *pgbench single-row INSERTs\/s (tps) *\([0-9,.]*\).*/\1/p' "$state/logs/wrk-ceilings.txt" | tr -d ,)
    parts=$(sed -n 's/^ *Api + Dispatchers + PostgreSQL + RabbitMQ *\([0-9.]*\).*/\1/p' "$state/logs/wrk-cpu.txt")
    awk -v line="$result" -v pgbench="$pgbench" -v parts="$parts" 'BEGIN {
      split(line, f, " "); requests = f[3]; seconds = f[5]; non2xx = f[7]
      ok = requests - non2xx
      printf "wrk summary: %.0f sends/s answered 2xx (%.2f × pgbench %s tps), %d outside 2xx, four parts %.3f ms CPU per send\n",
        ok / seconds, ok / seconds / pgbench, pgbench, non2xx, parts * 1000 / ok }'
    loadgen discard --run-id "$run"
    as_root rabbitmqctl -q purge_queue send-message >/dev/null
    ;;
  e2e)
    system 1
    e2e 1 "$@"
    ;;
  dispatchers)
    for count in 1 2; do
      system "$count"
      e2e "$count" "$@"
    done
    ;;
  backlog)
    ensure_send_queue
    system 0
    run=$(run_id backlog)
    log "sending $BENCH_BACKLOG messages with the dispatchers stopped"
    loadgen send --run-id "$run" --users "$BENCH_USERS" --concurrency "$BENCH_CONCURRENCY" --messages "$BENCH_BACKLOG" \
      --warmup 0s --drain none --no-ceilings "$@"
    system "$BENCH_BACKLOG_DISPATCHERS"
    log "draining with $BENCH_BACKLOG_DISPATCHERS dispatcher(s)"
    loadgen drain --run-id "$run" --until read --ceiling-concurrency "$BENCH_CEILING_CONCURRENCY"
    ;;
  reads)
    system 0
    loadgen reads --seed --seed-messages "$BENCH_SEED_MESSAGES" --iterations "$BENCH_READ_ITERATIONS" \
      --concurrency "$BENCH_READ_CONCURRENCY" "$@"
    ;;
  ceilings)
    bash deploy/local/infra.sh >/dev/null
    loadgen ceilings --concurrency "$BENCH_CEILING_CONCURRENCY" "$@"
    ;;
  idle)
    system 1
    log "idle for the $BENCH_WARMUP warm-up, then sampling CPU for $BENCH_DURATION"
    sleep "$BENCH_WARMUP"
    loadgen cpu --duration "$BENCH_DURATION" "$@"
    ;;
esac
