"""A model of one state-machine run's jobs: what each may hold, given every answer so far and any timing.

Each job the run starts is followed from its Start: the statuses it may hold (`job_states`), narrowed
by every answer about it and widened by time between requests, whether a Stop has reached it, and
what was last seen of it. A step's case carries what the model allows its job as the step is sent
(`Case.possible_statuses`); the oracle's rows for the `machine.*` categories turn that into the
answers allowed, and `lifecycle_violation` names the law an answer outside them breaks.

Only answers a legal server could give narrow the model. An answer that says nothing of the job (no
answer, a server error, throttling past the retries) leaves it as wide as before: after a Stop
without an answer, the job may or may not be stopping.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.cases import Case, categories
from conformance.judging import job_states
from conformance.judging.job_states import Law
from conformance.judging.oracle import INVALID_REQUEST, Expectation
from conformance.model.operations import Operation
from conformance.protocols import Answer

_DESCRIBES = frozenset({categories.MACHINE_DESCRIBE.name, categories.MACHINE_SETTLE.name})
_STOPS = frozenset({categories.MACHINE_STOP.name, categories.MACHINE_CLEANUP.name})
_OTHER_KINDS = frozenset({categories.MACHINE_OTHER_KIND.name, categories.MACHINE_OTHER_SERVICE.name})


@dataclass(frozen=True)
class Violation:
    """An answer no legal timing of the documented lifecycle explains: the law it breaks, and how."""

    law: Law
    message: str


@dataclass
class TrackedJob:
    """One job of a run, as far as the answers about it tell."""

    number: int  # 1, 2, ... in the order the run started its jobs
    kind: str  # e.g. comprehend/PiiEntitiesDetectionJob
    job_id: str
    possible: frozenset[str]  # what it may hold, as the last answer about it left it (time widens it: `now`)
    stop_reached: int | None = None  # the step of the first Stop that may have reached it
    stop_took: bool = False  # a Stop was answered 200, or refused because the job had ended: it needs no more
    seen: tuple[str, int] | None = None  # the last status an answer gave, and the step

    def now(self) -> frozenset[str]:
        """What it may hold now, any time having passed since the last answer."""
        return job_states.later(self.possible)

    def history(self) -> str:
        """e.g. `stopped at step 8, seen STOPPED at step 14`."""
        stopped = "never stopped" if self.stop_reached is None else f"stopped at step {self.stop_reached}"
        return stopped + (f", seen {self.seen[0]} at step {self.seen[1]}" if self.seen else "")

    def label(self) -> str:
        """e.g. `job 2 (comprehend/PiiEntitiesDetectionJob; never stopped, seen IN_PROGRESS at step 4)`."""
        return f"job {self.number} ({self.kind}; {self.history()})"


class LifecycleModel:
    """The jobs of one run and what each may hold; `step` counts the run's requests, as the case descriptions do."""

    def __init__(self) -> None:
        self.jobs: list[TrackedJob] = []
        self.step = 0

    def started(self, kind: str, job_id: str, status: str | None) -> TrackedJob:
        """A Start answered 200 with this id (and this JobStatus, where Start answers one)."""
        seen = status if status in job_states.NEVER_STOPPED else None
        job = TrackedJob(len(self.jobs) + 1, kind, job_id,
                         frozenset({seen}) if seen else frozenset({job_states.SUBMITTED}),
                         seen=(seen, self.step) if seen else None)
        self.jobs.append(job)
        return job

    def described(self, job: TrackedJob, answer: Answer | None, status: object) -> None:
        """A Describe of the job was answered: a 200 with a status it may hold narrows it to that status."""
        if answer is not None and answer.status == 200 and isinstance(status, str) and status in job.now():
            job.possible, job.seen = frozenset({status}), (status, self.step)

    def stopped(self, job: TrackedJob, answer: Answer | None, status: object) -> None:
        """A Stop of the job was answered (or not: `answer` None): what it may hold now."""
        before = job.now()
        accepted, refusable = job_states.stop_answers(before)
        if answer is not None and answer.status == 200 and accepted:
            known = status if isinstance(status, str) and status in accepted else None
            job.possible = job_states.after_stop(before, known)
            job.stop_took = True
            if known:
                job.seen = (known, self.step)
        elif answer is not None and answer.status == 400 and answer.error_type == INVALID_REQUEST and refusable:
            job.possible, job.stop_took = before & job_states.ENDED, True
            return  # refused: it had ended, so this Stop reached nothing
        elif answer is None or not _about_the_job(answer):
            job.possible = job_states.may_have_stopped(before)  # it may have been stopped, or not
        else:
            return  # an answer no legal timing explains (`lifecycle_violation`): it tells nothing
        if job.stop_reached is None:
            job.stop_reached = self.step


def _about_the_job(answer: Answer) -> bool:
    """Whether an answer speaks of the job (a success or a 4xx error), not of the server or the request's way to it
    (a 5xx, throttling): only these narrow what a job may hold."""
    return answer.status < 500 and not (answer.is_error and answer.error_type in _UNRELATED)


# Errors that say nothing of the job (they refuse the request before any job is looked at).
_UNRELATED = frozenset({"ThrottlingException", "TooManyRequestsException", "InternalServerException"})


def lifecycle_violation(operation: Operation, case: Case, answer: Answer, expectation: Expectation,
                        status: object) -> Violation | None:
    """The law of the documented lifecycle a state-machine step's answer breaks (`status`: its JobStatus, if any),
    if any; None for an answer the oracle allows, and for one that says nothing of the job (a server error,
    throttling, a validation error: other checks judge those)."""
    outcome = expectation.matching(answer)
    if outcome is not None and (not outcome.job_statuses or status in outcome.job_statuses):
        return None
    category, said = case.category, _said(answer, status)
    possible = job_states.later(case.possible_statuses or job_states.ALL)
    if category in _OTHER_KINDS:
        if answer.status == 200:
            return Violation(Law.OWN_KIND, f"{operation.name} {said} for the id of a job of another kind, "
                                           f"which it must not find: {Law.OWN_KIND.value}")
        return None
    if category == categories.MACHINE_START.name:
        if answer.status == 200 and status in job_states.STOPPING:
            return Violation(Law.ONLY_STOP_STOPS, f"a new job is {status}: {Law.ONLY_STOP_STOPS.value}")
        return None
    if answer.is_error and answer.error_type == operation.not_found_error:
        return Violation(Law.FOUND, f"{said}, where the job may be {job_states.describe(possible)}: "
                                    f"{Law.FOUND.value}")
    if category in _DESCRIBES:
        if answer.status == 200 and isinstance(status, str) and status not in possible:
            return _departure(said, possible, status)
        return None
    if category not in _STOPS:
        return None
    accepted, refusable = job_states.stop_answers(possible)
    if answer.status == 200 and not accepted:
        return Violation(Law.ENDED_REFUSES_STOP, f"{said}, where the job has ended (it may only be "
                                                 f"{job_states.describe(possible)}): {Law.ENDED_REFUSES_STOP.value}")
    if answer.status == 200 and isinstance(status, str) and status not in accepted:
        if status in job_states.RUNNING:
            return Violation(Law.STOP_TAKES, f"{said}: the stop did not take, where the job may be "
                                             f"{job_states.describe(possible)}: {Law.STOP_TAKES.value}")
        return _departure(said, accepted, status)
    if answer.status == 400 and answer.error_type == INVALID_REQUEST and not refusable:
        return Violation(Law.STOP_TAKES, f"{said}, where the job cannot have ended (it may be "
                                         f"{job_states.describe(possible)}): {Law.STOP_TAKES.value}")
    return None


def _departure(said: str, possible: frozenset[str], status: str) -> Violation:
    law = job_states.departure(possible, status)
    return Violation(law, f"{said}, where the job may only be {job_states.describe(possible)}: {law.value}")


def _said(answer: Answer, status: object) -> str:
    """The answer in a few words: `200 STOP_REQUESTED`, `400 JobNotFoundException`."""
    if answer.is_error:
        return f"answered {answer.status} {answer.error_type or '(no error type)'}"
    return f"answered {answer.status}" + (f" JobStatus {status}" if isinstance(status, str) else "")
