#!/usr/bin/env bash
# Generates and checks clients of the Api's OpenAPI document (SPEC §9.1). GovSg.Tests (GeneratedClientTests) writes
# the live document to generated/openapi.json and then runs:
#   clients.sh restore          npm ci (only when package-lock.json changed since the last one) and dotnet tool restore
#   clients.sh typescript       openapi-typescript types, and src/ using them with openapi-fetch, compiled strict by tsc
#   clients.sh lint             Redocly's recommended rules
#   clients.sh csharp <file>    the NSwag C# client (Newtonsoft.Json, NSwag's default), written to <file>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
document=generated/openapi.json

case "${1:-}" in
  restore)
    bash ../npm-ci.sh "$here"
    (cd ../.. && dotnet tool restore >/dev/null)
    ;;
  typescript)
    npx --no-install openapi-typescript "$document" --output generated/schema.d.ts --default-non-nullable false
    npx --no-install tsc --project tsconfig.json
    ;;
  lint)
    npx --no-install redocly lint "$document" --config redocly.yaml
    ;;
  csharp)
    output=$(realpath -m "${2:?usage: clients.sh csharp <output file>}")
    (cd ../.. && dotnet nswag openapi2csclient /input:"$here/$document" /output:"$output" /namespace:GovSg.Generated \
      /className:GovSgClient /useBaseUrl:false /generateClientInterfaces:false \
      /operationGenerationMode:SingleClientFromOperationId)
    ;;
  *)
    echo "usage: clients.sh restore|typescript|lint|csharp <file>" >&2
    exit 2
    ;;
esac
