#!/usr/bin/env bash
# Return the stage and the functions to the previous release; run it again to come back.
# Usage: scripts/rollback.sh ENV [--to RELEASE] [--yes]
set -euo pipefail
cd "$(dirname "$0")/.."
env="${1:?usage: scripts/rollback.sh ENV [--to RELEASE] [--yes]}"; shift
python -m liveinsight_infra releases "specs/${env}.yaml"
exec python -m liveinsight_infra rollback "specs/${env}.yaml" "$@"
