"""What a running process tree holds: its processes and their resident memory, read from /proc (Linux).

    resident_bytes, count = tree_usage(pid)

Processes inside a bubblewrap PID namespace are visible from outside under their outer pids, so a tree rooted at
the bwrap process holds everything the sandboxed command started. Elsewhere (no /proc) the tree is just `pid`.
"""

from __future__ import annotations

import os

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process visible in /proc."""
    out: dict[int, int] = {}
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return out
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # the command name may hold spaces and parentheses
        if len(fields) > 1:
            out[int(entry.name)] = int(fields[1])
    return out


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (processes inside bubblewrap's PID namespace included)."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def tree_usage(pid: int) -> tuple[int, int]:
    """(resident bytes, process count) of `pid` and its descendants. Shared pages count once per process,
    so the figure errs on the high side."""
    tree = process_tree(pid)
    return sum(_resident_bytes(p) for p in tree), len(tree)
