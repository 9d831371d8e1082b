"""What the key (or the file) declares: names only, no SymPy; how a LaTeX name finds a declared one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from proofcheck.model import DENSITY_NOTATION, Declaration, Part, Text


DEFINED_NAME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*(\(([^)]*)\))?\s*:=")
_PDF = re.compile(r"\bpdf\(\s*([A-Za-z][A-Za-z0-9_]*)\s*,\s*([A-Za-z][A-Za-z0-9_]*)\s*\)")
_UNDER = re.compile(r"\bE\[\s*([A-Za-z][A-Za-z0-9_]*)\s*~\s*([A-Za-z][A-Za-z0-9_]*)\s*\]")
_LAW = re.compile(r"\bE\[\s*([A-Za-z][A-Za-z0-9_]*)\s*~\s*")
_DISTRIBUTION_VALUE = re.compile(r"\s*(?:Normal|Bernoulli|Uniform|Dirac)\s*\(")
_RESERVED = {
    "pi", "oo", "I", "exp", "log", "ln", "sqrt", "abs", "sin", "cos", "tan", "tanh", "sinh", "cosh", "atan",
    "asin", "acos", "erf", "sigmoid", "softplus", "re", "im", "conj", "sign", "Normal", "Bernoulli", "Uniform",
    "Dirac", "pdf", "min", "max", "diff", "integral", "limit", "sum", "prod", "subs", "argmax", "argmin",
    "maximum", "minimum", "grad", "jacobian", "hessian", "det", "tr", "inv", "eigenvals", "diag", "eye",
    "norm", "transpose", "E", "Var", "KL", "JSD",
}


@dataclass
class Names:
    """The names a translation may use: declared symbols (name -> kind), definitions (name -> number of
    parameters, None for a value) and the `latex_names` mapping (LaTeX -> ASCII)."""

    symbols: dict[str, str] = field(default_factory=dict)
    defines: dict[str, int | None] = field(default_factory=dict)
    latex_names: dict[str, str] = field(default_factory=dict)
    distributions: set[str] = field(default_factory=set)  # defined as a distribution: `q := Normal(...)`
    complex_symbols: bool = False  # some symbol is declared complex: a sheet's `I` may be the imaginary unit
    # distribution -> the variable its other expectations in the same formula average over (`E_q[... q(z) ...]`)
    expectation_vars: dict[str, str] = field(default_factory=dict)
    define_values: dict[str, str] = field(default_factory=dict)  # name -> the text after `:=`
    laws: dict[str, str] = field(default_factory=dict)  # `R ~ Bernoulli(p)` as the key's own E[R ~ ...] states it
    dimensions: dict[str, str] = field(default_factory=dict)  # a declared vector -> its length (`vector(D)`: `D`)
    # distribution -> the variables the key's own texts make it a law of (`pdf(q, z)`, `E[z ~ q]`)
    variates: dict[str, set[str]] = field(default_factory=dict)
    # the key's `densities:`: letter -> [(names before the bar, names after it, the key's text)], matched by
    # sets of names (p(x, z) is p(z, x)) and without case (q(Z|X) is q(z|x))
    densities: dict[str, list[tuple[frozenset, frozenset, str]]] = field(default_factory=dict)
    # declared name -> the model-parameter subscripts the sheet first wrote it with (`\mu_\theta` -> {theta}); shared
    # by the copies of a part's names, so one sheet cannot write `\mu_\theta` and `\mu_\phi` for the key's `mu`
    parameters_seen: dict[str, frozenset] = field(default_factory=dict)
    # within one formula (chains.translate_formula): declared name -> (how it was first written, its LaTeX); None
    # elsewhere. `\sigma_S - \sigma_s` must not become sigma_s - sigma_s
    spellings: dict[str, tuple] | None = None
    # what a sheet's bare `D_{KL}` is: the divergence the part's claim is about (`KL(q || post)` for `KL(q || post) =
    # ...`), or the key's own `D_KL := ...`
    divergence: str | None = None

    @classmethod
    def from_part(cls, part: Part | None, latex_names: dict[str, str] | None = None) -> "Names":
        """The names declared for a part (its symbols and defines) plus a latex_names mapping."""
        names = cls(latex_names=dict(latex_names or {}))
        if part is not None:
            names.add(part.symbols, part.define)
            names.divergence = claimed_divergence(part.claim.text) if part.claim is not None else None
            if names.divergence is None and names.defines.get("D_KL", 0) is None:
                names.divergence = "D_KL"  # the key names the question's KL value: `D_KL := ...`
            names.add_densities(part.densities)
            for text in [part.claim, *part.steps, *part.define]:
                if text is not None:
                    names.add_laws(text.text)
                    for dist, var in _PDF.findall(text.text) + [(d, v) for v, d in _UNDER.findall(text.text)]:
                        names.variates.setdefault(dist, set()).add(var)
        return names

    def add_laws(self, text: str) -> None:
        """The law of each declared variable that the key's own expectations state, `E[R ~ Bernoulli(p)](...)`:
        a sheet's `\\mathbb{E}_R[...]` averages over R with that law. A variable given two laws gets none."""
        for m in _LAW.finditer(text):
            var, depth, k = m.group(1), 1, m.end()
            while k < len(text) and depth:
                depth += {"[": 1, "]": -1}.get(text[k], 0)
                k += 1
            law = " ".join(text[m.end():k - 1].split())
            if depth or var not in self.symbols or self.symbols[var] == "density":
                continue
            self.laws[var] = law if self.laws.get(var, law) == law else ""

    def add_densities(self, table: dict[str, Text]) -> None:
        """The key's `densities:` entries (`p(z | x)` -> `post(z)`)."""
        for notation, text in table.items():
            m = DENSITY_NOTATION.fullmatch(notation)
            if m is None:  # read.py checks the form; a table built by hand may not have
                continue
            of = frozenset(n.strip().lower() for n in m.group(2).split(","))
            given = frozenset(n.strip().lower() for n in re.split(r"[,;]", m.group(3) or "") if n.strip())
            self.densities.setdefault(m.group(1), []).append((of, given, " ".join(text.text.split())))

    def density_letter(self, spellings: list[str]) -> str | None:
        """The letter of the key's `densities:` a sheet's name stands for: `p_\\theta` and `p` are p (a model-parameter
        subscript dropped, as Names.resolve does); `p_D` and `P` are not."""
        for letter in self.densities:
            want = _normal_name(letter, 2, False)
            if any(_normal_name(s, 2) == want for s in spellings):
                return letter
        return None

    def density_variable(self, name: str) -> str | None:
        """The one variable the key's `densities:` make a letter a density of (`q(z | x)`, `q(z)`: z), else None."""
        letter = self.density_letter([name])
        of = {a for a, _, _ in self.densities.get(letter, [])} if letter is not None else set()
        return next(iter(of.pop())) if len(of) == 1 and len(next(iter(of))) == 1 else None

    def add(self, declarations: list[Declaration], defines: list[Text]) -> None:
        """Add `symbols` declarations and `define` entries."""
        for decl in declarations:
            words = decl.type_text.text.lower()
            kind = "scalar"
            for k in ("density", "function", "matrix", "vector"):
                if re.search(rf"\b{k}\b", words) or (k == "function" and re.search(r"\bbijection\b", words)):
                    kind = k
                    break
            size = re.fullmatch(r"\s*vector\s*\(\s*([A-Za-z][A-Za-z0-9_]*|\d+)\s*\).*", words)
            for n in decl.names:
                self.symbols[n] = kind
                if size is not None:
                    self.dimensions[n] = decl.type_text.text[size.start(1):size.end(1)]
            if re.search(r"\bcomplex\b", words):
                self.complex_symbols = True
        for t in defines:
            m = DEFINED_NAME.match(t.text)
            if m:
                params = m.group(3)
                self.defines[m.group(1)] = None if m.group(2) is None else len([p for p in params.split(",") if p.strip()])
                self.define_values[m.group(1)] = t.text[m.end():]
                if m.group(2) is None and _DISTRIBUTION_VALUE.match(t.text, m.end()):
                    self.distributions.add(m.group(1))

    def known(self, name: str) -> bool:
        """Whether a name is declared, defined or built in."""
        return name in self.symbols or name in self.defines or name in _RESERVED

    def declared(self, name: str) -> bool:
        """Whether a name is declared or defined (not merely built in)."""
        return name in self.symbols or name in self.defines

    def is_function(self, name: str) -> bool:
        """A declared function or density, or a definition with parameters."""
        return self.symbols.get(name) in ("function", "density") or (self.defines.get(name) or 0) > 0

    def is_distribution_name(self, name: str) -> bool:
        """A name that can stand for a distribution: a declared density or a definition."""
        return self.symbols.get(name) == "density" or name in self.defines

    def identity_is_one(self) -> bool:
        """Whether a sheet's bare `I` is the identity of a scalar setting (then 1): nothing is declared complex,
        vector or matrix, and `I` itself is not declared. Sheets write `\\sigma^2 I` for the identity; the
        imaginary unit is written `i` or `\\mathrm{i}`."""
        return not self.complex_symbols and "I" not in self.symbols and "I" not in self.defines and \
            not any(k in ("vector", "matrix") for k in self.symbols.values())

    def depends_on(self, name: str, var: str) -> bool:
        """Whether a value the key defines without parameters is written in terms of `var` (`L := ||y - X w||^2`
        and w): then a sheet's `L(w)` is that value written with what it depends on."""
        value = self.define_values.get(name)
        return self.defines.get(name, 0) is None and value is not None and \
            re.search(rf"(?<![A-Za-z0-9_]){re.escape(var)}(?![A-Za-z0-9_])", value) is not None

    def components(self, name: str) -> list[str]:
        """`psi_0, psi_1` for `psi` when the key declares only its numbered components (from 0 or 1, at least two,
        none missing): a sheet's `\\mathcal{R}(\\psi)` passes them all."""
        if self.declared(name):
            return []
        nums = sorted(int(m.group(1)) for d in self.symbols
                      if (m := re.fullmatch(rf"{re.escape(name)}_(\d+)", d)) is not None)
        if len(nums) < 2 or nums[0] not in (0, 1) or nums != list(range(nums[0], nums[0] + len(nums))):
            return []
        return [f"{name}_{k}" for k in nums]

    def is_array(self, name: str) -> bool:
        """A declared vector or matrix."""
        return self.symbols.get(name) in ("vector", "matrix")

    def resolve(self, spellings: list[str]) -> str | None:
        """The declared name a LaTeX name stands for when none of its spellings is declared, by the normal
        form of docs/latex.md ("Names"): `sigma_ts` for `\\sigma_{t|s}`, `x_hat` for `\\hat{x}_\\theta`,
        `abar_t` for `\\bar\\alpha_t`, `sigma_s` for `\\sigma_S`. Tiers from strict to loose; a tier is
        used only when it gives exactly one declared name, so two close names are never confused."""
        declared = list(self.symbols) + list(self.defines)
        for tier in range(1, len(_NORMAL_TIERS) + 1):
            want = {_normal_name(s, tier) for s in spellings}
            # a model-parameter subscript is dropped from what the sheet writes, never from the key's name:
            # `\hat{x}_\theta` finds `x_hat`, but `\bar{v}` (the whole field) must not find `v_bar_theta`
            found = {d for d in declared if _normal_name(d, tier, False) in want}
            if len(found) == 1:
                name = found.pop()
                # the decoder's mu_theta and the encoder's mu_phi are two quantities: one of them may be the key's mu
                written = frozenset(w for s in spellings for w in s.replace("|", "_").split("_")[1:]
                                    if w in _MODEL_PARAMETERS)
                seen = self.parameters_seen.setdefault(name, written)
                return name if not (seen and written and seen != written) else None
            if len(found) > 1:
                return None
        return self.law_of_density(spellings)

    def law_and_density(self, a: str, b: str, name: str) -> bool:
        """Whether two spellings of the key's density `name` differ only in the case of their first letter (`P_X`, the
        law, and `p_X`, its density): one quantity, as the language reads a density as its distribution."""
        return (self.symbols.get(name) == "density" or self.defines.get(name) == 1) and a != b and \
            a[:1].lower() == b[:1].lower() and a[1:] == b[1:]

    def law_of_density(self, spellings: list[str]) -> str | None:
        """`P_X` for the key's density `p_X`: a capital letter names the law, its small letter the density (`X ~
        P_X`, `D_{KL}[P_X || P_{F(U)}]`), when the capital name is not declared and the small one is a declared
        density or a definition of one argument."""
        for s in spellings:
            m = re.fullmatch(r"([A-Z])(_[A-Za-z0-9_]+)", s)
            if m is None:
                continue
            small = m.group(1).lower() + m.group(2)
            if self.symbols.get(small) == "density" or self.defines.get(small) == 1:
                return small
        return None


def claimed_divergence(claim: str) -> str | None:
    """`KL(q || post)` when a claim's left side is one divergence of two names (`KL(q || post) = ...`), else None."""
    m = re.match(r"\s*((?:KL|JSD)\(\s*[A-Za-z][A-Za-z0-9_]*\s*(?:\|\||,)\s*[A-Za-z][A-Za-z0-9_]*\s*\))\s*(?:=|<=|>=|<|>)",
                 claim)
    return m.group(1) if m else None


_DECORATIONS = ("hat", "bar", "tilde", "dot", "ddot", "check", "breve", "vec", "star")
_MODEL_PARAMETERS = {"theta", "phi", "psi"}
_GREEK_INITIAL = {"alpha": "a", "beta": "b", "gamma": "g", "delta": "d", "epsilon": "e", "varepsilon": "e",
                  "eta": "h", "lambda": "l", "mu": "m", "nu": "n", "rho": "r", "sigma": "s", "tau": "t"}
# 1: separators and the place of a decoration ignored; 2: also a model-parameter subscript (theta, phi,
# psi) dropped; 3: also the case of subscripts ignored (sigma_S for sigma_s); 4: also a decorated Greek
# letter abbreviated to its Latin initial (alpha_bar_t for abar_t)
_NORMAL_TIERS = (1, 2, 3, 4)


def written_form(name: str) -> tuple:
    """How a name was written, up to separators and the place of a decoration (the strictest normal form)."""
    return _normal_name(name, 1)


@lru_cache(maxsize=4096)
def _normal_name(name: str, tier: int, drop_parameters: bool = True) -> tuple:
    """A name's normal form at one tier of Names.resolve (model-parameter subscripts dropped from tier 2 on,
    for a written name only)."""
    words = [w for w in name.replace("|", "_").split("_") if w]
    if not words:
        return (name,)
    base, decos, subs = words[0], [], []
    for d in _DECORATIONS:  # `abar`, `xhat`: a decoration written onto the base letter
        if base.endswith(d) and len(base) > len(d) and base[:-len(d)].isalpha():
            base, decos = base[:-len(d)], [d]
            break
    for w in words[1:]:
        (decos if w in _DECORATIONS else subs).append(w)
    if tier >= 2 and drop_parameters:
        subs = [w for w in subs if w not in _MODEL_PARAMETERS]
    sub = "".join(subs)
    if tier >= 3:
        sub = sub.lower()
    if tier >= 4 and decos:
        base = _GREEK_INITIAL.get(base, base)
    return (base, tuple(sorted(decos)), sub)
