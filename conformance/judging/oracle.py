"""What a conforming endpoint may answer to each case (PROTOCOL_NOTES §2, §3, §4, §5), as a table.

An expectation is a set of outcomes; an answer conforms if it matches any one. Where the sources
allow more than one behaviour, every allowed one is an outcome, and its label says which the
target chose (see `observe`). Where a source says only SHOULD (or only field evidence speaks), the
less preferred behaviour is an outcome with a `warning`: allowed, and named by a warning check.

`RULES` is the oracle: one row per kind of case, with rows of their own for the special
categories (a null member, a settled job...). The README's table is rendered from it
(`readme_table`, held together by a test).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.cases import Case, Category, Kind, categories
from conformance.judging import job_states
from conformance.model.operations import Operation
from conformance.protocols import Answer

VALIDATION = "ValidationException"
SERIALIZATION = "SerializationException"
INVALID_REQUEST = "InvalidRequestException"
UNKNOWN_OPERATION = "UnknownOperationException"
# What AWS answers to a request it cannot authenticate (PROTOCOL_NOTES §4 and Comprehend's common errors).
AUTH_ERROR_TYPES = frozenset({
    "MissingAuthenticationTokenException", "MissingAuthenticationToken", "IncompleteSignatureException",
    "IncompleteSignature", "InvalidSignatureException", "SignatureDoesNotMatch", "UnrecognizedClientException",
    "InvalidClientTokenId", "RequestExpired", "AccessDeniedException", "NotAuthorized", "AuthFailure",
})
# Errors any AWS JSON endpoint may answer before reaching an operation (Comprehend's common errors,
# PROTOCOL_NOTES §4): an answer naming one comes from a service, so its route exists.
AWS_COMMON_ERRORS = frozenset({
    VALIDATION, SERIALIZATION, "ValidationError", "AccessDeniedException", "InternalFailure", "InvalidAction",
    "OptInRequired", "ServiceUnavailable", "ThrottlingException", "TooManyRequestsException",
    "RequestEntityTooLargeException", "InternalServerException", "InvalidParameterValue", "MissingParameter",
}) | AUTH_ERROR_TYPES
ANY_ERROR = "*"  # in Outcome.error_types: whatever type the error names
CLIENT_ERRORS = frozenset(range(400, 500))
# The reference pages give 400 for the not-found errors; botocore's model (1.44) gives 404.
NOT_FOUND_STATUSES = frozenset({400, 404})
STOPPED_STATUSES = job_states.STOPPING
ENDED_STATUSES = job_states.ENDED
SETTLED_STATUSES = job_states.SETTLED  # where a stopped job must end
# A job no Stop reached: it may have ended on its own, never been stopped.
UNTOUCHED_STATUSES = job_states.NEVER_STOPPED


@dataclass(frozen=True)
class Outcome:
    """One acceptable answer: a success, or an error of one of some types with one of some statuses."""

    label: str
    statuses: frozenset[int]
    error_types: frozenset[str] = frozenset()  # empty for a success
    job_statuses: frozenset[str] = frozenset()  # for a success that reports JobStatus
    excluded_types: frozenset[str] = frozenset()  # with ANY_ERROR: types that do not count
    warning: str = ""  # allowed, but against a SHOULD (or field evidence): what the warning says

    def matches(self, answer: Answer) -> bool:
        """Whether the answer is this outcome."""
        if answer.status not in self.statuses or answer.error_type in self.excluded_types:
            return False
        return not self.error_types or ANY_ERROR in self.error_types or answer.error_type in self.error_types

    def describe_types(self) -> str:
        """e.g. `ValidationException | InvalidRequestException`, `success` or `any error but X`."""
        if ANY_ERROR in self.error_types:
            return "any error" + (f" but {' | '.join(sorted(self.excluded_types))}" if self.excluded_types else "")
        return " | ".join(sorted(self.error_types)) if self.error_types else "success"

    def describe(self) -> str:
        """e.g. `400 ValidationException | InvalidRequestException`."""
        statuses = "4xx" if self.statuses == CLIENT_ERRORS else "/".join(str(s) for s in sorted(self.statuses))
        jobs = f" with JobStatus in {sorted(self.job_statuses)}" if self.job_statuses else ""
        return f"{statuses} {self.describe_types()}{jobs}"


@dataclass(frozen=True)
class Expectation:
    """Every outcome a conforming endpoint may give."""

    outcomes: tuple[Outcome, ...]

    def statuses(self) -> frozenset[int]:
        """Every acceptable status code."""
        return frozenset(s for outcome in self.outcomes for s in outcome.statuses)

    def describe_statuses(self) -> str:
        """Every acceptable status code, e.g. `400/404` or `4xx`."""
        statuses = self.statuses()
        rest = sorted(statuses - CLIENT_ERRORS) if CLIENT_ERRORS <= statuses else sorted(statuses)
        return " or ".join((["4xx"] if CLIENT_ERRORS <= statuses else []) + (["/".join(map(str, rest))] if rest else []))

    def error_types_for(self, status: int) -> frozenset[str]:
        """The error types acceptable with this status."""
        return frozenset(t for o in self.outcomes if status in o.statuses for t in o.error_types)

    def has_warnings(self) -> bool:
        """Whether some allowed outcome is allowed only with a warning."""
        return any(outcome.warning for outcome in self.outcomes)

    def matching(self, answer: Answer) -> Outcome | None:
        """The outcome the answer is, if any."""
        return next((outcome for outcome in self.outcomes if outcome.matches(answer)), None)

    def describe(self) -> str:
        """All outcomes in one line."""
        return " or ".join(outcome.describe() for outcome in self.outcomes)


Outcomes = Callable[[Operation, Case], tuple[Outcome, ...]]


@dataclass(frozen=True)
class Circumstances:
    """What the run has learnt of the target that changes what it may answer."""

    # It refused an unsigned request to the operation's service (True), or served one (False); None: not known,
    # so every answer that either would allow is allowed.
    sigv4_enforced: bool | None = None


@dataclass(frozen=True)
class Rule:
    """One row of the oracle: the cases it covers, what may be answered, and how the README says both."""

    kind: Kind
    categories: tuple[Category, ...]  # some categories of the kind; empty: every other case of the kind
    outcomes: Outcomes
    cases: str  # the README's first column
    answers: str  # the README's second column
    topic: str = ""  # where the sources allow a choice: how reports name it (see `observe`)
    sigv4_outcomes: tuple[Outcome, ...] = ()  # also allowed unless the target is known not to enforce SigV4

    def __post_init__(self) -> None:
        for category in self.categories:
            if category.kind is not self.kind:
                raise ValueError(f"a row for {category.name} stands among the {self.kind.value} rows, but its cases "
                                 f"are {category.kind.value}")

    def covers(self, case: Case) -> bool:
        """Whether this row is the one for the case (the kind's catch-all row covers the rest)."""
        return case.kind is self.kind and (not self.categories or any(case.category == category.name
                                                                      for category in self.categories))


def _not_found(operation: Operation, label: str = "not found", warning: str = "") -> Outcome:
    return Outcome(label, NOT_FOUND_STATUSES, frozenset({operation.not_found_error}), warning=warning)


def _rejected(*types: str) -> Outcomes:
    return lambda operation, case: (Outcome("rejected", frozenset({400}), frozenset(types)),)


def _refused_not_served(operation: Operation) -> Outcome:
    """Any 4xx error but the not-found answer, which would mean the request was served."""
    return Outcome("rejected", CLIENT_ERRORS, frozenset({ANY_ERROR}), excluded_types=frozenset({operation.not_found_error}))


def _described(statuses: frozenset[str]) -> Outcomes:
    return lambda operation, case: (Outcome("described", frozenset({200}), job_statuses=statuses),)


def _names_no_job(operation: Operation, case: Case) -> tuple[Outcome, ...]:
    """A JobId that names no job of the operation's kind: not found, or refused as invalid."""
    return (_not_found(operation, "no such job"),
            Outcome("rejected", frozenset({400}), frozenset({VALIDATION, INVALID_REQUEST})))


def _reports_status(operation: Operation) -> bool:
    """Whether the operation's answer has a JobStatus member of its own (Comprehend's Start and Stop do)."""
    return "JobStatus" in operation.response.get("properties", {})


def _machine_start(operation: Operation, case: Case) -> tuple[Outcome, ...]:
    """A Start: 200, and a JobStatus (where Start answers one) of a job no Stop has reached."""
    statuses = job_states.NEVER_STOPPED if _reports_status(operation) else frozenset()
    return (Outcome("started", frozenset({200}), job_statuses=statuses),)


def _machine_describe(operation: Operation, case: Case) -> tuple[Outcome, ...]:
    """A Describe of a state-machine job: 200 with a status the lifecycle model allows it."""
    return (Outcome("described", frozenset({200}), job_statuses=job_states.later(_possible(case))),)


def _machine_stop(operation: Operation, case: Case) -> tuple[Outcome, ...]:
    """A Stop of a state-machine job, given every status the lifecycle model allows it as the Stop arrives."""
    accepted, refusable = job_states.stop_answers(job_states.later(_possible(case)))
    found = []
    if accepted:
        found.append(Outcome("stopped", frozenset({200}),
                             job_statuses=accepted if _reports_status(operation) else frozenset()))
    if refusable:
        found.append(Outcome("job had already ended", frozenset({400}), frozenset({INVALID_REQUEST})))
    return tuple(found)


def _possible(case: Case) -> frozenset[str]:
    """What the lifecycle model allows a case's job (every status, where the case carries no model)."""
    return case.possible_statuses or job_states.ALL


_REFUSED = Outcome("refused", CLIENT_ERRORS, AUTH_ERROR_TYPES)
_UNKNOWN_OPERATION = Outcome("unknown operation", frozenset({400, 404}), frozenset({UNKNOWN_OPERATION}))
NOT_ROUTED_WARNING = ("/service/{namespace}.{Service}/operation/... not routed like the bare service name, "
                      "which rpcv2Cbor services SHOULD do")
UNCLAIMED_WARNING = ("served a request without the protocol's markers (Content-Type, Smithy-Protocol, POST, its "
                     "path), which the protocol's claim rules say a service does not claim")

RULES: tuple[Rule, ...] = (
    Rule(Kind.UNKNOWN_JOB, (categories.VALID_ABSOLUTE_SERVICE,),
         lambda op, case: (_not_found(op, "routed"), Outcome("not routed", frozenset({400, 404}),
                                                              frozenset({UNKNOWN_OPERATION}), warning=NOT_ROUTED_WARNING)),
         "rpcv2Cbor only: `valid.absolute_service`, the path's service segment as `{namespace}.{Service}`",
         "as the bare name (not found); `UnknownOperationException` is allowed with a warning (a SHOULD)",
         "absolute service id in the path"),
    Rule(Kind.UNKNOWN_JOB, (), lambda op, case: (_not_found(op),),
         "`valid.*`: a valid JobId of no job",
         "the operation's not-found error (`JobNotFoundException` / `ResourceNotFoundException`), 400 or 404"),
    Rule(Kind.EXISTING_JOB, (categories.MACHINE_STOP, categories.MACHINE_CLEANUP), _machine_stop,
         "`machine.stop`, `machine.cleanup`: the state machine's Stop of one of its jobs, which the lifecycle model "
         "says may hold some statuses as the Stop arrives (any time having passed)",
         "200 with JobStatus `STOP_REQUESTED` (or `STOPPED`) where it may be running or stopping, `STOPPED` where "
         "it has stopped; 400 `InvalidRequestException` where it may have ended (`COMPLETED`, `FAILED`)"),
    Rule(Kind.EXISTING_JOB, (), lambda op, case: _stop_expectation(op, case.known_status),
         "`existing.stop*`: Stop of a job the suite started",
         "200 with the JobId echoed and JobStatus `STOP_REQUESTED` or `STOPPED`, or 400 `InvalidRequestException` "
         "if it ended meanwhile. If Describe said `COMPLETED`/`FAILED`: only the 400. If it said `STOPPED`: only "
         "200 `STOPPED`"),
    Rule(Kind.START_JOB, (categories.MACHINE_START,), _machine_start,
         "`machine.start`: the state machine starts a job",
         "200, naming the new job's JobId; a JobStatus, where Start answers one, of a job no Stop has reached"),
    Rule(Kind.START_JOB, (), lambda op, case: (Outcome("started", frozenset({200})),),
         "`start.job`: Start of a job for Stop to stop", "200, naming the new job's JobId"),
    Rule(Kind.DESCRIBE_JOB, (categories.MACHINE_DESCRIBE, categories.MACHINE_SETTLE), _machine_describe,
         "`machine.describe`, `machine.settle`: the state machine's Describe of one of its jobs",
         "200 with a JobStatus the lifecycle model allows: one it may have moved on to since the last answer, never "
         "back; `STOP_REQUESTED` or `STOPPED` only once a Stop has reached it"),
    Rule(Kind.DESCRIBE_JOB, (categories.SETTLED,), _described(SETTLED_STATUSES),
         "`existing.settled`: Describe of the stopped job, once settled",
         "200 with JobStatus `STOPPED`, `COMPLETED` or `FAILED` (after `--settle-timeout` at most)"),
    Rule(Kind.DESCRIBE_JOB, (categories.UNTOUCHED,), _described(UNTOUCHED_STATUSES),
         "`existing.untouched`: Describe after the near misses",
         "200 with JobStatus `SUBMITTED`, `IN_PROGRESS`, `COMPLETED` or `FAILED` (never stopped)"),
    Rule(Kind.DESCRIBE_JOB, (), _described(frozenset()), "`existing.describe`: Describe of that job", "200"),
    Rule(Kind.NEAR_MISS, (categories.MACHINE_OTHER_KIND, categories.MACHINE_OTHER_SERVICE), _names_no_job,
         "`machine.other_kind`, `machine.other_service`: the state machine's Stop or Describe with the id of one "
         "of its jobs of another kind, of the same service or another",
         "the not-found error (400 or 404), or 400 `ValidationException` / `InvalidRequestException`; the other "
         "job is untouched (the lifecycle model judges it afterwards)"),
    Rule(Kind.NEAR_MISS, (), _names_no_job,
         "`near_miss.*`: Stop or Describe with a JobId next to the started job's",
         "the not-found error (400 or 404), or 400 `ValidationException` / `InvalidRequestException`"),
    Rule(Kind.CONSTRAINT, (), _rejected(VALIDATION, INVALID_REQUEST),
         "`invalid.length.*`, `invalid.char.*`, `invalid.required.*` (rpcv2Cbor: also the empty map, `0xA0` or "
         "`0xBF 0xFF`, and `{\"JobId\": undefined}`, which MUST read as null)",
         "400 `ValidationException` or `InvalidRequestException`"),
    Rule(Kind.SERIALIZATION, (categories.TYPE_NULL,), _rejected(VALIDATION, INVALID_REQUEST),
         "`invalid.type.null`: a null JobId", "as a missing JobId (a null member is absent): 400 `ValidationException` "
         "or `InvalidRequestException`"),
    Rule(Kind.SERIALIZATION, (), _rejected(SERIALIZATION, VALIDATION),
         "`invalid.type.*`, `invalid.body.not_object`, `.malformed_json`, `.malformed_cbor`, `.invalid_utf8` "
         "(rpcv2Cbor: also `invalid.type.bytes`, `.tag`)",
         "400 `SerializationException` or `ValidationException`"),
    Rule(Kind.EMPTY_BODY, (), _rejected(VALIDATION, INVALID_REQUEST),
         "`invalid.body.empty`: no body at all",
         "the empty input (servers MUST accept an empty body), so a missing JobId: 400 `ValidationException` or "
         "`InvalidRequestException`, never `SerializationException`"),
    Rule(Kind.EXTRA_MEMBER, (),
         lambda op, case: (_not_found(op, "extra member ignored"),
                           Outcome("extra member rejected", frozenset({400}), frozenset({SERIALIZATION, VALIDATION}))),
         "`extra.unknown_member`", "as without the member (not found), or 400 `SerializationException` / "
         "`ValidationException`", "unknown member"),
    Rule(Kind.UNKNOWN_OPERATION, (categories.TARGET_MISSING, categories.TARGET_WRONG_PREFIX,
                                  categories.PATH_WRONG_SERVICE), lambda op, case: (_UNKNOWN_OPERATION,),
         "`protocol.target.missing`, `protocol.target.wrong_prefix` (awsJson), `protocol.path.wrong_service` "
         "(rpcv2Cbor): a request naming no operation, or another service's",
         "400 or 404 `UnknownOperationException`; unless the target served an unsigned request, also a 4xx "
         "authentication error (a front end may authenticate before it routes, by the service the request names)", "order of checks",
         sigv4_outcomes=(Outcome("authenticated before routing", CLIENT_ERRORS, AUTH_ERROR_TYPES),)),
    Rule(Kind.UNKNOWN_OPERATION, (), lambda op, case: (_UNKNOWN_OPERATION,),
         "`protocol.target.unknown` (awsJson), `protocol.path.unknown_operation`, `.absolute_operation` (rpcv2Cbor): "
         "an operation the service does not have, or an absolute operation id (which MUST NOT route)",
         "400 or 404 `UnknownOperationException`"),
    Rule(Kind.PROTOCOL_VIOLATION, (), lambda op, case: (_refused_not_served(op),),
         "`protocol.target_header`: `X-Amz-Target` on the rpcv2 path",
         "any 4xx error, but not the not-found answer (which would mean it was served)"),
    Rule(Kind.UNCLAIMED, (),
         lambda op, case: (_refused_not_served(op), _not_found(op, "served anyway", UNCLAIMED_WARNING)),
         "`protocol.unclaimed.*`: no or another Content-Type, no `Smithy-Protocol`, GET, another path",
         "any 4xx error; served as the operation is allowed with a warning (whether AWS's front ends enforce the "
         "claim rules is unverified)", "request without the protocol's markers"),
    Rule(Kind.AUTH, (categories.AUTH_UNSIGNED,), lambda op, case: (_REFUSED, _not_found(op, "served unsigned")),
         "`auth.unsigned`", "a 4xx authentication error, or (SigV4 not enforced) the not-found answer a signed "
         "request gets", "unsigned request"),
    Rule(Kind.AUTH, (), lambda op, case: (_REFUSED,),
         "the signing matrix, each signed wrongly in one way: `auth.bad_signature`, `auth.expired_date`, "
         "`.date_behind`, `.date_ahead`, `.scope_region`, `.scope_service`, `.scope_date`, `.scope_terminator`, "
         "`.unknown_key`, `.signed_header_changed`, `.body_changed`, `.incomplete_authorization`, "
         "`.unsupported_algorithm`; `auth.unsigned_refused`: the unsigned request on an AWS endpoint, which always "
         "enforces SigV4", "a 4xx authentication error"),
)


def rule_for(case: Case) -> Rule:
    """The oracle's row for a case: the first that covers it (special rows stand before their kind's catch-all)."""
    rule = next((rule for rule in RULES if rule.covers(case)), None)
    if rule is None:
        raise ValueError(f"no expectation for {case.kind} ({case.category})")
    return rule


def expect(operation: Operation, case: Case, circumstances: Circumstances = Circumstances()) -> Expectation:
    """What a conforming endpoint may answer to this case, in what the run knows of it."""
    rule = rule_for(case)
    extra = rule.sigv4_outcomes if circumstances.sigv4_enforced is not False else ()
    return Expectation(tuple(rule.outcomes(operation, case)) + extra)


def readme_table() -> str:
    """The oracle as the README shows it (a test holds the two together)."""
    rows = ["| case (category) | allowed answers |", "|---|---|"]
    return "\n".join(rows + [f"| {rule.cases} | {rule.answers} |" for rule in RULES])


def _stop_expectation(operation: Operation, known_status: str | None) -> tuple[Outcome, ...]:
    """Stop of a job the suite started, given what Describe said of it just before (PROTOCOL_NOTES §5)."""
    reports_status = _reports_status(operation)
    ended = Outcome("job had already ended", frozenset({400}), frozenset({INVALID_REQUEST}))
    if known_status in ENDED_STATUSES:
        return (ended,)
    if known_status == "STOPPED":
        return (Outcome("already stopped", frozenset({200}),
                        job_statuses=frozenset({"STOPPED"}) if reports_status else frozenset()),)
    stopped = Outcome("stopped", frozenset({200}), job_statuses=STOPPED_STATUSES if reports_status else frozenset())
    return (stopped, ended)  # it may end between Describe and Stop


def observe(operation: Operation, case: Case, answer: Answer,
            circumstances: Circumstances = Circumstances()) -> tuple[str, str] | None:
    """Which of the allowed behaviours the target chose, as (topic, choice), where it had a choice."""
    rule = rule_for(case)
    if rule.topic:
        outcome = expect(operation, case, circumstances).matching(answer)
        return (rule.topic, outcome.label) if outcome else None
    if case.kind is Kind.UNKNOWN_JOB and answer.error_type == operation.not_found_error:
        return ("not-found status", f"{answer.error_type} {answer.status}")
    if answer.is_error and answer.error_type_source:
        return ("error type carried in", answer.error_type_source)
    return None
