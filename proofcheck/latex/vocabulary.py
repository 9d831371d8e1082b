"""The LaTeX commands the translation knows, by what they become (functions, relations, styles, ...)."""

from __future__ import annotations


GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu",
    "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda",
    "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "ell",
}
GREEK_VARIANTS = {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi", "varrho": "rho",
                  "varsigma": "sigma", "varpi": "pi", "varkappa": "kappa"}
FUNCTIONS = {  # LaTeX command or word -> ASCII function
    "log": "log", "ln": "log", "exp": "exp", "sin": "sin", "cos": "cos", "tan": "tan", "sinh": "sinh",
    "cosh": "cosh", "tanh": "tanh", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "det": "det",
    "tr": "tr", "trace": "tr", "Tr": "tr", "diag": "diag", "sigmoid": "sigmoid", "softplus": "softplus",
    "erf": "erf", "sign": "sign", "sgn": "sign", "Re": "re", "Im": "im",
}
OPTIMA = {"argmax": "argmax", "argmin": "argmin", "max": "maximum", "min": "minimum"}
RELATIONS = {  # command -> ASCII relation
    "neq": "!=", "ne": "!=", "le": "<=", "leq": "<=", "leqslant": "<=", "ge": ">=", "geq": ">=",
    "geqslant": ">=", "lt": "<", "gt": ">", "equiv": "=", "eqqcolon": "=",
}
DEFINITIONS = {"coloneqq", "triangleq", "doteq", "eqdef", "defeq", "coloneq"}
IMPLICATIONS = {"Rightarrow": "==>", "implies": "==>", "Longrightarrow": "==>", "Leftrightarrow": "<==>",
                "iff": "<==>", "Longleftrightarrow": "<==>", "therefore": "==>"}
ARROWS = {"to", "rightarrow", "longrightarrow", "hookrightarrow"}
NOT_CHECKABLE = {"approx": "≈", "simeq": "≃", "propto": "∝", "cong": "≅", "ll": "≪", "gg": "≫"}
NOT_A_FORMULA = {"sim", "in", "notin", "subset", "subseteq", "mapsto", "leftarrow", "gets", "leftrightarrow",
                 "uparrow", "downarrow", "forall", "exists"}
SPACING = {"quad": "sep", "qquad": "sep", ",": None, ";": None, ":": None, "!": None, " ": None,
           "enspace": None, "thinspace": None, "medspace": None, "thickspace": None, "negthinspace": None,
           "displaystyle": None, "textstyle": None, "scriptstyle": None, "limits": None, "nolimits": None,
           "nonumber": None, "notag": None, "relax": None, "mathstrut": None, "strut": None, "nobreak": None,
           "allowbreak": None, "centering": None, "hfill": None, "newline": "rowsep", "cr": "rowsep",
           "checkmark": None, "blacksquare": None, "square": None, "Box": None, "qed": None, "surd": None,
           "lefteqn": None, "left.": None, "IEEEnonumber": None, "IEEEyesnumber": None}
WITH_ARGUMENT_DROPPED = {"label", "tag", "hspace", "vspace", "phantom", "hphantom", "vphantom", "color",
                         "textcolor1", "eqref", "ref", "intertext"}
SIZES = {"left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
         "Biggl", "Biggr", "bigm", "Bigm", "biggm", "Biggm"}
STYLES = {"boldsymbol", "mathbf", "bm", "pmb", "mathbfit", "mathnormal", "mathit", "mathsfit", "vec",
          "underline", "mathring", "boxed"}
ACCENTS = {"hat": "hat", "widehat": "hat", "tilde": "tilde", "widetilde": "tilde", "bar": "bar", "overline": "bar",
           "dot": "dot", "ddot": "ddot", "check": "check", "breve": "breve", "acute": "acute", "grave": "grave"}
WORD_STYLES = {"mathrm", "operatorname", "operatorname*", "text", "textrm", "textit", "textbf", "textsf", "mbox",
               "mathsf", "mathtt", "texttt", "textnormal", "mathbb", "mathcal", "mathscr", "mathfrak", "emph"}
ALIGN_ENVS = {"aligned", "align", "align*", "split", "gathered", "gather", "gather*", "equation", "equation*",
              "eqnarray", "eqnarray*", "multline", "multline*", "flalign", "flalign*", "alignat", "alignat*",
              "alignedat", "displaymath", "math", "xalignat", "xalignat*", "dmath", "dmath*", "darray", "darray*",
              "IEEEeqnarray", "IEEEeqnarray*", "multlined", "dgroup", "dgroup*"}
MATRIX_ENVS = {"pmatrix": "", "bmatrix": "", "Bmatrix": "", "matrix": "", "smallmatrix": "", "array": "",
               "vmatrix": "det", "Vmatrix": "norm"}
CONDITION_WORDS = {"if", "when", "whenever", "for", "where", "with", "since", "as", "let", "given", "assume",
                   "assuming", "suppose", "because", "unless", "iff", "provided", "and"}
TEXT_STYLES = {"text", "textrm", "textit", "textbf", "textsf", "mbox", "textnormal", "emph"}
PROSE_WORDS = CONDITION_WORDS | {"then", "thus", "so", "hence", "therefore", "note", "since", "and", "or", "also",
                                 "is", "are", "we", "get", "have", "by", "def"}
WORD_FUNCTIONS = {"Var", "var", "Cov", "KL", "JSD", "Bern", "Bernoulli", "Unif", "Uniform", "E"} | set(FUNCTIONS) \
    | set(OPTIMA)
