"""What every check worker would load on first use, loaded once in the process that forks them.

The workers are forked (kernel/budget.py), so what the parent has loaded they share for free,
while what each loads itself costs every worker again: the test-suite forks thousands of them."""

from __future__ import annotations

import importlib

# SymPy imports these on first use: simplify its units, integrate its Risch and manual integrators,
# ask its SAT handlers, solveset its set handlers.
LAZY_MODULES = (
    "sympy.assumptions.lra_satask", "sympy.assumptions.satask", "sympy.assumptions.wrapper",
    "sympy.codegen.ast", "sympy.combinatorics", "sympy.concrete.delta", "sympy.integrals.heurisch",
    "sympy.integrals.manualintegrate", "sympy.integrals.prde", "sympy.integrals.rde",
    "sympy.integrals.risch", "sympy.matrices.expressions.applyfunc",
    "sympy.matrices.expressions.factorizations", "sympy.matrices.expressions.fourier",
    "sympy.physics.units", "sympy.polys.domains.old_fractionfield",
    "sympy.polys.domains.old_polynomialring", "sympy.polys.polymatrix",
    "sympy.sets.handlers.functions", "sympy.sets.handlers.issubset",
    "sympy.tensor.array.expressions", "sympy.tensor.tensor",
)


def warm_up() -> None:
    """Import LAZY_MODULES here, once, instead of in every worker."""
    for name in LAZY_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # another SymPy: its workers import what it needs themselves
            pass
