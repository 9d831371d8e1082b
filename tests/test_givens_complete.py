"""Givens are solved only where the solution list is complete (SymPy's solvers give generic roots)."""

from __future__ import annotations

import sympy as sp

from proofcheck.kernel.numeric import complete_solutions
from proofcheck.kernel.terms import SymbolInfo
from testlib import derivation, statuses, verify

x, y, z = sp.symbols("x y z", real=True)


def _real(s):
    return SymbolInfo(s.name, "scalar", s, "real")


def test_periodic_solutions_get_an_integer_parameter():
    sols = complete_solutions(sp.sin(x), x, _real(x))
    assert len(sols) == 2 and all(any(n.is_integer for n in s.free_symbols) for s in sols)


def test_a_coefficient_that_may_vanish_makes_the_list_incomplete():
    assert complete_solutions(x * y - x * z, y, _real(y)) is None  # every y solves it when x = 0
    assert complete_solutions(x * y - 1, x, _real(x)) == [1 / y]  # y = 0 has no solution at all
    assert sorted(complete_solutions(x ** 2 - 4, x, _real(x))) == [-2, 2]
    assert complete_solutions(sp.cos(x) - y, x, _real(x)) is None  # a ConditionSet


def test_a_given_with_infinitely_many_solutions_is_not_reduced_to_two():
    doc = verify(derivation("x: real", "cos(x) = 1", "cos(x)\n  = 1", extra="given:\n  - sin(x) = 0\n"))
    assert statuses(doc) == ["refuted"]


def test_cancelling_a_factor_that_may_be_zero_is_not_proved_from_the_givens():
    doc = verify(derivation("x, y, z: real", "y = z", "y\n  = z", extra="given:\n  - x y = x z\n"))
    assert statuses(doc)[0] not in ("proved", "numeric")


def test_a_complete_given_still_proves():
    doc = verify(derivation("x, y: real", "x y = 1", "x y\n  = 1", extra="given:\n  - x = 1 / y\n"))
    assert statuses(doc) == ["proved"]
