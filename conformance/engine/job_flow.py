"""The success path of Stop: start a job, read its status, probe its near misses, stop it, stop it again, wait.

Describe before Stop tells the oracle what the job was: a Stop of a job already COMPLETED must be
refused. Stop and Describe with ids next to the real one (its upper case, a prefix...) must find no
job, and Describe afterwards must show the job untouched: a lookup that folds case, trims or
matches prefixes fails there. Describe after Stop, polled until the job leaves STOP_REQUESTED or
`settle_timeout` passes, proves that a stop takes effect.

The flow is written once against a `Sender`: a run sends each request and judges it; a dry run
(`PlanningSender`) records it and answers as a conforming endpoint would, so that the plan shows
the very requests the flow makes.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from conformance.cases import Case, Category, Kind, categories
from conformance.engine.budget import BudgetExhausted
from conformance.engine.config import LifecycleConfig
from conformance.engine.execute import execute
from conformance.engine.results import CaseResult, SettleWatch, SkipReason
from conformance.engine.transport import Transport
from conformance.judging.checks import job_member
from conformance.judging.oracle import INVALID_REQUEST, SETTLED_STATUSES, expect
from conformance.model import botocore_model
from conformance.model.job_apis import JobApi, start_request
from conformance.model.job_ids import near_misses
from conformance.model.operations import Operation
from conformance.protocols import Answer, WireProtocol
from conformance.wire.http import HttpResponse

# A Start may answer any JobId: one longer than this is used only to stop the job, never copied into the
# flow's other requests (a JobId may be 32 characters; moto's are 36).
MAX_FOLLOWED_JOB_ID = 1024


class Sender(Protocol):
    """Sends one case of a flow (or, planning, records it) and gives back its result."""

    def __call__(self, operation: Operation, case: Case, *, essential: bool = False, note: str = "") -> CaseResult:
        ...


NearMissSource = Callable[[str], Sequence[tuple[Category, str]]]  # a job id -> drawn (category, value) near misses


@dataclass(frozen=True)
class IdentityProbes:
    """What a flow sends, beyond the fixed near misses, to test that the job's id and nothing else names the job."""

    drawn: NearMissSource | None = None  # near misses drawn from transformations of the id (`generation`)
    respelled: Callable[[dict[str, Any]], bytes] | None = None  # a document in another legal spelling of the wire


class _Flow:
    """One job's flow as it goes: the results so far, and the steps that send and read them."""

    def __init__(self, operation: Operation, api: JobApi, send: Sender, ledger: Any, config: LifecycleConfig,
                 cancel: threading.Event, pause: Callable[[float], object], identity: IdentityProbes,
                 settling: SettleWatch | None = None) -> None:
        self.operation, self.api, self.send, self.ledger = operation, api, send, ledger
        self.config, self.cancel, self.pause, self.identity = config, cancel, pause, identity
        self.settling = settling or SettleWatch()
        self.start_operation = botocore_model.operation(api.service, api.start)
        self.describe = botocore_model.operation(api.service, api.describe)
        self.results: list[CaseResult] = []

    def step(self, op: Operation, case: Case, essential: bool = False, note: str = "") -> CaseResult:
        """Send one case and keep its result."""
        result = self.send(op, case, essential=essential, note=note)
        self.results.append(result)
        return result

    def read_status(self, category: Category, text: str, job_id: str, note: str = "") -> str | None:
        """Describe the job; its JobStatus, if the answer has one."""
        describe = self.describe
        result = self.step(describe, Case(describe.name, category.name, category.kind, text,
                                          document={"JobId": job_id}, job_id=job_id), note=note)
        status = member_at(result.answer.document, self.api.status_path) if result.answer else None
        return status if isinstance(status, str) else None

    def stop(self, category: Category, text: str, job_id: str, known: str | None, essential: bool = False,
             note: str = "") -> CaseResult:
        """Stop the job (what Describe said of it last is `known`); the ledger learns when it stopped or ended."""
        result = self.step(self.operation, Case(self.operation.name, category.name, category.kind, text,
                                                document={"JobId": job_id}, job_id=job_id, known_status=known),
                           essential, note)
        if stopped_or_ended(result):
            self.ledger.stopped(self.api.service, job_id)
        return result

    def start(self, job_setup: Any) -> str | None:
        """Start a job; its JobId, or None where none was started (or the budget is spent)."""
        document = {**start_request(self.api, job_setup),
                    "ClientRequestToken": str(uuid.uuid4())}  # a retried Start must not start a second job
        start = self.start_operation
        try:
            started = self.step(start, Case(start.name, categories.START.name, categories.START.kind,
                                             "start a job for Stop to stop", document=document))
        except BudgetExhausted:
            return None
        job_id = job_member(started.answer.document, "JobId") if started.answer else None
        if started.answer is None or started.answer.status != 200 or not isinstance(job_id, str):
            return None
        return job_id

    def inspect(self, job_id: str) -> str | None:
        """Describe the job, send its near misses (the fixed ones, then drawn ones) to Stop and Describe, Describe it
        again, then Describe it by its id in another legal spelling; what the first Describe said of it (None when
        the budget or a cancellation cut this short)."""
        known = None
        with contextlib.suppress(BudgetExhausted):
            if not self.cancel.is_set():
                known = self.read_status(categories.DESCRIBE, "read the status of the job the suite started", job_id)
                fixed = [(categories.NEAR_MISSES[label], near) for label, near in near_misses(job_id)]
                drawn = list(self.identity.drawn(job_id)) if self.identity.drawn else []
                for near_miss, near in fixed + drawn:
                    for op in (self.operation, self.describe):
                        self.step(op, Case(op.name, near_miss.name, near_miss.kind, near_miss.description,
                                           document={"JobId": near}, job_id=near))
                self.read_status(categories.UNTOUCHED, "the job is untouched by the near misses", job_id)
                if self.identity.respelled is not None:
                    respelled, describe = categories.RESPELLED, self.describe
                    self.step(describe, Case(describe.name, respelled.name, respelled.kind, respelled.description,
                                             raw_body=self.identity.respelled({"JobId": job_id}), job_id=job_id))
        return known

    def after_stop(self, job_id: str, known: str | None, first: CaseResult) -> None:
        """Stop it again; then, if the first Stop took, wait for the job to settle and stop it once more."""
        with contextlib.suppress(BudgetExhausted):  # the job is stopped already; the rest is reported as uncovered
            again_known = known if known in SETTLED_STATUSES else None
            self.stop(categories.STOP_AGAIN, "stop the same job a second time", job_id, again_known)
            if first.answer is None or first.answer.status != 200 or self.config.settle_timeout <= 0:
                return
            settled = self.settle(job_id)
            if settled in SETTLED_STATUSES:
                self.stop(categories.STOP_SETTLED, f"stop the job once it has settled ({settled})", job_id, settled,
                          note="once it has settled")

    def settle(self, job_id: str) -> str | None:
        """Describe the stopped job at growing intervals until it settles, `settle_timeout` passes or the run is
        cancelled; only the last look is kept. What it said last."""
        config = self.config
        bound = self.settling.bound(self.api.kind, config.settle_timeout, by_flow=True)
        began = time.monotonic()
        deadline = began + bound
        interval = min(config.first_poll, config.poll_interval)
        text = f"the stopped job settles within {bound:g} s"
        if bound < config.settle_timeout:  # say why this wait is shorter than --settle-timeout
            text += (f" (bounded: an earlier stopped job of this kind stayed STOP_REQUESTED for the whole "
                     f"{config.settle_timeout:g} s)")
        while True:
            settled = self.read_status(categories.SETTLED, text, job_id,
                                       note="repeated until the job settles (--settle-timeout)")
            now = time.monotonic()
            if settled in SETTLED_STATUSES or now >= deadline or settled is None or self.cancel.is_set():
                self.settling.saw(self.api.kind, now - began, bound, config.settle_timeout,
                                  settled in SETTLED_STATUSES, timed_out=now >= deadline and settled == "STOP_REQUESTED"
                                  and not self.cancel.is_set(), by_flow=True)
                if self.cancel.is_set() and settled not in SETTLED_STATUSES and self.results:
                    _not_judged(self.results[-1], "the run was interrupted while the stopped job settled "
                                f"(it was {settled or 'unread'})")
                return settled
            self.results.pop()  # only the last look at a settling job is judged
            self.pause(interval)
            interval = min(interval * config.poll_growth, config.poll_interval)


def _not_judged(result: CaseResult, detail: str) -> None:
    """Withdraw a result's verdicts: an interrupted wait says nothing of the target (a job still STOP_REQUESTED
    when Ctrl-C cut its wait short is no failure of job_status_allowed)."""
    result.verdicts = {}
    result.not_judged, result.not_judged_detail = SkipReason.CANCELLED, detail


def job_flow(operation: Operation, api: JobApi, send: Sender, ledger: Any, job_setup: Any = None,
             config: LifecycleConfig = LifecycleConfig(), cancel: threading.Event | None = None,
             pause: Callable[[float], object] | None = None, identity: IdentityProbes = IdentityProbes(),
             on_stopped: Callable[[], object] | None = None,
             settling: SettleWatch | None = None) -> list[CaseResult]:
    """Every case of one job's life, in the order sent (only the last look at a settling job is kept).

    The job's first Stop is sent even past the request budget and even when the run is being
    cancelled: every job the suite starts, it stops. The ledger (`transport.jobs`) records the job,
    so that clean-up can stop it should this flow end early. `on_stopped` is called once that first
    Stop has been answered. `settling` is the run's watch of how its jobs settle (it may bound the wait).
    """
    cancel = cancel or threading.Event()
    flow = _Flow(operation, api, send, ledger, config, cancel, pause or cancel.wait,  # a cancellation ends a wait
                 identity, settling)
    if cancel.is_set():
        return flow.results
    job_id = flow.start(job_setup)
    if job_id is None:
        return flow.results
    ledger.started(api.service, job_id, api.stop)
    if len(job_id) > MAX_FOLLOWED_JOB_ID:  # an absurd id from the target: stop that job, send nothing else with it
        flow.stop(categories.STOP, f"stop the job the suite started (its JobId is {len(job_id)} characters)", job_id,
                  None, essential=True)
        return flow.results
    known = flow.inspect(job_id)
    first = flow.stop(categories.STOP, f"stop the job the suite started (Describe said {known})", job_id, known,
                      essential=True)
    if on_stopped is not None:
        on_stopped()
    if not cancel.is_set():
        flow.after_stop(job_id, known, first)
    return flow.results


def transport_sender(protocol: WireProtocol, transport: Transport, checks: list[str] | None = None,
                     lane_operation: str | None = None) -> Sender:
    """A sender that sends each case over `protocol` and judges the answer, as part of `lane_operation`'s lane."""
    def send(operation: Operation, case: Case, *, essential: bool = False, note: str = "") -> CaseResult:
        return execute(operation, case, protocol, transport, checks, essential=essential, lane_operation=lane_operation)
    return send


PLACEHOLDER_JOB_ID = "<JobId the Start returns>"


def member_at(document: object, path: tuple[str, ...]) -> object:
    """The value at a path of member names in an answer (None where the path leads nowhere)."""
    for name in path:
        if not isinstance(document, dict):
            return None
        document = document.get(name)
    return document


def at_path(path: tuple[str, ...], value: object) -> dict[str, Any]:
    """A document that holds `value` at `path` (a path of at least one member name)."""
    document: Any = value
    for name in reversed(path):
        document = {name: document}
    return document


class PlanningSender:
    """A sender for a dry run: records each request with its note and answers as a conforming endpoint would.

    Describe's answers hold the job's status where the job API's Describe reports it (`status_path`).
    """

    def __init__(self, protocol: WireProtocol, status_path: tuple[str, ...] = ("JobStatus",)) -> None:
        self.protocol = protocol
        self.status_path = status_path
        self.planned: list[tuple[Operation, Case, str]] = []

    def __call__(self, operation: Operation, case: Case, *, essential: bool = False, note: str = "") -> CaseResult:
        self.planned.append((operation, case, note))
        document: dict[str, Any] = {}
        status = 200
        if case.kind is Kind.START_JOB:
            document = {"JobId": PLACEHOLDER_JOB_ID}
        elif case.kind is Kind.DESCRIBE_JOB:
            settled = case.category == categories.SETTLED.name
            document = at_path(self.status_path, "STOPPED" if settled else "IN_PROGRESS")
        elif case.kind is Kind.NEAR_MISS:
            status = 400
        request = self.protocol.encode(operation, case)
        return CaseResult(case, operation, request, expect(operation, case),
                          Answer(HttpResponse(status, {}, b""), document), protocol=self.protocol.name)


class NoLedger:
    """The ledger of a dry run: nothing is started, so nothing is recorded."""

    def started(self, service: str, job_id: str, stop_operation: str = "") -> None:
        """Record nothing."""

    def stopped(self, service: str, job_id: str) -> None:
        """Record nothing."""


def planned_flow(operation: Operation, api: JobApi, protocol: WireProtocol, job_setup: Any = None,
                 identity: IdentityProbes = IdentityProbes()) -> list[tuple[Operation, Case, str]]:
    """The requests one job flow makes, as a dry run lists them (JobIds the Start would return are placeholders, and
    the near misses drawn are drawn from the placeholder)."""
    sender = PlanningSender(protocol, api.status_path)
    job_flow(operation, api, sender, NoLedger(), job_setup, LifecycleConfig(settle_timeout=1.0),
             pause=lambda seconds: None, identity=identity)
    for index, (op, case, note) in enumerate(sender.planned):
        if case.kind is Kind.START_JOB:  # a real run sends a fresh token each time
            document = {**case.document, "ClientRequestToken": "<a fresh UUID>"}
            sender.planned[index] = (op, Case(op.name, case.category, case.kind, case.description,
                                              document=document), note)
    return sender.planned


def stop_leftover(operation: Operation, protocol: WireProtocol, transport: Transport, service: str,
                  job_id: str) -> CaseResult:
    """Stop a job the run started and did not see stopped (its flow ended early); sent past any budget."""
    cleanup = categories.CLEANUP
    case = Case(operation.name, cleanup.name, cleanup.kind, cleanup.description, document={"JobId": job_id},
                job_id=job_id)
    result = execute(operation, case, protocol, transport, essential=True)
    if stopped_or_ended(result):
        transport.jobs.stopped(service, job_id)
    return result


def stop_leftovers(transport: Transport, stoppers: Mapping[str, tuple[Operation, WireProtocol]]) -> list[CaseResult]:
    """Stop every job the ledger holds as started and not seen stopped, each with the (Stop operation, protocol)
    of its kind, `stoppers` keyed by Stop operation name (a job of another kind would not be found); any still
    running afterwards stays in `transport.jobs.unstopped()` for the caller to name."""
    results = []
    for service, job_id in transport.jobs.unstopped():
        name = transport.jobs.stopper(service, job_id)
        if name is not None and name in stoppers:
            operation, protocol = stoppers[name]
            try:
                results.append(stop_leftover(operation, protocol, transport, service, job_id))
            except Exception:  # noqa: BLE001 - budget, a safety refusal...: the job stays listed as running
                continue
    return results


def stopped_or_ended(result: CaseResult) -> bool:
    """Whether a Stop's answer shows the job stopping, or already ended (refused as InvalidRequestException)."""
    answer = result.answer
    return answer is not None and (answer.status == 200 or answer.error_type == INVALID_REQUEST)
