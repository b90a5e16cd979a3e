#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: provides PostgreSQL and RabbitMQ (deploy/local/infra.sh), gives the
# tests an empty RabbitMQ vhost (the tests recreate their own database), builds and runs every test, and ends with
# the plain "N passed, N failed" line CI reads.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Formatting first: a style slip fails in a minute, not after the whole suite.
DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet format GovSg.sln --verify-no-changes

bash deploy/local/infra.sh
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_root rabbitmqctl -q delete_vhost govsg_test >/dev/null 2>&1 || true
as_root rabbitmqctl -q add_vhost govsg_test >/dev/null
as_root rabbitmqctl -q set_permissions -p govsg_test guest '.*' '.*' '.*' >/dev/null

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results="$root/tests/TestResults"
rm -rf "$results"
status=0
dotnet test GovSg.sln --logger "trx;LogFileName=results.trx" --results-directory "$results" "$@" || status=$?

trx=$(find "$results" -name '*.trx' 2>/dev/null | head -n 1)
if [ -n "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  echo "${passed:-0} passed, ${failed:-0} failed"
else
  echo "0 passed, 1 failed (no test results: the build or the test host failed)"
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
