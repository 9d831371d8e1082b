"""The case files are inputs of test_soundness.py, most of them deliberately false: keep the
proofcheck pytest plugin from collecting them as derivations that must hold."""

collect_ignore = ["cases"]
