"""Read a derivation file: safe YAML with positions -> model.Derivation. No mathematics here."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import yaml

from proofcheck.errors import LimitError, ReadError
from proofcheck.model import DENSITY_NOTATION, Declaration, Derivation, Given, Part, Span, Text

MAX_FILE_BYTES = 1_000_000
MAX_YAML_DEPTH = 32
MAX_STEPS = 500

# The JSON Schema (also for editors and tests) is the one list of keys a file and a part may have.
_SCHEMA = json.loads((Path(__file__).resolve().parent / "schema" / "derivation.schema.json").read_text())
TOP_KEYS = set(_SCHEMA["properties"])
PART_KEYS = set(_SCHEMA["$defs"]["part"]["properties"])
_STANDARD_TAGS = {"tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "map", "seq")}
_TRAILING_OP = re.compile(r"(\+|-|\*|/|\^|=|<|>|,|\(|\[|\{|~)\s*$")


class _Loader(yaml.SafeLoader):
    """A safe loader that also refuses aliases (billion laughs) and deep nesting."""

    def compose_node(self, parent, index):  # noqa: D102 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ReadError("YAML aliases (*name) are not allowed in derivation files",
                            _mark_span(self.name, event.start_mark))
        self._depth = getattr(self, "_depth", 0) + 1
        if self._depth > MAX_YAML_DEPTH:
            event = self.peek_event()
            raise LimitError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels",
                             _mark_span(self.name, event.start_mark))
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _mark_span(path: str, mark) -> Span:
    return Span(path, mark.line + 1, mark.column + 1)


def load_text(path: str | Path) -> str:
    """The file's text, refusing what is too large, binary or not UTF-8."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LimitError(f"file is {size} bytes; the limit is {MAX_FILE_BYTES}", Span(str(path), 1, 1))
        data = p.read_bytes()
    except OSError as exc:
        raise ReadError(f"cannot read file: {exc.strerror or exc}", Span(str(path), 1, 1)) from None
    return decode(data, str(path))


def decode(data: bytes, path: str) -> str:
    """Decode bytes as UTF-8 text, refusing binary data."""
    if len(data) > MAX_FILE_BYTES:
        raise LimitError(f"input is {len(data)} bytes; the limit is {MAX_FILE_BYTES}", Span(path, 1, 1))
    if b"\x00" in data:
        raise ReadError("this is a binary file, not a text derivation", Span(path, 1, 1))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReadError("the file is not UTF-8 text", Span(path, line, 1)) from None


def is_derivation_text(text: str) -> bool:
    """Whether a text looks like a derivation file (has a top-level `proofcheck:` key)."""
    return re.search(r"^proofcheck\s*:", text, re.MULTILINE) is not None


def is_submission(derivation: Derivation) -> bool:
    """Whether a derivation file is a student submission: no part states a claim (the key's is used)."""
    return all(p.claim is None for p in derivation.parts)


def read_derivation(path: str | Path) -> Derivation:
    """Read and structurally check one derivation file."""
    return parse_derivation_text(load_text(path), str(path))


def parse_derivation_text(text: str, path: str) -> Derivation:
    """Structurally check derivation YAML given as text."""
    lines = text.splitlines()
    root = _compose(text, path)
    if root is None:
        raise ReadError("the file is empty; a derivation starts with `proofcheck: 1`", Span(path, 1, 1))
    if not isinstance(root, yaml.MappingNode):
        raise ReadError("a derivation file is a YAML mapping starting with `proofcheck: 1`",
                        _mark_span(path, root.start_mark))
    top = _mapping(root, path, TOP_KEYS, "top level")
    if "proofcheck" not in top:
        raise ReadError("missing `proofcheck: 1` (the key that marks a derivation file)", Span(path, 1, 1))
    version_node = top["proofcheck"][1]
    if _scalar(version_node, path, "proofcheck") != "1":
        raise ReadError("unsupported format version; use `proofcheck: 1`", _mark_span(path, version_node.start_mark))
    title = _scalar(top["title"][1], path, "title") if "title" in top else None
    if not title:
        raise ReadError("missing `title:` (one line saying what is derived)", Span(path, 1, 1))

    base_symbols = _symbols(top["symbols"][1], path, lines) if "symbols" in top else []
    base_define = _define(top["define"][1], path, lines) if "define" in top else []
    base_given = _given(top["given"][1], path, lines) if "given" in top else []
    base_densities = _densities(top["densities"][1], path, lines) if "densities" in top else {}

    if "parts" in top and ("steps" in top or "steps_latex" in top):
        raise ReadError("a file has either `steps` or `parts`, not both", _mark_span(path, top["parts"][0].start_mark))
    latex_names = {}
    if "latex_names" in top:
        ln = _plain(top["latex_names"][1], path)
        if not isinstance(ln, dict) or any(isinstance(v, (dict, list)) for v in ln.values()):
            raise ReadError("`latex_names` maps LaTeX names to declared symbols, one name each",
                            _mark_span(path, top["latex_names"][1].start_mark))
        latex_names = {str(k): str(v) for k, v in ln.items()}
    parts: list[Part] = []
    if "parts" in top:
        seq = top["parts"][1]
        if not isinstance(seq, yaml.SequenceNode) or not seq.value:
            raise ReadError("`parts` is a list of mappings with `name`, `claim` and `steps`",
                            _mark_span(path, seq.start_mark))
        names: set[str] = set()
        for i, node in enumerate(seq.value, 1):
            if not isinstance(node, yaml.MappingNode):
                raise ReadError("each part is a mapping with `name`, `claim` and `steps`", _mark_span(path, node.start_mark))
            m = _mapping(node, path, PART_KEYS, "a part")
            name = _scalar(m["name"][1], path, "name") if "name" in m else f"part {i}"
            if name in names:
                raise ReadError(f"two parts are named {name!r}", _mark_span(path, node.start_mark))
            names.add(name)
            parts.append(_part(m, name, path, lines, base_symbols, base_define, base_given,
                               _mark_span(path, node.start_mark), latex_names=latex_names,
                               densities=base_densities))
    else:
        parts.append(_part(top, "main", path, lines, base_symbols, base_define, base_given, Span(path, 1, 1),
                           nested=False, latex_names=latex_names, densities=base_densities))

    grading = _plain(top["grading"][1], path) if "grading" in top else None
    if grading is not None and not isinstance(grading, dict):
        raise ReadError("`grading` is a mapping (see docs/grading.md)", _mark_span(path, top["grading"][1].start_mark))
    return Derivation(
        path=path, title=title, parts=parts,
        source=_scalar(top["source"][1], path, "source") if "source" in top else "",
        notes=_scalar(top["notes"][1], path, "notes") if "notes" in top else "",
        grading=grading, latex_names=latex_names, lines=lines,
    )


def _compose(text: str, path: str):
    loader = _Loader(text)
    loader.name = path
    try:
        node = loader.get_single_node()
    except (ReadError, LimitError):
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = f"YAML: {exc.problem or exc.context}"
        if "'\\t'" in msg or "\t" in msg:
            msg = "a tab character in the YAML structure: indent with spaces, not tabs"
        raise ReadError(msg, _mark_span(path, mark) if mark else Span(path, 1, 1)) from None
    except yaml.YAMLError as exc:
        raise ReadError(f"YAML: {exc}", Span(path, 1, 1)) from None
    except RecursionError:
        raise LimitError("YAML nested too deeply", Span(path, 1, 1)) from None
    finally:
        loader.dispose()
    if node is not None:
        _check_tags(node, path)
    return node


def _check_tags(node, path: str) -> None:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.tag not in _STANDARD_TAGS:
            raise ReadError(f"YAML tag {n.tag!r} is not allowed; derivation files hold plain data",
                            _mark_span(path, n.start_mark))
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack += [k, v]
        elif isinstance(n, yaml.SequenceNode):
            stack += n.value


def _mapping(node: yaml.MappingNode, path: str, allowed: set[str], where: str) -> dict:
    out: dict = {}
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode):
            raise ReadError(f"keys at {where} are plain words", _mark_span(path, k.start_mark))
        if k.value in out:
            raise ReadError(f"key `{k.value}` appears twice", _mark_span(path, k.start_mark))
        if k.value not in allowed:
            hint = difflib.get_close_matches(k.value, sorted(allowed), n=1)
            extra = f" (did you mean `{hint[0]}`?)" if hint else f"; allowed: {', '.join(sorted(allowed))}"
            raise ReadError(f"unknown key `{k.value}` at {where}{extra}", _mark_span(path, k.start_mark))
        out[k.value] = (k, v)
    return out


def _scalar(node, path: str, key: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise ReadError(f"`{key}` must be a single value, not a list or mapping", _mark_span(path, node.start_mark))
    return str(node.value).strip()


def _plain(node, path: str):
    """Plain Python data from a node (only for metadata like `grading`)."""
    if isinstance(node, yaml.ScalarNode):
        return yaml.SafeLoader("").construct_scalar(node) if node.tag.endswith(":str") else _scalar_value(node)
    if isinstance(node, yaml.SequenceNode):
        return [_plain(n, path) for n in node.value]
    return {str(k.value): _plain(v, path) for k, v in node.value}


def _scalar_value(node):
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def scalar_text(node: yaml.ScalarNode, path: str, lines: list[str]) -> Text:
    """The scalar's text and, line by line, where it sits in the file."""
    value = str(node.value)
    start_line, start_col = node.start_mark.line, node.start_mark.column
    if node.style in ("|", ">"):
        content_lines = value.split("\n")
        origins = []
        indent = None
        for k in range(len(content_lines)):
            file_line = start_line + 1 + k
            raw = lines[file_line] if file_line < len(lines) else ""
            if indent is None and raw.strip():
                indent = len(raw) - len(raw.lstrip(" "))
            origins.append((file_line + 1, (indent or 0) + 1))
        if node.style == ">":  # folded text loses its line breaks; point at the first line
            origins = [origins[0]] * len(content_lines) if origins else [(start_line + 2, 1)]
        return Text(value, path, tuple(origins) or ((start_line + 2, 1),))
    quote = 1 if node.style in ("'", '"') else 0
    n = value.count("\n") + 1
    origins = [(start_line + 1, start_col + 1 + quote)]
    origins += [(start_line + 1 + i, 1) for i in range(1, n)]
    return Text(value, path, tuple(origins))


def _text(node, path: str, lines: list[str], key: str) -> Text:
    if not isinstance(node, yaml.ScalarNode):
        raise ReadError(f"`{key}` must be text, not a list or mapping", _mark_span(path, node.start_mark))
    return scalar_text(node, path, lines)


def _symbols(node, path: str, lines: list[str]) -> list[Declaration]:
    if isinstance(node, yaml.ScalarNode) and not node.value:
        return []
    if not isinstance(node, yaml.MappingNode):
        raise ReadError("`symbols` maps names to types, e.g. `mu, sigma: positive`", _mark_span(path, node.start_mark))
    out = []
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode) or not isinstance(v, yaml.ScalarNode):
            raise ReadError("`symbols` maps names to types, e.g. `mu, sigma: positive`", _mark_span(path, k.start_mark))
        names = tuple(n.strip() for n in str(k.value).split(","))
        span = _mark_span(path, k.start_mark)
        for name in names:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
                raise ReadError(f"{name!r} is not a valid name (letters, digits and _, starting with a letter)", span)
        type_text = scalar_text(v, path, lines) if str(v.value).strip() else Text("real", path, ((span.line, span.col),))
        out.append(Declaration(names, type_text, span))
    return out


def _define(node, path: str, lines: list[str]) -> list[Text]:
    if isinstance(node, yaml.ScalarNode):
        return [_text(node, path, lines, "define")] if node.value else []
    if not isinstance(node, yaml.SequenceNode):
        raise ReadError("`define` is a list of `name := expression`", _mark_span(path, node.start_mark))
    return [_text(n, path, lines, "define") for n in node.value]


def _densities(node, path: str, lines: list[str]) -> dict[str, Text]:
    if not isinstance(node, yaml.MappingNode):
        raise ReadError("`densities` maps the sheet's notation to an expression, e.g. `p(z | x): post(z)`",
                        _mark_span(path, node.start_mark))
    out: dict[str, Text] = {}
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode) or not DENSITY_NOTATION.fullmatch(str(k.value)):
            raise ReadError("a `densities` entry is a letter applied to names, a bar before what it is conditioned "
                            "on: `p(z | x): post(z)`", _mark_span(path, k.start_mark))
        out[str(k.value)] = _text(v, path, lines, "densities")
    return out


def _given(node, path: str, lines: list[str]) -> list[Given]:
    if isinstance(node, yaml.ScalarNode) and not node.value:
        return []
    if isinstance(node, yaml.SequenceNode):  # unlabelled list: number them
        return [Given(f"g{i}", _text(n, path, lines, "given")) for i, n in enumerate(node.value, 1)]
    if not isinstance(node, yaml.MappingNode):
        raise ReadError("`given` maps labels to relations, e.g. `vp: a^2 + s^2 = 1`", _mark_span(path, node.start_mark))
    return [Given(str(k.value), _text(v, path, lines, "given")) for k, v in node.value]


def _part(m: dict, name: str, path: str, lines: list[str], symbols, define, given, span: Span,
          nested: bool = True, latex_names: dict[str, str] | None = None,
          densities: dict[str, Text] | None = None) -> Part:
    for key in ("steps", "claim"):  # `steps_latex` / `claim_latex`: LaTeX instead (proofcheck.latex)
        if key in m and key + "_latex" in m:
            raise ReadError(f"a part has either `{key}` or `{key}_latex`, not both",
                            _mark_span(path, m[key + "_latex"][0].start_mark))
    steps_key = "steps_latex" if "steps_latex" in m else "steps"
    if steps_key not in m:
        raise ReadError("missing `steps:` (the chain that establishes the claim)", span)
    own = nested and m  # the top-level mapping's declarations are already in the base lists
    symbols = list(symbols) + (_symbols(m["symbols"][1], path, lines) if own and "symbols" in m else [])
    define = list(define) + (_define(m["define"][1], path, lines) if own and "define" in m else [])
    given = list(given) + (_given(m["given"][1], path, lines) if own and "given" in m else [])
    densities = {**(densities or {}), **(_densities(m["densities"][1], path, lines) if own and "densities" in m else {})}
    steps_node = m[steps_key][1]
    if "steps_latex" in m or "claim_latex" in m:
        from proofcheck.latex import Names, latex_claim, latex_steps
        names = Names(latex_names=dict(latex_names or {}))
        names.add(symbols, define)
        names.add_densities(densities)
    if steps_key == "steps_latex":
        steps = latex_steps(_text(steps_node, path, lines, "steps_latex"), names)
    else:
        steps = split_steps(_text(steps_node, path, lines, "steps"))
    if not steps:
        raise ReadError(f"`{steps_key}` is empty", _mark_span(path, steps_node.start_mark))
    if len(steps) > MAX_STEPS:
        raise LimitError(f"{len(steps)} steps; the limit is {MAX_STEPS}", _mark_span(path, steps_node.start_mark))
    if "claim_latex" in m:
        claim = latex_claim(_text(m["claim_latex"][1], path, lines, "claim_latex"), names)
    else:
        claim = _text(m["claim"][1], path, lines, "claim") if "claim" in m else None
    return Part(
        name=name, claim=claim, steps=steps, symbols=symbols, define=define, given=given,
        span=span, steps_span=_mark_span(path, steps_node.start_mark), densities=densities,
    )


def split_steps(text: Text) -> list[Text]:
    """Split a `steps` block into one Text per step, joining continuation lines."""
    raw = text.text.split("\n")
    steps: list[Text] = []
    cur_lines: list[str] = []
    cur_origins: list[tuple[int, int]] = []
    cur_indent = 0

    def flush():
        if cur_lines:
            steps.append(Text("\n".join(cur_lines), text.path, tuple(cur_origins)))

    for i, line in enumerate(raw):
        code = line.split("#", 1)[0]
        if not code.strip():
            continue
        indent = len(line) - len(line.lstrip())
        origin = text.origins[min(i, len(text.origins) - 1)]
        stripped = line.lstrip()
        file_origin = (origin[0], origin[1] + indent) if i < len(text.origins) else origin
        if cur_lines and indent > cur_indent and _continues("\n".join(cur_lines)):
            cur_lines.append(stripped)
            cur_origins.append(file_origin)
            continue
        flush()
        cur_lines, cur_origins, cur_indent = [stripped], [file_origin], indent
    flush()
    return steps


def _continues(text: str) -> bool:
    code = "\n".join(l.split("#", 1)[0] for l in text.split("\n")).rstrip()
    from proofcheck.parse import mark_inner_products  # the `>` closing `<u, v>` is not an operator
    code = mark_inner_products(code)
    depth = 0
    for ch in code:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
    return depth > 0 or bool(_TRAILING_OP.search(code))
