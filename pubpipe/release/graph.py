"""Independent work built at once: one worker process per core, progress events back to the caller.

The tasks are numbered; a worker receives only the number and finds the task
in the memory it inherited (fork), so nothing heavy is pickled on the way in.
Forking is safe only while this process runs no other thread: Typst's
compiler starts a thread pool on first use, and a child forked after that
can deadlock. So a process that has compiled (a test session, a preview
server) runs the tasks here, in order, with the same results.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queues
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import TypeVar

R = TypeVar("R")
Event = dict
Emit = Callable[[Event], None]
_WORK: list = []  # (work, events) of the running `run`, inherited by the forked workers


def worker_count() -> int:
    """PUBPIPE_JOBS if set (1 = serial), else the cores this process may run on."""
    value = os.environ.get("PUBPIPE_JOBS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13
    if counter is not None:
        return counter() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def fork_is_safe() -> bool:
    """True when this process runs one thread (Linux: /proc/self/task), so a forked child cannot deadlock."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _run_one(index: int):
    work, events = _WORK[0]
    return work(index, events.put)


def run(count: int, work: Callable[[int, Emit], R], jobs: int, on_event: Emit) -> list[R]:
    """work(0), ..., work(count - 1), in up to `jobs` worker processes; results in task order.

    `work(index, emit)` may call `emit(event)` (a small picklable dict); `on_event` hears each event here,
    in this process, as it arrives. `work` must catch its own failures and return them."""
    jobs = min(jobs, count)
    if jobs <= 1 or not fork_is_safe():
        return [work(index, on_event) for index in range(count)]
    context = multiprocessing.get_context("fork")
    events = context.Queue()
    _WORK[:] = [(work, events)]
    results: dict[int, R] = {}
    try:
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            pending = {pool.submit(_run_one, index): index for index in range(count)}
            while pending:
                done, _ = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
                _drain(events, on_event)
                for future in done:
                    results[pending.pop(future)] = future.result()
        _drain(events, on_event)
    finally:
        _WORK.clear()
        events.close()
    return [results[index] for index in range(count)]


def _drain(events, on_event: Emit) -> None:
    while True:
        try:
            on_event(events.get_nowait())
        except queues.Empty:
            return
