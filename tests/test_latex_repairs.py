"""Sheets as they arrive: commands whose backslash was lost on the way (a JSON export), a minus after `\\max_\\theta`,
a density's arguments written as its subscript (seeds 000 and 004)."""

from __future__ import annotations

from test_sheet_honesty import grade_sheets, statuses
from proofcheck.latex import Names, lost_backslash_note, translate
from proofcheck.latex.tokens import lost_backslashes

FRACTION_KEY = """\
proofcheck: 1
title: A fraction
symbols:
  x: positive
claim: x/2 + x/2 = x
steps: |
  x/2 + x/2
    = x
"""


def test_remnants_of_lost_backslashes_are_read_as_their_commands_where_they_stand():
    text = "oldsymbol{M} = rac{1}{2} heta x^ op\n angle heta_1 \\lim_{p o 1} p"
    assert [(lost, cmd) for _, lost, cmd in lost_backslashes(text, 0, len(text))] == [
        ("oldsymbol", "boldsymbol"), ("rac", "frac"), ("heta", "theta"), ("op", "top"), ("heta", "theta"),
        ("o", "to")]
    # not a remnant: a word inside a longer one, `rac` without its brace, `angle` after a space, `o` elsewhere
    for fine in ("oracle = x", "rac + 1", "x = y\n  angle", "x o y"):
        assert lost_backslashes(fine, 0, len(fine)) == []


def test_a_damaged_sheet_is_graded_and_its_notes_say_where_it_was_repaired(tmp_path):
    right = "Show it.\n\n$$rac{x}{2} + rac{x}{2} = x$$\n"
    wrong = "Show it.\n\n$$rac{x}{2} + rac{x}{2} = 2x$$\n"
    grades = grade_sheets(tmp_path, FRACTION_KEY, {"right.md": right, "wrong.md": wrong})
    assert statuses(grades["right.md"]) == ["proved"]
    assert statuses(grades["wrong.md"]) == ["refuted"]
    note = " ".join(grades["right.md"].notes)
    assert "2 commands of the file had lost their backslash" in note and "line 3:3 `rac`" in note
    assert lost_backslash_note("$$\\frac{x}{2} = y$$\n", "s.md") == ""


NAMES = Names(symbols={"x": "scalar", "y": "scalar", "a": "scalar", "f": "function"})


def test_a_minus_after_max_belongs_to_its_operand():
    assert translate(r"\max_{x} - (x - a)^2", NAMES) == translate(r"\max_{x} (-(x - a)^2)", NAMES) == \
        "maximum(-(x - a)^2, x)"


def test_a_functions_arguments_as_its_subscript_are_its_arguments():
    assert translate(r"f_{(x)} + 1", NAMES) == translate(r"f(x) + 1", NAMES)
