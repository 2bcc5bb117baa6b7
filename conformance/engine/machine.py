"""The state machine: runs of Start, Describe and Stop over every job kind of a run, each answer judged against a
model of the documented lifecycle; a failing run shrunk against the live target to its shortest failing run.

A run takes its actions (`generation.machine_steps`) one by one: each becomes a request (a settle
step, a few), sent and judged as any case is (`execute`), its case carrying what the lifecycle model
allows its job (`judging.lifecycle_model`). A run ends after its last action, at the first answer no
legal timing explains, or when its share of steps is spent; then it stops every job it started
that no Stop has reached (`machine.cleanup`, sent past any budget and any cancellation), so each
run starts from nothing and every job it starts, it stops.

A failing run is shrunk by running shorter runs (`machine_steps.smaller`) against the same target,
each with jobs of its own, keeping any that fails the same way (the same step category, the same law
broken), until none does or the bounds are spent (requests, replays, seconds). The failure is
reported with the shortest failing run's steps, as sent and answered (`results.StepSequence`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from conformance.cases import Case, Category, categories
from conformance.engine.budget import BudgetExhausted
from conformance.engine.config import LifecycleConfig, MachineConfig
from conformance.engine.execute import execute
from conformance.engine.job_flow import MAX_FOLLOWED_JOB_ID, at_path, member_at, stopped_or_ended
from conformance.engine.lanes import Lane
from conformance.engine.results import CaseResult, SettleWatch, StepSequence
from conformance.engine.transport import Transport
from conformance.generation.machine_steps import MAX_JOBS, Action, Verb, smaller
from conformance.judging import job_states
from conformance.judging.checks import CheckContext, job_member, violation
from conformance.judging.job_states import STOP_REQUESTED, Law
from conformance.judging.lifecycle_model import LifecycleModel, TrackedJob, Violation
from conformance.judging.oracle import INVALID_REQUEST, expect
from conformance.model import botocore_model
from conformance.model.job_apis import JobApi, job_api_for, start_request
from conformance.model.operations import Operation
from conformance.protocols import Answer, ProtocolName
from conformance.wire.http import HttpResponse, clipped

SETTLE_SECONDS = 5.0  # the longest a settle step waits for a stopping job (the job flows judge how long it takes)


class StepSender(Protocol):
    """Sends one step's case over a lane (or, planning, records it) and gives back its judged result."""

    def __call__(self, lane: Lane, operation: Operation, case: Case, *, essential: bool = False) -> CaseResult:
        ...


def transport_step_sender(transport: Transport, checks: list[str] | None = None) -> StepSender:
    """A sender that sends each step over its lane's protocol and judges the answer, as part of that lane."""
    def send(lane: Lane, operation: Operation, case: Case, *, essential: bool = False) -> CaseResult:
        return execute(operation, case, lane.protocol, transport, checks, essential=essential,
                       lane_operation=lane.operation.name)
    return send


@dataclass(frozen=True)
class MachineKind:
    """A kind of job the state machine starts, with the served lanes of its Stop operation (one per protocol)."""

    api: JobApi
    lanes: tuple[Lane, ...]
    start: Operation
    describe: Operation

    @property
    def name(self) -> str:
        """e.g. comprehend/PiiEntitiesDetectionJob."""
        return self.api.kind

    def lane(self, index: int) -> Lane:
        """The lane an action's protocol index names."""
        return self.lanes[index % len(self.lanes)]

    def cleanup_lane(self) -> Lane:
        """The lane a clean-up Stop goes over: awsJson1_1, which every endpoint of these services speaks, if served."""
        return next((lane for lane in self.lanes if lane.protocol.name is ProtocolName.AWS_JSON_1_1), self.lanes[0])


def machine_kinds(lanes: Iterable[Lane]) -> list[MachineKind]:
    """The job kinds of these lanes (each with its lanes, in their order), the services taking turns: where the run
    has two services, the second kind is of the other one (the opening's job C, `machine_steps.OPENING`)."""
    grouped: dict[str, tuple[JobApi, list[Lane]]] = {}
    for lane in lanes:
        api = job_api_for(lane.operation.service.name, lane.operation.name)
        if api is not None:
            grouped.setdefault(api.kind, (api, []))[1].append(lane)
    by_service: dict[str, list[MachineKind]] = {}
    for api, served in grouped.values():
        # awsJson1_1 first: the protocol AWS SDKs send, where a shrunk run's steps go (the first is simplest).
        served.sort(key=lambda lane: lane.protocol.name is not ProtocolName.AWS_JSON_1_1)
        by_service.setdefault(api.service, []).append(MachineKind(
            api, tuple(served), botocore_model.operation(api.service, api.start),
            botocore_model.operation(api.service, api.describe)))
    turns = list(by_service.values())
    return [kinds[at] for at in range(max(map(len, turns), default=0)) for kinds in turns if at < len(kinds)]


@dataclass
class _Job:
    """A job of a run: what the model knows of it, and its kind."""

    tracked: TrackedJob
    kind: MachineKind

    @property
    def job_id(self) -> str:
        """The id its Start answered."""
        return self.tracked.job_id


@dataclass
class MachineRun:
    """What one run did: the actions it took, every result, a line per request."""

    actions: list[Action] = field(default_factory=list)  # as taken (`machine_steps.without`), the failing one last
    results: list[CaseResult] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # one per request, as a step list shows it
    violation: Violation | None = None  # the first answer no legal timing explains
    failing: CaseResult | None = None  # its result
    sent: int = 0  # requests, the clean-up's included

    @property
    def signature(self) -> tuple[str, Law] | None:
        """How it failed, which a shrunk run must repeat: the failing step's category and the law broken."""
        if self.violation is None or self.failing is None:
            return None
        return self.failing.case.category, self.violation.law

    def size(self) -> tuple[int, int]:
        """What shrinking makes smaller: the actions taken, then the protocol indices (the first protocol is
        simplest)."""
        return len(self.actions), sum(action.protocol for action in self.actions)


class StateMachine:
    """Runs of the state machine against one target: each run starts its own jobs, and stops them as it ends."""

    def __init__(self, kinds: Sequence[MachineKind], send: StepSender, ledger: Any, job_setup: Any = None,
                 lifecycle: LifecycleConfig = LifecycleConfig(), cancel: threading.Event | None = None,
                 pause: Callable[[float], object] | None = None, settling: SettleWatch | None = None) -> None:
        self.kinds, self.send, self.ledger, self.job_setup = list(kinds), send, ledger, job_setup
        self.lifecycle = lifecycle
        self.settling = settling or SettleWatch()  # the run's: what a wait learns bounds the later ones
        self.cancel = cancel or threading.Event()
        self.pause = pause or self.cancel.wait  # a cancellation ends a wait

    def run(self, actions: Sequence[Action], limit: int) -> MachineRun:
        """Take the actions in turn, within `limit` requests (the clean-up's included, unless cancelled), until the
        first answer no legal timing explains; then stop the run's jobs."""
        steps = _Steps(self, limit)
        try:
            for action in actions:
                if self.cancel.is_set() or not steps.room(starts=action.verb is Verb.START):
                    break
                taken = steps.take(action)
                if taken is not None:
                    steps.record.actions.append(taken)
                if steps.record.violation is not None:
                    break
        except BudgetExhausted:  # the run's share is spent elsewhere: what was judged stays
            pass
        steps.close()
        return steps.record

    def shrink(self, failed: MachineRun, requests: int, bounds: MachineConfig = MachineConfig()) -> StepSequence:
        """The shortest run found that fails as `failed` does, by running shorter ones (`machine_steps.smaller`)
        within `requests` requests and the bounds' replays and seconds; its steps as they were sent and answered."""
        best, signature = failed, failed.signature
        tried = spent = 0
        deadline = time.monotonic() + bounds.shrink_seconds
        replays = bounds.shrink_replays
        improved = True
        while improved:
            improved = False
            for candidate in smaller(best.actions):
                if tried >= replays or spent >= requests or time.monotonic() >= deadline or self.cancel.is_set():
                    return _sequence(best, failed, tried, spent)
                replay = self.run(candidate, requests - spent)
                tried, spent = tried + 1, spent + replay.sent
                if replay.signature == signature and replay.size() < best.size():
                    best, improved = replay, True
                    break
        return _sequence(best, failed, tried, spent)


def _sequence(best: MachineRun, failed: MachineRun, replays: int, requests: int) -> StepSequence:
    """The steps of the shortest failing run, up to its failing one (the clean-up after it left out); looks at a
    settling job that all said the same, as one line."""
    last = best.results.index(best.failing) if best.failing in best.results else len(best.results) - 1
    return StepSequence(tuple(_merged(best.lines[:last + 1])), last + 1, original=_steps_to_failure(failed),
                        replays=replays, requests=requests)


def _merged(lines: list[str]) -> list[str]:
    """`3. describe job 1 ...: 200 STOP_REQUESTED` four times over as `3-6. ... (4 looks)`."""
    groups: list[tuple[str, str, int]] = []  # (first number, the rest, how many)
    for line in lines:
        number, _, rest = line.partition(". ")
        if groups and groups[-1][1] == rest:
            groups[-1] = (groups[-1][0], rest, groups[-1][2] + 1)
        else:
            groups.append((number, rest, 1))
    return [f"{first}. {rest}" if count == 1 else f"{first}-{int(first) + count - 1}. {rest} ({count} looks)"
            for first, rest, count in groups]


def _steps_to_failure(run: MachineRun) -> int:
    return run.results.index(run.failing) + 1 if run.failing in run.results else len(run.results)


class _Steps:
    """One run as it goes: its model, its jobs, and the requests it may still send."""

    def __init__(self, machine: StateMachine, limit: int) -> None:
        self.machine, self.limit = machine, limit
        self.model = LifecycleModel()
        self.jobs: list[_Job] = []
        self.record = MachineRun()

    def room(self, starts: bool = False) -> bool:
        """Whether one more request fits, with a clean-up Stop for every job that may need one (and for the job it
        starts)."""
        owed = sum(1 for job in self.jobs if not job.tracked.stop_took) + (1 if starts else 0)
        return self.record.sent + 1 + owed <= self.limit

    def take(self, action: Action) -> Action | None:
        """Send the requests of one action; the action as taken (each index the one it resolved to), or None where
        the run has nothing it applies to (no job yet, no kind but the job's, its jobs all started)."""
        kinds = self.machine.kinds
        if action.verb is Verb.START:
            if len(self.jobs) >= MAX_JOBS:
                return None
            kind = action.kind % len(kinds)
            started = self.start(kinds[kind], action.protocol)
            return Action(Verb.START, started, kind, action.protocol % len(kinds[kind].lanes))
        if not self.jobs:
            return None
        at = action.job % len(self.jobs)
        job = self.jobs[at]
        protocol = action.protocol % len(job.kind.lanes)
        if action.verb is Verb.DESCRIBE:
            self.describe(job, protocol, categories.MACHINE_DESCRIBE)
        elif action.verb is Verb.STOP:
            self.stop(job, job.kind.lane(protocol), categories.MACHINE_STOP)
        elif action.verb is Verb.SETTLE:
            self.settle(job, protocol)
        else:
            others = [kind for kind in kinds if kind.name != job.kind.name]
            if not others:
                return None
            other = others[action.kind % len(others)]
            protocol = action.protocol % len(other.lanes)
            self.misname(job, other, protocol, action.verb is Verb.STOP_AS_OTHER)
            return Action(action.verb, at, action.kind % len(others), protocol)
        return Action(action.verb, at, 0, protocol)

    def send(self, lane: Lane, operation: Operation, case: Case, line: str, essential: bool = False) -> CaseResult:
        """Send one step and judge it against the model; the run's first violation is kept."""
        result = self.machine.send(lane, operation, case, essential=essential)
        self.record.sent += 1
        self.record.results.append(result)
        broken = None
        if result.answer is not None and result.not_judged is None:
            broken = violation(CheckContext(operation, case, result.request, result.answer, result.expectation,
                                            lane.protocol))
        said = _said(result)
        self.record.lines.append(f"{self.model.step}. {line} over {lane.protocol.name}: {said}"
                                 + (f"  <- {broken.message}" if broken else ""))
        if broken is not None and self.record.violation is None:
            self.record.violation, self.record.failing = broken, result
        return result

    def case(self, operation: Operation, category: Category, what: str, job: _Job | None = None,
             document: dict[str, Any] | None = None, judged_by_model: bool = True) -> Case:
        """The case of the next step (its number counted here); for a step about the job itself, with every status
        the model allows it as the step is sent."""
        self.model.step += 1
        job_id = job.job_id if job else None
        return Case(operation.name, category.name, category.kind,
                    f"{what}: step {self.model.step} of a state-machine run",
                    document=document if document is not None else {"JobId": job_id}, job_id=job_id,
                    possible_statuses=job.tracked.now() if job and judged_by_model else None)

    def start(self, kind: MachineKind, protocol: int) -> int:
        """Start a job of a kind; the ledger and the model learn of it once the answer names it. The job's place
        among the run's jobs, -1 where none was started."""
        lane, operation = kind.lane(protocol), kind.start
        number = len(self.model.jobs) + 1
        document = {**start_request(kind.api, self.machine.job_setup),
                    "ClientRequestToken": str(uuid.uuid4())}  # a retried Start must not start a second job
        result = self.send(lane, operation, self.case(operation, categories.MACHINE_START,
                                                      f"start job {number} ({kind.name})", document=document),
                           f"start job {number} ({kind.name})")
        answer = result.answer
        job_id = job_member(answer.document, "JobId") if answer is not None and answer.status == 200 else None
        if not isinstance(job_id, str) or not job_id:
            return -1
        self.machine.ledger.started(kind.api.service, job_id, kind.api.stop)
        status = job_member(answer.document, "JobStatus") if answer is not None else None
        tracked = self.model.started(kind.name, job_id, status if isinstance(status, str) else None)
        job = _Job(tracked, kind)
        if len(job_id) > MAX_FOLLOWED_JOB_ID:  # an absurd id from the target: stop that job, send nothing else with it
            self.stop(job, kind.cleanup_lane(), categories.MACHINE_CLEANUP, essential=True)
            return -1
        self.jobs.append(job)
        self.record.lines[-1] += f" (JobId {clipped(job_id, 40)})"
        return len(self.jobs) - 1

    def describe(self, job: _Job, protocol: int, category: Category, note: str = "") -> object:
        """Describe a job; its JobStatus as answered (None where the answer has none)."""
        lane, operation = job.kind.lane(protocol), job.kind.describe
        what = f"describe {job.tracked.label()}{note}"
        result = self.send(lane, operation, self.case(operation, category, what, job),
                           f"describe job {job.tracked.number}{note}")
        status = member_at(result.answer.document, job.kind.api.status_path) if result.answer else None
        self.model.described(job.tracked, result.answer, status)
        return status

    def stop(self, job: _Job, lane: Lane, category: Category, essential: bool = False) -> None:
        """Stop a job over a lane; the ledger learns when a Stop took (or the job had ended)."""
        operation = lane.operation
        again = "" if job.tracked.stop_reached is None else " again"
        what = f"stop {job.tracked.label()}{again}"
        clean_up = " (clean-up)" if category is categories.MACHINE_CLEANUP else ""
        result = self.send(lane, operation, self.case(operation, category, what, job),
                           f"stop job {job.tracked.number}{again}{clean_up}", essential)
        answer = result.answer
        status = job_member(answer.document, "JobStatus") if answer is not None and answer.status == 200 else None
        self.model.stopped(job.tracked, answer, status)
        if stopped_or_ended(result):
            self.machine.ledger.stopped(job.kind.api.service, job.job_id)

    def settle(self, job: _Job, protocol: int) -> None:
        """Describe a job that may be stopping until it has left STOP_REQUESTED, at growing intervals, for
        SETTLE_SECONDS (or --settle-timeout, if shorter) at most; a job not stopping, once."""
        if STOP_REQUESTED not in job.tracked.now():
            self.describe(job, protocol, categories.MACHINE_DESCRIBE)
            return
        config, settling, kind = self.machine.lifecycle, self.machine.settling, job.kind.name
        bound = settling.bound(kind, min(config.settle_timeout, SETTLE_SECONDS), by_flow=False)
        began = time.monotonic()
        deadline = began + bound
        interval = min(config.first_poll, config.poll_interval)
        while True:
            status = self.describe(job, protocol, categories.MACHINE_SETTLE, " until it settles")
            now = time.monotonic()
            if status != STOP_REQUESTED or self.record.violation is not None or now >= deadline \
                    or self.machine.cancel.is_set() or not self.room():
                # Only a wait of the whole --settle-timeout teaches (SETTLE_SECONDS may be shorter: then never).
                settling.saw(kind, now - began, bound, config.settle_timeout, status is not None
                             and status != STOP_REQUESTED, timed_out=now >= deadline and status == STOP_REQUESTED
                             and not self.machine.cancel.is_set(), by_flow=False)
                return
            self.machine.pause(interval)
            interval = min(interval * config.poll_growth, config.poll_interval)

    def misname(self, job: _Job, other: MachineKind, protocol: int, stops: bool) -> None:
        """Another kind's Stop (or Describe) with the job's id: it names no job of that kind."""
        lane = other.lane(protocol)
        operation = lane.operation if stops else other.describe
        same_service = other.api.service == job.kind.api.service
        category = categories.MACHINE_OTHER_KIND if same_service else categories.MACHINE_OTHER_SERVICE
        whose = "another kind's" if same_service else "another service's"
        verb = "stop" if stops else "describe"
        what = f"{operation.name} ({whose} {verb}) with the id of {job.tracked.label()}"
        self.send(lane, operation, self.case(operation, category, what, job, judged_by_model=False),
                  f"{operation.name} with job {job.tracked.number}'s id ({whose} {verb})")

    def close(self) -> None:
        """Stop every job of the run that no Stop has reached, past any budget and any cancellation."""
        for job in self.jobs:
            if not job.tracked.stop_took:
                self.stop(job, job.kind.cleanup_lane(), categories.MACHINE_CLEANUP, essential=True)


def _said(result: CaseResult) -> str:
    """An answer in a few words, for a step list: `200 STOP_REQUESTED`, `400 JobNotFoundException`, `no answer`."""
    answer = result.answer
    if answer is None:
        return "no answer" if result.judged else f"not sent ({result.not_judged_detail or 'refused'})"
    if answer.is_error:
        return f"{answer.status} {clipped(answer.error_type or '(no error type)', 60)}"
    status = job_member(answer.document, "JobStatus")
    return f"{answer.status}" + (f" {clipped(status, 40)}" if isinstance(status, str) else "")


def run_machine(machine: StateMachine, runs: Iterable[Sequence[Action]], steps: int, shrink_requests: int,
                bounds: MachineConfig = MachineConfig(), fail_fast: bool = False,
                before_shrink: Callable[[], object] | None = None) -> list[CaseResult]:
    """Runs in turn, within `steps` requests in all, until one fails; the failing one shrunk (not with
    `fail_fast`; after `before_shrink` returns), its failing result carrying the shortest failing run's steps.
    Every result, in the order sent."""
    results: list[CaseResult] = []
    left = steps
    for actions in runs:
        if left <= 0 or machine.cancel.is_set():
            break
        run = machine.run(actions, left)
        left -= max(run.sent, 1)  # a run that could send nothing still counts, so that the loop ends
        results += run.results
        if run.failing is not None:
            if fail_fast or shrink_requests <= 0:
                run.failing.sequence = _sequence(run, run, 0, 0)
            else:
                if before_shrink is not None:
                    before_shrink()
                run.failing.sequence = machine.shrink(run, shrink_requests, bounds)
            break
    return results


@dataclass(frozen=True)
class PlannedStep:
    """One request the state machine would send, for a dry run."""

    lane: Lane
    operation: Operation
    case: Case
    note: str


class PlanningSteps:
    """A step sender for a dry run: records each request and answers as a conforming endpoint would, with statuses
    the lifecycle model allows (a job settles at its first look), so that the plan shows the very steps a run
    sends when nothing fails. JobIds are placeholders."""

    def __init__(self) -> None:
        self.planned: list[PlannedStep] = []
        self.started = 0

    def __call__(self, lane: Lane, operation: Operation, case: Case, *, essential: bool = False) -> CaseResult:
        self.planned.append(PlannedStep(lane, operation, case, _NOTES.get(case.category, "")))
        status, error = 200, None
        document: dict[str, Any] = {}
        possible = job_states.later(case.possible_statuses or job_states.NEVER_STOPPED)
        if case.category == categories.MACHINE_START.name:
            self.started += 1
            document = {"JobId": f"<JobId of job {self.started}>"}
        elif case.category in (categories.MACHINE_DESCRIBE.name, categories.MACHINE_SETTLE.name):
            api = job_api_for(lane.operation.service.name, lane.operation.name)
            settled = case.category == categories.MACHINE_SETTLE.name
            path = api.status_path if api else ("JobStatus",)
            document = at_path(path, _likeliest(possible, settled))
        elif case.category in (categories.MACHINE_STOP.name, categories.MACHINE_CLEANUP.name):
            accepted, _ = job_states.stop_answers(possible)
            if accepted:
                document = {"JobId": case.job_id, "JobStatus": _likeliest(accepted, False)}
            else:
                status, error = 400, INVALID_REQUEST
        else:  # another kind's Stop or Describe: no such job
            status, error = 400, operation.not_found_error
        answer = Answer(HttpResponse(status, {}, b""), document, error_type=error)
        return CaseResult(case, operation, lane.protocol.encode(operation, case), expect(operation, case), answer,
                          protocol=lane.protocol.name, lane=(lane.operation.name, lane.protocol.name))


_NOTES = {categories.MACHINE_SETTLE.name: f"repeated until the job settles, {SETTLE_SECONDS:g} s at most",
          categories.MACHINE_CLEANUP.name: "as its run ends, for a job no Stop has reached"}
# The status a conforming endpoint most likely answers, of those allowed: a job runs, then stops.
_LIKELIEST = (job_states.IN_PROGRESS, job_states.STOP_REQUESTED, job_states.STOPPED, job_states.SUBMITTED,
              job_states.COMPLETED, job_states.FAILED)


def _likeliest(allowed: frozenset[str], settled: bool) -> str:
    """The status a dry run's answer gives, of those allowed; once settled, the stopped job's end if allowed."""
    if settled and job_states.STOPPED in allowed:
        return job_states.STOPPED
    return next((status for status in _LIKELIEST if status in allowed), job_states.IN_PROGRESS)

