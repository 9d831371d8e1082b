"""Benchmark: `proofcheck verify derivations/` against a naive SymPy baseline on the same steps.

The baseline decides a step when `simplify(lhs - rhs) == 0` (after evaluating derivatives and
the like), with no numeric fallback; it runs in the same kind of time-budgeted workers.

    python bench/bench_verify.py [PATH ...] [--timeout 10] [--jobs 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proofcheck.kernel.budget import WorkerPool  # noqa: E402
from proofcheck.kernel.plugins import lower  # noqa: E402
from proofcheck.kernel.terms import Relation, deep_doit  # noqa: E402
from proofcheck.kernel.verdict import Status, StepResult  # noqa: E402
from proofcheck.verify import Options, Planner, expand_paths, verify_paths  # noqa: E402


def naive(task) -> StepResult:
    """simplify(lhs - rhs) == 0 on plain `=` steps; everything else is undecided."""
    start = time.monotonic()
    status = Status.UNKNOWN
    if task.op == "=" and task.rule is None and not isinstance(task.prev, Relation):
        try:
            lhs = deep_doit(lower(task.prev, task.context))
            rhs = deep_doit(lower(task.cur, task.context))
            d = lhs - rhs
            if isinstance(d, sp.MatrixBase):
                ok = all(sp.simplify(x) == 0 for x in d)
            else:
                ok = sp.simplify(d) == 0
            status = Status.PROVED if ok else Status.UNKNOWN
        except Exception:  # noqa: BLE001 - the baseline just fails to decide
            status = Status.UNKNOWN
    return StepResult(status, "naive", seconds=round(time.monotonic() - start, 4))


def run_cli(paths, timeout, jobs, cache):
    """Wall time of the real command in a fresh process (interpreter start included)."""
    start = time.monotonic()
    args = [sys.executable, "-m", "proofcheck", "verify", *paths, "--format", "json", "--timeout", str(timeout),
            "--jobs", str(jobs)] + ([] if cache else ["--no-cache"])
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    json.loads(out.stdout)
    return time.monotonic() - start


def run_proofcheck(paths, timeout, jobs):
    """Wall time (including planning) and per-step results, in this process like the baseline."""
    start = time.monotonic()
    reports = verify_paths(paths, Options(timeout=timeout, jobs=jobs))
    wall = time.monotonic() - start
    steps = [s.result for r in reports for p in r.parts for s in p.steps]
    return wall, steps


def run_naive(paths, timeout, jobs):
    """Wall time (including planning) and per-step results of the baseline."""
    start = time.monotonic()
    files, _ = expand_paths(paths)
    planner = Planner(Options(timeout=timeout))
    plans = [planner.plan_path(f) for f in files]
    step_tasks = [s.task for p in plans for part in p.parts for s in part.steps if s.task is not None]
    tasks = [planner.tasks[i] for i in step_tasks]
    with WorkerPool(naive, jobs) as pool:
        results = pool.map(tasks, [timeout] * len(tasks))
    return time.monotonic() - start, results


def main() -> None:
    """Print one table comparing the two."""
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", default=["derivations"])
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()

    pc_wall, pc_steps = run_proofcheck(args.paths, args.timeout, args.jobs)
    nv_wall, nv_steps = run_naive(args.paths, args.timeout, args.jobs)
    cold = run_cli(args.paths, args.timeout, args.jobs, cache=False)
    run_cli(args.paths, args.timeout, args.jobs, cache=True)
    warm = run_cli(args.paths, args.timeout, args.jobs, cache=True)
    pc_times = [s.seconds for s in pc_steps]
    nv_times = [r.seconds for r in nv_steps]
    pc_decided = sum(1 for s in pc_steps if s.status.value in ("proved", "numeric", "refuted"))
    nv_decided = sum(1 for r in nv_steps if r.status == Status.PROVED)
    by_status = {k: sum(1 for s in pc_steps if s.status.value == k) for k in ("proved", "numeric", "refuted", "unknown")}
    stages: dict = {}
    for s in pc_steps:
        stage = s.details.get("stage", "rule or other")
        stages[stage] = stages.get(stage, 0) + 1
    over = [s for s in pc_steps if s.seconds > args.timeout + 1]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"| measure | proofcheck | naive simplify |")
    print(f"|---|---|---|")
    print(f"| steps | {len(pc_steps)} | {len(nv_steps)} |")
    print(f"| decided | {pc_decided} ({by_status}) | {nv_decided} |")
    print(f"| total wall time (s) | {pc_wall:.2f} | {nv_wall:.2f} |")
    print(f"| steps per second | {len(pc_steps) / pc_wall:.1f} | {len(nv_steps) / nv_wall:.1f} |")
    print(f"| median step (s) | {statistics.median(pc_times):.4f} | {statistics.median(nv_times):.4f} |")
    print(f"| worst step (s) | {max(pc_times):.3f} | {max(nv_times):.3f} |")
    print(f"| steps over budget + 1 s | {len(over)} | - |")
    print(f"| speed-up (naive wall / proofcheck wall) | {nv_wall / pc_wall:.2f}x | |")
    print(f"| `proofcheck verify` cold, fresh process (s) | {cold:.2f} | |")
    print(f"| `proofcheck verify` warm cache, fresh process (s) | {warm:.2f} | |")
    print(f"| steps decided per stage | {stages} | |")
    print(f"| peak memory of a child process (MiB) | {peak:.0f} | |")


if __name__ == "__main__":
    main()
