#!/usr/bin/env bash
# Checks Kubernetes manifests against the Kubernetes and KEDA schemas (check.mjs; SPEC §9.1). GovSg.Tests
# (ManifestSchemaTests) runs it on deploy/k8s, and on a copy it has broken, which must fail.
#   check.sh [folder]    npm ci (only when package-lock.json changed since the last one), then the check (deploy/k8s by default)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
folder=$(realpath "${1:-$here/../../deploy/k8s}")
bash "$here/../npm-ci.sh" "$here"
cd "$here"
node check.mjs "$folder"
