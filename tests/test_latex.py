"""`proofcheck latex FILE`: the solution sheet's structure (environments, one line and one mark per step,
escaping) and, where pdflatex is installed (CI installs texlive-latex-base), that it compiles."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from testlib import REPO
from proofcheck.cli import main
from proofcheck.kernel.verdict import Status, StepResult
from proofcheck.report import formula, latex
from proofcheck.verify import FileReport, Options, PartReport, Planner, StepReport

SMALL = "tests/data/reports/small.yaml"
BAD = "tests/data/reports/bad_input.yaml"
STEPS = {"square": 2, "wrong\\_square": 2, "calculus": 2, "solve\\_for\\_x": 2, "derivative\\_prime": 1}


def cli(*args):
    old = os.getcwd()
    os.chdir(REPO)
    try:
        return main(["latex", *map(str, args)])
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    """The small sheet with and without marks."""
    d = tmp_path_factory.mktemp("latex")
    out = {}
    for name, extra in (("marks", ["--marks"]), ("plain", [])):
        path = d / f"{name}.tex"
        assert cli(SMALL, "-o", path, "--timeout", "5", *extra) == 0  # written, whatever the verdicts
        out[name] = path.read_text(encoding="utf-8")
    return out


def environments_balanced(tex: str) -> None:
    stack = []
    for m in re.finditer(r"\\(begin|end)\{([^}]*)\}", tex):
        if m.group(1) == "begin":
            stack.append(m.group(2))
        else:
            assert stack and stack[-1] == m.group(2), f"\\end{{{m.group(2)}}} closes {stack[-1:] or 'nothing'}"
            stack.pop()
    assert stack == []
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex.replace("\\\\", "")):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0


def sections(tex: str) -> dict[str, str]:
    body = tex.split(r"\begin{document}", 1)[1]
    parts = re.split(r"\\section\{([^}]*)\}", body)
    return dict(zip(parts[1::2], parts[2::2]))


def align_lines(section: str) -> list[str]:
    (block,) = re.findall(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", section, flags=re.S)
    return [line.strip() for line in block.split(" \\\\\n")]


def test_document_structure(sheets):
    for tex in sheets.values():
        assert tex.startswith("% Solution sheet written by proofcheck")
        assert "\\documentclass" in tex and tex.rstrip().endswith(r"\end{document}")
        environments_balanced(tex)
        assert tex.isascii()
        assert re.findall(r"\\usepackage(?:\[[^]]*\])?\{([^}]*)\}", tex) == ["fontenc", "amsmath,amssymb", "geometry",
                                                                            "color"]


def test_every_step_is_a_line_with_its_mark(sheets):
    secs = sections(sheets["marks"])
    assert list(secs) == list(STEPS)
    for name, n in STEPS.items():
        lines = align_lines(secs[name])
        steps = [line for line in lines if r"\tag*" in line]
        assert len(steps) == n, name
        assert all(r"\notag" in line for line in lines if r"\tag*" not in line)
    wrong = align_lines(secs["wrong\\_square"])
    assert "pcproved" in wrong[0] and "pcrefuted" in wrong[-1]
    assert "Step 2 (line 24) is refuted." in secs["wrong\\_square"]
    assert re.search(r"\\texttt\{x\} & \\texttt\{-?[0-9.]+\} \\\\", secs["wrong\\_square"])
    assert "Claim not established: the steps give" in secs["calculus"]
    assert "Claim established." in secs["square"]


def test_chains_are_typeset(sheets):
    secs = sections(sheets["plain"])
    square = align_lines(secs["square"])
    assert square[0].startswith(r"\left(x + y\right)^{2} &=")  # start &= first step
    assert square[1].startswith("&=") and r"\text{by algebra}" in square[1]
    solve = align_lines(secs["solve\\_for\\_x"])
    assert solve[0] == "& 2 x + 4 = 0"  # a statement chain: the first statement on its own line
    assert solve[1].startswith(r"\Longleftrightarrow\quad & 2 x = -4")
    assert r"\text{by solve(x)}" in solve[2]
    calculus = align_lines(secs["calculus"])
    assert calculus[1].startswith(r"&\leq")
    assert r"f'\left(2 x\right)" in secs["derivative\\_prime"]
    assert r"\textbf{Claim.}\[ \left(x + y\right)^{2} = x^{2} + 2 x y + y^{2} \]" in secs["square"]
    assert r"\tag*" not in sheets["plain"] and r"\pcmark{" not in sheets["plain"].split(r"\begin{document}")[1]


def test_text_from_the_file_is_escaped(sheets):
    (title,) = re.findall(r"\\title\{(.*)\}\n", sheets["plain"])
    assert title == (r"Small sheet \textless{}b\textgreater{}not bold\textless{}/b\textgreater{} \& 100\% "
                     r'"quoted" \#1 \{x\_1\} \textbackslash{} \textasciitilde{} \textasciicircum{}')
    assert r"\item[\texttt{s\_pos}:] $s > 0$" in sheets["plain"]


def test_unreadable_line_is_source_text_and_exit_status_2(tmp_path, capsys):
    out = tmp_path / "bad.tex"
    assert cli(BAD, "-o", out, "--timeout", "5") == 2
    err = capsys.readouterr().err
    assert f"{BAD}:9:15: error: 'zeta' is not declared" in err
    tex = out.read_text(encoding="utf-8")
    environments_balanced(tex)
    assert r"&= \texttt{1 + x + zeta}" in tex


def test_usage_errors(tmp_path, capsys):
    assert cli(tmp_path, "-o", tmp_path / "x.tex") == 2  # a directory
    plain = tmp_path / "plain.yaml"
    plain.write_text("a: 1\n", encoding="utf-8")
    assert cli(plain) == 2
    assert cli(tmp_path / "missing.yaml") == 2
    assert not (tmp_path / "x.tex").exists()


def test_stdout_and_the_note_about_unestablished_steps(capsys):
    assert cli(SMALL, "--timeout", "5") == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("% Solution sheet") and captured.out.rstrip().endswith(r"\end{document}")
    assert "note: the derivation is refuted" in captured.err
    assert f"{SMALL}:24: step 2 (wrong_square) is refuted" in captured.err


def test_fallbacks_escape_every_special_character():
    nasty = r"a_1 & b % c # d ^ e ~ f \ g { } $ <= " + "\u00e9"
    step = StepReport(1, 3, 3, "<=", nasty, "", StepResult(Status.UNKNOWN, "timeout", "over budget"))
    part = PartReport("p&1", nasty, Status.UNKNOWN, False, "50% done", [step], nasty)
    tex = latex.render(FileReport("x.yaml", "T_1", Status.UNKNOWN, [], [part]), marks=True)
    environments_balanced(tex)
    assert tex.isascii()
    assert r"\texttt{a\_1 \& b \% c \# d \textasciicircum{} e \textasciitilde{} f \textbackslash{} g \{ \} \$ " \
           r"\textless{}= ?}" in tex
    assert r"\section{p\&1}" in tex and r"Claim not established: 50\% done." in tex


# ---------------------------------------------------------------------------------------------
# Compiling


def _pdflatex() -> str:
    exe = shutil.which("pdflatex")
    if exe:
        return exe
    if os.environ.get("CI"):
        pytest.fail("pdflatex is not installed; .ci/run installs texlive-latex-base")
    pytest.skip("pdflatex is not installed (apt-get install texlive-latex-base)")


def compile_tex(tex: str, where: Path, name: str = "sheet") -> Path:
    """Run pdflatex on the text; returns the PDF (fails the test with the log's errors otherwise)."""
    exe = _pdflatex()
    where.mkdir(parents=True, exist_ok=True)
    (where / f"{name}.tex").write_text(tex, encoding="utf-8")
    proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", f"{name}.tex"],
                          cwd=where, capture_output=True, text=True, timeout=120)
    log = (where / f"{name}.log").read_text(encoding="latin-1") if (where / f"{name}.log").exists() else ""
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert proc.returncode == 0 and not errors, "\n".join(errors) or proc.stdout[-3000:]
    pdf = where / f"{name}.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    return pdf


def test_sheets_compile(sheets, tmp_path):
    for name, tex in sheets.items():
        pdf = compile_tex(tex, tmp_path / name)
        assert pdf.stat().st_size > 10_000


def test_fallback_sheet_compiles(tmp_path):
    step = StepReport(1, 3, 3, "=", r"a_1 & b % c # d ^ e ~ f \ g { } $", "",
                      StepResult(Status.REFUTED, "numeric", "no", {"x": "1", "lhs": "<", "rhs": ">"}))
    part = PartReport("p_1", "x = {y}", Status.REFUTED, False, "#1 & 2", [step], "x^")
    compile_tex(latex.render(FileReport("x.yaml", "T_1 & {2}", Status.REFUTED, [], [part]), marks=True), tmp_path)


def library_reports() -> list[FileReport]:
    """The library's files as reports with their real display objects, without running the kernel: the
    planner parses every line (that is where display objects come from); every step is marked proved."""
    reports = []
    for path in sorted((REPO / "derivations").glob("*.yaml")):
        plan = Planner(Options(timeout=1)).plan_path(str(path))
        assert not plan.errors, plan.errors
        parts = [PartReport(pp.name, pp.claim, Status.PROVED, True, "",
                            [StepReport(s.index, s.line, s.column, s.relation, s.text, s.rule,
                                        StepResult(Status.PROVED, "symbolic"), s.display) for s in pp.steps],
                            pp.start_text, pp.start_display)
                 for pp in plan.parts]
        reports.append(FileReport(str(path.relative_to(REPO)), plan.title, Status.PROVED, [], parts))
    return reports


def test_every_derivation_typesets_and_compiles_as_a_sheet(tmp_path):
    """The library's real formulas: every display object prints as LaTeX and MathML, and each sheet compiles."""
    old = os.getcwd()
    os.chdir(REPO)
    try:
        reports = library_reports()
    finally:
        os.chdir(old)
    assert len(reports) >= 4
    shown = 0
    bodies, preamble = [], ""
    for report in reports:
        tex = latex.render(report, marks=True)
        environments_balanced(tex)
        assert tex.count(r"\tag*") == sum(len(p.steps) for p in report.parts), report.path
        body = tex.split(r"\begin{document}")[1]
        assert not re.findall(r"(?<!\\item\[)\\texttt", body), report.path  # every formula typeset
        displays = [d for p in report.parts for d in [p.start_display, *(s.display for s in p.steps)]
                    if d is not None]
        assert len(displays) == sum(1 + len(p.steps) for p in report.parts), report.path
        shown += len(displays)
        for d in displays:
            assert formula.latex(d) is not None, d
            assert formula.mathml(d) is not None, d
        preamble, body = tex.split(r"\begin{document}")
        bodies.append(body.split(r"\end{document}")[0].replace(r"\maketitle", r"\clearpage"))
    # the sheets share their preamble but for the title: one document of all their bodies is compiled once (a run
    # of pdflatex per sheet took 10 s of the suite)
    compile_tex(preamble + "\\begin{document}\n" + "\n".join(bodies) + "\\end{document}\n", tmp_path / "library")
    assert shown > 200
