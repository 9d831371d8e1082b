"""A table per file of the library: proofcheck against the naive baseline on the same steps, in CPU time.

    python bench/library_table.py [PATH ...] [--timeout 10] [--jobs 2] [--skip-naive] [--rows FILE]
                                  [--stages] [--slowest N]

Both tools get exactly the kernel tasks `proofcheck verify` plans (one per step; the two claim checks
of each part are counted apart), in the same time-budgeted worker processes, one fresh pool each.
Times are CPU seconds of the worker (time.process_time around the check), not wall time, so the
figures mean the same on a busy machine; the wall time of each run is printed too.

The naive baseline is what SymPy alone gives: a plain `=` step is proved when
`simplify(lhs - rhs) == 0` (every entry for matrices), after the same lowering of expectations and
divergences and evaluation of derivatives that proofcheck starts from, with the same CPU budget per
step; no stages before it, no rules, no statements, no numeric fallback, so it never refutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proofcheck.kernel.budget import WorkerPool  # noqa: E402
from proofcheck.kernel.check import check_step  # noqa: E402
from proofcheck.kernel.equivalence import OutOfTime, soft_deadline  # noqa: E402
from proofcheck.kernel.plugins import lower  # noqa: E402
from proofcheck.kernel.terms import Relation, deep_doit  # noqa: E402
from proofcheck.kernel.verdict import Status, StepResult  # noqa: E402
from proofcheck.verify import Options, Planner, expand_paths  # noqa: E402


def _naive_verdict(task) -> Status | None:
    """PROVED or UNKNOWN; None when the budget ran out."""
    if task.op != "=" or task.rule is not None or isinstance(task.prev, Relation):
        return Status.UNKNOWN
    try:
        with soft_deadline(task.context.timeout * 0.85):  # the kernel's own soft share of the budget
            d = deep_doit(lower(task.prev, task.context)) - deep_doit(lower(task.cur, task.context))
            if isinstance(d, sp.MatrixBase):
                ok = all(sp.simplify(x) == 0 for x in d)
            else:
                ok = sp.simplify(d) == 0
    except OutOfTime:
        return None
    except Exception:  # noqa: BLE001 - the baseline just fails to decide
        return Status.UNKNOWN
    return Status.PROVED if ok else Status.UNKNOWN


def naive(task) -> StepResult:
    """The baseline on one task, with the CPU seconds it used."""
    start = time.process_time()
    status = _naive_verdict(task)
    return StepResult(status or Status.UNKNOWN, "naive",
                      details={"cpu": time.process_time() - start, "out_of_time": status is None})


def proofcheck(task) -> StepResult:
    """check_step on one task, with the CPU seconds it used."""
    start = time.process_time()
    result = check_step(task)
    result.details = {**(result.details or {}), "cpu": time.process_time() - start}
    return result


def plan(paths: list[str], timeout: float):
    """The planned tasks and, per task, (file, part, line or claim end, 'step' | 'claim')."""
    files, missing = expand_paths(paths)
    if missing:
        raise SystemExit(f"not found: {', '.join(missing)}")
    planner = Planner(Options(timeout=timeout))
    owners: dict[int, tuple] = {}
    for f in files:
        fp = planner.plan_path(f)
        if fp.errors:
            raise SystemExit(f"{f}: {fp.errors[0].message}")
        for part in fp.parts:
            for s in part.steps:
                if s.task is not None:
                    owners[s.task] = (Path(f).name, part.name, s.line, "step")
            for end, t in part.claim_tasks:
                owners[t] = (Path(f).name, part.name, f"claim-{end}", "claim")
    return planner.tasks, owners


def run(fn, tasks, timeout: float, jobs: int) -> tuple[float, list[StepResult]]:
    """Wall seconds of a fresh pool and each task's result (a killed task counts its whole budget)."""
    start = time.monotonic()
    with WorkerPool(fn, jobs) as pool:
        results = pool.map(tasks, [timeout] * len(tasks))
    for r in results:
        r.details = r.details or {}
        if "cpu" not in r.details:  # killed by the pool
            r.details.update(cpu=timeout, out_of_time=True)
    return time.monotonic() - start, results


def _decided(results) -> int:
    return sum(1 for r in results if r.status in (Status.PROVED, Status.NUMERIC, Status.REFUTED))


def _cpu(results) -> float:
    return sum(r.details["cpu"] for r in results)


def main() -> int:
    """Print the per-file table (and optionally the stages and the slowest steps)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=[str(ROOT / "derivations")])
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-naive", action="store_true", help="only proofcheck (the baseline takes minutes)")
    ap.add_argument("--rows", metavar="FILE", help="write every task's row (JSON) to FILE")
    ap.add_argument("--naive-from", metavar="FILE", help="take the baseline's columns from an earlier --rows FILE "
                    "of the same paths (it does not change with proofcheck's kernel)")
    ap.add_argument("--stages", action="store_true", help="also the steps and CPU seconds per kernel stage")
    ap.add_argument("--slowest", type=int, default=0, metavar="N", help="also the N slowest steps")
    args = ap.parse_args()

    tasks, owners = plan(args.paths, args.timeout)
    pc_wall, pc = run(proofcheck, tasks, args.timeout, args.jobs)
    if args.naive_from:
        old = json.loads(Path(args.naive_from).read_text(encoding="utf-8"))
        if len(old) != len(tasks) or any(o["part"] != owners.get(i, ("?", "?"))[1] for i, o in enumerate(old)):
            raise SystemExit(f"{args.naive_from} is not a run of the same tasks")
        nv_wall = None
        nv = [StepResult(Status(o["naive"]), "naive", details={"cpu": o["naive_cpu"], "out_of_time": o["naive_out"]})
              for o in old]
    else:
        nv_wall, nv = (None, None) if args.skip_naive else run(naive, tasks, args.timeout, args.jobs)
    rows = []
    for i, r in enumerate(pc):
        file, part, line, kind = owners.get(i, ("?", "?", "?", "claim"))
        rows.append({"file": file, "part": part, "line": line, "kind": kind, "status": r.status.value,
                     "stage": (r.details or {}).get("stage", ""), "cpu": round(r.details["cpu"], 4),
                     "naive": nv[i].status.value if nv else None,
                     "naive_cpu": round(nv[i].details["cpu"], 4) if nv else None,
                     "naive_out": nv[i].details.get("out_of_time", False) if nv else None})
    if args.rows:
        Path(args.rows).write_text(json.dumps(rows, indent=0), encoding="utf-8")

    steps = [i for i, row in enumerate(rows) if row["kind"] == "step"]
    claims = [i for i, row in enumerate(rows) if row["kind"] == "claim"]
    print(f"# library table, {time.strftime('%Y-%m-%d %H:%M')}, --jobs {args.jobs}, --timeout {args.timeout:g}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print()
    print("| file | steps | proofcheck: proved / numeric / other | CPU (s) | per step (ms) | worst step (s) | "
          "naive: proved | naive CPU (s) | naive worst (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    by_file: dict[str, list[int]] = {}
    for i in steps:
        by_file.setdefault(rows[i]["file"], []).append(i)

    def line(name, idx):
        got = [pc[i] for i in idx]
        counts = [sum(1 for r in got if r.status == s) for s in (Status.PROVED, Status.NUMERIC)]
        other = len(got) - sum(counts)
        cpu = _cpu(got)
        naive_cells = "| - | - | -"
        if nv:
            base = [nv[i] for i in idx]
            naive_cells = f"| {_decided(base)} | {_cpu(base):.2f} | {max(r.details['cpu'] for r in base):.2f}"
        return (f"| {name} | {len(idx)} | {counts[0]} / {counts[1]} / {other} | {cpu:.2f} | "
                f"{1000 * cpu / len(idx):.1f} | {max(r.details['cpu'] for r in got):.2f} {naive_cells} |")
    for name, idx in sorted(by_file.items(), key=lambda kv: -_cpu([pc[i] for i in kv[1]])):
        print(line(name, idx))
    print(line(f"**all {len(by_file)} files**", steps))
    print()
    claim_cpu = _cpu([pc[i] for i in claims])
    print(f"- proofcheck: {len(steps)} steps in {_cpu([pc[i] for i in steps]):.1f} s CPU (median "
          f"{1000 * statistics.median(pc[i].details['cpu'] for i in steps):.1f} ms), plus {len(claims)} claim checks "
          f"in {claim_cpu:.1f} s; wall {pc_wall:.1f} s with {args.jobs} workers")
    if nv:
        print(f"- naive: {_decided([nv[i] for i in steps])} of {len(steps)} steps proved in "
              f"{_cpu([nv[i] for i in steps]):.1f} s CPU, {sum(1 for i in steps if nv[i].details.get('out_of_time'))} "
              f"ran out of budget; wall {'(earlier run)' if nv_wall is None else f'{nv_wall:.1f} s'}; steps the baseline proves and proofcheck does not: "
              f"{sum(1 for i in steps if nv[i].status == Status.PROVED and pc[i].status != Status.PROVED)}")
    if args.stages:
        print()
        print("| stage | steps | CPU (s) |")
        print("|---|---|---|")
        stages: dict[str, list[float]] = {}
        for i in steps:
            stages.setdefault(rows[i]["stage"] or pc[i].method or "other", []).append(rows[i]["cpu"])
        for name, cpus in sorted(stages.items(), key=lambda kv: -sum(kv[1])):
            print(f"| {name} | {len(cpus)} | {sum(cpus):.2f} |")
    if args.slowest:
        print()
        print("| step | status (stage) | CPU (s) |")
        print("|---|---|---|")
        for i in sorted(steps, key=lambda i: -rows[i]["cpu"])[:args.slowest]:
            row = rows[i]
            print(f"| {row['file']} {row['part']} line {row['line']} | {row['status']} ({row['stage']}) | {row['cpu']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
