"""A clone with no sibling folders has every link and every documented example working (issue 16).

* Every relative link in README.md, examples/README.md and docs/*.md resolves to a file inside the
  repository, and no page names a path of a development machine or a folder beside the clone.
* Every complete derivation file quoted in docs/format.md (and README.md) is checked by `verify`:
  none is an input error, and only the page's deliberate slip is refuted.
* README's quoted output of `verify examples/...` is what the tool prints (run this file as a script
  to rewrite it: `python tests/test_docs_links.py`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", REPO / "examples" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FORBIDDEN = re.compile(r"(?<![\w.])(/work/|/home/|/root/|\.\./shared|\bshared/FORMAT\.md)")
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
README_COMMAND = ["verify", "examples/kl_equal_variance.yaml", "examples/kl_slip.yaml"]


def _links(page: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans such as `E[...](...)`; a link's own label may be one
    return LINK.findall(text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve_inside_the_repository(page):
    for target in _links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL or an in-page anchor
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(REPO), f"{page.name}: {target} leaves the repository"
        assert path.exists(), f"{page.name}: {target} does not exist"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_page_names_a_path_outside_the_clone(page):
    for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        found = FORBIDDEN.search(line)
        assert found is None, f"{page.relative_to(REPO)}:{n}: {found.group(0)!r} in: {line.strip()}"


def test_the_language_reference_is_linked_from_the_readme():
    links = _links(REPO / "README.md")
    assert "docs/format.md" in links and "docs/api.md" in links


def _documented_derivations() -> list[tuple[str, str]]:
    out = []
    for page in (REPO / "docs" / "format.md", REPO / "README.md"):
        for i, block in enumerate(YAML_BLOCK.findall(page.read_text(encoding="utf-8")), 1):
            if re.search(r"^proofcheck:\s*1", block, re.MULTILINE):
                out.append((f"{page.stem}_{i:02d}.yaml", block))
    return out


def test_every_documented_derivation_is_read_and_checked(tmp_path):
    blocks = _documented_derivations()
    assert len(blocks) >= 20  # one for every construct of docs/format.md
    for name, text in blocks:
        (tmp_path / name).write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "proofcheck", "verify", str(tmp_path), "--format", "json",
                           "--no-cache", "--timeout", "5", "--jobs", "2"],
                          capture_output=True, cwd=str(REPO), timeout=600)
    doc = json.loads(proc.stdout)
    assert len(doc["files"]) == len(blocks)
    for f in doc["files"]:
        assert f["status"] != "error", (f["path"], f["errors"])
        if f["title"] == "A slip that proofcheck refutes":
            assert f["status"] == "refuted"
            step = f["parts"][0]["steps"][0]
            assert step["counterexample"] == {"x": "-1", "y": "-1", "lhs": "4", "rhs": "2"}  # exact values
        else:
            assert f["status"] != "refuted", (f["path"], f["title"])


def readme_output() -> str:
    """What README's example command prints at 100 columns (the total time replaced by README's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LINES",)}
    env.update(COLUMNS="100", NO_COLOR="1", PYTHONIOENCODING="utf-8")
    proc = subprocess.run([sys.executable, "-m", "proofcheck", *README_COMMAND, "--no-cache", "--jobs", "2"],
                          capture_output=True, cwd=str(REPO), env=env, timeout=300)
    return "\n".join(line.rstrip() for line in proc.stdout.decode("utf-8").splitlines()) + "\n"


def _quoted_output(readme: str) -> tuple[int, int]:
    start = readme.index("```\n", readme.index("`proofcheck verify examples/kl_equal_variance.yaml")) + 4
    return start, readme.index("```", start)


def _no_time(text: str) -> str:
    return re.sub(r"; [0-9.]+ s$", "; T s", text.rstrip("\n"), flags=re.MULTILINE)


def test_readme_quotes_what_the_tool_prints():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = _quoted_output(readme)
    assert _no_time(readme[start:end]) == _no_time(readme_output()), \
        "README's example output is stale: run `python tests/test_docs_links.py` to rewrite it"
    # The sentence after it plugs the same counterexample in by hand.
    shown = re.search(r"counterexample: mu_p = (\S+),\s.*?mu_q = (\S+), sigma = (\S+)\s", readme[start:end], re.DOTALL)
    prose = re.search(r"by hand: with μ_p = (\S+), μ_q = (\S+) and\s+σ = (\S+)\s", readme)
    assert shown and prose and shown.groups() == prose.groups()


if __name__ == "__main__":  # rewrite README's quoted output from the tool
    path = REPO / "README.md"
    readme = path.read_text(encoding="utf-8")
    start, end = _quoted_output(readme)
    path.write_text(readme[:start] + readme_output().rstrip("\n") + "\n" + readme[end:], encoding="utf-8")
    print("README.md: example output rewritten")
