"""The success path of Stop: start a job, read its status, stop it, stop it again, wait for it to settle.

Describe before Stop tells the oracle what the job was: a Stop of a job already COMPLETED must be
refused. Describe after Stop, polled until the job leaves STOP_REQUESTED or `settle_timeout`
passes, proves that a stop takes effect.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from conformance import botocore_model
from conformance.cases import Case, Kind
from conformance.checks import job_member
from conformance.execute import CaseResult, execute
from conformance.model import Operation
from conformance.oracle import SETTLED_STATUSES
from conformance.protocols import WireProtocol
from conformance.services import JobApi
from conformance.transport import Transport


@dataclass(frozen=True)
class LifecycleConfig:
    """How long to wait for a stopped job to settle, and how often to look (0: do not wait)."""

    settle_timeout: float = 60.0
    poll_interval: float = 0.5


def job_flow(operation: Operation, api: JobApi, protocol: WireProtocol, transport: Transport,
             checks: list[str] | None = None, config: LifecycleConfig = LifecycleConfig()) -> list[CaseResult]:
    """Every case of one job's life, judged, in the order sent."""
    start = botocore_model.operation(api.service, api.start)
    describe = botocore_model.operation(api.service, api.describe)

    def send(op: Operation, case: Case) -> CaseResult:
        result = execute(op, case, protocol, transport, checks)
        results.append(result)
        return result

    def read_status(category: str, text: str, job_id: str) -> str | None:
        result = send(describe, Case(describe.name, category, Kind.DESCRIBE_JOB, text,
                                     document={"JobId": job_id}, job_id=job_id))
        status = job_member(result.answer.document, "JobStatus") if result.answer else None
        return status if isinstance(status, str) else None

    def stop(category: str, text: str, job_id: str, known: str | None) -> CaseResult:
        return send(operation, Case(operation.name, category, Kind.EXISTING_JOB, text, document={"JobId": job_id},
                                    job_id=job_id, known_status=known))

    results: list[CaseResult] = []
    started = send(start, Case(start.name, "start.job", Kind.START_JOB, "start a job for Stop to stop",
                               document=dict(api.start_example)))
    job_id = job_member(started.answer.document, "JobId") if started.answer else None
    if started.answer is None or started.answer.status != 200 or not isinstance(job_id, str):
        return results
    known = read_status("existing.describe", "read the status of the job the suite started", job_id)
    first = stop("existing.stop", f"stop the job the suite started (Describe said {known})", job_id, known)
    again_known = known if known in SETTLED_STATUSES else None
    stop("existing.stop_again", "stop the same job a second time", job_id, again_known)
    if first.answer is None or first.answer.status != 200 or config.settle_timeout <= 0:
        return results
    deadline = time.monotonic() + config.settle_timeout
    while True:
        settled = read_status("existing.settled", f"the stopped job settles within {config.settle_timeout:g} s",
                              job_id)
        if settled in SETTLED_STATUSES or time.monotonic() >= deadline or settled is None:
            break
        results.pop()  # only the last look at a settling job is judged
        time.sleep(config.poll_interval)
    if settled in SETTLED_STATUSES:
        stop("existing.stop_settled", f"stop the job once it has settled ({settled})", job_id, settled)
    return results
