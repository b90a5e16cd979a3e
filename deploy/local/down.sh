#!/usr/bin/env bash
# Stops what deploy/local/up.sh started (PostgreSQL and RabbitMQ keep running).
set -euo pipefail
state="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.local"
# up.sh may have started several dispatchers: dispatcher, dispatcher-2, ...
for pid_file in "$state"/dispatcher*.pid "$state/api.pid" "$state/simulator.pid"; do
  [ -f "$pid_file" ] || continue
  name=$(basename "$pid_file" .pid)
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
  echo "stopped $name"
done
