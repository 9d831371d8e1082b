"""kernel/budget.py: worker processes with a hard time limit, fed all at once or while planning goes on."""

from __future__ import annotations

import queue
import threading
import time

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
    assert time.monotonic() - start < 4  # killed at 0.5 s + grace, not waited for


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
