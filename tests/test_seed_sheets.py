"""The seed sheets (../shared/seeds, real homework) graded unedited with their keys in examples/seeds.

Each mistake of derivations/SEED_NOTES.md must be refuted at the line where the student wrote it (the line is
found by searching the seed for the student's own LaTeX, not hard-coded), correct lines must not be refuted,
and every formula of the sheet must be accounted for: read, a condition, an expression without a relation,
outside the key's questions, or "not read" with its line, column and reason. Where the reader does not get
there yet the test is a strict xfail whose reason names the construct (the list, with counts, is kept in the
issue-15 notes). Skipped only where the seeds are absent. Each sheet is graded once per test session."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from testlib import run_cli

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
KEYS = ROOT / "examples" / "seeds"
KINDS = {"read", "condition", "definition", "remark", "expression", "outside", "not read"}
S000, S001, S002, S003, S004 = ("000_82633c51acc6733d", "001_19f3ed8c6cfeadfb", "002_76b741aadb290eb6",
                                "003_1c142ed7ebb391f1", "004_643e3e921ae183cd")
ALL = (S000, S001, S002, S003, S004)

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"{SEEDS} is absent")

_GRADED: dict[str, dict] = {}
# a relation in a formula that was not read: such a formula counts against the share of issue 15
_RELATION = re.compile(r"=|<|>|\\le|\\ge|\\neq|\\Rightarrow|\\Longrightarrow|\\implies|\\rightarrow|\\to\b|"
                       r"\\iff|\\approx|\\propto|\\sim|\\in\b|\\triangleq|\\coloneqq|\\xrightarrow|\\longrightarrow")


def _line_of(seed: str, snippet: str) -> int:
    """The line of the seed holding the student's LaTeX `snippet` (exactly one such line)."""
    lines = [i for i, l in enumerate((SEEDS / f"{seed}.txt").read_text(encoding="utf-8").splitlines(), 1)
             if snippet in l]
    assert len(lines) == 1, (snippet, lines)
    return lines[0]


def _graded(seed: str, tmp_path_factory) -> dict:
    """The JSON report of one unedited seed sheet graded with its key (once per session: grading is slow)."""
    if seed not in _GRADED:
        code, out, err = run_cli(["grade", SEEDS / f"{seed}.txt", "--key", KEYS / f"{seed}.key.yaml",
                                  "--format", "json", "--timeout", "5", "--no-cache"],
                                 cwd=tmp_path_factory.mktemp("grade"), timeout=900)
        assert code == 0, err
        _GRADED[seed] = json.loads(out)["submissions"][0]
        _GRADED[seed]["_seed"] = seed
    return _GRADED[seed]


def _at(sub: dict, line: int, part: str | None = None) -> list[str]:
    """The statuses of the steps written on `line` (of one part), in order."""
    return [s["status"] for s in sub["steps"] if s["line"] == line and (part is None or s["part"] == part)]


def _share(sub: dict) -> tuple[int, int]:
    """(formulas with a relation that are read or classified, formulas with a relation) over the key's
    questions: `expression` has no relation, `outside` is under no part of the key; classified are conditions,
    the student's own definitions and remarks in the student's notation off the path to the answer."""
    c = sub["formulas"]["counts"]
    unread_rel = sum(1 for n in sub["formulas"]["not_read"] if _RELATION.search(n["latex"]))
    ok = sum(c.get(k, 0) for k in ("read", "condition", "definition", "remark"))
    return ok, ok + unread_rel


# --------------------------------------------------------------------------- mistakes caught at their line
# (seed, SEED_NOTES item, the student's LaTeX on that line, part, the statuses of the steps on that line)
CAUGHT = [
    (S000, "q2 item 1: C = a_t sigma_s^2 I", r"$$C = a_t \sigma_s^2 I$$", "joint_regression", ["refuted"]),
    (S000, "q2 item 1: A = a_t I", r"$$A = \frac{(a_t \sigma_s^2 I)}{\sigma_s^2} = a_t I$$", "joint_regression",
     ["refuted", "proved"]),
    (S000, "q2 item 1: A = a_t I = a_{t|s} a_s I", r"$$A = a_t I = \left(\frac{a_t}{a_s} a_s\right) I",
     "joint_regression", ["refuted", "proved", "proved"]),
    (S000, "q2 item 4: z_t coefficient of mu_Q (inline)", r"and $\mu_{Q}(z_{t},x;s,t) = ", "posterior",
     ["refuted"]),
    # read with the key's `densities:` (p(x), q(x) for P, Q); the quadratures of KL(P || Q) take about 3.3 s of the
    # 5 s budget since the integrand's repeated terms are computed once per node (they took 5.1 s: unknown before)
    (S000, "q2 item 5: KL with the ratio inverted", r"$$D_{KL}(P||Q) = \int p(x) \log \frac{q(x)}{p(x)} d_x",
     "posterior", ["refuted", "proved"]),
    # (the first two steps, from KL(q || p) of the two Gaussians read through the key's `densities:`, are proved)
    (S000, "q2 item 8: three SNR slips", r"\frac{a_{S}^{2}\sigma_{t}^{2} - a_{t}^{2}}{\sigma_{t}^{2}}", "kl_snr",
     ["proved", "proved", "proved", "proved", "refuted", "refuted", "refuted"]),
    # `D_{KL} &= ...` written bare is the key's `D_KL := KL(q_Q || p_Q)`; the rows through `E_p[z]` (p undeclared: the
    # student's name for q) and the `]` closing a `(` are not read, the last row's sign slip is refuted
    (S000, "q2 item 7: sign of the KL", r"\Big| \Big| \mu_Q - \mu_\theta", "kl_snr",
     ["error", "error", "error", "error", "refuted"]),
    # the second step on line 176 goes from the wrong middle line to the right result: it does not follow
    (S001, "3(h) item 3: the value's middle line", r"- \log \frac{\lambda+1}{\lambda+1}\right)", "conjugate_value",
     ["refuted", "refuted"]),
    (S000, "q4 item 6: eigenvalues of the alternating update (\\pm after the matrix)",
     r"$$\lambda_{\frac{1}{2}} = 1 - \frac{(hf'(0))^2}{2} \pm", "gan_stability", ["refuted"]),
    # `\sum_z q(z|\mu) [...]` is E[z ~ q](...); the next line (44) goes from the wrong middle expression back to
    # the right one: it does not follow from it (error carried forward)
    (S001, "1(d) item 3: dropped -1/(2 sigma^2)", r"$$= \sum_z q(z|\mu) \left[-\frac{1}{2\sigma^2}",
     "kl_equal_variance", ["proved", "refuted"]),
    # `\lambda = i/2 \rightarrow u = (...)` is (A - c I) u = 0 for the student's det(A - \lambda I) of line 510
    (S004, "5.6 item 8: eigenvectors mislabelled",
     r"\lambda = i/2 \rightarrow \boldsymbol{u} = \begin{pmatrix} \frac{1}{\sqrt{\gamma^2 - 1} - \gamma}",
     "penalty_eigenvalues", ["proved", "refuted", "refuted"]),
    # the key's `densities:` reads p_theta(z), p_theta(x, z) and q(z|x); `\sum_z q(z|x)` is E[z ~ q]
    (S001, "1(a) item 1: log p(z) for log p(x)", r"a) $\log p_{\theta}(z) = \log \sum_z", "elbo_bound", ["refuted"]),
    # `E_q[\log \frac{q(z)}{P(z)}]` is KL(q || P); the `E_q[...]` after it averages over the same z
    (S002, "item 2: sign of the quadratic term",
     r"$$E_q \left[\log \frac{q(z)}{P(z)} \right] = E_q \left[\log \det(\Sigma)^{-1/2}", "kl_standard_normal",
     ["refuted"]),
    # `\sigma_i(x)`, `\mu_i(x)`: the key's sigma, mu are the encoder's outputs at the question's fixed input x
    (S003, "q2 item 1: the statement to show (log sigma for log sigma^2)",
     r"$$D_{KL}(q(z|x) \| p(z)) = \frac{1}{2} \sum_{i=1}^k \sigma_i(x)^2 + \mu_i(x)^2 - 1 - \log \sigma_i(x)$$",
     "kl_diagonal", ["refuted"]),
    # `\frac{\partial L(w)}{\partial w}` with the key's loss L and vector w is grad(L, w)
    (S004, "1.3 item 10: stray p in the ridge gradient",
     r"$$\frac{\partial L(\boldsymbol{w})}{\partial \boldsymbol{w}} = \frac{\partial}{\partial \boldsymbol{w}} \|(\boldsymbol{y} - p\boldsymbol{X}\boldsymbol{w})\|^2 + \frac{\partial}{\partial \boldsymbol{w}} \lambda^{L_2}",
     "ridge_solution", ["refuted"]),
    # line 316 writes `f_0(x) \log 1 - y` (log 1 - y = -y as written, the slip of SEED_NOTES item 3); the derivative
    # f_0/(1 - y) on line 317 does not follow from it (error carried forward, like 001 line 176)
    (S004, "4.1 item 3: log 1 - y for log(1 - y)",
     r"= \frac{f_1(\boldsymbol{x})}{y} - \frac{f_0(\boldsymbol{x})}{1 - y}", "optimal_discriminator", ["refuted"]),
    # `F^{-1}(x)` is inverse(F)(x) for the key's increasing bijection F; `|\det ...|` of a scalar is its absolute value
    (S004, "3.1 item 2: inverse Jacobian at the wrong point",
     r"$$|\det \frac{\partial F^{-1}(x)}{\partial x}| = \frac{1}{|\det \frac{\partial F(x)}{\partial x}|}$$", "flow_kl",
     ["refuted"]),
    (S004, "5.2 item 3: Jacobian entry (1, 3)", r"$$J(\boldsymbol{v}) = \begin{pmatrix}", "dirac_jacobian",
     ["refuted"]),
    # `p^2(X^T X)_{ij}` among matrices read literally is p^2 X^T X (docs/latex.md); the matrix-valued E_R[M] is not
    # checked (unknown), and the next equality does not follow from the literal reading
    (S004, "1.1 item 5: E_R[M] read literally", r"p^2(\boldsymbol{X}^{\top}\boldsymbol{X})_{ij} = p^2",
     "dropout_expected_loss", ["unknown", "refuted"]),
    (S004, "5.5 item 3: Jacobian entry (1, 3)", r"\bar{J}(\bar{\boldsymbol{v}}) &= \begin{pmatrix}",
     "penalty_jacobian", ["refuted", "proved"]),
    # `\sum_z p_\theta(u|z) p(z)` is E[z ~ p](p(u|z)), the weight being the factor that is z's density; the line's
    # `\Rightarrow` after the unread derivative of line 54 starts a statement chain of its own, and its premise is
    # met by solving for lambda once the random densities are drawn
    (S001, "1(e) item 3: q before normalising", r"\Rightarrow q(z|u) = e^{(\lambda-1)} \left(\sum_z",
     "optimal_posterior", ["refuted"]),
]


@pytest.mark.parametrize("seed,item,snippet,part,statuses", CAUGHT, ids=[f"{c[0][:3]}-{c[1]}" for c in CAUGHT])
def test_mistake_caught_at_its_line(seed, item, snippet, part, statuses, tmp_path_factory):
    sub = _graded(seed, tmp_path_factory)
    line = _line_of(seed, snippet)
    got = _at(sub, line, part)
    if line in SLOW.get(seed, set()):
        # refuted when its check finishes within the budget, else unknown: never accepted
        assert len(got) == len(statuses) and all(g == s or s == "refuted" and g == "unknown"
                                                 for g, s in zip(got, statuses)), got
    else:
        assert got == statuses


def _missed(seed, item, snippet, reason):
    return pytest.param(seed, snippet, id=f"{seed[:3]}-{item}",
                        marks=pytest.mark.xfail(strict=True, reason=reason))


# mistakes of SEED_NOTES.md not caught yet, each with the construct that stops the reader
MISSED = [
    # read since `II $\rightarrow E$` starts a chain; refuted when the numeric check of the integral of two densities
    # finishes within the 5 s budget (quadratures of the written form take seconds a point; unknown on a loaded
    # machine), so not strict
    pytest.param(S001, r"$$= \log 2 - 2 JSD(P_{data}, P_G)$$", id="001-4(e) item 9: log 2 for log 4",
                 marks=pytest.mark.xfail(strict=False, reason="refuted only when the numeric check finishes in 5 s")),
    # `\frac{\partial F^{-1}(x)}{\partial F^{-1}(x)}` is 1 (log 1 = 0, false), read off line 266's F' at F^-1(x); both
    # sides are expectations of expressions in F^-1, a root at every quadrature node: refuted when the check finishes
    # within the 5 s budget (it took 3 s to 90 s of CPU depending on the random functions drawn), so not strict
    pytest.param(S004, r"+ \log |\det \frac{\partial F^{-1}(x)}{\partial F^{-1}(x)}|]$$",
                 id="004-3.1 item 3: log |dF^-1(x)/dF^-1(x)|",
                 marks=pytest.mark.xfail(strict=False, reason="refuted only when the numeric check finishes in 5 s")),
    _missed(S000, "q3 item 5: sign in the denoising objective", r"\begin{split} q(x|x_0) &=",
            "the split display uses the student's densities q(x|x_0), q_0 and `-\\partial \\log` (OCR for d); "
            "question 3 has one part (its item labels are not found), whose key is the kernel-density score"),
    _missed(S000, "q4 item 8: Jacobian typo with instance noise", r"$$Jacobian \, \tilde{v}'(\theta, \psi) :",
            "a prose label `Jacobian` and `:` before the matrix: no relation is read; `E_{\\tilde\\theta, x}` "
            "before a matrix"),
    # read with the key's `densities:`; the bound log p(x) >= E_q[log p(x, z) p(z) / q(z)] is false only where p is
    # above 1 over q's mass (random densities with a dominant spike); refuted when the quadratures finish within the
    # 5 s budget (unknown on a loaded machine, never accepted), so not strict
    pytest.param(S001, r"$$\Rightarrow \log p_{\theta}(x) \geq \sum_z", id="001-1(a) item 2: the joint for the likelihood",
                 marks=pytest.mark.xfail(strict=False, reason="refuted only when the numeric check finishes in 5 s")),
    _missed(S001, "1(e) item 2: signs in the Lagrangian's derivative",
            r"$$\Rightarrow \frac{\partial L}{\partial q(z|u)} =",
            "a derivative with respect to a density value, `\\partial q(z|u)`, and `\\sum_z` are not read"),
    # read since the unreadable premise `I \rightarrow D_{xD}` (prose: I is D x D) names nothing the `\Rightarrow A = B`,
    # `= C` rows are about, so they are an expression chain; refuted when the numeric check of the nested sums over
    # i and m finishes within the 5 s budget (unknown on a loaded machine), so not strict
    pytest.param(S001, r"$\Rightarrow \sum_{i=1}^N \frac{1}{M} \sum_{m=1}^M (-\log p_{\theta}(x_i|z_m))",
                 id="001-2(d) item 5: missing minus in the exponent",
                 marks=pytest.mark.xfail(strict=False, reason="refuted only when the numeric check finishes in 5 s")),
    _missed(S001, "4(c) item 7: sign of the second sum", r"$\sum_n \log D_w(x) - \sum_z \log (1 - D_w(G(z)))$",
            "`\\sum_n`, `\\sum_z` without a range; question 4(c) has no key part (a statement of the game)"),
    _missed(S002, "item 4: variances for standard deviations", r"\epsilon \odot \text{diag}(\sigma_\phi^2(x_i))",
            "ELBO(x_i, phi, theta) with a neural network f_theta, `\\\\` inside `$$` and `1^T` are not read; "
            "the key's part for question 2 is the KL term (the ELBO of the VAE is not modelled)"),
    _missed(S002, "item 5 / sigma_phi -> 0: the limit does not exist",
            r"$$-ELBO(x_i, \phi, \theta) = \frac{1}{2\sigma^2}",
            "a result stated under a prose assumption (`\\sigma_\\phi \\rightarrow 0`, now a condition) with "
            "`+ \\text{const.}` and the student's x_i, f_theta, mu_phi: not read (the key does not model the VAE's "
            "ELBO)"),
    _missed(S003, "q1 item 2: an exact zero for a limit",
            r"$$= E_{z \sim N(0,1)}\left[\frac{1}{1-0} \cdot 0(0-1)",
            "the step substitutes the limit value sigma = 0 inside E[z ~ N(0, 1)](... d/dtheta h(G_theta(z))); the "
            "kernel times out on the expectation of an unevaluated derivative (unknown), so it is not refuted"),
    _missed(S004, "2.1 item 2: the maximum of a sum split", r"\Big) + \max_{\theta} \int q(\boldsymbol{z} \mid \boldsymbol{x}) \log q",
            "`\\max_\\theta` of expressions in the student's densities q(z|x), p_theta(z|x), p_theta(x) is not "
            "read"),
    _missed(S004, "2.2 item 2: direction of the inequality",
            r", then $\mathcal{L}(p_{\theta}, q_{\phi^*}) \geq \mathcal{L}(p_{\theta}, q_i^*)$",
            "the ELBO written as a function of the pair, `\\mathcal{L}(p_\\theta, q_{\\phi^*})`, is not read"),
]


@pytest.mark.parametrize("seed,snippet", MISSED)
def test_mistake_not_caught_yet(seed, snippet, tmp_path_factory):
    sub = _graded(seed, tmp_path_factory)
    assert "refuted" in _at(sub, _line_of(seed, snippet))


# --------------------------------------------------------------------------- correct lines are not refuted
# lines with a refuted step that is one of the seed's mistakes (or a step from such a line, error carried forward)
# (002 l.55 goes from the wrong l.53 back to the right expectation: it does not follow from it)
# (001 l.58 solves for the multiplier with the constraint, which the wrong q of l.56 does not give)
MISTAKE_LINES = {S000: {139, 141, 145, 155, 163, 165, 305}, S001: {18, 42, 44, 56, 58, 176}, S002: {53, 55}, S003: {46},
                 S004: {61, 121, 242, 317, 419, 498, 522}}
# correct lines refuted today, each for a construct the reader gets wrong (none now: seed 004's line 516, a result in
# the sentence after a prose case, is checked under the case, which holds to the end of its paragraph)
WRONGLY_REFUTED: dict[str, dict[int, str]] = {}


# mistake lines refuted only when the kernel finishes within the time budget (unknown under load): left out (001's
# line 22 is the step from line 20's wrong joint back to the ELBO, which does not follow from it; 004's 3.1 lines
# are expectations of expressions in F^-1, a root at every quadrature node: 248 and 272 carry the wrong Jacobian,
# 268 takes log 1 for log F'(F^-1(x)), 274 flips a sign, 270 and 276 follow from wrong lines; 000's line 157, the KL
# with its ratio inverted, is refuted by quadratures of two random densities in about 3.5 s of CPU, over 5 s when
# two graders share the cores)
SLOW = {S000: {157}, S001: {20, 22, 99, 101, 234}, S004: {248, 268, 270, 272, 274, 276}}


def _refuted_lines(sub: dict) -> set[int]:
    return {s["line"] for s in sub["steps"] if s["status"] == "refuted"} - SLOW.get(sub["_seed"], set())


@pytest.mark.parametrize("seed", ALL, ids=[s[:3] for s in ALL])
def test_refuted_lines_are_the_mistakes_and_the_known_reader_gaps(seed, tmp_path_factory):
    sub = _graded(seed, tmp_path_factory)
    assert _refuted_lines(sub) == MISTAKE_LINES[seed] | set(WRONGLY_REFUTED.get(seed, {}))


@pytest.mark.parametrize("seed", [pytest.param(s, id=s[:3], marks=pytest.mark.xfail(
    strict=True, reason="correct lines refuted: " + "; ".join(f"line {k}: {v}" for k, v in
                                                                WRONGLY_REFUTED[s].items())))
                                  if s in WRONGLY_REFUTED else pytest.param(s, id=s[:3]) for s in ALL])
def test_no_correct_line_refuted(seed, tmp_path_factory):
    sub = _graded(seed, tmp_path_factory)
    assert _refuted_lines(sub) <= MISTAKE_LINES[seed]


# --------------------------------------------------------------------------- score and accounting
# (score, max, counts of the formula records by kind, (read or classified, with a relation))
REPORT = {
    # 000: vp_coefficient's answer is l.112 (`a^2 + \sigma_1^2 = 1 \to a = ...`), not the generalisation to every
    # time step after it (l.114, l.116: true, and no work on the question); 004: penalty_eigenvalues' answer is the
    # eigenvalues, not the `\gamma > \sqrt{\gamma^2 - 1}` justification after them (l.516)
    S000: (11.1, 27.0, {"definition": 13, "read": 42, "remark": 52, "expression": 32, "not read": 22, "condition": 28,
                        "outside": 4}, (135, 154)),
    S001: (12.84, 48.0, {"read": 26, "expression": 20, "outside": 16, "condition": 15, "not read": 29, "definition": 4,
                         "remark": 11}, (56, 80)),
    # 002: question 1 has no key part (outside); question 2's lines after the KL (the VAE's ELBO, sigma_phi -> 0) and
    # question 4's mean-field lines other than l.85 and l.87 (\hat{q}_j, \propto) are not read
    # (l.37 and l.49 write the likelihood P_theta(x|z) under the letter of the key's prior P: not read, remarks; the
    # prior P_theta(z) before it on l.37 is read)
    S002: (5.0, 11.0, {"expression": 6, "outside": 10, "condition": 3, "not read": 8, "read": 7, "remark": 5},
           (15, 23)),
    # 003: l.28's rewrite of the integrand (1/(1 - \sigma) \sigma (\sigma - 1) h') is proved from the integrands
    S003: (3.59, 10.0, {"expression": 5, "condition": 13, "read": 29, "remark": 4, "definition": 2}, (48, 48)),
    # 004: density_ratio's statement steps (l.364-365) are `numeric` since points on a premise in the key's densities are
    # drawn (they were `unknown`)
    S004: (19.77, 45.0, {"expression": 111, "outside": 17, "condition": 50, "remark": 58, "read": 100,
                         "not read": 30, "definition": 6}, (214, 243)),
}


# the scores seen when a SLOW line is unknown (over the time budget) instead of refuted (001: gaussian_nll's final
# points are lost either way: refuted, the chain to its final line breaks; unknown, the chain is not established)
SLOW_SCORE = {S000: {11.1}, S001: {12.84}, S004: {19.77}}  # 004: flow_kl's chain starts from the result, 0 points either way


@pytest.mark.parametrize("seed", ALL, ids=[s[:3] for s in ALL])
def test_score_and_formula_accounting(seed, tmp_path_factory):
    sub = _graded(seed, tmp_path_factory)
    score, best, counts, share = REPORT[seed]
    # (000's line 157 holds a second step, proved)
    slow = [st["status"] for st in sub["steps"] if st["line"] in SLOW.get(seed, set()) and st["status"] != "proved"]
    if all(x == "refuted" for x in slow):
        assert (sub["score"], sub["max_score"]) == (score, best)
    else:
        # a slow mistake line that ran out of time is unknown, never accepted; the part's chain is then not
        # established, which changes its score (001: gaussian_nll's final points, 14.0 -> 12.0)
        assert set(slow) <= {"refuted", "unknown"}
        assert sub["max_score"] == best and sub["score"] in SLOW_SCORE[seed] | {score}, \
            (sub["score"], [(st["line"], st["status"]) for st in sub["steps"] if st["line"] in SLOW[seed]])
    f = sub["formulas"]
    assert set(f["counts"]) <= KINDS and sum(f["counts"].values()) == f["total"]
    assert f["counts"] == counts
    assert _share(sub) == share
    # nothing is dropped without a record: what is not read says where and why, and the sheet is flagged
    assert all(n["line"] > 0 and n["column"] > 0 and n["reason"] for n in f["not_read"])
    # and what is classified (a condition, the student's definition, a remark in their notation) says why
    assert len(f["classified"]) == sum(f["counts"].get(k, 0) for k in ("condition", "definition", "remark"))
    assert all(n["line"] > 0 and n["column"] > 0 and n["reason"] for n in f["classified"])
    blocks = re.findall(r"\$\$(.+?)\$\$", (SEEDS / f"{seed}.txt").read_text(encoding="utf-8"), re.S)
    assert f["total"] >= len(blocks)
    assert sub["needs_review"] and "could not be read" in sub["feedback"]


# the seeds whose share has reached 95%
REACHED = {S003}


@pytest.mark.parametrize("seed", [pytest.param(s, id=s[:3]) if s in REACHED else pytest.param(s, id=s[:3], marks=(
    pytest.mark.xfail(strict=True, reason="issue 15 wants >= 95% of the formulas with a relation read or classified; "
                      "the largest gaps (undeclared notation of the student's own, sums without a range, arrows "
                      "after labels, OCR damage) are listed in the issue-15 seed-gap notes"))) for s in ALL])
def test_share_read_or_classified_reaches_95_percent(seed, tmp_path_factory):
    ok, total = _share(_graded(seed, tmp_path_factory))
    assert ok >= 0.95 * total
