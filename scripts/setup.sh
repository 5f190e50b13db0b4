#!/usr/bin/env bash
# Shared set-up for scripts/demo.sh and scripts/test.sh: system packages, a virtual environment, runshot itself.
# Usage: source scripts/setup.sh; runshot_setup [local]
set -euo pipefail

RUNSHOT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNSHOT_VENV="${RUNSHOT_VENV:-$RUNSHOT_ROOT/.venv}"
# A portable llama.cpp build: the default native build can crash with "Illegal instruction" on VMs that
# advertise CPU features they do not allow.
RUNSHOT_LLAMA_CMAKE_ARGS="${RUNSHOT_LLAMA_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF}"

say() { printf 'runshot setup: %s\n' "$*" >&2; }
die() { printf 'runshot setup: %s\n' "$*" >&2; exit 2; }

_sudo() {
  # Sets SUDO to what runs apt-get as root ("" when root already); fails when neither works.
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else return 1; fi
}

_apt_update() {
  # Once per set-up: the optional package after the required ones needs no second update.
  [ -n "${_RUNSHOT_APT_UPDATED:-}" ] && return 0
  $SUDO apt-get update -qq >/dev/null && _RUNSHOT_APT_UPDATED=1
}

_apt_install() {
  # Install Debian packages, as root or through sudo; otherwise say exactly what is missing.
  local pkgs=("$@")
  _sudo || die "missing: ${pkgs[*]} — install them with: apt-get install ${pkgs[*]} (needs root)"
  if ! command -v apt-get >/dev/null 2>&1; then
    die "missing: ${pkgs[*]} — this is not a Debian-like system; install them with your package manager"
  fi
  say "installing ${pkgs[*]} (apt-get)"
  _apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
}

_has_headless_shell() {
  [ -n "${RUNSHOT_CHROMIUM:-}" ] || command -v chromium-headless-shell >/dev/null 2>&1 \
    || command -v chrome-headless-shell >/dev/null 2>&1
}

_optional_headless_shell() {
  # Chromium's headless shell runs the checks at about half the CPU of the full browser; chromium works alone.
  command -v apt-get >/dev/null 2>&1 || return 0
  if ! _sudo; then
    say "optional: apt-get install chromium-headless-shell (needs root) makes the checks about twice as fast"
    return 0
  fi
  say "installing chromium-headless-shell (apt-get; optional: the checks run about twice as fast with it)"
  _apt_update 2>/dev/null || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium-headless-shell \
    >/dev/null 2>&1 || say "chromium-headless-shell could not be installed: the checks use chromium"
}

_system_packages() {
  local need=()
  command -v git >/dev/null 2>&1 || need+=(git)
  if [ -z "${RUNSHOT_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 \
     && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then
    need+=(chromium fonts-dejavu-core fonts-liberation)
  fi
  command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
  command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv python3-pip)
  if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need+=(python3-venv)
  fi
  if [ "${1:-}" = local ]; then
    command -v g++ >/dev/null 2>&1 || need+=(g++)
    command -v make >/dev/null 2>&1 || need+=(make)
  fi
  if [ "${#need[@]}" -gt 0 ]; then
    if [ " ${need[*]} " = " bubblewrap " ] && [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
      say "bubblewrap is missing: generated code will run without the sandbox layer (apt-get install bubblewrap)"
    else
      _apt_install "${need[@]}"
    fi
  fi
  _has_headless_shell || _optional_headless_shell
  python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || die "runshot needs Python 3.11 or newer (found $(python3 --version 2>&1))"
}

runshot_setup() {
  local mode="${1:-}"
  _system_packages "$mode"
  if [ ! -x "$RUNSHOT_VENV/bin/python" ]; then
    say "creating a virtual environment in ${RUNSHOT_VENV#$RUNSHOT_ROOT/}"
    python3 -m venv "$RUNSHOT_VENV" || die "could not create a virtual environment (apt-get install python3-venv)"
  fi
  local pip=("$RUNSHOT_VENV/bin/python" -m pip --disable-pip-version-check -q)
  "${pip[@]}" install --upgrade pip >/dev/null 2>&1 || true
  say "installing runshot and its Python packages (pip)"
  "${pip[@]}" install -e "$RUNSHOT_ROOT[test]" || die "pip could not install runshot's Python packages (see above)"
  # An editable install leaves runshot's own modules uncompiled, and where PYTHONDONTWRITEBYTECODE is set
  # (as in many containers) every command would compile them again: compile them once here, as pip does for
  # the packages it installs. Python still recompiles any file that changes later.
  (cd "$RUNSHOT_ROOT" && "$RUNSHOT_VENV/bin/python" -m compileall -q -j 0 runshot generator validators >/dev/null) \
    || true
  if [ "$mode" = local ] && ! "$RUNSHOT_VENV/bin/python" -c 'import llama_cpp.server' >/dev/null 2>&1; then
    say "building llama-cpp-python for the embedded local model (first run only; 6-15 minutes on 2 cores)"
    CMAKE_ARGS="$RUNSHOT_LLAMA_CMAKE_ARGS" "${pip[@]}" install -e "$RUNSHOT_ROOT[local]" \
      || die "building llama-cpp-python failed (see above); a hosted model works without it: see README"
  fi
  export PATH="$RUNSHOT_VENV/bin:$PATH"
}
