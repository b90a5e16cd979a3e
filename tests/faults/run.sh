#!/usr/bin/env bash
# The fault suite (SPEC §8, issue 14): two Dispatchers sharing the number's 80/s, the simulator as provider, and a
# steady FAULT_RATE sends/s from the load generator, while one fault happens per scenario:
#   control   no fault
#   broker    RabbitMQ stopped for FAULT_OUTAGE seconds (docker stop / start)
#   kill      one Dispatcher killed with SIGKILL, restarted 5 s later
#   database  PostgreSQL restarted (docker restart)
#   provider  the provider failing 10 % of calls with a 5xx and answering 10 % after the Dispatchers' timeout (accepted
#             all the same), then throttling (130429) for 10 s
#   sigterm   SIGTERM to the Api and to a Dispatcher, each restarted
#   reconcile the provider answering FAULT_LATE_RATE of calls after the Dispatchers' timeout (accepted all the same),
#             and one Dispatcher killed with SIGKILL halfway through the load, not restarted (SPEC §5: reconcile before
#             re-sending; nobody may be messaged twice)
# and, only when named (not run by default):
#   api-kill              the Api killed with SIGKILL, restarted 5 s later
#   api-kill-broker-down  RabbitMQ stopped for FAULT_OUTAGE seconds, the Api killed with SIGKILL at its end (the
#                         commands the broker did not take are with the sweep already), then both started again
#   api-stop-broker-down  the same with SIGTERM (a rollout during the outage): the Api hands what it holds to the sweep
#   broker-kill           RabbitMQ killed with SIGKILL (docker kill), started FAULT_OUTAGE seconds later
#   database-kill         PostgreSQL killed with SIGKILL (docker kill), started 5 s later
#   broker-pause          RabbitMQ frozen (docker pause: connections stay open, nothing answers) for FAULT_OUTAGE s
#   database-pause        PostgreSQL frozen likewise for FAULT_OUTAGE s
#   dispatcher-stop       one Dispatcher frozen with SIGSTOP for FAULT_FREEZE (30) s, past its claims' lease and the
#                         reconcile hold, then SIGCONT (best with FAULT_RATE=120, see its comment)
# For the *-kill, *-pause and *-down scenarios a probe posts one more message every 0.5 s with a key of its own and
# logs every answer's status and time (the load generator times only its 201s and gives up after 10 s); each scenario
# also logs the messages stored, by status, sends per message, held and re-claimed counts, and exports the rows to
# <scenario>-messages.csv. For api-kill the recovery column counts from the Api's restart, for the pauses from the
# unpause, for dispatcher-stop from SIGCONT.
# and prints one table row per scenario: accepted, final, not final 3 minutes after the load (still UNSENT: kept, not
# lost), lost (ACCEPTED with a wamid the simulator issued for another message), recipients the simulator messaged twice, adopted by reconciliation, requests answered
# after 2 s, 5xx, and the seconds from the broker or database accepting connections again until every message created
# before then is final.
#
# One command: `bash tests/faults/run.sh [scenario ...]` (all by default). It builds the solution (Release, or
# FAULT_CONFIGURATION) unless FAULT_BUILD=0, and runs on containers of its own from the local images (govsg/postgres:15-bookworm,
# govsg/rabbitmq:3.10-bookworm), removed at the end; processes listen on 127.0.0.1 ports FAULT_PORT_BASE.. (7300).
# About 90 s a scenario; each is bounded (FAULT_DURATION + 4 minutes at most). Needs docker, psql, curl and jq.
# Knobs: FAULT_RATE (50), FAULT_DURATION (40 s of load), FAULT_AT (10: seconds into the load the fault starts),
# FAULT_OUTAGE (20), FAULT_LATE_RATE (0.1), FAULT_PORT_BASE (7300), FAULT_LABEL (org.govsg.faults).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rate=${FAULT_RATE:-50}
duration=${FAULT_DURATION:-40}
fault_at=${FAULT_AT:-10}
outage=${FAULT_OUTAGE:-20}
late_rate=${FAULT_LATE_RATE:-0.1}
base=${FAULT_PORT_BASE:-7300}
label=${FAULT_LABEL:-org.govsg.faults}
configuration=${FAULT_CONFIGURATION:-Release}
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(control broker kill database provider sigterm reconcile)

logs=$(mktemp -d)
log() { printf '[faults %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
now_ms() { date +%s%3N; }
pids=()
stop_services() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait "${pids[@]}" 2>/dev/null || true; pids=(); }
containers=()
cleanup() { stop_services; for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

if [ "${FAULT_BUILD:-1}" = 1 ]; then
  log "building ($configuration)"
  dotnet build "$root/GovSg.sln" -c "$configuration" >"$logs/build.log" 2>&1 || { tail -20 "$logs/build.log"; exit 1; }
fi
bin() { echo "$root/$1/bin/$configuration/net10.0"; }

pg_port=$((base + 1)); rabbit_port=$((base + 2))
simulator=http://127.0.0.1:$((base + 10)); api=http://127.0.0.1:$((base + 11))
pg=faults-pg-$$; rabbit=faults-rabbit-$$
log "containers $pg (127.0.0.1:$pg_port) and $rabbit (127.0.0.1:$rabbit_port); logs in $logs"
docker run -d --name "$pg" --label "$label=$$" -p "127.0.0.1:$pg_port:5432" -e POSTGRES_USER=govsg -e POSTGRES_PASSWORD=govsg \
  govsg/postgres:15-bookworm -c max_connections=300 >/dev/null
containers+=("$pg")
docker run -d --name "$rabbit" --label "$label=$$" -p "127.0.0.1:$rabbit_port:5672" govsg/rabbitmq:3.10-bookworm >/dev/null
containers+=("$rabbit")

export PGPASSWORD=govsg PGOPTIONS="-c client_min_messages=warning"
# psql on the scenario's own database (scenario names may hold a hyphen; database names may not).
q() { psql -qtAX -h 127.0.0.1 -p "$pg_port" -U govsg -d "faults_${scenario//-/_}" "$@"; }
pg_up() { pg_isready -q -h 127.0.0.1 -p "$pg_port" -U govsg -d postgres; }
rabbit_up() { (exec 3<>"/dev/tcp/127.0.0.1/$rabbit_port") 2>/dev/null && docker exec "$rabbit" rabbitmqctl -q await_startup -t 1 >/dev/null 2>&1; }
wait_for() { # what, seconds: polls until the check passes; prints the time it did
  local check=$1 seconds=$2
  for _ in $(seq 1 $((seconds * 10))); do $check && { now_ms; return; }; sleep 0.1; done
  log "$check did not pass within ${seconds}s"; return 1
}
wait_for pg_up 60 >/dev/null
# The migration runner grants each part's role its tables, so the roles must exist (SECURITY.md); the services here
# connect as the owner, as the faults, not least privilege, are what this run is about.
psql -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U govsg -d postgres -v api_password=govsg \
  -v dispatcher_password=govsg -v operator_password=govsg -f "$root/deploy/local/database-roles.sql" >/dev/null
wait_for rabbit_up 90 >/dev/null

rand() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
set -a
RabbitMq__Host=127.0.0.1
RabbitMq__Port=$rabbit_port
RabbitMq__Username=guest # the container's own broker (the services have no default user)
RabbitMq__Password=guest
Auth__KeyPepper=$(rand)
Webhooks__VerifyToken=$(rand)
Webhooks__AppSecrets__0=$(rand)
WhatsApp__AccessToken=$(rand)
WhatsApp__PhoneNumberId=106540352242922 # the simulator's sender number
Webhooks__PhoneNumberId=106540352242922
DOTNET_CLI_TELEMETRY_OPTOUT=1
DOTNET_NOLOGO=1
Logging__Console__FormatterName=simple
set +a

start() { # name, folder, dll, then environment assignments
  local name=$1 folder=$2 dll=$3; shift 3
  (cd "$(bin "$folder")" && exec env "$@" dotnet "$dll" >>"$logs/$scenario-$name.log" 2>&1) &
  pids+=($!)
  eval "pid_${name//-/_}=$!"
}
start_api() { start api Api GovSg.Api.dll ASPNETCORE_URLS="$api"; }
start_dispatcher() { # name
  local port=$((base + 12)); [ "$1" = dispatcher-a ] || port=$((base + 13))
  # Short clocks so a killed Dispatcher's claims are reconciled within the run (SPEC §5 defaults are 90 s).
  start "$1" Dispatcher GovSg.Dispatcher.dll ASPNETCORE_URLS="http://127.0.0.1:$port" WhatsApp__BaseUrl="$simulator/" \
    WhatsApp__AllowInsecureBaseUrl=true WhatsApp__Timeout=00:00:02 WhatsApp__MessagesPerSecond=80 \
    Retry__ClaimLease=00:00:05 Retry__ReconcileHold=00:00:10
}
# Healthy, not just answering: an Api whose bus has not connected yet is ready but degraded.
ready() {
  for url in "$@"; do
    for _ in $(seq 1 240); do curl -fsS "$url" 2>/dev/null | jq -e '.status == "Healthy"' >/dev/null && break; sleep 0.5; done
  done
}
sim() { curl -fsS -X PUT -H 'Content-Type: application/json' -d "$1" "$simulator/_sim/settings" >/dev/null; }
stopped_in() { # pid, signal: sends it and prints the seconds until the process exited
  local started; started=$(now_ms); kill "-$2" "$1"; while kill -0 "$1" 2>/dev/null; do sleep 0.1; done
  echo "$(( ($(now_ms) - started) / 100 ))" | sed -E 's/(.)$/.\1/'
}

setup_scenario() {
  local database=faults_${scenario//-/_}
  psql -qtAX -h 127.0.0.1 -p "$pg_port" -U govsg -d postgres -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database" >/dev/null
  docker exec "$rabbit" rabbitmqctl -q delete_vhost "$database" >/dev/null 2>&1 || true
  docker exec "$rabbit" rabbitmqctl -q add_vhost "$database"
  docker exec "$rabbit" rabbitmqctl -q set_permissions -p "$database" guest '.*' '.*' '.*'
  export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$pg_port;Database=$database;Username=govsg;Password=govsg;Maximum Pool Size=32"
  export RabbitMq__VirtualHost=$database
  (cd "$(bin Api)" && dotnet GovSg.Api.dll migrate && dotnet GovSg.Api.dll admin template import --file "$root/deploy/local/templates.json") \
    >"$logs/$scenario-setup.log" 2>&1 || { cat "$logs/$scenario-setup.log"; exit 1; }
  probe_key=
  case $scenario in
    *-pause|*-kill|*-down)
      # A key of its own for the probe (below), which times every answer, not only the 201s the load generator times.
      probe_key=$(cd "$(bin Api)" && dotnet GovSg.Api.dll admin user upsert --email probe@faults.test --agency faults --rate-limit 100 \
          >>"$logs/$scenario-setup.log" 2>&1 && dotnet GovSg.Api.dll admin template grant --email probe@faults.test --template 2 \
          >>"$logs/$scenario-setup.log" 2>&1 && dotnet GovSg.Api.dll admin key create --email probe@faults.test --label probe \
          2>>"$logs/$scenario-setup.log" | grep -oE 'gsg_[A-Za-z0-9_-]+' | head -1) ;;
  esac
  start simulator tests/GovSg.WhatsAppSimulator GovSg.WhatsAppSimulator.dll ASPNETCORE_URLS="$simulator" \
    Simulator__AccessToken="$WhatsApp__AccessToken" Simulator__AppSecret="$Webhooks__AppSecrets__0" \
    Simulator__WebhookUrl="$api/v1/callback/govsg" Simulator__TemplatesFile="$root/deploy/local/templates.json" \
    Simulator__MessagesPerSecond=80 Simulator__LatencyMs=50 Simulator__LateMs=3000
  start_api
  start_dispatcher dispatcher-a
  start_dispatcher dispatcher-b
  for _ in $(seq 1 120); do curl -fsS -o /dev/null "$simulator/health" 2>/dev/null && break; sleep 0.5; done
  ready "$api/health/ready" "http://127.0.0.1:$((base + 12))/health/ready" "http://127.0.0.1:$((base + 13))/health/ready"
}

# Posts one message every 0.5 s to its own recipients and logs each answer's status and seconds (curl gives up after 30 s).
probe() {
  local i=0
  while :; do
    i=$((i + 1))
    curl -s -o /dev/null -m 30 -w "$(date -u +%H:%M:%S.%3N) %{http_code} %{time_total}\n" -H "Authorization: Bearer $probe_key" \
      -H 'Content-Type: application/json' \
      -d "{\"recipient\":\"+6589$(printf %06d "$i")\",\"template_id\":2,\"params\":{\"venue\":\"v\",\"date\":\"d\",\"time\":\"t\",\"reference\":\"r$i\"}}" \
      "$api/v1/transactional/govsg/send" >>"$logs/$scenario-probe.txt" &
    sleep 0.5
  done
}

# Runs the scenario's fault FAULT_AT seconds into the load; prints when the broker or database accepted again (ms), if
# the fault took one away, and notes on stderr.
inject() {
  # From the first stored message: the load generator itself takes a while to start on a busy machine.
  until [ "$(q -c "SELECT count(*) > 0 FROM messages")" = t ]; do
    sleep 0.2
  done
  sleep "$fault_at"
  case $scenario in
    control) ;;
    broker)
      docker stop -t 10 "$rabbit" >/dev/null; log "RabbitMQ stopped"; sleep "$outage"; docker start "$rabbit" >/dev/null
      wait_for rabbit_up 120 ;;
    kill)
      kill -9 "$pid_dispatcher_b"; log "dispatcher-b killed"; sleep 5; start_dispatcher dispatcher-b ;;
    database)
      docker restart -t 10 "$pg" >/dev/null; wait_for pg_up 120 ;;
    provider)
      sim '{"error_rate":0.1,"late_rate":0.1}'; log "provider failing"; sleep 15
      sim '{"error_rate":0,"late_rate":0,"messages_per_second":30}'; log "provider throttling"; sleep 10
      sim '{"messages_per_second":80}' ;;
    sigterm)
      log "Api stopped in $(stopped_in "$pid_api" TERM) s"; start_api; sleep 5
      log "dispatcher-a stopped in $(stopped_in "$pid_dispatcher_a" TERM) s"; start_dispatcher dispatcher-a ;;
    reconcile)
      sim "{\"late_rate\":$late_rate}"; log "provider answering $late_rate of calls after the timeout"
      sleep $(( duration / 2 > fault_at ? duration / 2 - fault_at : 0 ))
      kill -9 "$pid_dispatcher_b"; log "dispatcher-b killed" ;;
    api-kill)
      # The Api answers 201 before the broker confirms the command: what it held in memory is re-published by the
      # lost-command sweep (SweepOptions.PickUpDeadline). The recovery column counts from the Api's restart.
      kill -9 "$pid_api"; log "Api killed"; sleep 5; start_api; log "Api restarted"; now_ms ;;
    api-kill-broker-down | api-stop-broker-down)
      # The Api hands the commands the broker does not take to the sweep as it accepts them, so neither killing nor
      # stopping it leaves them to their pick-up deadline (before 697d729 a killed Api's waited for it). SPEC §8:
      # published within seconds of the broker's return, not after the lost-command deadline.
      docker stop -t 10 "$rabbit" >/dev/null; log "RabbitMQ stopped"; sleep "$outage"
      if [ "$scenario" = api-kill-broker-down ]; then kill -9 "$pid_api"; log "Api killed"
      else log "Api stopped in $(stopped_in "$pid_api" TERM) s"; fi
      docker start "$rabbit" >/dev/null; wait_for rabbit_up 120; log "RabbitMQ back"
      start_api; log "Api restarted" ;;
    broker-kill)
      docker kill "$rabbit" >/dev/null; log "RabbitMQ killed"; sleep "$outage"; docker start "$rabbit" >/dev/null
      wait_for rabbit_up 120 ;;
    database-kill)
      docker kill "$pg" >/dev/null; log "PostgreSQL killed"; sleep 5; docker start "$pg" >/dev/null
      wait_for pg_up 120 ;;
    broker-pause)
      # A hang, not a crash: the TCP connections stay open and nothing answers.
      docker pause "$rabbit" >/dev/null; log "RabbitMQ paused"; sleep "$outage"; docker unpause "$rabbit" >/dev/null
      log "RabbitMQ unpaused"; now_ms ;;
    database-pause)
      docker pause "$pg" >/dev/null; log "PostgreSQL paused"; sleep "$outage"; docker unpause "$pg" >/dev/null
      log "PostgreSQL unpaused"; now_ms ;;
    dispatcher-stop)
      # Frozen for longer than its claims' lease (slot wait + WhatsApp__Timeout 2 s + Retry__ClaimLease 5 s here) plus
      # Retry__ReconcileHold (10 s), so the other Dispatcher's sweep holds and re-sends its claims; then it wakes holding
      # them. Run it with a backlog (FAULT_RATE=120, above the number's 80/s) so that claims wait for their slots when
      # it freezes: at 50/s it rarely holds any.
      kill -STOP "$pid_dispatcher_b"; log "dispatcher-b stopped (SIGSTOP)"; sleep "${FAULT_FREEZE:-30}"
      kill -CONT "$pid_dispatcher_b"; log "dispatcher-b continued (SIGCONT)"; now_ms ;;
  esac
}

figures() { # back (ms or empty), load table file: prints one table row
  local back=$1 load=$2
  curl -fsS "$simulator/_sim/sends" >"$logs/$scenario-sends.json"
  jq -r '.data[] | select(.biz_opaque_callback_data != null) | [(.biz_opaque_callback_data | split(":")[1]), .wamid] | @csv' \
    "$logs/$scenario-sends.json" >"$logs/$scenario-sends.csv"
  local lost
  lost=$(q \
    -c "CREATE TEMP TABLE sends (message_id bigint, wamid text)" \
    -c "\\copy sends FROM '$logs/$scenario-sends.csv' WITH (FORMAT csv)" \
    -c "SELECT count(*) FROM messages m WHERE m.provider_message_id IS NOT NULL AND NOT EXISTS
          (SELECT 1 FROM sends s WHERE s.message_id = m.id AND s.wamid = m.provider_message_id)")
  local recovery=-
  if [ -n "$back" ]; then
    recovery=$(q -c "SELECT COALESCE(round(extract(epoch FROM max(COALESCE(accepted_at, errored_at)))::numeric - $back / 1000.0, 1)::text, '-')
                     FROM messages WHERE created_at < to_timestamp($back / 1000.0)")
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$scenario" \
    "$(grep -E '^ *answered 201' "$load" | awk '{print $NF}')" \
    "$(q -c "SELECT count(*) FROM messages WHERE status <> 'UNSENT'")" "$(q -c "SELECT count(*) FROM messages WHERE status = 'UNSENT'")" "$lost" \
    "$(jq '[.data | group_by(.to)[] | select(length > 1)] | length' "$logs/$scenario-sends.json")" \
    "$(q -c "SELECT count(*) FROM messages WHERE accepted_at = attempted_at")" \
    "$(grep -E 'answered after 2 s' "$load" | awk '{print $NF}')" \
    "$(grep -E 'errors: HTTP 5' "$load" | awk '{gsub(",", "", $NF); s += $NF} END {print s + 0}')" "$recovery"
}

rows=()
for scenario in "${scenarios[@]}"; do
  log "scenario $scenario: $rate sends/s for ${duration}s, fault at ${fault_at}s"
  setup_scenario
  timeout $((duration + 240)) dotnet "$(bin tests/GovSg.LoadGenerator)/GovSg.LoadGenerator.dll" send --api "$api/" \
    --postgres "$ConnectionStrings__Postgres" --rate "$rate" --duration "${duration}s" --warmup 0s --users 1 \
    --request-timeout 10s --drain none --no-ceilings --run-id "faults-$scenario" \
    >"$logs/$scenario-load.txt" 2>"$logs/$scenario-load.log" &
  load=$!
  probe_pid=
  if [ -n "$probe_key" ]; then probe & probe_pid=$!; fi
  # Not in a subshell: the processes it restarts must be stopped with the others.
  inject >"$logs/$scenario-back.txt"
  back=$(tail -n 1 "$logs/$scenario-back.txt")
  wait "$load" || log "the load generator ended with $? (see $logs/$scenario-load.log)"
  if [ -n "$probe_pid" ]; then kill "$probe_pid" 2>/dev/null || true; sleep 1; fi
  # Until every message is final (at most 3 minutes), polled here: the database may have just restarted.
  for _ in $(seq 1 360); do
    [ "$(q -c "SELECT count(*) FROM messages WHERE status = 'UNSENT'" 2>/dev/null)" = 0 ] && break
    sleep 0.5
  done
  rows+=("$(figures "$back" "$logs/$scenario-load.txt")")
  log "${rows[-1]}"
  # Beyond the row: every message with a 201 is stored, and the simulator's sends per message.
  log "stored $(q -c "SELECT count(*) FROM messages"),\
 by status $(q -c "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM messages GROUP BY 1) s"),\
 simulator sends $(jq '.data | length' "$logs/$scenario-sends.json"), messages sent more than once\
 $(jq '[.data[] | select(.biz_opaque_callback_data != null) | (.biz_opaque_callback_data | split(":")[1])] | group_by(.) | map(select(length > 1)) | length' "$logs/$scenario-sends.json"),\
 load errors: $(grep -E '^ *errors' "$logs/$scenario-load.txt" | tr -s ' ' | paste -sd ';'), max POST latency $(grep -E 'POST latency max' "$logs/$scenario-load.txt" | awk '{print $NF}') ms"
  if [ -f "$logs/$scenario-probe.txt" ]; then
    log "probe: $(awk '{n++; c[$2]++; if ($3 > max) max = $3; if ($3 > 2) slow++} END {printf "%d requests, max %.1f s, over 2 s %d, by status:", n, max, slow; for (k in c) printf " %s=%d", k, c[k]}' "$logs/$scenario-probe.txt")"
  fi
  q -c "\\copy (SELECT id, status, attempts, held_attempt, held_at, created_at, attempted_at, accepted_at, errored_at, error_code, last_error FROM messages ORDER BY id) TO '$logs/$scenario-messages.csv' WITH (FORMAT csv, HEADER)" || true
  # The Dispatchers count re-sends exactly (govsg.provider.possible_duplicate); from the rows, a held message that took
  # more than one attempt comes close.
  log "held for reconciliation $(q -c "SELECT count(*) FROM messages WHERE held_attempt IS NOT NULL"), of them sent again\
 $(q -c "SELECT count(*) FROM messages WHERE held_attempt IS NOT NULL AND attempts > 1"), claimed more than once\
 $(q -c "SELECT count(*) FROM messages WHERE attempts > 1")"
  stop_services
done

echo
echo "| scenario | accepted | final | not final after 3 min | lost | recipients messaged twice | adopted | requests over 2 s | 5xx | broker/DB back → all final (s) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
