"""Every rule of the oracle (`judging.oracle`) pinned: each row of `RULES` on the categories it alone decides, with
exactly the outcomes the README's text for it promises, for both operation families (Comprehend's answers carry a
JobStatus, Comprehend Medical's do not) and whatever the run knows of SigV4; and every boundary, description and
choice `observe` reports. The expected outcomes are written out here from the README's words, not taken from the
module, so that a change to a row, a constant or a description is a failing test."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cases import CATEGORIES, Case, Kind, categories
from conformance.judging import job_states, oracle
from conformance.judging.oracle import (
    RULES,
    Circumstances,
    Expectation,
    Outcome,
    Rule,
    _machine_describe,
    _machine_start,
    _machine_stop,
    _stop_expectation,
    expect,
    observe,
    readme_table,
    rule_for,
)
from conformance.model import botocore_model
from conformance.model.operations import Operation, load_operations
from conformance.protocols import Answer, get_protocol
from conformance.wire.http import HttpResponse

REPO = Path(__file__).resolve().parent.parent
JSON = get_protocol("awsJson1_1")
FOUR_XX = frozenset(range(400, 500))
NOT_FOUND = frozenset({400, 404})
# Comprehend's and Comprehend Medical's authentication errors as PROTOCOL_NOTES §4 lists them.
AUTH_TYPES = frozenset({
    "MissingAuthenticationTokenException", "MissingAuthenticationToken", "IncompleteSignatureException",
    "IncompleteSignature", "InvalidSignatureException", "SignatureDoesNotMatch", "UnrecognizedClientException",
    "InvalidClientTokenId", "RequestExpired", "AccessDeniedException", "NotAuthorized", "AuthFailure",
})
NOT_ROUTED = ("/service/{namespace}.{Service}/operation/... not routed like the bare service name, which rpcv2Cbor "
              "services SHOULD do")
UNCLAIMED = ("served a request without the protocol's markers (Content-Type, Smithy-Protocol, POST, its path), which "
             "the protocol's claim rules say a service does not claim")
CIRCUMSTANCES = (Circumstances(), Circumstances(sigv4_enforced=True), Circumstances(sigv4_enforced=False))


@dataclasses.dataclass(frozen=True)
class Family:
    """One service's job operations, and what its answers carry."""

    stop: Operation
    start: Operation
    describe: Operation
    not_found: str
    stop_and_start_report_status: bool  # Comprehend's Stop and Start answer a JobStatus; Comprehend Medical's do not


_STOPS = {op.name: op for op in load_operations()}
COMPREHEND = Family(_STOPS["StopPiiEntitiesDetectionJob"],
                    botocore_model.operation("comprehend", "StartPiiEntitiesDetectionJob"),
                    botocore_model.operation("comprehend", "DescribePiiEntitiesDetectionJob"),
                    "JobNotFoundException", True)
MEDICAL = Family(_STOPS["StopPHIDetectionJob"],
                 botocore_model.operation("comprehendmedical", "StartPHIDetectionJob"),
                 botocore_model.operation("comprehendmedical", "DescribePHIDetectionJob"),
                 "ResourceNotFoundException", False)
FAMILIES = (COMPREHEND, MEDICAL)


def operations_for(family: Family, kind: Kind) -> tuple[Operation, ...]:
    """The operations a case of the kind is sent to: Start's and Describe's own kinds, near misses to Stop and
    Describe, everything else to Stop."""
    if kind is Kind.START_JOB:
        return (family.start,)
    if kind is Kind.DESCRIBE_JOB:
        return (family.describe,)
    if kind is Kind.NEAR_MISS:
        return (family.stop, family.describe)
    return (family.stop,)


def reports_status(operation: Operation, family: Family) -> bool:
    return family.stop_and_start_report_status and operation in (family.stop, family.start)


def make_case(category: str, kind: Kind | None = None, **fields) -> Case:
    return Case("AnOperation", category, kind or CATEGORIES[category].kind, category, **fields)


def answer(status: int, body: object = None) -> Answer:
    data = b"" if body is None else json.dumps(body).encode()
    return JSON.decode(HttpResponse(status, {"content-type": "application/x-amz-json-1.1"}, data))


def error(status: int, error_type: str) -> Answer:
    return answer(status, {"__type": error_type, "message": "m"})


# What each row promises, in the README's words made outcomes: (family, operation, case, circumstances) -> outcomes.
Promise = Callable[[Family, Operation, Case, Circumstances], tuple[Outcome, ...]]


def rejected(*types: str) -> Promise:
    return lambda family, op, case, circumstances: (Outcome("rejected", frozenset({400}), frozenset(types)),)


def described(*statuses: str) -> Promise:
    return lambda family, op, case, circumstances: (
        Outcome("described", frozenset({200}), job_statuses=frozenset(statuses)),)


def names_no_job(family: Family, op: Operation, case: Case, circumstances: Circumstances) -> tuple[Outcome, ...]:
    return (Outcome("no such job", NOT_FOUND, frozenset({op.not_found_error})),
            Outcome("rejected", frozenset({400}), frozenset({"ValidationException", "InvalidRequestException"})))


def refused_not_served(op: Operation) -> Outcome:
    return Outcome("rejected", FOUR_XX, frozenset({"*"}), excluded_types=frozenset({op.not_found_error}))


REFUSED = Outcome("refused", FOUR_XX, AUTH_TYPES)
UNKNOWN_OPERATION = Outcome("unknown operation", NOT_FOUND, frozenset({"UnknownOperationException"}))
ENDED = Outcome("job had already ended", frozenset({400}), frozenset({"InvalidRequestException"}))


def stop_promise(known: str | None, reports: bool) -> tuple[Outcome, ...]:
    """`existing.stop*`: 200 STOP_REQUESTED or STOPPED, or 400 InvalidRequestException if it ended meanwhile; after
    Describe said COMPLETED/FAILED only the 400; after it said STOPPED only 200 STOPPED."""
    if known in ("COMPLETED", "FAILED"):
        return (ENDED,)
    if known == "STOPPED":
        return (Outcome("already stopped", frozenset({200}), job_statuses=frozenset({"STOPPED"} if reports else ())),)
    return (Outcome("stopped", frozenset({200}),
                    job_statuses=frozenset({"STOP_REQUESTED", "STOPPED"} if reports else ())), ENDED)


def machine_stop_promise(possible: frozenset[str] | None, reports: bool) -> tuple[Outcome, ...]:
    """`machine.stop`: 200 where it may be running, stopping or stopped; 400 where it may have ended."""
    arriving = job_states.later(possible or job_states.ALL)
    accepted = frozenset(s for held in arriving for s in job_states.STOP_TAKES.get(held, ()))
    found = []
    if accepted:
        found.append(Outcome("stopped", frozenset({200}), job_statuses=accepted if reports else frozenset()))
    if arriving & {"COMPLETED", "FAILED"}:
        found.append(ENDED)
    return tuple(found)


@dataclasses.dataclass(frozen=True)
class Row:
    kind: Kind
    special: tuple[str, ...]  # the categories of the row; empty: the kind's catch-all
    topic: str
    promise: Promise


ROWS: tuple[Row, ...] = (
    Row(Kind.UNKNOWN_JOB, ("valid.absolute_service",), "absolute service id in the path",
        lambda f, op, case, c: (Outcome("routed", NOT_FOUND, frozenset({f.not_found})),
                                Outcome("not routed", NOT_FOUND, frozenset({"UnknownOperationException"}),
                                        warning=NOT_ROUTED))),
    Row(Kind.UNKNOWN_JOB, (), "", lambda f, op, case, c: (Outcome("not found", NOT_FOUND, frozenset({f.not_found})),)),
    Row(Kind.EXISTING_JOB, ("machine.stop", "machine.cleanup"), "",
        lambda f, op, case, c: machine_stop_promise(case.possible_statuses, reports_status(op, f))),
    Row(Kind.EXISTING_JOB, (), "", lambda f, op, case, c: stop_promise(case.known_status, reports_status(op, f))),
    Row(Kind.START_JOB, ("machine.start",), "",
        lambda f, op, case, c: (Outcome("started", frozenset({200}), job_statuses=frozenset(
            {"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"} if reports_status(op, f) else ())),)),
    Row(Kind.START_JOB, (), "", lambda f, op, case, c: (Outcome("started", frozenset({200})),)),
    Row(Kind.DESCRIBE_JOB, ("machine.describe", "machine.settle"), "",
        lambda f, op, case, c: (Outcome("described", frozenset({200}), job_statuses=job_states.later(
            case.possible_statuses or job_states.ALL)),)),
    Row(Kind.DESCRIBE_JOB, ("existing.settled",), "", described("STOPPED", "COMPLETED", "FAILED")),
    Row(Kind.DESCRIBE_JOB, ("existing.untouched",), "", described("SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED")),
    Row(Kind.DESCRIBE_JOB, (), "", described()),
    Row(Kind.NEAR_MISS, ("machine.other_kind", "machine.other_service"), "", names_no_job),
    Row(Kind.NEAR_MISS, (), "", names_no_job),
    Row(Kind.CONSTRAINT, (), "", rejected("ValidationException", "InvalidRequestException")),
    Row(Kind.SERIALIZATION, ("invalid.type.null",), "", rejected("ValidationException", "InvalidRequestException")),
    Row(Kind.SERIALIZATION, (), "", rejected("SerializationException", "ValidationException")),
    Row(Kind.EMPTY_BODY, (), "", rejected("ValidationException", "InvalidRequestException")),
    Row(Kind.EXTRA_MEMBER, (), "unknown member",
        lambda f, op, case, c: (Outcome("extra member ignored", NOT_FOUND, frozenset({f.not_found})),
                                Outcome("extra member rejected", frozenset({400}),
                                        frozenset({"SerializationException", "ValidationException"})))),
    Row(Kind.UNKNOWN_OPERATION, ("protocol.target.missing", "protocol.target.wrong_prefix",
                                 "protocol.path.wrong_service"), "order of checks",
        # A front end may authenticate by the service the request names before it routes: unless the target is
        # known to serve unsigned requests, an authentication error is allowed too.
        lambda f, op, case, c: (UNKNOWN_OPERATION,) + (
            (Outcome("authenticated before routing", FOUR_XX, AUTH_TYPES),) if c.sigv4_enforced is not False else ())),
    Row(Kind.UNKNOWN_OPERATION, (), "", lambda f, op, case, c: (UNKNOWN_OPERATION,)),
    Row(Kind.PROTOCOL_VIOLATION, (), "", lambda f, op, case, c: (refused_not_served(op),)),
    Row(Kind.UNCLAIMED, (), "request without the protocol's markers",
        lambda f, op, case, c: (refused_not_served(op),
                                Outcome("served anyway", NOT_FOUND, frozenset({f.not_found}), warning=UNCLAIMED))),
    Row(Kind.AUTH, ("auth.unsigned",), "unsigned request",
        lambda f, op, case, c: (REFUSED, Outcome("served unsigned", NOT_FOUND, frozenset({f.not_found})))),
    Row(Kind.AUTH, (), "", lambda f, op, case, c: (REFUSED,)),
)


def decided_by(row: Row) -> list[str]:
    """The declared categories the row alone decides: its own, or (a catch-all) those no other row of its kind has."""
    if row.special:
        return list(row.special)
    others = {name for other in ROWS if other.kind is row.kind for name in other.special}
    return [name for name, declared in CATEGORIES.items() if declared.kind is row.kind and name not in others]


def test_the_oracle_has_one_row_per_promise_in_the_readme_order() -> None:
    assert len(RULES) == len(ROWS) == 23
    for rule, row in zip(RULES, ROWS, strict=True):
        assert (rule.kind, tuple(c.name for c in rule.categories), rule.topic) == (row.kind, row.special, row.topic)
    assert [rule.sigv4_outcomes != () for rule in RULES] == [row.topic == "order of checks" for row in ROWS]


@pytest.mark.parametrize("index", range(len(ROWS)))
def test_each_row_alone_decides_its_categories_and_expects_what_its_readme_text_promises(index: int) -> None:
    row = ROWS[index]
    names = decided_by(row)
    assert names  # every row decides some declared category
    for name in names:
        for family in FAMILIES:
            for operation in operations_for(family, row.kind):
                # Job cases carry what the run knows of the job: nothing, or (machine steps) every status.
                for case in (make_case(name), make_case(name, possible_statuses=job_states.ALL)):
                    assert rule_for(case) is RULES[index], name
                    for circumstances in CIRCUMSTANCES:
                        assert expect(operation, case, circumstances).outcomes == row.promise(
                            family, operation, case, circumstances), (name, operation.name, circumstances)


def test_an_undeclared_category_of_a_declared_kind_is_its_kinds_catch_all_row() -> None:
    for row, rule in zip(ROWS, RULES, strict=True):
        if not row.special:
            assert rule_for(make_case("not.declared", row.kind)) is rule


def test_a_case_of_no_kind_the_oracle_has_is_refused_by_name() -> None:
    class Other(enum.Enum):
        ELSEWHERE = "elsewhere"

    with pytest.raises(ValueError) as refused:
        rule_for(make_case("valid.probe", Other.ELSEWHERE))  # type: ignore[arg-type]
    assert str(refused.value) == "no expectation for Other.ELSEWHERE (valid.probe)"
    with pytest.raises(ValueError):
        expect(COMPREHEND.stop, make_case("valid.probe", Other.ELSEWHERE))  # type: ignore[arg-type]


def test_a_row_covers_only_its_kind_and_categories() -> None:
    null_row = next(rule for rule in RULES if rule.categories == (categories.TYPE_NULL,))
    assert null_row.covers(make_case("invalid.type.null"))
    assert not null_row.covers(make_case("invalid.type.number"))
    assert not null_row.covers(make_case("invalid.type.null", Kind.CONSTRAINT))  # the name alone is not enough
    catch_all = RULES[-1]
    assert catch_all.covers(make_case("auth.unsigned")) and catch_all.covers(make_case("anything", Kind.AUTH))
    assert not catch_all.covers(make_case("auth.unsigned", Kind.UNCLAIMED))


def test_a_row_refuses_a_category_of_another_kind() -> None:
    with pytest.raises(ValueError) as refused:
        Rule(Kind.AUTH, (categories.AUTH_UNSIGNED, categories.TYPE_NULL), lambda op, case: (), "c", "a")
    assert str(refused.value) == ("a row for invalid.type.null stands among the auth rows, but its cases are "
                                  "serialization")
    assert Rule(Kind.AUTH, (categories.AUTH_UNSIGNED,), lambda op, case: (), "c", "a").topic == ""


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FAMILIES), st.sampled_from(decided_by(ROWS[3])),
       st.one_of(st.none(), st.sampled_from(sorted(job_states.ALL)), st.text(max_size=12)))
def test_a_stop_of_a_started_job_expects_what_describe_said_of_it(family: Family, name: str, known: str | None) -> None:
    case = make_case(name, known_status=known)
    assert expect(family.stop, case).outcomes == stop_promise(known, family.stop_and_start_report_status)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FAMILIES), st.sampled_from(["machine.stop", "machine.cleanup"]),
       st.one_of(st.none(), st.frozensets(st.sampled_from(sorted(job_states.ALL)))))
def test_a_machine_stop_expects_what_the_lifecycle_model_allows_the_job(
        family: Family, name: str, possible: frozenset[str] | None) -> None:
    case = make_case(name, possible_statuses=possible)
    promised = machine_stop_promise(possible, family.stop_and_start_report_status)
    assert expect(family.stop, case).outcomes == _machine_stop(family.stop, case) == promised


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(FAMILIES), st.sampled_from(["machine.describe", "machine.settle"]),
       st.one_of(st.none(), st.frozensets(st.sampled_from(sorted(job_states.ALL)))))
def test_a_machine_describe_allows_every_status_the_job_may_have_moved_on_to(
        family: Family, name: str, possible: frozenset[str] | None) -> None:
    case = make_case(name, possible_statuses=possible)
    promised = (Outcome("described", frozenset({200}), job_statuses=job_states.later(possible or job_states.ALL)),)
    assert expect(family.describe, case).outcomes == _machine_describe(family.describe, case) == promised


def test_the_stop_of_a_started_job_for_every_status_describe_may_give() -> None:
    stopping = frozenset({"STOP_REQUESTED", "STOPPED"})
    for known in (None, "SUBMITTED", "IN_PROGRESS", "STOP_REQUESTED", "NOT_A_STATUS"):
        assert _stop_expectation(COMPREHEND.stop, known) == (
            Outcome("stopped", frozenset({200}), job_statuses=stopping), ENDED)
        assert _stop_expectation(MEDICAL.stop, known) == (Outcome("stopped", frozenset({200})), ENDED)
    for known in ("COMPLETED", "FAILED"):  # ended: only the 400 InvalidRequestException
        for family in FAMILIES:
            assert _stop_expectation(family.stop, known) == (
                Outcome("job had already ended", frozenset({400}), frozenset({"InvalidRequestException"})),)
    # Stopped: only 200 STOPPED, which Comprehend's answer says and Comprehend Medical's has no member for.
    assert _stop_expectation(COMPREHEND.stop, "STOPPED") == (
        Outcome("already stopped", frozenset({200}), job_statuses=frozenset({"STOPPED"})),)
    assert _stop_expectation(MEDICAL.stop, "STOPPED") == (Outcome("already stopped", frozenset({200})),)


def test_the_status_describe_answered_is_read_by_its_value() -> None:
    # The known status comes decoded from Describe's answer: a string equal to, not the same object as, the oracle's.
    for known in ("STOPPED", "COMPLETED", "IN_PROGRESS"):
        decoded = answer(200, {"JobStatus": known}).document["JobStatus"]
        assert expect(COMPREHEND.stop, make_case("existing.stop", known_status=decoded)).outcomes == stop_promise(
            known, True)


def test_the_machine_rows_on_fixed_lifecycles() -> None:
    stopping = frozenset({"STOP_REQUESTED", "STOPPED"})
    for name in ("machine.stop", "machine.cleanup"):
        running = make_case(name, possible_statuses=frozenset({"IN_PROGRESS"}))  # may end before the Stop arrives
        assert _machine_stop(COMPREHEND.stop, running) == (
            Outcome("stopped", frozenset({200}), job_statuses=stopping), ENDED)
        assert _machine_stop(MEDICAL.stop, running) == (Outcome("stopped", frozenset({200})), ENDED)
        stopped = make_case(name, possible_statuses=frozenset({"STOPPED"}))
        assert _machine_stop(COMPREHEND.stop, stopped) == (
            Outcome("stopped", frozenset({200}), job_statuses=frozenset({"STOPPED"})),)
        ended = make_case(name, possible_statuses=frozenset({"COMPLETED"}))
        assert _machine_stop(COMPREHEND.stop, ended) == _machine_stop(MEDICAL.stop, ended) == (ENDED,)
        # No model (or an empty one): every status, so both answers.
        for unknown in (make_case(name), make_case(name, possible_statuses=frozenset())):
            assert _machine_stop(COMPREHEND.stop, unknown) == (
                Outcome("stopped", frozenset({200}), job_statuses=stopping), ENDED)
    submitted = make_case("machine.describe", possible_statuses=frozenset({"SUBMITTED"}))
    assert _machine_describe(COMPREHEND.describe, submitted) == (Outcome(
        "described", frozenset({200}), job_statuses=frozenset({"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"})),)
    settled = make_case("machine.settle", possible_statuses=frozenset({"STOPPED"}))
    assert _machine_describe(MEDICAL.describe, settled) == (
        Outcome("described", frozenset({200}), job_statuses=frozenset({"STOPPED"})),)
    assert _machine_describe(MEDICAL.describe, make_case("machine.settle")) == (
        Outcome("described", frozenset({200}), job_statuses=job_states.ALL),)
    start = make_case("machine.start", possible_statuses=frozenset({"STOPPED"}))  # Start reads no model
    assert _machine_start(COMPREHEND.start, start) == (Outcome("started", frozenset({200}), job_statuses=frozenset(
        {"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"})),)
    assert _machine_start(MEDICAL.start, start) == (Outcome("started", frozenset({200})),)


def test_only_an_operation_whose_answer_has_a_jobstatus_member_reports_one() -> None:
    assert [oracle._reports_status(op) for op in (COMPREHEND.stop, COMPREHEND.start, COMPREHEND.describe)] == [
        True, True, False]
    assert [oracle._reports_status(op) for op in (MEDICAL.stop, MEDICAL.start, MEDICAL.describe)] == [
        False, False, False]
    bare = dataclasses.replace(COMPREHEND.stop, response={})  # no properties at all
    assert oracle._reports_status(bare) is False


# The constants: sets pinned exactly, boundaries included.

def test_client_errors_are_exactly_400_to_499() -> None:
    assert oracle.CLIENT_ERRORS == frozenset(range(400, 500)) and len(oracle.CLIENT_ERRORS) == 100
    assert 400 in oracle.CLIENT_ERRORS and 499 in oracle.CLIENT_ERRORS
    assert 399 not in oracle.CLIENT_ERRORS and 500 not in oracle.CLIENT_ERRORS
    any_client_error = Outcome("x", oracle.CLIENT_ERRORS, frozenset({"*"}))
    assert [any_client_error.matches(error(status, "E")) for status in (399, 400, 499, 500)] == [
        False, True, True, False]


def test_the_constants_of_the_oracle() -> None:
    assert oracle.NOT_FOUND_STATUSES == frozenset({400, 404})
    assert (oracle.VALIDATION, oracle.SERIALIZATION, oracle.INVALID_REQUEST, oracle.UNKNOWN_OPERATION) == (
        "ValidationException", "SerializationException", "InvalidRequestException", "UnknownOperationException")
    assert oracle.ANY_ERROR == "*"
    assert oracle.AUTH_ERROR_TYPES == AUTH_TYPES
    assert oracle.AWS_COMMON_ERRORS == AUTH_TYPES | {
        "ValidationException", "SerializationException", "ValidationError", "AccessDeniedException", "InternalFailure",
        "InvalidAction", "OptInRequired", "ServiceUnavailable", "ThrottlingException", "TooManyRequestsException",
        "RequestEntityTooLargeException", "InternalServerException", "InvalidParameterValue", "MissingParameter"}
    assert oracle.STOPPED_STATUSES == {"STOP_REQUESTED", "STOPPED"}
    assert oracle.ENDED_STATUSES == {"COMPLETED", "FAILED"}
    assert oracle.SETTLED_STATUSES == {"STOPPED", "COMPLETED", "FAILED"}
    assert oracle.UNTOUCHED_STATUSES == {"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"}


def test_the_warning_texts() -> None:
    assert oracle.NOT_ROUTED_WARNING == NOT_ROUTED
    assert oracle.UNCLAIMED_WARNING == UNCLAIMED


def test_the_oracles_shared_values_cannot_be_changed_in_place() -> None:
    # One Outcome, Rule or Circumstances value serves every case (module-level rows, a default argument): changed in
    # place, it would change what every later case expects. They also hash, as values.
    shared = (Outcome("x", frozenset({200})), Expectation(()), Circumstances(), RULES[0])
    for value in shared:
        field = dataclasses.fields(value)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, None)
        assert value in {value}  # hashable


# Outcome: matching and descriptions.

def test_an_outcome_matches_its_statuses_and_error_types() -> None:
    typed = Outcome("x", frozenset({400, 404}), frozenset({"A", "B"}))
    assert typed.matches(error(400, "A")) and typed.matches(error(404, "B"))
    assert not typed.matches(error(403, "A"))  # status out
    assert not typed.matches(error(400, "C"))  # type out
    assert not typed.matches(answer(400))  # no type at all
    success = Outcome("y", frozenset({200}))  # no error types: a success, whatever the body says
    assert success.matches(answer(200, {"JobId": "j"}))
    assert success.matches(Answer(HttpResponse(200, {}, b""), error_type="Odd"))
    assert not success.matches(answer(201, {"JobId": "j"}))
    any_but = Outcome("z", frozenset({400, 404}), frozenset({"*"}), excluded_types=frozenset({"NotFound"}))
    assert any_but.matches(error(400, "Whatever")) and any_but.matches(answer(404))
    assert not any_but.matches(error(400, "NotFound"))  # excluded
    assert not any_but.matches(error(500, "Whatever"))
    excluded_even_if_listed = Outcome("w", frozenset({400}), frozenset({"A"}), excluded_types=frozenset({"A"}))
    assert not excluded_even_if_listed.matches(error(400, "A"))


def test_an_outcome_describes_its_statuses_types_and_job_statuses() -> None:
    assert Outcome("x", frozenset({404, 400}), frozenset({"B", "A"})).describe() == "400/404 A | B"
    assert Outcome("x", frozenset(range(400, 500)), frozenset({"*"})).describe() == "4xx any error"
    assert Outcome("x", frozenset(range(400, 499)), frozenset({"E"})).describe().startswith("400/401/402/")
    assert Outcome("x", frozenset(range(400, 501))).describe() == "/".join(map(str, range(400, 501))) + " success"
    assert Outcome("x", frozenset(range(400, 500)), frozenset({"*"}),
                   excluded_types=frozenset({"Z", "Y"})).describe() == "4xx any error but Y | Z"
    assert Outcome("x", frozenset({200})).describe() == "200 success"
    assert Outcome("x", frozenset({200}), job_statuses=frozenset({"STOP_REQUESTED", "STOPPED"})).describe() == (
        "200 success with JobStatus in ['STOPPED', 'STOP_REQUESTED']")
    assert Outcome("x", frozenset({400}), frozenset({"A"}), excluded_types=frozenset({"B"})).describe_types() == "A"


def test_every_row_describes_its_outcomes_as_users_read_them() -> None:
    def described(category: str, family: Family = COMPREHEND) -> str:
        return expect(operations_for(family, CATEGORIES[category].kind)[0], make_case(category)).describe()

    assert described("valid.probe") == "400/404 JobNotFoundException"
    assert described("valid.probe", MEDICAL) == "400/404 ResourceNotFoundException"
    assert described("valid.absolute_service") == "400/404 JobNotFoundException or 400/404 UnknownOperationException"
    assert described("existing.stop") == ("200 success with JobStatus in ['STOPPED', 'STOP_REQUESTED'] or "
                                          "400 InvalidRequestException")
    assert described("existing.stop", MEDICAL) == "200 success or 400 InvalidRequestException"
    assert described("existing.settled") == "200 success with JobStatus in ['COMPLETED', 'FAILED', 'STOPPED']"
    assert described("existing.describe") == "200 success"
    assert described("near_miss.prefix") == ("400/404 JobNotFoundException or "
                                             "400 InvalidRequestException | ValidationException")
    assert described("invalid.type.number") == "400 SerializationException | ValidationException"
    assert described("protocol.target_header") == "4xx any error but JobNotFoundException"
    assert described("protocol.unclaimed.get", MEDICAL) == ("4xx any error but ResourceNotFoundException or "
                                                            "400/404 ResourceNotFoundException")
    assert described("auth.bad_signature") == "4xx " + " | ".join(sorted(AUTH_TYPES))


def test_the_statuses_an_expectation_allows_are_described_in_one_phrase() -> None:
    def statuses(*outcome_statuses: frozenset[int]) -> str:
        return Expectation(tuple(Outcome("x", s) for s in outcome_statuses)).describe_statuses()

    assert statuses(frozenset({404, 400})) == "400/404"
    assert statuses(FOUR_XX) == "4xx"
    assert statuses(FOUR_XX, frozenset({404})) == "4xx"  # 404 is among them
    assert statuses(FOUR_XX, frozenset({200})) == "4xx or 200"
    assert statuses(frozenset({500}), FOUR_XX, frozenset({200})) == "4xx or 200/500"
    assert statuses(frozenset(range(400, 499)), frozenset({200})) == "/".join(map(str, [200, *range(400, 499)]))
    assert statuses(frozenset({200})) == "200"
    assert statuses() == ""
    assert Expectation((Outcome("a", frozenset({400})), Outcome("b", frozenset({404, 200})))).statuses() == {
        200, 400, 404}


def test_the_error_types_an_expectation_allows_with_a_status() -> None:
    auth = expect(COMPREHEND.stop, make_case("auth.unsigned"))
    assert auth.error_types_for(499) == AUTH_TYPES
    assert auth.error_types_for(404) == AUTH_TYPES | {"JobNotFoundException"}
    assert auth.error_types_for(200) == frozenset() and auth.error_types_for(500) == frozenset()
    stop = expect(MEDICAL.stop, make_case("existing.stop"))
    assert stop.error_types_for(400) == {"InvalidRequestException"} and stop.error_types_for(200) == frozenset()


def test_an_expectation_has_warnings_only_where_some_outcome_is_allowed_with_one() -> None:
    with_warnings = {name for name in CATEGORIES for family in FAMILIES
                     for op in operations_for(family, CATEGORIES[name].kind)
                     if expect(op, make_case(name)).has_warnings()}
    assert with_warnings == {"valid.absolute_service", *decided_by(ROWS[20])}
    assert not Expectation(()).has_warnings()


def test_matching_picks_the_first_outcome_the_answer_is() -> None:
    broad = Outcome("broad", FOUR_XX, frozenset({"*"}))
    narrow = Outcome("narrow", frozenset({400}), frozenset({"A"}))
    assert Expectation((broad, narrow)).matching(error(400, "A")) is broad
    assert Expectation((narrow, broad)).matching(error(400, "A")) is narrow
    assert Expectation((narrow, broad)).matching(error(403, "A")) is broad
    assert Expectation((narrow,)).matching(error(403, "A")) is None
    assert Expectation(()).matching(answer(200)) is None


def answers_for(outcome: Outcome) -> list[Answer]:
    """Answers that are the outcome: at its lowest and highest status, with each of its error types (or another)."""
    found = []
    for status in sorted({min(outcome.statuses), max(outcome.statuses)}):
        if not outcome.error_types:
            found += [answer(status, {"JobId": "j", **({"JobStatus": s} if s else {})})
                      for s in sorted(outcome.job_statuses) or [""]]
        for error_type in sorted(outcome.error_types):
            found.append(error(status, "SomeOtherError" if error_type == "*" else error_type))
    return found


@pytest.mark.parametrize("index", range(len(ROWS)))
def test_each_answer_a_row_allows_is_the_outcome_observe_reports_where_the_target_had_a_choice(index: int) -> None:
    row = ROWS[index]
    name = decided_by(row)[0]
    for family in FAMILIES:
        for operation in operations_for(family, row.kind):
            case = make_case(name, possible_statuses=job_states.ALL)
            for circumstances in CIRCUMSTANCES:
                expectation = expect(operation, case, circumstances)
                for outcome in expectation.outcomes:
                    for allowed in answers_for(outcome):
                        assert expectation.matching(allowed) == outcome
                        if row.topic:
                            assert observe(operation, case, allowed, circumstances) == (row.topic, outcome.label)


# observe: which allowed behaviour the target chose.

def test_observe_names_the_choice_on_a_topic_row_and_nothing_for_an_answer_it_does_not_allow() -> None:
    op, unsigned = COMPREHEND.stop, make_case("auth.unsigned")
    assert observe(op, unsigned, error(403, "AccessDeniedException")) == ("unsigned request", "refused")
    assert observe(op, unsigned, error(404, "JobNotFoundException")) == ("unsigned request", "served unsigned")
    assert observe(op, unsigned, error(400, "ValidationException")) is None  # no choice it had, though a type
    unknown = make_case("protocol.target.missing")
    refused = error(400, "InvalidSignatureException")
    assert observe(op, unknown, refused) == ("order of checks", "authenticated before routing")
    assert observe(op, unknown, refused, Circumstances(sigv4_enforced=True)) == (
        "order of checks", "authenticated before routing")
    assert observe(op, unknown, refused, Circumstances(sigv4_enforced=False)) is None
    absolute = make_case("valid.absolute_service")  # a valid JobId, yet its row's choice wins over the status
    assert observe(MEDICAL.stop, absolute, error(404, "ResourceNotFoundException")) == (
        "absolute service id in the path", "routed")


def test_observe_reports_the_not_found_status_of_a_valid_jobid_only() -> None:
    for family in FAMILIES:
        for status in (400, 404):
            assert observe(family.stop, make_case("valid.letters"), error(status, family.not_found)) == (
                "not-found status", f"{family.not_found} {status}")
    # The other family's not-found type is not this operation's: only where the type was read from.
    assert observe(MEDICAL.stop, make_case("valid.letters"), error(400, "JobNotFoundException")) == (
        "error type carried in", "__type")
    # Another kind's not-found answer is not reported as the not-found choice.
    for name in ("near_miss.prefix", "existing.stop", "invalid.length.too_long"):
        assert observe(COMPREHEND.stop, make_case(name), error(404, "JobNotFoundException")) == (
            "error type carried in", "__type")


def test_observe_reports_where_an_error_carried_its_type_and_nothing_else() -> None:
    op, probe = COMPREHEND.stop, make_case("valid.probe")
    assert observe(op, probe, error(400, "ValidationException")) == ("error type carried in", "__type")
    header = JSON.decode(HttpResponse(400, {"content-type": "application/x-amz-json-1.1",
                                            "x-amzn-errortype": "ValidationException"}, b"{}"))
    assert observe(op, probe, header) == ("error type carried in", "header")
    assert observe(op, probe, answer(400)) is None  # an error with no type
    assert observe(op, probe, answer(200, {"JobId": "j"})) is None
    # A success is no error, whatever it says of a type.
    odd = Answer(HttpResponse(200, {}, b""), error_type="ValidationException", error_type_source="header")
    assert observe(op, probe, odd) is None


def test_the_readme_table_is_rendered_from_the_rows() -> None:
    lines = readme_table().split("\n")
    assert lines[:2] == ["| case (category) | allowed answers |", "|---|---|"]
    assert lines[2:] == [f"| {rule.cases} | {rule.answers} |" for rule in RULES]
    assert readme_table() in (REPO / "README.md").read_text(encoding="utf-8")
