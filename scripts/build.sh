#!/usr/bin/env bash
# Build the Lambda packages into dist/ (deterministic: same sources, same bytes).
# Usage: scripts/build.sh [ENV]   (default dev)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m liveinsight_infra build "specs/${1:-dev}.yaml"
