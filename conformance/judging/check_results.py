"""What a check says of one answer, and how much a failure weighs, as typed values."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.StrEnum):
    """How much a check's failure weighs: an error fails a run, a warning is reported only."""

    ERROR = "error"
    WARNING = "warning"


class NotApplicable:
    """The check has nothing to say about this answer."""

    def __repr__(self) -> str:
        return "NOT_APPLICABLE"


class Passed:
    """The answer is what the check requires."""

    def __repr__(self) -> str:
        return "PASSED"


@dataclass(frozen=True)
class Failed:
    """The answer is not what the check requires: what it wanted, what it found, in one sentence."""

    message: str
    expected: str = ""
    actual: str = ""


NOT_APPLICABLE = NotApplicable()
PASSED = Passed()
CheckVerdict = NotApplicable | Passed | Failed


def failed(message: str, expected: object = "", actual: object = "") -> Failed:
    """A failure; `expected` and `actual` are shown as given (str() of anything else)."""
    return Failed(message, str(expected), str(actual))
