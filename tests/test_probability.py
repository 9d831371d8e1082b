"""The probability language: closed forms against definitions and against independent quadrature,
Gaussian and Bernoulli expectations, Var, refuted wrong steps, KL/JSD of declared densities, the
reversed-Jensen planted file, and the issue's timing claim for Normal expectations of polynomials.

Closed forms and definitions are lowered by the same code (proofcheck/probability/lower.py), so an
agreement between the two through `check` cannot catch a wrong closed form on its own: every closed
form is also compared here with a value computed independently with mpmath (quadrature of
p log(p/q), or the sum over {0, 1})."""

from __future__ import annotations

import textwrap
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from proofcheck.cli import check_report
from proofcheck.probability.heads import Bernoulli, Normal
from proofcheck.probability.lower import kl, normal_moment
from proofcheck.verify import Options, verify_paths, verify_text

PLANTED = Path(__file__).resolve().parent / "data" / "planted"
TIMEOUT = 10


def _step(lhs: str, rhs: str, symbols: str, timeout: float = TIMEOUT):
    """The one step of `check LHS RHS` (its StepResult)."""
    report, auto = check_report(lhs, rhs, symbols, Options(timeout=timeout))
    assert report.errors == [], report.errors
    assert auto == [], f"undeclared names taken as real: {auto}"
    (part,) = report.parts
    (step,) = part.steps
    return step.result


def _status(lhs: str, rhs: str, symbols: str, timeout: float = TIMEOUT) -> str:
    return _step(lhs, rhs, symbols, timeout).status.value


# -- closed-form KL against the definition (through the engine) ---------------------------------

KL_NORMAL_DEFINITION = "E[x ~ Normal(m_1, v_1)](log(pdf(Normal(m_1, v_1), x)) - log(pdf(Normal(m_2, v_2), x)))"
KL_BERNOULLI_DEFINITION = "E[x ~ Bernoulli(a)](log(pdf(Bernoulli(a), x)) - log(pdf(Bernoulli(b), x)))"


def test_normal_kl_closed_form_equals_the_definition():
    assert _status("KL(Normal(m_1, v_1) || Normal(m_2, v_2))", KL_NORMAL_DEFINITION,
                   "m_1, m_2, x: real; v_1, v_2: positive") == "proved"


def test_normal_kl_is_the_textbook_formula():
    # KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2)/(2 s2^2) - 1/2
    assert _status("KL(Normal(m_1, s_1^2) || Normal(m_2, s_2^2))",
                   "log(s_2 / s_1) + (s_1^2 + (m_1 - m_2)^2) / (2 s_2^2) - 1/2",
                   "m_1, m_2: real; s_1, s_2: positive") == "proved"


def test_bernoulli_kl_closed_form_equals_the_definition():
    # numeric today: SymPy is not told 1 - a > 0 by a: interval(0, 1), so log((1 - a)/(1 - b)) is not split
    assert _status("KL(Bernoulli(a) || Bernoulli(b))", KL_BERNOULLI_DEFINITION,
                   "a, b: interval(0, 1); x: real") in ("proved", "numeric")


def test_bernoulli_kl_is_the_textbook_formula():
    assert _status("KL(Bernoulli(a) || Bernoulli(b))",
                   "a log(a / b) + (1 - a) log((1 - a) / (1 - b))", "a, b: interval(0, 1)") == "proved"


def test_wrong_normal_kl_is_refuted():
    # sigma in place of sigma^2 in the denominator
    r = _step("KL(Normal(m_1, s^2) || Normal(m_2, s^2))", "(m_1 - m_2)^2 / (2 s)", "m_1, m_2: real; s: positive")
    assert r.status.value == "refuted"
    assert r.counterexample["lhs"] != r.counterexample["rhs"]


# -- closed forms against independent mpmath computations ----------------------------------------

NORMAL_CASES = [(0.3, 1.7, -1.1, 0.6), (-2.0, 0.25, 0.5, 3.0), (1.0, 1.0, 1.0, 1.0), (0.0, 4.0, 2.5, 0.5)]


def _normal_pdf(x, m, v):
    return mpmath.exp(-(x - m) ** 2 / (2 * v)) / mpmath.sqrt(2 * mpmath.pi * v)


@pytest.mark.parametrize("m1,v1,m2,v2", NORMAL_CASES)
def test_normal_kl_closed_form_against_quadrature(m1, v1, m2, v2):
    with mpmath.workdps(30):
        m1_, v1_, m2_, v2_ = (mpmath.mpf(str(t)) for t in (m1, v1, m2, v2))

        def integrand(x):
            p = _normal_pdf(x, m1_, v1_)
            return p * (mpmath.log(p) - mpmath.log(_normal_pdf(x, m2_, v2_)))

        s = mpmath.sqrt(v1_)
        # split at the mean and +-8 standard deviations so the quadrature sees the bulk of p
        reference = mpmath.quad(integrand, [-mpmath.inf, m1_ - 8 * s, m1_, m1_ + 8 * s, mpmath.inf])
        closed = kl(Normal(*(sp.Rational(str(t)) for t in (m1, v1))), Normal(*(sp.Rational(str(t)) for t in (m2, v2))))
        value = mpmath.mpf(sp.N(closed, 40))
        assert abs(value - reference) < mpmath.mpf(10) ** -20 * max(1, abs(reference))


@pytest.mark.parametrize("a,b", [(0.3, 0.6), (0.9, 0.1), (0.5, 0.5), (0.01, 0.99)])
def test_bernoulli_kl_closed_form_against_the_sum(a, b):
    with mpmath.workdps(30):
        a_, b_ = mpmath.mpf(str(a)), mpmath.mpf(str(b))
        reference = sum(pa * mpmath.log(pa / pb) for pa, pb in ((a_, b_), (1 - a_, 1 - b_)))
        value = mpmath.mpf(sp.N(kl(Bernoulli(sp.Rational(str(a))), Bernoulli(sp.Rational(str(b)))), 40))
        assert abs(value - reference) < mpmath.mpf(10) ** -25


@pytest.mark.parametrize("k", range(0, 7))
def test_engine_normal_moments_against_quadrature(k):
    mu, var = sp.Rational(-3, 4), sp.Rational(9, 5)
    with mpmath.workdps(30):
        m, v = mpmath.mpf(-0.75), mpmath.mpf(9) / 5
        reference = mpmath.quad(lambda x: x ** k * _normal_pdf(x, m, v), [-mpmath.inf, m, mpmath.inf])
        value = mpmath.mpf(sp.N(normal_moment(k, mu, var), 40))
        assert abs(value - reference) < mpmath.mpf(10) ** -20 * max(1, abs(reference))


# -- Gaussian moments through the language ---------------------------------------------------------

KNOWN_MOMENTS = {
    1: "mu",
    2: "mu^2 + s^2",
    3: "mu^3 + 3 mu s^2",
    4: "mu^4 + 6 mu^2 s^2 + 3 s^4",
    5: "mu^5 + 10 mu^3 s^2 + 15 mu s^4",
    6: "mu^6 + 15 mu^4 s^2 + 45 mu^2 s^4 + 15 s^6",
}


@pytest.mark.parametrize("k", sorted(KNOWN_MOMENTS))
def test_gaussian_moment(k):
    assert _status(f"E[z ~ Normal(mu, s^2)](z^{k})", KNOWN_MOMENTS[k], "mu, z: real; s: positive") == "proved"


@pytest.mark.parametrize("k,value", [(2, "1"), (4, "3"), (6, "15"), (3, "0"), (5, "0")])
def test_standard_normal_moment(k, value):
    assert _status(f"E[z ~ Normal(0, 1)](z^{k})", value, "z: real") == "proved"


def test_central_moment_four():
    assert _status("E[z ~ Normal(mu, s^2)]((z - mu)^4)", "3 s^4", "mu, z: real; s: positive") == "proved"


def test_wrong_central_moment_is_refuted():
    r = _step("E[z ~ Normal(mu, s^2)]((z - mu)^4)", "s^4", "mu, z: real; s: positive")
    assert r.status.value == "refuted"


def test_wrong_second_moment_is_refuted():
    assert _status("E[z ~ Normal(mu, s^2)](z^2)", "mu^2 + s", "mu, z: real; s: positive") == "refuted"


def test_normal_expectation_of_exp_against_the_moment_generating_function():
    # not a polynomial: goes through quadrature, so numeric (or proved), never refuted
    assert _status("E[z ~ Normal(mu, s^2)](exp(z))", "exp(mu + s^2 / 2)", "mu, z: real; s: positive") \
        in ("proved", "numeric")


# -- Bernoulli expectations --------------------------------------------------------------------------

@pytest.mark.parametrize("body,value", [
    ("R^2", "p"),
    ("R^3 - R", "0"),
    ("(R - p)^2", "p (1 - p)"),
    ("exp(t R)", "1 - p + p exp(t)"),
    ("3 R + 2", "3 p + 2"),
])
def test_bernoulli_expectation(body, value):
    assert _status(f"E[R ~ Bernoulli(p)]({body})", value, "p: interval(0, 1); R, t: real") == "proved"


def test_independent_bernoullis():
    assert _status("E[R_1 ~ Bernoulli(p), R_2 ~ Bernoulli(r)](R_1 R_2 + R_1)", "p r + p",
                   "p, r: interval(0, 1); R_1, R_2: real") == "proved"


def test_bernoulli_and_normal_together():
    # dropout-style: E[(R z)^2] = p (mu^2 + s^2) for R ~ Bernoulli(p), z ~ N(mu, s^2) independent
    assert _status("E[R ~ Bernoulli(p), z ~ Normal(mu, s^2)]((R z)^2)", "p (mu^2 + s^2)",
                   "p: interval(0, 1); R, z, mu: real; s: positive") == "proved"


def test_wrong_bernoulli_expectation_is_refuted():
    r = _step("E[R ~ Bernoulli(p)](R^2)", "p^2", "p: interval(0, 1); R: real")
    assert r.status.value == "refuted"
    assert set(r.counterexample) >= {"p", "lhs", "rhs"}


# -- Var -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lhs,rhs,symbols", [
    ("Var[z ~ Normal(mu, s^2)](2 z + 1)", "4 s^2", "mu, z: real; s: positive"),
    ("Var[z ~ Normal(mu, s^2)](z^2)", "4 mu^2 s^2 + 2 s^4", "mu, z: real; s: positive"),
    ("Var[R ~ Bernoulli(p)](3 R)", "9 p (1 - p)", "p: interval(0, 1); R: real"),
])
def test_variance(lhs, rhs, symbols):
    assert _status(lhs, rhs, symbols) == "proved"


def test_variance_of_a_uniform():
    assert _status("Var[u ~ Uniform(a, a + w)](2 u)", "w^2 / 3", "a, u: real; w: positive") in ("proved", "numeric")


def test_wrong_variance_is_refuted():
    assert _status("Var[z ~ Normal(mu, s^2)](2 z + 1)", "2 s^2", "mu, z: real; s: positive") == "refuted"


# Regression: E[z ~ D](z) is Lambda(z, z), which SymPy turns into its identity function (no args);
# multiplying it, or Var[z ~ D](z) (which squares it), used to crash the parser with IndexError.
@pytest.mark.parametrize("lhs,rhs", [("2 E[z ~ Normal(mu, s^2)](z)", "2 mu"),
                                     ("E[z ~ Normal(mu, s^2)](z)^2 + 1", "mu^2 + 1"),
                                     ("Var[z ~ Normal(mu, s^2)](z)", "s^2"),
                                     ("Var[R ~ Bernoulli(p)](R)", "p (1 - p)")])
def test_expectation_of_the_bare_variable_in_a_product(lhs, rhs):
    assert _status(lhs, rhs, "mu, z, R: real; s: positive; p: interval(0, 1)") == "proved"


# -- KL and JSD between declared densities ---------------------------------------------------------

def test_kl_of_declared_densities_is_its_definition():
    assert _status("KL(q || r)", "E[z ~ q](log(q(z) / r(z)))", "z: real; q, r: density") == "proved"


def test_jsd_of_declared_densities_is_its_definition():
    assert _status("JSD(p || r)", "1/2 E[x ~ p](log(p(x) / ((p(x) + r(x)) / 2))) + "
                                  "1/2 E[x ~ r](log(r(x) / ((p(x) + r(x)) / 2)))",
                   "x: real; p, r: density") == "proved"


def test_kl_of_a_density_with_itself_is_zero():
    assert _status("KL(q || q)", "0", "q: density") == "proved"


# -- Jensen: the right direction is proved, the reversed one is not accepted ------------------------

def test_jensen_square_right_direction():
    assert _status("E[z ~ Normal(mu, s^2)](2 z)^2", "<= E[z ~ Normal(mu, s^2)]((2 z)^2)",
                   "mu, z: real; s: positive") in ("proved", "numeric")


def test_reversed_jensen_without_a_rule_is_refuted():
    # (E[2z])^2 >= E[(2z)^2] is false for s > 0: the difference is -4 s^2
    r = _step("E[z ~ Normal(mu, s^2)](2 z)^2", ">= E[z ~ Normal(mu, s^2)]((2 z)^2)", "mu, z: real; s: positive")
    assert r.status.value == "refuted"


def _jensen_step(rel: str):
    text = textwrap.dedent(f"""\
        proofcheck: 1
        title: Jensen for the square
        symbols:
          mu, z: real
          s: positive
        claim: E[z ~ Normal(mu, s^2)](2 z)^2 {rel} E[z ~ Normal(mu, s^2)]((2 z)^2)
        steps: |
          E[z ~ Normal(mu, s^2)](2 z)^2
            {rel} E[z ~ Normal(mu, s^2)]((2 z)^2)      by jensen
        """)
    report = verify_text(text, "t.yaml", Options(timeout=TIMEOUT))
    assert report.errors == []
    return report.parts[0].steps[0].result


def test_jensen_rule_right_direction():
    r = _jensen_step("<=")
    assert r.status.value == "proved"
    assert "convex" in r.message


def test_jensen_rule_reversed_is_refuted():
    # Jensen goes the other way, so the step is checked as written: Var(2z) > 0 refutes it.
    r = _jensen_step(">=")
    assert r.status.value == "refuted"
    assert r.counterexample and float(r.counterexample["lhs"]) < float(r.counterexample["rhs"])


def test_planted_reversed_jensen_in_the_elbo():
    """tests/data/planted/elbo_jensen_reversed.yaml: `log E_q[p(x, z)/q] <= E_q log(p(x, z)/q) by jensen`.

    The jensen rule sees the concave log on the smaller side: Jensen goes the other way, so the step is
    checked as written, and random densities (quadrature) refute it. Every other step of the file keeps
    its library status (all proved)."""
    (report,) = verify_paths([str(PLANTED / "elbo_jensen_reversed.yaml")], Options(timeout=TIMEOUT))
    assert report.errors == []
    assert report.status.value == "refuted"
    for part in report.parts:
        for step in part.steps:
            if part.name == "lower_bound_jensen" and step.index == 4:
                assert step.result.status.value == "refuted"
                ce = step.result.counterexample
                assert float(ce["lhs"]) > float(ce["rhs"])
            else:
                assert step.result.status.value == "proved", (part.name, step.index, step.result.message)


# -- the performance claim -------------------------------------------------------------------

def test_normal_expectation_of_a_polynomial_is_fast():
    """Issue 3: a Normal expectation of a polynomial goes through moments, not `integrate` (~5 s).

    The bound (1 s) is generous for a kernel result that takes milliseconds: this is not a benchmark."""
    r = _step("E[z ~ Normal(mu, s^2)](z^6 - 3 z^4 + 2 z^3 - z + 7)",
              "mu^6 + 15 mu^4 s^2 + 45 mu^2 s^4 + 15 s^6 - 3 (mu^4 + 6 mu^2 s^2 + 3 s^4) "
              "+ 2 (mu^3 + 3 mu s^2) - mu + 7", "mu, z: real; s: positive")
    assert r.status.value == "proved"
    assert r.seconds < 1
