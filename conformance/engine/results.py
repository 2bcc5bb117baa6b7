"""What a run found, as typed values: each case's result, why something was not tested, each lane's state, and the
run as a whole (`RunResult`).

The verdict (`engine.verdict`) and the reports read these values; none of them is a sentence to be
parsed. Text for people is rendered from them in one place (`describe` methods, `report`).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from typing import Any

from conformance.cases import Case, LaneKey, lane_label
from conformance.engine.config import RunConfig
from conformance.engine.lanes import Lane
from conformance.judging.check_results import CheckVerdict, Failed
from conformance.judging.oracle import Expectation
from conformance.model.operations import Operation
from conformance.protocols import Answer
from conformance.wire.http import HttpRequest


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


MAX_CATEGORIES_SAID = 6  # a skip's line names this many of its categories (reports' JSON holds them all)


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
        shown = ", ".join(self.categories[:MAX_CATEGORIES_SAID]) + (
            f" and {len(self.categories) - MAX_CATEGORIES_SAID} more" if len(self.categories) > MAX_CATEGORIES_SAID
            else "")
        what = f"{shown} not tested: " if self.categories else "not tested: "
        count = f"{self.unsent} case(s) not sent; " if self.unsent else ""
        return f"{where}{what}{self.reason.value}" + (f" ({count}{self.detail})".replace("; )", ")")
                                                       if self.detail or count else "")


class LaneState(enum.Enum):
    """What the probe learnt of one lane (an operation over a protocol)."""

    SERVED = "served"
    NOT_SERVED = "not served"
    NOT_PROBED = "not probed"  # the budget was spent before its probe
    UNANSWERED = "unanswered"  # the probe got no answer at all


class StopReason(enum.Enum):
    """Which run limit cut a run short; the value is how reports spell it."""

    MAX_FAILURES = "max-failures"
    MAX_TIME = "max-time"


@dataclass(frozen=True)
class Stopped:
    """A run a limit cut short: which, its value, and when (seconds into the run)."""

    reason: StopReason
    limit: float
    after: float

    def describe(self) -> str:
        """One line for people."""
        if self.reason is StopReason.MAX_FAILURES:
            return (f"stopped by --max-failures {self.limit:g}: {self.limit:g} failing case(s) reached after "
                    f"{self.after:.1f}s; the rest was not sent")
        return f"stopped by --max-time {self.limit:g}: the run's time was up after {self.after:.1f}s; the rest was not sent"


@dataclass(frozen=True)
class StepSequence:
    """A failing state-machine run, as the shortest run found that fails the same way: each step as it was sent and
    answered, the failing one last."""

    steps: tuple[str, ...]  # one line per request (like looks at a settling job, one), e.g. `3. stop job 1 ...`
    length: int  # its requests, up to the failing one
    original: int  # requests of the run that failed first, up to its failing one
    replays: int  # shorter runs sent to find it
    requests: int  # requests those sent


@dataclass
class CaseResult:
    """What happened to one case."""

    case: Case
    operation: Operation
    request: HttpRequest
    expectation: Expectation
    answer: Answer | None = None  # None: no answer came (then `answered` failed), or the case was not sent
    verdicts: dict[str, CheckVerdict] = field(default_factory=dict)  # check id -> verdict
    not_judged: SkipReason | None = None  # why no verdict was given (throttled past the retry bound...)
    not_judged_detail: str = ""
    observation: tuple[str, str] | None = None
    attempts: int = 0
    protocol: str = ""
    lane: tuple[str, str] = ("", "")  # (operation, protocol) of the lane it tests: a flow's Start tests its Stop's
    sent_at: float = 0.0  # time.monotonic() when first sent: orders results as they went out
    usual: CaseResult | None = None  # for a case in another spelling: the same case in the usual one, as judged
    sequence: StepSequence | None = None  # a state-machine step that failed: the shortest failing run's steps
    recorded: dict[str, Any] | None = None  # with `run --recording`: the recorded answer (status, headers, body)

    def failures(self) -> dict[str, Failed]:
        """The checks that failed, with what each found."""
        return {check: verdict for check, verdict in self.verdicts.items() if isinstance(verdict, Failed)}

    @property
    def judged(self) -> bool:
        """Whether the case got verdicts (it was sent and answered, or failed for getting no answer)."""
        return bool(self.verdicts)


@dataclass(frozen=True)
class Shrinking:
    """A failing generated case shrunk against the target: the smallest case of its family found to fail the same
    check, how many cases were tried, and whether the shrinker ran to its end (False: a bound stopped it)."""

    original: CaseResult
    check: str
    minimal: CaseResult
    tries: int
    finished: bool


@dataclass
class RunResult:
    """Everything a run found, as outcomes: judged cases, what was not tested and why, the lanes' states."""

    config: RunConfig
    operations: list[Operation]
    lanes: list[Lane] = field(default_factory=list)
    required: set[LaneKey] = field(default_factory=set)  # lanes that must be served
    states: dict[LaneKey, LaneState] = field(default_factory=dict)
    promised: dict[LaneKey, set[str]] = field(default_factory=dict)  # the categories each lane must have judged
    results: list[CaseResult] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    shrinkings: list[Shrinking] = field(default_factory=list)  # failing generated cases and their smallest forms
    phases: list[str] = field(default_factory=list)  # the phases that ran, in order
    requests_sent: int = 0
    elapsed: float = 0.0
    sending_window: float = 0.0  # seconds from the first request out to the last answer in
    sender: str = ""  # how the requests went out (`Transport.path`)
    jobs_started: list[tuple[str, str]] = field(default_factory=list)  # (service, job id)
    jobs_left_running: list[tuple[str, str]] = field(default_factory=list)  # started, and no Stop took
    throttles: int = 0
    lowest_rate: float | None = None  # the lowest rate throttling brought the run to
    interrupted: bool = False  # Ctrl-C ended it: what was not reached is not judged
    stopped: Stopped | None = None  # a run limit (--max-failures, --max-time) cut it short
    settling: SettleWatch | None = None  # what the run learnt of how its target's stopped jobs settle


# Once a stopped job of a kind has stayed STOP_REQUESTED for a whole wait, a later wait for a job of that kind lasts
# at most this long: a few looks, enough for a job that settles in well under a second to show it.
LEARNED_WAIT = 0.5


class SettleWatch:
    """What a run learns of how its target's stopped jobs settle, shared by every wait (job flows, state machine).

    A wait that lasts the whole --settle-timeout and still sees STOP_REQUESTED teaches that the target's jobs of
    that kind do not settle within it; a later wait for a job of that kind is then bounded to LEARNED_WAIT, so a mock
    whose jobs never settle costs one timeout, not one per wait. Nothing is learnt where `learns` is False (a
    non-local target: on AWS a stop takes minutes and every wait keeps the whole timeout). A job flow's wait is
    bounded only by what a job flow's own wait taught (a judged `existing.settled` failure, so the verdict is already
    does_not_conform and a shorter wait cannot turn a passing run into a failing one); the state machine's waits
    (whose model allows STOP_REQUESTED for any time) by what any wait taught. Every bounded wait still looks at the
    job at least once and is judged as before.
    """

    def __init__(self, learns: bool = False) -> None:
        self.learns = learns
        self._lock = threading.Lock()
        self.unsettled: dict[str, tuple[float, bool]] = {}  # job kind -> (seconds waited in vain, by a job flow)
        self.bounded = 0  # waits bounded to LEARNED_WAIT
        self.settled_in: float | None = None  # the longest a job that did settle took to (seconds of waiting)
        self.waits = 0
        self.unsettled_waits = 0  # waits that ended without seeing their job settle

    def bound(self, kind: str, timeout: float, by_flow: bool) -> float:
        """How long a wait for a stopped job of `kind` may last, given the run's timeout (counted if bounded)."""
        with self._lock:
            learnt = self.unsettled.get(kind)
            if learnt is None or timeout <= LEARNED_WAIT or (by_flow and not learnt[1]):
                return timeout
            self.bounded += 1
            return LEARNED_WAIT

    def saw(self, kind: str, waited: float, bound: float, timeout: float, settled: bool, timed_out: bool,
            by_flow: bool) -> None:
        """One wait has ended: it saw the job settle after `waited` s, or (`timed_out`) still STOP_REQUESTED when its
        `bound` passed; a whole timeout in vain teaches that the kind's jobs do not settle within it."""
        with self._lock:
            self.waits += 1
            if settled:
                self.settled_in = max(self.settled_in or 0.0, waited)
            else:
                self.unsettled_waits += 1
            if timed_out and self.learns and bound >= timeout:
                was = self.unsettled.get(kind)
                self.unsettled[kind] = (timeout, by_flow or (was is not None and was[1]))

    def note(self, timeout: float, source: str) -> str:
        """One line for the report ("" where nothing is worth saying: no wait, or nothing to learn on this target)."""
        if not self.learns or not self.waits:
            return ""
        whence = f"--settle-timeout {timeout:g} s" + (f", {source}" if source and source != "--settle-timeout" else "")
        if self.unsettled:
            kinds = ", ".join(sorted(self.unsettled))
            return (f"settling: a stopped {kinds} job stayed STOP_REQUESTED for the whole wait ({whence}): this "
                    f"target's jobs do not settle within it, so later waits lasted {LEARNED_WAIT:g} s at most "
                    f"({self.bounded} such wait(s), each still judged by its last look)")
        if self.unsettled_waits:
            return f"settling: {self.unsettled_waits} of {self.waits} wait(s) ended before the job settled ({whence})"
        return f"settling: every stopped job settled, within {self.settled_in or 0.0:.1f} s ({whence})"
