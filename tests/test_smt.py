"""The decision procedure for the real-algebraic fragment (kernel/smt.py) and its place in the kernel."""

from __future__ import annotations

import random

import pytest
import sympy as sp
from testlib import FAST, derivation, verify

from proofcheck.cli import check_report
from proofcheck.kernel import smt
from proofcheck.kernel.check import discharge
from proofcheck.kernel.equivalence import Clock
from proofcheck.kernel.terms import Context, Implication, Relation, SymbolInfo
from proofcheck.model import Declaration, Span, Text
from proofcheck.parse import build_scope, parse_expression_or_relation
from proofcheck.verify import Options

BUDGET = 2.0  # seconds of solver time per decision in these tests


def _scope(symbols: dict[str, str]):
    path = "<test>"
    decls = [Declaration(tuple(n.strip() for n in names.split(",")), Text(typ, path, ((1, 1),)), Span(path, 1, 1))
             for names, typ in symbols.items()]
    return build_scope(decls, [])


def _rel(text: str, scope) -> Relation:
    rel = parse_expression_or_relation(Text(text, "<test>", ((1, 1),)), scope)
    assert isinstance(rel, Relation), text
    return rel


def _problem(symbols: dict[str, str], goal: str, hypotheses=(), seconds: float = BUDGET):
    """smt.decide on `goal` ("A <==> B", "A ==> B" or a relation) with declarations and hypotheses."""
    scope = _scope(symbols)
    for arrow, both in (("<==>", True), ("==>", False)):
        if arrow in goal:
            premise, conclusion = goal.split(arrow)
            g = Implication(_rel(premise, scope), _rel(conclusion, scope), both)
            break
    else:
        g = _rel(goal, scope)
    hyps = [_rel(h, scope) for h in hypotheses]
    return smt.decide(g, hyps, tuple(scope.symbols.values()), seconds), scope


def _decide(symbols, goal, hypotheses=(), seconds: float = BUDGET) -> smt.Decision:
    return _problem(symbols, goal, hypotheses, seconds)[0]


def _value(decision: smt.Decision, name: str):
    (v,) = [v for s, v in decision.model.items() if s.name == name]
    return v


REAL = {"x, y, z, a, b": "real"}


# -- smt.decide directly ---------------------------------------------------------------------


def test_decide_refutes_with_the_single_failure_point():
    d = _decide(REAL, "x^2 > 0")
    assert d.status == "invalid" and _value(d, "x") == 0


def test_decide_refutes_outside_any_sampling_box():
    d = _decide(REAL, "x^2 <= 10")
    assert d.status == "invalid" and _value(d, "x") ** 2 > 10


def test_decide_cancelling_a_factor_that_may_vanish():
    d = _decide(REAL, "x y = x z <==> y = z")
    assert d.status == "invalid"
    assert _value(d, "x") == 0 and _value(d, "y") != _value(d, "z")


def test_decide_equivalence_with_two_roots():
    d = _decide(REAL, "x^2 = 4 <==> x = 2")
    assert d.status == "invalid" and _value(d, "x") == -2
    assert _decide(REAL, "x^2 = 4 <==> x = 2", ["x > 0"]).status == "valid"
    assert _decide({"x": "positive"}, "x^2 = 4 <==> x = 2").status == "valid"


def test_decide_interval_bound_near_the_end():
    d = _decide({"p": "interval(0, 1)"}, "p (1-p) >= 1/2000")
    assert d.status == "invalid"
    p = _value(d, "p")
    assert 0 < p < 1 and p * (1 - p) < sp.Rational(1, 2000)


def test_decide_strict_and_weak_are_different_statements():
    d = _decide(REAL, "x <= 1 <==> x < 1")
    assert d.status == "invalid" and _value(d, "x") == 1


def test_decide_square_root_and_abs():
    d = _decide(REAL, "sqrt(x^2) = x")
    assert d.status == "invalid" and _value(d, "x") < 0
    d = _decide({"x": "nonzero"}, "abs(x) / x = 1")
    assert d.status == "invalid" and _value(d, "x") < 0
    assert _decide(REAL, "abs(x y) = abs(x) abs(y)").status == "valid"
    assert _decide(REAL, "sqrt(x^2) = abs(x)").status == "valid"


def test_decide_proves_classical_inequalities():
    assert _decide({"a, b": "nonnegative"}, "(a + b)/2 >= sqrt(a b)").status == "valid"
    cs = "(a1 b1 + a2 b2 + a3 b3)^2 <= (a1^2 + a2^2 + a3^2) (b1^2 + b2^2 + b3^2)"
    assert _decide({"a1, a2, a3, b1, b2, b3": "real"}, cs).status == "valid"
    assert _decide(REAL, "x^2 - 2 x + 1 >= 0").status == "valid"
    assert _decide(REAL, "max(a, b) >= a").status == "valid"
    assert _decide(REAL, "min(a, b) <= (a + b)/2").status == "valid"


def test_decide_without_the_nonnegativity_amgm_fails():
    # a = b = -1: the right side is sqrt(1) = 1 > -1
    d = _decide(REAL, "(a + b)/2 >= sqrt(a b)")
    assert d.status == "invalid"
    a, b = _value(d, "a"), _value(d, "b")
    assert a * b >= 0 and (a + b) / 2 < sp.sqrt(a * b)


def test_decide_integers():
    assert _decide({"n": "integer"}, "n^2 >= n").status == "valid"
    d = _decide(REAL, "x^2 >= x")
    assert d.status == "invalid" and 0 < _value(d, "x") < 1
    d = _decide({"n": "integer"}, "n^2 - 5 n + 6 = 0 ==> n = 2")
    assert d.status == "invalid" and _value(d, "n") == 3


def test_decide_definedness_one_side_undefined_is_not_valid():
    # x < 0: the left side is not real, the right side is 0
    assert _decide(REAL, "sqrt(x) >= 0").status == "invalid"
    assert _decide({"x": "nonnegative"}, "sqrt(x) >= 0").status == "valid"
    # the cube root of a negative number is not real either (SymPy's principal root)
    assert _decide(REAL, "x^(1/3) >= 0").status == "invalid"
    # a premise holds only where it is defined: 1/x = 1/y says x, y are nonzero and equal
    assert _decide(REAL, "1/x = 1/y ==> x = y").status == "valid"
    assert _decide(REAL, "x = y ==> 1/x = 1/y").status == "invalid"


def test_decide_model_prefers_points_where_both_sides_are_defined():
    d = _decide(REAL, "sqrt(x) - 1 <= x / 2")
    assert d.status == "invalid" and _value(d, "x") < 0  # only where the left side is undefined
    d = _decide(REAL, "1/x < x")
    assert d.status == "invalid" and _value(d, "x") != 0


def test_decide_prefers_a_strict_failure_of_a_strict_relation():
    # a point where the sides are equal refutes `<` too, but one where they differ is clearer
    d = _decide(REAL, "x < 1 ==> x < 1/2")
    assert d.status == "invalid" and sp.Rational(1, 2) < _value(d, "x") < 1
    d = _decide(REAL, "x + 1 > 2 x")
    assert d.status == "invalid" and _value(d, "x") > 1
    d = _decide(REAL, "x^2 + 1 > 2 x")  # fails only where the sides are equal
    assert d.status == "invalid" and _value(d, "x") == 1


def test_decide_piecewise_and_sign():
    x = sp.Symbol("x", real=True)
    info = (SymbolInfo("x", "scalar", x, "real"),)
    pw = sp.Piecewise((x, x >= 0), (-x, True))
    assert smt.decide(Relation(pw, "=", sp.Abs(x)), [], info, BUDGET).status == "valid"
    assert smt.decide(Relation(sp.sign(x) * sp.Abs(x), "=", x), [], info, BUDGET).status == "valid"
    partial = sp.Piecewise((x, x > 0))  # undefined for x <= 0, where the right side is defined
    assert smt.decide(Relation(partial, ">=", sp.Integer(0)), [], info, BUDGET).status == "invalid"
    d = smt.decide(Relation(sp.floor(x), "<=", x), [], info, BUDGET)
    assert d.status == "valid"


def test_decide_outside_the_fragment_is_unknown_without_the_solver(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("z3 was called")
    monkeypatch.setattr(smt.z3, "Solver", boom)
    monkeypatch.setattr(smt.z3, "SolverFor", boom)
    for goal in ("sin(x) <= 1", "sin(x)^2 + cos(x)^2 = 1", "x^y = 1", "x^100 >= 0", "tanh(x) < 1"):
        d = _decide(REAL, goal)
        assert d.status == "unknown" and d.reason and d.model is None, goal
    assert _decide({"w": "complex"}, "w^2 = w w").status == "unknown"


def test_decide_exp_and_log_as_unknowns_with_true_facts_prove_but_never_refute():
    assert _decide(REAL, "exp(x) >= 1 + x").status == "valid"
    assert _decide(REAL, "x = -1/(1 + exp(-y)) ==> x (x + 1) < 0").status == "valid"
    assert _decide({"x": "positive"}, "log(x) < log(x + 1)").status == "valid"
    assert _decide(REAL, "pi > 3").status == "valid"
    # false, but a model of the abstraction is no counterexample: unknown
    d = _decide(REAL, "exp(x) > 1")
    assert d.status == "unknown" and d.model is None
    # log(x) is undefined for x <= 0 where the right side is defined
    assert _decide(REAL, "log(x^2) = 2 log(x)").status == "unknown"
    assert _decide({"x": "positive"}, "exp(log(x)) > x").status != "valid"


def test_decide_a_connected_given_outside_the_fragment_gives_no_counterexample():
    d = _decide(REAL, "x > 0", ["sin(y) = x + y"])
    assert d.status == "unknown"
    # a given about other names is irrelevant
    d = _decide(REAL, "x > 0", ["sin(y) = z"])
    assert d.status == "invalid"


def test_decide_contradictory_givens_prove_nothing():
    d = _decide(REAL, "x > 0", ["x > 1", "x < 0"])
    assert d.status == "unknown" and "no point" in d.reason


def test_decide_hard_instance_stays_within_its_budget():
    names = ", ".join(f"x{i}" for i in range(6))
    p = " + ".join(f"(x{i}^2 - x{(i + 1) % 6})^2" for i in range(6)) + " + x0 x1 x2 x3 x4 x5"
    d = _decide({names: "real"}, f"{p} >= -1/1000", seconds=0.3)
    # the solver's deterministic resource limit (or its timeout) ended the search
    assert d.status == "unknown" and "gave up" in d.reason


def test_decide_irrational_model_is_exact():
    d = _decide(REAL, "x^2 = 2 ==> x = 1")
    assert d.status == "invalid"
    assert _value(d, "x") ** 2 == 2


def test_decide_is_deterministic():
    runs = {str(_decide(REAL, "x y = x z <==> y = z").model) for _ in range(3)}
    assert len(runs) == 1


def test_exact_holds_and_domain():
    x = sp.Symbol("x", real=True)
    assert smt.exact_holds(Relation(x ** 2, ">", sp.Integer(0)), {x: sp.Integer(0)}) is False
    assert smt.exact_holds(Relation(1 / x, ">", sp.Integer(0)), {x: sp.Integer(0)}) is None
    assert smt.exact_holds(Relation(sp.exp(x), ">", sp.Integer(0)), {x: sp.Integer(0)}) is None
    p = sp.Symbol("p", positive=True)
    info = (SymbolInfo("p", "scalar", p, "interval", low=sp.Integer(0), high=sp.Integer(1)),)
    assert smt.in_domain({p: sp.Rational(1, 2)}, info)
    assert not smt.in_domain({p: sp.Integer(1)}, info)


# -- in the kernel ---------------------------------------------------------------------------


def _discharge(ob, symbols: tuple, givens=()):
    context = Context(symbols=symbols, givens=tuple(givens), timeout=FAST)
    return discharge(ob, context, Clock(FAST), random.Random(0))


def test_kernel_records_the_stage():
    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    info = (SymbolInfo("x", "scalar", x, "real"), SymbolInfo("y", "scalar", y, "real"))
    proved = _discharge(Relation(sp.Max(x, y), ">=", (x + y) / 2), info)
    assert proved.status.value == "proved" and proved.details["stage"] == "smt"
    refuted = _discharge(Relation(x ** 2, ">", sp.Integer(0)), info)
    assert refuted.status.value == "refuted" and refuted.details["stage"] == "smt"
    assert refuted.counterexample == {"x": "0", "lhs": "0", "rhs": "0"}


def test_kernel_confirms_the_given_at_the_counterexample():
    a, b = sp.Symbol("a", real=True), sp.Symbol("b", real=True)
    info = (SymbolInfo("a", "scalar", a, "real"), SymbolInfo("b", "scalar", b, "real"))
    circle = ("circle", Relation(a ** 2 + b ** 2, "=", sp.Integer(1)))
    result = _discharge(Relation(a + b, "<=", sp.Integer(1)), info, [circle])
    assert result.status.value == "refuted"
    va, vb = (_coordinate(result.counterexample[n]) for n in ("a", "b"))
    assert abs(va ** 2 + vb ** 2 - 1) < 1e-15 and va + vb > 1
    assert _discharge(Relation(a + b, "<=", sp.sqrt(2)), info, [circle]).status.value == "proved"


def _coordinate(text: str):
    """A reported coordinate: a decimal, or a closed form `[-]sqrt(k)[/m]` (solver models are algebraic)."""
    import re
    m = re.fullmatch(r"(-?)sqrt\((\d+)\)(?:/(\d+))?", text)
    if m:
        return (-1 if m.group(1) else 1) * sp.sqrt(int(m.group(2))).evalf(30) / int(m.group(3) or 1)
    return sp.Float(text, 30)


def _one_step(lhs: str, rhs: str, symbols: str = "x, y, z, a, b: real"):
    report, auto = check_report(lhs, rhs, symbols, Options(timeout=FAST))
    assert report.errors == [] and auto == []
    (part,) = report.parts
    (step,) = part.steps
    return step.result


@pytest.mark.parametrize("lhs, rhs, symbols, point", [
    ("x^2", "> 0", "x: real", {"x": "0"}),
    ("x^2", "<= 10", "x: real", None),
    ("x y = x z", "<==> y = z", "x, y, z: real", {"x": "0"}),
    ("x^2 = 4", "<==> x = 2", "x: real", {"x": "-2"}),
    ("p (1-p)", ">= 1/2000", "p: interval(0, 1)", None),
    ("x <= 1", "<==> x < 1", "x: real", {"x": "1"}),
    ("sqrt(x^2)", "= x", "x: real", None),
    ("abs(x) / x", "= 1", "x: nonzero", None),
])
def test_refuted_through_the_cli(lhs, rhs, symbols, point):
    result = _one_step(lhs, rhs, symbols)
    assert result.status.value == "refuted", result.message
    ce = result.counterexample
    for k, v in (point or {}).items():
        assert ce[k] == v
    if "x" in ce and lhs in ("x^2", "sqrt(x^2)", "abs(x) / x"):
        x = sp.Rational(ce["x"])
        assert (x ** 2 > 10) if rhs == "<= 10" else (x <= 0)
    if "p" in ce:
        p = sp.Rational(ce["p"])
        assert 0 < p < 1 and p * (1 - p) < sp.Rational(1, 2000)


@pytest.mark.parametrize("lhs, rhs, symbols", [
    ("x^2 = 4", "<==> x = 2", "x: positive"),
    ("(a + b)/2", ">= sqrt(a b)", "a, b: nonnegative"),
    ("(a1 b1 + a2 b2 + a3 b3)^2", "<= (a1^2 + a2^2 + a3^2) (b1^2 + b2^2 + b3^2)", "a1, a2, a3, b1, b2, b3: real"),
    ("x^2 - 2 x + 1", ">= 0", "x: real"),
    ("abs(x y)", "= abs(x) abs(y)", "x, y: real"),
    ("max(a, b)", ">= a", "a, b: real"),
])
def test_proved_through_the_cli(lhs, rhs, symbols):
    result = _one_step(lhs, rhs, symbols)
    assert result.status.value == "proved", result.message


def test_equivalence_under_a_given_in_a_derivation():
    doc = verify(derivation("x: real", "x^2 = 4 <==> x = 2", """
        x^2 = 4
          <==> x = 2
        """, extra="given:\n  pos: x > 0\n"))
    (s,) = doc["parts"][0]["steps"]
    assert s["status"] == "proved", s["message"]
    doc = verify(derivation("x: real", "x^2 = 4 <==> x = 2", """
        x^2 = 4
          <==> x = 2
        """))
    (s,) = doc["parts"][0]["steps"]
    assert s["status"] == "refuted" and s["counterexample"]["x"] == "-2"


def test_undefined_side_is_never_proved():
    # the left side is not real for x < 0: the solver's point there cannot be confirmed as a
    # mismatch of values, so another stage decides, but never `proved`
    assert _one_step("sqrt(x) - 1", "<= x / 2", "x: real").status.value != "proved"
    assert _one_step("sqrt(x) - 1", "<= x / 2", "x: nonnegative").status.value == "proved"
