"""Benchmark: grade 1,000 generated submissions of about 8 steps with `proofcheck grade --jobs 2`.

The submissions are made from a key's chain (derivations/vdm.yaml, part kl_weight_snr: a starting
line and 7 steps): about a third are the key's chain as written, the others have one or two lines
changed the way students slip (a sign, an exponent, a dropped factor, a wrong coefficient) or a step
skipped; a few are not readable at all. Prints wall time and steps per second.

    python bench/grade_bench.py [--count 1000] [--jobs 2] [--seed 0] [--spread 9] [--keep DIR]

Identical checks (the same step from the same line) run once, so the figure depends on how many
distinct slips there are: `--spread 999` makes nearly every wrong line unique.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = ROOT / "derivations" / "vdm.yaml"
PART = "kl_weight_snr"

MUTATIONS = [  # (pattern, replacement): one occurrence, chosen at random, is replaced; {k} is 3..--spread
    (r" - ", " + "),  # a sign
    (r" \+ ", " - "),
    (r"\^2", "^3"),  # an exponent
    (r"\^2", ""),  # a dropped square
    (r"(?<![\^\w])2 ", "{k} "),  # a coefficient (not an exponent)
    (r"sigma_s\^2", "sigma_t^2"),  # the wrong symbol
    (r"\(x - x_hat\)", "({k} x - x_hat)"),
]


def key_chain() -> list[str]:
    """The key part's lines as written (the start, then `= ... by rule` lines)."""
    sys.path.insert(0, str(ROOT))
    from proofcheck.read import read_derivation
    part = next(p for p in read_derivation(KEY).parts if p.name == PART)
    return [" ".join(t.text.split()) for t in part.steps]


def mutate(line: str, rng: random.Random, spread: int = 9) -> str:
    """The line with one slip in its formula (the relation and the `by` rule are kept)."""
    head, _, rule = line.partition(" by ")
    options = [(m, pat, rep) for pat, rep in MUTATIONS for m in re.finditer(pat, head[2:])]
    if not options:
        return line
    m, _, rep = rng.choice(options)
    rep = rep.replace("{k}", str(rng.randint(3, spread)))
    body = head[2:]
    body = body[:m.start()] + rep + body[m.end():]
    return head[:2] + body + (f" by {rule}" if rule else "")


def submission(chain: list[str], rng: random.Random, spread: int = 9) -> str:
    """One student's text: the chain, perhaps with slips or a skipped step."""
    lines = list(chain)
    r = rng.random()
    if r < 0.02:
        return "this is not a derivation at all ((("
    if r > 0.35:
        for k in rng.sample(range(1, len(lines)), rng.choice((1, 1, 2))):
            lines[k] = mutate(lines[k], rng, spread)
    if rng.random() < 0.15:  # skip a middle step
        del lines[rng.randrange(2, len(lines) - 1)]
    return f"# part: {PART}\n" + lines[0] + "\n" + "\n".join("  " + line for line in lines[1:]) + "\n"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", help="write the submissions here instead of a temporary directory")
    ap.add_argument("--spread", type=int, default=9,
                    help="largest wrong coefficient; larger means fewer slips shared by students")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    chain = key_chain()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        (folder / "subs").mkdir(parents=True, exist_ok=True)
        for i in range(args.count):
            (folder / "subs" / f"student_{i:04d}.txt").write_text(submission(chain, rng, args.spread), encoding="utf-8")
        out = folder / "grades.json"
        start, cpu = time.monotonic(), _children_cpu()
        command = [sys.executable, "-m", "proofcheck", "grade", str(folder / "subs"), "--key", str(KEY),
                   "--jobs", str(args.jobs), "--timeout", "5", "--format", "json", "--out", str(out)]
        with tempfile.TemporaryDirectory() as cwd:  # a fresh working directory: no verdict cache to reuse
            proc = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
        wall, cpu = time.monotonic() - start, _children_cpu() - cpu
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return 1
        doc = json.loads(out.read_text(encoding="utf-8"))
    subs = doc["submissions"]
    steps = sum(len(s["steps"]) for s in subs)
    statuses: dict[str, int] = {}
    for s in subs:
        for st in s["steps"]:
            statuses[st["status"]] = statuses.get(st["status"], 0) + 1
    summary = doc["summary"]
    print(f"{len(subs)} submissions, {steps} steps ({', '.join(f'{v} {k}' for k, v in sorted(statuses.items()))})")
    print(f"{summary['requested']} checks planned, {summary['tasks']} distinct kernel tasks run with --jobs {args.jobs}")
    print(f"wall time {wall:.1f} s, {steps / wall:.0f} steps/s; mean score {summary['mean_percent']}%")
    # on a shared machine the wall time depends on other load; the CPU time of the run does not
    print(f"CPU time of the grade process and its workers: {cpu:.1f} s; load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
