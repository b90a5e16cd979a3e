#!/usr/bin/env bash
# Fault run for SPEC §5 (reconcile before re-sending): two Dispatchers under a steady send rate, the provider (the
# simulator) answering a share of its calls only after the Dispatchers' timeout — accepted all the same — and one
# Dispatcher killed with SIGKILL halfway. Prints how many recipients the simulator messaged more than once, beside the
# messages adopted from statuses, held, and re-sent after a hold. Expected: nobody messaged twice.
#
# Loopback only, bounded in time (about FAULT_DURATION + 1 minute; at most FAULT_DURATION + 5 minutes). Needs
# PostgreSQL (user govsg/govsg) and RabbitMQ (rabbitmqctl) on localhost, psql, curl and jq, and a build of the
# solution (`dotnet build GovSg.sln`; FAULT_CONFIGURATION=Release for a Release build). It creates, and drops at the
# start of the next run, its own database and vhost.
#
# Knobs: FAULT_RATE (50 sends/s), FAULT_DURATION (30 s), FAULT_LATE_RATE (0.1 of calls answered late),
# FAULT_HOLD (00:00:10, Retry:ReconcileHold), FAULT_PORT_BASE (18400: simulator, Api, Dispatchers on the next ports),
# FAULT_DATABASE (govsg_fault), FAULT_RABBIT_VHOST (govsg_fault).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rate=${FAULT_RATE:-50}
duration=${FAULT_DURATION:-30}
late_rate=${FAULT_LATE_RATE:-0.1}
hold=${FAULT_HOLD:-00:00:10}
base=${FAULT_PORT_BASE:-18400}
database=${FAULT_DATABASE:-govsg_fault}
vhost=${FAULT_RABBIT_VHOST:-govsg_fault}
configuration=${FAULT_CONFIGURATION:-Debug}
[[ "$database" =~ ^[a-z_]+$ && "$vhost" =~ ^[a-z_]+$ ]] || { echo "database and vhost must be plain lower-case names"; exit 1; }

logs=$(mktemp -d)
log() { printf '[fault] %s\n' "$*" >&2; }
pids=()
stop_all() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop_all EXIT
bin() { echo "$root/$1/bin/$configuration/net10.0"; }
for dll in "$(bin Api)/GovSg.Api.dll" "$(bin Dispatcher)/GovSg.Dispatcher.dll" \
           "$(bin tests/GovSg.WhatsAppSimulator)/GovSg.WhatsAppSimulator.dll" "$(bin tests/GovSg.LoadGenerator)/GovSg.LoadGenerator.dll"; do
  [ -f "$dll" ] || { echo "missing $dll: build the solution first"; exit 1; }
done

log "fresh database $database and vhost $vhost; logs in $logs"
export PGPASSWORD=govsg PGOPTIONS="-c client_min_messages=warning"
psql -qtAX -h 127.0.0.1 -U govsg -d postgres -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
psql -qtAX -h 127.0.0.1 -U govsg -d postgres -c "CREATE DATABASE $database" >/dev/null
rabbitmqctl -q delete_vhost "$vhost" >/dev/null 2>&1 || true
rabbitmqctl -q add_vhost "$vhost"
rabbitmqctl -q set_permissions -p "$vhost" guest '.*' '.*' '.*'

rand() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
set -a
ConnectionStrings__Postgres="Host=127.0.0.1;Port=5432;Database=$database;Username=govsg;Password=govsg;Maximum Pool Size=32"
RabbitMq__Host=127.0.0.1
RabbitMq__VirtualHost=$vhost
Auth__KeyPepper=$(rand)
Webhooks__VerifyToken=$(rand)
Webhooks__AppSecrets__0=$(rand)
WhatsApp__AccessToken=$(rand)
DOTNET_CLI_TELEMETRY_OPTOUT=1
DOTNET_NOLOGO=1
Logging__Console__FormatterName=simple
set +a
(cd "$(bin Api)" && dotnet GovSg.Api.dll migrate && dotnet GovSg.Api.dll admin template import --file "$root/deploy/local/templates.json") \
  >"$logs/setup.log" 2>&1 || { cat "$logs/setup.log"; exit 1; }

simulator=http://127.0.0.1:$base
api=http://127.0.0.1:$((base + 1))
start() { # name, folder, dll, then environment assignments
  local name=$1 folder=$2 dll=$3; shift 3
  (cd "$(bin "$folder")" && exec env "$@" dotnet "$dll" >"$logs/$name.log" 2>&1) &
  pids+=($!)
  eval "pid_${name//-/_}=$!"
}
start simulator tests/GovSg.WhatsAppSimulator GovSg.WhatsAppSimulator.dll ASPNETCORE_URLS="$simulator" \
  Simulator__AccessToken="$WhatsApp__AccessToken" Simulator__AppSecret="$Webhooks__AppSecrets__0" \
  Simulator__WebhookUrl="$api/v1/callback/govsg" Simulator__TemplatesFile="$root/deploy/local/templates.json" \
  Simulator__MessagesPerSecond=0 Simulator__LatencyMs=50 Simulator__LateRate="$late_rate" Simulator__LateMs=3000
start api Api GovSg.Api.dll ASPNETCORE_URLS="$api"
# A 2 s timeout against 3 s late answers; a short lease, so the killed Dispatcher's claims lapse within the run.
for name in dispatcher-a dispatcher-b; do
  port=$((base + 2)); [ "$name" = dispatcher-a ] || port=$((base + 3))
  start "$name" Dispatcher GovSg.Dispatcher.dll ASPNETCORE_URLS="http://127.0.0.1:$port" WhatsApp__BaseUrl="$simulator/" WhatsApp__AllowInsecureBaseUrl=true \
    WhatsApp__Timeout=00:00:02 WhatsApp__MessagesPerSecond=1000 Retry__ClaimLease=00:00:05 Retry__ReconcileHold="$hold"
done
for url in "$simulator/health" "$api/health/ready" "http://127.0.0.1:$((base + 2))/health/ready" "http://127.0.0.1:$((base + 3))/health/ready"; do
  for _ in $(seq 1 120); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 1; done
  curl -fsS -o /dev/null "$url" || { log "$url is not ready"; tail -n 20 "$logs"/*.log; exit 1; }
done

log "sending $rate/s for ${duration}s; ${late_rate} of calls answered after the timeout; dispatcher-b killed at $((duration / 2))s"
run_id="fault-$(date -u +%Y%m%dT%H%M%S)"
timeout $((duration + 300)) dotnet "$(bin tests/GovSg.LoadGenerator)/GovSg.LoadGenerator.dll" send --api "$api/" \
  --rate "$rate" --duration "${duration}s" --warmup 0s --users 1 --drain read --drain-timeout 4m --no-ceilings \
  --run-id "$run_id" >"$logs/load.txt" 2>"$logs/load.log" &
load=$!
sleep $((duration / 2))
kill -9 "$pid_dispatcher_b"
log "killed dispatcher-b (pid $pid_dispatcher_b)"
wait "$load" || log "the load generator ended with $? (see $logs/load.log)"

sql() { psql -qtAX -h 127.0.0.1 -U govsg -d "$database" -c "$1"; }
sends=$(curl -fsS "$simulator/_sim/sends")
echo
echo "messages                           $(sql "SELECT count(*) FROM messages")"
echo "  by status                        $(sql "SELECT string_agg(status || ' ' || n, ', ') FROM (SELECT status::text, count(*) n FROM messages GROUP BY 1 ORDER BY 1) s")"
echo "provider sends (simulator)         $(jq '.data | length' <<<"$sends")"
echo "recipients messaged more than once $(jq '[.data | group_by(.to)[] | select(length > 1)] | length' <<<"$sends")"
echo "provider calls (simulator)         $(curl -fsS "$simulator/_sim/stats" | jq '.send_requests')"
echo "adopted from a status              $(sql "SELECT count(*) FROM messages WHERE accepted_at = attempted_at")"
echo "held for reconciliation            $(sql "SELECT count(*) FROM messages WHERE held_attempt IS NOT NULL")"
# The Dispatchers count re-sends exactly (govsg.provider.possible_duplicate); from the rows, a held message that
# took more than one attempt comes close.
echo "held, then sent again              $(sql "SELECT count(*) FROM messages WHERE held_attempt IS NOT NULL AND attempts > 1")"
