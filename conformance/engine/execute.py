"""One case end to end: encode, send (retrying throttled answers), decode, judge, on the transport's sending loop."""

from __future__ import annotations

import asyncio
import time

from conformance.cases import Case, Kind
from conformance.engine.results import CaseResult, SkipReason
from conformance.engine.safety import UnsafeRequest
from conformance.engine.transport import Transport, Unanswered
from conformance.engine.transport.rate import backoff
from conformance.judging.check_results import failed
from conformance.judging.checks import CheckContext, Exchange, run_checks
from conformance.judging.oracle import Circumstances, expect, observe
from conformance.model.operations import Operation
from conformance.protocols import Answer, WireProtocol

THROTTLE_TYPES = frozenset({"ThrottlingException", "TooManyRequestsException", "Throttling",
                            "ThrottledException", "RequestLimitExceeded", "SlowDown"})
THROTTLE_STATUSES = frozenset({429, 503})
MAX_THROTTLE_RETRIES = 6


def is_throttled(answer: Answer) -> bool:
    """A throttling answer: retried, never judged."""
    return answer.status in THROTTLE_STATUSES or (answer.is_error and answer.error_type in THROTTLE_TYPES)


def retry_after(answer: Answer) -> float | None:
    """Seconds from a Retry-After header, if it holds a number."""
    value = answer.response.header("Retry-After")
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


def execute(operation: Operation, case: Case, protocol: WireProtocol, transport: Transport,
            checks: list[str] | None = None, *, essential: bool = False, lane_operation: str | None = None,
            usual: CaseResult | None = None) -> CaseResult:
    """`execute_async` on the transport's sending loop, from any other thread, waiting for the result."""
    return transport.sender.run(execute_async(operation, case, protocol, transport, checks, essential=essential,
                                              lane_operation=lane_operation, usual=usual))


async def execute_async(operation: Operation, case: Case, protocol: WireProtocol, transport: Transport,
                        checks: list[str] | None = None, *, essential: bool = False,
                        lane_operation: str | None = None, usual: CaseResult | None = None) -> CaseResult:
    """Send one case and judge the answer, or its absence; raises BudgetExhausted when the budget is spent (an
    `essential` case, stopping a job the run started, goes regardless). `usual`: for a case in another spelling,
    the same case in the usual one, whose answer this one's must agree with."""
    request = protocol.encode(operation, case)
    circumstances = Circumstances(sigv4_enforced=transport.enforces_sigv4(operation.service))
    result = CaseResult(case, operation, request, expect(operation, case, circumstances), protocol=protocol.name,
                        lane=(lane_operation or operation.name, protocol.name), sent_at=time.monotonic())
    for attempt in range(MAX_THROTTLE_RETRIES + 1):
        result.attempts = attempt + 1
        try:
            response = await transport.asend(request, operation.service, signing=case.signing,
                                             starts_job=case.kind is Kind.START_JOB, essential=essential)
        except UnsafeRequest as refused:
            result.not_judged, result.not_judged_detail = SkipReason.UNSAFE_REQUEST, str(refused)
            return result
        except Unanswered as silence:  # a failure of this case, not of the run: the next case goes on
            result.verdicts = {"answered": failed(str(silence), "an answer", "no answer")}
            return result
        answer = protocol.decode(response)
        result.answer = answer
        if not is_throttled(answer):
            transport.limiter.answered()
            break
        transport.limiter.throttled()
        if attempt == MAX_THROTTLE_RETRIES:
            result.not_judged = SkipReason.THROTTLED
            said = f"{answer.status} {answer.error_type or ''}".strip()
            result.not_judged_detail = f"throttled {attempt + 1} times ({said})"
            return result
        await asyncio.sleep(retry_after(answer) or backoff(attempt + 1, base=0.2, cap=10.0))
    assert result.answer is not None
    compared = None
    if usual is not None and usual.answer is not None and usual.not_judged is None:  # else: nothing to compare with
        compared, result.usual = Exchange(usual.request, usual.answer), usual
    result.verdicts = run_checks(CheckContext(operation, case, request, result.answer, result.expectation, protocol,
                                              compared), checks)
    result.observation = observe(operation, case, result.answer, circumstances)
    return result
