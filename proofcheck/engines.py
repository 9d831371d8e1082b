"""Where kernel tasks run: a local pool of time-budgeted workers, or a Dask cluster.

Both run the same function: `run_batch` checks a list of tasks in a kernel.budget.WorkerPool, so
every step keeps its hard time budget (a forked worker killed when over it) wherever it runs. Dask
only decides which machine runs which batch; a verdict depends on the task alone (its random points
are seeded from it), so the output is the same with either engine and any number of workers."""

from __future__ import annotations

import queue
import threading

from proofcheck.kernel.budget import WorkerPool
from proofcheck.kernel.check import check_step
from proofcheck.kernel.warm import warm_up
from proofcheck.kernel.verdict import StepResult

ENGINES = ("local", "dask")


BATCH = 16  # tasks per Dask job: enough to pay for the round trip, few enough to spread the load
CLOSE_TIMEOUT = 20  # seconds to wait for a Dask client or local cluster to shut down


class EngineError(RuntimeError):
    """The engine cannot run (Dask missing, scheduler unreachable)."""


CONNECT_SECONDS = 5  # waiting for a Dask scheduler that does not answer

def run_batch(tasks: list, timeout: float, jobs: int = 1, on_done=None) -> list[StepResult]:
    """Check tasks in `jobs` time-budgeted worker processes; results in task order."""
    with WorkerPool(check_step, jobs, warm=warm_up) as pool:
        return pool.map(tasks, [timeout] * len(tasks), on_done=on_done)


def run(tasks: list, timeout: float, jobs: int, engine: str = "local", scheduler: str | None = None,
        on_done=None) -> list[StepResult]:
    """Every task's verdict, in task order; on_done(index, result) as each one arrives."""
    if engine == "dask":
        return _run_dask(tasks, timeout, jobs, scheduler, on_done)
    return run_batch(tasks, timeout, jobs, on_done)


class Stream:
    """Tasks checked as they are handed in: later files are planned while earlier ones are checked.

    The workers are forked before the dispatching thread starts; the thread only sends tasks and
    collects results (planning, in the caller's thread, is the other half of the overlap)."""

    def __init__(self, jobs: int, on_done=None):
        self._feed: queue.SimpleQueue = queue.SimpleQueue()
        self._pool = WorkerPool(check_step, jobs, warm=warm_up)
        self._pool.start()
        self._results: dict[int, StepResult] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(on_done,), daemon=True)
        self._thread.start()

    def _run(self, on_done) -> None:
        try:
            self._results = self._pool.stream(self._feed, on_done)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller in finish()
            self._error = exc

    def put(self, index: int, task, budget: float) -> None:
        """Queue one task."""
        self._feed.put((index, task, budget))

    def cancel(self) -> None:
        """Give up (the caller failed): kill the workers and let the dispatching thread end."""
        self._pool.cancel()
        self._feed.put(None)
        self._thread.join(timeout=5)

    def finish(self) -> dict[int, StepResult]:
        """Wait for every queued task; results by index."""
        self._feed.put(None)
        self._thread.join()
        self._pool.close()
        if self._error is not None:
            raise self._error
        return self._results


def _run_dask(tasks, timeout, jobs, scheduler, on_done):
    try:
        import dask
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise EngineError("--engine dask needs Dask: pip install 'proofcheck[dask]'") from None
    # run_batch forks its own time-budgeted workers, which a daemonic Dask worker may not do
    # (workers of a remote cluster need the same setting: see docs/scaling.md).
    dask.config.set({"distributed.worker.daemon": False})
    batches = [list(range(i, min(i + BATCH, len(tasks)))) for i in range(0, len(tasks), BATCH)]
    results: list[StepResult | None] = [None] * len(tasks)
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise EngineError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    else:  # a local cluster: one single-threaded worker process per job
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = {client.submit(run_batch, [tasks[i] for i in b], timeout, pure=False): b for b in batches}
        for future in as_completed(futures):
            for i, r in zip(futures[future], future.result()):
                results[i] = r
                if on_done:
                    on_done(i, r)
    finally:  # bounded: a cluster that will not shut down must not hang the command
        client.close(timeout=CLOSE_TIMEOUT)
        if cluster is not None:
            cluster.close(timeout=CLOSE_TIMEOUT)
    return results  # type: ignore[return-value]
