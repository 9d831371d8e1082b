"""Reports of verdicts: console (rich), JSON and the CI formats."""
