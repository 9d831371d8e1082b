"""`proofcheck serve`: the JSON API on a real server (ephemeral loopback port, served from a thread),
hostile and oversized requests, a runaway step while another request is answered, grading with a
key, the command line, and the page typed into by headless Chromium."""

from __future__ import annotations

import hashlib
import base64
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from testlib import REPO
from proofcheck.serve import MAX_BODY, MAX_STEPS, EXAMPLE, create_server
from proofcheck.verify import Options

KL = {k: EXAMPLE[k] for k in ("symbols", "define", "claim", "steps")}
KL_SLIP = dict(KL, steps=KL["steps"].replace("(2 sigma^2)", "(2 sigma)").replace(
    "((z - mu_p)^2 - (z - mu_q)^2) / (2 sigma)", "((z - mu_p)^2 - (z - mu_q)^2) / (2 sigma^2)"))
SLOW_STEP = "sum(1/(k^2 + sin(k)), k, 1, oo)"  # SymPy does not finish this sum


def start(**kw):
    """A server on a free loopback port, serving from a daemon thread."""
    kw.setdefault("slots", 2)
    options = kw.pop("options", Options(timeout=3))
    srv = create_server(options, host="127.0.0.1", port=0, **kw)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return srv


def stop(srv):
    srv.shutdown()
    srv.close()


@pytest.fixture(scope="module")
def server():
    srv = start()
    yield srv
    stop(srv)


def request(srv, method, path, body=None, headers=None, timeout=60):
    """(status, headers, body bytes) of one request on a fresh connection."""
    host, port = srv.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    hdrs = {"Host": f"127.0.0.1:{port}"}
    hdrs.update(headers or {})
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def check(srv, doc, headers=None, raw=None, timeout=60):
    """POST /api/check; returns (status, parsed JSON)."""
    body = raw if raw is not None else json.dumps(doc).encode()
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    status, hdrs, data = request(srv, "POST", "/api/check", body, h, timeout)
    assert hdrs["Content-Type"].startswith("application/json"), data[:200]
    return status, json.loads(data)


def by_line(doc):
    return {e["line"]: e for e in doc["lines"]}


# ---------------------------------------------------------------------------------------------
# Good input


def test_correct_chain_is_proved_with_mathml(server):
    status, doc = check(server, KL)
    assert status == 200
    assert doc["status"] == "proved"
    lines = by_line(doc)
    assert [lines[n]["status"] for n in (1, 2, 3, 4)] == ["start", "proved", "proved", "proved"]
    assert lines[2]["rule"] == "definition"
    for e in doc["lines"]:
        assert e["mathml"].startswith("<math"), e
    assert "<mi>σ</mi>" in lines[4]["mathml"]  # Greek names print as Greek
    assert doc["claim"]["established"] is True
    assert doc["claim"]["mathml"].startswith("<math")
    assert doc["grade"] is None and doc["errors"] == []


def test_wrong_step_is_refuted_with_a_counterexample(server):
    status, doc = check(server, KL_SLIP)
    assert status == 200 and doc["status"] == "refuted"
    last = by_line(doc)[4]
    assert last["status"] == "refuted"
    ce = last["counterexample"]
    assert {"sigma", "mu_p", "mu_q", "lhs", "rhs"} <= set(ce)
    assert float(ce["sigma"]) > 0  # drawn inside the declared type
    assert "<mi>σ</mi>" in last["names_mathml"]["sigma"]
    assert doc["claim"]["established"] is False
    assert "last line" in doc["claim"]["message"]


def test_steps_first_then_the_claim(server):
    """The page asks for the steps first; the claim (which may take longer) comes with a second answer."""
    doc = dict(KL, steps=KL["steps"] + " + sin(mu_p)^2 + cos(mu_p)^2 - 1")  # nothing remembered yet
    status, first = check(server, dict(doc, steps_only=True))
    assert status == 200 and first["pending"] is True and first["status"] == "pending"
    assert first["claim"]["pending"] is True and first["claim"]["established"] is None
    assert [e["status"] for e in first["lines"]] == ["start", "proved", "proved", "proved"]
    status, second = check(server, doc)
    assert second["pending"] is False and second["claim"]["established"] is True and second["status"] == "proved"
    status, again = check(server, dict(doc, steps_only=True))  # now known: one answer is enough
    assert again["pending"] is False and again["claim"]["established"] is True
    status, bad = check(server, dict(doc, steps_only="yes"))
    assert status == 400 and bad["error"]["code"] == "bad_field"


def test_latex_steps_and_claim(server):
    doc = {"symbols": EXAMPLE["symbols"], "define": EXAMPLE["define"], "syntax": "latex",
           "claim": r"\mathrm{KL}(q \| p) = \frac{(\mu_p - \mu_q)^2}{2\sigma^2}",
           "steps": "\\mathrm{KL}(q \\| p)\n"
                    "  = \\mathbb{E}_{z \\sim q}\\left[\\log \\frac{\\mathrm{pdf}(q, z)}{\\mathrm{pdf}(p, z)}\\right]"
                    " \\text{by definition}\n"
                    "  = \\frac{(\\mu_p - \\mu_q)^2}{2\\sigma}"}
    status, out = check(server, doc)
    assert status == 200, out
    assert [e["status"] for e in out["lines"]] == ["start", "proved", "refuted"], out["lines"]
    assert out["lines"][2]["counterexample"]["sigma"]
    assert out["claim"]["established"] is False
    status, out = check(server, dict(doc, steps=doc["steps"].replace("{2\\sigma}", "{2\\sigma^2}")))
    assert out["status"] == "proved" and out["claim"]["established"] is True
    status, out = check(server, dict(doc, steps="\\mathrm{KL}(q \\| p)\n  = \\frac{1}{\\nu}"))
    bad = by_line(out)[2]
    assert bad["status"] == "error" and bad["column"] > 3 and "nu" in bad["message"]  # in the LaTeX, undeclared
    status, out = check(server, dict(doc, syntax="markdown"))
    assert status == 400


def test_continuation_lines_belong_to_their_step(server):
    doc = dict(KL, steps="KL(q || p)\n  = E[z ~ q](log(pdf(q, z) /\n      pdf(p, z)))   by definition\n"
                         "  = E[z ~ q](((z - mu_p)^2 - (z - mu_q)^2) / (2 sigma^2))\n  = (mu_p - mu_q)^2 / (2 sigma^2)")
    status, out = check(server, doc)
    assert status == 200
    assert [(e["line"], e["last_line"], e["status"]) for e in out["lines"]] == \
        [(1, 1, "start"), (2, 3, "proved"), (4, 4, "proved"), (5, 5, "proved")]


def test_syntax_error_has_its_column_and_later_steps_still_checked(server):
    steps = "x^2 - 1\n  = (x - 1)(x + 1\n  = x^2 - 1"
    status, doc = check(server, {"symbols": "x: real", "steps": steps})
    assert status == 200 and doc["status"] == "error"
    bad = by_line(doc)[2]
    assert bad["status"] == "error" and bad["column"] and bad["column"] > 3
    assert bad["error_line"] == 2
    assert by_line(doc)[3]["status"] == "unknown"  # its previous line could not be read
    assert any(e["box"] == "steps" and e["line"] == 2 for e in doc["errors"])


def test_declaration_errors_point_into_their_box(server):
    status, doc = check(server, {"symbols": "x: real", "define": "f := x + y", "steps": "f\n  = x + y"})
    assert status == 200 and doc["status"] == "error"
    err = doc["errors"][0]
    assert (err["box"], err["line"], err["column"]) == ("define", 1, 10)
    assert "'y' is not declared" in err["message"]
    assert by_line(doc)[2]["status"] == "unknown"
    assert "declarations" in by_line(doc)[2]["message"]
    status, doc = check(server, {"symbols": "x: real\ny real", "steps": "x\n  = x"})
    assert status == 200 and doc["errors"][0]["box"] == "symbols" and doc["errors"][0]["line"] == 2
    status, doc = check(server, {"symbols": "x: real; 2y: real", "steps": "x\n  = x"})
    assert doc["errors"][0]["column"] == 10 and "not a valid name" in doc["errors"][0]["message"]


def test_givens_and_statement_chains(server):
    doc = {"symbols": "a, s: positive", "given": "vp: a^2 + s^2 = 1",
           "steps": "a^2 + s^2\n  = 1   by given(vp)", "claim": "a^2 + s^2 = 1"}
    status, out = check(server, doc)
    assert status == 200 and out["status"] == "proved", out
    status, out = check(server, dict(doc, steps="a^2 + s^2\n  = 1   by given(nope)"))
    assert by_line(out)[2]["status"] == "error" and "no given is labelled" in by_line(out)[2]["message"]
    assert by_line(out)[2]["column"] == 12  # where the rule is
    assert [e["box"] for e in out["errors"]] == ["steps"]


def test_empty_steps_and_no_claim(server):
    status, doc = check(server, {"steps": ""})
    assert status == 200 and doc["lines"] == [] and doc["status"] == "empty" and doc["claim"] is None
    status, doc = check(server, {"symbols": "x: real", "steps": "2 x\n  = x + x"})
    assert status == 200 and doc["status"] == "unknown" and doc["claim"] is None  # no claim: not established
    assert by_line(doc)[2]["status"] == "proved"


# ---------------------------------------------------------------------------------------------
# Wrong and hostile input


@pytest.mark.parametrize("raw, code", [
    (b"{not json", "bad_json"),
    (b"[1, 2]", "bad_json"),
    (b"\xff\xfe", "bad_json"),
    (b"[" * 50_000 + b"]" * 50_000, "bad_json"),
    (json.dumps({"steps": "x", "evil": 1}).encode(), "unknown_field"),
    (json.dumps({"steps": ["x"]}).encode(), "bad_field"),
    (json.dumps({"symbols": "x: real"}).encode(), "missing_field"),
    (json.dumps({"steps": "x\x00"}).encode(), "bad_field"),
    (json.dumps({"steps": "x", "part": "a"}).encode(), "bad_field"),
])
def test_bad_requests_get_clear_json_errors(server, raw, code):
    if len(raw) > MAX_BODY:
        raw = raw[:MAX_BODY]
    status, doc = check(server, None, raw=raw)
    assert status == 400
    assert doc["error"]["code"] == code and doc["error"]["message"]


def test_oversized_requests_are_refused_unread(server):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    started = time.monotonic()
    conn.putrequest("POST", "/api/check")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(50 * 1024 * 1024))
    conn.endheaders()  # the body is never sent: the server must answer without waiting for it
    resp = conn.getresponse()
    doc = json.loads(resp.read())
    conn.close()
    assert resp.status == 413 and doc["error"]["code"] == "too_large"
    assert time.monotonic() - started < 5
    status, doc = check(server, {"steps": "x" * (MAX_BODY + 10)})
    assert status == 413
    steps = "x\n" + "\n".join("  = x" for _ in range(MAX_STEPS))
    status, doc = check(server, {"symbols": "x: real", "steps": steps})
    assert status == 422 and doc["error"]["code"] == "too_many_steps"
    status, doc = check(server, {"symbols": "x: real\n" * 300, "steps": "x"})
    assert status == 422 and doc["error"]["code"] == "too_many_lines"


def test_a_body_that_never_arrives_times_out(server, monkeypatch):
    import proofcheck.serve as serve
    monkeypatch.setattr(serve, "BODY_SECONDS", 1.0)
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest("POST", "/api/check")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", "100")
    conn.endheaders()
    conn.send(b'{"steps": ')  # ... and nothing more
    started = time.monotonic()
    resp = conn.getresponse()
    assert resp.status == 408 and json.loads(resp.read())["error"]["code"] == "timeout"
    assert time.monotonic() - started < 5
    conn.close()


def test_workers_killed_from_outside_are_replaced(server):
    for pool in list(server.checker.pools.queue):
        for w in pool.workers:
            os.kill(w.proc.pid, signal.SIGKILL)
    time.sleep(0.2)
    status, doc = check(server, dict(KL, steps=KL["steps"] + " + 0"))
    assert status == 200 and doc["status"] == "proved"


def test_formula_limits_answer_as_errors(server):
    status, doc = check(server, {"symbols": "x: real", "steps": "x\n  = " + "(" * 200 + "x" + ")" * 200})
    assert status == 200 and by_line(doc)[2]["status"] == "error"
    assert "nested" in by_line(doc)[2]["message"]
    status, doc = check(server, {"symbols": "x: real", "steps": "x\n  = 9^(9^(9^9))"})
    assert status == 200 and by_line(doc)[2]["status"] == "error"


def test_wrong_methods_paths_hosts_and_origins(server):
    port = server.server_address[1]
    status, _, data = request(server, "GET", "/api/check")
    assert status == 405 and json.loads(data)["error"]["code"] == "method_not_allowed"
    status, _, data = request(server, "PUT", "/api/check", b"{}")
    assert status == 405
    for path in ("/nope", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/serve.py", "/proofcheck/serve_page.html"):
        status, _, data = request(server, "GET", path)
        assert status == 404 and json.loads(data)["error"]["code"] == "not_found", path
        assert b"root:" not in data
    status, doc = check(server, KL, headers={"Content-Type": "text/plain"})
    assert status == 415
    status, doc = check(server, KL, headers={"Host": f"evil.example:{port}"})  # DNS rebinding
    assert status == 403 and doc["error"]["code"] == "bad_host"
    status, doc = check(server, KL, headers={"Origin": "http://evil.example"})
    assert status == 403 and doc["error"]["code"] == "cross_origin"
    status, doc = check(server, KL, headers={"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"})
    assert status == 200
    status, doc = check(server, KL, headers={"Sec-Fetch-Site": "cross-site"})
    assert status == 403


def test_page_is_self_contained_with_a_strict_policy(server):
    status, headers, data = request(server, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = data.decode()
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for tag in ("script", "style"):
        for block in re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S):
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp  # the page's own code runs, nothing else
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # no CDN, no network
    assert "@import" not in page and "url(" not in page
    assert len(data) < 60_000
    config = json.loads(re.search(r'<script id="config" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert config["parts"][0]["symbols"] == EXAMPLE["symbols"]
    status, _, data = request(server, "GET", "/api/config")
    assert status == 200 and json.loads(data) == config


def test_define_that_explodes_cannot_hang_the_server():
    """Each definition doubles the formula: the parser refuses it once it passes the size limit
    (a clear error on the definition that crosses it), and other requests are answered meanwhile."""
    srv = start(slots=2)
    srv.checker.plan_budget = 3.0
    try:
        defines = "d0 := x\n" + "\n".join(f"d{i + 1} := d{i} + sin(d{i})" for i in range(30))
        out = {}

        def slow():
            out["slow"] = check(srv, {"symbols": "x: real", "define": defines, "steps": "d30\n  = d30 + 1"})
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        started = time.monotonic()
        status, doc = check(srv, {"symbols": "x: real", "steps": "x + x\n  = 2 x"})
        assert status == 200 and by_line(doc)[2]["status"] == "proved"
        assert time.monotonic() - started < 2.5
        t.join(30)
        status, doc = out["slow"]
        assert status == 200 and doc["status"] == "error"
        message = doc["errors"][0]["message"]
        assert "definitions expanded" in message or "took more than 3 s" in message
        assert by_line(doc)[2]["status"] in ("unknown", "error")
    finally:
        stop(srv)


def test_a_runaway_step_times_out_while_another_request_is_answered():
    srv = start(options=Options(timeout=2), slots=2)
    try:
        out = {}

        def slow():
            t0 = time.monotonic()
            out["slow"] = check(srv, {"symbols": "x: real", "steps": f"{SLOW_STEP}\n  = 1"})
            out["slow_seconds"] = time.monotonic() - t0
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.5)
        started = time.monotonic()
        status, doc = check(srv, KL)
        quick = time.monotonic() - started
        assert status == 200 and doc["status"] == "proved"
        assert "slow" not in out, quick  # answered while the other one is still running
        t.join(30)
        status, doc = out["slow"]
        assert status == 200
        step = by_line(doc)[2]
        assert step["status"] == "unknown" and step["method"] == "timeout", step
        assert "timed out" in step["message"]
        # The budget is CPU time: on a busy machine the kill comes later by the clock, so only a
        # runaway (never stopped) is bounded here.
        assert out["slow_seconds"] < 30
        # the killed worker was replaced: the slot works again
        for _ in range(2):
            status, doc = check(srv, KL_SLIP)
            assert status == 200 and doc["status"] == "refuted"
    finally:
        stop(srv)


def test_request_budget_caps_a_request_of_many_slow_steps():
    srv = start(options=Options(timeout=1), slots=1, request_budget=2.5)
    try:
        steps = "\n".join([SLOW_STEP] + [f"  = sum(1/(k^2 + sin(k) + {i}), k, 1, oo)" for i in range(1, 8)])
        status, doc = check(srv, {"symbols": "x: real", "steps": steps})
        # the cap shows in the answer (steps skipped), not in a wall-clock bound that fails on a loaded machine
        statuses = [e["method"] for e in doc["lines"][1:]]
        assert "skipped" in statuses and "not checked" in doc["lines"][-1]["message"]
    finally:
        stop(srv)


def test_verdicts_are_remembered_between_keystrokes(server):
    check(server, KL_SLIP)
    t0 = time.monotonic()
    status, doc = check(server, KL_SLIP)
    assert time.monotonic() - t0 < 1.0
    assert doc["status"] == "refuted"
    assert by_line(doc)[4]["counterexample"] == by_line(check(server, KL_SLIP)[1])[4]["counterexample"]


def test_same_verdicts_as_verify(server):
    from proofcheck.verify import verify_text
    text = ("proofcheck: 1\ntitle: t\nsymbols:\n  mu_q, mu_p, z: real\n  sigma: positive\ndefine:\n"
            "  - q := Normal(mu_q, sigma^2)\n  - p := Normal(mu_p, sigma^2)\n"
            f"claim: {KL['claim']}\nsteps: |\n" + textwrap.indent(KL_SLIP["steps"], "  ") + "\n")
    report = verify_text(text, "<t>", Options(timeout=3))
    _, doc = check(server, KL_SLIP)
    got = [(e["status"], e["counterexample"]) for e in doc["lines"][1:]]
    assert got == [(s.result.status.value, s.result.counterexample) for s in report.parts[0].steps]


# ---------------------------------------------------------------------------------------------
# With an answer key

KEY = """\
proofcheck: 1
title: Square of a sum
symbols:
  x, y: real
claim: (x + y)^2 - 2 x y = x^2 + y^2
steps: |
  (x + y)^2 - 2 x y
    = x^2 + 2 x y + y^2 - 2 x y
    = x^2 + y^2
grading:
  final: 2
  steps_total: 2
"""


@pytest.fixture(scope="module")
def key_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("key") / "key.yaml"
    path.write_text(KEY)
    srv = start(key_path=str(path))
    yield srv
    stop(srv)


def test_key_page_shows_the_claim_but_never_the_solution(key_server):
    status, _, data = request(key_server, "GET", "/")
    page = data.decode()
    config = json.loads(re.search(r'<script id="config" type="application/json">(.*?)</script>', page, re.S).group(1))
    part = config["parts"][0]
    assert config["mode"] == "key" and part["claim"] == "(x + y)^2 - 2 x y = x^2 + y^2"
    assert part["claim_mathml"].startswith("<math")
    assert part["steps"].strip() == "(x + y)^2 - 2 x y" and part["symbols"] == "x, y: real"
    assert "x^2 + 2 x y + y^2" not in page and "steps_total" not in page


def test_key_grade_score_and_feedback(key_server):
    status, doc = check(key_server, {"steps": "(x + y)^2 - 2 x y\n  = x^2 + 2 x y + y^2 - 2 x y\n  = x^2 + y^2"})
    assert status == 200 and doc["status"] == "proved"
    g = doc["grade"]
    assert (g["score"], g["max_score"], g["final_matches_claim"], g["first_error"]) == (4, 4, True, None)
    assert "Score 4/4" in g["feedback"]
    status, doc = check(key_server, {"steps": "(x + y)^2 - 2 x y\n  = x^2 + 2 x y + y^2\n  = x^2 + y^2"})
    g = doc["grade"]
    assert g["first_error"] == 1 and g["score"] < 4 and g["final_matches_claim"] is True
    assert "Step 1 does not follow" in g["feedback"]
    assert doc["claim"]["text"] == "(x + y)^2 - 2 x y = x^2 + y^2"
    # the key's declarations apply whatever the page sends; a narrower type is refused with a note
    status, doc = check(key_server, {"symbols": "x, y: positive", "steps": "(x + y)^2 - 2 x y\n  = x^2 + y^2"})
    assert "keeps the key's type" in doc["grade"]["feedback"]
    status, doc = check(key_server, {"steps": "(x + y)^2 - 2 x y\n  = x^2 + y^2 + 0", "steps_only": True})
    assert doc["grade"] == {"pending": True} or doc["grade"]["score"] is not None
    status, doc = check(key_server, {"steps": "x\n  = x", "part": "nope"})
    assert status == 400 and "no part named" in doc["error"]["message"]


def test_key_grade_matches_proofcheck_grade(key_server, tmp_path):
    from proofcheck.grade.cli import run as _  # noqa: F401 - the grade command exists
    from proofcheck.grade import grade_paths, load_key
    key_path = tmp_path / "key.yaml"
    key_path.write_text(KEY)
    steps = "(x + y)^2 - 2 x y\n  = x^2 + 2 x y + y^2 - 2 x y + 1\n  = x^2 + y^2"
    sub = tmp_path / "s.txt"
    sub.write_text(steps + "\n")
    key, errors = load_key(str(key_path), Options(timeout=3))
    grades, _ = grade_paths([str(sub)], key, Options(timeout=3))
    _, doc = check(key_server, {"steps": steps})
    assert doc["grade"]["score"] == grades[0].score
    assert doc["grade"]["feedback"] == grades[0].feedback


# ---------------------------------------------------------------------------------------------
# Command line


def test_cli_serves_prints_its_address_and_stops_on_sigterm():
    proc = subprocess.Popen([sys.executable, "-m", "proofcheck", "serve", "--port", "0", "--timeout", "3"],
                            cwd=tempfile.mkdtemp(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line + proc.stderr.read()
        conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=30)
        conn.request("POST", "/api/check", json.dumps(KL_SLIP), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["status"] == "refuted"
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
    assert code == 0


def test_cli_writes_nothing_into_the_working_directory(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "proofcheck", "serve", "--port", "0"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r":(\d+)/", line).group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/check", json.dumps(KL), {"Content-Type": "application/json"})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert list(tmp_path.iterdir()) == []  # no .proofcheck_cache/ unless --cache-dir is given


def test_cli_refuses_a_bad_key_and_bad_options(tmp_path):
    from testlib import run_cli
    code, out, err = run_cli(["serve", "--key", tmp_path / "missing.yaml", "--port", "0"], timeout=60)
    assert code == 2 and "missing.yaml" in err
    code, out, err = run_cli(["serve", "--port", "70000"], timeout=60)
    assert code == 2
    bad = tmp_path / "key.yaml"
    bad.write_text(KEY.replace("x^2 + y^2\n", "x^2 + * y^2\n", 1))
    code, out, err = run_cli(["serve", "--key", bad, "--port", "0"], timeout=60)
    assert code == 2 and "key.yaml:5:" in err


def test_cache_dir_keeps_verdicts_between_runs(tmp_path):
    srv = start(cache_dir=str(tmp_path / "cache"), options=Options(timeout=3, cache=True))
    try:
        status, doc = check(srv, KL_SLIP)
        assert status == 200
    finally:
        stop(srv)
    assert (tmp_path / "cache" / "verdicts.sqlite").exists()
    srv = start(cache_dir=str(tmp_path / "cache"), options=Options(timeout=3, cache=True))
    try:
        status, doc2 = check(srv, KL_SLIP)
        assert [e["status"] for e in doc2["lines"]] == [e["status"] for e in doc["lines"]]
    finally:
        stop(srv)


# ---------------------------------------------------------------------------------------------
# In a real browser


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser tests need the browser extra: pip install '.[browser]'")
    from selenium.webdriver.chrome.service import Service
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={tempfile.mkdtemp(prefix='proofcheck-chromium-')}", "--window-size=1360,1020"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=opts)


def _row(browser, line):
    """The verdict beside a line of the steps editor ("" when none)."""
    return browser.execute_script(
        "const b = document.querySelector(`#gutter .row[data-line='${arguments[0]}'] .badge`);"
        "return b ? b.textContent : '';", line)


@pytest.mark.slow
def test_browser_refuted_then_proved(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    srv = start(options=Options(timeout=5))
    browser = _browser()
    try:
        browser.get(srv.url)
        wait = WebDriverWait(browser, 30, poll_frequency=0.1)
        wait.until(lambda b: _row(b, 4) == "proved")  # the prefilled example
        # by keyboard: the first Tab reaches "Skip to the steps", Enter puts the caret in the editor
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        steps = browser.switch_to.active_element
        assert steps.get_attribute("id") == "steps"
        steps.send_keys(Keys.CONTROL, "a")
        steps.send_keys(Keys.DELETE)
        chain = ["KL(q || p)", "  = E[z ~ q](log(pdf(q, z) / pdf(p, z)))   by definition",
                 "  = E[z ~ q](((z - mu_p)^2 - (z - mu_q)^2) / (2 sigma^2))", "  = (mu_p - mu_q)^2 / (2 sigma)"]
        steps.send_keys("\n".join(chain))  # the last step is wrong: sigma for sigma^2
        wait.until(lambda b: _row(b, 4) == "refuted")
        details = browser.find_element(By.ID, "line-details")
        wait.until(lambda b: "counterexample" in details.text)
        assert "left side" in details.text and "right side" in details.text
        assert details.find_elements(By.CSS_SELECTOR, "table.cex math")  # names typeset (σ)
        assert "refuted" in browser.find_element(By.ID, "chain-status").text
        # the claim is checked by a request of its own, which may answer after the steps' one
        wait.until(lambda b: "checking" not in b.find_element(By.ID, "claim-verdict").text)
        assert "not established" in browser.find_element(By.ID, "claim-verdict").text
        assert browser.find_elements(By.CSS_SELECTOR, "#typeset math")  # formulas as MathML
        steps.send_keys(Keys.CONTROL, Keys.HOME)
        steps.send_keys(Keys.F8)  # jump to the next line with a problem
        wait.until(lambda b: details.text.startswith("Line 4"))
        browser.save_screenshot(str(tmp_path / "refuted.png"))
        if os.environ.get("PROOFCHECK_SERVE_SCREENSHOT"):
            browser.save_screenshot(os.environ["PROOFCHECK_SERVE_SCREENSHOT"])
        steps.send_keys(Keys.CONTROL, Keys.END)
        steps.send_keys(Keys.BACKSPACE, "^2)")  # fix it: (2 sigma) -> (2 sigma^2)
        wait.until(lambda b: _row(b, 4) == "proved")
        assert "proved" in browser.find_element(By.ID, "chain-status").text
        assert "established" in browser.find_element(By.ID, "claim-verdict").text
        steps.send_keys("\n  = (mu_p - mu_q)^2 / (2 sigma^")  # half-typed: an error with its column
        wait.until(lambda b: _row(b, 5) == "error")
        assert "column" in browser.find_element(By.ID, "line-details").text
        errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
        assert not errors, errors
    finally:
        browser.quit()
        stop(srv)
