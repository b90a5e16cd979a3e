#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: provides a Docker engine (deploy/images/engine.sh) and the
# local PostgreSQL and RabbitMQ images (deploy/images/build.sh; no registry is reachable here), runs every test — the
# integration tests start their own containers with Testcontainers — then the docker-compose smoke test
# (tests/compose-smoke.sh), and ends with the plain "N passed, N failed" line CI reads.
# GOVSG_COMPOSE_SMOKE=0 skips the compose smoke test; arguments go to `dotnet test` (e.g. --filter ...).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash deploy/images/engine.sh
# The images (mostly downloads) are built while the solution compiles; the compose smoke test's .NET bases too.
smoke=${GOVSG_COMPOSE_SMOKE:-1}
images_log=$(mktemp)
bash deploy/images/build.sh $([ "$smoke" = 0 ] || echo dotnet) >"$images_log" 2>&1 &
images=$!
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Formatting is checked while the images build; a slip counts as a failed check but the suite still runs.
format_status=0
dotnet format GovSg.sln --verify-no-changes || format_status=$?
build_status=0
dotnet build GovSg.sln || build_status=$?
wait "$images" || { cat "$images_log"; echo "0 passed, 1 failed (the local images did not build)"; exit 1; }
cat "$images_log"
rm -f "$images_log"

# Testcontainers: Debian's engine speaks API 1.41; Ryuk (the reaper) is an image no registry serves here, so the
# containers are removed by the tests themselves and, after a killed run, by the label below.
export DOCKER_API_VERSION=1.41 TESTCONTAINERS_RYUK_DISABLED=true GOVSG_TEST_IMAGES=local
remove_test_containers() {
  /usr/bin/docker ps -aq --filter label=org.govsg.tests | xargs -r /usr/bin/docker rm -f >/dev/null
}
remove_test_containers
trap remove_test_containers EXIT

results="$root/tests/TestResults"
rm -rf "$results"
status=$build_status
[ "$build_status" -ne 0 ] \
  || dotnet test GovSg.sln --no-build --logger "trx;LogFileName=results.trx" --results-directory "$results" "$@" \
  || status=$?

trx=$(find "$results" -name '*.trx' 2>/dev/null | head -n 1)
passed=0 failed=0
if [ -n "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
else
  echo "no test results: the build or the test host failed"
  failed=1
  [ "$status" -ne 0 ] || status=1
fi

# The format check and the compose smoke test count as one more test each.
if [ "$format_status" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
if [ "$smoke" != 0 ]; then
  if bash tests/compose-smoke.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
fi

echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
