"""Rates of the soundness suite (tests/soundness/) under several seeds: false accepts (a false statement
proved or numeric), false rejects (a true statement refuted), unknowns, per class and in total.

Each (case, seed) pair counts once. Prints a Markdown table; with --write-doc it also replaces the
table between the `rates` markers in docs/soundness.md, stamped with the date and the commit.

Usage: python bench/soundness_rates.py [--seeds 0-4] [--timeout 5] [--jobs 2] [--write-doc] [--list]"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "soundness"))

from soundness_suite import kind, load_cases, meets, run_cases  # noqa: E402

DOC = ROOT / "docs" / "soundness.md"
BEGIN, END = "<!-- rates:begin -->", "<!-- rates:end -->"


def parse_seeds(text: str) -> list[int]:
    """`0-4` or `0,2,3`."""
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def pct(k: int, n: int) -> str:
    """k/n with a percentage, or a dash when there is nothing to count."""
    return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "-"


def commit() -> str:
    """The short commit of the tree, with `+` when it has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(rows: dict, seeds: list[int]) -> str:
    """The Markdown rates table: one row per class and a total."""
    head = ("| class | false stmts | false accepts | refuted (of false) | true stmts | false rejects "
            "| established (of true) | unknown (all) |\n|---|---|---|---|---|---|---|---|")
    lines = [head]
    total = defaultdict(int)
    for cls in sorted(rows):
        r = rows[cls]
        for k, v in r.items():
            total[k] += v
        lines.append(_row(cls, r))
    lines.append(_row("**total**", total))
    return "\n".join(lines)


def _row(name: str, r) -> str:
    return (f"| {name} | {r['false']} | {pct(r['false_accept'], r['false'])} | {pct(r['false_refuted'], r['false'])} "
            f"| {r['true']} | {pct(r['false_reject'], r['true'])} | {pct(r['true_established'], r['true'])} "
            f"| {pct(r['unknown'], r['false'] + r['true'])} |")


def miss_list(misses) -> str:
    """The cases not as demanded, one line each with the seeds and statuses, false accepts first."""
    by_case: dict = defaultdict(list)
    for seed, c, o in misses:
        by_case[c].append((seed, o.status))
    if not by_case:
        return "Every case is as demanded under every seed.\n"
    order = sorted(by_case, key=lambda c: (c.truth, c.file))
    lines = ["Cases not as demanded (seed: status):", ""]
    for c in order:
        what = ("false" if not c.truth else "true") + ", must be " + c.must.replace("_", " ")
        seen = ", ".join(f"{seed}: {st}" for seed, st in by_case[c])
        lines.append(f"* `{c.file}` ({what}): {seen}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """Run the suite under every seed and print the rates."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--write-doc", action="store_true", help="replace the rates table in docs/soundness.md")
    ap.add_argument("--list", action="store_true", help="also list every case that is not as demanded")
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    cases = load_cases()
    rows: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    misses = []
    started = time.monotonic()
    for seed in seeds:
        t0 = time.monotonic()
        outcomes = run_cases(cases, seed=seed, timeout=args.timeout, jobs=args.jobs)
        print(f"seed {seed}: {time.monotonic() - t0:.1f} s", file=sys.stderr)
        for c, o in outcomes.items():
            r = rows[c.cls]
            r["true" if c.truth else "false"] += 1
            b = kind(c, o)
            r[b] += b != "ok"
            if c.truth and o.status in ("proved", "numeric"):
                r["true_established"] += 1
            if not c.truth and o.status == "refuted":
                r["false_refuted"] += 1
            if not meets(c, o):
                misses.append((seed, c, o))
    elapsed = time.monotonic() - started
    stamp = (f"Seeds {seeds[0]}..{seeds[-1]}, timeout {args.timeout:g} s, {args.jobs} jobs; "
             f"{len(cases)} cases x {len(seeds)} seeds; run {datetime.date.today().isoformat()} at commit "
             f"{commit()} ({elapsed:.0f} s).")
    out = f"{stamp}\n\n{table(rows, seeds)}\n\n{miss_list(misses)}"
    print(out)
    if args.list:
        for seed, c, o in misses:
            print(f"seed {seed}  {c.file}  must {c.must}  got {o.status}: {o.message[:160]}")
    if args.write_doc:
        text = DOC.read_text(encoding="utf-8")
        a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
        DOC.write_text(text[:a] + "\n" + out + text[b:], encoding="utf-8")
        print(f"wrote the table into {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
