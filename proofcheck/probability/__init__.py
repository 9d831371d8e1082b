"""Probability plug-in: distributions, expectations, densities and divergences.

The parser builds the heads in `heads`; the kernel calls `lower.lower` (through
kernel/plugins.py) to turn them into ordinary SymPy expressions: closed forms and Gaussian
moments where they exist, integrals (evaluated by quadrature at random points) otherwise."""
