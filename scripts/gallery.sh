#!/usr/bin/env bash
# Run every sample spec with `runshot batch`, then build the demo gallery from the runs.
#   scripts/gallery.sh [runshot batch options...]      e.g. scripts/gallery.sh --max-iterations 3
# With no endpoint configured (OPENAI_BASE_URL / OPENAI_API_KEY / RUNSHOT_MODEL) it uses the embedded local model,
# one run at a time (about 1-4 minutes per sample on 2 CPU cores).
# RUNSHOT_RUNS chooses the runs folder (default runs/gallery-<time>), RUNSHOT_SITE the site (default <runs>-site).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

RUNS="${RUNSHOT_RUNS:-$RUNSHOT_ROOT/runs/gallery-$(date +%Y%m%d-%H%M%S)}"
SITE="${RUNSHOT_SITE:-$RUNS-site}"

BATCH_ARGS=()
if [ -z "${OPENAI_BASE_URL:-}${OPENAI_API_KEY:-}${RUNSHOT_MODEL:-}" ]; then
  runshot_setup local
  runshot model pull
  BATCH_ARGS=(--jobs 1)  # one local model server answers one request at a time
else
  runshot_setup
fi

status=0
runshot batch "$RUNSHOT_ROOT/samples" -o "$RUNS" ${BATCH_ARGS[@]+"${BATCH_ARGS[@]}"} "$@" || status=$?
# Exit 1 means some project failed: that belongs in the gallery too. 2 and above: nothing worth showing.
if [ "$status" -gt 1 ]; then
  exit "$status"
fi
runshot gallery "$RUNS" -o "$SITE"
echo "gallery: $SITE/index.html — view it with: runshot serve $SITE"
