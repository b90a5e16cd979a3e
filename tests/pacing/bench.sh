#!/usr/bin/env bash
# Measures how two Dispatchers pace the provider together (SPEC §5), at the simulator: calls per second when both
# start on a backlog, in steady state, while the provider throttles (its limit cut to 20/s for 5 s, answering 130429)
# and how long they take to get back to the number's 80/s afterwards, and when one of them is killed (kill -9).
# PostgreSQL and RabbitMQ run in throwaway containers from the local images; nothing else on the machine is touched.
#
#   bash tests/pacing/bench.sh [repository root whose Release build to run; default: this one, built first]
#
# Knobs: PACING_PORT_BASE (7400: PostgreSQL +1, RabbitMQ +2, Api +80, Dispatchers +81/+82, simulator +90),
# PACING_BACKLOG (7000 messages), PACING_LABEL (org.govsg.helper=pacing).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
root=$(cd "${1:-$here}" && pwd)
base=${PACING_PORT_BASE:-7400}
backlog=${PACING_BACKLOG:-7000}
label=${PACING_LABEL:-org.govsg.helper=pacing}
work=$(mktemp -d /tmp/pacing-bench.XXXXXX)
log() { printf '[pacing %s] %s\n' "$(date -u +%T)" "$*"; }
pids=()
containers=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for container in "${containers[@]}"; do docker rm -f "$container" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

if [ -z "${1:-}" ]; then
  log "building (Release)"
  dotnet build "$root/GovSg.sln" -c Release -v quiet -nologo >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log"; exit 1; }
fi
bin() { echo "$root/$1/bin/Release/net10.0"; }

containers+=("$(docker run -d --label "$label" -p "127.0.0.1:$((base + 1)):5432" -e POSTGRES_USER=govsg \
  -e POSTGRES_PASSWORD=govsg -e POSTGRES_DB=govsg govsg/postgres:15-bookworm)")
containers+=("$(docker run -d --label "$label" -p "127.0.0.1:$((base + 2)):5672" govsg/rabbitmq:3.10-bookworm)")
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$((base + 1));Database=govsg;Username=govsg;Password=govsg;Maximum Pool Size=32"
export RabbitMq__Host=127.0.0.1 RabbitMq__Port=$((base + 2)) RabbitMq__Username=guest RabbitMq__Password=guest
export Auth__KeyPepper=$token Webhooks__VerifyToken=$token
export Webhooks__AppSecrets__0=$token WhatsApp__AccessToken=$token Logging__Console__FormatterName=simple
export WhatsApp__PhoneNumberId=106540352242922 Webhooks__PhoneNumberId=106540352242922 # the simulator's sender number
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
api() { (cd "$(bin Api)" && dotnet GovSg.Api.dll "$@"); }
# The migration runner grants each part's role its tables, so the roles must exist first (SECURITY.md).
for _ in $(seq 1 60); do
  [ -f "$root/deploy/local/database-roles.sql" ] || break # a tree from before the roles
  PGPASSWORD=govsg psql -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $((base + 1)) -U govsg -d postgres -v api_password=govsg \
    -v dispatcher_password=govsg -v operator_password=govsg -f "$root/deploy/local/database-roles.sql" >/dev/null 2>&1 && break
  sleep 1
done
for _ in $(seq 1 60); do api migrate >"$work/migrate.log" 2>&1 && break; sleep 1; done
api admin user upsert --email bench@agency.gov.sg --agency Bench --rate-limit 1000 >/dev/null
api admin template import --file "$root/deploy/local/templates.json" >/dev/null
api admin template grant --email bench@agency.gov.sg --template 2 >/dev/null
key=$(api admin key create --email bench@agency.gov.sg --label pacing --valid-days 1 | sed -n 's/^api key: *//p')

start() { # name, folder, dll, then environment assignments
  local name=$1 folder=$2 dll=$3; shift 3
  (cd "$(bin "$folder")" && exec env "$@" dotnet "$dll" >"$work/$name.log" 2>&1) &
  pids+=($!)
}
sim=http://127.0.0.1:$((base + 90))
start simulator tests/GovSg.WhatsAppSimulator GovSg.WhatsAppSimulator.dll ASPNETCORE_URLS=$sim \
  Simulator__AccessToken="$token" Simulator__MessagesPerSecond=80 Simulator__TemplatesFile="$root/deploy/local/templates.json"
start api Api GovSg.Api.dll ASPNETCORE_URLS=http://127.0.0.1:$((base + 80))
for url in $sim/health http://127.0.0.1:$((base + 80))/health/ready; do
  for _ in $(seq 1 120); do curl -fsS "$url" >/dev/null 2>&1 && break; sleep 0.5; done
done

log "declaring the queues (one Dispatcher started and stopped), then accepting a backlog of $backlog messages"
(cd "$(bin Dispatcher)" && exec env ASPNETCORE_URLS=http://127.0.0.1:$((base + 81)) WhatsApp__BaseUrl=$sim/ \
  WhatsApp__AllowInsecureBaseUrl=true dotnet GovSg.Dispatcher.dll >"$work/topology.log" 2>&1) &
topology=$!
for _ in $(seq 1 120); do curl -fsS http://127.0.0.1:$((base + 81))/health/ready >/dev/null 2>&1 && break; sleep 0.5; done
kill "$topology" && wait "$topology" || true
item='{"recipient":"+6591234567","template_id":2,"params":{"venue":"ICA","date":"1 Dec","time":"9am","reference":"R1"}}'
batch=$(printf '{"messages":[%s]}' "$(yes "$item" | head -n 1000 | paste -sd,)")
for _ in $(seq 1 $((backlog / 1000))); do
  curl -fsS -o /dev/null -X POST "http://127.0.0.1:$((base + 80))/v1/transactional/govsg/batch" \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$batch"
done

# The simulator's counters, sampled every 100 ms: time, calls, accepted, 130429s.
python3 - "$sim/_sim/stats" >"$work/samples.txt" <<'PY' &
import json, sys, time, urllib.request
while True:
    stats = json.load(urllib.request.urlopen(sys.argv[1]))
    print(time.time(), stats["send_requests"], stats["accepted"], stats["rejected_by_code"].get("130429", 0), flush=True)
    time.sleep(0.1)
PY
pids+=($!)
mark() { printf '%s %s\n' "$(date +%s.%N)" "$1" >>"$work/marks.txt"; }
settings() { curl -fsS -o /dev/null -X PUT "$sim/_sim/settings" -H 'Content-Type: application/json' -d "$1"; }

log "starting two Dispatchers at once"
mark start
for i in 1 2; do
  start dispatcher-$i Dispatcher GovSg.Dispatcher.dll ASPNETCORE_URLS=http://127.0.0.1:$((base + 80 + i)) \
    WhatsApp__BaseUrl=$sim/ WhatsApp__AllowInsecureBaseUrl=true
done
killable=${pids[-1]}
calls() { tail -n 1 "$work/samples.txt" | cut -d' ' -f2; }
for _ in $(seq 1 600); do [ "$(calls)" -gt 0 ] 2>/dev/null && break; sleep 0.1; done
sleep 20
log "throttling: the provider's limit cut to 20/s for 5 s"
mark throttle
settings '{"messages_per_second":20}'
sleep 5
settings '{"messages_per_second":80}'
mark restore
sleep 30
log "kill -9 of one Dispatcher"
mark kill
kill -9 "$killable"
sleep 15
mark end

python3 - "$work/samples.txt" "$work/marks.txt" <<'PY'
import sys
samples = [tuple(float(x) for x in l.split()) for l in open(sys.argv[1]) if len(l.split()) == 4]
marks = {name: float(t) for t, name in (l.split() for l in open(sys.argv[2]))}
def at(t):  # the counters at time t (the last sample before it)
    return max((s for s in samples if s[0] <= t), key=lambda s: s[0], default=samples[0])
def window(t0, t1):
    a, b = at(t0), at(t1)
    return (b[1] - a[1]) / (t1 - t0), (b[2] - a[2]) / (t1 - t0), b[3] - a[3]
def worst(t0, t1):  # the busiest 1 s window (sliding by 100 ms) of calls between t0 and t1
    best, t = 0.0, t0
    while t + 1 <= t1:
        best = max(best, window(t, t + 1)[0]); t += 0.1
    return best
s, th, re, k, e = (marks[n] for n in ("start", "throttle", "restore", "kill", "end"))
first = next(x[0] for x in samples if x[0] >= s and x[1] > at(s)[1])
print(f"start: first call {first - s:.1f} s after both were started; busiest second of the next 10 s "
      f"{worst(first, first + 10):.0f} calls/s; {window(first, first + 10)[2]:.0f} x 130429")
calls, accepted, rejected = window(first + 10, th)
print(f"steady (10 s after the first call until the throttle): {calls:.1f} calls/s, {accepted:.1f} accepted/s, {rejected:.0f} x 130429")
calls, accepted, rejected = window(th, re)
print(f"throttled (limit 20/s, 5 s): {calls:.1f} calls/s, {accepted:.1f} accepted/s, {rejected:.0f} x 130429")
back = next((t for t in (re + i / 10 for i in range(int((k - re - 1) * 10))) if window(t, t + 1)[1] >= 72), None)
print("back at >= 72 accepted/s (90% of 80) " + (f"{back - re:.1f} s after the limit was restored" if back else "never within 30 s"))
calls, accepted, rejected = window(re + 10, k)
print(f"after the throttle (10 s on until the kill): {calls:.1f} calls/s, {accepted:.1f} accepted/s, {rejected:.0f} x 130429")
print(f"kill -9 of one: busiest second {worst(k, e):.0f} calls/s; last 10 s {window(e - 10, e)[0]:.1f} calls/s; "
      f"{window(k, e)[2]:.0f} x 130429")
PY
log "logs and samples in $work"
