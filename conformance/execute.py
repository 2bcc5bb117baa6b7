"""One case end to end: encode, send (retrying throttled answers), decode, judge."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from conformance.cases import Case, Kind
from conformance.checks import CheckContext, run_checks
from conformance.model import Operation
from conformance.oracle import Expectation, expect, observe
from conformance.protocols import WireProtocol
from conformance.safety import UnsafeRequest
from conformance.transport import Transport, backoff
from conformance.wire import Answer, HttpRequest

THROTTLE_TYPES = frozenset({"ThrottlingException", "TooManyRequestsException", "Throttling",
                            "ThrottledException", "RequestLimitExceeded", "SlowDown"})
THROTTLE_STATUSES = frozenset({429, 503})
MAX_THROTTLE_RETRIES = 6


@dataclass
class CaseResult:
    """What happened to one case."""

    case: Case
    operation: Operation
    request: HttpRequest
    expectation: Expectation
    answer: Answer | None = None
    verdicts: dict[str, str | None] = field(default_factory=dict)  # check id -> None / "" / failure
    not_judged: str | None = None  # why no verdict was given (throttled past the retry bound)
    observation: tuple[str, str] | None = None
    attempts: int = 0
    protocol: str = ""
    sent_at: float = 0.0  # time.monotonic() when first sent: orders results as they went out

    def failures(self) -> dict[str, str]:
        """The checks that failed, with what each found."""
        return {check: text for check, text in self.verdicts.items() if text}


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
            checks: list[str] | None = None, *, essential: bool = False) -> CaseResult:
    """Send one case and judge the answer; raises TargetUnreachable if nothing answers, BudgetExhausted when
    the budget is spent (an `essential` case, stopping a job the run started, goes regardless)."""
    request = protocol.encode(operation, case)
    result = CaseResult(case, operation, request, expect(operation, case), protocol=protocol.name,
                        sent_at=time.monotonic())
    for attempt in range(MAX_THROTTLE_RETRIES + 1):
        result.attempts = attempt + 1
        try:
            response = transport.send(request, operation.service, signing=case.signing,
                                      starts_job=case.kind is Kind.START_JOB, essential=essential)
        except UnsafeRequest as refused:
            result.not_judged = str(refused)
            return result
        answer = protocol.decode(response)
        result.answer = answer
        if not is_throttled(answer):
            transport.limiter.answered()
            break
        transport.limiter.throttled()
        if attempt == MAX_THROTTLE_RETRIES:
            result.not_judged = f"throttled {attempt + 1} times ({answer.status} {answer.error_type or ''})".strip()
            return result
        time.sleep(retry_after(answer) or backoff(attempt + 1, base=0.2, cap=10.0))
    assert result.answer is not None
    result.verdicts = run_checks(CheckContext(operation, case, request, result.answer, result.expectation, protocol),
                                 checks)
    result.observation = observe(operation, case, result.answer)
    return result
