"""The module layout (issue 15, item 6): the LaTeX front end and grading are packages behind public
entry points, the LaTeX package does not reach into the check stage, no module imports another's
private names, and grading works from text held in memory."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from testlib import FAST, REPO
from proofcheck.grade import Grade, grade_text, key_from_text
from proofcheck.verify import Options

PACKAGE = REPO / "proofcheck"

KEY = """\
proofcheck: 1
title: Square of a sum
symbols:
  x, y: real
claim: (x + y)^2 = x^2 + 2 x y + y^2
steps: |
  (x + y)^2
    = (x + y) (x + y)
    = x^2 + 2 x y + y^2
grading:
  final: 2
  steps_total: 2
"""


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(m for m in sys.modules if m.startswith('proofcheck')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO))
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_the_latex_package_needs_only_the_model_and_the_errors():
    loaded = _loaded_after("import proofcheck.latex")
    assert "proofcheck.verify" not in loaded and "proofcheck.read" not in loaded
    assert {m for m in loaded if not m.startswith("proofcheck.latex")} <= {"proofcheck", "proofcheck.errors",
                                                                          "proofcheck.model"}


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield node.lineno, base, [a.name for a in node.names]


def test_no_module_imports_a_private_name_of_another():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, base, names in _imports(path):
            if base.split(".")[0] != "proofcheck":
                continue
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    found.append(f"{path.relative_to(REPO)}:{line}: {name} from {base}")
    assert found == []


def test_outside_modules_use_the_packages_entry_points():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for pkg in ("latex", "grade"):
            if path.is_relative_to(PACKAGE / pkg):
                continue
            for line, base, _ in _imports(path):
                if base.startswith(f"proofcheck.{pkg}."):
                    found.append(f"{path.relative_to(REPO)}:{line}: {base}")
    assert found == []
    assert not (PACKAGE / "latex_input.py").exists() and not (PACKAGE / "submissions.py").exists()


def test_grade_text_grades_a_submission_held_in_memory():
    options = Options(timeout=FAST, seed=0)
    good = grade_text(KEY, "(x + y)^2\n  = (x + y) (x + y)\n  = x^2 + 2 x y + y^2\n", options)
    assert isinstance(good, Grade) and good.path == "<submission>"
    assert (good.score, good.max_score) == (4.0, 4.0)
    key, errors = key_from_text(KEY, "<key>", options)
    assert errors == [] and key is not None
    wrong = grade_text(key, "(x + y)^2\n  = x^2 + y^2\n", options)
    assert wrong.max_score == 4.0 and wrong.score == 0.0
    assert wrong.parts[0].steps[0].result.status.value == "refuted"


def test_grade_text_rejects_a_key_with_errors():
    with pytest.raises(ValueError, match="the key has errors"):
        grade_text(KEY.replace("x, y: real", "x, y: sometype"), "x\n  = x\n", Options(timeout=FAST))


def _key_for(claim: str, chain: str) -> str:
    """KEY with another claim and key chain."""
    return KEY.replace("claim: (x + y)^2 = x^2 + 2 x y + y^2", f"claim: {claim}").replace(
        "  (x + y)^2\n    = (x + y) (x + y)\n    = x^2 + 2 x y + y^2\n", chain)


def test_final_points_need_the_key_form():
    """A last line equal to the result but with an unevaluated head the result lacks earns no final points."""
    key = _key_for("diff((x + y)^3, x) = 3 (x + y)^2",
                   "  diff((x + y)^3, x)\n    = 3 (x + y)^2 diff(x + y, x)\n    = 3 (x + y)^2\n")
    options = Options(timeout=FAST, seed=0)
    done = grade_text(key, "diff((x + y)^3, x)\n  = 3 (x + y)^2 diff(x + y, x)\n  = 3 (x + y)^2\n", options)
    assert done.parts[0].final_points == 2
    unfinished = grade_text(key, "diff((x + y)^3, x)\n  = 3 (x + y)^2 diff(x + y, x)\n", options)
    assert unfinished.parts[0].final_points == 0
    assert "not yet in the key's form" in unfinished.parts[0].feedback


def test_a_determinant_left_in_the_last_line_is_not_the_key_form():
    # red team 12: one row operation under `det` and no determinant computed earned the final points
    key = _key_for("det([[x, y], [y, x]]) = (x - y) (x + y)",
                   "  det([[x, y], [y, x]])\n    = x^2 - y^2\n    = (x - y) (x + y)\n")
    options = Options(timeout=FAST, seed=0)
    unfinished = grade_text(key, "det([[x, y], [y, x]])\n  = det([[x - y, y], [y - x, x]])\n", options)
    assert unfinished.parts[0].steps[0].result.status.value == "proved"
    assert unfinished.parts[0].final_points == 0 and "still has a determinant" in unfinished.parts[0].feedback
    done = grade_text(key, "det([[x, y], [y, x]])\n  = x^2 - y^2\n  = (x - y) (x + y)\n", options)
    assert done.parts[0].final_points == 2
