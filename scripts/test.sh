#!/usr/bin/env bash
# The whole test suite in one command: set up everything, then run pytest (real Chromium, real git, real HTTP).
#   scripts/test.sh [pytest options...]       e.g. scripts/test.sh -m local_model   (the slow, opt-in tests)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
case " $* " in *local_model*) runshot_setup local ;; *) runshot_setup ;; esac
cd "$RUNSHOT_ROOT"
# Two workers, one test file each at a time (a file's browser and servers are started once): the suite mostly
# waits on browsers, servers and subprocesses. The local model's tests run one at a time (one server, one cache).
# Options given here come last and win (e.g. -n 0 for one process).
case " $* " in *local_model*) workers=() ;; *) workers=(-n 2 --dist loadfile) ;; esac
exec python -m pytest -q "${workers[@]}" "$@"
