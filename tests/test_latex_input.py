r"""LaTeX input (the package proofcheck/latex/): seed formulas -> the same SymPy objects as the ASCII grammar,
error positions inside the LaTeX, `steps_latex` / `claim_latex`, Markdown sheets, and seed chains
verified end to end with the seeds' own mistakes found (derivations/SEED_NOTES.md).

Every formula in SEED_FORMULAS is copied verbatim from ../shared/seeds (checked by
test_seed_formulas_are_verbatim when the seeds are present); the expected objects are built by hand
with SymPy. The Markdown fixtures in tests/data/latex/ are verbatim excerpts of the seeds.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import sympy as sp

from testlib import COMMUTATIVE_KEY, REPO, latex_key, run_cli, verify
from proofcheck.errors import ProofcheckError
from proofcheck.kernel.terms import Relation
from proofcheck.latex import (LatexText, Names, chains_for_part, is_latex_sheet, latex_claim, latex_lines,
                              read_markdown, sheet_derivation, translate)
from proofcheck.model import Declaration, Span, Text
from proofcheck.parse import BOUND_INDEX, build_scope, parse_expression_or_relation, parse_step
from proofcheck.read import parse_derivation_text, read_derivation
from proofcheck.verify import Options, verify_sheets

SEEDS = REPO.parent / "shared" / "seeds"
DATA = REPO / "tests" / "data" / "latex"
FAST = Options(timeout=5, seed=0)

# ---------------------------------------------------------------------------------------------
# helpers

_ASSUME = {"real": dict(real=True), "positive": dict(positive=True), "positive integer": dict(integer=True, positive=True),
           "complex": dict(complex=True), "interval(0, 1)": dict(positive=True), "interval(-1, 0)": dict(real=True)}


def S(names: str, kind: str = "real"):
    """SymPy symbols as proofcheck declares them."""
    out = [sp.Symbol(n.strip(), **_ASSUME[kind]) for n in names.split(",")]
    return out if len(out) > 1 else out[0]


def F(name: str, density: bool = False):
    return sp.Function(name, positive=True) if density else sp.Function(name, real=True)


def prime(f, arg, k=1):
    """f^(k)(arg) exactly as proofcheck builds `f'(x)`."""
    u = sp.Symbol("ξ", real=True)
    d = sp.Derivative(f(u), (u, k))
    return d.subs(u, arg) if arg != u else d


def sigmoid(x):
    return 1 / (1 + sp.exp(-x))


def declarations(symbols: dict[str, str]) -> list[Declaration]:
    return [Declaration(tuple(n.strip() for n in k.split(",")), Text(v, "<t>", ((1, 1),)), Span("<t>", 1, 1))
            for k, v in symbols.items()]


def latex_parsed(latex: str, symbols: dict[str, str], latex_names: dict[str, str] | None = None):
    """Translate a LaTeX formula or chain and parse each line as proofcheck does: a list of
    (relation or None, SymPy object)."""
    decls = declarations(symbols)
    names = Names(latex_names=dict(latex_names or {}))
    names.add(decls, [])
    lines = latex_lines(Text(latex, "<seed>", ((1, 1),)), names)
    scope = build_scope(decls, [])
    out = [(None, parse_expression_or_relation(lines[0], scope))]
    for t in lines[1:]:
        step = parse_step(t, scope)
        out.append((step.op, step.body))
    return out


def ascii_parsed(text: str, symbols: dict[str, str]):
    return parse_expression_or_relation(Text(text, "<ascii>", ((1, 1),)), build_scope(declarations(symbols), []))


def explicit(e):
    """1×1 matrix products written out (proofcheck keeps v^T v as ScalarOf(v^T v))."""
    from proofcheck.linalg import ScalarOf
    if isinstance(e, sp.Basic) and e.has(ScalarOf):
        e = e.replace(lambda x: isinstance(x, ScalarOf), lambda x: x.args[0].as_explicit()[0, 0])
    return e


def same(a, b) -> bool:
    """Equal as SymPy objects: structurally, or their difference simplifies to zero."""
    if isinstance(a, Relation) or isinstance(b, Relation):
        return isinstance(a, Relation) and isinstance(b, Relation) and a.op == b.op and same(a.lhs, b.lhs) \
            and same(a.rhs, b.rhs)
    if a == b:
        return True
    a, b = explicit(a), explicit(b)
    if isinstance(a, (sp.MatrixBase, sp.MatrixExpr)) or isinstance(b, (sp.MatrixBase, sp.MatrixExpr)):
        a2 = a.as_explicit() if isinstance(a, sp.MatrixExpr) else sp.Matrix(a)
        b2 = b.as_explicit() if isinstance(b, sp.MatrixExpr) else sp.Matrix(b)
        return a2.shape == b2.shape and all(sp.simplify(x) == 0 for x in (a2 - b2))
    return sp.simplify(sp.expand(a - b)) == 0


# ---------------------------------------------------------------------------------------------
# 1. Seed formulas -> SymPy objects (built by hand)


def _vp():
    a, s1 = S("a, sigma_1")
    return [Relation(a**2 + s1**2, "=", sp.Integer(1))]


def _a_t():
    a, s = S("a_t, sigma_t", "positive")
    return [Relation(a, "=", sp.sqrt(1 - s**2))]


def _a_ts():
    ats, at, as_ = S("a_ts, a_t, a_s", "positive")
    return [Relation(ats, "=", at / as_)]


def _sigma_ts():
    sts, st, ss, ats = S("sigma_ts, sigma_t, sigma_s, a_ts", "positive")
    return [Relation(sts**2, "=", st**2 - ats**2 * ss**2)]


def _sigma_q():
    sq, sts, ss, st = S("sigma_Q, sigma_ts, sigma_s, sigma_t", "positive")
    return [Relation(sq**2, "=", sts**2 * ss**2 / st**2)]


def _snr1():
    st, sts, ss, as_ = S("sigma_t, sigma_ts, sigma_s, a_s", "positive")
    x, xh = S("x, x_hat")
    return [st**2 / (2 * sts**2 * ss**2) * sts**4 * as_**2 / st**4 * (x - xh)**2]


def _snr2():
    st, ats, ss, as_ = S("sigma_t, a_ts, sigma_s, a_s", "positive")
    x, xh = S("x, x_hat")
    return [1 / (2 * ss**2) * as_**2 * (st**2 - ats**2 * ss**2) / st**2 * (x - xh)**2]


def _snr3():
    st, at, ss, as_ = S("sigma_t, a_t, sigma_s, a_s", "positive")
    x, xh = S("x, x_hat")
    return [sp.Rational(1, 2) * (as_**2 * st**2 / ss**2 - at**2 / st**2) * (x - xh)**2]


def _snr4():
    s, t, x, xh = S("s, t, x, x_hat")
    snr = F("SNR")
    return [sp.Rational(1, 2) * (snr(s) - snr(t)) * (x - xh)**2]


def _logratio():
    sq = S("sigma_Q", "positive")
    z, mq, mt = S("z, mu_Q, mu_theta")
    return [-1 / (2 * sq**2) * ((z - mq)**2 - (z - mt)**2)]


def _kl_sign():
    sq = S("sigma_Q", "positive")
    mq, mt = S("mu_Q, mu_theta")
    return [-1 / (2 * sq**2) * (mq - mt)**2]


def _kernel():
    s = S("sigma", "positive")
    x, xi = S("x, x_i")
    d = S("d", "positive integer")
    return [(1 / (sp.sqrt(2 * sp.pi) * s))**d * sp.exp(-(x - xi)**2 / (2 * s**2))]


def _score():
    s = S("sigma", "positive")
    x, x0 = S("x, x_0")
    return [-(x - x0) / s**2]


def _simgd1():
    th, ps, h = S("theta_k, psi_k, h")
    f = F("f")
    return [(th - h * prime(f, th * ps) * ps)**2 + (ps + h * prime(f, th * ps) * th)**2]


def _simgd2():
    th, ps, h = S("theta_k, psi_k, h")
    f = F("f")
    return [th**2 + ps**2 + h**2 * prime(f, th * ps)**2 * (th**2 + ps**2), (">=", th**2 + ps**2)]


def _jac():
    th, ps = S("theta, psi")
    f = F("f")
    f1, f2 = prime(f, th * ps), prime(f, th * ps, 2)
    return [sp.ImmutableMatrix([[-f2 * ps**2, -f1 - f2 * th * ps], [f1 + f2 * th * ps, f2 * th**2]])]


def _jac0():
    f = F("f")
    m = sp.ImmutableMatrix([[0, -prime(f, 0)], [prime(f, 0), 0]])
    return [m, ("=", m)]


def _altgd():
    ng, nd = S("n_g, n_d", "positive integer")
    h = S("h", "positive")
    f1 = prime(F("f"), 0)
    return [sp.ImmutableMatrix([[1, -ng * h * f1], [nd * h * f1, -ng * nd * h**2 * f1**2 + 1]])]


def _noise():
    f = F("f")
    s = S("sigma", "positive")
    m = sp.ImmutableMatrix([[0, -prime(f, 0)], [prime(f, 0), 2 * prime(f, 0, 2) * s**2]])
    return [m, ("=", m)]


def _stepsize():
    h, a = S("h, a", "positive")
    b = S("b")
    return [Relation(h, "<", 2 * a / (a**2 + b**2))]


def _theorem():
    h = S("h", "positive")
    lam = S("lambda", "complex")
    return [Relation(h, "<", 1 / sp.Abs(sp.re(lam)) * 2 / (1 + (sp.im(lam) / sp.re(lam))**2))]


def _loss():
    th, ps = S("theta, psi")
    f, L = F("f"), F("L")
    return [Relation(L(th, ps), "=", f(ps * th) + f(0))]


def _kl001():
    s = S("sigma", "positive")
    mp, mq = S("mu_p, mu_q")
    return [-1 / (2 * s**2) * (-mp**2 + mq**2 - 2 * mq**2 + 2 * mq * mp), ("=", (mp - mq)**2 / (2 * s**2))]


def _convex():
    a, b = S("a, b")
    c = S("c", "positive")
    return [Relation(F("f")(a), "=", c / 2 * a**2 - a * b)]


def _conj1():
    b = S("b")
    c = S("c", "positive")
    return [c / 2 * (1 / c)**2 * b**2 - 1 / c * b**2]


def _conj2():
    b = S("b")
    c = S("c", "positive")
    return [-b**2 / (2 * c)]


def _softplus1():
    lam = S("lambda")
    return [lam * sp.log(-lam / (lam + 1)) + sp.log(1 - lam / (lam + 1))]


def _softplus2():
    lam = S("lambda")
    return [-(lam + 1) * sp.log(lam + 1) + lam * sp.log(-lam)]


def _logistic():
    w, x = S("w, x")
    return [1 / (1 + sp.exp(w * x))]


def _recon():
    s = S("sigma", "positive")
    xi = S("x_i")
    f, mu = F("f_theta"), F("mu_phi")
    return [1 / (2 * s**2) * (xi - f(mu(xi)))**2 + sp.Rational(1, 2) * mu(xi)**2]


def _sigmoid():
    z = S("z")
    return [Relation(sigmoid(z), "=", 1 / (1 + sp.exp(-z)))]


def _gauss():
    z = S("z")
    k = S("k", "positive integer")
    return [Relation(F("p")(z), "=", 1 / (2 * sp.pi)**(k / 2) * sp.exp(-z**2 / 2))]


def _logp():
    z = S("z")
    k = S("k", "positive integer")
    p = F("p", density=True)
    return [Relation(sp.log(p(z)), "=", -k / 2 * sp.log(2 * sp.pi) - z**2 / 2)]


def _vaekl():
    k = S("k", "positive integer")
    sig, mu = sp.MatrixSymbol("sigma", k, 1), sp.MatrixSymbol("mu", k, 1)
    i = sp.Dummy("i", dummy_index=BOUND_INDEX, integer=True)  # a bound variable, as proofcheck makes it
    body = -sp.log(sig[i - 1, 0]**2) - 1 + sig[i - 1, 0]**2 + mu[i - 1, 0]**2
    return [sp.Rational(1, 2) * sp.Sum(body, (i, 1, k))]


def _klint():
    return [ascii_parsed("KL(q || p)", {"z": "real", "q, p": "density"}),
            ("=", ascii_parsed("integral(q(z) log(q(z) / p(z)), z)", {"z": "real", "q, p": "density"}))]


def _dropout():
    X, R = sp.MatrixSymbol("X", 2, 2), sp.MatrixSymbol("R", 2, 2)
    y, w = sp.MatrixSymbol("y", 2, 1), sp.MatrixSymbol("w", 2, 1)
    e = (y - sp.hadamard_product(X, R) * w).as_explicit()
    return [e[0, 0]**2 + e[1, 0]**2]


def _ridge():
    X, G = sp.MatrixSymbol("X", 2, 2), sp.MatrixSymbol("Gamma", 2, 2)
    y = sp.MatrixSymbol("y", 2, 1)
    lam = S("lambda_dropout", "positive")
    return [sp.Inverse(X.T * X + lam * G**2) * X.T * y]


def _expected():
    X, G = sp.MatrixSymbol("X", 2, 2), sp.MatrixSymbol("Gamma", 2, 2)
    y, w = sp.MatrixSymbol("y", 2, 1), sp.MatrixSymbol("w", 2, 1)
    p = sp.Symbol("p", positive=True)
    r = (y - p * X * w).as_explicit()
    gw = (G * w).as_explicit()
    return [(r.T * r)[0, 0] + p * (1 - p) * (gw[0, 0]**2 + gw[1, 0]**2)]


def _det():
    g = S("gamma", "positive")
    lam = S("lambda")
    h = sp.Rational(1, 2)
    return [sp.Determinant(sp.ImmutableMatrix([[-g - lam, 0, -h], [0, -h - lam, 0], [h, 0, -lam]]))]


def _factored():
    g = S("gamma", "positive")
    lam = S("lambda")
    r = sp.sqrt(g**2 - 1)
    return [-(lam + sp.Rational(1, 2)) * (lam - (-g + r) / 2) * (lam - (-g - r) / 2)]


def _sigderiv():
    x = S("x")
    f = F("f")
    return [sigmoid(f(x)) * (1 - sigmoid(f(x))) * sp.Derivative(f(x), x)]


def _dstar():
    x = S("x")
    d, f0, f1 = F("D_star"), F("f_0"), F("f_1")
    return [1 / d(x), ("=", (f0(x) + f1(x)) / f1(x)), ("=", 1 + f0(x) / f1(x))]


def _r1():
    p = S("psi_0")
    return [Relation(p**2, "=", p**2)]


def _expect_reparam():
    syms = {"x, z, epsilon": "real", "f, mu_phi, sigma_phi": "function", "q_phi": "density"}
    return [ascii_parsed("E[z ~ q_phi](f(z))", syms),
            ("=", ascii_parsed("E[epsilon ~ Normal(0, 1)](f(mu_phi(x) + sigma_phi(x) epsilon))", syms))]


R_ = "real"
SEED_FORMULAS = [  # (id, seed file prefix, LaTeX as in the seed, declarations, latex_names, expected)
    ("vp", "000", r"a^2 + \sigma_1^2 = 1", {"a, sigma_1": R_}, {}, _vp),
    ("a_t", "000", r"a_t = \sqrt{1 - \sigma_t^2}", {"a_t, sigma_t": "positive"}, {}, _a_t),
    ("a_ts", "000", r"a_{t|s} = \frac{a_t}{a_s}", {"a_ts, a_t, a_s": "positive"}, {}, _a_ts),
    ("sigma_ts", "000", r"\sigma_{t|s}^2 = \sigma_t^2 - a_{t|s}^2 \sigma_s^2",
     {"sigma_ts, sigma_t, sigma_s, a_ts": "positive"}, {}, _sigma_ts),
    ("sigma_Q", "000", r"\sigma_{Q}^{2} = \frac{\sigma_{t|s}^{2}\sigma_{S}^{2}}{\sigma_{t}^{2}}",
     {"sigma_Q, sigma_ts, sigma_s, sigma_t": "positive"}, {r"\sigma_{S}": "sigma_s"}, _sigma_q),
    ("snr1", "000", r"\frac{\sigma_{t}^{2}}{2\sigma_{t|s}^{2}\sigma_{S}^{2}} \frac{\sigma_{t|s}^{4}a_{S}^{2}}{\sigma_{t}^{4}} "
                    r"\|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}",
     {"sigma_t, sigma_ts, sigma_s, a_s": "positive", "x, x_hat": R_},
     {r"\sigma_{S}": "sigma_s", "a_{S}": "a_s", r"\hat{x}_{\theta}(z_{t};t)": "x_hat"}, _snr1),
    ("snr2", "000", r"\frac{1}{2\sigma_{S}^{2}} \frac{a_{S}^{2}(\sigma_{t}^{2} - a_{t|s}^{2}\sigma_{S}^{2})}{\sigma_{t}^{2}} "
                    r"\|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}",
     {"sigma_t, a_ts, sigma_s, a_s": "positive", "x, x_hat": R_},
     {r"\sigma_{S}": "sigma_s", "a_{S}": "a_s", r"\hat{x}_{\theta}(z_{t};t)": "x_hat"}, _snr2),
    ("snr3", "000", r"\frac{1}{2} \left(\frac{a_{S}^{2}\sigma_{t}^{2}}{\sigma_{S}^{2}} - \frac{a_{t}^{2}}{\sigma_{t}^{2}}\right) "
                    r"\|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}",
     {"sigma_t, a_t, sigma_s, a_s": "positive", "x, x_hat": R_},
     {r"\sigma_{S}": "sigma_s", "a_{S}": "a_s", r"\hat{x}_{\theta}(z_{t};t)": "x_hat"}, _snr3),
    ("snr4", "000", r"\frac{1}{2} \left(SNR(s) - SNR(t)\right) \|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}",
     {"SNR": "function", "s, t, x, x_hat": R_}, {r"\hat{x}_{\theta}(z_{t};t)": "x_hat"}, _snr4),
    ("logratio", "000", r"\frac{-1}{2\sigma_Q^2} [(z - \mu_Q)^2 - (z - \mu_\theta)^2]",
     {"sigma_Q": "positive", "z, mu_Q, mu_theta": R_}, {}, _logratio),
    ("kl_sign", "000", r"\frac{-1}{2\sigma_Q^2} \Big| \Big| \mu_Q - \mu_\theta \Big| \Big|_2^2",
     {"sigma_Q": "positive", "mu_Q, mu_theta": R_}, {}, _kl_sign),
    ("kernel", "000", r"\left(\frac{1}{\sqrt{2\pi}\sigma}\right)^{d} exp\left(\frac{-\|x - x^{(i)}\|^{2}}{2\sigma^{2}}\right)",
     {"sigma": "positive", "x, x_i": R_, "d": "positive integer"}, {}, _kernel),
    ("score", "000", r"-\frac{x - x_0}{\sigma^2}", {"sigma": "positive", "x, x_0": R_}, {}, _score),
    ("simgd1", "000", r"(\theta_k - hf'(\theta_k \psi_k) \psi_k)^2 + (\psi_k + hf'(\theta_k \psi_k) \theta_k)^2",
     {"theta_k, psi_k, h": R_, "f": "function"}, {}, _simgd1),
    ("simgd2", "000", r"\theta_k^2 + \psi_k^2 + h^2 f'(\theta_k \psi_k)^2 (\theta_k^2 + \psi_k^2) \ge \theta_k^2 + \psi_k^2",
     {"theta_k, psi_k, h": R_, "f": "function"}, {}, _simgd2),
    ("jacobian", "000", r"\begin{pmatrix} -f''(\theta\psi)\psi^2 & -f'(\theta\psi) - f''(\theta\psi)\theta\psi \\ "
                        r"f'(\theta\psi) + f''(\theta\psi)\theta\psi & f''(\theta\psi)\theta^2 \end{pmatrix}",
     {"theta, psi": R_, "f": "function"}, {}, _jac),
    ("jacobian_origin", "000", r"v'(0,0) = \begin{pmatrix} 0 & -f'(0) \\ f'(0) & 0 \end{pmatrix}", {"f": "function"},
     {"v'(0,0)": "[[0, -f'(0)], [f'(0), 0]]"}, _jac0),
    ("altgd", "000", r"\begin{pmatrix} 1 & -n_g h f'(0) \\ n_d h f'(0) & -n_g n_d h^2 f'(0)^2 + 1 \end{pmatrix}",
     {"n_g, n_d": "positive integer", "h": "positive", "f": "function"}, {}, _altgd),
    ("instance_noise", "000", r"\tilde{v}'(0,0) = \begin{pmatrix} 0 & -f'(0) \\ f'(0) & 2f''(0)\sigma^2 \end{pmatrix}",
     {"f": "function", "sigma": "positive"}, {r"\tilde{v}'(0,0)": "[[0, -f'(0)], [f'(0), 2 f''(0) sigma^2]]"}, _noise),
    ("step_size", "000", r"h < \frac{2a}{a^2 + b^2}", {"h, a": "positive", "b": R_}, {}, _stepsize),
    ("theorem", "000", r"h < \frac{1}{|Re(\lambda)|} \frac{2}{1 + \left(\frac{Im(\lambda)}{Re(\lambda)}\right)^2}",
     {"h": "positive", "lambda": "complex"}, {}, _theorem),
    ("gan_loss", "000", r"L(\theta, \psi) = f(\psi\theta) + f(0)", {"theta, psi": R_, "f": "function", "L": "function(2)"},
     {}, _loss),
    ("kl_gauss", "001", r"-\frac{1}{2\sigma^2} \left[-\mu_p^2 + \mu_q^2 - 2\mu_q^2 + 2\mu_q \mu_p \right] = "
                        r"\frac{(\mu_p - \mu_q)^2}{2\sigma^2}", {"sigma": "positive", "mu_p, mu_q": R_}, {}, _kl001),
    ("convex", "001", r"f(a) = \frac{c}{2} \|a\|_2^2 - a^T b", {"a, b": R_, "c": "positive", "f": "function"}, {}, _convex),
    ("conjugate1", "001", r"\frac{c}{2} \left(\frac{1}{c}\right)^2 \|b\|_2^2 - \frac{1}{c} \|b\|_2^2",
     {"b": R_, "c": "positive"}, {}, _conj1),
    ("conjugate2", "001", r"-\frac{1}{2c} \|b\|_2^2", {"b": R_, "c": "positive"}, {}, _conj2),
    ("softplus1", "001", r"\lambda \log\left(\frac{-\lambda}{\lambda+1}\right) + \log\left(1 - \frac{\lambda}{\lambda+1}\right)",
     {"lambda": "interval(-1, 0)"}, {}, _softplus1),
    ("softplus2", "001", r"-(\lambda+1) \log(\lambda+1) + \lambda \log(-\lambda)", {"lambda": "interval(-1, 0)"}, {},
     _softplus2),
    ("logistic", "001", r"\frac{1}{1 + \exp(w^T x)}", {"w, x": R_}, {}, _logistic),
    ("reconstruction", "002", r"\frac{1}{2\sigma^2} \|x_i - f_\theta(\mu_\phi(x_i))\|_2^2 + \frac{1}{2} \|\mu_\phi(x_i)\|_2^2",
     {"sigma": "positive", "x_i": R_, "f_theta, mu_phi": "function"}, {}, _recon),
    ("reparametrization", "002", r"E_{z \sim q_\phi(\cdot|x)} [f(z)] = E_{\epsilon \sim N(0, I)} "
                                 r"[f(\mu_\phi(x) + \sigma_\phi(x) \odot \epsilon)]",
     {"x, z, epsilon": R_, "f, mu_phi, sigma_phi": "function", "q_phi": "density"}, {"I": "1"}, _expect_reparam),
    ("sigmoid", "003", r"\sigma(z) = \frac{1}{1 + e^{-z}}", {"z": R_}, {}, _sigmoid),
    ("gaussian", "003", r"p(z) = \frac{1}{(2\pi)^{k/2}} e^{-\frac{1}{2} z^T z}",
     {"z": R_, "k": "positive integer", "p": "function"}, {}, _gauss),
    ("log_gaussian", "003", r"\log p(z) = -\frac{k}{2} \log 2\pi - \frac{1}{2} z^T z",
     {"z": R_, "k": "positive integer", "p": "density"}, {}, _logp),
    ("vae_kl", "003", r"\frac{1}{2} \sum_{i=1}^k \left[-\log \sigma_i^2 - 1 + \sigma_i^2 + \mu_i^2 \right]",
     {"k": "positive integer", "sigma, mu": "vector(k)"}, {}, _vaekl),
    ("kl_integral", "003", r"D_{KL}(q(z|x) \| p(z)) = \int q(z|x) \cdot \log \frac{q(z|x)}{p(z)} dz",
     {"z": R_, "q, p": "density"}, {"q(z|x)": "q(z)"}, _klint),
    ("dropout_loss", "004", r"||\boldsymbol{y} - (\boldsymbol{X} \odot \boldsymbol{R})\boldsymbol{w}||^2",
     {"X, R": "matrix(2, 2)", "y, w": "vector(2)"}, {}, _dropout),
    ("dropout_solution", "004", r"(\boldsymbol{X}^{\top}\boldsymbol{X} + \lambda^{\mathrm{dropout}}\Gamma^{2})^{-1}"
                                r"\boldsymbol{X}^{\top}\boldsymbol{y}",
     {"X, Gamma": "matrix(2, 2)", "y": "vector(2)", "lambda_dropout": "positive"}, {}, _ridge),
    ("dropout_expected", "004", r"(\boldsymbol{y} - p \boldsymbol{X} \boldsymbol{w})^{\top} (\boldsymbol{y} - p "
                                r"\boldsymbol{X} \boldsymbol{w}) + p(1-p) \|\Gamma \boldsymbol{w}\|^{2}",
     {"X, Gamma": "matrix(2, 2)", "y, w": "vector(2)", "p": "interval(0, 1)"}, {}, _expected),
    ("char_det", "004", r"\det\begin{pmatrix} -\gamma - \lambda & 0 & -1/2 \\ 0 & -1/2 - \lambda & 0 \\ 1/2 & 0 & -\lambda "
                        r"\end{pmatrix}", {"gamma": "positive", "lambda": R_}, {}, _det),
    ("char_factored", "004", r"-(\lambda + 1/2)(\lambda - \frac{-\gamma + \sqrt{\gamma^2 - 4\frac{1}{4}}}{2})"
                             r"(\lambda - \frac{-\gamma - \sqrt{\gamma^2 - 4\frac{1}{4}}}{2})",
     {"gamma": "positive", "lambda": R_}, {}, _factored),
    ("sigmoid_chain_rule", "004", r"\sigma(f(x))(1 - \sigma(f(x)))\frac{df(x)}{dx}", {"x": R_, "f": "function"}, {},
     _sigderiv),
    ("optimal_discriminator", "004", r"\frac{1}{D^*(\boldsymbol{x})} = \frac{f_0(\boldsymbol{x}) + f_1(\boldsymbol{x})}"
                                     r"{f_1(\boldsymbol{x})} = 1 + \frac{f_0(\boldsymbol{x})}{f_1(\boldsymbol{x})}",
     {"x": R_, "D_star, f_0, f_1": "function"}, {}, _dstar),
    ("gradient_penalty", "004", r"\|\psi_0\|^2 = \psi_0^2", {"psi_0": R_}, {}, _r1),
]


def test_at_least_thirty_seed_formulas():
    assert len(SEED_FORMULAS) >= 30
    assert len({f[0] for f in SEED_FORMULAS}) == len(SEED_FORMULAS)
    assert {f[1] for f in SEED_FORMULAS} == {"000", "001", "002", "003", "004"}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seeds (../shared/seeds) are not present")
def test_seed_formulas_are_verbatim():
    texts = {p.name[:3]: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    for ident, seed, latex, *_ in SEED_FORMULAS:
        assert latex in texts[seed], ident


@pytest.mark.parametrize("ident, seed, latex, symbols, latex_names, expected", SEED_FORMULAS,
                         ids=[f[0] for f in SEED_FORMULAS])
def test_seed_formula(ident, seed, latex, symbols, latex_names, expected):
    got = latex_parsed(latex, symbols, latex_names)
    want = []
    for w in expected():  # a relation `a = b` is a chain: first line a, step `= b`
        want += [w.lhs, (w.op, w.rhs)] if isinstance(w, Relation) else [w]
    assert len(got) == len(want), [g for _, g in got]
    for (op, value), w in zip(got, want):
        w_op, w_value = w if isinstance(w, tuple) else (None, w)
        assert op == w_op
        assert same(value, w_value), f"{ident}: {value} != {w_value}"


# ---------------------------------------------------------------------------------------------
# 2. The translation itself (ASCII text the parser reads)


N = Names(symbols={n: "scalar" for n in "x y z a b c k theta sigma_t mu_q mu_p".split()} | {"f": "function",
                                                                                               "q": "density"})


@pytest.mark.parametrize("latex, ascii_text", [
    (r"\frac{a}{b c}", "a/(b c)"),
    (r"\dfrac{a+b}{c}", "(a + b)/c"),
    (r"\frac12 x", "1/2 x"),
    (r"\sqrt{x^2 + 1}", "sqrt(x^2 + 1)"),
    (r"\sqrt[3]{x}", "(sign(x) abs(x)^(1/3))"),  # an odd root is the real one
    (r"\sqrt[4]{x}", "x^(1/4)"),
    (r"x^{-1}", "x^-1"),
    (r"e^{-x^2}", "exp(-x^2)"),
    (r"\log x y + z", "log(x y) + z"),
    (r"\log(x) y", "log(x) y"),
    (r"\log x \log y", "log(x) log(y)"),
    (r"\log[1 - x]", "log(1 - x)"),
    (r"\exp\left(-\frac{1}{2}x\right)", "exp(-1/2 x)"),
    (r"x \cdot y \times z", "x * y * z"),
    (r"\sum_{k=1}^{3} k x + 1", "sum(k x, k, 1, 3) + 1"),
    (r"\int_0^1 x^2 \, dx", "integral(x^2, x, 0, 1)"),
    (r"\int f(x) \mathrm{d}x", "integral(f(x), x)"),
    (r"\frac{d}{dx} \log f(x)", "diff(log(f(x)), x)"),
    (r"\frac{\partial^2 f(x)}{\partial x^2}", "diff(f(x), x, 2)"),
    (r"\nabla_x f(x)", "grad(f(x), x)"),
    (r"\lim_{x \to 0} \frac{\sin x}{x}", "limit(sin(x)/x, x, 0)"),
    (r"\mathbb{E}_{z \sim q}[z^2]", "E[z ~ q](z^2)"),
    (r"\mathbb{E}_{q}[\log q(z)]", "E[z ~ q](log(q(z)))"),
    (r"\mathbb{E}_{q(z)}[z]", "E[z ~ q](z)"),
    (r"\mathrm{Var}_{z \sim q}[z]", "Var[z ~ q](z)"),
    (r"D_{\mathrm{KL}}(q \parallel \mathcal{N}(\mu_q, 1))", "KL(q || Normal(mu_q, 1))"),
    (r"\mathrm{KL}(q(z) \| q(z))", "KL(q || q)"),
    (r"\mathcal{N}(x; \mu_q, 1)", "pdf(Normal(mu_q, 1), x)"),
    (r"\|x - y\|_2^2", "||x - y||^2"),
    (r"\left\| x \right\|", "||x||"),
    (r"|x - y|", "|x - y|"),
    (r"\langle x, y \rangle", "⟨x, y⟩"),
    (r"x \odot y", "x .* y"),
    (r"x^\top y", "x^T y"),
    (r"x^{T} y", "x^T y"),
    (r"\sigma(x)", "sigmoid(x)"),
    (r"f'(x) + f''(0)", "f'(x) + f''(0)"),
    (r"\begin{bmatrix} x \\ y \end{bmatrix}", "[x, y]"),
    (r"\begin{vmatrix} a & b \\ c & x \end{vmatrix}", "det([[a, b], [c, x]])"),
    (r"xy", "x y"),
    (r"2\pi", "2 pi"),
    (r"\infty", "oo"),
    (r"\sigma_t^2", "sigma_t^2"),
    (r"\sigma^2_t", "sigma_t^2"),
    (r"\big( x \big) \Big[ y \Big]", "(x) (y)"),
    (r"2\mathrm{i} x", "2 I x"),
])
def test_translation(latex, ascii_text):
    assert translate(latex, N) == ascii_text


def test_default_names_and_latex_names():
    names = Names(symbols={"sigma_ts": "scalar", "mu_phi_j": "scalar", "x_hat": "scalar", "alpha": "scalar",
                           "J_bar_star": "matrix", "w_dropout": "scalar", "psi0": "scalar"},
                  latex_names={r"\sigma_{t|s}": "sigma_ts"})
    assert translate(r"\sigma_{t|s}", names) == "sigma_ts"
    assert translate(r"\sigma_{t | s}", names) == "sigma_ts"
    assert translate(r"\mu_{\phi,j}", names) == "mu_phi_j"  # the first declared candidate
    assert translate(r"\hat{x}", names) == "x_hat"
    assert translate(r"\alpha", names) == "alpha"
    assert translate(r"\bar{J}^*", names) == "J_bar_star"
    assert translate(r"w^{\text{dropout}}", names) == "w_dropout"
    assert translate(r"\psi_0", names) == "psi0"
    assert translate(r"\boldsymbol{\alpha}", names) == "alpha"


def test_latex_names_snippets():
    names = Names(symbols={"snr_s": "scalar", "x": "scalar", "h": "function"},
                  latex_names={"SNR(s)": "snr_s", r"h_\phi(G_\theta(z))": "h(x)", r"\mathbb{E}_{z \sim p}": "",
                               r"\sum_z q(z)": "E[z ~ Normal(0, 1)]"})
    assert translate(r"2 SNR(s)", names) == "2 snr_s"
    assert translate(r"\sigma(h_\phi(G_\theta(z)))", names) == "sigmoid(h(x))"
    assert translate(r"\mathbb{E}_{z \sim p}[x]", names) == "(x)"  # mapped to nothing: the bracket stays
    assert translate(r"\sum_z q(z) x^2", names) == "E[z ~ Normal(0, 1)](x^2)"


def test_defined_value_written_with_its_dependencies_is_the_value():
    # seed 000, line 155: `\mu_Q(z_t, x; s, t)` names the key's value mu_Q and what it depends on
    names = Names(symbols={"z_t": "scalar", "x": "scalar", "s": "scalar", "t": "scalar", "f": "function"},
                  defines={"mu_Q": None, "g": 1})
    assert translate(r"\mu_{Q}(z_{t},x;s,t) + 1", names) == "mu_Q + 1"
    assert translate(r"\mu_Q(s, t)", names) == "mu_Q"
    # a function or a definition with parameters is still called with its arguments
    assert translate(r"f(s, t)", names) == "f(s, t)"
    assert translate(r"g(s)", names) == "g(s)"
    # one argument without a separator is not a list of dependencies: left as written for the reader
    assert translate(r"\mu_Q(s)", names) == "mu_Q(s)"


# ---------------------------------------------------------------------------------------------
# 3. Errors: a message a student understands, at the line and column of the LaTeX


def error_of(latex: str, names: Names = N) -> ProofcheckError:
    with pytest.raises(ProofcheckError) as info:
        translate(latex, names)
    return info.value


@pytest.mark.parametrize("latex, col, words", [
    (r"\frac{1}{2\sigma_{t|s}^2}", 11, ["`\\sigma_{t|s}`", "sigma_ts", "not declared", "latex_names"]),
    (r"x + \frac{1}{", 13, ["never closed"]),
    (r"\sum_{i} x", 1, ["no range", "\\sum_{i=1}^{N}"]),
    (r"x \pm y", 3, ["two values"]),
    (r"\int x^2", 1, ["differential"]),
    (r"\mathbb{E}[x]", 1, ["distribution", "\\sim"]),
    (r"\|x\|_1", 6, ["Euclidean"]),
    (r"x \foo y", 3, ["unknown LaTeX command \\foo"]),
    (r"a + \dots + b", 5, ["\\dots"]),
    (r"(x + y", 1, ["never closed"]),
    (r"D_{KL}", 1, ["two distributions"]),
])
def test_translation_errors(latex, col, words):
    err = error_of(latex)
    assert err.span.line == 1 and err.span.col == col, (err.span, err.message)
    for w in words:
        assert w in err.message, err.message


def test_parse_errors_map_back_into_the_latex(tmp_path):
    """An error found by proofcheck.parse on the ASCII text points at the LaTeX that produced it."""
    text = textwrap.dedent(r"""
        proofcheck: 1
        title: errors in steps_latex
        symbols:
          x: real
          f: function
        claim: x = x
        steps_latex: |
          x
            = \frac{1}{2} f(x, x)
            = x
    """).lstrip()
    doc = verify(text)
    (err,) = doc["errors"]
    assert (err["line"], err["column"]) == (9, 19)  # the `f` of `f(x, x)`
    assert "f takes 1 argument" in err["message"]
    assert [s["status"] for s in doc["parts"][0]["steps"]] == ["error", "unknown"]


def test_translation_error_is_reported_on_its_step():
    text = textwrap.dedent(r"""
        proofcheck: 1
        title: approx
        symbols:
          x: positive
        claim: x = x
        steps_latex: |
          x \\
          &\approx x + 0 \\
          &= x
    """).lstrip()
    doc = verify(text)
    (err,) = doc["errors"]
    assert (err["line"], err["column"]) == (8, 4)
    assert "≈ is not a relation proofcheck can check" in err["message"]
    assert [s["status"] for s in doc["parts"][0]["steps"]] == ["error", "unknown"]


def test_undeclared_name_in_steps_latex_points_into_the_file():
    text = textwrap.dedent(r"""
        proofcheck: 1
        title: undeclared
        symbols:
          a_t, sigma_t: positive
        claim_latex: 'a_t = \sqrt{1 - \sigma_t^2}'
        steps_latex: |
          a_t
            = \sqrt{1 - \sigma_{t|s}^2}
    """).lstrip()
    doc = verify(text)
    (err,) = doc["errors"]
    assert (err["line"], err["column"]) == (8, 17)
    assert "`\\sigma_{t|s}` (read as `sigma_ts`) is not declared under `symbols:`" in err["message"]


def test_claim_latex_errors_point_into_the_claim():
    text = textwrap.dedent(r"""
        proofcheck: 1
        title: bad claim
        symbols:
          x: real
        claim_latex: '\frac{x}{2} = y'
        steps_latex: |
          x = x
    """).lstrip()
    doc = verify(text)
    (err,) = doc["errors"]
    assert (err["line"], err["column"]) == (5, 29)
    assert "`y` is not declared" in err["message"]


# ---------------------------------------------------------------------------------------------
# 4. steps_latex / claim_latex in derivation files


SNR_YAML = r"""
proofcheck: 1
title: The SNR steps of seed 000, question 2 (e), as steps_latex
symbols:
  a_s, a_t, sigma_s, sigma_t: interval(0, 1)
  x, x_hat, z_t: real
define:
  - a_ts := a_t / a_s
  - sigma_ts := sqrt(sigma_t^2 - a_ts^2 sigma_s^2)
  - sigma_Q2 := sigma_ts^2 sigma_s^2 / sigma_t^2
  - mu_Q := a_ts sigma_s^2 / sigma_t^2 z_t + a_s sigma_ts^2 / sigma_t^2 x
  - mu_theta := a_ts sigma_s^2 / sigma_t^2 z_t + a_s sigma_ts^2 / sigma_t^2 x_hat
  - snr_s := a_s^2 / sigma_s^2
  - snr_t := a_t^2 / sigma_t^2
given:
  s_before_t: a_t^2 / sigma_t^2 < a_s^2 / sigma_s^2
latex_names:
  '\sigma_{S}': sigma_s
  'a_{S}': a_s
  '\sigma_{Q}^{2}(s,t)': sigma_Q2
  '\hat{x}_{\theta}(z_{t};t)': x_hat
  'SNR(s)': snr_s
  'SNR(t)': snr_t
claim_latex: '\frac{1}{2\sigma_{Q}^{2}(s,t)} \|\mu_{Q} - \mu_{\theta}\|_{2}^{2} = \frac{1}{2} \left(SNR(s) - SNR(t)\right) \|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}'
steps_latex: |
  \frac{1}{2\sigma_{Q}^{2}(s,t)} \|\mu_{Q} - \mu_{\theta}\|_{2}^{2}
    = \frac{\sigma_{t}^{2}}{2\sigma_{t|s}^{2}\sigma_{S}^{2}} \frac{\sigma_{t|s}^{4}a_{S}^{2}}{\sigma_{t}^{4}} \|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}
    = \frac{1}{2\sigma_{S}^{2}} \frac{a_{S}^{2}\sigma_{t|s}^{2}}{\sigma_{t}^{2}} \|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}
    = \frac{1}{2\sigma_{S}^{2}} \frac{a_{S}^{2}(\sigma_{t}^{2} - a_{t|s}^{2}\sigma_{S}^{2})}{\sigma_{t}^{2}} \|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}
    = \frac{1}{2\sigma_{S}^{2}} \frac{a_{S}^{2}\sigma_{t}^{2} - a_{t}^{2}}{\sigma_{t}^{2}} \|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}
    = \frac{1}{2} \left(\frac{a_{S}^{2}\sigma_{t}^{2}}{\sigma_{S}^{2}} - \frac{a_{t}^{2}}{\sigma_{t}^{2}}\right) \|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}
    = \frac{1}{2} \left(SNR(s) - SNR(t)\right) \|x - \hat{x}_{\theta}(z_{t};t)\|_{2}^{2}
"""


def test_steps_latex_one_step_per_line_finds_the_seed_snr_slips():
    doc = verify(SNR_YAML)
    assert doc["errors"] == []
    part = doc["parts"][0]
    # The chain reaches its claim, but a claim is established only when every step holds (FORMAT.md 3).
    assert part["claim_established"] is False and part["claim_message"] == "steps 4, 5, 6 are refuted"
    assert [s["status"] for s in part["steps"]] == ["proved"] * 3 + ["refuted"] * 3
    assert [s["line"] for s in part["steps"]] == list(range(26, 32))
    assert part["steps"][3]["text"] == "1/(2 sigma_s^2) (a_s^2 sigma_t^2 - a_t^2)/sigma_t^2 ||x - x_hat||^2"


def test_steps_latex_aligned_chain_and_rules():
    text = textwrap.dedent(r"""
        proofcheck: 1
        title: an aligned chain with justifications
        symbols:
          x: real
          a: positive
        define:
          - g(u) := u^2 + 1
        claim: g(x) + a = x^2 + 1 + a
        steps_latex: |
          \begin{aligned}
          g(x) + a &= x^2 + 1 + a \quad \text{by definition} \\
                   &\ge x^2 + 1 \\
                   &= x^2 + 1 + a - a % by algebra
          \end{aligned}
    """).lstrip()
    doc = verify(text)
    part = doc["parts"][0]
    assert [s["rule"] for s in part["steps"]] == ["definition", "", "algebra"]
    assert [s["status"] for s in part["steps"]] == ["proved", "proved", "proved"]
    assert [s["relation"] for s in part["steps"]] == ["=", ">=", "="]
    assert part["claim_established"] is False  # = then >= gives >=, the claim says =


def test_steps_latex_statement_chain():
    text = textwrap.dedent(r"""
        proofcheck: 1
        title: a statement chain
        symbols:
          a_t, sigma_t: interval(0, 1)
        claim_latex: 'a_t^2 + \sigma_t^2 = 1 \iff a_t = \sqrt{1 - \sigma_t^2}'
        steps_latex: |
          a_t^2 + \sigma_t^2 = 1 \iff a_t^2 = 1 - \sigma_t^2
            \iff a_t = \sqrt{1 - \sigma_t^2} \quad \text{by solve(a_t)}
    """).lstrip()
    doc = verify(text)
    part = doc["parts"][0]
    assert doc["errors"] == []
    assert [(s["relation"], s["rule"], s["status"]) for s in part["steps"]] == \
        [("<==>", "", "proved"), ("<==>", "solve(a_t)", "proved")]
    assert part["claim_established"] is True


def test_steps_latex_must_be_one_chain():
    text = textwrap.dedent(r"""
        proofcheck: 1
        title: two chains
        symbols:
          x: real
        claim: x = x
        steps_latex: |
          x = x \\
          x + 1 = 1 + x
    """).lstrip()
    doc = verify(text)
    (err,) = doc["errors"]
    assert err["line"] == 8 and "one chain" in err["message"]


def test_read_accepts_the_latex_keys_only_once():
    both = "proofcheck: 1\ntitle: t\nsymbols:\n  x: real\nclaim: x = x\nsteps: |\n  x\n  = x\nsteps_latex: |\n  x = x\n"
    with pytest.raises(ProofcheckError, match="either `steps` or `steps_latex`"):
        parse_derivation_text(both, "t.yaml")
    parts = textwrap.dedent(r"""
        proofcheck: 1
        title: parts with LaTeX
        symbols:
          x: positive
        parts:
          - name: one
            claim_latex: '\frac{x}{x} = 1'
            steps_latex: '\frac{x}{x} = 1'
          - name: two
            claim: x = x
            steps: |
              x
                = x
    """).lstrip()
    d = parse_derivation_text(parts, "p.yaml")
    assert [t.text for t in d.parts[0].steps] == ["x/x", "= 1"]
    assert isinstance(d.parts[0].claim, LatexText) and d.parts[0].claim.text == "x/x = 1"


# ---------------------------------------------------------------------------------------------
# 5. Markdown sheets


def test_markdown_blocks_chains_and_prose():
    text = textwrap.dedent(r"""
        # Homework

        Some prose with inline math $x = y$ that is read, and a name $x$ in a sentence that is not a chain.

        $$a = b + 0 = b$$

        More prose, then a continuation in its own block:

        $$= b \cdot 1$$

        $$z \sim \mathcal{N}(0, 1), \quad \text{where } a > 0$$

        \[ \begin{aligned} c &= c \\ &\le c + a^2 \end{aligned} \]

        ```
        $$ not math: code $$
        ```
    """)
    key = parse_derivation_text("proofcheck: 1\ntitle: k\nsymbols:\n  a, b, c, z: real\nclaim: a = a\n"
                                "steps: |\n  a\n  = a\n", "key.yaml")
    sheet = read_markdown(text, "s.md", key)
    assert sheet.errors == []
    assert sheet.skipped == 2  # `z ~ N(0, 1)` and the condition `a > 0`
    assert [[t.text for t in c.steps] for c in sheet.chains] == [["x", "= y"], ["a", "= b + 0", "= b", "= b * 1"],
                                                                  ["c", "= c", "<= c + a^2"]]
    assert [c.inline for c in sheet.chains] == [True, False, False]
    assert [(c.steps[3].span.line, c.steps[3].span.col) for c in sheet.chains[1:2]] == [(10, 3)]
    assert sheet.chains[1].claim.text == "a = b * 1"
    assert is_latex_sheet(text) and not is_latex_sheet("x = 1\n= 1\n")


def test_markdown_implication_starts_a_statement_chain():
    text = "$$f = 2 a - 2 = 0$$\n\n$$\\Longrightarrow a = 1$$\n"
    names_key = parse_derivation_text("proofcheck: 1\ntitle: k\nsymbols:\n  a, f: real\nclaim: a = a\n"
                                      "steps: |\n  a\n  = a\n", "key.yaml")
    sheet = read_markdown(text, "s.md", names_key)
    assert [[t.text for t in c.steps] for c in sheet.chains] == [["f", "= 2 a - 2"], ["2 a - 2 = 0", "==> a = 1"]]
    assert [c.statement for c in sheet.chains] == [False, True]


def test_markdown_part_markers():
    key = read_derivation(DATA / "seed004_q5.key.yaml")
    text = "part: main\n\n$$\\det(\\bar{J}^* - \\lambda \\mathbf{I}) = -(\\lambda + 1/2)(\\lambda^2 + \\gamma\\lambda + 1/4)$$\n" \
           "\n$$\\psi_0 = \\psi_0$$\n\n<!-- part: nope -->\n"
    sheet = read_markdown(text, "s.md", key)
    assert [c.part for c in sheet.chains] == ["main", "main"]
    assert len(sheet.errors) == 1 and "no part named `nope`" in sheet.errors[0].message
    assert chains_for_part(sheet, "main") == sheet.chains
    derivation = sheet_derivation(sheet, key)
    assert [p.name for p in derivation.parts] == ["main", "main (2)"]
    assert derivation.parts[0].claim is key.parts[0].claim  # checked against the key's claim


def _run_sheet(name: str) -> dict:
    from proofcheck.report.json_report import file_dict
    (report,) = verify_sheets([str(DATA / f"{name}.md")], str(DATA / f"{name}.key.yaml"), FAST)
    return file_dict(report)


def _chain(doc: dict, line: int) -> dict:
    return next(p for p in doc["parts"] if p["steps"] and p["steps"][0]["line"] == line)


def test_seed000_snr_chain_end_to_end():
    """SEED_NOTES 000/2 item 8: three false transitions in the SNR simplification."""
    doc = _run_sheet("seed000_q2e_snr")
    assert doc["errors"] == []
    (part,) = doc["parts"]
    assert [s["status"] for s in part["steps"]] == ["proved"] * 4 + ["refuted"] * 3
    # The chain's own claim (its first line = its last) is reached, but steps 5-7 are refuted.
    assert part["claim_established"] is False and part["claim_message"] == "steps 5, 6, 7 are refuted"
    assert part["steps"][4]["counterexample"] is not None


def test_seed000_kl_sign_end_to_end():
    """SEED_NOTES 000/2 item 7: D_KL = -1/(2 sigma_Q^2) ||mu_Q - mu_theta||^2 has the wrong sign."""
    doc = _run_sheet("seed000_q2e_kl")
    first = next(p for p in doc["parts"] if len(p["steps"]) == 3)
    assert [s["status"] for s in first["steps"]] == ["proved", "proved", "error"]
    sign = next(p for p in doc["parts"] if p["claim"] == "kl = -1/(2 sigma_Q2) ||mu_Q - mu_theta||^2")
    assert [s["status"] for s in sign["steps"]] == ["refuted"]
    # the row before it, with E_p[z] (the mean mu_Q), is right
    mean = next(p for p in doc["parts"] if "E[z ~ Normal(mu_Q, sigma_Q2)](z)" in p["claim"])
    assert [s["status"] for s in mean["steps"]] in (["proved"], ["numeric"])
    # the second row of the seed's block has `(` closed by `]`: reported at that `]`
    err = next(e for e in doc["errors"] if "does not match" in e["message"])
    assert (err["line"], err["column"]) == (1, 236)


def test_seed003_saturating_gradient_end_to_end():
    """SEED_NOTES 003/1 item 2: sigma = 0 is substituted as if attained."""
    doc = _run_sheet("seed003_q1")
    # line 10's first row, `L_G = E_{z \sim N(0,1)}[\log[1 - ...]` (a `]` missing), is a chain of its own: the
    # expectation's bracket closes at the end of its row
    chain = next(p for p in doc["parts"] if p["steps"] and p["steps"][0]["line"] == 10 and len(p["steps"]) == 4)
    assert [s["status"] for s in chain["steps"]] == ["proved", "proved", "refuted", "proved"]
    assert [s["line"] for s in chain["steps"]] == [10, 10, 14, 14]  # the last two from the `$$= ...$$` block
    assert chain["steps"][2]["text"] == "1/(1 - 0) * 0 (0 - 1) * diff(h(theta, z), theta)"
    errors = {(e["line"], e["column"]): e["message"] for e in doc["errors"]}
    assert "≈ is not a relation" in errors[(4, 39)]
    assert not any("never closed" in m for m in errors.values())


def test_seed001_kl_end_to_end():
    """Seed 001, 1(d): the factor -1/(2 sigma^2) is dropped in one step and comes back in the next."""
    doc = _run_sheet("seed001_q1d")
    chain = _chain(doc, 3)
    assert [s["status"] for s in chain["steps"]] == ["proved", "proved", "proved", "refuted", "refuted"]
    # the question restated with a final `?` (`\rightarrow KL(q(z|\mu), p(z))?`) is dropped like a final `.`
    assert not any("?" in e["message"] for e in doc["errors"])


def test_seed004_dirac_gan_end_to_end():
    """SEED_NOTES 004/5 item 3: the Jacobian entry (1, 3) misses -psi_0 theta g(C); the characteristic
    polynomial of the penalised Jacobian is right."""
    doc = _run_sheet("seed004_q5")
    assert doc["errors"] == []
    jac, poly = doc["parts"]
    assert [s["status"] for s in jac["steps"]] == ["proved", "refuted"]
    assert [s["status"] for s in poly["steps"]] == ["proved"] * 5
    assert poly["status"] == "proved"


def test_cli_verify_sheet_with_key():
    code, out, err = run_cli(["verify", DATA / "seed004_q5.md", "--key", DATA / "seed004_q5.key.yaml",
                              "--format", "json", "--timeout", "5", "--no-cache"])
    doc = json.loads(out)
    assert code == 1, err  # a step is refuted
    assert [p["status"] for p in doc["files"][0]["parts"]] == ["refuted", "proved"]
    code, out, err = run_cli(["verify", DATA / "seed003_q1.md", "--key", DATA / "seed003_q1.key.yaml",
                              "--timeout", "5", "--no-cache"])
    assert code == 2  # an input error (the ≈)
    assert "seed003_q1.md:4:39: error: ≈ is not a relation" in " ".join(out.split())


def test_fixtures_are_verbatim_seed_excerpts():
    if not SEEDS.is_dir():
        pytest.skip("the seeds (../shared/seeds) are not present")
    texts = {p.name[:3]: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    for md in DATA.glob("*.md"):
        for line in md.read_text(encoding="utf-8").splitlines():
            assert line in texts[md.name[4:7]], (md.name, line[:60])


def test_sheet_chains_for_grading():
    """The hook for `proofcheck grade`: every chain of a sheet for a key part, in the order written."""
    from proofcheck.latex import sheet_chains
    key = read_derivation(DATA / "seed003_q1.key.yaml")
    chains, errors = sheet_chains((DATA / "seed003_q1.md").read_text(encoding="utf-8"), "s.md", key, "main")
    # the ≈ is reported on its step, not dropped (the expectation's bracket left open closes at its row's end); the
    # chains that could not be read at all (their names are not the key's) are reported, not dropped in silence
    assert "≈ is not a relation" in chains[0].steps[1].error.message
    assert errors and all("is not declared in the key" in e.message for e in errors)
    steps = next(c.steps for c in chains if len(c.steps) == 5)
    assert [t.text for t in steps] == [  # the bracket of the expectation (mapped to nothing) stays as (...)
        "diff(L_G, theta)", "= (diff(log(1 - sigmoid(h(theta, z))), theta))",
        "= (1/(1 - sigmoid(h(theta, z))) * sigmoid(h(theta, z)) (sigmoid(h(theta, z)) - 1) * diff(h(theta, z), theta))",
        "= (1/(1 - 0) * 0 (0 - 1) * diff(h(theta, z), theta))", "= 0"]
    assert (steps[3].span.line, steps[3].span.col) == (14, 3)  # the `=` of the `$$= ...$$` block that continues it
    with pytest.raises(ProofcheckError, match="no chain"):
        sheet_chains("just prose, $x$ inline\n", "s.md", key, "main")


def test_continuation_rows_and_readings():
    names = Names(symbols={"a": "scalar", "b": "scalar", "c": "scalar", "x": "scalar", "y": "scalar"})
    lines = lambda latex: [t.text for t in latex_lines(Text(latex, "t", ((1, 1),)), names)]  # noqa: E731
    assert lines(r"a &= b \\ &\quad + c \\ &= b + c") == ["a", "= b + c", "= b + c"]
    assert lines(r"a = b \\ - c = b - c") == ["a", "= b - c", "= b - c"]  # multline style
    with pytest.raises(ProofcheckError, match="a second one starts"):  # an aligned equation of its own
        lines(r"x &= 1 \\ -y &= 2")
    (first,) = latex_lines(Text(r"a/2x", "t", ((1, 1),)), names)
    assert (first.text, first.alternative.text) == ("a/2 x", "a/(2 x)")
    (first,) = latex_lines(Text(r"a/(2x)", "t", ((1, 1),)), names)
    assert first.alternative is None


def test_relations_with_a_label_carry_the_rule():
    names = Names(symbols={"x": "scalar"})
    lines = lambda latex: [t.text for t in latex_lines(Text(latex, "t", ((1, 1),)), names)]  # noqa: E731
    assert lines(r"x \stackrel{\text{by jensen}}{\geq} x") == ["x", ">= x by jensen"]
    assert lines(r"x \triangleq x \overset{def}{=} x") == ["x", "= x by definition", "= x by definition"]
    assert lines(r"x = x % by algebra") == ["x", "= x by algebra"]


def test_schema_knows_the_latex_keys():
    import jsonschema
    import yaml
    schema = json.loads((REPO / "proofcheck" / "schema" / "derivation.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(yaml.safe_load(SNR_YAML))) == []
    both = yaml.safe_load("proofcheck: 1\ntitle: t\nsteps: x\nsteps_latex: x\n")
    assert list(validator.iter_errors(both)) != []
    for key in DATA.glob("*.key.yaml"):
        assert list(validator.iter_errors(yaml.safe_load(key.read_text(encoding="utf-8")))) == [], key.name


def test_grade_reads_a_markdown_sheet_against_its_key():
    """`proofcheck grade SHEET.md --key KEY.yaml`: the sheet's $$ chain is graded; the seed's
    unbalanced bracket is reported at its column and the rest of the chain still earns credit."""
    import json
    import subprocess
    import sys
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "proofcheck", "grade", "tests/data/latex/seed000_q2e_kl.md",
                          "--key", "tests/data/latex/seed000_q2e_kl.key.yaml", "--format", "json",
                          "--timeout", "5", "--no-cache"], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stderr
    (sub,) = json.loads(out.stdout)["submissions"]
    assert [s["status"] for s in sub["steps"]][:2] == ["proved", "proved"]
    assert sub["first_error"] == 3 and "column 236" in sub["feedback"]
    assert 0 < sub["score"] < sub["max_score"]


def test_circled_numbers_start_questions():
    # seed 003 numbers its questions ① and ②; a `1.` right under ① restates the question, it is no item
    from proofcheck.latex import sheet_headings
    text = "HOMEWORK 1\n\n① $G: x$ intro\n\n1. Fix the gradient\n\n$$x = 1$$\n\n② Let $y$\n\n$$y = 2$$\n"
    got = [(text.count("\n", 0, off) + 1, label) for off, label in sheet_headings(text)]
    assert got == [(3, "1"), (9, "2")]


def test_defined_distribution_applied_to_a_point_is_its_density():
    # `q(z)` for `q := Normal(...)` is the density of q at z (issue 15), never the product q z
    names = Names(symbols={"z": "scalar", "mu": "scalar", "s": "scalar"})
    names.add([], [Text("q := Normal(mu, s^2)", "key.yaml", ((1, 1),)), Text("r := mu + 1", "key.yaml", ((1, 1),))])
    assert names.distributions == {"q"}
    assert translate(r"\log q(z)", names) == "log(pdf(q, z))"
    assert translate(r"r(z)", names) == "r(z)"  # a defined value that is no distribution: as written


def test_bracketless_sum_body_runs_to_the_last_term_using_its_index():
    # seed 003, line 46: `\frac12 \sum_{i=1}^k \sigma_i^2 + \mu_i^2 - 1 - \log\sigma_i^2`, the whole bracket-less sum
    names = Names(symbols={"k": "scalar", "mu": "vector", "sigma": "vector", "c": "scalar"})
    assert translate(r"\frac{1}{2} \sum_{i=1}^k \sigma_i^2 + \mu_i^2 - 1 - \log \sigma_i^2", names) == \
        "1/2 sum(sigma[i]^2 + mu[i]^2 - 1 - log(sigma[i]^2), i, 1, k)"
    # seed 003, line 78: a later term with a sum of its own is not swallowed by the first sum
    assert translate(r"-\sum_{i=1}^k \log \sigma_i - \frac{1}{2} k + \frac{1}{2} \sum_{i=1}^k \sigma_i^2 + \mu_i^2",
                     names) == "-sum(log(sigma[i]), i, 1, k) - 1/2 k + 1/2 sum(sigma[i]^2 + mu[i]^2, i, 1, k)"
    # terms after the last one that uses the index stay outside
    assert translate(r"\sum_{i=1}^k \sigma_i + \mu_i - c", names) == "sum(sigma[i] + mu[i], i, 1, k) - c"
    # the documented reading is kept where it is readable: no index term after the first + or -
    assert translate(r"\sum_{i=1}^k \sigma_i + c", names) == "sum(sigma[i], i, 1, k) + c"
    # and where the index is a declared name (the terms after it are then about that name)
    declared = Names(symbols={"k": "scalar", "sigma": "vector", "i": "scalar"})
    assert translate(r"\sum_{i=1}^k \sigma_i + i", declared) == "sum(sigma[i], i, 1, k) + i"


def test_model_parameter_subscript_is_dropped_from_the_written_name_only():
    # seed 004, line 490: `\bar{\boldsymbol{v}}` (the whole velocity field) is not the key's component v_bar_theta
    names = Names(defines={"v_bar_theta": None, "v_bar_psi_1": None, "x_hat": None})
    assert translate(r"\bar{v}_{\theta}", names) == "v_bar_theta"
    assert translate(r"\hat{x}_\theta", names) == "x_hat"
    with pytest.raises(ProofcheckError, match="v_bar"):
        translate(r"\bar{v} + 1", names)


def test_inline_values_of_variables_are_conditions_not_steps():
    # seed 004, lines 413 and 492: `therefore $\theta = \psi_0 = 0$ for ...` states the solution; checked as an
    # identity it was refuted although the student's algebra is right
    from proofcheck.latex import read_markdown
    key = parse_derivation_text(textwrap.dedent("""\
        proofcheck: 1
        title: t
        symbols:
          theta, psi_0: real
        claim: theta^2 + psi_0 = psi_0 + theta^2
        steps: |
          theta^2 + psi_0
            = psi_0 + theta^2
        """), "key.yaml")
    text = ("therefore $\\theta = \\psi_0 = 0$ for the first entry, so $\\psi_0 = -1/2$ here, "
            "but $\\theta^2 = \\theta \\theta$ is a step.\n\n$$\\theta = 1$$\n")
    sheet = read_markdown(text, "s.md", key)
    col = [i + 2 for i, c in enumerate(text.split("\n")[0]) if c == "$"][::2]
    kinds = [(f.line, f.column, f.kind) for f in sheet.formulas]
    assert kinds == [(1, col[0], "condition"), (1, col[1], "condition"), (1, col[2], "read"), (3, 3, "read")]
    assert [c.steps[-1].text for c in sheet.chains] == ["= theta theta", "= 1"]
    # an equation the student sets out to solve (`we need $...$`) is a condition too (seed 004, line 413)
    sheet = read_markdown("for two sigmoids to be equal we need $\\theta^2 = \\psi_0 \\theta$.\n", "s.md", key)
    assert [f.kind for f in sheet.formulas] == ["condition"] and not sheet.chains


def test_identity_I_in_a_scalar_setting_is_one():
    # seed 000, lines 137 and 143: `\sigma_s^2 I` and `C(\sigma_s^2 I)^{-1}` mean the identity; read as the imaginary
    # unit the student's correct general formula was refuted
    scalars = Names(symbols={"sigma_t": "scalar", "sigma_s": "scalar", "a_t": "scalar"})
    assert translate(r"\sigma_t^2 I - a_t^2 \sigma_s^2 I", scalars) == "sigma_t^2 1 - a_t^2 sigma_s^2 1"
    # with a complex symbol, a vector or a matrix declared, or I declared, `I` is left as written
    assert translate(r"2 I", Names(symbols={"x": "scalar"}, complex_symbols=True)) == "2 I"
    assert translate(r"2 I", Names(symbols={"X": "matrix"})) == "2 I"
    assert translate(r"2 I", Names(symbols={"I": "scalar"})) == "2 I"
    # and the key's declarations set it: `lambda: complex` keeps I imaginary
    names = Names()
    names.add([Declaration(("lam",), Text("complex", "k.yaml", ((1, 1),)), Span("k.yaml", 1, 1))], [])
    assert not names.identity_is_one()


def _commutative_key():
    """A one-part key, `x + y = y + x`, for tests of how a sheet's formulas are recorded."""
    return latex_key(COMMUTATIVE_KEY)


def test_a_chain_that_cannot_be_graded_is_not_recorded_as_read():
    # `$x \rightarrow D_{xD}$` is the unreadable premise of the `\Rightarrow` lines after it and names their x; that
    # chain is not graded, so its formulas must not be recorded `read` (a premise naming nothing they are about, seed
    # 001's `I \rightarrow D_{xD}`, cannot restrict them: tests/test_latex_seed001.py)
    from proofcheck.latex import sheet_sections
    key = _commutative_key()
    text = ("Question 1\n\nsigma const $x \\rightarrow D_{xD}$\n\n$\\Rightarrow x + y = y + x$\n\n"
            "$\\Rightarrow x = x$\n\n$$x + y = y + x$$\n")
    _, sheet = sheet_sections(text, "s.md", key, {"main": ["1"]})
    kinds = {f.line: (f.kind, f.reason) for f in sheet.formulas}
    assert kinds[3][0] == "not read" and "D_xD" in kinds[3][1]
    for line in (5, 7):
        assert kinds[line][0] == "not read" and "line 3, column 14" in kinds[line][1], kinds[line]
    assert kinds[9] == ("read", "")


def test_the_students_own_notation_off_the_path_is_a_remark():
    # seeds 000-004: `p_\theta(x|z)`, `P_X`, `\psi_i` are the student's own notation the key does not model. Before
    # the chain that holds the part's final answer such a formula is a remark (not checked, not a reader failure);
    # from the start of the final chain on it may be on the path to the answer and stays `not read`
    from proofcheck.latex import sheet_sections
    key = _commutative_key()
    text = ("Question 1\n\n$$\\log p_\\theta(x) = \\log p_\\theta(y)$$\n\n$$x + y = y + x$$\n\n"
            "$$= y + x + P_X$$\n")
    by_part, sheet = sheet_sections(text, "s.md", key, {"main": ["1"]})
    kinds = {f.line: (f.kind, f.reason) for f in sheet.formulas}
    assert kinds[3][0] == "remark" and kinds[3][1].startswith("uses `p_\\theta`, which the key does not model")
    assert kinds[5] == ("read", "")
    assert kinds[7][0] == "not read" and "P_X" in kinds[7][1]
    # a part with no chain at all keeps every such formula `not read`
    _, sheet = sheet_sections("Question 1\n\n$$\\log p_\\theta(x) = x$$\n", "s.md", key, {"main": ["1"]})
    assert [f.kind for f in sheet.formulas] == ["not read"]
    # an approximation or proportionality (seed 003 l.22, 002 l.79) off the path is a remark too; on it, not read
    text = "Question 1\n\n$$x \\approx y$$\n\n$$x + y = y + x$$\n\n$$= y + x \\propto x$$\n"
    _, sheet = sheet_sections(text, "s.md", key, {"main": ["1"]})
    kinds = {f.line: (f.kind, f.reason) for f in sheet.formulas}
    assert kinds[3][0] == "remark" and kinds[3][1].startswith("an approximate or proportional statement (≈)")
    assert kinds[7][0] == "not read" and "∝" in kinds[7][1]
    # a chain that ends on the line where the final (statement) chain starts leads into it: on the path, not a remark
    # (seed 004, lines 121-127: `... = -2X^T(y - Xw) + 2\lambda w` then `\Longrightarrow w = ...`)
    text = ("Question 1\n\n$$\\frac{d P_X(x)}{dx} = x + y$$\n\n$$= y + x$$\n\n$$= 2 y + x - y$$\n\n"
            "$$\\Longrightarrow x = x$$\n")
    _, sheet = sheet_sections(text, "s.md", key, {"main": ["1"]})
    assert [(f.line, f.kind) for f in sheet.formulas] == [(3, "not read"), (5, "read"), (7, "read"), (9, "read")]


# --------------------------------------------------------------------------- seed gaps A.3-A.5, B.2 (issue 15)
_GAMMA_KEY = """\
proofcheck: 1
title: t
symbols:
  gamma: positive
  lambda: complex
  a, b, k: real
  theta, psi: real
claim: gamma^2 = gamma gamma
steps: |
  gamma^2
    = gamma gamma
"""


def _sheet(text: str):
    return read_markdown(text, "s.md", parse_derivation_text(_GAMMA_KEY, "key.yaml"))


def test_a_product_set_to_zero_is_the_equation_to_solve():
    # seed 004, line 440: `= -(\lambda + 1/2)(\lambda^2 + 1/4) = 0` is the characteristic equation whose roots
    # follow; as the identity p(lambda) = 0 it was refuted
    sheet = _sheet("$$\\det(\\lambda) = -\\lambda^2 (\\lambda + 1/2) - 1/4(1/2 + \\lambda)$$\n"
                   "$$= -(\\lambda + 1/2)(\\lambda^2 + 1/4) = 0$$\n\n$$(\\lambda - 1)(\\lambda + 1) = 0$$\n")
    assert [c.steps[-1].text for c in sheet.chains] == ["= -(lambda + 1/2) (lambda^2 + 1/4)"]
    assert [(f.line, f.kind) for f in sheet.formulas] == [(1, "read"), (2, "read"), (4, "condition")]
    assert "equation whose roots follow" in sheet.formulas[1].reason
    # a zero factor written out, or one factor, stays a step to check
    sheet = _sheet("$$a = (a - 1)(a + 1) 0 = 0$$\n\n$$b = (a + 1) = 0$$\n")
    assert [c.steps[-1].text for c in sheet.chains] == ["= 0", "= 0"]


def test_an_if_then_case_is_the_premise_of_what_follows_in_its_paragraph():
    # seed 004, line 516: results stated under a prose case are checked under it (a statement step), `i\sqrt{...}`
    # with nothing named i is the imaginary unit, and `Re(\lambda) = \{...\}` lists values (a condition)
    sheet = _sheet("We know $\\gamma > 0$, if $0 < \\gamma < 1$, then $\\sqrt{\\gamma^2 - 1} = i\\sqrt{1 - \\gamma^2}$ "
                   "(i is complex), and thus $\\text{Re}(\\lambda) = \\{-\\frac{1}{2}, -\\frac{1}{2}\\gamma\\}$. "
                   "If $\\gamma \\geq 1$, then $\\sqrt{\\gamma^2 - 1} \\geq 0$. Then $\\gamma > \\sqrt{\\gamma^2 - 1}$.\n")
    assert [(c.statement, [t.text for t in c.steps]) for c in sheet.chains] == [
        (False, ["gamma", "> 0"]),
        (True, ["(gamma - (0)) ((1) - gamma) > 0", "==> sqrt(gamma^2 - 1) = I sqrt(1 - gamma^2)"]),
        (True, ["gamma >= 1", "==> sqrt(gamma^2 - 1) >= 0"]),
        (True, ["gamma >= 1", "==> gamma > sqrt(gamma^2 - 1)"])]  # the argument for the case goes on
    assert [f.kind for f in sheet.formulas] == ["read", "condition", "read", "condition", "condition", "read",
                                                "read"]
    assert sheet.formulas[3].reason == "the set of values a quantity takes, not a step"
    # a new paragraph ends the case
    sheet = _sheet("If $\\gamma \\geq 1$, then $\\sqrt{\\gamma^2 - 1} \\geq 0$.\n\nThen $\\gamma > \\sqrt{\\gamma^2 - 1}$.\n")
    assert [(c.statement, [t.text for t in c.steps]) for c in sheet.chains] == [
        (True, ["gamma >= 1", "==> sqrt(gamma^2 - 1) >= 0"]), (False, ["gamma", "> sqrt(gamma^2 - 1)"])]
    # a range between numbers that is empty, or mixes < and <=, is not made a premise
    sheet = _sheet("If $1 < \\gamma < 0$, then $\\gamma^2 = \\gamma \\gamma$. If $0 < \\gamma \\leq 1$, then "
                   "$\\gamma^2 = \\gamma \\gamma$.\n")
    assert [c.statement for c in sheet.chains] == [False, False]
    # an equation as the case: `if $\theta = 0$, then $\theta \gamma = 0$`
    sheet = _sheet("if $\\theta = 0$, then $\\theta \\gamma = 0$.\n")
    assert [[t.text for t in c.steps] for c in sheet.chains] == [["theta = 0", "==> theta gamma = 0"]]


def test_a_display_block_using_the_side_result_starts_a_new_chain():
    # seed 003, line 78: `$$= -\sum \log\sigma_i - \frac12 k + ...$$` after the side computation `E[S^T S] = ... = k`
    # resumes the main derivation with k substituted; as a step from `k` a correct line was refuted
    sheet = _sheet("$$b = a$$\n$$= a + 0$$\n\n$$b = \\sum_{i=1}^k 1 = k$$\n\n$$= a - \\frac{1}{2} k$$\n\n"
                   "$$= a - k/2$$\n\n$$a = k$$\n\n$$= k$$\n")
    assert [[t.text for t in c.steps] for c in sheet.chains] == [
        ["b", "= a", "= a + 0"],  # the first chain of a section: nothing to resume, a step as written
        ["b", "= sum(1, i, 1, k)", "= k"], ["a - 1/2 k", "= a - k/2"], ["a", "= k", "= k"]]
    assert sheet.formulas[3].reason.startswith("starts a new chain")


def test_arrows_after_labels_and_values():
    # seed 001, lines 222-234: `II $\rightarrow E$` and `(I) \Rightarrow A = B \Rightarrow` (a label, an arrow);
    # seed 000, line 324: `\theta = \psi = 0 \to A = B` (the point the statement is made at)
    sheet = _sheet("I ~~II~~ $\\rightarrow a + b$\n\nII $\\rightarrow a - b$\n\n$$= -b + a$$\n\n"
                   "$$(I) \\Rightarrow a - 1 = 0 \\Rightarrow$$\n\n$$\\Rightarrow a = 1$$\n\n"
                   "$$\\theta = \\psi = 0 \\to a \\theta = 0$$\n\n$$a = b \\Rightarrow b = a$$\n")
    assert [(c.statement, [t.text for t in c.steps]) for c in sheet.chains] == [
        (False, ["a - b", "= -b + a"]), (True, ["a - 1 = 0", "==> a = 1"]),
        (False, ["a theta", "= 0 by at(theta = 0, psi = 0)"]), (True, ["a = b", "==> b = a"])]
    assert [f.reason for f in sheet.formulas][:4] == [
        "the arrow before it introduces what follows", "the arrow before it introduces what follows", "",
        "the label and arrow before it introduce what follows"]
    assert all(f.kind == "read" for f in sheet.formulas)


def test_sum_over_z_weighted_by_its_density_is_an_expectation():
    # seed 001, 1(d) lines 40-48: `\sum_z q(z|\mu) [...]` with q := Normal(...) of the key is E[z ~ q](...), and
    # `q(z|\mu)` is the density of q at z (the key's q is already the conditional; \mu after the bar is dropped)
    names = Names(symbols={"z": "scalar", "mu_q": "scalar", "sigma": "scalar", "p": "density"})
    names.add([], [Text("q := Normal(mu_q, sigma^2)", "key.yaml", ((1, 1),))])
    assert translate(r"\sum_z q(z|\mu) \log \frac{q(z|\mu)}{p(z)}", names) == "E[z ~ q](log(pdf(q, z)/p(z)))"
    assert translate(r"\sum_z q(z|\mu) (z - \mu_q)^2 - \mu_q^2 \sum_z q(z|\mu)", names) == \
        "E[z ~ q]((z - mu_q)^2) - mu_q^2 E[z ~ q](1)"
    assert translate(r"\sum_z p(z) z", names) == "E[z ~ p](z)"  # a declared density of z
    assert translate(r"KL(q(z|\mu), p(z))", names) == "KL(q || p)"
    # the weight later in the product (seed 001 l.56, `\sum_z p_\theta(u|z) p(z)`) is taken off the same way
    assert translate(r"\sum_z z q(z|\mu)", names) == "E[z ~ q](z)"
    assert translate(r"\sum_z (z - \mu_q) \cdot q(z|\mu) \cdot z", names) == "E[z ~ q]((z - mu_q) * z)"
    # not a density of the summed variable: the sum keeps needing a range
    for latex in (r"\sum_x q(z|\mu) x", r"\sum_z r(z) z", r"\sum_z z q(z|\mu)^2", r"\sum_z \frac{z}{q(z|\mu)}"):
        with pytest.raises(ProofcheckError, match="has no range|not declared"):
            translate(latex, names)
    # an undeclared name after the bar is dropped only with a distribution the key defines
    with pytest.raises(ProofcheckError, match="`\\\\mu` .* is not declared"):
        translate(r"p(z|\mu)", names)


def test_subscripts_that_are_expressions_name_their_own_terms():
    # seed 000 lines 175-183, 280 and seed 002 lines 11-17, 85-95: `x_{t+1}`, `\theta_{k+1}`, `q_{-j}`, `x_{1:B}` are
    # a term of a sequence, "all but j", a range of samples: each its own name, never the x_t or q_j beside it
    names = Names(symbols={"x_t": "scalar", "x_tplus1": "scalar", "q_j": "scalar", "v": "vector", "k": "scalar"})
    assert translate(r"x_{t+1} - x_t", names) == "x_tplus1 - x_t"
    assert translate(r"v_{k+1}", names) == "v[k + 1]"  # a declared vector: still an entry
    for latex, name in ((r"\theta_{k+1}", "theta_kplus1"), (r"q_{-j}", "q_minusj"), (r"x_{1:B}", "x_1toB"),
                        (r"x_{t-1}", "x_tminus1")):
        with pytest.raises(ProofcheckError, match=f"read as `{name}`.* is not declared"):
            translate(latex, names)
    with pytest.raises(ProofcheckError, match="not part of a name"):
        translate(r"x_{+}", names)


def test_inline_formula_after_a_persian_if_is_a_condition():
    # seed 000, line 307: `اگر $0 \leq hf'(0)$ ...` ("if 0 <= h f'(0), all eigenvalues ...") states a case, not a claim
    key = parse_derivation_text(textwrap.dedent("""\
        proofcheck: 1
        title: t
        symbols:
          h, x: real
        claim: h + x = x + h
        steps: |
          h + x
            = x + h
        """), "k.yaml")
    sheet = read_markdown("ج) مقادیر ویژه اگر $0 \\leq h x$ همه مقادیر ویژه و $h \\leq x$ است\n", "s.md", key)
    assert [f.kind for f in sheet.formulas] == ["condition", "read"]


def test_a_density_without_its_argument_in_an_integrand_over_x():
    # seed 001, line 232: `\int_0^1 P_{data} \log \frac{P_{data}(x)}{...} dx` writes P_data once without (x); as a
    # density times a number it was not read, and the log 2 for log 4 on line 234 was never checked
    names = Names(symbols={"P_data": "density", "P_G": "density", "x": "scalar"})
    assert translate(r"\int_0^1 P_{data} \log \frac{P_{data}(x)}{P_G(x)} dx", names) == \
        "integral(P_data(x) log(P_data(x)/P_G(x)), x, 0, 1)"
    # only where the same density is written at x in that integrand
    assert translate(r"\int P_{data} \log P_G(x) dx", names) == "integral(P_data log(P_G(x)), x)"


def test_dots_between_terms_of_one_pattern_is_a_sum():
    # seed 003, lines 72 and 96: `S_1^2 + S_2^2 + S_3^2 + \dots + S_k^2` is sum(S[i]^2, i, 1, k)
    names = Names(symbols={"S": "vector", "k": "scalar", "a": "scalar"})
    assert translate(r"S_1^2 + S_2^2 + S_3^2 + \dots + S_k^2", names) == "sum(S[i]^2, i, 1, k)"
    assert translate(r"a + 2 S_1 + 2 S_{2} + \cdots + 2 S_k - a", names) == "a + sum(2 S[i], i, 1, k) - a"
    # a sign on the first term, a gap in 1, 2, ..., one term before the dots or a last term of another form: not
    # a sum of one pattern, still an error
    for latex in (r"a - S_1 + S_2 + \dots + S_k", r"S_1 + S_3 + \dots + S_k", r"S_1 + \dots + S_k",
                  r"S_1 + S_2 + \dots + S_k^2"):
        with pytest.raises(ProofcheckError, match="cannot be checked"):
            translate(latex, names)


def test_a_key_part_for_a_questions_own_lines_before_its_items():
    # issue 15 item 5a: `section: "1."` is question 1's lines before its first item, `"1"` all of question 1
    from proofcheck.latex import section_matches, sheet_sections
    assert section_matches("4", ["4."]) and not section_matches("4.a", ["4."]) and section_matches("4", ["Q4."])
    assert section_matches("4.a", ["4"]) and section_matches("4", ["4"])
    key = _commutative_key()
    text = "Question 1\n\n$$x + y = y + x$$\n\na) the item\n\n$$x y = y x$$\n"
    out, _ = sheet_sections(text, "s.md", key, {"head": ["1."], "item": ["1.a"], "all": ["1"]})
    assert {n: [c.steps[-1].text for c in cs] for n, cs in out.items()} == {
        "head": ["= y + x"], "item": ["= y x"], "all": ["= y + x", "= y x"]}


def test_an_eigenvector_list_after_the_determinant_written_out():
    # seed 004, lines 444-445 and 522: `\lambda = i/2 \rightarrow \boldsymbol{u} = (...)` is the claim that u is an
    # eigenvector of i/2: (A - c I) u = 0 with A - lambda I the matrix of the determinant written before it; a
    # check on the way, not the part's answer. `i` is the imaginary unit where the key declares a complex symbol.
    sheet = _sheet("$$\\det(\\lambda) = \\det\\begin{pmatrix} -\\lambda & -1/2 \\\\ 1/2 & -\\lambda \\end{pmatrix} = "
                   "\\lambda^2 + 1/4$$\n\n"
                   "$\\lambda = i/2 \\rightarrow \\boldsymbol{u} = \\begin{pmatrix} i \\\\ 1 \\end{pmatrix}$ "
                   "$\\lambda = 2 \\rightarrow \\boldsymbol{u} = \\begin{pmatrix} 1 \\\\ 1 \\\\ 0 \\end{pmatrix}$\n")
    assert [(c.conditional, [t.text for t in c.steps]) for c in sheet.chains] == [
        (False, ["det(lambda)", "= det([[-lambda, -1/2], [1/2, -lambda]])", "= lambda^2 + 1/4"]),
        (True, ["subs([[-lambda, -1/2], [1/2, -lambda]], lambda = I/2) * [I, 1]", "= 0 [I, 1]"]),
        # a vector of another size is not that matrix's eigenvector: left to the arrow's other readings
        (False, ["u", "= [1, 1, 0] by at(lambda = 2)"])]
    # an i used as an index in the expression stays the index
    complex_key = Names(symbols={"k": "scalar"}, complex_symbols=True)
    assert translate(r"\sum_{i=1}^{k} i", complex_key) == "sum(i, i, 1, k)"
    assert translate(r"2 i + 1", complex_key) == "2 I + 1"


def test_the_variable_of_max_and_argmax_is_bound():
    # seeds 000/004: `\arg\max_\theta ...`, `\max_\theta ...` with theta not declared by the key: theta is the variable
    # optimised over, as the index of a sum is, not an undeclared name
    names = Names(symbols={"x": "scalar", "f": "function"})
    assert translate(r"\arg\max_\theta f(\theta x)", names) == "argmax(f(theta x), theta)"
    assert translate(r"\max_{\theta} f(\theta) + x", names) == "maximum(f(theta), theta) + x"
    with pytest.raises(ProofcheckError, match="is not declared"):
        translate(r"f(\theta x)", names)


def test_a_superscript_label_with_a_subscript():
    # seed 004 l.117-125: `\lambda^{L_2}` is the key's lambda_L_2 (the L2 penalty weight), not lambda to the power L_2
    names = Names(symbols={"lambda_L_2": "scalar", "w": "vector", "x": "scalar", "a": "vector"})
    assert translate(r"\lambda^{L_2} \|w\|^2", names) == "lambda_L_2 ||w||^2"
    assert translate(r"x^{a_1}", names) == "x^a[1]"  # no such name declared: a power, as before


def test_an_expectation_bracket_left_open_closes_at_the_end_of_its_row():
    # seed 003, line 28: `L_G &= E_{z \sim N(0,1)}[\log[1 - \sigma(...)]` (one `]` missing) then `\\` and the next
    # equation: the expectation's `[` closes at the end of its row; any other bracket left open stays an error
    sheet = _sheet("$$\\begin{aligned} a &= \\mathbb{E}_{b \\sim \\mathcal{N}(0,1)}[\\log[1 + b^2] \\\\ "
                   "k &= k \\end{aligned}$$\n\n$$a = (b + 1$$\n\n$$a = E[b] + [b$$\n")
    assert [[t.text for t in c.steps] for c in sheet.chains][:2] == [
        ["a", "= E[b ~ Normal(0, 1)](log(1 + b^2))"], ["k", "= k"]]
    assert [f.kind for f in sheet.formulas][-2:] == ["not read", "not read"]
    assert "never closed" in sheet.formulas[-1].reason
