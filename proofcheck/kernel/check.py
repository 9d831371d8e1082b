"""The kernel's entry point: check_step(task) -> StepResult.

`proved` comes only from `equivalence` (SymPy) or from `smt` (z3 found the negation unsatisfiable)
on the obligations a rule produced; `refuted` only from a counterexample confirmed at higher
precision (numeric.search's, or the solver's candidate checked in `_confirmed`)."""

from __future__ import annotations

import time
from dataclasses import replace

import mpmath
import sympy as sp

from proofcheck.kernel import numeric, plugins, smt
from proofcheck.kernel.equivalence import Clock, equal, evaluate_heads, sign_shown, unsupported_reason
from proofcheck.kernel.rules import RULES, interval_substitution, poles_may_solve
from proofcheck.kernel.terms import Context, Implication, Relation, StepTask, as_basic, given_substituted, singular_parts
from proofcheck.kernel.verdict import Status, StepResult, weakest

SCREEN_POINTS = 3
POINTS = 8
INEQUALITY_POINTS = 40
LOCAL_SEARCHES = 12  # starts of a local minimisation of an inequality's slack
MIN_SIZES = 3  # distinct size tuples a numeric verdict on matrices with symbolic sizes needs
# simplify and friends get this share of the step budget in all. Every strong proof in derivations/
# takes under 0.7 s, while a failing simplify on a large expression used the whole budget
# (bench/RESULTS.md): past the share, the random points decide (`numeric`), as they would anyway.
STRONG_SHARE = 0.2
# The decision procedure (smt.py) gets at most this many seconds, and at most this share of what is left.
SMT_SECONDS = 2.0
SMT_SHARE = 0.3


def check_step(task: StepTask) -> StepResult:
    """One step in, one verdict out."""
    start = time.monotonic()
    clock = Clock(task.context.timeout * 0.85)  # leave room for reporting before the hard kill
    rule = RULES.get(task.rule.name if task.rule else None)
    if rule is None:
        result = StepResult(Status.ERROR, "rule", f"unknown rule `{task.rule.name}`")
    else:
        try:
            outcome = rule(task, clock)
            if outcome.unknown and not outcome.obligations:
                result = StepResult(Status.UNKNOWN, "rule", outcome.unknown)
            else:
                rng = numeric.rng_for(task.context.seed, task.key, sp.srepr(task.prev), sp.srepr(task.cur)) \
                    if _reprable(task) else numeric.rng_for(task.context.seed, task.key)
                context = task.context
                if outcome.extra:
                    context = replace(context, symbols=context.symbols + tuple(outcome.extra))
                if outcome.bound:
                    # `argmin(f, x)` ranges over x's declared type: a given `x > 0` speaks of another x
                    context = replace(context, givens=tuple(
                        (n, g) for n, g in context.givens
                        if not any(b in getattr(side, "free_symbols", ()) for b in outcome.bound
                                   for side in (getattr(g, "lhs", None), getattr(g, "rhs", None)))))
                results = [discharge(ob, context, clock, rng) for ob in outcome.obligations]
                result = weakest(results)
                ruled = task.rule is not None and task.rule.name not in ("definition", "algebra", "given")
                as_written = False  # the rule did not apply: the verdict is the plain step's, without the rule's note
                if ruled and result.status == Status.REFUTED:
                    failed = [(ob, r) for ob, r in zip(outcome.obligations, results) if r.status == Status.REFUTED]
                    established = all(r.status in (Status.PROVED, Status.NUMERIC)
                                      for ob, r in zip(outcome.obligations, results) if outcome.only_sufficient(ob))
                    necessary = [(ob, r) for ob, r in failed if outcome.refutes(ob, established)]
                    ob, result = (necessary or failed)[0]
                    if len(outcome.obligations) > 1 or not necessary:
                        # say which of the rule's conditions fails: `-1 > 0` reads better than its two sides
                        result.message = f"the rule's condition `{_shown(ob)}` fails: {result.message}"
                    if not necessary:
                        result, as_written = _as_written(task, result, clock, rng), True
                if outcome.unknown and result.status != Status.REFUTED and not as_written:
                    # The obligations were necessary conditions only: they can refute, not prove.
                    result = StepResult(Status.UNKNOWN, "rule", outcome.unknown)
                if outcome.note and result.status in (Status.PROVED, Status.NUMERIC) and not as_written:
                    result.message = "; ".join(m for m in (outcome.note, result.message) if m)
                if ruled:
                    result.method = f"{result.method} ({task.rule.name})"
        except RecursionError:
            result = StepResult(Status.UNKNOWN, "error", "the expression is nested too deeply to check")
        except MemoryError:
            result = StepResult(Status.UNKNOWN, "error", "ran out of memory while checking")
        except Exception as exc:  # noqa: BLE001 - an internal failure must read as unknown, never as a pass
            result = StepResult(Status.UNKNOWN, "error", f"internal error while checking: {type(exc).__name__}: {exc}")
    result.seconds = round(time.monotonic() - start, 4)
    return result


def _as_written(task: StepTask, failed: StepResult, clock: Clock, rng) -> StepResult:
    """The step checked without its rule, once a condition that is sufficient only has failed: the rule does not
    apply, which says nothing about the step (x^3 = 8 ==> x = x^3/4 holds, though x^3/4 does not solve x^3 = 8)."""
    outcome = RULES[None](task, clock)
    if outcome.unknown and not outcome.obligations:
        return StepResult(Status.UNKNOWN, "rule", f"{failed.message}; the rule does not apply, and the step was "
                                                  f"not checked without it: {outcome.unknown}")
    result = weakest([discharge(ob, task.context, clock, rng) for ob in outcome.obligations])
    if result.status == Status.REFUTED:
        result.message = f"{failed.message}; the step fails as written too: {result.message}"
    elif result.status == Status.PROVED:
        result.message = f"{failed.message}; so the rule does not apply, but the step holds as written: " \
                         f"{result.message}".rstrip(": ")
    elif result.status == Status.NUMERIC:
        # the justification is shown wrong: points that agree to 40 digits do not vouch for the step in its place
        # (integrals 10^-45 apart pass them)
        result = StepResult(Status.UNKNOWN, "rule", f"{failed.message}; so the rule does not apply, and the step as "
                                                    f"written is only seen to hold at random points: {result.message}")
    else:
        result = StepResult(Status.UNKNOWN, "rule", f"{failed.message}; so the rule does not apply, and the step "
                                                    f"is not settled without it: {result.message}".rstrip(": "))
    return result


def _shown(ob) -> str:
    if isinstance(ob, Implication):
        return f"{ob.premise} {'<==>' if ob.both else '==>'} {ob.conclusion}"
    return str(ob)


def _reprable(task: StepTask) -> bool:
    return isinstance(task.prev, sp.Basic) and isinstance(task.cur, sp.Basic)


def discharge(ob, context: Context, clock: Clock, rng) -> StepResult:
    """Discharge one obligation: a Relation or an Implication."""
    ob = clock.attempt(lambda: _lowered(ob, context), share=0.3) or ob
    if isinstance(ob, Implication):
        return _implication(ob, context, clock, rng)
    reason = unsupported_reason(ob.lhs, ob.rhs)
    if reason:
        return StepResult(Status.UNKNOWN, "unsupported", reason)
    if ob.op == "=":
        return _equality(ob, context, clock, rng)
    if ob.op == "!=":
        # only a proof: the decision procedure finds `lhs = rhs` unsatisfiable (0 = 1, x^2 + 1 = 0 over the reals);
        # a point where the sides are equal would have to be exact to refute, and random points never are
        decided = _decided(ob, ob, context, clock)
        if decided is not None and decided.status == Status.PROVED:
            # the decision procedure counts two sides undefined everywhere as unequal (`1/(abs(x) - max(x, -x))`
            # on both): a statement about values needs a point where the sides have them
            sampler = _sampler(context, clock)
            found = numeric.search(ob.lhs, "!=", ob.rhs, sampler, rng, 1, 60, special=False) \
                if sampler is not None else None
            if found is not None and found.valid and not found.counterexample:
                return decided
            return StepResult(Status.UNKNOWN, "numeric", "the decision procedure finds the sides never equal, but no "
                                                         "point was found where both have a value")
        return StepResult(Status.UNKNOWN, "unsupported",
                          "`!=` steps are checked only by the decision procedure (polynomial real arithmetic), which "
                          "did not decide this one")
    return _inequality(ob, context, clock, rng)


def _lowered(ob, context: Context):
    """The obligation with plug-in heads (expectations, divergences) lowered."""
    if isinstance(ob, Implication):
        return Implication(_lowered(ob.premise, context), _lowered(ob.conclusion, context), ob.both)
    return Relation(plugins.lower(ob.lhs, context), ob.op, plugins.lower(ob.rhs, context))


def _heads(exprs, context: Context, clock: Clock):
    """Evaluated forms for the symbolic attempts (derivatives done, plug-in facts applied), or None."""
    return clock.attempt(lambda: [plugins.facts(evaluate_heads(x, plugins.densities(context)), context) for x in exprs],
                         share=0.3)


def _given_branches(context: Context, clock: Clock) -> list[dict] | None:
    """Substitutions that eliminate a symbol through each equality given, when all branches are known."""
    sampler = clock.attempt(lambda: numeric.sampler_for(context), share=0.2)
    if sampler is None or not (sampler.equalities or sampler.rewrites):
        return None
    branches = [dict(sampler.rewrites)]
    for sym, sols in sampler.equalities:
        branches = [{**b, sym: s.xreplace(b)} for b in branches for s in sols]
    # A proof "using the givens" must cover every branch: with too many, none is attempted.
    return branches if len(branches) <= 8 else None


def _sampler(context: Context, clock: Clock, hypotheses=()) -> numeric.Sampler | None:
    return clock.attempt(lambda: numeric.sampler_for(context, tuple(hypotheses)), share=0.3)


def _equality(ob: Relation, context: Context, clock: Clock, rng) -> StepResult:
    if ob.lhs == ob.rhs or plugins.canonical_bound(ob.lhs) == plugins.canonical_bound(ob.rhs):
        return StepResult(Status.PROVED, "symbolic", details={"stage": "structural"})
    heads = _heads((ob.lhs, ob.rhs), context, clock)
    l, r = heads if heads else (ob.lhs, ob.rhs)
    if heads and equal(l, r, clock, strong=False):
        return StepResult(Status.PROVED, "symbolic", details={"stage": "cheap symbolic"})
    branches = _given_branches(context, clock) if context.givens else None
    if heads and branches and equal(l, r, clock, strong=False, substitutions=branches):
        return StepResult(Status.PROVED, "symbolic", "using the givens", details={"stage": "cheap symbolic"})
    if heads:
        decided = _decided(Relation(l, "=", r), ob, context, clock)
        if decided:
            return decided
    sampler = _sampler(context, clock)
    if sampler is None:
        return StepResult(Status.UNKNOWN, "numeric", "could not plan random points for the givens in time")
    # Evaluate the written form unless only the symbolic form got rid of a limit.
    nl, nr = (l, r) if heads and (ob.lhs.has(sp.Limit) or ob.rhs.has(sp.Limit)) and not (
        _has(l, sp.Limit) or _has(r, sp.Limit)) else (ob.lhs, ob.rhs)
    # The screen only looks for a quick counterexample before the costly simplify; the full search
    # below tests the special points before any `numeric` verdict.
    screen = numeric.search(nl, "=", nr, sampler, rng, SCREEN_POINTS, 30, special=False)
    if screen.counterexample:
        return _refuted(screen.counterexample, "numeric screen")
    strong = clock.limited(context.timeout * STRONG_SHARE)
    if heads and equal(l, r, strong, strong=True):
        return StepResult(Status.PROVED, "symbolic", details={"stage": "simplify"})
    if heads and branches and equal(l, r, strong, strong=True, substitutions=branches):
        return StepResult(Status.PROVED, "symbolic", "using the givens", details={"stage": "simplify"})
    intervals = interval_substitution(context)
    if heads and intervals and _mentions(l, r, intervals) and \
            equal(l, r, strong, strong=True, substitutions=[intervals]):
        return StepResult(Status.PROVED, "symbolic", details={"stage": "simplify"})
    full = numeric.search(nl, "=", nr, sampler, rng, POINTS - screen.valid, 80, deep=True)
    if full.counterexample:
        return _refuted(full.counterexample, "numeric")
    return _numeric_verdict(screen.valid + full.valid, full, screen,
                            f"both sides agree to {numeric.AGREE_DIGITS} digits")


def _mentions(l, r, substitution: dict) -> bool:
    names = set(substitution)
    return any(isinstance(x, sp.Basic) and x.free_symbols & names for x in (l, r))


def _numeric_verdict(valid: int, full: numeric.Search, screen: numeric.Search, what: str) -> StepResult:
    if full.approximate_mismatch or screen.approximate_mismatch:
        return StepResult(Status.UNKNOWN, "numeric",
                          "the sides differ where a limit was approximated numerically; not confirmed")
    if full.imprecise + screen.imprecise and valid >= POINTS:
        # integral(exp(t x), x, 0, oo) = 1/abs(t) agrees wherever it converges; where t > 0 it diverges, and those
        # points are the ones quadrature could not settle: the agreement elsewhere proves nothing there
        return StepResult(Status.UNKNOWN, "numeric", f"the sides agree at {valid} random points, but at "
                          f"{full.imprecise + screen.imprecise} others a quadrature, a sum or a limit could not settle "
                          "the relation (it may diverge there)")
    sizes = list(dict.fromkeys(screen.sizes + full.sizes))
    if valid >= POINTS and 0 < len(sizes) < MIN_SIZES:
        return StepResult(Status.UNKNOWN, "numeric", f"the sides agree only at sizes {'; '.join(sizes)}: "
                          f"other sizes could not be evaluated, and {MIN_SIZES} are needed")
    if valid >= POINTS:
        at = f" (sizes {'; '.join(sizes)})" if sizes else ""
        searched = numeric.Search(valid=valid, special=screen.special + full.special,
                                  local=screen.local + full.local).describe()
        return StepResult(Status.NUMERIC, "numeric",
                          f"{what} at {searched}{at}; no symbolic proof found",
                          details={"stage": "numeric"})
    reason = full.reason or screen.reason
    return StepResult(Status.UNKNOWN, "numeric",
                      f"only {valid} of the random points were usable (need {POINTS})" +
                      (f": {reason}" if reason else ""))


def _refuted(ce: dict, stage: str = "numeric") -> StepResult:
    shown = ", ".join(f"{k} = {v}" for k, v in ce.items() if k not in ("lhs", "rhs"))
    where = f"at {shown}: " if shown else ""
    return StepResult(Status.REFUTED, "numeric",
                      f"{where}the left side is {ce['lhs']} and the right side is {ce['rhs']}",
                      counterexample=ce, details={"stage": stage})


def _has(e, cls) -> bool:
    return isinstance(e, sp.Basic) and e.has(cls)


_STRICT = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _inequality(ob: Relation, context: Context, clock: Clock, rng) -> StepResult:
    heads = _heads((ob.lhs, ob.rhs), context, clock)
    l, r = heads if heads else (ob.lhs, ob.rhs)
    if isinstance(l, sp.MatrixBase) or isinstance(r, sp.MatrixBase):
        return StepResult(Status.UNKNOWN, "unsupported", "inequalities between matrices are not supported")
    if heads and (ob.op not in ("<", ">") or not singular_parts(l) & singular_parts(r)):
        # lhs op rhs  <=>  (lhs - rhs) op 0. For a strict relation only when the sides share nothing that may be
        # infinite or undefined: the difference would cancel it (1/x < 1/x + 1 at x = 0, E[exp(z^2)] <
        # E[exp(z^2)] + 1 under Normal(0, 1), maximum(x, x) over the reals). The numeric search evaluates such
        # sides, and a pole or a divergent integral there gives no verdict.
        shown = StepResult(Status.PROVED, "symbolic", "the difference has the right sign", details={"stage": "sign"})
        if sign_shown(l - r, ob.op, clock):
            return shown
        # The decision procedure before the costlier sign attempts (the sigmoid forms of intervals
        # are what makes simplify slow there).
        decided = _decided(Relation(l, ob.op, r), ob, context, clock)
        if decided:
            return decided
        branches = _given_branches(context, clock) if context.givens else None
        intervals = interval_substitution(context)
        if (branches and sign_shown(l - r, ob.op, clock, branches)) \
                or (intervals and sign_shown(l - r, ob.op, clock, [intervals])):
            return shown
    sampler = _sampler(context, clock)
    if sampler is None:
        return StepResult(Status.UNKNOWN, "numeric", "could not plan random points for the givens in time")
    # Outside the decidable fragment a `numeric` verdict needs a real search: random points across
    # scales, special points, and local minimisations of the slack from many starts.
    found = numeric.search(ob.lhs, ob.op, ob.rhs, sampler, rng, INEQUALITY_POINTS, 300, local=LOCAL_SEARCHES,
                           deep=True)
    if found.counterexample:
        return _refuted(found.counterexample, "numeric")
    if found.undefined_at:
        return StepResult(Status.UNKNOWN, "numeric", found.undefined_at + "; the step says nothing there")
    if found.tie and ob.op in ("<", ">") and equal(l, r, clock.limited(context.timeout * STRONG_SHARE), strong=True):
        # The sides tie to every digit at a point and are equal as expressions: a strict relation
        # fails at that point (sin(x)^2 + cos(x)^2 < 1), which rounding alone could not confirm.
        result = _refuted(found.tie, "symbolic")
        result.message += " (the two sides are equal everywhere, shown symbolically)"
        return result
    return _numeric_verdict(found.valid, found, numeric.Search(), "no counterexample")


def _implication(ob: Implication, context: Context, clock: Clock, rng) -> StepResult:
    results = [_implies(ob.premise, ob.conclusion, context, clock, rng)]
    if ob.both and results[0].status != Status.REFUTED:  # refuted one way is refuted
        back = _implies(ob.conclusion, ob.premise, context, clock, rng)
        if back.status == Status.REFUTED:  # the converse failed: say so the right way round
            back.message = back.message.replace("the previous statement holds but this one does not",
                                                "this statement holds but the previous one does not", 1)
        results.append(back)
    return weakest(results)


def _implies(p: Relation, q: Relation, context: Context, clock: Clock, rng) -> StepResult:
    reason = unsupported_reason(p.lhs, p.rhs, q.lhs, q.rhs)
    if reason:
        return StepResult(Status.UNKNOWN, "unsupported", reason)
    if p == q:
        return StepResult(Status.PROVED, "symbolic", "the same statement", details={"stage": "structural"})
    if _is_matrix_relation(p) or _is_matrix_relation(q):
        return _matrix_statements(p, q, context, clock, rng)
    heads = _heads((p.lhs, p.rhs, q.lhs, q.rhs), context, clock)
    if heads:
        pl, pr, ql, qr = heads
        if _same_statement(Relation(pl, p.op, pr), Relation(ql, q.op, qr), clock):
            return StepResult(Status.PROVED, "symbolic", "the two statements are equivalent", details={"stage": "statement"})
        branches = _given_branches(context, clock) if context.givens else None
        if branches and all(_same_statement(Relation(*(_sub(x, b) for x in (pl, p.op, pr))),
                                            Relation(*(_sub(x, b) for x in (ql, q.op, qr))), clock)
                            for b in branches):
            return StepResult(Status.PROVED, "symbolic", "the two statements are equivalent under the givens", details={"stage": "statement"})
        # (not when a side of the new equation divides by what may vanish: at the solution x = 1 of x = 1, the sides
        # of 1/(x - 1) + x = 1/(x - 1) + 1 are undefined, though their difference cancels to x - 1)
        if p.op == "=" and q.op == "=" and not _holes(ql, qr) and _solved_implies(pl - pr, ql - qr, context, clock):
            return StepResult(Status.PROVED, "symbolic", "solving the previous equation gives this one", details={"stage": "statement"})
        decided = _decided(Implication(Relation(pl, p.op, pr), Relation(ql, q.op, qr)),
                           Implication(p, q), context, clock)
        if decided:
            return decided
    sampler = _sampler(context, clock, hypotheses=(p,))
    if sampler is None:
        return StepResult(Status.UNKNOWN, "numeric", "could not plan points satisfying the previous statement")
    found = numeric.search(q.lhs, q.op, q.rhs, sampler, rng, POINTS, 200)
    if found.counterexample:
        ce = found.counterexample
        return StepResult(Status.REFUTED, "numeric",
                          "the previous statement holds but this one does not at "
                          + ", ".join(f"{k} = {v}" for k, v in ce.items() if k not in ("lhs", "rhs"))
                          + f" (left side {ce['lhs']}, right side {ce['rhs']})", counterexample=ce)
    if found.undefined_at:
        # (x > 0 ==> 1/(x - 1) + x > 1/(x - 1) at x = 1: the premise holds and the new statement says nothing)
        return StepResult(Status.UNKNOWN, "numeric", found.undefined_at + "; the step says nothing there")
    return _numeric_verdict(found.valid, found, numeric.Search(),
                            "the statement holds wherever the previous one does,")


def _decided(goal, written, context: Context, clock: Clock) -> StepResult | None:
    """The decision procedure's verdict on `goal` (the evaluated forms), or None to go on.

    `valid` is a proof. `invalid` comes with a candidate point, which becomes `refuted` only after
    `written` (the step as written) is seen to fail there, with the givens holding."""
    seconds = min(SMT_SECONDS, SMT_SHARE * clock.left())
    if seconds < 0.05:
        return None
    hypotheses = [g for _, g in context.givens]
    decision = clock.limited(2 * seconds).attempt(smt.decide, goal, hypotheses, context.symbols, seconds)
    if decision is None or decision.status == "unknown":
        return None
    if decision.status == "valid":
        premises = hypotheses + ([goal.premise] if isinstance(goal, Implication) else [])
        if any(_holes(h.lhs, h.rhs) for h in premises if isinstance(h, Relation)):
            # the decision procedure reads a premise with a hole ((x^2 - 1)/(x - 1) = 2 at x = 1) as false there,
            # while a removable hole is read as its limit: "valid" could rest on the premise never holding
            return None
        return StepResult(Status.PROVED, "symbolic",
                          "decided by the SMT solver" + (" using the givens" if context.givens else ""),
                          details={"stage": "smt"})
    ce = clock.attempt(_confirmed, written, decision.model, context, share=0.5)
    if not ce:
        return None
    if isinstance(written, Implication):
        return StepResult(Status.REFUTED, "numeric",
                          "the previous statement holds but this one does not at "
                          + ", ".join(f"{k} = {v}" for k, v in ce.items() if k not in ("lhs", "rhs"))
                          + f" (left side {ce['lhs']}, right side {ce['rhs']})",
                          counterexample=ce, details={"stage": "smt"})
    return _refuted(ce, "smt")


def _confirmed(written, model: dict, context: Context) -> dict | None:
    """The counterexample in numeric.search's format if the model is one, else None.

    The point must lie in the declared types and satisfy every given about its symbols; then the
    relation (for an implication: the premise, and not the conclusion) is evaluated exactly when
    both sides are rational there, else at numeric.CONFIRM_DPS."""
    if not model or not smt.in_domain(model, context.symbols):
        return None
    point = numeric.Point(values=dict(model))
    for _, given in context.givens:
        names = set().union(*(x.free_symbols for x in (given.lhs, given.rhs) if isinstance(x, sp.Basic)))
        if names & set(model) and _holds_at(given, point) is not True:
            return None
    if isinstance(written, Implication):
        if _holds_at(written.premise, point) is not True:
            return None
        written = written.conclusion
    if _holds_at(written, point) is not False:
        return None
    ce = point.describe()
    ro = numeric.real_only(written.lhs, written.rhs)
    for side, e in (("lhs", written.lhs), ("rhs", written.rhs)):
        exact = e.xreplace(point.values) if isinstance(e, sp.Expr) else None
        if exact is not None and exact.is_number and not exact.has(sp.Float) and sp.count_ops(exact) <= 8:
            ce[side] = sp.sstr(exact)  # 0 at x = sqrt(2), not its rounding 4.6e-566
            continue
        v = numeric.evaluate(e, point, numeric.CONFIRM_DPS, ro)
        ce[side] = mpmath.nstr(v.data, 15) if v.kind == "number" else "?"
    return ce


def _holds_at(rel: Relation, point: numeric.Point) -> bool | None:
    """Whether rel holds at the point (None: a side is undefined there)."""
    exact = smt.exact_holds(rel, point.values)
    if exact is not None:
        return exact
    try:
        return numeric.decided(rel, point)
    except numeric.Undefined:
        return None


def _is_matrix_relation(r: Relation) -> bool:
    return any(isinstance(x, (sp.MatrixBase, sp.MatrixExpr)) for x in (r.lhs, r.rhs))


def _matrix_statements(p: Relation, q: Relation, context: Context, clock: Clock, rng) -> StepResult:
    """Matrix equations are equivalent when one difference is a nonzero multiple of the other.

    No point can be drawn that satisfies a matrix equation, so this is the only test; the identity
    Q = c P itself is checked like any equality (symbolically, or at several sizes)."""
    if p.op != "=" or q.op != "=":
        return StepResult(Status.UNKNOWN, "unsupported", "only matrix equations are compared")
    densities = plugins.densities(context)
    dp = clock.attempt(lambda: plugins.facts(evaluate_heads(p.lhs - p.rhs, densities), context), share=0.3)
    dq = clock.attempt(lambda: plugins.facts(evaluate_heads(q.lhs - q.rhs, densities), context), share=0.3)
    if dp is None or dq is None or getattr(dp, "shape", None) != getattr(dq, "shape", None):
        return StepResult(Status.UNKNOWN, "unsupported", "the two matrix equations have different shapes")
    c = clock.attempt(lambda: _ratio(dp, dq), share=0.2)
    # P ==> Q whenever dq = c dp with c finite everywhere (c = 0 is fine in this direction).
    if c is None or not (c.is_number or c.is_finite is True) or c.has(sp.zoo, sp.nan):
        return StepResult(Status.UNKNOWN, "numeric",
                          "cannot tell whether these matrix equations are equivalent (no constant multiple found)")
    result = _equality(Relation(dq, "=", c * dp), context, clock, rng)
    if result.status in (Status.PROVED, Status.NUMERIC):
        result.message = "; ".join(m for m in (f"the new equation is {sp.sstr(c)} times the previous one",
                                               result.message) if m)
    elif result.status == Status.REFUTED:
        # Not a multiple is no counterexample to the step: the point need not satisfy the previous equation, and a
        # solve (-2 X^T (y - X w) + 2 lambda w = 0 ==> w = (X^T X + lambda I)^-1 X^T y) follows without being one.
        return _matrix_counterexample(p, q, dp, dq, context, clock, rng) or StepResult(
            Status.UNKNOWN, "numeric", f"the new equation is not {sp.sstr(c)} times the previous one, and no point "
                                       "on the previous one was found where the new one fails")
    return result


MATRIX_DRAWS = 4


def _matrix_counterexample(p: Relation, q: Relation, dp, dq, context: Context, clock: Clock, rng) -> StepResult | None:
    """A point on the previous matrix equation (dp = 0) where the new one (dq = 0) fails, or None.

    Random points never lie on a matrix equation, so one is made: every name drawn as usual but one vector the
    previous equation is affine in, which is then solved for exactly. The point counts only if dp is exactly 0 there
    (a rational solve), the givens hold, and an entry of dq is nonzero at 60 digits."""
    sampler = _sampler(context, clock)
    unknowns = [i.obj for i in context.symbols if i.kind == "matrix" and not i.flags and i.obj in dp.free_symbols
                and i.shape[1] == 1]
    if sampler is None or not unknowns:
        return None

    def attempt():
        for _ in range(MATRIX_DRAWS):
            try:
                point = sampler.draw(rng)
            except numeric.Undefined:
                continue
            for w in unknowns:
                found = _solved_for(w, point, dp, dq, sampler)
                if found is not None:
                    return found
        return None
    found = clock.attempt(attempt, share=0.5)
    if found is None:
        return None
    point, entry, value = found
    ce = point.describe(used=set().union(*(x.free_symbols for x in (p.lhs, p.rhs, q.lhs, q.rhs)
                                           if isinstance(x, sp.Basic))))
    ce["lhs"], ce["rhs"] = f"entry {entry} of (left side - right side) = {value}", "0"
    return StepResult(Status.REFUTED, "numeric",
                      "the previous equation holds but this one does not at "
                      + ", ".join(f"{k} = {v}" for k, v in ce.items() if k not in ("lhs", "rhs"))
                      + f" (there entry {entry} of the new equation's left side minus its right side is {value})",
                      counterexample=ce, details={"stage": "matrix solve"})


def _solved_for(w, point: numeric.Point, dp, dq, sampler: numeric.Sampler):
    """(point with w solving dp = 0, an entry of dq that is nonzero there, its value), or None."""
    rows = int(as_basic(w.shape[0]).xreplace(point.values))
    unknown = [sp.Dummy(f"w{k}") for k in range(rows)]

    def at(e, pt):  # instantiate gives functions and matrices their values; the scalars are put in here
        return numeric.instantiate(e, pt).xreplace(pt.values)
    trial = numeric.Point(dict(point.values), point.functions, {**point.matrices, w: sp.ImmutableMatrix(unknown)},
                          dict(point.branches), dict(point.parameters))
    try:
        equations = at(dp, trial)
        if not isinstance(equations, sp.MatrixBase) or any(not e.is_polynomial(*unknown) or sp.Poly(e, *unknown)
                                                               .total_degree() > 1 for e in equations):
            return None
        a, b = sp.linear_eq_to_matrix(list(equations), unknown)
        # rational coefficients only (radicals made the solve and its checks take seconds), and an exact solve, so dp
        # is exactly 0 there; checked again at 60 digits all the same
        if a.shape[0] != a.shape[1] or not all(x.is_Rational for x in (*a, *b)) or a.det() == 0:
            return None
        solution = sp.ImmutableMatrix(a.LUsolve(b))
        solved = numeric.Point(dict(point.values), point.functions, {**point.matrices, w: solution},
                               dict(point.branches), dict(point.parameters))
        sampler.check_givens(solved)
        if any(abs(sp.N(e, 60)) > sp.Float(10) ** -40 for e in at(dp, solved)):
            return None
        for k, e in enumerate(at(dq, solved)):
            value = sp.N(e, 60)
            if value.is_number and abs(value) > sp.Float(10) ** -30:
                return solved, k + 1, sp.N(e, 15)
    except (numeric.Undefined, ValueError, TypeError, ZeroDivisionError, NotImplementedError, sp.ShapeError):
        return None
    return None


def _ratio(dp, dq):
    """c with dq = c dp, guessed from one matching term."""
    ep, eq = sp.expand(dp.doit()), sp.expand(dq.doit())
    terms_p = ep.args if isinstance(ep, sp.MatAdd) else (ep,)
    terms_q = eq.args if isinstance(eq, sp.MatAdd) else (eq,)

    def split(t):
        if isinstance(t, sp.MatMul):
            c, mats = t.as_coeff_matrices()
            return c, sp.MatMul(*mats) if len(mats) > 1 else mats[0]
        return sp.Integer(1), t
    q_terms = dict((m, c) for c, m in map(split, terms_q))
    for t in terms_p:
        c, m = split(t)
        if m in q_terms and c != 0:
            return sp.simplify(q_terms[m] / c)
    return None


def _sub(x, b: dict):
    return given_substituted(x, b)


def _holes(*sides) -> set:
    """What the sides divide by, where it may vanish in the declared types (1/(x - 1)), each side on its own (in a
    difference SymPy cancels 1/(x - 1) + x - 1/(x - 1) to x). (A root or log of what may be negative is not real
    there, not a hole.)"""
    bases = {x.base for e in sides if not isinstance(e, sp.MatrixBase)
             for x in singular_parts(e) if isinstance(x, sp.Pow) and x.exp.is_negative}
    return {-b if b.could_extract_minus_sign() else b for b in bases}  # 1/(1 - D) and 1/(D - 1)^2 vanish alike


def _same_statement(p: Relation, q: Relation, clock: Clock) -> bool:
    """q is p multiplied through by a factor of known sign (flipping an inequality if negative)."""
    dp, dq = p.lhs - p.rhs, q.lhs - q.rhs
    if isinstance(dp, sp.MatrixBase) or isinstance(dq, sp.MatrixBase):
        return isinstance(dp, sp.MatrixBase) and isinstance(dq, sp.MatrixBase) and p.op == q.op == "=" \
            and equal(dp, dq, clock, strong=False)
    if dp == 0:
        return False
    if _holes(p.lhs, p.rhs) != _holes(q.lhs, q.rhs):
        # a factor cancelled between them may vanish where one side has a hole the other has not ((x^2 - 1)/(x - 1)
        # = 2 against x = 1): the two need not hold at the same points
        return False

    def ratio():
        return sp.simplify(sp.cancel(sp.together(dq / dp)))

    r = clock.attempt(ratio, share=0.3)
    if r is None or r.has(sp.zoo, sp.nan):
        return False
    if p.op == "=" and q.op == "=":
        return r.is_nonzero is True and r.is_finite is True and not (r.free_symbols - dp.free_symbols - dq.free_symbols)
    if q.op == p.op:
        return r.is_positive is True
    if q.op == _STRICT.get(p.op) or (p.op, q.op) in (("<", ">"), (">", "<")):
        return r.is_negative is True
    return False


def _solved_implies(dp, dq, context: Context, clock: Clock) -> bool:
    """Solving dp = 0 for one of its symbols (completely: it is polynomial there) makes dq vanish."""
    if isinstance(dp, sp.MatrixBase) or isinstance(dq, sp.MatrixBase):
        return False
    num = clock.attempt(lambda: sp.numer(sp.together(dp)), share=0.1)
    if num is None:
        return False
    for s in sorted(dp.free_symbols, key=lambda s: s.name, reverse=True):
        if not num.is_polynomial(s) or poles_may_solve(dp, s):
            continue
        # solve() returns the generic roots; they are all the roots only if the leading coefficient
        # cannot vanish (a s = 0 does not give s = 0 when a may be 0).
        lead = clock.attempt(lambda: sp.Poly(num, s).LC(), share=0.1)
        if lead is None or lead.is_nonzero is not True:
            continue
        sols = clock.attempt(lambda: sp.solve(dp, s, dict=False), share=0.2)
        if not sols:
            continue
        if all(equal(dq.xreplace({s: v}), sp.Integer(0), clock, strong=True) for v in sols):
            return True
    return False
