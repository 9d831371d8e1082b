"""Normal expectations of polynomials: our moment path vs sympy.stats vs plain integrate (issue 3).

For each case, three ways to compute the same expectation:
  (a) ours       - proofcheck.probability.lower: normal_moment (1-d) or Isserlis' theorem (n-d)
  (b) sympy.stats - sympy.stats.E with Normal / MultivariateNormal
  (c) integrate  - sympy.integrate of density times polynomial over the real line (plane)
Each (case, method) runs in its own process with a time limit; SymPy's cache is cleared before every
repetition. Prints one table: median seconds (repetitions) and whether the result equals ours after
simplify. Usage: python bench/probability_bench.py [--timeout 60]"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sympy as sp  # noqa: E402
from sympy.core.cache import clear_cache  # noqa: E402

mu, m1, m2, b = sp.symbols("mu m1 m2 b", real=True)
s, a, c = sp.symbols("s a c", positive=True)
z, x1, x2 = sp.symbols("z x1 x2", real=True)
HALF = sp.Rational(1, 2)

# name -> (mean list, covariance Matrix, polynomial in the variables, variables)
CASES = {
    "1-d: E[z^4 + 3z^2 - z], z ~ N(mu, s^2)": ([mu], sp.Matrix([[s ** 2]]), z ** 4 + 3 * z ** 2 - z, [z]),
    "2-d symbolic: E[x1^2 x2^2 - x1 x2], N((m1, m2), [[a, b], [b, c]])":
        ([m1, m2], sp.Matrix([[a, b], [b, c]]), x1 ** 2 * x2 ** 2 - x1 * x2, [x1, x2]),
    "2-d numbers: E[x1^2 x2^2 - x1 x2], N((1, -1/2), [[2, 1/2], [1/2, 1]])":
        ([sp.Integer(1), -HALF], sp.Matrix([[2, HALF], [HALF, 1]]), x1 ** 2 * x2 ** 2 - x1 * x2, [x1, x2]),
}


def ours(mean, cov, poly, xs):
    """(a) proofcheck's moment path."""
    from proofcheck.probability.heads import Normal
    from proofcheck.probability.lower import expectation, mvnormal_expectation
    if len(xs) == 1:
        return expectation(sp.Lambda(xs[0], poly), Normal(mean[0], cov[0, 0]))
    return mvnormal_expectation(poly, xs, mean, cov)


def stats(mean, cov, poly, xs):
    """(b) sympy.stats.E."""
    from sympy import stats as st
    if len(xs) == 1:
        Z = st.Normal("Z", mean[0], sp.sqrt(cov[0, 0]))
        return st.E(poly.xreplace({xs[0]: Z}))
    X = st.MultivariateNormal("X", mean, cov.tolist())
    return st.E(poly.xreplace({v: X[i] for i, v in enumerate(xs)}))


def integrate(mean, cov, poly, xs):
    """(c) the density times the polynomial, integrated over every variable."""
    v = sp.Matrix(xs) - sp.Matrix(mean)
    k = len(xs)
    density = sp.exp(-(v.T * cov.inv() * v)[0] / 2) / sp.sqrt((2 * sp.pi) ** k * cov.det())
    return sp.integrate(density * poly, *[(x, -sp.oo, sp.oo) for x in xs])


METHODS = {"ours (moments)": ours, "sympy.stats.E": stats, "integrate": integrate}


def _child(case: str, method: str, queue) -> None:
    mean, cov, poly, xs = CASES[case]
    want = ours(mean, cov, poly, xs)
    reps, times, result = (21 if method.startswith("ours") else 3), [], None
    for _ in range(reps):
        clear_cache()
        t0 = time.perf_counter()
        result = METHODS[method](mean, cov, poly, xs)
        times.append(time.perf_counter() - t0)
        if times[-1] > 10:  # slow: one repetition is the measurement
            break
    queue.put(("time", statistics.median(times), len(times)))
    diff = sp.simplify(sp.expand(result - want))
    if diff == 0:
        same = "yes"
    elif not diff.free_symbols and abs(sp.N(diff, 50)) < sp.Float(10) ** -40:
        same = "numerically only (50 digits; simplify leaves erf terms)"
    else:
        same = f"NO: {sp.sstr(result)[:60]}"
    queue.put(("same", same))


def run(case: str, method: str, timeout: float) -> tuple[str, str]:
    """(time column, equality column) for one (case, method), in a fresh process with a time limit."""
    queue = mp.Queue()
    proc = mp.Process(target=_child, args=(case, method, queue), daemon=True)
    proc.start()
    proc.join(timeout)
    got = {}
    while not queue.empty():
        item = queue.get()
        got[item[0]] = item[1:]
    if proc.is_alive():
        proc.terminate()  # our own child, by its handle
        proc.join()
    if "time" not in got:
        return f"> {timeout:.0f} s (timeout)", "-"
    secs, n = got["time"]
    shown = f"{secs * 1000:.2f} ms" if secs < 1 else f"{secs:.2f} s"
    return f"{shown} ({n} rep{'s' if n > 1 else ''})", got.get("same", ("comparison timed out",))[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=60, help="seconds per (case, method), default 60")
    args = ap.parse_args()
    print(f"sympy {sp.__version__}, python {sys.version.split()[0]}, timeout {args.timeout:.0f} s per cell\n")
    print("| case | method | median time | equals ours after simplify |")
    print("|---|---|---|---|")
    for case in CASES:
        for method in METHODS:
            t, same = run(case, method, args.timeout)
            print(f"| {case} | {method} | {t} | {same if not method.startswith('ours') else '(reference)'} |",
                  flush=True)


if __name__ == "__main__":
    main()
