"""Checks: small named functions that compare one answer with what the oracle allows.

Each check is registered with an id, a one-line description and a severity (an error fails a run,
a warning is reported only). A check returns a `CheckVerdict`: NOT_APPLICABLE, PASSED, or a
`Failed` saying what it expected and what it found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.cases import Case, Kind, categories
from conformance.judging.answer_forms import JOB_STATUS_MEMBER, AnswerForm, answer_form, differences, with_member_masked
from conformance.judging.check_results import NOT_APPLICABLE, PASSED, CheckVerdict, Failed, Severity, failed
from conformance.judging.lifecycle_model import Violation, lifecycle_violation
from conformance.judging.oracle import UNKNOWN_OPERATION, Expectation
from conformance.model.operations import Operation
from conformance.protocols import Answer, ProtocolName, WireProtocol
from conformance.wire.http import MAX_SHOWN_CHARS, HttpRequest, clipped


@dataclass(frozen=True)
class Exchange:
    """A request and the answer it got."""

    request: HttpRequest
    answer: Answer


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may look at."""

    operation: Operation
    case: Case
    request: HttpRequest
    answer: Answer
    expectation: Expectation
    protocol: WireProtocol
    usual: Exchange | None = None  # for a case in another spelling: the same case in the usual one, as answered
    recorded: Recorded | None = None  # with `run --recording`: the recorded answer to the same case


@dataclass(frozen=True)
class Recorded:
    """A recording's answer to a case, as `run --recording` compares it (`answer_forms`): its form, how to form the
    actual answer alike, and what the oracle said of each side."""

    form: AnswerForm  # the recorded answer's form, its job ids mapped to the tokens `job_ids` maps the actual ones to
    volatile: frozenset[str] = frozenset()  # JSON pointers (`--volatile`) whose values are not compared
    job_ids: tuple[tuple[str, str], ...] = ()  # the actual side's job ids and their tokens
    conformed: bool = True  # the recorded answer failed no error-severity check when it was recorded
    oracle_allows: bool = True  # the actual answer failed no error-severity check of the oracle
    # Both answers' job statuses passed `job_status_allowed`: a status that differs is where timing put the job.
    statuses_allowed: bool = True
    strict: bool = False  # --recording-strict: another choice of an ambiguity fails too


CheckFunction = Callable[[CheckContext], CheckVerdict]


def _always(operation: Operation) -> bool:
    return True


@dataclass(frozen=True)
class Check:
    """A registered check; `applies` says which operations it can ever apply to."""

    id: str
    description: str
    severity: Severity
    function: CheckFunction
    applies: Callable[[Operation], bool] = _always
    reads_message: bool = True  # reads the body or headers: not applicable to an answer judged on its status alone
    binds_unclaimed: bool = False  # applies to a request no protocol claims (whose answer no protocol shapes)
    opt_in: bool = False  # judged only when asked for by name (the recording's checks, with `run --recording`)


REGISTRY: dict[str, Check] = {}


# The id the coverage contract's breaches carry in reports, beside the checks' ids (`engine.verdict`).
SERVED = "operation_served"
SERVED_DESCRIPTION = ("Every selected operation is served over the protocol AWS SDKs send it, and over each "
                      "protocol named with --protocol")


def severity(check_id: str) -> Severity:
    """A check's severity: an error fails a run, a warning is reported only. An id outside the registry (the
    coverage contract's `operation_served`) is an error."""
    return REGISTRY[check_id].severity if check_id in REGISTRY else Severity.ERROR


def check(check_id: str, description: str, severity: Severity = Severity.ERROR,
          applies: Callable[[Operation], bool] = _always, reads_message: bool = True,
          binds_unclaimed: bool = False, opt_in: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function under an id."""
    def register(function: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY:
            raise ValueError(f"check {check_id!r} is registered twice")
        REGISTRY[check_id] = Check(check_id, description, severity, function, applies, reads_message, binds_unclaimed,
                                   opt_in)
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


@check("answered", "Every request gets an answer: a status line within the read timeout, after one retry",
       reads_message=False, binds_unclaimed=True)
def answered(ctx: CheckContext) -> CheckVerdict:
    # With an answer in hand this passes; a request that got none is failed by `execute`, since no
    # other check can look at an answer that does not exist.
    return PASSED


@check("no_server_error", "No request the suite sends is answered with a 5xx", reads_message=False,
       binds_unclaimed=True)
def no_server_error(ctx: CheckContext) -> CheckVerdict:
    if ctx.answer.status < 500:
        return PASSED
    return failed(f"answered {ctx.answer.status}, a server error", "a status below 500", ctx.answer.status)


@check("status_code", "The status code is one a conforming endpoint may give", reads_message=False,
       binds_unclaimed=True)
def status_code(ctx: CheckContext) -> CheckVerdict:
    allowed = ctx.expectation.statuses()
    if ctx.answer.status in allowed:
        return PASSED
    return failed(f"status {ctx.answer.status}, expected {ctx.expectation.describe_statuses()}",
                  ctx.expectation.describe(), ctx.answer.status)


@check("error_type", "An error answer names an error type the oracle allows for its status")
def error_type(ctx: CheckContext) -> CheckVerdict:
    answer = ctx.answer
    if not answer.is_error:
        return NOT_APPLICABLE
    allowed = ctx.expectation.error_types_for(answer.status)
    if not allowed:
        return NOT_APPLICABLE  # the status itself is wrong: status_code says so
    wanted = " or ".join(o.describe_types() for o in ctx.expectation.outcomes if answer.status in o.statuses)
    if answer.error_type is None:
        return failed(f"no error type where {ctx.protocol.name} carries it ({ctx.protocol.error_type_locations})",
                      wanted, "no error type")
    if ctx.expectation.matching(answer) is not None:
        return PASSED
    return failed(f"error type {answer.error_type}, expected {wanted}", wanted, answer.error_type)


@check("error_message_present", "An error answer carries a message in `message` or `Message`")
def error_message_present(ctx: CheckContext) -> CheckVerdict:
    answer = ctx.answer
    if not answer.is_error or answer.status >= 500 or answer.error_type == UNKNOWN_OPERATION:
        return NOT_APPLICABLE
    if answer.message and answer.message.strip():
        return PASSED
    return failed("no non-empty `message` or `Message` member", "a message", "none")


@check("content_type", "Every answer with a body has the protocol's Content-Type")
def content_type(ctx: CheckContext) -> CheckVerdict:
    if not ctx.answer.response.body:
        return NOT_APPLICABLE
    wanted = ctx.protocol.content_type
    found = (ctx.answer.response.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    return PASSED if found == wanted else failed(f"Content-Type {found or '(none)'!r}, expected {wanted}", wanted,
                                                 found or "(none)")


@check("body_decodes", "Every answer with a body decodes, in the protocol's format, to a map")
def body_decodes(ctx: CheckContext) -> CheckVerdict:
    answer = ctx.answer
    wanted = f"a {ctx.protocol.name} map"
    if answer.response.body_error:
        return failed(answer.response.body_error, wanted, f"{len(answer.response.body)} bytes read")
    if not answer.response.body.strip():
        return NOT_APPLICABLE
    if answer.decode_error:
        return failed(answer.decode_error, wanted, "undecodable body")
    if isinstance(answer.document, dict):
        return PASSED
    kind = type(answer.document).__name__
    return failed(f"the body is a {kind}, not a map", wanted, kind)


@check("smithy_protocol_header", "rpcv2Cbor answers echo Smithy-Protocol: rpc-v2-cbor", reads_message=False)
def smithy_protocol_header(ctx: CheckContext) -> CheckVerdict:
    if ctx.protocol.name is not ProtocolName.RPC_V2_CBOR:
        return NOT_APPLICABLE
    found = ctx.answer.response.header("Smithy-Protocol")
    return PASSED if found == "rpc-v2-cbor" else failed(f"Smithy-Protocol {found!r}, expected 'rpc-v2-cbor'",
                                                        "rpc-v2-cbor", found)


@check("request_id_header", "Every answer carries an x-amzn-RequestId header")
def request_id_header(ctx: CheckContext) -> CheckVerdict:
    value = ctx.answer.response.header("x-amzn-RequestId")
    return PASSED if value and value.strip() else failed("no x-amzn-RequestId header", "x-amzn-RequestId", "none")


@check("response_schema", "A success answer is an object that satisfies the response schema")
def response_schema(ctx: CheckContext) -> CheckVerdict:
    answer = ctx.answer
    if answer.is_error or answer.status >= 300:
        return NOT_APPLICABLE
    wanted = f"an object satisfying {ctx.operation.name}'s response schema"
    if answer.decode_error:
        return failed(answer.decode_error, wanted, "undecodable body")
    if not isinstance(answer.document, dict):
        kind = type(answer.document).__name__
        return failed(f"body is {kind}, expected an object", wanted, kind)
    problems = [f"{error.json_path}: {error.message}"
                for error in ctx.operation.validator("response").iter_errors(answer.document)]
    return failed("; ".join(problems[:3]), wanted, f"{len(problems)} schema error(s)") if problems else PASSED


@check("job_id_echoed", "A success answer names the JobId the request sent (Start: names the new job's)",
       applies=_answers("JobId"))
def job_id_echoed(ctx: CheckContext) -> CheckVerdict:
    answer = ctx.answer
    if answer.is_error or not _answers("JobId")(ctx.operation):
        return NOT_APPLICABLE
    found = job_member(answer.document, "JobId")
    if ctx.case.kind is Kind.START_JOB:
        return PASSED if isinstance(found, str) and found else failed("Start's answer names no JobId", "a JobId",
                                                                      repr(found))
    if ctx.case.job_id is None:
        return NOT_APPLICABLE
    if found == ctx.case.job_id:
        return PASSED
    return failed(f"JobId {found!r}, expected {ctx.case.job_id!r}", repr(ctx.case.job_id), repr(found))


@check("job_status_allowed", "A success answer's JobStatus is one the job's lifecycle allows at that point",
       applies=_answers("JobStatus"))
def job_status_allowed(ctx: CheckContext) -> CheckVerdict:
    answer = ctx.answer
    outcome = ctx.expectation.matching(answer)
    if answer.is_error or outcome is None or not outcome.job_statuses:
        return NOT_APPLICABLE
    found = job_member(answer.document, "JobStatus")
    if found in outcome.job_statuses:
        return PASSED
    wanted = f"one of {sorted(outcome.job_statuses)}"
    return failed(f"JobStatus {found!r}, expected {wanted}", wanted, repr(found))


def violation(ctx: CheckContext) -> Violation | None:
    """The law of the job lifecycle a state-machine step's answer breaks, if any (see `lifecycle_model`)."""
    if ctx.case.category not in categories.MACHINE:
        return None
    status = job_member(ctx.answer.document, "JobStatus") if ctx.answer.status == 200 else None
    return lifecycle_violation(ctx.operation, ctx.case, ctx.answer, ctx.expectation, status)


@check("lifecycle_model", "Every answer of a state-machine run is one some timing of the documented job lifecycle "
                          "explains: a started job is always found, its status never goes back, only a Stop stops it, "
                          "another kind's operations never find it")
def lifecycle_model(ctx: CheckContext) -> CheckVerdict:
    if ctx.case.category not in categories.MACHINE:
        return NOT_APPLICABLE
    broken = violation(ctx)
    if broken is None:
        matched = ctx.expectation.matching(ctx.answer) is not None
        return PASSED if matched else NOT_APPLICABLE  # an answer about no job (a 5xx...): other checks judge it
    said = ctx.answer.error_type if ctx.answer.is_error else job_member(ctx.answer.document, "JobStatus")
    return failed(broken.message, broken.law.value, f"{ctx.answer.status} {said or ''}".strip())


@check("rpcv2_error_body", "rpcv2Cbor errors name the error's absolute shape id in `__type` and carry a message")
def rpcv2_error_body(ctx: CheckContext) -> CheckVerdict:
    answer = ctx.answer
    if ctx.protocol.name is not ProtocolName.RPC_V2_CBOR or not answer.is_error or not isinstance(answer.document, dict):
        return NOT_APPLICABLE
    raw_type = answer.document.get("__type")
    if not isinstance(raw_type, str):
        return NOT_APPLICABLE  # no type at all: error_type says so
    if "#" not in raw_type.split(":", 1)[0]:
        return failed(f"`__type` {raw_type!r} is not an absolute shape id (namespace#Name)",
                      f"{ctx.operation.service.namespace}#{raw_type}", raw_type)
    if not isinstance(answer.message, str):
        return failed("no `message` (services MUST send it)", "a message member", "none")
    return PASSED


@check("spec_should", "Where a specification says SHOULD (or only field evidence speaks), the answer is the "
                      "preferred one", Severity.WARNING, binds_unclaimed=True)
def spec_should(ctx: CheckContext) -> CheckVerdict:
    outcome = ctx.expectation.matching(ctx.answer)
    if outcome is None or not ctx.expectation.has_warnings():
        return NOT_APPLICABLE
    return failed(outcome.warning, "the preferred answer", outcome.label) if outcome.warning else PASSED


@check("sdk_compatible", "botocore reads the same error type (it looks only at the body's `__type`)", Severity.WARNING)
def sdk_compatible(ctx: CheckContext) -> CheckVerdict:
    answer = ctx.answer
    if not answer.is_error or answer.error_type is None:
        return NOT_APPLICABLE
    if answer.sdk_error_type == answer.error_type:
        return PASSED
    seen = answer.sdk_error_type or f"{answer.status} (no __type)"
    return failed(f"the type is {answer.error_type} (from {answer.error_type_source}), botocore would read {seen}",
                  answer.error_type, seen)


# Members whose value is the answer's own wording or identity, never compared across spellings.
_UNCOMPARED_MEMBERS = frozenset({"message", "Message", "__type", "code", "Code", "RequestId", "requestId"})


def _said(answer: Answer) -> str:
    """`400 ValidationException`, or `200`."""
    return f"{answer.status} {answer.error_type or ''}".strip()


def members(document: object) -> frozenset[str]:
    """The member names of an answer's document, and one level down (`Outer.Inner`), but its wording's and id's."""
    if not isinstance(document, dict):
        return frozenset()
    found = {str(name) for name in document if name not in _UNCOMPARED_MEMBERS}
    found |= {f"{name}.{inner}" for name, value in document.items() if isinstance(value, dict)
              for inner in value if inner not in _UNCOMPARED_MEMBERS}
    return frozenset(found)


@check("spellings_agree", "A document in another legal spelling (JSON escapes, white space, member order; CBOR "
                          "lengths, chunks, heads, float widths) gets the answer its usual spelling got: the same "
                          "status, error type and members")
def spellings_agree(ctx: CheckContext) -> CheckVerdict:
    if ctx.usual is None:
        return NOT_APPLICABLE
    usual, spelled = ctx.usual.answer, ctx.answer
    if usual.status_only != spelled.status_only:
        return NOT_APPLICABLE  # one of them is judged on its status alone: status_code says what it can
    said = f"spelled with {ctx.case.spelling}"
    if (usual.status, usual.error_type) != (spelled.status, spelled.error_type):
        return failed(f"{said}: answered {_said(spelled)}; in the usual spelling: {_said(usual)}", _said(usual),
                      _said(spelled))
    wanted, found = members(usual.document), members(spelled.document)
    if wanted != found:
        return failed(f"{said}: answered with members {sorted(found)}; in the usual spelling: {sorted(wanted)}",
                      ", ".join(sorted(wanted)), ", ".join(sorted(found)))
    return PASSED


def _against_recording(ctx: CheckContext) -> tuple[str, str, str, str] | None:
    """How the answer compares with the recorded one: (its outcome, `same`, `choice` or `differs`; what differs; the
    recorded form and the actual one, described), None where nothing was recorded for the case."""
    recorded = ctx.recorded
    if recorded is None:
        return None
    actual = answer_form(ctx.answer, recorded.volatile, dict(recorded.job_ids))
    found = differences(recorded.form, actual)
    outcome = "same" if not found else "choice" if _a_choice(recorded, actual) else "differs"
    return outcome, "; ".join(found), recorded.form.describe(), actual.describe()


def _a_choice(recorded: Recorded, actual: AnswerForm) -> bool:
    """Whether a difference is another choice of what the oracle allows: both sides answered as it allows, or only
    a job's status differs and it is one the lifecycle allows on both sides (timing, which a replay cannot repeat,
    whatever else is wrong with the answer: that the other checks judge)."""
    if recorded.strict:
        return False
    if recorded.conformed and recorded.oracle_allows:
        return True
    return recorded.statuses_allowed and not differences(with_member_masked(recorded.form, JOB_STATUS_MEMBER),
                                                         with_member_masked(actual, JOB_STATUS_MEMBER))


@check("recording", "The answer is the one recorded for the same case (`run --recording`): the same status, error "
                    "type and members with their types, volatile values aside", reads_message=False,
       opt_in=True)
def recording(ctx: CheckContext) -> CheckVerdict:
    compared = _against_recording(ctx)
    if compared is None:
        return NOT_APPLICABLE
    outcome, found, recorded, actual = compared
    return failed(f"differs from the recording: {found}", recorded, actual) if outcome == "differs" else PASSED


@check("recording_choice", "Where the oracle allows several answers, the answer is the one the recording chose "
                           "(`run --recording`; fails only with --recording-strict)", Severity.WARNING,
       reads_message=False, opt_in=True)
def recording_choice(ctx: CheckContext) -> CheckVerdict:
    compared = _against_recording(ctx)
    if compared is None:
        return NOT_APPLICABLE
    outcome, found, recorded, actual = compared
    if outcome == "differs":
        return NOT_APPLICABLE  # `recording` fails it
    return failed(f"the recording chose another answer the oracle allows: {found}", recorded, actual) \
        if outcome == "choice" else PASSED


RECORDING_CHECKS = ("recording", "recording_choice")


def run_checks(ctx: CheckContext, selected: list[str] | None = None) -> dict[str, CheckVerdict]:
    """Every (or every selected) check's verdict on one answer, by check id.

    A check that raises on an answer has been broken by what the target sent (a value no decoder
    bound caught): that answer fails the check, and the run goes on.
    """
    ids = selected if selected is not None else [check_id for check_id, c in REGISTRY.items() if not c.opt_in]
    verdicts: dict[str, CheckVerdict] = {}
    for check_id in ids:
        registered = REGISTRY[check_id]
        if (ctx.answer.status_only and registered.reads_message) or \
                (ctx.case.kind is Kind.UNCLAIMED and not registered.binds_unclaimed):
            verdicts[check_id] = NOT_APPLICABLE
            continue
        try:
            verdict = REGISTRY[check_id].function(ctx)
        except (ValueError, TypeError, RecursionError, OverflowError, KeyError, AttributeError) as exc:
            verdict = failed(f"the answer could not be judged: {type(exc).__name__}: {str(exc)[:200]}",
                             REGISTRY[check_id].description, "an answer the check cannot read")
        # A failure quotes what the target sent (a JobId, an error type, a schema error): never all of it.
        verdicts[check_id] = Failed(clipped(verdict.message, 2 * MAX_SHOWN_CHARS), clipped(verdict.expected),
                                    clipped(verdict.actual)) if isinstance(verdict, Failed) else verdict
    return verdicts


# Every id a failure may carry: the registered checks' and the coverage contract's.
CHECK_IDS = frozenset(REGISTRY) | {SERVED}
