"""Rules beyond plain equivalence: jensen, integrand, substitute, stationary, and --jobs determinism."""

from __future__ import annotations

import json
import textwrap

import pytest

from proofcheck.verify import Options, verify_text


def _check(body: str, timeout: float = 8):
    report = verify_text(textwrap.dedent(body), "t.yaml", Options(timeout=timeout))
    assert report.errors == [], report.errors
    return report


def _steps(report):
    return [(s.result.status.value, s.result.message) for p in report.parts for s in p.steps]


ELBO = """\
    proofcheck: 1
    title: ELBO
    symbols:
      x, z: real
      q: density
      p_xz: density(2)
    define:
      - p_x := integral(p_xz(x, z), z)
    claim: log(p_x) >= E[z ~ q](log(p_xz(x, z) / q(z)))
    steps: |
      log(p_x)
        = log(E[z ~ q](p_xz(x, z) / q(z)))
        {rel} E[z ~ q](log(p_xz(x, z) / q(z)))       by jensen
    """


def test_jensen_for_the_concave_log():
    report = _check(ELBO.format(rel=">="))
    status, message = _steps(report)[1]
    assert status == "proved" and "concave function log" in message
    assert report.parts[0].claim_established


def test_jensen_in_the_wrong_direction_is_refuted():
    report = _check(ELBO.format(rel="<=").replace("claim: log(p_x) >=", "claim: log(p_x) <="), timeout=20)
    status, _ = _steps(report)[1]
    assert status == "refuted"
    ce = report.parts[0].steps[1].result.counterexample
    assert float(ce["lhs"]) > float(ce["rhs"])


def test_integrand_compares_pointwise():
    report = _check("""\
        proofcheck: 1
        title: integrand
        symbols:
          x, a: real
          f: density
        claim: integral(f(x) (x - a)^2, x) >= integral(f(x) 0, x)
        steps: |
          integral(f(x) (x - a)^2, x)
            >= integral(f(x) 0, x)           by integrand
        """)
    assert _steps(report)[0][0] == "proved"


def test_integrand_refutes_a_wrong_pointwise_claim():
    report = _check("""\
        proofcheck: 1
        title: integrand
        symbols:
          x, a: real
          f: density
        claim: integral(f(x) (x - a), x) >= integral(f(x) 0, x)
        steps: |
          integral(f(x) (x - a), x)
            >= integral(f(x) 0, x)           by integrand
        """)
    status, _ = _steps(report)[0]
    assert status == "refuted"
    # The integrands do not compare (x < a), which alone only shows that the rule does not apply; the reported
    # counterexample is one of the step itself: a density f and an a above its mean.
    result = report.parts[0].steps[0].result
    assert "(_x - a)*f(_x) >= 0` fails" in result.message and "the step fails as written too" in result.message
    assert set(result.counterexample) == {"a", "f", "lhs", "rhs"} and float(result.counterexample["lhs"]) < 0


def test_substitute_with_a_declared_increasing_bijection():
    text = """\
        proofcheck: 1
        title: change of variables
        symbols:
          x, u: real
          f: density
          F: increasing bijection
        claim: integral(f(x) x^2, x) = integral(f(F(u)) F(u)^2 F'(u), u)
        steps: |
          integral(f(x) x^2, x)
            = integral(f(F(u)) F(u)^2 F'(u), u)      by substitute(x = F(u))
        """
    status, message = _steps(_check(text))[0]
    assert status == "proved" and "declared an increasing bijection" in message
    # an `increasing function` may be bounded (atan): the range of the integral would change
    status, message = _steps(_check(text.replace("increasing bijection", "increasing function")))[0]
    assert status == "unknown" and "onto itself" in message


def test_substitute_forgetting_the_jacobian_is_not_proved():
    report = _check("""\
        proofcheck: 1
        title: change of variables without the Jacobian
        symbols:
          x, u: real
          f: density
          F: increasing function
        claim: integral(f(x), x) = integral(f(F(u)), u)
        steps: |
          integral(f(x), x)
            = integral(f(F(u)), u)      by substitute(x = F(u))
        """, timeout=5)
    assert _steps(report)[0][0] in ("refuted", "unknown")
    assert _steps(report)[0][0] != "proved"


def test_stationary_says_global_for_a_concave_objective():
    report = _check("""\
        proofcheck: 1
        title: optimal discriminator, pointwise
        symbols:
          D: interval(0, 1)
          a, b: positive
        claim: argmax(a log(D) + b log(1 - D), D) = a / (a + b)
        steps: |
          argmax(a log(D) + b log(1 - D), D)
            = a / (a + b)            by stationary(D)
        """)
    status, message = _steps(report)[0]
    assert status == "proved" and message.startswith("global optimum")


def test_stationary_refutes_a_wrong_point():
    report = _check("""\
        proofcheck: 1
        title: wrong optimum
        symbols:
          D: interval(0, 1)
          a, b: positive
        claim: argmax(a log(D) + b log(1 - D), D) = b / (a + b)
        steps: |
          argmax(a log(D) + b log(1 - D), D)
            = b / (a + b)            by stationary(D)
        """)
    assert _steps(report)[0][0] == "refuted"


def _verify_json(*args) -> tuple[int, dict]:
    """Exit code and JSON report of `proofcheck verify ARGS --format json --no-cache`, timings removed."""
    from proofcheck.cli import main
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["verify", *args, "--format", "json", "--no-cache"])
    return code, _without_times(json.loads(buf.getvalue()))


def _without_times(doc: dict) -> dict:
    for f in doc["files"]:
        for p in f["parts"]:
            for s in p["steps"]:
                s.pop("seconds")
    doc["summary"].pop("seconds")
    return doc


def test_jobs_do_not_change_the_output():
    files = ["derivations/saturating_gan_gradient.yaml", "derivations/dirac_gan.yaml"]
    assert _verify_json(*files, "--jobs", "1") == _verify_json(*files, "--jobs", "2")


def test_a_check_does_not_depend_on_the_checks_run_before_it_in_the_same_process():
    # Workers run many checks; the random sizes and functions of one check must not follow on
    # from the previous one, or --jobs and engines would change the points (and so the verdicts).
    from proofcheck.kernel.check import check_step
    from proofcheck.verify import Options, Planner
    planner = Planner(Options(timeout=10))
    plan = planner.plan_path("derivations/kl_gaussians.yaml")
    part = next(p for p in plan.parts if p.name == "mv_trace_any_factor")
    task = planner.tasks[part.steps[0].task]
    first = check_step(task)
    import random
    from proofcheck.kernel import numeric
    sampler = numeric.sampler_for(task.context, ())  # as the kernel asks for it
    for _ in range(3):  # what a check that stops after the 3-point screen leaves behind
        sampler.draw(random.Random(0))
    second = check_step(task)
    assert first.status.value == second.status.value == "numeric"
    assert first.message == second.message and "sizes k = " in first.message


def test_dask_engine_gives_the_local_output():
    pytest.importorskip("dask.distributed", reason="the Dask engine tests need the dask extra: pip install '.[dask]'")
    # In a fresh process, as users run it: a Dask cluster inside the test process would share its
    # threads and signal handlers with everything the other tests left behind.
    from testlib import run_cli
    outs = []
    for engine in ("local", "dask"):
        code, out, err = run_cli(["verify", "derivations/saturating_gan_gradient.yaml", "derivations/cavi.yaml",
                                  "--jobs", "2", "--engine", engine, "--format", "json", "--no-cache"], timeout=300)
        outs.append((code, _without_times(json.loads(out))))
    assert outs[0][0] == 0 and outs[0] == outs[1]


def test_dask_engine_reports_an_unreachable_scheduler(capsys, monkeypatch):
    pytest.importorskip("dask.distributed", reason="the Dask engine tests need the dask extra: pip install '.[dask]'")
    from proofcheck import engines
    from proofcheck.cli import main
    monkeypatch.setattr(engines, "CONNECT_SECONDS", 1)  # nothing answers on port 9: waiting 5 s shows nothing more
    code = main(["verify", "derivations/cavi.yaml", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9",
                 "--no-cache", "--format", "json"])
    assert code == 2 and "cannot reach the Dask scheduler" in capsys.readouterr().err
