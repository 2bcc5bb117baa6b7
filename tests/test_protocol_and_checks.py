"""The awsJson1_1 decoder's error-type resolution, the oracle, and each check on answers made by hand."""

from __future__ import annotations

import json

import pytest

from conformance.cases import Case, Kind
from conformance.judging.check_results import NOT_APPLICABLE, PASSED, CheckVerdict, Failed
from conformance.judging.checks import REGISTRY, CheckContext, run_checks
from conformance.judging.oracle import expect, observe
from conformance.protocols import get_protocol, sanitise_error_type
from conformance.protocols.awsjson import encode_document
from conformance.wire.http import HttpResponse
from conftest import stop_operations

PII, PHI = stop_operations()
JSON = get_protocol("awsJson1_1")
GOOD_HEADERS = {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "r-1"}


def answer(status: int, body: object = None, headers: dict[str, str] | None = None, raw: bytes | None = None):
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return JSON.decode(HttpResponse(status, {**GOOD_HEADERS, **(headers or {})}, data))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("FooError", "FooError"),
        ("aws.protocoltests#FooError", "FooError"),
        ("FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/", "FooError"),
        ("aws.protocoltests#FooError:http://internal/", "FooError"),
        ("com.amazonaws.comprehend.v20171127#JobNotFoundException", "JobNotFoundException"),
    ],
)
def test_error_type_is_sanitised(value: str, expected: str) -> None:
    assert sanitise_error_type(value) == expected
    assert answer(400, {"__type": value}).error_type == expected


def test_error_type_order_is_header_then_code_then_type() -> None:
    decoded = answer(400, {"__type": "C", "code": "B"}, {"x-amzn-errortype": "A:http://x"})
    assert (decoded.error_type, decoded.error_type_source, decoded.sdk_error_type) == ("A", "header", "C")
    decoded = answer(400, {"__type": "C", "code": "B"})
    assert (decoded.error_type, decoded.error_type_source) == ("B", "code")
    decoded = answer(400, {"__type": "ns#C", "message": "m"})
    assert (decoded.error_type, decoded.error_type_source, decoded.message) == ("C", "__type", "m")
    assert answer(400, {"Message": "M"}).message == "M"


def test_undecodable_answers_are_reported_not_raised() -> None:
    decoded = answer(500, raw=b"<html>oops</html>")
    assert decoded.document is None and decoded.decode_error and decoded.error_type is None
    assert answer(200, raw=b"\xff").decode_error


def test_lone_surrogates_travel_as_escapes() -> None:
    assert encode_document({"JobId": "a\ud800"}) == b'{"JobId": "a\\ud800"}'
    assert encode_document({"JobId": "é"}) == '{"JobId": "é"}'.encode()


def case(kind: Kind, category: str, **fields) -> Case:
    return Case(PII.name, category, kind, category, **fields)


def verdicts(operation, the_case: Case, the_answer) -> dict[str, CheckVerdict]:
    request = JSON.encode(operation, the_case)
    return run_checks(CheckContext(operation, the_case, request, the_answer, expect(operation, the_case), JSON))


def failing(result: dict[str, CheckVerdict]) -> set[str]:
    return {check for check, verdict in result.items() if isinstance(verdict, Failed)}


def test_every_check_has_an_id_description_and_severity() -> None:
    assert set(REGISTRY) == {
        "answered", "no_server_error", "status_code", "error_type", "error_message_present", "content_type",
        "body_decodes", "smithy_protocol_header", "request_id_header", "response_schema", "job_id_echoed",
        "job_status_allowed", "lifecycle_model", "rpcv2_error_body", "spec_should", "sdk_compatible",
        "spellings_agree", "recording", "recording_choice",
    }
    for check_id, check in REGISTRY.items():
        assert check.id == check_id and check.description and check.severity in ("error", "warning")


def test_a_conforming_not_found_answer_passes_every_applicable_check() -> None:
    the_case = case(Kind.UNKNOWN_JOB, "valid.letters", document={"JobId": "abc"}, job_id="abc")
    result = verdicts(PII, the_case, answer(400, {"__type": "JobNotFoundException", "Message": "no"}))
    assert {k for k, v in result.items() if v is not NOT_APPLICABLE} == {
        "answered", "no_server_error", "status_code", "error_type", "error_message_present",
        "content_type", "body_decodes", "request_id_header", "sdk_compatible",
    }
    assert all(v in (PASSED, NOT_APPLICABLE) for v in result.values())


@pytest.mark.parametrize(
    ("kind", "category", "status", "body", "headers", "expected"),
    [
        (Kind.UNKNOWN_JOB, "valid.letters", 500, {"__type": "InternalServerException", "Message": "x"}, {},
         {"no_server_error", "status_code"}),
        (Kind.CONSTRAINT, "invalid.length.too_long", 200, {"JobId": "abc", "JobStatus": "STOPPED"}, {},
         {"status_code"}),
        (Kind.CONSTRAINT, "invalid.length.too_long", 400, {"__type": "JobNotFoundException", "Message": "x"}, {},
         {"error_type"}),
        (Kind.UNKNOWN_JOB, "valid.letters", 400, {"Message": "x"}, {}, {"error_type"}),
        (Kind.UNKNOWN_JOB, "valid.letters", 400, {"__type": "JobNotFoundException"}, {}, {"error_message_present"}),
        (Kind.UNKNOWN_JOB, "valid.letters", 400, {"__type": "JobNotFoundException", "message": "x"},
         {"content-type": "application/json"}, {"content_type"}),
        (Kind.UNKNOWN_JOB, "valid.letters", 400, {"__type": "JobNotFoundException", "message": "x"},
         {"x-amzn-requestid": ""}, {"request_id_header"}),
        (Kind.EXISTING_JOB, "existing.stop", 200, {"JobId": "abc", "JobStatus": "RUNNING"}, {},
         {"response_schema", "job_status_allowed"}),
        (Kind.UNKNOWN_JOB, "valid.letters", 400, ["JobNotFoundException"], {},
         {"body_decodes", "error_type", "error_message_present"}),
        (Kind.EXISTING_JOB, "existing.stop", 200, {"JobId": "xyz", "JobStatus": "STOPPED"}, {}, {"job_id_echoed"}),
        (Kind.EXISTING_JOB, "existing.stop", 200, {"JobId": "abc", "JobStatus": "COMPLETED"}, {},
         {"job_status_allowed"}),
        (Kind.UNKNOWN_JOB, "valid.letters", 400, {"message": "x"}, {"x-amzn-errortype": "JobNotFoundException"},
         {"sdk_compatible"}),
    ],
)
def test_each_check_fails_on_its_fault(kind, category, status, body, headers, expected) -> None:
    the_case = case(kind, category, document={"JobId": "abc"}, job_id="abc")
    result = verdicts(PII, the_case, answer(status, body, headers))
    assert failing(result) == expected
    for verdict in result.values():  # every failure says what it wanted and what it found
        assert not isinstance(verdict, Failed) or (verdict.message and verdict.expected and verdict.actual)


def test_medical_answers_need_no_job_status() -> None:
    the_case = Case(PHI.name, "existing.stop", Kind.EXISTING_JOB, "stop", document={"JobId": "abc"}, job_id="abc")
    result = verdicts(PHI, the_case, answer(200, {"JobId": "abc"}))
    assert result["job_status_allowed"] is NOT_APPLICABLE and result["job_id_echoed"] is PASSED
    assert result["response_schema"] is PASSED


def test_oracle_allows_both_not_found_statuses_and_reports_the_choice() -> None:
    the_case = case(Kind.UNKNOWN_JOB, "valid.letters", document={"JobId": "abc"})
    for status in (400, 404):
        decoded = answer(status, {"__type": "JobNotFoundException", "Message": "x"})
        assert expect(PII, the_case).matching(decoded) is not None
        assert observe(PII, the_case, decoded) == ("not-found status", f"JobNotFoundException {status}")


def test_extra_member_may_be_ignored_or_rejected() -> None:
    the_case = case(Kind.EXTRA_MEMBER, "extra.unknown_member", document={"JobId": "abc", "X": 1})
    ignored = answer(400, {"__type": "JobNotFoundException", "Message": "x"})
    rejected = answer(400, {"__type": "SerializationException", "Message": "x"})
    assert observe(PII, the_case, ignored) == ("unknown member", "extra member ignored")
    assert observe(PII, the_case, rejected) == ("unknown member", "extra member rejected")
    assert expect(PII, the_case).matching(answer(200, {"JobId": "abc"})) is None


CBOR = get_protocol("rpcv2Cbor")
CBOR_HEADERS = {"content-type": "application/cbor", "x-amzn-requestid": "r-1", "smithy-protocol": "rpc-v2-cbor"}


def cbor_answer(status: int, body: bytes, headers: dict[str, str] | None = None):
    return CBOR.decode(HttpResponse(status, {**CBOR_HEADERS, **(headers or {})}, body))


def test_cbor_error_type_comes_from_type_alone() -> None:
    import cbor2

    decoded = cbor_answer(400, cbor2.dumps({"__type": "com.amazonaws.comprehendmedical#ResourceNotFoundException",
                                            "code": "Other", "message": "m"}), {"x-amzn-errortype": "Header"})
    assert (decoded.error_type, decoded.error_type_source, decoded.message) == ("ResourceNotFoundException", "__type", "m")
    assert cbor_answer(400, cbor2.dumps({"code": "Other"})).error_type is None


def test_cbor_answers_must_decode_and_echo_smithy_protocol() -> None:
    import cbor2

    the_case = Case(PHI.name, "valid.letters", Kind.UNKNOWN_JOB, "x", document={"JobId": "abc"}, job_id="abc")
    request = CBOR.encode(PHI, the_case)
    assert request.path == "/service/ComprehendMedical_20181030/operation/StopPHIDetectionJob"
    assert request.headers["Smithy-Protocol"] == "rpc-v2-cbor" and cbor2.loads(request.body) == {"JobId": "abc"}

    def checks(decoded):
        return run_checks(CheckContext(PHI, the_case, request, decoded, expect(PHI, the_case), CBOR))

    good = checks(cbor_answer(400, cbor2.dumps({"__type": "x#ResourceNotFoundException", "message": "m"})))
    assert not failing(good)
    json_body = checks(cbor_answer(400, b'{"__type": "ResourceNotFoundException"}', {"content-type": "application/json"}))
    assert {"body_decodes", "content_type", "error_type"} <= failing(json_body)
    no_echo = checks(cbor_answer(400, cbor2.dumps({"__type": "ResourceNotFoundException", "message": "m"}),
                                 {"smithy-protocol": ""}))
    assert failing(no_echo) == {"smithy_protocol_header"}
    trailing = cbor_answer(400, cbor2.dumps({"__type": "ResourceNotFoundException"}) + b"\x00")
    assert "bytes after the data item" in trailing.decode_error


def test_an_unsigned_request_is_refused_or_answered_as_the_operation_never_otherwise() -> None:
    refused = answer(403, {"__type": "MissingAuthenticationTokenException", "message": "x"})
    served = answer(400, {"__type": "JobNotFoundException", "Message": "x"})
    elsewhere = answer(200, raw=b"<ListAllMyBucketsResult/>", headers={"content-type": "application/xml"})
    lax = case(Kind.AUTH, "auth.unsigned", document={"JobId": "x"}, signing="unsigned")
    strict = case(Kind.AUTH, "auth.unsigned_refused", document={"JobId": "x"}, signing="unsigned")
    assert expect(PII, lax).matching(refused) and expect(PII, lax).matching(served)
    assert observe(PII, lax, served) == ("unsigned request", "served unsigned")
    assert expect(PII, strict).matching(refused) and not expect(PII, strict).matching(served)
    assert failing(verdicts(PII, lax, elsewhere)) >= {"status_code", "content_type"}


def test_a_near_miss_of_a_real_job_must_find_no_job() -> None:
    near = case(Kind.NEAR_MISS, "near_miss.upper_case", document={"JobId": "ABC"}, job_id="ABC")
    assert expect(PII, near).matching(answer(404, {"__type": "JobNotFoundException", "Message": "x"}))
    assert expect(PII, near).matching(answer(400, {"__type": "ValidationException", "Message": "x"}))
    assert failing(verdicts(PII, near, answer(200, {"JobId": "ABC", "JobStatus": "STOP_REQUESTED"}))) == {"status_code"}
    untouched = case(Kind.DESCRIBE_JOB, "existing.untouched", document={"JobId": "abc"}, job_id="abc")
    assert expect(PII, untouched).outcomes[0].job_statuses == {"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"}


def test_rpcv2_errors_name_an_absolute_shape_id_and_a_message() -> None:
    import cbor2

    the_case = Case(PHI.name, "valid.letters", Kind.UNKNOWN_JOB, "x", document={"JobId": "abc"}, job_id="abc")
    request = CBOR.encode(PHI, the_case)

    def checks(body: dict) -> dict[str, CheckVerdict]:
        return run_checks(CheckContext(PHI, the_case, request, cbor_answer(400, cbor2.dumps(body)),
                                       expect(PHI, the_case), CBOR))

    good = checks({"__type": "com.amazonaws.comprehendmedical#ResourceNotFoundException", "message": "m"})
    assert good["rpcv2_error_body"] is PASSED
    bare = checks({"__type": "ResourceNotFoundException", "message": "m"})
    assert failing(bare) == {"rpcv2_error_body"} and "absolute shape id" in bare["rpcv2_error_body"].message
    silent = checks({"__type": "com.amazonaws.comprehendmedical#ResourceNotFoundException"})
    assert "rpcv2_error_body" in failing(silent)


def test_an_rpcv2_answer_without_smithy_protocol_is_judged_on_its_status_alone() -> None:
    import cbor2

    decoded = cbor_answer(400, cbor2.dumps({"__type": "x#ResourceNotFoundException", "message": "m"}),
                          {"smithy-protocol": "rpc-v2-json"})
    assert decoded.status_only and decoded.document is None and decoded.error_type is None
    the_case = Case(PHI.name, "valid.letters", Kind.UNKNOWN_JOB, "x", document={"JobId": "abc"}, job_id="abc")
    result = run_checks(CheckContext(PHI, the_case, CBOR.encode(PHI, the_case), decoded, expect(PHI, the_case), CBOR))
    assert failing(result) == {"smithy_protocol_header"} and result["status_code"] is PASSED
    assert result["error_type"] is NOT_APPLICABLE and result["body_decodes"] is NOT_APPLICABLE


@pytest.mark.parametrize(("category", "status", "body", "warned"), [
    ("protocol.unclaimed.no_content_type", 400, {"__type": "JobNotFoundException", "Message": "x"}, True),
    ("protocol.unclaimed.no_content_type", 415, {"__type": "UnsupportedMediaTypeException", "Message": "x"}, False),
    ("protocol.unclaimed.get", 404, {"__type": "UnknownOperationException"}, False),
])
def test_a_request_without_the_protocols_markers_served_is_a_warning(category, status, body, warned) -> None:
    the_case = case(Kind.UNCLAIMED, category, document={"JobId": "abc"}, job_id="abc")
    result = verdicts(PII, the_case, answer(status, body))
    assert {check for check in failing(result) if REGISTRY[check].severity == "error"} == set()
    assert isinstance(result["spec_should"], Failed) == warned
    if warned:
        assert observe(PII, the_case, answer(status, body)) == ("request without the protocol's markers",
                                                                "served anyway")


def test_null_and_empty_bodies_read_as_a_missing_member_never_a_serialization_error() -> None:
    serialization = answer(400, {"__type": "SerializationException", "Message": "x"})
    validation = answer(400, {"__type": "ValidationException", "message": "x"})
    for kind, category in ((Kind.SERIALIZATION, "invalid.type.null"), (Kind.EMPTY_BODY, "invalid.body.empty"),
                           (Kind.CONSTRAINT, "invalid.required.undefined")):
        the_case = case(kind, category, document={"JobId": None})
        assert failing(verdicts(PII, the_case, serialization)) == {"error_type"}, category
        assert not failing(verdicts(PII, the_case, validation)), category


@pytest.mark.parametrize("category", ["protocol.target.missing", "protocol.target.wrong_prefix",
                                      "protocol.path.wrong_service"])
def test_an_authentication_error_for_a_request_naming_another_service_is_legal_unless_sigv4_is_not_enforced(
        category: str) -> None:
    from conformance.judging.oracle import Circumstances

    operation = PII
    case = Case(operation.name, category, Kind.UNKNOWN_OPERATION, "names another service")
    refused = answer(400, {"__type": "InvalidSignatureException", "message": "Credential should be scoped"})
    unknown = answer(400, {"__type": "UnknownOperationException"})
    for circumstances in (Circumstances(sigv4_enforced=True), Circumstances(sigv4_enforced=None)):
        assert expect(operation, case, circumstances).matching(refused) is not None
        assert observe(operation, case, refused, circumstances) == ("order of checks", "authenticated before routing")
    assert expect(operation, case, Circumstances(sigv4_enforced=False)).matching(refused) is None
    assert expect(operation, case, Circumstances(sigv4_enforced=False)).matching(unknown) is not None
    other = Case(operation.name, "protocol.target.unknown", Kind.UNKNOWN_OPERATION, "names this service")
    assert expect(operation, other, Circumstances(sigv4_enforced=True)).matching(refused) is None
