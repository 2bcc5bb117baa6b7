"""The success path of Stop: start a job, read its status, stop it, stop it again, wait for it to settle.

Describe before Stop tells the oracle what the job was: a Stop of a job already COMPLETED must be
refused. Describe after Stop, polled until the job leaves STOP_REQUESTED or `settle_timeout`
passes, proves that a stop takes effect.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from conformance import botocore_model
from conformance.cases import Case, Kind
from conformance.checks import job_member
from conformance.execute import CaseResult, execute
from conformance.model import Operation
from conformance.oracle import INVALID_REQUEST, SETTLED_STATUSES
from conformance.protocols import WireProtocol
from conformance.services import JobApi, start_request
from conformance.transport import BudgetExhausted, Transport


@dataclass(frozen=True)
class LifecycleConfig:
    """How long to wait for a stopped job to settle, and how often to look (0: do not wait)."""

    settle_timeout: float = 60.0
    poll_interval: float = 0.5


def job_flow(operation: Operation, api: JobApi, protocol: WireProtocol, transport: Transport,
             checks: list[str] | None = None, config: LifecycleConfig = LifecycleConfig(),
             cancel: threading.Event | None = None) -> list[CaseResult]:
    """Every case of one job's life, judged, in the order sent.

    The job's first Stop is sent even past the request budget and even when the run is being
    cancelled: every job the suite starts, it stops. The ledger (`transport.jobs`) records the job,
    so that the runner can stop it should this flow end early.
    """
    start = botocore_model.operation(api.service, api.start)
    describe = botocore_model.operation(api.service, api.describe)
    cancel = cancel or threading.Event()

    def send(op: Operation, case: Case, essential: bool = False) -> CaseResult:
        result = execute(op, case, protocol, transport, checks, essential=essential)
        results.append(result)
        return result

    def read_status(category: str, text: str, job_id: str) -> str | None:
        result = send(describe, Case(describe.name, category, Kind.DESCRIBE_JOB, text,
                                     document={"JobId": job_id}, job_id=job_id))
        status = job_member(result.answer.document, "JobStatus") if result.answer else None
        return status if isinstance(status, str) else None

    def stop(category: str, text: str, job_id: str, known: str | None, essential: bool = False) -> CaseResult:
        result = send(operation, Case(operation.name, category, Kind.EXISTING_JOB, text, document={"JobId": job_id},
                                      job_id=job_id, known_status=known), essential)
        if _stopped_or_ended(result):
            transport.jobs.stopped(api.service, job_id)
        return result

    results: list[CaseResult] = []
    document = {**start_request(api, transport.target.job_setup),
                "ClientRequestToken": str(uuid.uuid4())}  # a retried Start must not start a second job
    if cancel.is_set():
        return results
    try:
        started = send(start, Case(start.name, "start.job", Kind.START_JOB, "start a job for Stop to stop",
                                   document=document))
    except BudgetExhausted:
        return results
    job_id = job_member(started.answer.document, "JobId") if started.answer else None
    if started.answer is None or started.answer.status != 200 or not isinstance(job_id, str):
        return results
    transport.jobs.started(api.service, job_id)
    known = None
    with contextlib.suppress(BudgetExhausted):
        if not cancel.is_set():
            known = read_status("existing.describe", "read the status of the job the suite started", job_id)
    first = stop("existing.stop", f"stop the job the suite started (Describe said {known})", job_id, known,
                 essential=True)
    if cancel.is_set():
        return results
    try:
        again_known = known if known in SETTLED_STATUSES else None
        stop("existing.stop_again", "stop the same job a second time", job_id, again_known)
        if first.answer is None or first.answer.status != 200 or config.settle_timeout <= 0:
            return results
        deadline = time.monotonic() + config.settle_timeout
        while True:
            settled = read_status("existing.settled", f"the stopped job settles within {config.settle_timeout:g} s",
                                  job_id)
            if settled in SETTLED_STATUSES or time.monotonic() >= deadline or settled is None or cancel.is_set():
                break
            results.pop()  # only the last look at a settling job is judged
            time.sleep(config.poll_interval)
        if settled in SETTLED_STATUSES:
            stop("existing.stop_settled", f"stop the job once it has settled ({settled})", job_id, settled)
    except BudgetExhausted:
        pass  # the job is stopped already; what the budget left out is reported as uncovered
    return results


def stop_leftover(operation: Operation, protocol: WireProtocol, transport: Transport, service: str,
                  job_id: str) -> CaseResult:
    """Stop a job the run started and did not see stopped (its flow ended early); sent past any budget."""
    case = Case(operation.name, "existing.cleanup", Kind.EXISTING_JOB, "stop a job the run started and left running",
                document={"JobId": job_id}, job_id=job_id)
    result = execute(operation, case, protocol, transport, essential=True)
    if _stopped_or_ended(result):
        transport.jobs.stopped(service, job_id)
    return result


def stop_leftovers(transport: Transport, stoppers: Mapping[str, tuple[Operation, WireProtocol]]) -> list[CaseResult]:
    """Stop every job the ledger holds as started and not seen stopped, with each service's (Stop operation,
    protocol); any still running afterwards stays in `transport.jobs.unstopped()` for the caller to name."""
    results = []
    for service, job_id in transport.jobs.unstopped():
        if service in stoppers:
            operation, protocol = stoppers[service]
            try:
                results.append(stop_leftover(operation, protocol, transport, service, job_id))
            except Exception:  # noqa: BLE001 - unreachable, budget...: the job stays listed as running
                continue
    return results


def _stopped_or_ended(result: CaseResult) -> bool:
    """Whether a Stop's answer shows the job stopping, or already ended (refused as InvalidRequestException)."""
    answer = result.answer
    return answer is not None and (answer.status == 200 or answer.error_type == INVALID_REQUEST)
