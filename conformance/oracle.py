"""What a conforming endpoint may answer to each case (PROTOCOL_NOTES §2, §4, §5).

An expectation is a set of outcomes; an answer conforms if it matches any one. Where the sources
allow more than one behaviour, every allowed one is an outcome, and its label says which the
target chose (see `observe`).
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.cases import Case, Kind
from conformance.model import Operation
from conformance.wire import Answer

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
STOPPED_STATUSES = frozenset({"STOP_REQUESTED", "STOPPED"})
ENDED_STATUSES = frozenset({"COMPLETED", "FAILED"})
SETTLED_STATUSES = frozenset({"STOPPED", "COMPLETED", "FAILED"})  # where a stopped job must end
# A job no Stop reached: it may have ended on its own, never been stopped.
UNTOUCHED_STATUSES = frozenset({"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"})


@dataclass(frozen=True)
class Outcome:
    """One acceptable answer: a success, or an error of one of some types with one of some statuses."""

    label: str
    statuses: frozenset[int]
    error_types: frozenset[str] = frozenset()  # empty for a success
    job_statuses: frozenset[str] = frozenset()  # for a success that reports JobStatus
    excluded_types: frozenset[str] = frozenset()  # with ANY_ERROR: types that do not count

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

    def matching(self, answer: Answer) -> Outcome | None:
        """The outcome the answer is, if any."""
        return next((outcome for outcome in self.outcomes if outcome.matches(answer)), None)

    def describe(self) -> str:
        """All outcomes in one line."""
        return " or ".join(outcome.describe() for outcome in self.outcomes)


def expect(operation: Operation, case: Case) -> Expectation:
    """What a conforming endpoint may answer to this case."""
    kind = case.kind
    not_found = Outcome("not found", NOT_FOUND_STATUSES, frozenset({operation.not_found_error})) \
        if kind in (Kind.UNKNOWN_JOB, Kind.EXTRA_MEMBER, Kind.NEAR_MISS, Kind.AUTH) else None
    if kind is Kind.START_JOB:
        return Expectation((Outcome("started", frozenset({200})),))
    if kind is Kind.UNKNOWN_JOB:
        return Expectation((not_found,))
    if kind is Kind.EXISTING_JOB:
        return _stop_expectation(operation, case.known_status)
    if kind is Kind.DESCRIBE_JOB:
        statuses = {"existing.settled": SETTLED_STATUSES, "existing.untouched": UNTOUCHED_STATUSES}
        return Expectation((Outcome("described", frozenset({200}),
                                    job_statuses=statuses.get(case.category, frozenset())),))
    if kind is Kind.NEAR_MISS:
        # A JobId next to a real job's names no job: unknown, or (trailing newline, 33 characters) invalid.
        return Expectation((Outcome("no such job", not_found.statuses, not_found.error_types),
                            Outcome("rejected", frozenset({400}), frozenset({VALIDATION, INVALID_REQUEST}))))
    if kind is Kind.CONSTRAINT:
        return Expectation((Outcome("rejected", frozenset({400}), frozenset({VALIDATION, INVALID_REQUEST})),))
    if kind is Kind.SERIALIZATION:
        if case.category == "invalid.type.null":
            # awsJson reads a null member as absent (Smithy), so a missing-member answer is right too.
            return Expectation((Outcome("rejected", frozenset({400}),
                                        frozenset({SERIALIZATION, VALIDATION, INVALID_REQUEST})),))
        return Expectation((Outcome("rejected", frozenset({400}), frozenset({SERIALIZATION, VALIDATION})),))
    if kind is Kind.EMPTY_BODY:
        return Expectation((Outcome("rejected", frozenset({400}),
                                    frozenset({VALIDATION, INVALID_REQUEST, SERIALIZATION})),))
    if kind is Kind.EXTRA_MEMBER:
        return Expectation((
            Outcome("extra member ignored", not_found.statuses, not_found.error_types),
            Outcome("extra member rejected", frozenset({400}), frozenset({SERIALIZATION, VALIDATION})),
        ))
    if kind is Kind.PROTOCOL_VIOLATION:
        # Rejected for what it is: answering as for any request (not found) means it was served.
        return Expectation((Outcome("rejected", CLIENT_ERRORS, frozenset({ANY_ERROR}),
                                    excluded_types=frozenset({operation.not_found_error})),))
    if kind is Kind.AUTH:
        refused = Outcome("refused", CLIENT_ERRORS, AUTH_ERROR_TYPES)
        if case.category == "auth.unsigned":
            # An endpoint that does not enforce SigV4 may serve it, but only as the operation it names:
            # the answer a signed request for no job gets (never a 200 from some other service).
            return Expectation((refused, Outcome("served unsigned", not_found.statuses, not_found.error_types)))
        return Expectation((refused,))
    if kind is Kind.UNKNOWN_OPERATION:
        return Expectation((Outcome("unknown operation", frozenset({400, 404}), frozenset({UNKNOWN_OPERATION})),))
    raise ValueError(f"no expectation for {kind}")


def _stop_expectation(operation: Operation, known_status: str | None) -> Expectation:
    """Stop of a job the suite started, given what Describe said of it just before (PROTOCOL_NOTES §5)."""
    reports_status = "JobStatus" in operation.response.get("properties", {})
    ended = Outcome("job had already ended", frozenset({400}), frozenset({INVALID_REQUEST}))
    if known_status in ENDED_STATUSES:
        return Expectation((ended,))
    if known_status == "STOPPED":
        return Expectation((Outcome("already stopped", frozenset({200}),
                                    job_statuses=frozenset({"STOPPED"}) if reports_status else frozenset()),))
    stopped = Outcome("stopped", frozenset({200}), job_statuses=STOPPED_STATUSES if reports_status else frozenset())
    return Expectation((stopped, ended))  # it may end between Describe and Stop


def observe(operation: Operation, case: Case, answer: Answer) -> tuple[str, str] | None:
    """Which of the allowed behaviours the target chose, as (topic, choice), where it had a choice."""
    if case.kind is Kind.EXTRA_MEMBER or case.category == "auth.unsigned":
        outcome = expect(operation, case).matching(answer)
        topic = "unknown member" if case.kind is Kind.EXTRA_MEMBER else "unsigned request"
        return (topic, outcome.label) if outcome else None
    if case.kind is Kind.UNKNOWN_JOB and answer.error_type == operation.not_found_error:
        return ("not-found status", f"{answer.error_type} {answer.status}")
    if answer.is_error and answer.error_type_source:
        return ("error type carried in", answer.error_type_source)
    return None
