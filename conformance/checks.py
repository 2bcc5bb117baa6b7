"""Checks: small named functions that compare one answer with what the oracle allows.

Each check is registered with an id, a one-line description and a severity ("error" fails a run,
"warning" is reported only). A check returns None when it does not apply to the answer, "" when
it passes, and a sentence saying what is wrong when it fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.cases import Case, Kind
from conformance.model import Operation
from conformance.oracle import UNKNOWN_OPERATION, Expectation
from conformance.protocols import WireProtocol
from conformance.wire import Answer, HttpRequest


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may look at."""

    operation: Operation
    case: Case
    request: HttpRequest
    answer: Answer
    expectation: Expectation
    protocol: WireProtocol


CheckFunction = Callable[[CheckContext], "str | None"]


def _always(operation: Operation) -> bool:
    return True


@dataclass(frozen=True)
class Check:
    """A registered check; `applies` says which operations it can ever apply to."""

    id: str
    description: str
    severity: str
    function: CheckFunction
    applies: Callable[[Operation], bool] = _always


REGISTRY: dict[str, Check] = {}


def check(check_id: str, description: str, severity: str = "error",
          applies: Callable[[Operation], bool] = _always) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function under an id."""
    def register(function: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY:
            raise ValueError(f"check {check_id!r} is registered twice")
        REGISTRY[check_id] = Check(check_id, description, severity, function, applies)
        return function
    return register


def _answers(member: str) -> Callable[[Operation], bool]:
    """Applies to operations whose response has this member, at the top or one object down."""
    def applies(operation: Operation) -> bool:
        properties = operation.response.get("properties", {})
        return member in properties or any(member in sub.get("properties", {}) for sub in properties.values())
    return applies


def job_member(document: object, member: str) -> object:
    """A member of the answer, or of its one object member (Describe wraps the job's properties)."""
    if not isinstance(document, dict):
        return None
    if member in document:
        return document[member]
    holders = [value for value in document.values() if isinstance(value, dict) and member in value]
    return holders[0][member] if len(holders) == 1 else None


@check("no_server_error", "No request the suite sends is answered with a 5xx")
def no_server_error(ctx: CheckContext) -> str | None:
    return f"answered {ctx.answer.status}, a server error" if ctx.answer.status >= 500 else ""


@check("status_code", "The status code is one a conforming endpoint may give")
def status_code(ctx: CheckContext) -> str | None:
    allowed = ctx.expectation.statuses()
    return "" if ctx.answer.status in allowed else f"status {ctx.answer.status}, expected {sorted(allowed)}"


@check("error_type", "An error answer names an error type the oracle allows for its status")
def error_type(ctx: CheckContext) -> str | None:
    answer = ctx.answer
    if not answer.is_error:
        return None
    allowed = ctx.expectation.error_types_for(answer.status)
    if not allowed:
        return None  # the status itself is wrong: status_code says so
    if answer.error_type is None:
        return f"no error type where {ctx.protocol.name} carries it ({ctx.protocol.error_type_locations})"
    if ctx.expectation.matching(answer) is not None:
        return ""
    wanted = " or ".join(o.describe_types() for o in ctx.expectation.outcomes if answer.status in o.statuses)
    return f"error type {answer.error_type}, expected {wanted}"


@check("error_message_present", "An error answer carries a message in `message` or `Message`")
def error_message_present(ctx: CheckContext) -> str | None:
    answer = ctx.answer
    if not answer.is_error or answer.status >= 500 or answer.error_type == UNKNOWN_OPERATION:
        return None
    return "" if answer.message and answer.message.strip() else "no non-empty `message` or `Message` member"


@check("content_type", "Every answer with a body has the protocol's Content-Type")
def content_type(ctx: CheckContext) -> str | None:
    if not ctx.answer.response.body:
        return None
    wanted = ctx.protocol.content_type
    found = (ctx.answer.response.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    return "" if found == wanted else f"Content-Type {found or '(none)'!r}, expected {wanted}"


@check("body_decodes", "Every answer with a body decodes, in the protocol's format, to a map")
def body_decodes(ctx: CheckContext) -> str | None:
    answer = ctx.answer
    if not answer.response.body.strip():
        return None
    if answer.decode_error:
        return answer.decode_error
    return "" if isinstance(answer.document, dict) else f"the body is a {type(answer.document).__name__}, not a map"


@check("smithy_protocol_header", "rpcv2Cbor answers echo Smithy-Protocol: rpc-v2-cbor")
def smithy_protocol_header(ctx: CheckContext) -> str | None:
    if ctx.protocol.name != "rpcv2Cbor":
        return None
    found = ctx.answer.response.header("Smithy-Protocol")
    return "" if found == "rpc-v2-cbor" else f"Smithy-Protocol {found!r}, expected 'rpc-v2-cbor'"


@check("request_id_header", "Every answer carries an x-amzn-RequestId header")
def request_id_header(ctx: CheckContext) -> str | None:
    value = ctx.answer.response.header("x-amzn-RequestId")
    return "" if value and value.strip() else "no x-amzn-RequestId header"


@check("response_schema", "A success answer is an object that satisfies the response schema")
def response_schema(ctx: CheckContext) -> str | None:
    answer = ctx.answer
    if answer.is_error or answer.status >= 300:
        return None
    if answer.decode_error:
        return answer.decode_error
    if not isinstance(answer.document, dict):
        return f"body is {type(answer.document).__name__}, expected an object"
    problems = [f"{error.json_path}: {error.message}"
                for error in ctx.operation.validator("response").iter_errors(answer.document)]
    return "; ".join(problems[:3])


@check("job_id_echoed", "A success answer names the JobId the request sent (Start: names the new job's)",
       applies=_answers("JobId"))
def job_id_echoed(ctx: CheckContext) -> str | None:
    answer = ctx.answer
    if answer.is_error or not _answers("JobId")(ctx.operation):
        return None
    found = job_member(answer.document, "JobId")
    if ctx.case.kind is Kind.START_JOB:
        return "" if isinstance(found, str) and found else "Start's answer names no JobId"
    if ctx.case.job_id is None:
        return None
    return "" if found == ctx.case.job_id else f"JobId {found!r}, expected {ctx.case.job_id!r}"


@check("job_status_allowed", "A success answer's JobStatus is one the job's lifecycle allows at that point",
       applies=_answers("JobStatus"))
def job_status_allowed(ctx: CheckContext) -> str | None:
    answer = ctx.answer
    outcome = ctx.expectation.matching(answer)
    if answer.is_error or outcome is None or not outcome.job_statuses:
        return None
    found = job_member(answer.document, "JobStatus")
    return "" if found in outcome.job_statuses else f"JobStatus {found!r}, expected one of {sorted(outcome.job_statuses)}"


@check("sdk_compatible", "botocore reads the same error type (it looks only at the body's `__type`)", "warning")
def sdk_compatible(ctx: CheckContext) -> str | None:
    answer = ctx.answer
    if not answer.is_error or answer.error_type is None:
        return None
    if answer.sdk_error_type == answer.error_type:
        return ""
    seen = answer.sdk_error_type or f"{answer.status} (no __type)"
    return f"the type is {answer.error_type} (from {answer.error_type_source}), botocore would read {seen}"


def run_checks(ctx: CheckContext, selected: list[str] | None = None) -> dict[str, str | None]:
    """Every (or every selected) check's verdict on one answer, by check id."""
    ids = selected if selected is not None else list(REGISTRY)
    return {check_id: REGISTRY[check_id].function(ctx) for check_id in ids}
