"""The `grading` block of an answer key: points and policy per part, validated with file:line:col.

Reading only: formulas named in the block are kept as positioned Text and parsed later, in the
part's declarations. Defaults, keys and examples are documented in docs/grading.md."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import yaml

from proofcheck.errors import ReadError
from proofcheck.model import Derivation, Span, Text
from proofcheck.read import scalar_text

ECF, STOP = "error-carried-forward", "stop"
POLICIES = (ECF, STOP)
DEFAULT_FINAL = 2.0
DEFAULT_STEP_POINTS = 1.0  # per step of the key's chain, shared by the submitted steps
MAX_POINTS = 1_000_000.0
MAX_REQUIRED = 20  # per part: each one costs a kernel task per submitted line
PART_KEYS = {"policy", "final", "per_step", "steps_total", "required", "show_work", "section"}
MAX_SECTIONS = 20  # labels per part
TOP_KEYS = PART_KEYS | {"parts"}


@dataclass(frozen=True)
class Required:
    """An intermediate result the chain must pass through (some line equivalent to it)."""

    text: Text  # the formula, positioned in the key file
    points: float = 1.0

    @property
    def label(self) -> str:
        """The formula on one line, for feedback."""
        return " ".join(self.text.text.split())


@dataclass
class PartRubric:
    """How one part of the key is scored."""

    name: str
    key_steps: int  # steps in the key's own chain
    final: float = DEFAULT_FINAL
    per_step: float | None = None  # when set: points per valid step, up to key_steps steps
    steps_total: float | None = None  # points shared by the submitted steps (default: 1 per key step)
    policy: str = ECF
    required: list[Required] = field(default_factory=list)
    show_work: bool | None = None  # must a sheet show work? (default: when the key's chain has 2+ steps)
    sections: list[str] = field(default_factory=list)  # sheet headings this part is answered under ("2.c")

    @property
    def wants_work(self) -> bool:
        """Whether a sheet that only restates the claim earns nothing (see docs/grading.md)."""
        return self.show_work if self.show_work is not None else self.key_steps > 1

    @property
    def step_max(self) -> float:
        """The most the steps can earn."""
        if self.per_step is not None:
            return self.per_step * self.key_steps
        return self.steps_total if self.steps_total is not None else DEFAULT_STEP_POINTS * self.key_steps

    @property
    def max_score(self) -> float:
        """The most this part can earn."""
        return self.final + self.step_max + sum(r.points for r in self.required)


def read_rubric(key: Derivation, text: str) -> dict[str, PartRubric]:
    """The rubric of every part of an answer key, in key order (defaults when there is no `grading`)."""
    rubrics = {p.name: PartRubric(p.name, max(len(p.steps) - 1, 0)) for p in key.parts}
    if key.grading is None:
        return rubrics
    node = _grading_node(text, key.path)
    path, lines = key.path, key.lines
    top = _mapping(node, path, TOP_KEYS, "`grading`")
    has_parts = not (len(key.parts) == 1 and key.parts[0].name == "main")
    if "required" in top and has_parts:
        raise ReadError("this key has parts: list `required` results under `grading: parts: NAME:`",
                        _span(path, top["required"][0]))
    for rubric in rubrics.values():
        _apply(rubric, top, path, lines)
    if "parts" in top:
        parts_node = top["parts"][1]
        if not isinstance(parts_node, yaml.MappingNode):
            raise ReadError("`grading: parts` maps part names to their settings", _span(path, parts_node))
        for k, v in parts_node.value:
            name = str(k.value)
            if name not in rubrics:
                hint = difflib.get_close_matches(name, list(rubrics), n=1)
                extra = f" (did you mean `{hint[0]}`?)" if hint else f"; its parts are: {', '.join(rubrics)}"
                raise ReadError(f"the key has no part named `{name}`{extra}", _span(path, k))
            _apply(rubrics[name], _mapping(v, path, PART_KEYS, f"part `{name}` of `grading`"), path, lines)
    return rubrics


def _grading_node(text: str, path: str):
    # The text was already accepted by read.py (no aliases, no tags, bounded depth), so composing
    # it again with the safe loader is safe; we want the nodes for their positions.
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    for k, v in root.value:
        if k.value == "grading":
            return v
    raise ReadError("`grading` not found", Span(path, 1, 1))  # pragma: no cover - read.py saw it


def _apply(rubric: PartRubric, m: dict, path: str, lines: list[str]) -> None:
    if "per_step" in m and "steps_total" in m:
        raise ReadError("give either `per_step` (points per valid step) or `steps_total` (points shared "
                        "by the steps), not both", _span(path, m["steps_total"][0]))
    if "policy" in m:
        node = m["policy"][1]
        value = str(node.value).strip() if isinstance(node, yaml.ScalarNode) else ""
        if value not in POLICIES:
            raise ReadError(f"`policy` is `{ECF}` (the default) or `{STOP}`", _span(path, node))
        rubric.policy = value
    if "final" in m:
        rubric.final = _points(m["final"][1], path, "final")
    if "per_step" in m:
        rubric.per_step, rubric.steps_total = _points(m["per_step"][1], path, "per_step"), None
    if "steps_total" in m:
        rubric.steps_total, rubric.per_step = _points(m["steps_total"][1], path, "steps_total"), None
    if "required" in m:
        rubric.required = _required(m["required"][1], path, lines)
    if "show_work" in m:
        node = m["show_work"][1]
        if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith(":bool"):
            raise ReadError("`show_work` is true (the default) or false", _span(path, node))
        rubric.show_work = str(node.value).strip().lower() in ("true", "yes", "on")
    if "section" in m:
        node = m["section"][1]
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        labels = [str(x.value).strip() for x in items if isinstance(x, yaml.ScalarNode)]
        if len(labels) != len(items) or not labels or not all(labels) or len(labels) > MAX_SECTIONS:
            raise ReadError(f"`section` is a heading label such as `2.c` (question 2, item c) or a list of at "
                            f"most {MAX_SECTIONS} of them", _span(path, node))
        rubric.sections = labels


def _required(node, path: str, lines: list[str]) -> list[Required]:
    if not isinstance(node, yaml.SequenceNode):
        raise ReadError("`required` is a list of formulas (or of `formula:` / `points:` mappings)",
                        _span(path, node))
    if len(node.value) > MAX_REQUIRED:
        raise ReadError(f"{len(node.value)} required results; the limit is {MAX_REQUIRED} per part", _span(path, node))
    out = []
    for item in node.value:
        if isinstance(item, yaml.ScalarNode):
            formula, points = item, 1.0
        elif isinstance(item, yaml.MappingNode):
            m = _mapping(item, path, {"formula", "points"}, "a required result")
            if "formula" not in m:
                raise ReadError("a required result needs `formula:`", _span(path, item))
            formula = m["formula"][1]
            points = _points(m["points"][1], path, "points") if "points" in m else 1.0
        else:
            raise ReadError("a required result is a formula or a `formula:` / `points:` mapping", _span(path, item))
        if not isinstance(formula, yaml.ScalarNode) or not str(formula.value).strip():
            raise ReadError("`formula` is one formula of the expression language", _span(path, formula))
        out.append(Required(scalar_text(formula, path, lines), points))
    return out


def _points(node, path: str, key: str) -> float:
    bad = ReadError(f"`{key}` is a number of points, 0 or more", _span(path, node))
    if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":bool"):
        raise bad
    try:
        value = float(str(node.value).strip())  # a YAML number; never evaluated as code
    except ValueError:
        raise bad from None
    if not math.isfinite(value) or value < 0:
        raise bad
    if value > MAX_POINTS:
        raise ReadError(f"`{key}` is at most {MAX_POINTS:g} points", _span(path, node))
    return value


def _mapping(node, path: str, allowed: set[str], where: str) -> dict:
    if not isinstance(node, yaml.MappingNode):
        raise ReadError(f"{where} is a mapping of: {', '.join(sorted(allowed))}", _span(path, node))
    out: dict = {}
    for k, v in node.value:
        name = str(k.value)
        if name in out:
            raise ReadError(f"key `{name}` appears twice", _span(path, k))
        if name not in allowed:
            hint = difflib.get_close_matches(name, sorted(allowed), n=1)
            extra = f" (did you mean `{hint[0]}`?)" if hint else f"; allowed: {', '.join(sorted(allowed))}"
            raise ReadError(f"unknown key `{name}` in {where}{extra}", _span(path, k))
        out[name] = (k, v)
    return out


def _span(path: str, node) -> Span:
    return Span(path, node.start_mark.line + 1, node.start_mark.column + 1)
