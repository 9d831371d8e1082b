"""The numeric stage must not accept false statements (issue 14, classes 1-5 and 10).

Each false statement below was accepted as `numeric` before: tiny values compared equal, points
came from small boxes, single failure points were never drawn, strict relations got slack, sides
that are not real were skipped, random stand-in functions were too special. Each must now be
refuted (with the real counterexample where it is one point), and true statements of the same
shapes must never be refuted. Polynomial cases may be decided by the SMT stage before the numeric
one runs, so most cases here are transcendental, and some call numeric.search directly."""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp

from proofcheck.cli import check_report
from proofcheck.kernel import mpeval, numeric
from proofcheck.kernel.terms import Context, SymbolInfo
from proofcheck.verify import Options

TIMEOUT = 5


def result(lhs: str, rhs: str, symbols: str = "", seed: int = 0):
    """The verdict of `proofcheck check LHS RHS --symbols SYMBOLS`."""
    report, _ = check_report(lhs, rhs, symbols, Options(timeout=TIMEOUT, seed=seed))
    assert not report.errors, report.errors
    return report.parts[0].steps[0].result


FALSE = [
    # 1. tiny values are values
    ("exp(-200)", "0", ""),
    ("x + exp(-300)", "x", "x: real"),
    ("f(x) + exp(-250)", "f(x)", "f: function"),
    ("sin(x) + exp(-150)", "<= sin(x)", "x: real"),
    ("exp(-x^2) exp(-400)", "0", "x: real"),
    # 2. false only outside the old boxes
    ("exp(x)", "<= 10^6", "x: real"),
    ("log(exp(w))", "w", "w: complex"),
    ("acos(cos(x))", "abs(x)", "x: real"),
    ("sin(pi p)", ">= 1/1000", "p: interval(0, 1)"),
    ("log(x)", "<= 11/10", "x: real", "x > 2"),
    ("det(A)", ">= 1/100", "n: positive integer; A: matrix(n, n) spd"),
    ("exp(-x)", ">= 10^-9", "x: positive"),
    ("atan(x)", "<= 3/2", "x: real"),
    ("cos(1/x)", "<= 99/100", "x: positive", None, "x0"),
    # 3. single failure points
    ("exp(x)", "> 1 + x", "x: real"),
    ("sin(x)^2", "> 0", "x: real"),
    ("cosh(x)", "> 1", "x: real"),
    ("exp(x) <= 1", "<==> exp(x) < 1", "x: real"),
    ("x <= 1", "<==> x < 1", "x: real"),
    # 4. strict relations get no slack
    ("exp(abs(x))", "> 1", "x: real"),
    ("sin(x) + cos(x)^2", "< 1 + sin(x)", "x: real"),
    # 5. a side that is not real
    ("log(x^2)", "2 log(x)", "x: real"),
    ("sqrt(x)", ">= 0", "x: real"),
    ("log(x) + log(y)", "log(x y)", "x, y: real"),
    # 10. richer random stand-ins
    ("f(x) + f(-x)", "2 f(0)", "f: increasing function"),
    ("f((x + y)/2)", "<= (f(x) + f(y))/2", "f: increasing function"),
    ("f((x + y)/2)", ">= (f(x) + f(y))/2", "f: increasing function"),
    ("p(x, y) p(0, 0)", "p(x, 0) p(0, y)", "p: density(2)"),
    ("f(x, y) + f(0, 0)", "f(x, 0) + f(0, y)", "f: function(2)"),
]

# The counterexample of a statement that fails at one point is that point.
POINT = {
    ("exp(x)", "> 1 + x"): {"x": "0"},
    ("sin(x)^2", "> 0"): {"x": "0"},
    ("cosh(x)", "> 1"): {"x": "0"},
    ("exp(x) <= 1", "<==> exp(x) < 1"): {"x": "0"},
    ("x <= 1", "<==> x < 1"): {"x": "1"},
    ("exp(abs(x))", "> 1"): {"x": "0"},
}

TRUE = [
    ("log(1 + (x+1)^2 - x^2 - 2 x - 1)", "0", "x: real"),
    ("exp(-200)", "> 0", ""),
    ("exp(log(x))", "x", "x: positive"),
    ("exp(log(w))", "w", "w: complex"),
    ("acos(cos(x))", "abs(x)", "x: interval(-pi, pi)"),
    ("sin(pi p)", "> 0", "p: interval(0, 1)"),
    ("exp(-x)", "> 0", "x: positive"),
    ("atan(x)", "< 2", "x: real"),
    ("exp(x)", ">= 1 + x", "x: real"),
    ("cosh(x)", ">= 1", "x: real"),
    ("exp(abs(x))", ">= 1", "x: real"),
    ("x/x", "1", "x: real"),
    ("sin(x)/x", "<= 1", "x: real"),
    ("sqrt(x)^2", "x", "x: real"),
    ("sqrt(x^2)", "abs(x)", "x: real"),
    ("log(x) + log(y)", "log(x y)", "x, y: positive"),
    ("log(x^2)", "2 log(abs(x))", "x: nonzero"),
    ("log(exp(x) + exp(y))", "> max(x, y)", "x, y: real"),
    ("det(A)", "> 0", "n: positive integer; A: matrix(n, n) spd"),
    ("f(x)", "<= f(x + exp(y))", "f: increasing function"),
    ("f(x) + f(y)", "f(y) + f(x)", "f: increasing function"),
    ("p(x, y)", "> 0", "p: density(2)"),
    ("log(x)", "<= x - 1", "x: positive"),
    ("sin(x)^2 + cos(x)^2", "1", "x: real"),
    ("tanh(x)", "< 1", "x: real"),
]


def _case_id(case) -> str:
    return f"{case[0]} {case[1]}"


def _symbols_and_givens(case):
    symbols = case[2]
    given = case[3] if len(case) > 3 else None
    return symbols, given


@pytest.mark.parametrize("case", FALSE, ids=_case_id)
def test_false_statement_is_refuted(case):
    symbols, given = _symbols_and_givens(case)
    if given:
        r = _with_given(case[0], case[1], symbols, given)
    else:
        r = result(case[0], case[1], symbols)
    assert r.status.value == "refuted", (r.status, r.message)
    expected = POINT.get((case[0], case[1]))
    if expected:
        shown = {k: v for k, v in r.counterexample.items() if k not in ("lhs", "rhs")}
        assert shown == expected, r.message


@pytest.mark.parametrize("case", TRUE, ids=_case_id)
def test_true_statement_is_not_refuted(case):
    r = result(case[0], case[1], case[2])
    assert r.status.value in ("proved", "numeric"), (r.status, r.message)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_false_statements_refuted_under_other_seeds(seed):
    for lhs, rhs, symbols in [("log(exp(w))", "w", "w: complex"), ("exp(x)", "> 1 + x", "x: real"),
                              ("f(x) + f(-x)", "2 f(0)", "f: increasing function"),
                              ("sin(pi p)", ">= 1/1000", "p: interval(0, 1)")]:
        r = result(lhs, rhs, symbols, seed=seed)
        assert r.status.value == "refuted", (lhs, rhs, seed, r.message)


def _with_given(lhs, rhs, symbols, given):
    from testlib import derivation, verify
    sym = "\n".join(s.strip() for s in symbols.split(";"))
    doc = verify(derivation(sym, f"{lhs} {rhs}", f"""
        {lhs}
          {rhs}
        """, extra=f"given:\n  g: {given}\n"), timeout=TIMEOUT)
    step = doc["parts"][0]["steps"][0]

    class R:  # the fields the assertions read
        pass
    r = R()
    r.status = type("S", (), {"value": step["status"]})()
    r.message, r.counterexample = step["message"], step["counterexample"]
    return r


def test_non_real_side_is_said_plainly():
    r = result("log(x^2)", "2 log(x)", "x: real")
    assert r.status.value == "refuted"
    assert "the right side is not real" in r.message, r.message


def test_numeric_message_says_what_was_searched():
    r = result("exp(x)", ">= 1 + x", "x: real")
    assert r.status.value in ("proved", "numeric")
    if r.status.value == "numeric":
        assert "random points across scales" in r.message and "local searches" in r.message, r.message
        assert "special points" in r.message, r.message


# -------------------------------------------------------------------------------------------------
# The numeric stage alone (no symbolic or SMT stage in front of it)


def _context(**declared) -> tuple[Context, dict]:
    infos, names = [], {}
    for name, domain in declared.items():
        if isinstance(domain, tuple):  # an interval
            sym = sp.Symbol(name, positive=True) if domain[0] >= 0 else sp.Symbol(name, real=True)
            infos.append(SymbolInfo(name, "scalar", sym, "interval", low=sp.sympify(domain[0]),
                                    high=sp.sympify(domain[1])))
        else:
            kw = {"real": dict(real=True), "positive": dict(positive=True), "posint": dict(integer=True, positive=True),
                  "integer": dict(integer=True), "complex": dict(complex=True)}[domain]
            sym = sp.Symbol(name, **kw)
            infos.append(SymbolInfo(name, "scalar", sym, domain))
        names[name] = sym
    return Context(symbols=tuple(infos)), names


def _search(lhs, op, rhs, context, want=40, local=12, seed=0):
    sampler = numeric.sampler_for(context)
    return numeric.search(lhs, op, rhs, sampler, random.Random(seed), want, 300, local=local)


def test_search_finds_a_root_exactly():
    ctx, s = _context(x="real")
    x = s["x"]
    found = _search((3 * x - 1) ** 2, ">", sp.Integer(0), ctx)
    assert found.counterexample and found.counterexample["x"] == "1/3", found.counterexample


def test_search_finds_polynomial_failing_past_four():
    ctx, s = _context(n="posint")
    n = s["n"]
    found = _search((n - 1) * (n - 2) * (n - 3) * (n - 4), "=", sp.Integer(0), ctx, want=8, local=0)
    assert found.counterexample, found
    assert int(found.counterexample["n"]) >= 5


def test_search_finds_bound_failing_near_an_interval_end():
    ctx, s = _context(p=(0, 1))
    p = s["p"]
    found = _search(p * (1 - p), ">=", sp.Rational(1, 2000), ctx)
    assert found.counterexample, found
    v = sp.Rational(found.counterexample["p"])
    assert v * (1 - v) < sp.Rational(1, 2000)


def test_search_finds_bound_failing_only_for_large_values():
    ctx, s = _context(x="real")
    x = s["x"]
    found = _search(x ** 2, "<=", sp.Integer(10), ctx)
    assert found.counterexample and sp.Rational(found.counterexample["x"]) ** 2 > 10


def test_local_search_finds_a_narrow_failure():
    # cosh(x - 7) >= 1 + 10^-10 fails only within 1.5e-5 of x = 7: no random point lands there, a
    # local minimisation of the slack does.
    ctx, s = _context(x="real")
    x = s["x"]
    found = _search(sp.cosh(x - 7), ">=", 1 + sp.Rational(1, 10 ** 10), ctx)
    assert found.counterexample, found
    assert abs(float(sp.Rational(found.counterexample["x"])) - 7) < 2e-5


def test_search_counts_what_it_searched():
    ctx, s = _context(x="real", y="positive")
    x, y = s["x"], s["y"]
    found = _search(sp.exp(x) + y, ">", x + y, ctx)
    assert not found.counterexample
    assert found.valid == 40 and found.special > 0 and found.local == 12
    text = found.describe()
    assert "40 random points across scales" in text and "12 local searches" in text


def test_cancellation_noise_is_not_a_difference():
    ctx, s = _context(x="real")
    x = s["x"]
    lhs = sp.log(sp.Add(1, (x + 1) ** 2, -x ** 2, -2 * x, -1, evaluate=False), evaluate=False)
    found = _search(lhs, "=", sp.Integer(0), ctx, want=8, local=0)
    assert not found.counterexample, found.counterexample
    found = _search(sp.sqrt(sp.Add((x + 1) ** 2, -x ** 2, -2 * x, -1, evaluate=False)), "<=",
                    sp.Integer(0), ctx, want=8, local=0)
    assert not found.counterexample, found.counterexample


def test_tiny_values_are_compared_relatively():
    # Both sides are below 10^-130: an absolute floor made them equal.
    ctx, s = _context(x="positive")
    x = s["x"]
    found = _search(x * sp.exp(-300) * (1 + sp.exp(-60)), "=", x * sp.exp(-300), ctx, want=8, local=0)
    assert found.counterexample, found
    found = _search(x * sp.exp(-300) * (1 + sp.exp(-60)), ">", x * sp.exp(-300), ctx, want=8, local=0)
    assert not found.counterexample, found


def test_strict_relation_with_equal_sides_fails():
    ctx, s = _context(x="real")
    x = s["x"]
    found = _search(sp.sin(x) ** 2, ">", sp.Integer(0), ctx)
    assert found.counterexample and found.counterexample["x"] == "0"


def test_draws_reach_far_and_near():
    ctx, s = _context(x="real", n="posint", w="complex", p=(0, 1))
    sampler = numeric.sampler_for(ctx)
    rng = random.Random(7)
    points = [sampler.draw(rng) for _ in range(200)]
    xs = [abs(pt.values[s["x"]]) for pt in points]
    ns = [pt.values[s["n"]] for pt in points]
    ws = [pt.values[s["w"]] for pt in points]
    ps = [pt.values[s["p"]] for pt in points]
    assert max(xs) > 10 ** 6 and min(xs) < sp.Rational(1, 10 ** 6)
    assert max(ns) > 8 and all(n >= 1 for n in ns)
    assert max(abs(sp.im(w)) for w in ws) > 4
    assert min(ps) < sp.Rational(1, 10 ** 4) and max(ps) > 1 - sp.Rational(1, 10 ** 4)
    assert all(0 < v < 1 for v in ps)
    assert all(isinstance(v, sp.Rational) for v in xs + ps)


def test_random_increasing_functions_are_increasing_and_varied():
    info = SymbolInfo("f", "function", sp.Function("f", real=True), "real", flags=frozenset({"increasing"}))
    rng = random.Random(3)
    odd_around_a_point = 0
    for _ in range(30):
        lam = numeric.draw_function(info, rng)
        xs = [sp.Rational(k, 4) for k in range(-40, 41)]
        ys = [lam(x).evalf(30) for x in xs]
        assert all(a < b for a, b in zip(ys, ys[1:])), lam
        d = sp.diff(lam.expr, lam.variables[0], 2)
        if all(abs(d.subs(lam.variables[0], t).evalf(20) + d.subs(lam.variables[0], -t).evalf(20)) < 1e-12
               for t in (1, 2, 3)):
            odd_around_a_point += 1
    assert odd_around_a_point < 30


def test_random_densities_are_normalised_and_not_products():
    info = SymbolInfo("p", "density", sp.Function("p", positive=True), "positive", arity=2)
    rng = random.Random(5)
    lam = numeric.draw_function(info, rng)
    x0, x1 = lam.variables
    body = mpeval.compile_expr(lam.expr, mpeval.Errors())
    with mpmath.workdps(20):
        f = lambda a, b: body({x0: mpmath.mpf(a), x1: mpmath.mpf(b)})  # noqa: E731
        # The trapezoidal rule is exact to many digits for a smooth density decaying this fast.
        h = mpmath.mpf(3) / 20
        total = h * h * sum(f(i * h, j * h) for i in range(-80, 81) for j in range(-80, 81))
        assert abs(total - 1) < 1e-6
        # a product of marginals has p(x, y) p(0, 0) = p(x, 0) p(0, y)
        assert abs(f(1, 1) * f(0, 0) - f(1, 0) * f(0, 1)) > 1e-6


def test_finite_sums_written_out_have_doits_value():
    # instantiate writes out sums over entries term by term (doit first looks for a closed form, a second a sum
    # with a random function inside); the value must be doit's, also for nested sums, products and SymPy's
    # reversed ranges (Karr's convention), which are left to doit
    import sympy as sp
    from proofcheck.kernel.numeric import _terms_written_out
    i, m = sp.symbols("i m", integer=True)
    f = sp.Lambda(sp.Symbol("t"), sp.exp(-sp.Symbol("t") ** 2) + sp.sin(3 * sp.Symbol("t")))
    cases = [sp.Sum(f(i) * m, (m, 1, 3), (i, 2, 5)), sp.Product(1 + f(i), (i, 1, 4)), sp.Sum(i ** 2, (i, 5, 2)),
             sp.Sum(sp.Sum(i * m, (m, 1, i)), (i, 1, 4)), sp.Sum(f(i), (i, 3, 3))]
    for s in cases:
        got = _terms_written_out(s)
        assert not got.has(sp.Sum, sp.Product)
        assert abs(sp.N(got - s.doit(), 30)) < sp.Float("1e-25"), s


@pytest.mark.parametrize("centre,width", [(3, "3/10"), (30, "3/10"), (1000, "1/10"), (-250, "1/1000")])
def test_quadrature_finds_a_narrow_or_distant_bump(centre, width):
    # without a breakpoint at its centre tanh-sinh read N(30, 0.3^2) as 1e-246 with an error estimate as small:
    # a density's far component vanished from every expectation
    x, z = sp.symbols("x z", real=True)
    s = sp.Rational(width)
    bump = sp.exp(-(x - centre) ** 2 / (2 * s ** 2)) / (sp.sqrt(2 * sp.pi) * s)
    mpmath.mp.dps = 30
    assert abs(mpeval.evaluate(sp.Integral(bump, (x, -sp.oo, sp.oo)), {}) - 1) < mpmath.mpf(10) ** -20
    assert abs(mpeval.evaluate(sp.Integral(x * bump, (x, -sp.oo, sp.oo)), {}) - centre) < mpmath.mpf(10) ** -15
    # the centre may move with an outer variable: p(x - z) inside the integral over x
    shifted = bump.subs(x, x - z)
    assert abs(mpeval.evaluate(sp.Integral(shifted, (x, -sp.oo, sp.oo)), {z: mpmath.mpf(40)}) - 1) < mpmath.mpf(10) ** -20


def test_peaked_random_densities_reach_far_and_exceed_one():
    # a density's mean is not bounded by the library's examples, and it can be above 1 where another has its mass
    z = sp.Symbol("z", real=True)
    rng = random.Random(7)
    far = high = 0
    for _ in range(40):
        body = numeric._density([z], rng, peaked=True, decades=4)
        mean = mpeval.evaluate(sp.Integral(z * body, (z, -sp.oo, sp.oo)), {})
        far += int(abs(mean) > 3)
        high += float(body.subs(z, 0)) > 5
    assert far >= 5 and high >= 10


def test_an_infinite_expectation_is_no_number_to_refute_with():
    # E[exp(z^2)] is infinite under Normal(0, 1): E + 1 <= E is oo <= oo, so no counterexample exists; the sides'
    # constant difference refuted it, and a divergent quadrature's value (about 10^(10^90)) counted as a number
    r = result("E[z ~ Normal(0, 1)](exp(z^2)) + 1", "<= E[z ~ Normal(0, 1)](exp(z^2))", "z: real")
    assert r.status.value == "unknown"
