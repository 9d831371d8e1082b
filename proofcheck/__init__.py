"""proofcheck: check every step of a derivation, symbolically first, numerically as the fallback.

    import proofcheck
    proofcheck.verify("derivation.yaml").ok
    proofcheck.check("log(exp(a) exp(b))", "a + b", symbols="a, b: real").ok
    proofcheck.grade("submission.yaml", "key.yaml").score

See docs/api.md. Importing the package is cheap: SymPy and the rest load on first use.
"""

import sys
import types

__version__ = "0.1.0"
__all__ = ["verify", "check", "grade", "__version__"]

# `proofcheck.verify` and `proofcheck.grade` are also the names of modules (the check stage and the
# scoring). The import system sets a package attribute to its submodule, so the API functions live
# on the modules themselves: each module object becomes callable, and stays a module for `from
# proofcheck.verify import Options`.
_CALLABLE = {"verify": "verify", "grade": "grade"}


class _CallableModule(types.ModuleType):
    """A submodule that is also the API function of the same name."""

    def __call__(self, *args, **kwargs):
        from proofcheck import api
        return getattr(api, _CALLABLE[self.__name__.rsplit(".", 1)[1]])(*args, **kwargs)


class _Package(types.ModuleType):
    """The package module: makes `verify` and `grade` callable whenever the import system sets them."""

    def __setattr__(self, name, value):
        if name in _CALLABLE and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


def __getattr__(name):
    if name in _CALLABLE:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")  # sets the attribute (callable) as it loads
    if name == "check":
        from proofcheck.api import check
        return check
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


sys.modules[__name__].__class__ = _Package
