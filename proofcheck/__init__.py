"""proofcheck: check every step of a derivation, symbolically first, numerically as the fallback."""

__version__ = "0.1.0"
