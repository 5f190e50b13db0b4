"""Run many items on a few workers at once, one thread per worker; results in the items' order.

    results = run_jobs(items, workers, lambda worker, item: ..., on_done=None)

Each worker takes the next item as soon as it is free. The first exception stops handing out items and is
raised again in the caller's thread once every worker has returned.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence, TypeVar

W = TypeVar("W")
I = TypeVar("I")
R = TypeVar("R")


def run_jobs(
    items: Sequence[I],
    workers: Sequence[W],
    fn: Callable[[W, I], R],
    on_done: Callable[[I, R], None] | None = None,
) -> list[R]:
    """`fn(worker, item)` for every item, at most len(workers) at once. `on_done(item, result)` is called as
    each finishes, one call at a time."""
    results: list = [None] * len(items)
    queue = iter(enumerate(items))
    lock, report_lock = threading.Lock(), threading.Lock()
    failures: list[BaseException] = []

    def work(worker: W) -> None:
        while True:
            with lock:
                entry = None if failures else next(queue, None)
            if entry is None:
                return
            i, item = entry
            try:
                result = fn(worker, item)
            except BaseException as exc:  # noqa: BLE001 (raised again in the caller's thread)
                with lock:
                    failures.append(exc)
                return
            results[i] = result
            if on_done is not None:
                with report_lock:
                    on_done(item, result)

    if len(workers) <= 1:
        for worker in workers[:1]:
            work(worker)
    else:
        threads = [threading.Thread(target=work, args=(w,), name=f"runshot-job-{n}", daemon=True)
                   for n, w in enumerate(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    return results
