"""The seed sheets (../shared/seeds, real homework) graded unedited with their keys in examples/seeds.

Each mistake of derivations/SEED_NOTES.md that a key covers must be refuted at the line where the student
wrote it (the line is found by searching the seed for the student's own LaTeX, not hard-coded), correct
lines must not be refuted, and every formula of the sheet must be accounted for: read, a condition, an
expression without a relation, outside the key's questions, or "not read" with its line, column and reason.
Skipped only where the seeds are absent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from testlib import run_cli

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
KEYS = ROOT / "examples" / "seeds"
KINDS = {"read", "condition", "expression", "outside", "not read"}

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"{SEEDS} is absent")


def _line_of(seed: str, snippet: str) -> int:
    """The line of the seed holding the student's LaTeX `snippet` (exactly one such line)."""
    lines = [i for i, l in enumerate((SEEDS / f"{seed}.txt").read_text(encoding="utf-8").splitlines(), 1)
             if snippet in l]
    assert len(lines) == 1, (snippet, lines)
    return lines[0]


def _grade(seed: str, tmp_path) -> dict:
    code, out, err = run_cli(["grade", SEEDS / f"{seed}.txt", "--key", KEYS / f"{seed}.key.yaml",
                              "--format", "json", "--timeout", "5", "--no-cache"], cwd=tmp_path)
    assert code == 0, err
    return json.loads(out)["submissions"][0]


def test_seed_000_diffusion_posterior_and_snr(tmp_path):
    seed = "000_82633c51acc6733d"
    sub = _grade(seed, tmp_path)
    steps = sub["steps"]
    snr_line = _line_of(seed, r"\frac{a_{S}^{2}\sigma_{t}^{2} - a_{t}^{2}}{\sigma_{t}^{2}}")
    # SEED_NOTES 000/q2 item 8: the three transitions after the correct sigma_t^2 - a_{t|s}^2 sigma_S^2 line are false
    kl = [s for s in steps if s["part"] == "kl_snr"]
    assert [s["status"] for s in kl][-3:] == ["refuted"] * 3
    assert all(s["line"] == snr_line for s in kl[-3:])
    assert "a_s^2 sigma_t^2 - a_t^2" in kl[-3]["text"] and "SNR(s) - SNR(t)" in kl[-1]["text"]
    # the correct lines of the chain before them hold
    assert all(s["status"] in ("proved", "numeric") for s in kl[:-3]) and len(kl) >= 2
    # the posterior variance line (d) is right and holds (the mean on the next line is item 4, tested below)
    var_line = _line_of(seed, r"$$\sigma_{Q}^{2} = \frac{\sigma_{t|s}^{2}\sigma_{S}^{2}}{\sigma_{t}^{2}}$$")
    post = [s for s in steps if s["part"] == "posterior" and s["line"] == var_line]
    assert post and all(s["status"] in ("proved", "numeric") for s in post)
    assert not any(s["status"] == "refuted" for s in steps if s["part"] == "posterior" and s["line"] != var_line + 1)
    # nothing dropped silently: every formula of the sheet has a record, and what is not read says where and why
    f = sub["formulas"]
    assert set(f["counts"]) <= KINDS and sum(f["counts"].values()) == f["total"]
    assert all(n["line"] > 0 and n["column"] > 0 and n["reason"] for n in f["not_read"])
    blocks = re.findall(r"\$\$(.+?)\$\$", (SEEDS / f"{seed}.txt").read_text(encoding="utf-8"), re.S)
    assert f["total"] >= len(blocks)
    # the parts with lines not read on the way to the answer are flagged for a person, and the feedback says so
    assert sub["needs_review"] and all(p["needs_review"] for p in sub["parts"])
    assert "could not be read" in sub["feedback"]


def test_seed_000_posterior_mean_coefficient(tmp_path):
    seed = "000_82633c51acc6733d"
    # SEED_NOTES 000/q2 item 4: the inline `\mu_Q(z_t,x;s,t) = ...` (the key's mu_Q with its dependencies)
    # has the z_t coefficient sigma_{t|s}^2 sigma_s^2 / sigma_t^2 where a_{t|s} sigma_s^2 / sigma_t^2 is right
    line = _line_of(seed, r"and $\mu_{Q}(z_{t},x;s,t) = ")
    sub = _grade(seed, tmp_path)
    assert any(s["line"] == line and s["status"] == "refuted" for s in sub["steps"])


@pytest.mark.xfail(strict=True, reason="the KL lines of 000/q2 (e) (SEED_NOTES items 5 and 7) use densities "
                   "q, p_theta and E_p that the key does not declare; they are listed as not read")
def test_seed_000_kl_sign(tmp_path):
    seed = "000_82633c51acc6733d"
    sub = _grade(seed, tmp_path)
    assert any(s["status"] == "refuted" and s["line"] == _line_of(seed, r"\Big| \Big| \mu_Q - \mu_\theta")
               for s in sub["steps"])
