"""The Python API (docs/api.md): verify, check, grade, their result objects, and the example notebook."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import proofcheck
from testlib import FAST, REPO, derivation

SQUARE = derivation("x, y: real", "(x + y)^2 = x^2 + 2 x y + y^2", """
    (x + y)^2
      = (x + y) (x + y)
      = x^2 + 2 x y + y^2
    """, title="Square of a sum")


def test_import_is_cheap_and_the_api_is_there():
    code = ("import sys, proofcheck; assert 'sympy' not in sys.modules and 'lark' not in sys.modules; "
            "assert callable(proofcheck.verify) and callable(proofcheck.check) and callable(proofcheck.grade); "
            "print(proofcheck.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == proofcheck.__version__


def test_the_modules_of_the_same_names_still_work():
    from proofcheck.verify import Options, verify_paths
    import proofcheck.grade as grade_module
    assert proofcheck.verify.Options is Options and proofcheck.verify.verify_paths is verify_paths
    assert hasattr(grade_module, "score_part") and callable(grade_module)


def test_verify_a_path():
    r = proofcheck.verify(REPO / "examples" / "kl_slip.yaml", timeout=FAST)
    assert not r.ok and r.status == "refuted" and r.exit_code == 1
    assert [s.status for s in r.steps] == ["proved", "proved", "refuted"]
    last = r.steps[-1]
    assert last.line == 15 and last.text == "(mu_p - mu_q)^2 / (2 sigma)" and not last.ok
    ce = last.counterexample
    assert set(ce) == {"mu_p", "mu_q", "sigma", "lhs", "rhs"} and ce["lhs"] != ce["rhs"]
    doc = r.to_dict()
    assert doc["files"][0]["parts"][0]["claim_established"] is False
    assert doc["summary"]["refuted"] == 1
    assert json.loads(r.to_json()) == doc


def test_verify_text_and_its_displays():
    r = proofcheck.verify(SQUARE, timeout=FAST)
    assert r.ok and r.status == "proved" and r.exit_code == 0
    assert [(s.index, s.relation, s.status) for s in r.steps] == [(1, "=", "proved"), (2, "=", "proved")]
    html = r._repr_html_()
    assert html.startswith('<div class="proofcheck-result">') and html.count("<math") >= 3  # typeset
    assert "claim established" in html and "<script" not in html
    md = r._repr_markdown_()
    assert "| 2 | 9 | `= x^2 + 2 x y + y^2` |  | **proved** |  |" in md
    assert "claim `(x + y)^2 = x^2 + 2 x y + y^2` — established" in md
    text = str(r)
    assert "<text> — Square of a sum  proved" in text and "2 steps: 2 proved" in text
    assert repr(r) == "<proofcheck.Result proved: 1 file(s), 2 proved>"


def test_verify_text_with_an_input_error():
    r = proofcheck.verify(SQUARE.replace("= (x + y) (x + y)", "= (x + y) (x + q)"), timeout=FAST)
    assert r.status == "error" and r.exit_code == 2 and not r.ok
    assert r.errors == ["<text>:8:20: 'q' is not declared; add it under `symbols:` (e.g. `q: real`)"]


def test_options_are_checked():
    with pytest.raises(TypeError, match="did you mean 'timeout'"):
        proofcheck.verify(SQUARE, timout=3)


def test_check():
    r = proofcheck.check("log(exp(a) exp(b))", "a + b", symbols="a, b: real", timeout=FAST)
    assert r.ok and r.steps[0].status == "proved" and r.assumed_real == []
    r = proofcheck.check("x^2", "x^2 + 1", timeout=FAST)
    assert not r.ok and r.steps[0].status == "refuted" and r.assumed_real == ["x"]
    assert r.to_dict()["files"][0]["parts"][0]["claim_established"] is False
    r = proofcheck.check("sqrt(x^2)", "<= x + 1", symbols={"x": "positive"}, timeout=FAST)
    assert r.ok and r.steps[0].relation == "<="


def test_grade_text_against_a_text_key():
    g = proofcheck.grade("(x + y)^2\n  = x^2 + y^2\n", SQUARE, timeout=FAST)
    assert repr(g) == "<proofcheck.GradeResult <submission>: 0 / 4>"
    assert not g.ok and [s.status for s in g.steps] == ["refuted"]
    assert g.to_dict()["final_matches_claim"] is False and g.to_dict()["id"] == "<submission>"
    assert "does not follow" in g.feedback
    good = proofcheck.grade("(x + y)^2\n  = (x + y) (x + y)\n  = x^2 + 2 x y + y^2\n", SQUARE, timeout=FAST)
    assert good.ok and good.score == good.max_score == 4
    assert "<table" in good._repr_html_() and "| main | final result | | matches | 2 | |" in good._repr_markdown_()


def test_grade_paths_and_errors():
    sub = REPO / "examples" / "submissions" / "003_1c142ed7ebb391f1_saturating_gan_gradient.yaml"
    g = proofcheck.grade(sub, REPO / "derivations" / "saturating_gan_gradient.yaml", timeout=FAST, jobs=2)
    assert g.max_score == 29 and 0 < g.score < 29
    assert g.parts["saturating_gradient"] == (6.0, 6.0)
    with pytest.raises(FileNotFoundError):
        proofcheck.grade("nosuchfile.yaml", SQUARE)
    with pytest.raises(ValueError, match="has errors"):
        proofcheck.grade("x\n  = x\n", SQUARE.replace("x, y: real", "x, y: sometype"))


def test_grade_text_in_memory_and_in_batches(tmp_path, monkeypatch):
    """Text is graded without writing a file; a list gives one result per submission in order (texts named by
    their place), and a directory holding the key grades the other files only."""
    import tempfile

    def no_files(*args, **kwargs):
        raise AssertionError("text is graded in memory")
    monkeypatch.setattr(tempfile, "TemporaryDirectory", no_files)
    monkeypatch.setattr(tempfile, "mkdtemp", no_files)
    wrong, right = "(x + y)^2\n  = x^2 + y^2\n", "(x + y)^2\n  = (x + y) (x + y)\n  = x^2 + 2 x y + y^2\n"
    gs = proofcheck.grade([wrong, right], SQUARE, timeout=FAST)
    assert [(g.to_dict()["id"], g.score) for g in gs] == [("<submission 1>", 0), ("<submission 2>", 4)]
    (tmp_path / "key.yaml").write_text(SQUARE, encoding="utf-8")
    (tmp_path / "a.txt").write_text(wrong, encoding="utf-8")
    (tmp_path / "b.txt").write_text(right, encoding="utf-8")
    gs = proofcheck.grade(tmp_path, tmp_path / "key.yaml", timeout=FAST)
    assert [(g.to_dict()["id"].rsplit("/", 1)[-1], g.score) for g in gs] == [("a.txt", 0), ("b.txt", 4)]
    with pytest.raises(ValueError, match="the limit is"):
        proofcheck.grade("x\n" * 600_000, SQUARE)


def test_the_example_notebook_runs(monkeypatch):
    """Every code cell of examples/notebook.ipynb, in order, in one fresh namespace (our own notebook)."""
    nb = json.loads((REPO / "examples" / "notebook.ipynb").read_text(encoding="utf-8"))
    monkeypatch.chdir(REPO / "examples")
    namespace: dict = {}
    shown = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        *body, last = source.rstrip().split("\n")
        exec(compile("\n".join(body), "notebook", "exec"), namespace)  # noqa: S102 - our own notebook
        value = eval(compile(last, "notebook", "eval"), namespace) if not last.startswith(("print(", "assert ")) \
            else exec(compile(last, "notebook", "exec"), namespace)  # noqa: S102, S307
        if hasattr(value, "_repr_html_"):
            shown.append(value._repr_html_())
    assert namespace["slip"].steps[-1].status == "refuted"
    assert namespace["graded"].steps[0].status == "refuted"
    assert len(shown) == 4 and all("<math" in h for h in shown)
