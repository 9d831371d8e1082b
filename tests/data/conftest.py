# Planted-mistake files and fixtures are inputs to tests, not derivations to collect.
collect_ignore_glob = ["*.yaml", "*/*.yaml", "*.yml", "*/*.yml"]
