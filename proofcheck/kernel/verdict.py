"""Verdicts: the five statuses and the result of checking one step."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    """The status of a step (FORMAT.md section 4), weakest last."""

    PROVED = "proved"
    NUMERIC = "numeric"
    REFUTED = "refuted"
    UNKNOWN = "unknown"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@dataclass
class StepResult:
    """What the kernel says about one step."""

    status: Status
    method: str = ""  # symbolic | numeric | rule | timeout | ...
    message: str = ""
    counterexample: dict | None = None  # symbol -> decimal string, plus "lhs" and "rhs"
    seconds: float = 0.0
    details: dict = field(default_factory=dict)


def weakest(results: list[StepResult]) -> StepResult:
    """Combine obligations: refuted beats unknown beats numeric beats proved."""
    order = {Status.REFUTED: 0, Status.ERROR: 1, Status.UNKNOWN: 2, Status.NUMERIC: 3, Status.PROVED: 4}
    return min(results, key=lambda r: order[r.status])
