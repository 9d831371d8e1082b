"""The JSON Schema of the derivation file: every shipped derivation passes it, structural mistakes fail it,
and it agrees with the reader (a file the schema rejects is rejected by proofcheck too, and the other way
round for the good examples)."""

from __future__ import annotations

import json
import textwrap
from importlib import resources
from pathlib import Path

import jsonschema  # in the `test` extra
import pytest
import yaml

from testlib import REPO
from proofcheck.verify import Options, Planner

SCHEMA_PATH = REPO / "proofcheck" / "schema" / "derivation.schema.json"
DERIVATIONS = sorted((REPO / "derivations").glob("*.yaml"))
PLANTED = sorted((REPO / "tests" / "data" / "planted").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors_of(validator, data) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(data)]


def proofcheck_errors(tmp_path: Path, text: str) -> list[str]:
    """What proofcheck itself says when reading and parsing the file (the kernel is not run)."""
    path = tmp_path / "d.yaml"
    path.write_text(text, encoding="utf-8")
    plan = Planner(Options(timeout=1)).plan_path(str(path))
    return [e.message for e in plan.errors]


def test_schema_is_valid_draft_2020_12_and_shipped_with_the_package():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    shipped = resources.files("proofcheck").joinpath("schema/derivation.schema.json")
    assert shipped.is_file()
    assert json.loads(shipped.read_text(encoding="utf-8")) == schema


def test_there_are_derivations_to_validate():
    assert len(DERIVATIONS) >= 4


@pytest.mark.parametrize("path", DERIVATIONS + PLANTED, ids=lambda p: p.name)
def test_every_derivation_file_passes(validator, path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert errors_of(validator, data) == []


HEAD = "proofcheck: 1\ntitle: t\n"

GOOD = {
    "minimal": HEAD + "symbols:\n  x: real\nclaim: x = x\nsteps: |\n  x\n    = x\n",
    "submission_without_claim": HEAD + "symbols:\n  x: real\nsteps: |\n  x + 0\n    = x\n",
    "every_symbol_type": HEAD + textwrap.dedent("""\
        symbols:
          a: real
          b, c: positive
          d: nonnegative
          e1: negative
          e2: nonzero
          k: integer
          n, m: positive integer
          z: complex
          p: interval(0, 1)
          X: matrix(n, m)
          S: matrix(n, n) symmetric
          P: matrix(2, 2) spd
          v: vector(n)
          f: function
          g: function(2)
          h: increasing function
          q: density
          r: density(2)
          u:
        claim: a = a
        steps: |
          a
            = a
        """),
    "parts_with_their_own_declarations": HEAD + textwrap.dedent("""\
        symbols:
          x: real
        define:
          - g(t) := t^2 + 1
        given:
          pos: x > 0
        parts:
          - name: one
            claim: g(x) = x^2 + 1
            steps: |
              g(x)
                = x^2 + 1
          - name: two
            symbols:
              y: positive
            define: w := y + 1
            given:
              - y > 0
            notes: the second part
            claim: w = y + 1
            steps: |
              w
                = y + 1
        """),
    "metadata": HEAD + textwrap.dedent("""\
        source: a homework sheet
        notes: free text
        grading:
          final: 2
          steps: {default: 1}
        latex_names:
          '\\sigma_{t}': sigma_t
        symbols:
          sigma_t: positive
        claim: sigma_t = sigma_t
        steps: |
          sigma_t
            = sigma_t
        """),
    "quoted_version": "proofcheck: '1'\ntitle: t\nsymbols:\n  x: real\nclaim: x = x\nsteps: |\n  x\n    = x\n",
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_files_pass_and_proofcheck_reads_them(validator, tmp_path, name):
    text = GOOD[name]
    assert errors_of(validator, yaml.safe_load(text)) == []
    assert proofcheck_errors(tmp_path, text) == []


BODY = "symbols:\n  x: real\nclaim: x = x\nsteps: |\n  x\n    = x\n"
STEPS = "steps: |\n  x\n    = x\n"

BAD = {
    "no_version": ("title: t\n" + BODY, ""),
    "wrong_version": ("proofcheck: 2\ntitle: t\n" + BODY, "proofcheck"),
    "no_title": ("proofcheck: 1\n" + BODY, ""),
    "empty_title": ("proofcheck: 1\ntitle: ''\n" + BODY, "title"),
    "title_is_a_list": ("proofcheck: 1\ntitle: [a, b]\n" + BODY, "title"),
    "misspelt_key": (HEAD + "symbols:\n  x: real\nclaim: x = x\nstep: |\n  x\n    = x\n", ""),
    "unknown_key": (HEAD + "author: me\n" + BODY, ""),
    "no_steps_nor_parts": (HEAD + "claim: x = x\n", ""),
    "steps_and_parts": (HEAD + BODY + "parts:\n  - name: a\n    " + STEPS.replace("\n  ", "\n      "), ""),
    "empty_parts": (HEAD + "parts: []\n", "parts"),
    "parts_not_a_list": (HEAD + "parts:\n  a: 1\n", "parts"),
    "part_without_steps": (HEAD + "symbols:\n  x: real\nparts:\n  - name: a\n    claim: x = x\n", "parts/0"),
    "part_with_unknown_key": (HEAD + "symbols:\n  x: real\nparts:\n  - name: a\n    claims: x = x\n    "
                              + STEPS.replace("\n  ", "\n      "), "parts/0"),
    "part_is_text": (HEAD + "parts:\n  - just text\n", "parts/0"),
    "symbol_name_invalid": (HEAD + "symbols:\n  2x: real\nclaim: 1 = 1\nsteps: |\n  1\n    = 1\n", "symbols"),
    "symbol_type_misspelt": (HEAD + "symbols:\n  x: postive\nclaim: x = x\n" + STEPS, "symbols/x"),
    "symbol_type_number": (HEAD + "symbols:\n  x: 3\nclaim: x = x\n" + STEPS, "symbols/x"),
    "matrix_with_three_dimensions": (HEAD + "symbols:\n  x: real\n  X: matrix(2, 2, 2)\nclaim: x = x\n" + STEPS,
                                     "symbols/X"),
    "symbols_as_a_list": (HEAD + "symbols:\n  - x\nclaim: x = x\n" + STEPS, "symbols"),
    "define_without_assignment": (HEAD + "symbols:\n  x: real\ndefine:\n  - a = x + 1\nclaim: x = x\n" + STEPS,
                                  "define"),
    "define_as_a_mapping": (HEAD + "symbols:\n  x: real\ndefine:\n  a: x + 1\nclaim: x = x\n" + STEPS, "define"),
    "given_nested": (HEAD + "symbols:\n  x: real\ngiven:\n  pos:\n    rel: x > 0\nclaim: x = x\n" + STEPS, "given"),
    "claim_is_a_mapping": (HEAD + "symbols:\n  x: real\nclaim:\n  lhs: x\n" + STEPS, "claim"),
    "steps_as_a_list": (HEAD + "symbols:\n  x: real\nclaim: x = x\nsteps:\n  - x\n  - = x\n", "steps"),
    "grading_is_a_list": (HEAD + BODY + "grading: [1, 2]\n", "grading"),
    "latex_names_nested": (HEAD + BODY + "latex_names:\n  a:\n    b: c\n", "latex_names"),
    "not_a_mapping": ("- proofcheck: 1\n", ""),
}


# The reader passes these blocks on as plain data (the grader and the LaTeX export read them), so only
# the schema rejects their shape today.
SCHEMA_ONLY = {"grading_is_a_list", "latex_names_nested"}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_fail_and_proofcheck_rejects_them_too(validator, tmp_path, name):
    text, where = BAD[name]
    data = yaml.safe_load(text)
    errors = errors_of(validator, data)
    assert errors, f"the schema accepts {name}"
    assert any(e.startswith(where) for e in errors), errors
    if name not in SCHEMA_ONLY:
        assert proofcheck_errors(tmp_path, text), f"proofcheck reads {name} without an error"
