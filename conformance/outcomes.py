"""What a run found, as typed values: a check's verdict, why something was not tested, a lane's state.

Reports and the verdict (`conformance.verdict`) read these values; none of them is a sentence to
be parsed. Text for people is rendered from them in one place (`describe` methods, `report`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


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


class SkipReason(enum.Enum):
    """Why a lane, a phase or a case was not tested; the value is how reports say it."""

    NOT_SERVED = "the endpoint does not serve this lane"
    BUDGET_SPENT = "the budget was spent"
    THROTTLED = "throttled past the retry bound"
    UNSAFE_REQUEST = "refused by the safety guard"
    AUTH_NOT_ENFORCED = "the endpoint does not enforce SigV4 (an unsigned request was served)"
    NO_CREDENTIALS = "the target has no credentials, so no request is signed"
    NO_JOB_API = "no Start operation is known for this operation"
    JOBS_NOT_ALLOWED = "jobs may not be started on this target (on AWS: --create-jobs)"
    JOBS_DISABLED = "--no-create-jobs"
    START_FAILED = "the job could not be started"
    CANCELLED = "the run was cancelled"


# Reasons a user chose (or a legal behaviour of the target): not a gap in the coverage contract.
CHOSEN_SKIPS = frozenset({SkipReason.AUTH_NOT_ENFORCED, SkipReason.NO_CREDENTIALS, SkipReason.NO_JOB_API,
                          SkipReason.JOBS_NOT_ALLOWED, SkipReason.JOBS_DISABLED})


LaneKey = tuple[str, str]  # (operation name, protocol name)


@dataclass(frozen=True)
class Skip:
    """Something the run did not test, why, and where."""

    reason: SkipReason
    lane: LaneKey | None = None
    categories: tuple[str, ...] = ()  # the case categories left untested, when known
    detail: str = ""  # data for the reader: the answer that showed it
    unsent: int = 0  # planned cases not sent

    def describe(self) -> str:
        """One line for people."""
        where = f"{lane_label(*self.lane)}: " if self.lane else ""
        what = f"{', '.join(self.categories)} not tested: " if self.categories else "not tested: "
        count = f"{self.unsent} case(s) not sent; " if self.unsent else ""
        return f"{where}{what}{self.reason.value}" + (f" ({count}{self.detail})".replace("; )", ")")
                                                       if self.detail or count else "")


class LaneState(enum.Enum):
    """What the probe learnt of one lane (an operation over a protocol)."""

    SERVED = "served"
    NOT_SERVED = "not served"
    NOT_PROBED = "not probed"  # the budget was spent before its probe
    UNANSWERED = "unanswered"  # the probe got no answer at all


def lane_label(operation: str, protocol: str) -> str:
    """How reports name a lane."""
    return f"{operation} over {protocol}"
