"""Child processes that must not outlive runshot, even when runshot itself is killed."""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """For `preexec_fn`: ask Linux to SIGKILL this child when its parent dies (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except OSError:
        pass


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so `finally` blocks commit and save what is finished."""


def terminate_as_interrupt() -> None:
    def handler(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
