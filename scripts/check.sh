#!/usr/bin/env bash
# Health check of a deployed environment (or of any base URL: scripts/check.sh dev --url http://127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
env="${1:?usage: scripts/check.sh ENV [--url BASE]}"; shift
exec python -m liveinsight_infra check "specs/${env}.yaml" "$@"
