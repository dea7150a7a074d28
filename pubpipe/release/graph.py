"""Independent work built at once: one worker process per core, progress events back to the caller.

The work is a list of tasks, each run once the tasks it needs are done (an
edition's formats after its one parse, its page after its downloads). A
worker receives a task's number and the results it needs; the task itself it
finds in the memory it inherited (fork).
Forking is safe only while this process runs no other thread: Typst's
compiler starts a thread pool on first use, and a child forked after that
can deadlock. So a process that has compiled (a test session, a preview
server) runs the tasks here, in order, with the same results.
"""

from __future__ import annotations

import os
import queue as queues
from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Task:
    """`work(emit, *results of the tasks in after)`, run once those are done. Of the tasks ready when a worker
    comes free, the lowest `rank` goes first, then task order: rank the longest work first, so that short
    tasks fill the end instead of a long one holding it up alone."""

    work: Callable
    after: tuple[int, ...] = ()
    rank: int = 0


class Failed:
    """A task's result that stops the tasks after it: they are skipped and get the same result."""

    def __init__(self, diagnostic):
        self.diagnostic = diagnostic


def _run_one(index: int, *inputs):
    tasks, events = _WORK[0]
    return tasks[index].work(events.put, *inputs)


def run(tasks: list[Task], jobs: int, on_event: Emit) -> list:
    """Every task, each once the tasks it comes `after` are done, in up to `jobs` worker processes; results in
    task order. A task whose input Failed is skipped. `emit(event)` (a small picklable dict) reaches `on_event`
    here, in this process, as it arrives. A task must catch its own failures and return them."""
    results: dict[int, object] = {}
    if min(jobs, len(tasks)) <= 1 or not fork_is_safe():
        for index, task in enumerate(tasks):
            inputs = [results[i] for i in task.after]
            failed = next((r for r in inputs if isinstance(r, Failed)), None)
            results[index] = failed or task.work(on_event, *inputs)
        return [results[index] for index in range(len(tasks))]
    import gc
    import multiprocessing  # here: a build asks how many workers before it loads anything (15 ms of import)
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("fork")
    events = context.Queue()
    _WORK[:] = [(tasks, events)]
    waiting = dict(sorted(enumerate(tasks), key=lambda item: (item[1].rank, item[0])))  # the order tasks go in
    gc.freeze()  # what the workers inherit is never collected there: no full collection walks it, page by page
    try:
        with ProcessPoolExecutor(min(jobs, len(tasks)), mp_context=context) as pool:
            pending: dict = {}
            while waiting or pending:
                # a worker that comes free takes the first ready task by rank: tasks are handed out as workers come
                # free, not queued as they come ready, so a long task that comes ready late still goes before
                # short ones that came ready earlier. One more than there are workers: that one waits in the
                # pool's queue, so a worker that comes free starts it at once instead of waiting for this process
                # to hand one over (about 1 ms a task, 14 ms of idle per worker in a build); a task that comes
                # ready late waits behind at most that one
                for index, task in list(waiting.items()):
                    if len(pending) > jobs:
                        break
                    if all(i in results for i in task.after):
                        del waiting[index]
                        inputs = [results[i] for i in task.after]
                        failed = next((r for r in inputs if isinstance(r, Failed)), None)
                        if failed:
                            results[index] = failed
                        else:
                            pending[pool.submit(_run_one, index, *inputs)] = index
                if not pending:
                    if any(all(i in results for i in task.after) for task in waiting.values()):
                        continue  # only skipped tasks were met: look again
                    if waiting:
                        raise RuntimeError("a task comes after one that never runs")
                    continue
                done, _ = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
                _drain(events, on_event)
                for future in done:
                    results[pending.pop(future)] = future.result()
        _drain(events, on_event)
    finally:
        gc.unfreeze()
        _WORK.clear()
        events.close()
    return [results[index] for index in range(len(tasks))]


def _drain(events, on_event: Emit) -> None:
    while True:
        try:
            on_event(events.get_nowait())
        except queues.Empty:
            return
