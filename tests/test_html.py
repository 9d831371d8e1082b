"""`proofcheck report --html`: the page is parsed and checked element by element, and (slow test) rendered by
headless Chromium to check that the MathML is laid out as mathematics and the page logs nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sympy as sp

from testlib import REPO
from proofcheck.cli import main
from proofcheck.kernel.verdict import Status, StepResult
from proofcheck.report import html
from proofcheck.verify import FileReport, PartReport, StepReport

SMALL = "tests/data/reports/small.yaml"
BAD = "tests/data/reports/bad_input.yaml"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
VOID = {"meta", "col", "br", "img", "input", "link", "hr", "source", "wbr", "area", "base", "embed", "param",
        "track"}
# What the small sheet's steps are, part by part (tests/data/reports/small.yaml), then bad_input.yaml.
EXPECTED = {
    "square": ["proved", "proved"],
    "wrong_square": ["proved", "refuted"],
    "calculus": ["proved", "proved"],
    "solve_for_x": ["proved", "proved"],
    "derivative_prime": ["proved"],
    "main": ["error", "unknown"],
}


class Node:
    """A parsed element: tag, attributes, children, and its text."""

    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children: list[Node] = []
        self.texts: list[str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag=None, cls=None):
        return [n for n in self.iter() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]

    def text(self) -> str:
        return "".join(self.texts) + "".join(c.text() for c in self.children)


class TreeBuilder(HTMLParser):
    """html.parser -> a Node tree, checking that every element is closed in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.cur = self.root
        self.doctype = None
        self.problems: list[str] = []

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.cur.tag != tag:
            self.problems.append(f"</{tag}> closes <{self.cur.tag}>")
            return
        self.cur = self.cur.parent

    def handle_data(self, data):
        self.cur.texts.append(data)


def parse_page(text: str) -> Node:
    b = TreeBuilder()
    b.feed(text)
    b.close()
    assert b.problems == []
    assert b.cur is b.root, f"unclosed <{b.cur.tag}>"
    assert b.doctype and b.doctype.lower() == "doctype html"
    return b.root


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The page for the small sheet and the file with an input error, written by the CLI in-process."""
    out = tmp_path_factory.mktemp("html") / "report.html"
    old = os.getcwd()
    os.chdir(REPO)
    try:
        code = main(["report", SMALL, BAD, "--html", str(out), "--timeout", "5", "--title", "Sheet <1> & 2"])
    finally:
        os.chdir(old)
    assert code == 2  # an input error, as `verify` would say
    return out


@pytest.fixture(scope="module")
def doc(page):
    return parse_page(page.read_text(encoding="utf-8"))


def step_rows(doc):
    return [tr for tr in doc.find_all("tr") if "step" in tr.classes]


def test_one_badge_per_step_with_the_verdict(doc):
    parts = doc.find_all("section", "part")
    assert len(parts) == 6
    for part in parts:
        name = part.find_all("h3")[0].texts[0] if part.find_all("h3") else "main"
        rows = step_rows(part)
        got = []
        for tr in rows:
            badges = tr.find_all("span", "badge")
            assert len(badges) == 1, f"{name}: {len(badges)} badges in a step row"
            status = badges[0].text()
            assert status in badges[0].classes and status in tr.classes
            got.append(status)
        assert got == EXPECTED[name], name
    # the part's own badge and the file's badge say the worst of their steps
    headings = {h.texts[0]: h.find_all("span", "badge")[0].text() for h in doc.find_all("h3")}
    assert headings["wrong_square"] == "refuted" and headings["square"] == "proved"
    files = [a.find_all("h2")[0].find_all("span", "badge")[0].text() for a in doc.find_all("article", "derivation")]
    assert files == ["refuted", "error"]


def test_formulas_are_mathml(doc, page):
    small = doc.find_all("article", "derivation")[0]
    rows = step_rows(small) + [tr for tr in small.find_all("tr") if "start" in tr.classes]
    assert len(rows) == 9 + 5
    for tr in rows:
        (cell,) = [td for td in tr.find_all("td") if "formula" in td.classes]
        maths = cell.find_all("math")
        assert len(maths) == 1, cell.text()
        assert maths[0].attrs.get("xmlns") == MATHML_NS and maths[0].attrs.get("display") == "block"
        assert not cell.find_all("code")
    claims = doc.find_all("div", "claim")
    assert len(claims) == 6 and all(c.find_all("math") for c in claims)
    # f'(x) is typeset with a prime, not as a substitution into a derivative
    text = page.read_text(encoding="utf-8")
    assert "\u2032" in text and "subs" not in text.lower().replace("substitut", "")
    # every <math> is well-formed XML in the MathML namespace
    blocks = re.findall(r"<math\b.*?</math>", text, flags=re.S)
    assert len(blocks) == len(doc.find_all("math")) > 20
    for block in blocks:
        assert ET.fromstring(block).tag == f"{{{MATHML_NS}}}math"


def test_unreadable_step_falls_back_to_its_source_text(doc):
    article = doc.find_all("article", "derivation")[1]
    (error_row,) = [tr for tr in step_rows(article) if "error" in tr.classes]
    codes = error_row.find_all("code")
    assert [c.text() for c in codes] == ["= 1 + x + zeta"]  # the relation once
    assert not error_row.find_all("math")
    errors = article.find_all("div", "errors")[0].text()
    assert f"{BAD}:9:15: error: 'zeta' is not declared" in errors


def test_counterexample_table_follows_the_refuted_step(doc):
    rows = [tr for tr in doc.find_all("tr") if {"step", "note"} & tr.classes]
    i = next(i for i, tr in enumerate(rows) if {"step", "refuted"} <= tr.classes)
    note = rows[i + 1]
    assert "note" in note.classes
    (table,) = note.find_all("table", "cex")
    cells = [[td.text().strip() for td in tr.children] for tr in table.find_all("tr")[1:]]
    names = [tr.children[0].find_all("math")[0].find_all("mi")[0].text() for tr in table.find_all("tr")[1:-2]]
    assert {"x", "y"} <= set(names)  # every symbol's value, each name typeset
    assert [c[0] for c in cells[-2:]] == ["left side", "right side"]
    values = dict(zip(names, (c[1] for c in cells)))
    float(values["x"]), float(values["y"]), float(cells[-2][1]), float(cells[-1][1])  # numbers


def test_summary_counts(doc):
    cards = {next(iter(c.classes - {"card"}), "total"): c for c in doc.find_all("div", "card")}
    numbers = {k: c.find_all("span", "n")[0].text() for k, c in cards.items() if k in Status._value2member_map_}
    assert numbers == {"proved": "8", "numeric": "0", "refuted": "1", "unknown": "1", "error": "1"}
    rows = doc.find_all("table", "files")[0].find_all("tr")[1:]
    assert [r.find_all("a")[0].attrs["href"] for r in rows] == ["#f1", "#f2"]
    assert doc.find_all("article")[0].attrs["id"] == "f1"


def test_text_from_the_file_is_escaped(doc, page):
    title = doc.find_all("h2")[0].texts[0]
    assert title == 'Small sheet <b>not bold</b> & 100% "quoted" #1 {x_1} \\ ~ ^'
    assert not doc.find_all("b")
    assert doc.find_all("title")[0].text() == "Sheet <1> & 2"
    assert "<1>" not in page.read_text(encoding="utf-8")


def test_self_contained_no_script_no_external_urls(doc, page):
    text = page.read_text(encoding="utf-8")
    tags = {n.tag for n in doc.iter()}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "video", "audio", "source", "base"}
    for n in doc.iter():
        for k, v in n.attrs.items():
            assert not k.startswith("on"), f"event handler {k} on <{n.tag}>"
            if k == "xmlns":
                assert v == MATHML_NS  # a namespace name, never fetched
                continue
            if k in ("href", "src", "action", "srcset", "poster", "data"):
                assert v.startswith("#"), f"<{n.tag} {k}={v!r}>"
            assert "://" not in (v or "") and not (v or "").startswith("//"), f"<{n.tag} {k}={v!r}>"
    (style,) = doc.find_all("style")
    css = style.text()
    assert "url(" not in css and "@import" not in css and "://" not in css
    assert doc.find_all("meta")[0].attrs == {"charset": "utf-8"}
    assert "javascript:" not in text.lower()


def test_report_exit_status_and_message(tmp_path):
    out = tmp_path / "r.html"
    old = os.getcwd()
    os.chdir(REPO)
    try:
        code = main(["report", SMALL, "--html", str(out), "--timeout", "5"])
        missing = main(["report", "no/such/dir", "--html", str(tmp_path / "x.html")])
    finally:
        os.chdir(old)
    assert code == 1  # a refuted step and a claim not established
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert missing == 2


def test_render_without_display_objects_uses_code():
    step = StepReport(1, 4, 3, "<=", "a < b & c", "", StepResult(Status.UNKNOWN, "timeout", "over budget"))
    part = PartReport("main", "a <= c", Status.UNKNOWN, False, "a step is unknown", [step], "a", sp.Symbol("a"))
    page = html.render([FileReport("x.yaml", "T", Status.UNKNOWN, [], [part])], 0.5)
    doc = parse_page(page)
    (row,) = step_rows(doc)
    assert [c.text() for c in row.find_all("code")] == ["\u2264 a < b & c"]
    assert "<code>\u2264 a &lt; b &amp; c</code>" in page
    start = [tr for tr in doc.find_all("tr") if "start" in tr.classes][0]
    assert start.find_all("math")  # the start line has a display object: MathML
    assert "claim not established: a step is unknown" in doc.find_all("div", "claim-status")[0].text()


# ---------------------------------------------------------------------------------------------
# A real browser


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; .ci/run installs it with apt-get")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def _run_chromium(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1200,1600"]
    return subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=60)


def _png_pixels(path: Path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA PNG, without any imaging library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return width, height, rows


MEASURE = """<script>
(function () {
  const maths = Array.from(document.querySelectorAll('math'));
  const fracs = Array.from(document.querySelectorAll('mfrac'));
  const sups = Array.from(document.querySelectorAll('msup'));
  const box = e => e.getBoundingClientRect();
  const out = {
    math: maths.length,
    displays: Array.from(new Set(maths.map(m => getComputedStyle(m).display))),
    empty: maths.filter(m => box(m).width < 1 || box(m).height < 1).length,
    fractions: fracs.length,
    stacked: fracs.filter(f => f.children.length === 2 &&
                               box(f.children[0]).bottom <= box(f.children[1]).top + 1).length,
    superscripts: sups.length,
    raised: sups.filter(s => s.children.length === 2 &&
                             box(s.children[1]).bottom < box(s.children[0]).bottom - 1).length,
    resources: performance.getEntriesByType('resource').map(r => r.name),
  };
  const pre = document.createElement('pre');
  pre.id = 'pc-metrics';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


@pytest.mark.slow
def test_page_renders_in_headless_chromium(page, tmp_path):
    exe = _chromium()
    # 1. A screenshot of the page as it is, with the browser's console log on standard error.
    shot = tmp_path / "page.png"
    proc = _run_chromium(exe, tmp_path / "profile1", "--enable-logging=stderr", "--v=0",
                         f"--screenshot={shot}", page.as_uri())
    assert shot.is_file(), proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], "the page logged to the console"
    width, height, rows = _png_pixels(shot)
    assert (width, height) == (1200, 1600)
    colours = {}
    for row in rows[::2]:
        for px in row[::2]:
            colours[px] = colours.get(px, 0) + 1
    white = colours.get((255, 255, 255), 0)
    total = sum(colours.values())
    assert 0.02 < 1 - white / total < 0.9, "the screenshot is blank or a solid block"
    assert colours.get((0xda, 0xfb, 0xe1), 0) > 50, "no green `proved` badge on screen"
    assert colours.get((0xff, 0xeb, 0xe9), 0) > 50, "no red `refuted` badge on screen"
    # 2. The same page with a measuring script added: the browser's own layout of the MathML.
    measured = tmp_path / "measured.html"
    text = page.read_text(encoding="utf-8")
    measured.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    proc = _run_chromium(exe, tmp_path / "profile2", "--dump-dom", measured.as_uri())
    m = re.search(r'<pre id="pc-metrics">(.*?)</pre>', proc.stdout, flags=re.S)
    assert m, proc.stderr[-2000:]
    metrics = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert metrics["math"] == text.count("<math ") > 20
    assert all("math" in d for d in metrics["displays"]), metrics["displays"]  # laid out as MathML, not text
    assert metrics["empty"] == 0
    assert metrics["fractions"] > 5 and metrics["stacked"] == metrics["fractions"]
    assert metrics["superscripts"] > 5 and metrics["raised"] == metrics["superscripts"]
    assert metrics["resources"] == []  # nothing fetched: no network, no files besides the page
