"""kernel/budget.py: worker processes with a hard time limit, fed all at once or while planning goes on."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time

import pytest

from proofcheck import verify
from proofcheck.kernel.budget import WorkerPool
from proofcheck.kernel.verdict import Status, StepResult


def _square_or_hang(x):
    if x < 0:
        while True:  # pure Python that never yields: only the parent's kill stops it
            pass
    return StepResult(Status.PROVED, "test", str(x * x))


def test_map_returns_results_in_task_order_and_kills_a_task_over_budget():
    with WorkerPool(_square_or_hang, 2) as pool:
        start = time.monotonic()
        out = pool.map([3, -1, 4, 5], [5, 0.5, 5, 5])
    assert [r.message for r in out[:1] + out[2:]] == ["9", "16", "25"]
    assert (out[1].status, out[1].method) == (Status.UNKNOWN, "timeout")
    # killed at 0.5 s of CPU + grace, not waited for (the task never ends by itself); generous for a loaded machine
    assert time.monotonic() - start < 30


def test_stream_takes_tasks_fed_from_another_thread_while_it_runs():
    feed: queue.SimpleQueue = queue.SimpleQueue()

    def planner():  # hands tasks in over time, like files being parsed
        for k in range(6):
            feed.put((k, k + 1, 5.0))
            time.sleep(0.05)
        feed.put((6, -1, 0.3))
        feed.put(None)

    done = []
    with WorkerPool(_square_or_hang, 2) as pool:
        pool.start()
        t = threading.Thread(target=planner)
        t.start()
        results = pool.stream(feed, on_done=lambda k, r: done.append(k))
        t.join()
    assert {k: r.message for k, r in results.items() if k < 6} == {k: str((k + 1) ** 2) for k in range(6)}
    assert results[6].method == "timeout"
    assert sorted(done) == list(range(7))


def test_cancel_stops_a_running_stream_and_its_workers():
    feed: queue.SimpleQueue = queue.SimpleQueue()
    pool = WorkerPool(_square_or_hang, 2)
    pool.start()
    pids = [w.proc.pid for w in pool.workers]
    feed.put((0, -1, 60.0))  # would run for a minute
    feed.put((1, -1, 60.0))
    got: dict = {}
    t = threading.Thread(target=lambda: got.update(pool.stream(feed)))
    t.start()
    time.sleep(0.5)
    start = time.monotonic()
    pool.cancel()
    feed.put(None)
    t.join(timeout=10)
    assert not t.is_alive() and time.monotonic() - start < 5
    assert got == {}  # nothing finished, nothing made up
    for pid in pids:  # the workers are gone (reaped by kill()), and none was started in their place
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        assert not alive
    assert all(not w.proc.is_alive() for w in pool.workers)


def test_a_failure_while_planning_leaves_no_worker_behind(monkeypatch):
    calls = []

    def plan_then_fail(self, path):
        calls.append(path)
        if len(calls) == 2:
            raise RuntimeError("planning failed")
        return original(self, path)
    original = verify.Planner.plan_path
    monkeypatch.setattr(verify.Planner, "plan_path", plan_then_fail)
    before = set(multiprocessing.active_children())
    with pytest.raises(RuntimeError, match="planning failed"):
        verify.verify_paths(["derivations/elbo.yaml", "derivations/cavi.yaml"], verify.Options(jobs=2))
    assert set(multiprocessing.active_children()) <= before


def _where_and_deadline(_):
    import inspect

    from proofcheck.kernel.equivalence import Clock
    depth = len(inspect.stack(0))
    # a soft deadline needs the main thread's signals: an endless loop must come back as None, not be killed
    def spin():
        while True:
            pass
    stopped = Clock(0.3).attempt(spin) is None
    return StepResult(Status.PROVED, "test", f"{depth} {threading.current_thread() is threading.main_thread()} {stopped}")


def _deep(n, fn):
    return fn() if n == 0 else _deep(n - 1, fn)


def test_a_worker_forked_deep_in_its_caller_checks_near_the_bottom_of_its_stack_on_the_main_thread():
    # Forked from the caller's own depth, a worker checked on top of the caller's frames, where CPython 3.11
    # mapped and unmapped a frame-stack chunk at every crossing of its edge (a third more CPU under pytest).
    def run():
        with WorkerPool(_where_and_deadline, 1) as pool:
            return pool.map([0], [10])[0]
    out = _deep(300, run)
    depth, main, stopped = out.message.split()
    assert int(depth) < 40, out.message
    assert (main, stopped) == ("True", "True")
