#!/usr/bin/env bash
# Builds the local images that stand in for registry images where no registry is reachable, each only when missing
# (remove one with `docker rmi` to rebuild it):
#   govsg/debian-base:bookworm       debootstrap --variant=minbase bookworm, imported
#   govsg/postgres:15-bookworm       postgres/Dockerfile, PostgreSQL from Debian's packages
#   govsg/rabbitmq:3.10-bookworm     rabbitmq/Dockerfile, RabbitMQ from Debian's packages
# and, with `dotnet`, the bases of the project's own Dockerfiles (their SDK_IMAGE and RUNTIME_IMAGE build arguments):
#   govsg/dotnet:10.0-runtime        dotnet/Dockerfile, the base plus this machine's .NET runtimes, no SDK
#   govsg/dotnet:10.0-sdk            the same plus this machine's SDK
# Usage: deploy/images/build.sh [dotnet]   (needs a running engine: deploy/images/engine.sh)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export DOCKER_API_VERSION=1.41
docker() { /usr/bin/docker "$@"; }
log() { echo "images: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing() { ! docker image inspect "$1" >/dev/null 2>&1; }

base=govsg/debian-base:bookworm
mirror=http://deb.debian.org/debian

if missing "$base"; then
  log "building $base with debootstrap"
  rootfs=$(mktemp -d)
  trap 'as_root rm -rf "$rootfs"' EXIT
  as_root debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 20 "$rootfs.log" >&2; exit 1; }
  # As in Debian's own container images: packages never start services at install, no recommends, security updates.
  as_root sh -c "printf '#!/bin/sh\nexit 101\n' > '$rootfs/usr/sbin/policy-rc.d' && chmod 755 '$rootfs/usr/sbin/policy-rc.d'
    echo 'APT::Install-Recommends \"false\";' > '$rootfs/etc/apt/apt.conf.d/90-no-recommends'
    echo 'deb http://deb.debian.org/debian-security bookworm-security main' >> '$rootfs/etc/apt/sources.list'
    rm -rf '$rootfs'/var/cache/apt/archives/*.deb '$rootfs'/var/lib/apt/lists/*"
  as_root tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "$base" >/dev/null
  as_root rm -rf "$rootfs" "$rootfs.log"
  trap - EXIT
fi

build() { # image, recipe folder
  if missing "$1"; then
    log "building $1"
    docker build -q --build-arg BASE_IMAGE="$base" -t "$1" "$here/$2" >/dev/null
  fi
}
build govsg/postgres:15-bookworm postgres
build govsg/rabbitmq:3.10-bookworm rabbitmq

if [ "${1:-}" = dotnet ]; then
  # The build context is this machine's .NET installation (global.json pins the SDK it has) and the certificate
  # authorities it added (its NuGet traffic may pass through a proxy that one of them signs).
  dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  for target in runtime sdk; do
    if missing "govsg/dotnet:10.0-$target"; then
      log "building govsg/dotnet:10.0-$target from $dotnet_root"
      tar -c -C "$here/dotnet" Dockerfile -C /usr/local/share ca-certificates -C "$dotnet_root" . \
        | docker build -q --build-arg BASE_IMAGE="$base" --target "$target" -t "govsg/dotnet:10.0-$target" - >/dev/null
    fi
  done
fi
