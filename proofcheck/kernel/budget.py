"""Worker processes that are really stopped at the time budget.

SymPy has no timeout of its own, so every check runs in a forked worker; a worker that has used
its step's budget of CPU time (plus a small grace) is killed and replaced. The budget is CPU time,
not wall time, so that a verdict does not depend on how busy the machine is; the wall clock only
backs it up, at a generous multiple, for a worker stuck without using the processor."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import resource
import signal
import threading
import time
from collections import deque
from multiprocessing.connection import wait

from proofcheck.kernel.verdict import Status, StepResult

GRACE = 0.5  # seconds past the budget before the hard kill
POLL = 0.005  # seconds between looks at an open feed while a worker is idle
MEMORY_LIMIT = 3 * 1024 ** 3  # bytes of address space per worker
WALL_FACTOR = 20  # the wall-clock safety net: this many times the budget (plus grace)
CPU_POLL = 0.05  # seconds between looks at a busy worker's CPU time
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, or None where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2:].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _worker_main(conn, fn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and kills us
    try:  # nothing a worker prints may reach the user: failures come back as results
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    except OSError:
        pass
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ValueError, OSError):
        pass
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        except Exception as exc:  # noqa: BLE001 - a task that cannot be unpickled here
            conn.send((None, StepResult(Status.UNKNOWN, "error", f"could not receive the check: {exc}")))
            continue
        if item is None:
            return
        index, task = item
        try:
            result = fn(task)
        except MemoryError:
            result = StepResult(Status.UNKNOWN, "error", "ran out of memory while checking")
        except BaseException as exc:  # noqa: BLE001 - report, never die silently
            result = StepResult(Status.UNKNOWN, "error", f"internal error: {type(exc).__name__}: {exc}")
        try:
            conn.send((index, result))
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            conn.send((index, StepResult(Status.UNKNOWN, "error", f"could not return the result: {exc}")))


def _fork_shallow(proc) -> None:
    """Start proc (fork) from a fresh thread, so the worker runs near the bottom of its frame stack.

    A worker forked deep in its caller's stack (inside a test runner, say) checks on top of that
    stack. CPython 3.11 keeps Python frames in 16 KB chunks and unmaps a chunk as soon as it
    empties; SymPy's recursion going back and forth over a chunk's edge then maps and unmaps it
    every time (180,000 mmap/munmap pairs and a third more CPU for the same checks). Forked from
    a fresh thread, every worker starts at the same shallow depth, and that thread is the child's
    main thread (the soft deadlines' signals reach it)."""
    failed: list[BaseException] = []

    def start() -> None:
        try:
            proc.start()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            failed.append(exc)

    starter = threading.Thread(target=start, name="proofcheck-fork")
    starter.start()
    starter.join()
    if failed:
        raise failed[0]


class _Worker:
    def __init__(self, ctx, fn):
        parent, child = ctx.Pipe()
        self.conn = parent
        self.proc = ctx.Process(target=_worker_main, args=(child, fn), daemon=True)
        _fork_shallow(self.proc)
        child.close()
        self.busy: tuple[int, float, float] | None = None  # (index, started, budget)
        self.cpu_start: float | None = None  # the worker's CPU time when its task started

    def begin(self, k: int, budget: float) -> None:
        """Record the start of task k (wall and CPU clocks)."""
        self.cpu_start = cpu_seconds(self.proc.pid)
        self.busy = (k, time.monotonic(), budget)

    def over_budget(self, now: float) -> bool:
        """Whether the running task has used its budget of CPU time, or the wall-clock safety net."""
        k, started, budget = self.busy
        if now >= started + WALL_FACTOR * budget + GRACE:
            return True
        if self.cpu_start is None:  # no /proc: wall time is all there is
            return now >= started + budget + GRACE
        used = cpu_seconds(self.proc.pid)
        return used is not None and used - self.cpu_start >= budget + GRACE

    def kill(self) -> None:
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, TypeError):
            pass
        self.proc.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.proc.join(timeout=1)
        if self.proc.is_alive():
            self.kill()


class WorkerPool:
    """Runs fn(task) for many tasks in `jobs` worker processes, each under its own budget."""

    def __init__(self, fn, jobs: int = 1, warm=None):
        self.fn = fn
        self.jobs = max(1, jobs)
        self.warm = warm  # called once before the first fork: what every worker would load, loaded here once
        self.ctx = mp.get_context("fork")
        self.workers: list[_Worker] = []
        self.cancelled = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Stop every worker."""
        for w in self.workers:
            w.stop()
        self.workers = []

    def start(self, count: int | None = None) -> None:
        """Start the worker processes now (before any thread is started: forking is then safe)."""
        want = self.jobs if count is None else min(self.jobs, max(count, 1))
        if self.warm is not None and len(self.workers) < want:
            self.warm()
            self.warm = None
        while len(self.workers) < want:
            self.workers.append(_Worker(self.ctx, self.fn))

    def map(self, tasks: list, budgets: list[float], on_done=None) -> list[StepResult]:
        """Results in task order; a task over its budget is `unknown` ("timed out after N s")."""
        feed: queue.SimpleQueue = queue.SimpleQueue()
        for k, (task, budget) in enumerate(zip(tasks, budgets)):
            feed.put((k, task, budget))
        feed.put(None)
        self.start(len(tasks))
        results = self.stream(feed, on_done)
        return [results[k] for k in range(len(tasks))]

    def stream(self, feed: queue.SimpleQueue, on_done=None) -> dict[int, StepResult]:
        """Run (index, task, budget) items from `feed` until a None arrives and every task is done.

        The feed may still be filled by another thread (files planned while earlier ones are
        checked); results are keyed by index, whatever order the workers finish in."""
        results: dict[int, StepResult] = {}
        pending: deque = deque()
        open_feed = True
        if not self.workers:
            self.start()
        while (open_feed or pending or any(w.busy for w in self.workers)) and not self.cancelled:
            busy_now = any(w.busy for w in self.workers)
            while open_feed:  # take what has been fed; wait for it only when there is nothing else to do
                try:
                    item = feed.get(block=not pending and not busy_now)
                except queue.Empty:
                    break
                if item is None:
                    open_feed = False
                else:
                    pending.append(item)
                    if not busy_now:
                        break
            for w in self.workers:
                if w.busy is None and pending:
                    k, task, budget = pending.popleft()
                    try:
                        w.conn.send((k, task))
                    except Exception as exc:  # noqa: BLE001 - e.g. a task that cannot be pickled
                        results[k] = StepResult(Status.UNKNOWN, "error", f"could not start the check: {exc}")
                        if on_done:
                            on_done(k, results[k])
                        continue
                    w.begin(k, budget)
            busy = [w for w in self.workers if w.busy]
            if not busy:
                continue
            now = time.monotonic()
            # A task's CPU time can run out no sooner than its wall time: sleep until the earliest
            # wall deadline, then look at CPU time often.
            next_deadline = min(w.busy[1] + w.busy[2] + GRACE for w in busy)
            wait_for = max(CPU_POLL, next_deadline - now)
            if open_feed and len(busy) < len(self.workers):
                wait_for = min(wait_for, POLL)
            ready = wait([w.conn for w in busy], timeout=wait_for)
            if self.cancelled:
                break
            for w in list(busy):
                k, started, budget = w.busy
                if w.conn in ready:
                    try:
                        idx, res = w.conn.recv()
                        idx = k if idx is None else idx
                    except (EOFError, OSError):
                        res = StepResult(Status.UNKNOWN, "error", "the checking process died (out of memory?)")
                        idx = k
                        self._replace(w)
                    results[idx] = res
                    w.busy = None
                    if on_done:
                        on_done(idx, res)
                elif w.over_budget(time.monotonic()):
                    results[k] = StepResult(Status.UNKNOWN, "timeout", f"timed out after {budget:g} s",
                                            seconds=round(time.monotonic() - started, 3))
                    self._replace(w)
                    if on_done:
                        on_done(k, results[k])
        return results

    def cancel(self) -> None:
        """Stop now (from another thread too): kill the workers; stream() returns what it has."""
        self.cancelled = True
        for w in list(self.workers):
            w.kill()

    def _replace(self, w: _Worker) -> None:
        w.kill()
        if self.cancelled:
            return
        i = self.workers.index(w)
        self.workers[i] = _Worker(self.ctx, self.fn)
