#!/usr/bin/env bash
# Provides a Docker engine on a Debian machine, idempotently: Debian's docker.io (with debootstrap for the base image
# and docker-compose 1.29), and dockerd started in the background when none answers. Debian's engine is 20.10, which
# speaks Docker API 1.41: callers export DOCKER_API_VERSION=1.41 so newer clients and Testcontainers talk down to it.
set -euo pipefail
export DOCKER_API_VERSION=1.41
log() { echo "engine: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(docker.io debootstrap docker-compose curl)
if ! dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -c '^install ok installed$' | grep -qx "${#packages[@]}"; then
  log "installing ${packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# Debian's client, not any newer one earlier on the PATH, so client and engine agree.
if ! /usr/bin/docker info >/dev/null 2>&1; then
  log_file=/var/log/govsg-dockerd.log
  log "starting dockerd (log: $log_file)"
  # A dockerd that ended with its machine leaves its pid file behind, and a new one refuses to start over it.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then as_root rm -f /var/run/docker.pid; fi
  as_root bash -c "setsid nohup dockerd >>'$log_file' 2>&1 </dev/null &"
  for _ in $(seq 60); do
    /usr/bin/docker info >/dev/null 2>&1 && break
    sleep 1
  done
  /usr/bin/docker info >/dev/null 2>&1 || { log "dockerd did not answer within 60 s; see $log_file"; tail -n 20 "$log_file" >&2; exit 1; }
fi
