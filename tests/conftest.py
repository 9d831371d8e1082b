"""Fixtures shared by the test modules (the helpers themselves live in testlib.py)."""

from testlib import cli, yaml_file  # noqa: F401

pytest_plugins = ["pytester"]
