"""Every branch of every registered check (`judging.checks`), and the verdict values (`judging.check_results`).

For each check: an answer that barely passes, one that barely fails, each way it is not applicable, and the exact
`Failed` a user reads (message, expected, actual). Then `run_checks`: which checks it runs, the flags that make a
check not applicable, a check that raises, and clipping. The checks are called with answers decoded by the real
protocols from hand-made HTTP responses, and with expectations made by `expect` or written out as outcomes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import string
from collections.abc import Callable, Iterator

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cases import Case, Kind
from conformance.judging import check_results
from conformance.judging.answer_forms import answer_form
from conformance.judging.check_results import NOT_APPLICABLE, PASSED, CheckVerdict, Failed, Severity, failed
from conformance.judging.checks import (
    CHECK_IDS,
    RECORDING_CHECKS,
    REGISTRY,
    SERVED,
    SERVED_DESCRIPTION,
    Check,
    CheckContext,
    Exchange,
    Recorded,
    _a_choice,
    _against_recording,
    _answers,
    check,
    job_member,
    members,
    run_checks,
    severity,
    violation,
)
from conformance.judging.job_states import Law
from conformance.judging.oracle import UNCLAIMED_WARNING, Expectation, Outcome, expect
from conformance.protocols import Answer, get_protocol
from conformance.wire.http import MAX_SHOWN_CHARS, HttpResponse, clipped
from conftest import stop_operations

PII, PHI = stop_operations()
JSON, CBOR = get_protocol("awsJson1_1"), get_protocol("rpcv2Cbor")
JSON_TYPE = "application/x-amz-json-1.1"
JSON_HEADERS = {"content-type": JSON_TYPE, "x-amzn-requestid": "r-1"}
CBOR_HEADERS = {"content-type": "application/cbor", "x-amzn-requestid": "r-1", "smithy-protocol": "rpc-v2-cbor"}
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())  # every character str.strip() removes


def json_answer(status: int, body: object = None, headers: dict[str, str | None] | None = None,
                raw: bytes | None = None, body_error: str | None = None) -> Answer:
    """An awsJson1_1 answer; a header given as None is left out."""
    data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
    merged = {name: value for name, value in {**JSON_HEADERS, **(headers or {})}.items() if value is not None}
    return JSON.decode(HttpResponse(status, merged, data, body_error=body_error))


NO_BODY = object()


def cbor_answer(status: int, body: object = NO_BODY, headers: dict[str, str | None] | None = None) -> Answer:
    """An rpcv2Cbor answer (CBOR's null is a body too); a header given as None is left out."""
    merged = {name: value for name, value in {**CBOR_HEADERS, **(headers or {})}.items() if value is not None}
    return CBOR.decode(HttpResponse(status, merged, b"" if body is NO_BODY else cbor2.dumps(body)))


def a_case(kind: Kind = Kind.UNKNOWN_JOB, category: str = "valid.letters", operation=PII, **fields) -> Case:
    fields.setdefault("document", {"JobId": fields.get("job_id") or "abc"})
    return Case(operation.name, category, kind, category, **fields)


UNKNOWN_JOB = a_case(job_id="abc")
EXISTING_JOB = a_case(Kind.EXISTING_JOB, "existing.stop", job_id="abc")


def context(answer: Answer, case: Case = UNKNOWN_JOB, operation=PII, protocol=JSON,
            expectation: Expectation | None = None, usual: Exchange | None = None,
            recorded: Recorded | None = None) -> CheckContext:
    return CheckContext(operation, case, protocol.encode(operation, case), answer,
                        expectation if expectation is not None else expect(operation, case), protocol, usual, recorded)


def judge(check_id: str, answer: Answer, **around) -> CheckVerdict:
    """One check's own verdict (its function, called directly: an exception it raises reaches the test)."""
    return REGISTRY[check_id].function(context(answer, **around))


def with_response(operation, response: dict) -> object:
    """The operation with another response schema (and no validator cached for the old one)."""
    return dataclasses.replace(operation, response=response, _validators={})


@contextlib.contextmanager
def registered(check_id: str, function: Callable[[CheckContext], CheckVerdict], **flags) -> Iterator[Check]:
    """A check registered for the test's length only."""
    check(check_id, f"the test check {check_id}", **flags)(function)
    try:
        yield REGISTRY[check_id]
    finally:
        del REGISTRY[check_id]


# The registry: ids, descriptions (the JSON report's `checks`), severities and flags.

REGISTERED = {
    # id: (description, severity, reads_message, binds_unclaimed, opt_in)
    "answered": ("Every request gets an answer: a status line within the read timeout, after one retry",
                 Severity.ERROR, False, True, False),
    "no_server_error": ("No request the suite sends is answered with a 5xx", Severity.ERROR, False, True, False),
    "status_code": ("The status code is one a conforming endpoint may give", Severity.ERROR, False, True, False),
    "error_type": ("An error answer names an error type the oracle allows for its status",
                   Severity.ERROR, True, False, False),
    "error_message_present": ("An error answer carries a message in `message` or `Message`",
                              Severity.ERROR, True, False, False),
    "content_type": ("Every answer with a body has the protocol's Content-Type", Severity.ERROR, True, False, False),
    "body_decodes": ("Every answer with a body decodes, in the protocol's format, to a map",
                     Severity.ERROR, True, False, False),
    "smithy_protocol_header": ("rpcv2Cbor answers echo Smithy-Protocol: rpc-v2-cbor", Severity.ERROR, False, False,
                               False),
    "request_id_header": ("Every answer carries an x-amzn-RequestId header", Severity.ERROR, True, False, False),
    "response_schema": ("A success answer is an object that satisfies the response schema",
                        Severity.ERROR, True, False, False),
    "job_id_echoed": ("A success answer names the JobId the request sent (Start: names the new job's)",
                      Severity.ERROR, True, False, False),
    "job_status_allowed": ("A success answer's JobStatus is one the job's lifecycle allows at that point",
                           Severity.ERROR, True, False, False),
    "lifecycle_model": (("Every answer of a state-machine run is one some timing of the documented job lifecycle "
                         "explains: a started job is always found, its status never goes back, only a Stop stops it, "
                         "another kind's operations never find it"), Severity.ERROR, True, False, False),
    "rpcv2_error_body": ("rpcv2Cbor errors name the error's absolute shape id in `__type` and carry a message",
                         Severity.ERROR, True, False, False),
    "spec_should": (("Where a specification says SHOULD (or only field evidence speaks), the answer is the "
                     "preferred one"), Severity.WARNING, True, True, False),
    "sdk_compatible": ("botocore reads the same error type (it looks only at the body's `__type`)",
                       Severity.WARNING, True, False, False),
    "spellings_agree": (("A document in another legal spelling (JSON escapes, white space, member order; CBOR "
                         "lengths, chunks, heads, float widths) gets the answer its usual spelling got: the same "
                         "status, error type and members"), Severity.ERROR, True, False, False),
    "recording": (("The answer is the one recorded for the same case (`run --recording`): the same status, error "
                   "type and members with their types, volatile values aside"), Severity.ERROR, False, False, True),
    "recording_choice": (("Where the oracle allows several answers, the answer is the one the recording chose "
                          "(`run --recording`; fails only with --recording-strict)"), Severity.WARNING, False, False,
                         True),
}


def test_the_registry_holds_every_check_in_order_with_its_description_severity_and_flags() -> None:
    assert list(REGISTRY) == list(REGISTERED)
    for check_id, (description, weight, reads_message, binds_unclaimed, opt_in) in REGISTERED.items():
        registered_check = REGISTRY[check_id]
        assert (registered_check.id, registered_check.description, registered_check.severity) == \
            (check_id, description, weight), check_id
        assert (registered_check.reads_message, registered_check.binds_unclaimed, registered_check.opt_in) == \
            (reads_message, binds_unclaimed, opt_in), check_id
        assert registered_check.function.__name__ == check_id


def test_only_the_job_checks_are_limited_to_operations_whose_answer_has_their_member() -> None:
    bare = with_response(PII, {"type": "object"})
    for check_id, registered_check in REGISTRY.items():
        assert registered_check.applies(PII), check_id
        assert registered_check.applies(bare) == (check_id not in {"job_id_echoed", "job_status_allowed"}), check_id
        # Comprehend Medical's Stop answers no JobStatus.
        assert registered_check.applies(PHI) == (check_id != "job_status_allowed"), check_id


def test_check_ids_are_the_registered_ones_and_the_coverage_contracts() -> None:
    assert SERVED == "operation_served"
    assert SERVED_DESCRIPTION == ("Every selected operation is served over the protocol AWS SDKs send it, and over "
                                  "each protocol named with --protocol")
    assert CHECK_IDS == frozenset(REGISTERED) | {"operation_served"}
    assert RECORDING_CHECKS == ("recording", "recording_choice")


def test_severity_is_the_registered_one_and_an_error_for_an_id_outside_the_registry() -> None:
    for check_id, (_, weight, *_) in REGISTERED.items():
        assert severity(check_id) is weight, check_id
    assert {check_id for check_id in REGISTRY if severity(check_id) is Severity.WARNING} == \
        {"spec_should", "sdk_compatible", "recording_choice"}
    assert severity(SERVED) is Severity.ERROR
    assert severity("no_such_check") is Severity.ERROR


def test_a_check_id_registered_twice_is_refused_and_the_first_stays() -> None:
    first = REGISTRY["answered"]
    with pytest.raises(ValueError) as raised:
        check("answered", "another")(lambda ctx: PASSED)
    assert str(raised.value) == "check 'answered' is registered twice"
    assert REGISTRY["answered"] is first


def test_check_registers_an_error_that_reads_the_message_applies_everywhere_and_is_not_opt_in_by_default() -> None:
    def function(ctx: CheckContext) -> CheckVerdict:
        return PASSED

    assert check("test_defaults", "d")(function) is function  # the decorator gives the function back
    try:
        made = REGISTRY["test_defaults"]
        assert (made.id, made.description, made.severity, made.function) == ("test_defaults", "d", Severity.ERROR,
                                                                             function)
        assert (made.reads_message, made.binds_unclaimed, made.opt_in) == (True, False, False)
        assert made.applies(PII) and made.applies(with_response(PII, {}))
    finally:
        del REGISTRY["test_defaults"]


def test_a_check_made_by_hand_has_the_same_defaults() -> None:
    made = Check("x", "d", Severity.ERROR, lambda ctx: PASSED)
    assert (made.reads_message, made.binds_unclaimed, made.opt_in) == (True, False, False)
    assert made.applies(PII) is True and made.applies(with_response(PII, {})) is True


def test_the_checks_values_are_frozen() -> None:
    answer = json_answer(200, {"JobId": "abc"})
    ctx = context(answer)
    form = answer_form(answer)
    for value, field in ((Exchange(ctx.request, answer), "answer"), (ctx, "answer"), (Recorded(form), "form"),
                         (REGISTRY["answered"], "id"), (Failed("m"), "message")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, None)
    for value in (Recorded(form), REGISTRY["answered"], Failed("m", "e", "a")):  # frozen and compared: hashable
        assert hash(value) == hash(dataclasses.replace(value))


def test_a_recorded_answer_by_default_is_lenient() -> None:
    recorded = Recorded(answer_form(json_answer(200, {"JobId": "abc"})))
    assert (recorded.volatile, recorded.job_ids) == (frozenset(), ())
    assert (recorded.conformed, recorded.oracle_allows, recorded.statuses_allowed, recorded.strict) == \
        (True, True, True, False)


# job_member, _answers, members: where the checks look.

def test_job_member_is_a_top_level_member_first() -> None:
    assert job_member({"JobId": "top", "Job": {"JobId": "inner"}}, "JobId") == "top"
    assert job_member({"JobId": None}, "JobId") is None


def test_job_member_is_found_one_object_down_when_exactly_one_object_holds_it() -> None:
    assert job_member({"Properties": {"JobId": "inner"}, "Other": {"X": 1}}, "JobId") == "inner"
    assert job_member({"A": {"JobId": "one"}, "B": {"JobId": "two"}}, "JobId") is None  # which job? neither
    assert job_member({"A": {"B": {"JobId": "deep"}}}, "JobId") is None  # two objects down: not looked at
    assert job_member({}, "JobId") is None


def test_job_member_looks_only_into_objects() -> None:
    # A string or list that contains the name is no holder; a number cannot be searched at all.
    assert job_member({"Text": "JobId", "List": ["JobId"], "Number": 5}, "JobId") is None


@pytest.mark.parametrize("document", [None, ["JobId"], "JobId", 5])
def test_job_member_of_anything_but_a_map_is_none(document: object) -> None:
    assert job_member(document, "JobId") is None


@settings(max_examples=50, deadline=None)
@given(value=st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers())),
       wrapper=st.text(min_size=1).filter(lambda name: name != "JobId"))
def test_job_member_finds_any_value_at_the_top_or_in_the_one_object_that_holds_it(value, wrapper) -> None:
    assert job_member({"JobId": value, wrapper: {"JobId": "other"}}, "JobId") == value
    assert job_member({wrapper: {"JobId": value}, "Other": 1}, "JobId") == value


def test_answers_applies_where_the_response_has_the_member_at_the_top_or_one_object_down() -> None:
    top = with_response(PII, {"properties": {"JobId": {}, "Job": {"type": "object"}}})
    inner = with_response(PII, {"properties": {"Job": {"properties": {"JobId": {}}}}})
    deeper = with_response(PII, {"properties": {"Job": {"properties": {"Inner": {"properties": {"JobId": {}}}}}}})
    assert _answers("JobId")(top) and _answers("JobId")(inner)
    assert not _answers("JobId")(deeper)
    assert not _answers("JobId")(with_response(PII, {"properties": {"Other": {}}}))
    assert not _answers("JobId")(with_response(PII, {"type": "object"}))
    assert _answers("JobStatus")(PII) and not _answers("JobStatus")(PHI)


UNCOMPARED = ("message", "Message", "__type", "code", "Code", "RequestId", "requestId")


def test_members_are_the_names_at_the_top_and_one_level_down() -> None:
    assert members({"JobId": "a", "Job": {"JobStatus": "x", "Inner": {"Deep": 1}}, "List": [{"X": 1}]}) == \
        {"JobId", "Job", "Job.JobStatus", "Job.Inner", "List"}
    assert members({1: "a"}) == {"1"}  # CBOR maps may have other keys than strings


@pytest.mark.parametrize("name", UNCOMPARED)
def test_members_leave_out_the_answers_own_wording_and_ids(name: str) -> None:
    assert members({name: "x", "JobId": "a", "Job": {name: "y", "JobStatus": "z"}}) == {"JobId", "Job",
                                                                                       "Job.JobStatus"}


@pytest.mark.parametrize("document", [None, [], "text", 3])
def test_members_of_anything_but_a_map_are_none(document: object) -> None:
    assert members(document) == frozenset()


# answered, no_server_error, status_code

def test_answered_passes_any_answer() -> None:
    for answer in (json_answer(200, {}), json_answer(500), cbor_answer(400, headers={"smithy-protocol": None})):
        assert judge("answered", answer) is PASSED


@settings(max_examples=60, deadline=None)
@given(status=st.integers(100, 599))
def test_every_status_from_500_fails_no_server_error_and_every_one_below_passes(status: int) -> None:
    verdict = judge("no_server_error", json_answer(status))
    if status < 500:
        assert verdict is PASSED
    else:
        assert verdict == Failed(f"answered {status}, a server error", "a status below 500", str(status))


@pytest.mark.parametrize(("status", "passes"), [(499, True), (500, False), (501, False)])
def test_no_server_error_boundary(status: int, passes: bool) -> None:
    assert (judge("no_server_error", json_answer(status)) is PASSED) == passes


def test_status_code_passes_an_allowed_status_and_fails_any_other_saying_what_was_allowed() -> None:
    assert judge("status_code", json_answer(404)) is PASSED
    assert judge("status_code", json_answer(400)) is PASSED
    assert judge("status_code", json_answer(200, {"JobId": "abc"})) == Failed(
        "status 200, expected 400/404", "400/404 JobNotFoundException", "200")


# error_type

EXTRA_MEMBER = a_case(Kind.EXTRA_MEMBER, "extra.unknown_member", document={"JobId": "abc", "X": 1})


def test_error_type_is_not_applicable_to_a_success_or_to_an_error_of_a_status_no_outcome_has() -> None:
    assert judge("error_type", json_answer(200, {"__type": "Wrong"})) is NOT_APPLICABLE
    assert judge("error_type", json_answer(500, {"__type": "Wrong"})) is NOT_APPLICABLE  # status_code says so


def test_error_type_passes_an_allowed_type_and_fails_another_naming_every_type_allowed_for_the_status() -> None:
    assert judge("error_type", json_answer(400, {"__type": "SerializationException"}), case=EXTRA_MEMBER) is PASSED
    assert judge("error_type", json_answer(404, {"__type": "JobNotFoundException"}), case=EXTRA_MEMBER) is PASSED
    wanted = "JobNotFoundException or SerializationException | ValidationException"
    assert judge("error_type", json_answer(400, {"__type": "ThrottlingException"}), case=EXTRA_MEMBER) == Failed(
        f"error type ThrottlingException, expected {wanted}", wanted, "ThrottlingException")
    # At 404 only the not-found outcome is allowed.
    assert judge("error_type", json_answer(404, {"__type": "SerializationException"}), case=EXTRA_MEMBER) == Failed(
        "error type SerializationException, expected JobNotFoundException", "JobNotFoundException",
        "SerializationException")


def test_error_type_fails_an_error_without_a_type_saying_where_the_protocol_carries_it() -> None:
    assert judge("error_type", json_answer(400, {"message": "m"})) == Failed(
        "no error type where awsJson1_1 carries it (the X-Amzn-Errortype header, a `code` member or a `__type` "
        "member)", "JobNotFoundException", "no error type")
    phi_case = a_case(operation=PHI, job_id="abc")
    assert judge("error_type", cbor_answer(400, {"message": "m"}), case=phi_case, operation=PHI,
                 protocol=CBOR) == Failed("no error type where rpcv2Cbor carries it (the body's `__type`)",
                                          "ResourceNotFoundException", "no error type")


# error_message_present

@pytest.mark.parametrize("body", [{"__type": "JobNotFoundException", "message": "m"},
                                  {"__type": "JobNotFoundException", "Message": "M"},
                                  {"__type": "JobNotFoundException", "message": " m "}])
def test_an_error_with_a_message_passes_error_message_present(body: dict) -> None:
    assert judge("error_message_present", json_answer(400, body)) is PASSED


NO_MESSAGE = Failed("no non-empty `message` or `Message` member", "a message", "none")


@pytest.mark.parametrize("error_type", ["JobNotFoundException", "ValidationException", "AccessDeniedException",
                                        "ZzzException"])
@pytest.mark.parametrize("message", [None, "", " ", "\t\n"])
def test_a_client_error_without_a_message_fails_error_message_present(error_type: str, message: str | None) -> None:
    body = {"__type": error_type} if message is None else {"__type": error_type, "message": message}
    assert judge("error_message_present", json_answer(400, body)) == NO_MESSAGE


@settings(max_examples=40, deadline=None)
@given(message=st.text(alphabet=WHITESPACE, max_size=8))
def test_any_whitespace_only_message_fails_error_message_present(message: str) -> None:
    assert judge("error_message_present", json_answer(404, {"__type": "JobNotFoundException",
                                                            "message": message})) == NO_MESSAGE


@settings(max_examples=40, deadline=None)
@given(message=st.text(st.characters(exclude_categories=("Cs",)), min_size=1).filter(str.strip))
def test_any_message_with_a_visible_character_passes_error_message_present(message: str) -> None:
    assert judge("error_message_present", json_answer(400, {"__type": "JobNotFoundException",
                                                            "Message": message})) is PASSED


@pytest.mark.parametrize(("status", "applies"), [(399, False), (400, True), (499, True), (500, False), (501, False)])
def test_error_message_present_applies_to_client_errors_only(status: int, applies: bool) -> None:
    verdict = judge("error_message_present", json_answer(status, {"__type": "JobNotFoundException"}))
    assert verdict == (NO_MESSAGE if applies else NOT_APPLICABLE)


def test_an_unknown_operation_needs_no_message() -> None:
    assert judge("error_message_present", json_answer(400, {"__type": "UnknownOperationException"})) \
        is NOT_APPLICABLE
    assert judge("error_message_present", json_answer(400, {"code": "UnknownOperationException"})) is NOT_APPLICABLE


# content_type

@pytest.mark.parametrize("value", [JSON_TYPE, "Application/X-Amz-JSON-1.1", f"{JSON_TYPE}; charset=utf-8",
                                   f" {JSON_TYPE} ;charset=UTF-8;q=1", f"{JSON_TYPE};"])
def test_content_type_passes_the_protocols_media_type_whatever_its_case_and_parameters(value: str) -> None:
    assert judge("content_type", json_answer(400, {"__type": "X"}, {"content-type": value})) is PASSED


@pytest.mark.parametrize(("value", "found"), [
    ("application/json", "application/json"),  # sorts before the wanted type
    ("text/plain; charset=utf-8", "text/plain"),  # after it, with a parameter
    ("application/x-amz-json-1.0", "application/x-amz-json-1.0"),
    (None, "(none)"),
    ("", "(none)"),
    (f"; {JSON_TYPE}", "(none)"),  # the media type stands before the parameters
])
def test_content_type_fails_another_media_type_or_none(value: str | None, found: str) -> None:
    shown = "'(none)'" if found == "(none)" else repr(found)
    assert judge("content_type", json_answer(400, {"__type": "X"}, {"content-type": value})) == Failed(
        f"Content-Type {shown}, expected {JSON_TYPE}", JSON_TYPE, found)


def test_content_type_is_not_applicable_to_an_answer_without_a_body() -> None:
    assert judge("content_type", json_answer(400, headers={"content-type": "text/html"})) is NOT_APPLICABLE


def test_content_type_is_the_protocols_own() -> None:
    assert judge("content_type", cbor_answer(400, {"__type": "X"}), protocol=CBOR) is PASSED
    assert judge("content_type", json_answer(400, {"__type": "X"}), protocol=CBOR) == Failed(
        f"Content-Type {JSON_TYPE!r}, expected application/cbor", "application/cbor", JSON_TYPE)


# body_decodes

def test_body_decodes_passes_a_map() -> None:
    assert judge("body_decodes", json_answer(400, {"__type": "X"})) is PASSED
    assert judge("body_decodes", cbor_answer(400, {"__type": "X"}), protocol=CBOR) is PASSED


@pytest.mark.parametrize("raw", [b"", b" \r\n\t"])
def test_body_decodes_is_not_applicable_to_an_empty_or_blank_body(raw: bytes) -> None:
    assert judge("body_decodes", json_answer(200, raw=raw)) is NOT_APPLICABLE


def test_body_decodes_fails_a_body_not_read_whole_even_when_nothing_was_read() -> None:
    assert judge("body_decodes", json_answer(200, raw=b'{"a"', body_error="the connection closed")) == Failed(
        "the connection closed", "a awsJson1_1 map", "4 bytes read")
    assert judge("body_decodes", json_answer(200, raw=b"", body_error="over the size bound")) == Failed(
        "over the size bound", "a awsJson1_1 map", "0 bytes read")


def test_body_decodes_fails_an_undecodable_body_with_the_decoders_reason() -> None:
    answer = json_answer(400, raw=b"<html>oops</html>")
    assert answer.decode_error
    assert judge("body_decodes", answer) == Failed(answer.decode_error, "a awsJson1_1 map", "undecodable body")


@pytest.mark.parametrize(("body", "kind"), [([1], "list"), ("text", "str"), (3, "int"), (None, "NoneType")])
def test_body_decodes_fails_a_body_that_is_not_a_map_naming_what_it_is(body: object, kind: str) -> None:
    answer = json_answer(400, raw=json.dumps(body).encode())
    assert judge("body_decodes", answer) == Failed(f"the body is a {kind}, not a map", "a awsJson1_1 map", kind)
    assert judge("body_decodes", cbor_answer(400, body), protocol=CBOR) == Failed(
        f"the body is a {kind}, not a map", "a rpcv2Cbor map", kind)


# smithy_protocol_header

def test_smithy_protocol_header_is_not_applicable_to_awsjson() -> None:
    assert judge("smithy_protocol_header", json_answer(400, {"__type": "X"})) is NOT_APPLICABLE


def test_smithy_protocol_header_passes_the_echo() -> None:
    assert judge("smithy_protocol_header", cbor_answer(400, {"__type": "X"}), protocol=CBOR) is PASSED


@pytest.mark.parametrize("value", ["rpc-v2-json", "rpc-v2-cbon", "rpc-v2-cbor ", "RPC-V2-CBOR", "", None])
def test_smithy_protocol_header_fails_anything_but_the_exact_echo(value: str | None) -> None:
    assert judge("smithy_protocol_header", cbor_answer(400, {"__type": "X"}, {"smithy-protocol": value}),
                 protocol=CBOR) == Failed(f"Smithy-Protocol {value!r}, expected 'rpc-v2-cbor'", "rpc-v2-cbor",
                                          str(value))


# request_id_header

def test_request_id_header_passes_any_value_with_a_visible_character() -> None:
    assert judge("request_id_header", json_answer(400, headers={"x-amzn-requestid": " r "})) is PASSED
    assert judge("request_id_header", json_answer(200, headers={"x-amzn-requestid": "x"})) is PASSED


NO_REQUEST_ID = Failed("no x-amzn-RequestId header", "x-amzn-RequestId", "none")


@settings(max_examples=30, deadline=None)
@given(value=st.one_of(st.none(), st.text(alphabet=" \t", max_size=6)))
def test_a_missing_empty_or_blank_request_id_fails_request_id_header(value: str | None) -> None:
    assert judge("request_id_header", json_answer(400, headers={"x-amzn-requestid": value})) == NO_REQUEST_ID


def test_a_request_id_of_spaces_fails_request_id_header() -> None:
    assert judge("request_id_header", json_answer(200, headers={"x-amzn-requestid": "   "})) == NO_REQUEST_ID


# response_schema

PII_SCHEMA = "an object satisfying StopPiiEntitiesDetectionJob's response schema"


@pytest.mark.parametrize(("status", "applies"), [(200, True), (299, True), (300, False), (301, False),
                                                 (399, False), (400, False), (500, False)])
def test_response_schema_applies_to_2xx_answers_only(status: int, applies: bool) -> None:
    verdict = judge("response_schema", json_answer(status, {"JobId": 5}))
    assert verdict == (Failed("$.JobId: 5 is not of type 'string'", PII_SCHEMA, "1 schema error(s)") if applies
                       else NOT_APPLICABLE)
    assert judge("response_schema", json_answer(status, {"JobId": "abc"})) is (PASSED if applies else NOT_APPLICABLE)


def test_response_schema_fails_an_undecodable_or_non_object_body() -> None:
    undecodable = json_answer(200, raw=b"{")
    assert judge("response_schema", undecodable) == Failed(undecodable.decode_error, PII_SCHEMA, "undecodable body")
    assert judge("response_schema", json_answer(200, [{"JobId": "abc"}])) == Failed(
        "body is list, expected an object", PII_SCHEMA, "list")
    assert judge("response_schema", json_answer(200, raw=b"null")) == Failed(
        "body is NoneType, expected an object", PII_SCHEMA, "NoneType")


def test_response_schema_says_the_first_three_schema_errors_and_counts_them_all() -> None:
    operation = with_response(PII, {"type": "object", "required": ["A", "B", "C", "D"]})
    assert judge("response_schema", json_answer(200, {}), operation=operation) == Failed(
        "$: 'A' is a required property; $: 'B' is a required property; $: 'C' is a required property",
        "an object satisfying StopPiiEntitiesDetectionJob's response schema", "4 schema error(s)")


# job_id_echoed

def test_job_id_echoed_passes_the_sent_job_id_at_the_top_or_one_object_down() -> None:
    assert judge("job_id_echoed", json_answer(200, {"JobId": "abc"}), case=EXISTING_JOB) is PASSED
    describe = with_response(PII, {"properties": {"Job": {"properties": {"JobId": {}}}}})
    assert judge("job_id_echoed", json_answer(200, {"Job": {"JobId": "abc"}}), case=EXISTING_JOB,
                 operation=describe) is PASSED


@pytest.mark.parametrize(("document", "shown"), [({"JobId": "abd"}, "'abd'"), ({"JobId": "abb"}, "'abb'"),
                                                 ({"JobId": "ABC"}, "'ABC'"), ({}, "None"), ({"JobId": 5}, "5")])
def test_job_id_echoed_fails_another_job_id_or_none(document: dict, shown: str) -> None:
    assert judge("job_id_echoed", json_answer(200, document), case=EXISTING_JOB) == Failed(
        f"JobId {shown}, expected 'abc'", "'abc'", shown)


def test_job_id_echoed_is_not_applicable_to_an_error_an_operation_without_job_id_or_a_case_sending_none() -> None:
    assert judge("job_id_echoed", json_answer(400, {"__type": "X", "JobId": "other"}),
                 case=EXISTING_JOB) is NOT_APPLICABLE
    assert judge("job_id_echoed", json_answer(200, {"JobId": "other"}), case=EXISTING_JOB,
                 operation=with_response(PII, {"properties": {"JobStatus": {}}})) is NOT_APPLICABLE
    no_id = a_case(Kind.EXISTING_JOB, "existing.stop", document={"JobId": 5})
    assert no_id.job_id is None
    assert judge("job_id_echoed", json_answer(200, {"JobId": "other"}), case=no_id) is NOT_APPLICABLE


START = Case("StartPiiEntitiesDetectionJob", "start.job", Kind.START_JOB, "start", document={})


def test_a_start_passes_job_id_echoed_when_it_names_any_job_id() -> None:
    assert judge("job_id_echoed", json_answer(200, {"JobId": "new-job-1"}), case=START) is PASSED
    assert judge("job_id_echoed", json_answer(200, {"JobId": "x"}), case=dataclasses.replace(START, job_id="y")) \
        is PASSED  # a Start sends no JobId of its own: whatever the case says, any id is the new job's


@pytest.mark.parametrize(("document", "shown"), [({"JobId": ""}, "''"), ({}, "None"), ({"JobId": 7}, "7"),
                                                 ({"JobId": ["a"]}, "['a']")])
def test_a_start_fails_job_id_echoed_without_a_non_empty_string_job_id(document: dict, shown: str) -> None:
    assert judge("job_id_echoed", json_answer(200, document), case=START) == Failed(
        "Start's answer names no JobId", "a JobId", shown)


# job_status_allowed

STOPPED = Expectation((Outcome("stopped", frozenset({200}), job_statuses=frozenset({"STOP_REQUESTED", "STOPPED"})),
                       Outcome("ended", frozenset({400}), frozenset({"InvalidRequestException"}))))


def test_job_status_allowed_passes_a_status_the_matching_outcome_allows() -> None:
    for status in ("STOP_REQUESTED", "STOPPED"):
        assert judge("job_status_allowed", json_answer(200, {"JobId": "abc", "JobStatus": status}),
                     expectation=STOPPED) is PASSED
    assert judge("job_status_allowed", json_answer(200, {"Job": {"JobStatus": "STOPPED"}}),
                 expectation=STOPPED) is PASSED


@pytest.mark.parametrize(("document", "shown"), [({"JobStatus": "COMPLETED"}, "'COMPLETED'"), ({}, "None"),
                                                 ({"JobStatus": "stopped"}, "'stopped'")])
def test_job_status_allowed_fails_any_other_status(document: dict, shown: str) -> None:
    wanted = "one of ['STOPPED', 'STOP_REQUESTED']"
    assert judge("job_status_allowed", json_answer(200, document), expectation=STOPPED) == Failed(
        f"JobStatus {shown}, expected {wanted}", wanted, shown)


def test_job_status_allowed_is_not_applicable_to_an_error_an_unmatched_answer_or_an_outcome_without_statuses() -> None:
    odd = Expectation((Outcome("odd", frozenset({400}), frozenset({"X"}), job_statuses=frozenset({"STOPPED"})),))
    assert judge("job_status_allowed", json_answer(400, {"__type": "X", "JobStatus": "COMPLETED"}),
                 expectation=odd) is NOT_APPLICABLE  # an error's members say nothing of the job
    assert judge("job_status_allowed", json_answer(201, {"JobStatus": "COMPLETED"}),
                 expectation=STOPPED) is NOT_APPLICABLE  # status_code says so
    plain = Expectation((Outcome("described", frozenset({200})),))
    assert judge("job_status_allowed", json_answer(200, {"JobStatus": "COMPLETED"}),
                 expectation=plain) is NOT_APPLICABLE


# lifecycle_model, and the violation it reports

def machine_case(category: str, kind: Kind, possible: set[str] | None = None) -> Case:
    return a_case(kind, category, job_id="abc", possible_statuses=None if possible is None else frozenset(possible))


DESCRIBE_RUNNING = machine_case("machine.describe", Kind.DESCRIBE_JOB, {"IN_PROGRESS"})


def test_lifecycle_model_is_not_applicable_outside_the_state_machine() -> None:
    answer = json_answer(404, {"__type": "JobNotFoundException", "message": "m"})
    assert judge("lifecycle_model", answer, case=EXISTING_JOB) is NOT_APPLICABLE
    assert violation(context(answer, case=EXISTING_JOB)) is None


def test_lifecycle_model_passes_an_answer_some_timing_explains() -> None:
    for status in ("IN_PROGRESS", "COMPLETED", "FAILED"):
        answer = json_answer(200, {"JobId": "abc", "JobStatus": status})
        assert judge("lifecycle_model", answer, case=DESCRIBE_RUNNING) is PASSED
        assert violation(context(answer, case=DESCRIBE_RUNNING)) is None


def test_lifecycle_model_is_not_applicable_to_an_answer_about_no_job() -> None:
    for answer in (json_answer(500, {"__type": "InternalServerException"}),
                   json_answer(400, {"__type": "ThrottlingException"})):
        assert violation(context(answer, case=DESCRIBE_RUNNING)) is None
        assert judge("lifecycle_model", answer, case=DESCRIBE_RUNNING) is NOT_APPLICABLE


@pytest.mark.parametrize(("status", "body", "law", "said"), [
    (200, {"JobId": "abc", "JobStatus": "SUBMITTED"}, Law.FORWARD, "200 SUBMITTED"),
    (404, {"__type": "JobNotFoundException", "message": "m"}, Law.FOUND, "404 JobNotFoundException"),
], ids=["status_going_back", "job_not_found"])
def test_lifecycle_model_fails_a_broken_law_naming_it_and_what_was_answered(status: int, body: dict[str, str],
                                                                            law: Law, said: str) -> None:
    answer = json_answer(status, body)
    broken = violation(context(answer, case=DESCRIBE_RUNNING))
    assert broken is not None and broken.law is law
    assert judge("lifecycle_model", answer, case=DESCRIBE_RUNNING) == Failed(broken.message, law.value, said)
    if law is Law.FORWARD:
        assert broken.message.startswith("answered 200 JobStatus SUBMITTED, where the job may only be ")


def test_lifecycle_model_says_only_the_status_of_an_answer_naming_no_job_status() -> None:
    other_kind = machine_case("machine.other_kind", Kind.NEAR_MISS)
    answer = json_answer(200, {"JobId": "abc"})
    broken = violation(context(answer, case=other_kind))
    assert broken is not None and broken.law is Law.OWN_KIND
    assert judge("lifecycle_model", answer, case=other_kind) == Failed(broken.message, Law.OWN_KIND.value, "200")


def test_only_a_200_answer_gives_the_lifecycle_model_a_job_status() -> None:
    # An error outcome never lists job statuses; were one to, an error's JobStatus member is not the job's.
    odd = Expectation((Outcome("odd", frozenset({404}), frozenset({"JobNotFoundException"}),
                               job_statuses=frozenset({"IN_PROGRESS"})),))
    answer = json_answer(404, {"__type": "JobNotFoundException", "JobStatus": "IN_PROGRESS"})
    broken = violation(context(answer, case=DESCRIBE_RUNNING, expectation=odd))
    assert broken is not None and broken.law is Law.FOUND
    started = machine_case("machine.start", Kind.START_JOB)
    stopping = json_answer(200, {"JobId": "abc", "JobStatus": "STOP_REQUESTED"})
    assert violation(context(stopping, case=started)).law is Law.ONLY_STOP_STOPS


# rpcv2_error_body

PHI_CASE = a_case(operation=PHI, job_id="abc")


def rpcv2_body(status: int, body: object, protocol=CBOR) -> CheckVerdict:
    answer = (cbor_answer if protocol is CBOR else json_answer)(status, body)
    return judge("rpcv2_error_body", answer, case=PHI_CASE, operation=PHI, protocol=protocol)


@pytest.mark.parametrize("raw_type", ["com.amazonaws.comprehendmedical#ResourceNotFoundException", "x#Y",
                                      "ns#Name:http://internal/"])
def test_rpcv2_error_body_passes_an_absolute_shape_id_with_a_message(raw_type: str) -> None:
    assert rpcv2_body(400, {"__type": raw_type, "message": "m"}) is PASSED
    assert rpcv2_body(400, {"__type": raw_type, "Message": "m"}) is PASSED


@pytest.mark.parametrize("raw_type", ["ResourceNotFoundException", "Name:http://internal/#x", ""])
def test_rpcv2_error_body_fails_a_type_without_a_namespace_before_any_colon(raw_type: str) -> None:
    assert rpcv2_body(400, {"__type": raw_type, "message": "m"}) == Failed(
        f"`__type` {raw_type!r} is not an absolute shape id (namespace#Name)",
        f"com.amazonaws.comprehendmedical#{raw_type}", raw_type)


@pytest.mark.parametrize("body", [{"__type": "x#Y"}, {"__type": "x#Y", "message": 5}])
def test_rpcv2_error_body_fails_an_error_without_a_message(body: dict) -> None:
    assert rpcv2_body(400, body) == Failed("no `message` (services MUST send it)", "a message member", "none")


@pytest.mark.parametrize(("status", "body", "protocol"), [
    (400, {"__type": "Bare"}, JSON),  # awsJson: not its rule
    (200, {"__type": "Bare"}, CBOR),  # not an error
    (400, ["__type", "Bare"], CBOR),  # not a map: body_decodes says so
    (400, {"message": "m"}, CBOR),  # no type: error_type says so
    (400, {"__type": 5, "message": "m"}, CBOR),
])
def test_rpcv2_error_body_is_not_applicable(status: int, body: object, protocol) -> None:
    assert rpcv2_body(status, body, protocol) is NOT_APPLICABLE


# spec_should

UNCLAIMED = a_case(Kind.UNCLAIMED, "protocol.unclaimed.no_content_type", job_id="abc")


def test_spec_should_fails_an_allowed_answer_against_a_should_with_its_warning() -> None:
    assert judge("spec_should", json_answer(400, {"__type": "JobNotFoundException"}), case=UNCLAIMED) == Failed(
        UNCLAIMED_WARNING, "the preferred answer", "served anyway")


def test_spec_should_passes_the_preferred_answer_where_a_should_applies() -> None:
    assert judge("spec_should", json_answer(415, {"__type": "UnsupportedMediaType"}), case=UNCLAIMED) is PASSED


def test_spec_should_is_not_applicable_without_a_should_or_to_an_answer_no_outcome_allows() -> None:
    assert judge("spec_should", json_answer(404, {"__type": "JobNotFoundException"})) is NOT_APPLICABLE
    assert judge("spec_should", json_answer(200, {"JobId": "abc"}), case=UNCLAIMED) is NOT_APPLICABLE


# sdk_compatible

def test_sdk_compatible_passes_when_botocore_reads_the_same_type() -> None:
    assert judge("sdk_compatible", json_answer(400, {"__type": "ns#JobNotFoundException"})) is PASSED
    # Two equal strings decoded apart (`code` first, botocore's `__type`): equal is enough.
    assert judge("sdk_compatible", json_answer(400, {"code": "JobNotFoundException",
                                                     "__type": "JobNotFoundException"})) is PASSED
    assert judge("sdk_compatible", json_answer(400, {"__type": "JobNotFoundException"},
                                               {"x-amzn-errortype": "JobNotFoundException"})) is PASSED


@pytest.mark.parametrize(("headers", "body", "seen"), [
    ({"x-amzn-errortype": "JobNotFoundException"}, {}, "400 (no __type)"),
    ({"x-amzn-errortype": "JobNotFoundException"}, {"__type": "AccessDeniedException"}, "AccessDeniedException"),
    ({"x-amzn-errortype": "JobNotFoundException"}, {"__type": "ValidationException"}, "ValidationException"),
])
def test_sdk_compatible_fails_a_type_botocore_would_read_otherwise(headers: dict, body: dict, seen: str) -> None:
    assert judge("sdk_compatible", json_answer(400, body, headers)) == Failed(
        f"the type is JobNotFoundException (from header), botocore would read {seen}", "JobNotFoundException", seen)


def test_sdk_compatible_names_where_the_type_was_read() -> None:
    assert judge("sdk_compatible", json_answer(404, {"code": "JobNotFoundException"})) == Failed(
        "the type is JobNotFoundException (from code), botocore would read 404 (no __type)", "JobNotFoundException",
        "404 (no __type)")


def test_sdk_compatible_is_not_applicable_to_a_success_or_an_error_without_a_type() -> None:
    assert judge("sdk_compatible", json_answer(200, {"__type": "X"})) is NOT_APPLICABLE
    assert judge("sdk_compatible", json_answer(400, {"message": "m"})) is NOT_APPLICABLE


# spellings_agree

SPELLED = dataclasses.replace(UNKNOWN_JOB, raw_body=b'{"JobId":"abc"}', spelling="no white space")


def spellings(usual: Answer | None, spelled: Answer) -> CheckVerdict:
    exchange = None if usual is None else Exchange(JSON.encode(PII, UNKNOWN_JOB), usual)
    return judge("spellings_agree", spelled, case=SPELLED, usual=exchange)


NOT_FOUND = {"__type": "JobNotFoundException", "message": "m"}


def test_spellings_agree_passes_the_same_answer_whatever_its_wording() -> None:
    assert spellings(json_answer(400, NOT_FOUND), json_answer(400, NOT_FOUND)) is PASSED
    assert spellings(json_answer(400, {"__type": "ns#JobNotFoundException", "message": "one", "RequestId": "1"}),
                     json_answer(400, {"code": "JobNotFoundException", "Message": "two", "requestId": "2"})) is PASSED
    assert spellings(json_answer(200, {"JobId": "a", "Job": {"X": 1}}),
                     json_answer(200, {"Job": {"X": 2}, "JobId": "b"})) is PASSED


def test_spellings_agree_is_not_applicable_without_the_usual_answer_or_when_one_side_is_status_only() -> None:
    assert spellings(None, json_answer(400, NOT_FOUND)) is NOT_APPLICABLE
    status_only = Answer(HttpResponse(500, {}, b""), status_only=True)
    assert spellings(status_only, json_answer(400, NOT_FOUND)) is NOT_APPLICABLE
    assert spellings(json_answer(400, NOT_FOUND), status_only) is NOT_APPLICABLE
    assert spellings(status_only, dataclasses.replace(status_only)) is PASSED  # both on their status: the same


@pytest.mark.parametrize(("usual", "spelled", "said_usual", "said_spelled"), [
    (json_answer(400, NOT_FOUND), json_answer(404, NOT_FOUND), "400 JobNotFoundException", "404 JobNotFoundException"),
    (json_answer(404, NOT_FOUND), json_answer(400, NOT_FOUND), "404 JobNotFoundException", "400 JobNotFoundException"),
    (json_answer(400, NOT_FOUND), json_answer(400, {"__type": "SerializationException"}), "400 JobNotFoundException",
     "400 SerializationException"),
    (json_answer(400, {"__type": "SerializationException"}), json_answer(400, NOT_FOUND), "400 SerializationException",
     "400 JobNotFoundException"),
    (json_answer(200, {"JobId": "abc"}), json_answer(400, NOT_FOUND), "200", "400 JobNotFoundException"),
    (json_answer(400, {"message": "m"}), json_answer(400, NOT_FOUND), "400", "400 JobNotFoundException"),
])
def test_spellings_agree_fails_another_status_or_error_type(usual, spelled, said_usual, said_spelled) -> None:
    assert spellings(usual, spelled) == Failed(
        f"spelled with no white space: answered {said_spelled}; in the usual spelling: {said_usual}", said_usual,
        said_spelled)


@pytest.mark.parametrize(("usual", "spelled"), [
    ({"JobId": "a", "JobStatus": "STOPPED"}, {"JobId": "a"}),  # fewer
    ({"JobId": "a"}, {"JobId": "a", "JobStatus": "STOPPED"}),  # more
    ({"JobId": "a"}, {"JobStatus": "STOPPED"}),  # others
    ({"Job": {"JobId": "a"}}, {"Job": {"JobStatus": "a"}}),  # others one level down
])
def test_spellings_agree_fails_other_members(usual: dict, spelled: dict) -> None:
    wanted, found = sorted(members(usual)), sorted(members(spelled))
    assert spellings(json_answer(200, usual), json_answer(200, spelled)) == Failed(
        f"spelled with no white space: answered with members {found}; in the usual spelling: {wanted}",
        ", ".join(wanted), ", ".join(found))


def test_spellings_agree_says_the_members_in_order() -> None:
    assert spellings(json_answer(200, {"JobStatus": "S", "JobId": "a"}), json_answer(200, {"B": 1, "A": 2})) == Failed(
        "spelled with no white space: answered with members ['A', 'B']; in the usual spelling: ['JobId', 'JobStatus']",
        "JobId, JobStatus", "A, B")


# recording, recording_choice

def recorded_as(answer: Answer, **fields) -> Recorded:
    return Recorded(answer_form(answer), **fields)


RUNNING_ANSWER = json_answer(200, {"JobId": "abc", "JobStatus": "IN_PROGRESS"})
STOPPED_ANSWER = json_answer(200, {"JobId": "abc", "JobStatus": "STOPPED"})


def recording_verdicts(answer: Answer, recorded: Recorded | None) -> tuple[CheckVerdict, CheckVerdict]:
    return (judge("recording", answer, case=EXISTING_JOB, recorded=recorded),
            judge("recording_choice", answer, case=EXISTING_JOB, recorded=recorded))


def test_the_recording_checks_are_not_applicable_without_a_recording() -> None:
    assert _against_recording(context(RUNNING_ANSWER, case=EXISTING_JOB)) is None
    assert recording_verdicts(RUNNING_ANSWER, None) == (NOT_APPLICABLE, NOT_APPLICABLE)


def test_the_same_answer_as_recorded_passes_both_recording_checks() -> None:
    recorded = recorded_as(json_answer(200, {"JobId": "abc", "JobStatus": "IN_PROGRESS"}), conformed=False)
    described = "200 {JobId: string 'abc', JobStatus: string 'IN_PROGRESS'}"
    assert _against_recording(context(RUNNING_ANSWER, case=EXISTING_JOB, recorded=recorded)) == \
        ("same", "", described, described)
    assert recording_verdicts(RUNNING_ANSWER, recorded) == (PASSED, PASSED)


def test_a_recording_compares_volatile_members_and_job_ids_as_it_was_told() -> None:
    # The recorded form is made with the same pointers, and its job's id already a token.
    recorded = Recorded(answer_form(json_answer(200, {"JobId": "<job 1>", "JobStatus": "IN_PROGRESS", "N": 1}),
                                    {"/N"}), frozenset({"/N"}), (("abc", "<job 1>"),), conformed=False)
    answer = json_answer(200, {"JobId": "abc", "JobStatus": "IN_PROGRESS", "N": 2})
    assert _against_recording(context(answer, case=EXISTING_JOB, recorded=recorded))[0] == "same"


def test_another_answer_both_sides_allow_is_the_recordings_choice_a_warning() -> None:
    recorded = recorded_as(json_answer(400, {"__type": "InvalidRequestException", "message": "m"}))
    compared = _against_recording(context(STOPPED_ANSWER, case=EXISTING_JOB, recorded=recorded))
    said = ("status 400 -> 200; error type InvalidRequestException -> None; a message -> none; /JobId added "
            "(string 'abc'); /JobStatus added (string 'STOPPED')")
    assert compared == ("choice", said, "400 InvalidRequestException {}",
                        "200 {JobId: string 'abc', JobStatus: string 'STOPPED'}")
    assert recording_verdicts(STOPPED_ANSWER, recorded) == (PASSED, Failed(
        f"the recording chose another answer the oracle allows: {compared[1]}", compared[2], compared[3]))


def test_a_difference_is_a_failure_where_either_side_broke_the_oracle_or_in_strict_mode() -> None:
    for fields in ({"conformed": False}, {"oracle_allows": False}, {"strict": True}):
        recorded = recorded_as(json_answer(400, {"__type": "InvalidRequestException", "message": "m"}), **fields)
        compared = _against_recording(context(STOPPED_ANSWER, case=EXISTING_JOB, recorded=recorded))
        assert compared[0] == "differs", fields
        assert recording_verdicts(STOPPED_ANSWER, recorded) == (
            Failed(f"differs from the recording: {compared[1]}", compared[2], compared[3]), NOT_APPLICABLE), fields


def test_a_job_status_alone_differing_is_timing_where_the_lifecycle_allows_both() -> None:
    recorded = recorded_as(json_answer(200, {"JobId": "abc", "JobStatus": "STOP_REQUESTED"}), conformed=False)
    assert _against_recording(context(STOPPED_ANSWER, case=EXISTING_JOB, recorded=recorded))[:2] == \
        ("choice", "/JobStatus string 'STOP_REQUESTED' -> string 'STOPPED'")
    not_allowed = dataclasses.replace(recorded, statuses_allowed=False)
    assert _against_recording(context(STOPPED_ANSWER, case=EXISTING_JOB, recorded=not_allowed))[0] == "differs"
    strict = dataclasses.replace(recorded, strict=True)
    assert _against_recording(context(STOPPED_ANSWER, case=EXISTING_JOB, recorded=strict))[0] == "differs"
    more = json_answer(200, {"JobId": "abd", "JobStatus": "STOPPED"})  # and another member's value
    assert _against_recording(context(more, case=EXISTING_JOB, recorded=recorded))[0] == "differs"


@pytest.mark.parametrize(("strict", "conformed", "oracle_allows", "statuses_allowed", "only_status", "choice"), [
    (False, True, True, False, False, True),  # both sides allowed: any difference is a choice
    (True, True, True, True, True, False),  # strict: none is
    (False, True, False, True, True, True),  # the actual answer broke the oracle, but only its status differs
    (False, False, True, True, True, True),
    (False, True, False, True, False, False),  # ... and something else differs too
    (False, False, True, True, False, False),
    (False, False, False, False, True, False),  # the statuses themselves were not allowed
    (False, False, False, True, True, True),
])
def test_a_choice_is_what_the_oracle_allows_on_both_sides_or_a_job_status_timing_explains(
        strict, conformed, oracle_allows, statuses_allowed, only_status, choice) -> None:
    recorded = recorded_as(json_answer(200, {"JobId": "abc", "JobStatus": "STOP_REQUESTED"}), strict=strict,
                           conformed=conformed, oracle_allows=oracle_allows, statuses_allowed=statuses_allowed)
    actual = answer_form(json_answer(200, {"JobId": "abc" if only_status else "abd", "JobStatus": "STOPPED"}))
    assert _a_choice(recorded, actual) is choice


# run_checks

def run(answer: Answer, case: Case = UNKNOWN_JOB, selected: list[str] | None = None, **around) -> dict:
    return run_checks(context(answer, case=case, **around), selected)


def test_run_checks_judges_every_check_but_the_opt_in_ones_in_registry_order() -> None:
    result = run(json_answer(404, NOT_FOUND))
    assert list(result) == [check_id for check_id in REGISTERED if check_id not in RECORDING_CHECKS]
    assert {check_id for check_id, verdict in result.items() if verdict is PASSED} == {
        "answered", "no_server_error", "status_code", "error_type", "error_message_present", "content_type",
        "body_decodes", "request_id_header", "sdk_compatible"}


def test_run_checks_judges_only_the_selected_checks_opt_in_ones_included() -> None:
    recorded = recorded_as(json_answer(404, NOT_FOUND), conformed=False)
    result = run(json_answer(500), selected=["recording", "no_server_error"], recorded=recorded)
    assert list(result) == ["recording", "no_server_error"]
    assert isinstance(result["recording"], Failed) and isinstance(result["no_server_error"], Failed)
    assert run(json_answer(404, NOT_FOUND), selected=[]) == {}


def test_an_answer_judged_on_its_status_alone_is_judged_only_by_the_checks_that_read_no_message() -> None:
    answer = cbor_answer(500, {"__type": "x#Y"}, {"smithy-protocol": "rpc-v2-json"})
    assert answer.status_only
    result = run(answer, PHI_CASE, operation=PHI, protocol=CBOR)
    judged = {check_id: verdict for check_id, verdict in result.items() if verdict is not NOT_APPLICABLE}
    assert judged == {
        "answered": PASSED,
        "no_server_error": Failed("answered 500, a server error", "a status below 500", "500"),
        "status_code": Failed("status 500, expected 400/404", "400/404 ResourceNotFoundException", "500"),
        "smithy_protocol_header": Failed("Smithy-Protocol 'rpc-v2-json', expected 'rpc-v2-cbor'", "rpc-v2-cbor",
                                         "rpc-v2-json"),
    }
    recorded = recorded_as(cbor_answer(400, {"__type": "x#Y", "message": "m"}), conformed=False)
    assert isinstance(run(answer, PHI_CASE, ["recording", "recording_choice"], operation=PHI, protocol=CBOR,
                          recorded=recorded)["recording"], Failed)


def test_a_request_no_protocol_claims_is_judged_only_by_the_checks_bound_to_it() -> None:
    answer = json_answer(500, {"__type": 5}, {"content-type": "text/html", "x-amzn-requestid": None})
    result = run(answer, UNCLAIMED)
    judged = {check_id for check_id, verdict in result.items() if verdict is not NOT_APPLICABLE}
    assert judged == {"answered", "no_server_error", "status_code"}  # spec_should: no outcome matches a 500
    assert isinstance(result["no_server_error"], Failed) and isinstance(result["status_code"], Failed)
    assert isinstance(run(answer)["content_type"], Failed)  # the same answer to a claimed request fails more
    warned = run(json_answer(400, {"__type": "JobNotFoundException"}), UNCLAIMED)
    assert isinstance(warned["spec_should"], Failed) and warned["error_message_present"] is NOT_APPLICABLE


@pytest.mark.parametrize(("error", "name", "said"), [
    (ValueError("bad value"), "ValueError", "bad value"),
    (TypeError("bad type"), "TypeError", "bad type"),
    (RecursionError("too deep"), "RecursionError", "too deep"),
    (OverflowError("too big"), "OverflowError", "too big"),
    (KeyError("Key"), "KeyError", "'Key'"),
    (AttributeError("no such"), "AttributeError", "no such"),
])
def test_a_check_the_answer_breaks_fails_it_and_the_run_goes_on(error: Exception, name: str, said: str) -> None:
    def breaks(ctx: CheckContext) -> CheckVerdict:
        raise error

    with registered("test_breaks", breaks) as broken:
        result = run(json_answer(404, NOT_FOUND), selected=["test_breaks", "answered"])
    assert result == {"test_breaks": Failed(f"the answer could not be judged: {name}: {said}", broken.description,
                                            "an answer the check cannot read"),
                      "answered": PASSED}


def test_what_a_broken_check_says_of_its_exception_is_clipped_to_200_characters() -> None:
    def breaks(ctx: CheckContext) -> CheckVerdict:
        raise ValueError("x" * 199 + "yz")

    with registered("test_breaks", breaks):
        verdict = run(json_answer(404, NOT_FOUND), selected=["test_breaks"])["test_breaks"]
    assert verdict.message == "the answer could not be judged: ValueError: " + "x" * 199 + "y"


def test_an_error_of_the_suite_itself_is_not_blamed_on_the_answer() -> None:
    def breaks(ctx: CheckContext) -> CheckVerdict:
        raise ZeroDivisionError("a bug")

    with registered("test_breaks", breaks), pytest.raises(ZeroDivisionError):
        run(json_answer(404, NOT_FOUND), selected=["test_breaks"])


@pytest.mark.parametrize(("message_length", "value_length"), [(2 * MAX_SHOWN_CHARS, MAX_SHOWN_CHARS),
                                                             (2 * MAX_SHOWN_CHARS + 1, MAX_SHOWN_CHARS + 1),
                                                             (5000, 3000)])
def test_a_failure_quotes_at_most_twice_the_shown_characters_in_its_message_and_the_shown_ones_in_its_values(
        message_length: int, value_length: int) -> None:
    message, expected, actual = "m" * message_length, "e" * value_length, "a" * value_length

    with registered("test_long", lambda ctx: failed(message, expected, actual)):
        verdict = run(json_answer(404, NOT_FOUND), selected=["test_long"])["test_long"]
    assert verdict == Failed(clipped(message, 2 * MAX_SHOWN_CHARS), clipped(expected), clipped(actual))
    assert (verdict.message == message) == (message_length <= 2 * MAX_SHOWN_CHARS)
    assert (verdict.actual == actual) == (value_length <= MAX_SHOWN_CHARS)
    if message_length > 2 * MAX_SHOWN_CHARS:
        assert verdict.message.startswith("m" * 1024 + f"... ({message_length} characters, sha256 ")


def test_run_checks_passes_verdicts_other_than_failures_through() -> None:
    with registered("test_passes", lambda ctx: PASSED), registered("test_skips", lambda ctx: NOT_APPLICABLE):
        result = run(json_answer(404, NOT_FOUND), selected=["test_passes", "test_skips"])
    assert result["test_passes"] is PASSED and result["test_skips"] is NOT_APPLICABLE


# check_results

def test_severities_are_said_as_error_and_warning() -> None:
    assert [str(weight) for weight in Severity] == ["error", "warning"]
    assert Severity("error") is Severity.ERROR and Severity("warning") is Severity.WARNING


def test_the_verdicts_are_shown_by_name() -> None:
    assert repr(NOT_APPLICABLE) == "NOT_APPLICABLE" and repr(PASSED) == "PASSED"
    assert repr(Failed("m", "e", "a")) == "Failed(message='m', expected='e', actual='a')"


def test_a_failure_says_nothing_expected_or_found_unless_told() -> None:
    assert (Failed("m").expected, Failed("m").actual) == ("", "")
    assert failed("m") == Failed("m", "", "")


@settings(max_examples=40, deadline=None)
@given(expected=st.one_of(st.none(), st.integers(), st.text(string.printable), st.lists(st.integers(), max_size=3)),
       actual=st.one_of(st.none(), st.integers(), st.text(string.printable), st.frozensets(st.integers(), max_size=3)))
def test_failed_shows_expected_and_actual_as_strings(expected: object, actual: object) -> None:
    made = failed("said", expected, actual)
    assert made == Failed("said", str(expected), str(actual))
    assert isinstance(made.expected, str) and isinstance(made.actual, str)


def test_a_verdict_is_one_of_the_three_kinds() -> None:
    for verdict in (NOT_APPLICABLE, PASSED, Failed("m")):
        assert isinstance(verdict, check_results.CheckVerdict)
    assert not isinstance("PASSED", check_results.CheckVerdict)
