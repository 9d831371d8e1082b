"""A display that starts with `+` goes on with the sum of the line before it (seed 004, lines 341-343 and 349-350).

It used to start a chain of its own, so the next `=` line was compared with half of the sum and a correct line was
refuted."""

from __future__ import annotations

from testlib import SQUARE_KEY as KEY
from proofcheck.grade import grade_text
from proofcheck.verify import Options


def _steps(sheet: str) -> list[tuple[str, str]]:
    g = grade_text(KEY, sheet, Options(timeout=10, seed=0), path="s.md")
    return [(s.text, s.result.status.value) for p in g.parts for s in p.steps]


def test_a_display_starting_with_plus_continues_the_sum():
    sheet = "# 1\n\n$$(x + y)^2 = x^2 + x y$$\n\n$$+ x y + y^2$$\n\n$$= x^2 + 2 x y + y^2$$\n"
    assert _steps(sheet) == [("x^2 + x y + x y + y^2", "proved"), ("x^2 + 2 x y + y^2", "proved")]


def test_prose_between_them_or_a_minus_keeps_them_apart():
    # after a sentence the `+` display is not the same line written on; `-` may start an expression of its own
    apart = "# 1\n\n$$(x + y)^2 = x^2 + x y$$\n\nand then\n\n$$+ x y + y^2$$\n\n$$= x^2 + 2 x y + y^2$$\n"
    assert ("x^2 + x y", "refuted") in _steps(apart)
    minus = "# 1\n\n$$(x + y)^2 = x^2 + x y$$\n\n$$- x y + y^2$$\n\n$$= x^2 + 2 x y + y^2$$\n"
    assert ("x^2 + x y", "refuted") in _steps(minus)
