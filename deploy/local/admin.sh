#!/usr/bin/env bash
# The operator CLI (`admin ...`, README "Operating it") against the local run of deploy/local/up.sh: as govsg_operator,
# with the run's secrets and its local-only settings. For example:
#     bash deploy/local/admin.sh user list
#     bash deploy/local/admin.sh callback set --email demo@agency.gov.sg --url http://localhost:8090/_sim/callbacks
# GOVSG_DATABASE names the database as it does for up.sh. Uses the last Release build, which up.sh makes. The verb runs
# in the build's folder (where its settings are), so name files by absolute paths: --file "$PWD/deploy/local/templates.json".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state="$root/.local"
bin="$root/Api/bin/Release/net10.0"
[ -f "$state/secrets.env" ] && [ -f "$bin/GovSg.Api.dll" ] \
  || { echo "no local run here: run deploy/local/up.sh first" >&2; exit 1; }
# shellcheck disable=SC1091
. "$state/secrets.env"
export ConnectionStrings__Postgres="Host=localhost;Port=5432;Database=${GOVSG_DATABASE:-govsg};Username=govsg_operator;Password=$GOVSG_PG_OPERATOR_PASSWORD"
# The key pepper makes the keys it creates verifiable by the Api; local runs allow callbacks to http and loopback.
export Auth__KeyPepper Callbacks__AllowInsecureLoopback=true DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
cd "$bin"
exec dotnet GovSg.Api.dll admin "$@"
