"""Shared helpers for the proofcheck test-suite.

* `run_cli(args)` runs the `proofcheck` command (in-process; `process=True`: `python -m proofcheck` in a
  subprocess) and returns (exit code, stdout, stderr).
* `write_yaml(tmp_path, text)` writes a derivation (dedented) to a file and returns its path.
* `verify(text)` checks a derivation in-process through `proofcheck.verify.verify_text` and returns the
  JSON-shaped dict of the file (the same structure as `--format json`).
* `parse_expr(text, symbols)` parses one formula of the expression language with the given declarations.

Test modules import these helpers as `from testlib import ...` (pytest puts tests/ on sys.path);
conftest.py re-exports its fixtures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FAST = 3  # seconds per step for most tests


def run_cli(args, cwd=None, timeout: float = 120, input_bytes: bytes | None = None, process: bool = False):
    """Run the `proofcheck` command with ARGS; returns (exit code, stdout, stderr).

    In this process through `proofcheck.cli.main` (a new interpreter per call cost the suite minutes of
    imports); `process=True` runs `python -m proofcheck` in a subprocess, for what only the real entry point
    shows. An exception that escapes `main` is reported as the interpreter would: a traceback on stderr, exit 1."""
    if process:
        return _run_process(args, cwd, timeout, input_bytes)
    import io
    import traceback

    from proofcheck.cli import main
    streams = {name: io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
               for name in ("stdout", "stderr")}
    saved = {name: getattr(sys, name) for name in ("stdout", "stderr", "stdin")}
    saved_env = {k: os.environ.get(k) for k in _CLI_ENV}
    here = os.getcwd()
    try:
        os.environ.update(_CLI_ENV)
        os.chdir(str(cwd or REPO))
        sys.stdout, sys.stderr = streams["stdout"], streams["stderr"]
        sys.stdin = io.TextIOWrapper(io.BytesIO(input_bytes or b""), encoding="utf-8")
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # noqa: BLE001 - what the interpreter would print
            traceback.print_exc()
            code = 1
    finally:
        for name, stream in saved.items():
            setattr(sys, name, stream)
        os.chdir(here)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, *(streams[n].buffer.getvalue().decode("utf-8", "replace") for n in ("stdout", "stderr"))


# rich wraps to the terminal width: keep `file:line:col: message` on one line
_CLI_ENV = {"COLUMNS": "200", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}


def _run_process(args, cwd, timeout: float, input_bytes: bytes | None):
    env = dict(os.environ)
    env.update(_CLI_ENV)
    # the package of this tree, not an installed copy: `python -m` run from another directory finds site-packages first
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    proc = subprocess.run([sys.executable, "-m", "proofcheck", *[str(a) for a in args]],
                          cwd=str(cwd or REPO), capture_output=True, timeout=timeout, env=env,
                          input=input_bytes)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def run_json(args, **kw):
    """Run the CLI with `--format json`; returns (exit code, parsed JSON document, stderr)."""
    code, out, err = run_cli([*args, "--format", "json"], **kw)
    try:
        doc = json.loads(out)
    except json.JSONDecodeError as exc:  # pragma: no cover - reported as a test failure
        raise AssertionError(f"stdout is not one JSON document ({exc}):\n{out}\n--- stderr ---\n{err}") from None
    return code, doc, err


def write_yaml(tmp_path: Path, text: str, name: str = "d.yaml") -> Path:
    """Write a (dedented) YAML text to tmp_path/name and return the path."""
    p = Path(tmp_path) / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return p


def derivation(symbols: str, claim: str, steps: str, extra: str = "", title: str = "t") -> str:
    """A derivation file from its parts; `steps` is the block scalar's content (dedented)."""
    body = textwrap.indent(textwrap.dedent(steps).strip("\n"), "  ")
    sym = "symbols:\n" + textwrap.indent(textwrap.dedent(symbols).strip("\n"), "  ") + "\n" if symbols else ""
    return f"proofcheck: 1\ntitle: {title}\n{sym}{extra}claim: {claim}\nsteps: |\n{body}\n"


def verify(text: str, path: str = "t.yaml", timeout: float = FAST, seed: int = 0, strict: bool = False) -> dict:
    """verify_text(...) as the JSON-shaped dict of one file."""
    from proofcheck.report.json_report import file_dict
    from proofcheck.verify import Options, verify_text
    report = verify_text(textwrap.dedent(text).lstrip("\n"), path,
                         Options(timeout=timeout, seed=seed, strict=strict))
    return file_dict(report)


def statuses(doc: dict, part: int = 0) -> list[str]:
    """The step statuses of one part of a file dict."""
    return [s["status"] for s in doc["parts"][part]["steps"]]


def parse_expr(text: str, symbols: dict[str, str] | None = None, define: list[str] | None = None):
    """Parse one first-line formula (expression or relation) with declarations {names: type}."""
    from proofcheck.model import Declaration, Span, Text
    from proofcheck.parse import build_scope, parse_expression_or_relation
    path = "<test>"
    decls = [Declaration(tuple(n.strip() for n in names.split(",")), Text(typ, path, ((1, 1),)), Span(path, 1, 1))
             for names, typ in (symbols or {}).items()]
    scope = build_scope(decls, [Text(d, path, ((1, 1),)) for d in (define or [])])
    return parse_expression_or_relation(Text(text, path, ((1, 1),)), scope)


@pytest.fixture
def cli():
    """The `run_cli` helper as a fixture."""
    return run_cli


@pytest.fixture
def yaml_file(tmp_path):
    """`yaml_file(text, name="d.yaml")` writes a derivation into tmp_path and returns its path."""
    def make(text: str, name: str = "d.yaml") -> Path:
        return write_yaml(tmp_path, text, name)
    return make


# A one-part key, `x + y = y + x`, for tests of how a sheet's formulas are recorded (tests/test_latex_*.py).
# (x + y)^2 = x^2 + 2 x y + y^2 as a key or a derivation file (cache and LaTeX continuation tests)
SQUARE_KEY = """\
proofcheck: 1
title: square of a sum
symbols:
  x, y: real
claim: (x + y)^2 = x^2 + 2 x y + y^2
steps: |
  (x + y)^2
    = x^2 + 2 x y + y^2
"""


COMMUTATIVE_KEY = """\
    proofcheck: 1
    title: t
    symbols:
      x, y: real
    claim: x + y = y + x
    steps: |
      x + y
        = y + x
    """


def latex_key(text: str):
    """A key (Derivation) from YAML text, indented or not."""
    from proofcheck.read import parse_derivation_text
    return parse_derivation_text(textwrap.dedent(text), "k.yaml")

