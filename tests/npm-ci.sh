#!/usr/bin/env bash
# npm ci in the folder given (tests/openapi-clients, tests/manifests), only when its package-lock.json changed since the
# last one.
set -euo pipefail
cd "$1"
stamp=node_modules/.package-lock.sha256
sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$sum" >"$stamp"
fi
