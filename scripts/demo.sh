#!/usr/bin/env bash
# The main job in one command: set up everything, then generate a sample project and check it.
#   scripts/demo.sh [SPEC] [runshot new options...]
# With no endpoint configured (OPENAI_BASE_URL / OPENAI_API_KEY / RUNSHOT_MODEL) it uses the embedded local model.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

SPEC="${1:-$RUNSHOT_ROOT/samples/counter.md}"
[ $# -gt 0 ] && shift
OUT="${RUNSHOT_OUT:-$RUNSHOT_ROOT/runs/$(basename "${SPEC%.*}")-$(date +%Y%m%d-%H%M%S)}"

if [ -z "${OPENAI_BASE_URL:-}${OPENAI_API_KEY:-}${RUNSHOT_MODEL:-}" ]; then
  runshot_setup local
  runshot model pull
else
  runshot_setup
fi
exec runshot new "$SPEC" -o "$OUT" "$@"
