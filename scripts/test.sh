#!/usr/bin/env bash
# The whole test suite in one command: set up everything, then run pytest (real Chromium, real git, real HTTP).
#   scripts/test.sh [pytest options...]       e.g. scripts/test.sh -m local_model   (the slow, opt-in tests)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
case " $* " in *local_model*) runshot_setup local ;; *) runshot_setup ;; esac
cd "$RUNSHOT_ROOT"
exec python -m pytest -q "$@"
