"""One run, one table: `derivations/` and a 1,000-submission grading set, proofcheck against the
naive baseline (`simplify(lhs - rhs) == 0` per step), each measured in a fresh process.

    python bench/bench_all.py [--jobs 2] [--timeout 10] [--count 1000] [--skip-naive] [--steps-csv FILE]

Columns: steps (for grading: submitted steps; identical checks run once), decided (proved, numeric or
refuted; the baseline can only prove), wall time of planning and checking, steps per second, median
and worst time of one kernel task, peak resident memory of the measuring process and of its
largest worker, and the baseline's wall time over proofcheck's. Below the table: the real commands
in a fresh interpreter (cold, and warm verdict cache), steps decided per kernel stage, and the
time of every file of the library.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _peaks() -> tuple[float, float]:
    """Peak resident memory (MiB) of this process and of its largest child so far."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def _summary(wall: float, statuses: list[str], times: list[float], steps: int, extra=None) -> dict:
    own, kids = _peaks()
    return {"wall": wall, "steps": steps, "statuses": statuses, "times": times, "peak_self": own,
            "peak_worker": kids, **(extra or {})}


def measure_library(tool: str, paths: list[str], timeout: float, jobs: int) -> dict:
    """Check the library with proofcheck or the baseline, in this (fresh) process."""
    from bench_verify import run_naive, run_proofcheck
    if tool == "naive":
        wall, results = run_naive(paths, timeout, jobs)
        return _summary(wall, [r.status.value for r in results], [r.seconds for r in results], len(results))
    from proofcheck.verify import Options, verify_paths
    start = time.monotonic()
    reports = verify_paths(paths, Options(timeout=timeout, jobs=jobs))
    wall = time.monotonic() - start
    steps = [(r.path, s.result) for r in reports for p in r.parts for s in p.steps]
    rows = [[Path(r.path).name, p.name, s.line, s.result.status.value, (s.result.details or {}).get("stage", ""),
             s.result.seconds] for r in reports for p in r.parts for s in p.steps]
    files: dict[str, dict] = {}
    stages: dict[str, int] = {}
    for path, res in steps:
        f = files.setdefault(Path(path).name, {"steps": 0, "proved": 0, "numeric": 0, "other": 0,
                                               "seconds": 0.0, "worst": 0.0})
        f["steps"] += 1
        f[res.status.value if res.status.value in ("proved", "numeric") else "other"] += 1
        f["seconds"] += res.seconds
        f["worst"] = max(f["worst"], res.seconds)
        stage = (res.details or {}).get("stage", "rule or other")
        stages[stage] = stages.get(stage, 0) + 1
    return _summary(wall, [r.status.value for _, r in steps], [r.seconds for _, r in steps], len(steps),
                    {"files": files, "stages": stages, "rows": rows})


def measure_grading(tool: str, folder: str, timeout: float, jobs: int) -> dict:
    """Grade the generated submissions with proofcheck or the baseline, in this (fresh) process."""
    import proofcheck.verify as verify
    from grade_bench import KEY, PART
    from proofcheck.grade import grade_paths, load_key, submission_paths
    options = verify.Options(timeout=timeout, jobs=jobs)
    if tool == "naive":
        from bench_verify import naive
        from proofcheck.kernel.budget import WorkerPool

        def run_naive_tasks(tasks, opts, progress=None):
            with WorkerPool(naive, opts.jobs) as pool:
                return pool.map(tasks, [opts.timeout] * len(tasks))
        verify._run_tasks = run_naive_tasks  # the same planned tasks, decided by the baseline
    start = time.monotonic()
    key, errors = load_key(str(KEY), options)
    assert key is not None, errors
    grades, planner = grade_paths(submission_paths([folder], str(KEY)), key, options, PART)
    wall = time.monotonic() - start
    statuses = [s.result.status.value for g in grades for p in g.parts for s in p.steps]
    return _summary(wall, statuses, [r.seconds for r in planner.results], len(statuses),
                    {"tasks": len(planner.tasks), "requested": planner.requested})


def _fresh(*args) -> dict:
    """Run one measurement in a new interpreter (same process start for both tools)."""
    out = subprocess.run([sys.executable, __file__, "--measure", *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"measurement {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.splitlines()[-1])


def _command(args: list[str], cwd) -> float:
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "proofcheck", *args], capture_output=True, text=True, cwd=cwd)
    if out.returncode not in (0, 1):
        raise SystemExit(f"proofcheck {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return time.monotonic() - start


def _row(name: str, tool: str, m: dict, ratio: str) -> str:
    decided = sum(1 for s in m["statuses"] if s in ("proved", "numeric", "refuted"))
    counts = {k: m["statuses"].count(k) for k in ("proved", "numeric", "refuted", "unknown")}
    shown = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    times = m["times"] or [0.0]
    return (f"| {name} | {tool} | {m['steps']} | {decided} ({shown}) | {m['wall']:.1f} | {m['steps'] / m['wall']:.0f} | "
            f"{statistics.median(times):.4f} | {max(times):.2f} | {m['peak_self']:.0f} / {m['peak_worker']:.0f} | {ratio} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--grade-timeout", type=float, default=5, help="step budget when grading (default 5)")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-naive", action="store_true", help="leave out the baseline (it takes minutes)")
    ap.add_argument("--steps-csv", metavar="FILE", help="also write every library step's time to FILE")
    ap.add_argument("--measure", nargs=3, metavar=("SET", "TOOL", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        kind, tool, path = args.measure
        fn = measure_library if kind == "library" else measure_grading
        timeout = args.timeout if kind == "library" else args.grade_timeout
        print(json.dumps(fn(tool, [path] if kind == "library" else path, timeout, args.jobs)))
        return 0

    from grade_bench import KEY, key_chain, submission
    print(f"# proofcheck benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, --jobs {args.jobs}, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    rows = []
    lib = _fresh("library", "proofcheck", "derivations", "--jobs", str(args.jobs), "--timeout", str(args.timeout))
    lib_naive = None if args.skip_naive else _fresh("library", "naive", "derivations", "--jobs", str(args.jobs),
                                                    "--timeout", str(args.timeout))
    with tempfile.TemporaryDirectory() as tmp:
        rng = random.Random(args.seed)
        chain = key_chain()
        subs = Path(tmp) / "subs"
        subs.mkdir()
        for i in range(args.count):
            (subs / f"student_{i:04d}.txt").write_text(submission(chain, rng), encoding="utf-8")
        flags = ["--jobs", str(args.jobs), "--grade-timeout", str(args.grade_timeout)]
        grading = _fresh("grading", "proofcheck", str(subs), *flags)
        grading_naive = None if args.skip_naive else _fresh("grading", "naive", str(subs), *flags)
        with tempfile.TemporaryDirectory() as cwd:  # no verdict cache to reuse
            grade_cli = _command(["grade", str(subs), "--key", str(KEY), "--jobs", str(args.jobs), "--timeout",
                                  str(args.grade_timeout), "--format", "json", "--out", str(Path(tmp) / "g.json")],
                                 cwd)
    with tempfile.TemporaryDirectory() as cache:
        verify = ["verify", str(ROOT / "derivations"), "--format", "json", "--jobs", str(args.jobs)]
        cold = _command(verify + ["--no-cache"], ROOT)
        _command(verify, cache)
        warm = _command(verify, cache)

    def ratio(m, base):
        return f"{base['wall'] / m['wall']:.2f}x" if base else "-"
    print()
    print("| set | tool | steps | decided | wall (s) | steps/s | median task (s) | worst task (s) | "
          "peak MiB (process / worker) | baseline wall / proofcheck wall |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows.append(_row("derivations/", "proofcheck", lib, ratio(lib, lib_naive)))
    if lib_naive:
        rows.append(_row("derivations/", "naive simplify", lib_naive, ""))
    label = f"grading {args.count} submissions"
    rows.append(_row(label, "proofcheck", grading, ratio(grading, grading_naive)))
    if grading_naive:
        rows.append(_row(label, "naive simplify", grading_naive, ""))
    print("\n".join(rows))
    print()
    print(f"- `proofcheck verify derivations/ --no-cache --jobs {args.jobs}` in a fresh interpreter: {cold:.1f} s "
          f"(target <= 15 s); warm cache: {warm:.2f} s")
    print(f"- `proofcheck grade` of the {args.count} submissions in a fresh interpreter: {grade_cli:.1f} s "
          f"(target <= 60 s); {grading['requested']} checks planned, {grading['tasks']} distinct tasks run")
    over = sum(1 for t in lib["times"] + grading["times"] if t > max(args.timeout, args.grade_timeout) + 1)
    print(f"- tasks over their budget + 1 s: {over}")
    print(f"- library steps decided per stage: {lib['stages']}")
    print()
    if args.steps_csv:
        with open(args.steps_csv, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["file", "part", "line", "status", "stage", "seconds"])
            out.writerows(lib["rows"])
    print("| file | steps | proved | numeric | other | step time (s) | worst step (s) |")
    print("|---|---|---|---|---|---|---|")
    for name, f in sorted(lib["files"].items(), key=lambda kv: -kv[1]["seconds"]):
        print(f"| {name} | {f['steps']} | {f['proved']} | {f['numeric']} | {f['other']} | {f['seconds']:.2f} | "
              f"{f['worst']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
