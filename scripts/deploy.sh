#!/usr/bin/env bash
# Plan, apply, then print the outputs (the original plan's deploy.sh, without a state file).
# Usage: scripts/deploy.sh ENV [extra apply options, e.g. --moto or --no-wait]
set -euo pipefail
cd "$(dirname "$0")/.."
env="${1:?usage: scripts/deploy.sh ENV [options]}"; shift
python -m liveinsight_infra plan "specs/${env}.yaml" "$@"
python -m liveinsight_infra apply "specs/${env}.yaml" "$@"
