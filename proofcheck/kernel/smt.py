"""A decision procedure for the real-algebraic fragment: z3's nonlinear real arithmetic.

An obligation is `valid` only when (declared types) ∧ (hypotheses) ∧ ¬(goal) is unsatisfiable
under an exact encoding of both sides, including where each side is defined. The translation is
our own walk over the SymPy tree; anything it does not know is `unknown` before z3 is called.

What a side means (SymPy's principal values, the same as the numeric kernel's):
  * a / b and b^(-n) are defined where b != 0;
  * b^(p/q) (q > 1) is real only for b >= 0 (b > 0 when p < 0): it is t^p for the t >= 0 with
    t^q = b. SymPy's root of a negative number is complex, so it is undefined here too;
  * abs, max, min, sign, floor, ceiling and polynomials are defined wherever their arguments are;
  * Piecewise is defined where the first true condition's branch is (conditions must be total).
A relation holds at a point when both sides are defined and the comparison holds; a point where both
sides divide by zero is not considered; anywhere else it is not shown to hold (two non-real sides may
be equal or not as complex numbers: the solver cannot tell, so such a point is a candidate
counterexample for the kernel to confirm or not). A conclusion holds only where both of its sides are
defined; a premise with a division by zero is false, and one with a non-real side may hold, so the
conclusion must hold there too. Every auxiliary variable has a defining axiom `guard ⇒ (value)`,
and each such axiom can be met at every point, so unsatisfiability is a proof about the original
symbols. A model is a candidate counterexample only; the kernel confirms it before reporting it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import sympy as sp
import z3
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.core.relational import Relational

from proofcheck.kernel.terms import Implication, Relation, as_basic

MAX_NODES = 500  # distinct subexpressions translated; beyond that the obligation is too large
MAX_EXPONENT = 32  # |n| in b^n and |p| in b^(p/q)
MAX_ROOT = 6  # q in b^(p/q)
MAX_ALGEBRAIC_DEGREE = 8  # model values of higher degree are given as rational approximations
# z3's resource counter is deterministic, unlike its wall-clock timeout: the budget is spent in
# resource units first (about this many per second of an unloaded core), the timeout is the net.
RLIMIT_PER_SECOND = 2_000_000
WALL_NET = 10  # the wall-clock timeout, in multiples of the budget
CONSISTENCY_SHARE = 0.2  # of the budget, for checking that the givens admit a point at all


@dataclass
class Decision:
    """What the solver says about an obligation."""

    status: str  # "valid" | "invalid" | "unknown"
    model: dict | None  # {Symbol: Rational} when invalid: a candidate counterexample
    reason: str = ""  # why unknown (not in the fragment, timeout, ...)


class Outside(Exception):
    """The obligation is outside the fragment this module encodes exactly."""


def decide(goal, hypotheses, symbols, seconds) -> Decision:
    """Decide goal (a Relation or an Implication) for every point of the declared types where the hypotheses hold."""
    try:
        enc = _Encoder(symbols)
        negated, clearer = enc.goal(goal)
        enc.hypotheses(goal, hypotheses)
    except Outside as exc:
        return Decision("unknown", None, str(exc))
    except Exception as exc:  # noqa: BLE001 - a tree the encoder did not foresee is "unknown"
        return Decision("unknown", None, f"could not encode the obligation: {type(exc).__name__}")
    try:
        return enc.solve(negated, clearer, seconds)
    except z3.Z3Exception as exc:
        return Decision("unknown", None, f"the solver failed: {exc}")


def _and(*parts):
    """Conjunction of definedness conditions; None means 'everywhere'."""
    ps = [p for p in parts if p is not None]
    if not ps:
        return None
    return ps[0] if len(ps) == 1 else z3.And(*ps)


def _true(d, ctx):
    return z3.BoolVal(True, ctx) if d is None else d


# Rational bounds on the constants (open intervals of width 10^-14 around them).
_CONSTANTS = {
    sp.pi: ("314159265358979/100000000000000", "314159265358980/100000000000000"),
    sp.E: ("271828182845904/100000000000000", "271828182845905/100000000000000"),
}
ABSTRACT_SECONDS = 0.5  # a goal with abstracted terms can only be proved: it gets less time

_OPS = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_SYMPY_RELATIONS = {sp.Eq: "=", sp.Ne: "!=", sp.StrictLessThan: "<", sp.LessThan: "<=",
                    sp.StrictGreaterThan: ">", sp.GreaterThan: ">="}


class _Encoder:
    """One obligation's translation into a fresh z3 context."""

    def __init__(self, symbols):
        self.ctx = z3.Context()
        self.infos = {i.obj: i for i in symbols if i.kind == "scalar"}
        self.vars: dict = {}  # Symbol -> z3 Int or Real constant
        self.reals: dict = {}  # Symbol -> its value as a Real term
        self.domain: list = []  # the declared types of the symbols used
        self.axioms: list = []  # definitions of auxiliary variables
        self.hyps: list = []
        self.memo: dict = {}
        self.fresh = 0
        self.integers = False  # Int terms present: not pure QF_NRA
        self.exact = True  # False when a hypothesis was left out or a term abstracted: a model proves nothing
        self.exps: list = []  # (argument, unknown) of each exp(...) term
        self.logs: list = []

    # -- goal and hypotheses -------------------------------------------------------------------

    def goal(self, goal):
        """(¬goal, stronger forms of ¬goal whose models make clearer counterexamples, best first).

        The stronger forms ask for every side to be defined (the kernel can confirm only such a
        point) and, first, for a strict `<`/`>` to fail strictly rather than at equality."""
        if isinstance(goal, Implication):
            p, dp, vp = self.statement(goal.premise)
            q, dq, vq = self.statement(goal.conclusion)
            # Where a side is not real the solver cannot compare (two non-real sides may be equal as complex
            # numbers): such a premise may hold there, so the conclusion must; an equivalence must be real.
            # A premise with a division by zero is false (1/x = 1/y says x and y are nonzero).
            real_p, real_q = self.real(goal.premise), self.real(goal.conclusion)
            holds = z3.And(real_p, real_q, p == q) if goal.both else z3.Implies(z3.Or(p, z3.Not(real_p)), q)
            clear = [z3.And(p, vq)] if vq is not None else []
            if goal.both and vp is not None:
                clear.append(z3.And(q, vp))
            defined = [d for d in dp + dq if d is not None]
            return z3.Not(holds), ([z3.Or(*clear)] if clear else []) + \
                ([z3.And(z3.Not(holds), *defined)] if defined else [])
        if isinstance(goal, Relation):
            cmp, dl, dr, violated = self.relation(goal)
            clear = [_true(_and(dl, dr, violated), self.ctx)] if violated is not None else []
            if dl is None and dr is None:
                return z3.Not(cmp), clear
            dl, dr = _true(dl, self.ctx), _true(dr, self.ctx)
            # A point where both sides divide by zero says nothing, unless the relation is strict: there the sides
            # may be removable holes whose limits tie ((x^3 + x)/x < (2 x^3 + x)/x at 0). Two non-real sides may
            # differ (i and -i).
            holds = z3.And(dl, dr, cmp)
            if goal.op not in ("<", ">"):
                holds = z3.Or(holds, z3.And(z3.Not(dl), z3.Not(dr), self.real(goal)))
            return z3.Not(holds), clear + [z3.And(dl, dr, z3.Not(cmp))]
        raise Outside("not a relation or a statement")

    def real(self, rel: Relation):
        """Where both sides of rel are real or undefined by a division by zero: every root's base is nonnegative
        (positive under a negative power) and every logarithm's argument positive."""
        conds = []
        for side in (_basic(rel.lhs), _basic(rel.rhs)):
            for node in sp.preorder_traversal(side):
                if isinstance(node, sp.Piecewise) and node.has(sp.log, sp.Pow):
                    return z3.BoolVal(False, self.ctx)  # not worked out under branches: possibly non-real
                if isinstance(node, sp.Pow) and isinstance(node.exp, sp.Rational) and node.exp.q > 1:
                    b = self.term(node.base)[0]
                    conds.append(b > 0 if node.exp.p < 0 else b >= 0)
                elif isinstance(node, sp.log) and len(node.args) == 1:
                    conds.append(self.term(node.args[0])[0] > 0)
        return z3.And(*conds) if conds else z3.BoolVal(True, self.ctx)

    def statement(self, rel: Relation):
        """(holds: both sides defined and comparing as stated, [definedness], fails strictly or None)."""
        cmp, dl, dr, violated = self.relation(rel)
        strictly = None if violated is None else _true(_and(dl, dr, violated), self.ctx)
        return _true(_and(dl, dr, cmp), self.ctx), [dl, dr], strictly

    def relation(self, rel: Relation):
        """(comparison, left definedness, right definedness, a strict failure of a strict comparison or None)."""
        if not isinstance(rel, Relation) or rel.op not in _OPS:
            raise Outside("not a relation between numbers")
        l, dl = self.term(_basic(rel.lhs))
        r, dr = self.term(_basic(rel.rhs))
        violated = {"<": lambda: l > r, ">": lambda: l < r}.get(rel.op, lambda: None)()
        return _OPS[rel.op](l, r), dl, dr, violated

    def hypotheses(self, goal, hypotheses) -> None:
        """Translate the hypotheses connected to the goal's symbols (others cannot matter)."""
        used = set(self.vars)
        pending = [h for h in hypotheses if isinstance(h, Relation)]
        changed = True
        while changed:
            changed = False
            for h in list(pending):
                names = _free(h)
                if names is None or names & used:
                    pending.remove(h)
                    changed = True
                    try:
                        # like a premise: where a side is not real the given may still hold (sqrt(x) = sqrt(y)
                        # at x = y = -1), so it constrains only the points where its sides are real
                        self.hyps.append(z3.Or(self.statement(h)[0], z3.Not(self.real(h))))
                        used |= set(self.vars)
                    except Outside:
                        # Leaving a hypothesis out only weakens what is assumed: `valid` stays
                        # sound, but a model may violate it, so no model is reported.
                        self.exact = False
                        if names:
                            used |= names

    # -- terms --------------------------------------------------------------------------------

    def term(self, e):
        """(z3 Real term, definedness condition or None) for a SymPy expression."""
        if e in self.memo:
            return self.memo[e]
        if len(self.memo) >= MAX_NODES:
            raise Outside("the expression is too large for the decision procedure")
        out = self._term(e)
        self.memo[e] = out
        return out

    def _term(self, e):
        if isinstance(e, sp.Symbol):
            return self.symbol(e), None
        if isinstance(e, sp.Rational):
            return z3.RealVal(f"{e.p}/{e.q}", self.ctx), None
        if isinstance(e, (sp.Add, sp.Mul)):
            parts = [self.term(a) for a in e.args]
            vals = [v for v, _ in parts]
            value = z3.Sum(*vals) if isinstance(e, sp.Add) else z3.Product(*vals)
            return value, _and(*(d for _, d in parts))
        if isinstance(e, sp.Pow):
            return self.power(e.base, e.exp)
        if isinstance(e, sp.Abs):
            a, d = self.term(e.args[0])
            return z3.If(a >= 0, a, -a), d
        if isinstance(e, (sp.Max, sp.Min)):
            parts = [self.term(a) for a in e.args]
            value = parts[0][0]
            for v, _ in parts[1:]:
                value = z3.If(v > value, v, value) if isinstance(e, sp.Max) else z3.If(v < value, v, value)
            return value, _and(*(d for _, d in parts))
        if isinstance(e, sp.sign):
            a, d = self.term(e.args[0])
            one = z3.RealVal(1, self.ctx)
            return z3.If(a > 0, one, z3.If(a < 0, -one, z3.RealVal(0, self.ctx))), d
        if isinstance(e, (sp.floor, sp.ceiling)):
            a, d = self.term(e.args[0])
            self.integers = True
            if isinstance(e, sp.floor):
                return z3.ToReal(z3.ToInt(a)), d
            return -z3.ToReal(z3.ToInt(-a)), d
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e)
        if isinstance(e, (sp.exp, sp.log)) or e in _CONSTANTS:
            return self.opaque(e)
        raise Outside(f"{_name(e)} is outside the real-algebraic fragment")

    def opaque(self, e):
        """exp, log, pi and E as unknowns with true facts about them: enough to prove some goals.

        Every real point extends to values of these unknowns that meet the facts, so `valid` stays
        sound; a model, though, may give them impossible values, so it is never reported."""
        self.exact = False
        v = self.aux()
        zero, one = z3.RealVal(0, self.ctx), z3.RealVal(1, self.ctx)
        if e in _CONSTANTS:
            low, high = _CONSTANTS[e]
            self.axioms.append(z3.And(v > z3.RealVal(low, self.ctx), v < z3.RealVal(high, self.ctx)))
            return v, None
        if len(e.args) != 1:
            raise Outside("a logarithm with a base is outside the fragment")
        a, d = self.term(e.args[0])
        if isinstance(e, sp.exp):
            self.axioms.append(z3.And(v > zero, v >= one + a))  # exp(a) >= 1 + a
        else:
            # log(a) <= a - 1 and a log(a) >= a - 1 (the tangent at 1, and the same for 1/a)
            self.axioms.append(z3.Implies(a > zero, z3.And(v <= a - one, a * v >= a - one)))
            d = _and(d, a > zero)
        # both are increasing: compare with every earlier one of the same kind
        kind = self.exps if isinstance(e, sp.exp) else self.logs
        for b, w in kind:
            guard = z3.BoolVal(True, self.ctx) if isinstance(e, sp.exp) else z3.And(a > zero, b > zero)
            self.axioms.append(z3.Implies(guard, z3.And(z3.Implies(a < b, v < w), z3.Implies(a == b, v == w),
                                                        z3.Implies(a > b, v > w))))
        kind.append((a, v))
        return v, d

    def symbol(self, s):
        if s in self.reals:
            return self.reals[s]
        info = self.infos.get(s)
        domain = info.domain if info is not None else _assumed_domain(s)
        if domain is None or domain == "complex" or isinstance(s, sp.Dummy):
            raise Outside(f"`{s}` is not a real scalar")
        integer = domain in ("integer", "posint")
        name = f"{s.name}!{len(self.vars)}"  # distinct SymPy symbols may share a name
        v = z3.Int(name, self.ctx) if integer else z3.Real(name, self.ctx)
        r = z3.ToReal(v) if integer else v
        self.vars[s], self.reals[s] = v, r
        self.integers |= integer
        zero = z3.RealVal(0, self.ctx)
        if domain in ("positive", "posint"):
            self.domain.append(r > zero)
        elif domain == "nonnegative":
            self.domain.append(r >= zero)
        elif domain == "negative":
            self.domain.append(r < zero)
        elif domain == "nonzero":
            self.domain.append(r != zero)
        elif domain == "interval":
            for bound, above in ((info.low, True), (info.high, False)):
                if bound is None or bound in (sp.oo, -sp.oo):
                    continue
                b, d = self.term(_basic(bound))
                if d is not None:
                    raise Outside(f"the bounds of `{s}` are not defined everywhere")
                self.domain.append(r > b if above else r < b)
        return r

    def power(self, base, exp):
        if not isinstance(exp, sp.Rational):
            raise Outside("a power with a symbolic or irrational exponent is outside the fragment")
        p, q = exp.p, exp.q
        if abs(p) > MAX_EXPONENT or q > MAX_ROOT:
            raise Outside("an exponent is too large for the decision procedure")
        b, d = self.term(base)
        zero = z3.RealVal(0, self.ctx)
        if q == 1:
            if p >= 0:
                return _pow(b, p, self.ctx), d
            return self.reciprocal(_pow(b, -p, self.ctx)), _and(d, b != zero)
        # t is the nonnegative q-th root of b wherever b >= 0.
        t = self.aux()
        self.axioms.append(z3.Implies(b >= zero, z3.And(t >= zero, _pow(t, q, self.ctx) == b)))
        if p > 0:
            return _pow(t, p, self.ctx), _and(d, b >= zero)
        return self.reciprocal(_pow(t, -p, self.ctx)), _and(d, b > zero)

    def reciprocal(self, x):
        r = self.aux()
        self.axioms.append(z3.Implies(x != z3.RealVal(0, self.ctx), r * x == z3.RealVal(1, self.ctx)))
        return r

    def aux(self):
        self.fresh += 1
        return z3.Real(f"aux!{self.fresh}", self.ctx)

    def piecewise(self, e):
        value, defined = z3.RealVal(0, self.ctx), z3.BoolVal(False, self.ctx)  # no branch: undefined
        for expr, cond in reversed(e.args):
            c = self.boolean(cond)
            v, d = self.term(expr)
            value = z3.If(c, v, value)
            defined = z3.If(c, _true(d, self.ctx), defined)
        return value, defined

    def boolean(self, c):
        if c is sp.true:
            return z3.BoolVal(True, self.ctx)
        if c is sp.false:
            return z3.BoolVal(False, self.ctx)
        op = _SYMPY_RELATIONS.get(type(c))
        if op is not None:
            l, dl = self.term(c.lhs)
            r, dr = self.term(c.rhs)
            if dl is not None or dr is not None:
                raise Outside("a condition that is not defined everywhere")
            return _OPS[op](l, r)
        if isinstance(c, (sp.And, sp.Or)):
            parts = [self.boolean(a) for a in c.args]
            return z3.And(*parts) if isinstance(c, sp.And) else z3.Or(*parts)
        if isinstance(c, sp.Not):
            return z3.Not(self.boolean(c.args[0]))
        raise Outside(f"the condition {_name(c)} is outside the fragment")

    # -- solving ------------------------------------------------------------------------------

    def solver(self, seconds: float):
        # nlsat is complete for nonlinear real arithmetic; with integers z3 picks its own tactic.
        s = z3.Solver(ctx=self.ctx) if self.integers else z3.SolverFor("QF_NRA", ctx=self.ctx)
        # The wall-clock timeout is only a net, far behind the deterministic rlimit: on a loaded
        # machine a wall timeout would turn a verdict into `unknown` depending on the load.
        s.set("timeout", max(1, int(seconds * 1000 * WALL_NET)))
        s.set("rlimit", max(1, int(seconds * RLIMIT_PER_SECOND)))
        s.add(*self.axioms, *self.domain, *self.hyps)
        return s

    def solve(self, negated, clearer, seconds: float) -> Decision:
        if not self.exact:
            seconds = min(seconds, ABSTRACT_SECONDS)
        main = seconds * (1 - CONSISTENCY_SHARE)
        s = self.solver(main)
        s.add(negated)
        r = _check(s, self.ctx, main)
        if r == z3.unsat:
            return self.consistent(seconds * CONSISTENCY_SHARE)
        if r != z3.sat:
            return Decision("unknown", None, f"the solver gave up: {s.reason_unknown()}")
        if not self.exact:
            return Decision("unknown", None, "no counterexample reported: the encoding leaves out a given or "
                                             "stands in for exp, log or a constant")
        model = s.model()
        for stronger in clearer:  # each implies ¬goal: any model of it is a counterexample too
            s2 = self.solver(seconds * CONSISTENCY_SHARE / len(clearer))
            s2.add(stronger)
            if _check(s2, self.ctx, seconds * CONSISTENCY_SHARE / len(clearer)) == z3.sat:
                model = s2.model()
                break
        return Decision("invalid", self.values(model))

    def consistent(self, seconds: float) -> Decision:
        """`valid`, unless the declared types and givens admit no point (then everything holds vacuously)."""
        if not self.hyps and not any(i.domain == "interval" for s, i in self.infos.items() if s in self.vars):
            return Decision("valid", None)
        r = _check(self.solver(seconds), self.ctx, seconds)
        if r == z3.sat:
            return Decision("valid", None)
        if r == z3.unsat:
            return Decision("unknown", None, "no point satisfies the declared types and the givens")
        return Decision("unknown", None, "could not check that the givens can hold")

    def values(self, model) -> dict:
        out = {}
        for s, v in self.vars.items():
            val = model.evaluate(v, model_completion=True)
            if z3.is_int_value(val):
                out[s] = sp.Integer(val.as_long())
            elif z3.is_rational_value(val):
                out[s] = _rational(val)
            elif z3.is_algebraic_value(val):
                out[s] = _algebraic(val)
        return out


def _check(solver, ctx, seconds: float):
    """solver.check(), interrupted once this process has used `seconds` of CPU time.

    z3's rlimit is deterministic but nlsat polls it rarely (a hard instance ran 60 s past an
    rlimit meant for 1 s), and its timeout is wall time, which a busy machine stretches. A watchdog
    thread (z3 releases the GIL while it works) interrupts the context by CPU time instead."""
    done = threading.Event()
    start = time.process_time()

    def watch():
        while not done.wait(0.005):
            if time.process_time() - start > seconds:
                ctx.interrupt()
                return

    watchdog = threading.Thread(target=watch, daemon=True)
    watchdog.start()
    try:
        return solver.check()
    finally:
        done.set()
        watchdog.join()


def _rational(val) -> sp.Rational:
    return sp.Rational(val.numerator_as_long(), val.denominator_as_long())


def _algebraic(val):
    """An irrational model value exactly, as a root of its polynomial (radicals when SymPy has them)."""
    coeffs = [_rational(c) for c in val.poly()]  # constant term first
    if len(coeffs) - 1 > MAX_ALGEBRAIC_DEGREE:
        return _rational(val.approx(40))  # a candidate only: the kernel's confirmation decides
    t = sp.Symbol("t")
    # z3 numbers the real roots from 1 in increasing order; SymPy from 0, real roots first.
    return sp.rootof(sp.Poly(list(reversed(coeffs)), t), val.index() - 1, radicals=True)


_EXACT_TYPES = (sp.Symbol, sp.Rational, sp.Add, sp.Mul, sp.Pow, sp.Abs, sp.Max, sp.Min, sp.sign,
                sp.floor, sp.ceiling, sp.Piecewise, ExprCondPair, Relational, sp.And, sp.Or, sp.Not,
                sp.logic.boolalg.BooleanAtom)


def exact_holds(rel: Relation, values: dict) -> bool | None:
    """Whether rel holds at a rational point, computed exactly; None when a side is not a rational there.

    Only for expressions of the fragment (small exponents), so substituting cannot run away."""
    sides = []
    for x in (rel.lhs, rel.rhs):
        if not isinstance(x, sp.Expr) or isinstance(x, sp.MatrixExpr) or not _small(x, values):
            return None
        v = x.xreplace(values)
        if not isinstance(v, sp.Rational):
            return None
        sides.append(v)
    if rel.op not in _OPS:
        return None
    return bool(_OPS[rel.op](*sides))


def _small(e, values: dict) -> bool:
    for k, node in enumerate(sp.preorder_traversal(e)):
        if k > 4 * MAX_NODES or not isinstance(node, _EXACT_TYPES):
            return False
        if isinstance(node, sp.Symbol) and node not in values:
            return False
        if isinstance(node, sp.Pow) and not (isinstance(node.exp, sp.Rational) and abs(node.exp.p) <= MAX_EXPONENT
                                             and node.exp.q <= MAX_ROOT):
            return False
    return True


def in_domain(values: dict, symbols) -> bool:
    """Whether every value lies in its symbol's declared type (decided exactly; False if in doubt)."""
    infos = {i.obj: i for i in symbols if i.kind == "scalar"}
    for s, v in values.items():
        info = infos.get(s)
        domain = info.domain if info is not None else _assumed_domain(s)
        if domain is None or not (isinstance(v, sp.Expr) and v.is_number and v.is_real):
            return False
        if domain in ("integer", "posint") and not v.is_Integer:
            return False
        sign = {"positive": v.is_positive, "posint": v.is_positive, "nonnegative": v.is_nonnegative,
                "negative": v.is_negative, "nonzero": v.is_nonzero}
        if sign.get(domain, True) is not True:
            return False
        if domain == "interval":
            for bound, above in ((info.low, True), (info.high, False)):
                if bound is None or bound in (sp.oo, -sp.oo):
                    continue
                try:
                    b = as_basic(bound).xreplace(values)
                    ok = sp.Gt(v, b) if above else sp.Lt(v, b)
                except TypeError:
                    return False
                if ok is not sp.true:
                    return False
    return True


def _pow(b, n: int, ctx):
    if n == 0:
        return z3.RealVal(1, ctx)
    out = b
    for _ in range(n - 1):
        out = out * b
    return out


def _basic(x):
    if isinstance(x, (sp.MatrixBase, sp.MatrixExpr)) or not isinstance(x, sp.Expr):
        if isinstance(x, int) and not isinstance(x, bool):
            return sp.Integer(x)
        raise Outside("not a scalar expression")
    return x


def _free(h: Relation):
    names = set()
    for x in (h.lhs, h.rhs):
        if not isinstance(x, sp.Basic):
            return None
        names |= x.free_symbols
    return names


_DOMAIN_ASSUMPTIONS = {
    "real": dict(real=True), "positive": dict(positive=True), "nonnegative": dict(nonnegative=True),
    "negative": dict(negative=True), "nonzero": dict(real=True, nonzero=True), "integer": dict(integer=True),
    "posint": dict(integer=True, positive=True),
}


def _assumed_domain(s: sp.Symbol) -> str | None:
    """The domain of a symbol no declaration names: only when its SymPy assumptions are exactly a domain's."""
    for domain, kw in _DOMAIN_ASSUMPTIONS.items():
        if s.assumptions0 == sp.Symbol("t", **kw).assumptions0:
            return domain
    return None


def _name(e) -> str:
    return type(e).__name__ if not isinstance(e, sp.Function) else str(e.func)
