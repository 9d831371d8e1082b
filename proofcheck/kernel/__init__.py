"""The trusted kernel: one step in, one verdict out. Imports SymPy, mpmath and the model only."""
