"""The reference server against the MUSTs of both protocol specifications, on loopback HTTP.

Smithy's "Identification for claiming" rules (a request is an operation's only with all of its
protocol's marks), rpcv2Cbor's answer form on every answer of its path (CBOR, Smithy-Protocol, an
absolute shape id in `__type`, a `message`), `undefined` read as null, and the ServiceName segment
as an absolute shape id. README, "What the reference server answers to a request no protocol claims".
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import cbor2
import pytest
from test_reference_http import raw_exchange

from conformance.reference import ReferenceApp, ReferenceServer
from conformance.wire import cbor
from conformance.wire.protocol_facts import (
    AWS_JSON_1_1_CONTENT_TYPE,
    CBOR_CONTENT_TYPE,
    RPC_V2_CBOR,
    SMITHY_PROTOCOL_HEADER,
    rpcv2_path,
)
from conftest import send

PII = ("Comprehend_20171127", "StopPiiEntitiesDetectionJob", "com.amazonaws.comprehend", "JobNotFoundException")
PHI = ("ComprehendMedical_20181030", "StopPHIDetectionJob", "com.amazonaws.comprehendmedical",
       "ResourceNotFoundException")
STOPS = [pytest.param(PII, id="comprehend"), pytest.param(PHI, id="comprehendmedical")]
UNKNOWN_JOB = "0" * 32
CBOR_HEADERS = {SMITHY_PROTOCOL_HEADER: RPC_V2_CBOR, "Accept": CBOR_CONTENT_TYPE, "Content-Type": CBOR_CONTENT_TYPE}


def json_stop(server: ReferenceServer, stop: tuple[str, ...], body: bytes,
              **changes: str | None) -> tuple[int, dict[str, str], Any]:
    """An awsJson1_1 Stop with its headers, changed as `changes` says (None removes one; `_` in names for `-`)."""
    headers = {"Content-Type": AWS_JSON_1_1_CONTENT_TYPE, "X-Amz-Target": f"{stop[0]}.{stop[1]}"}
    return send(server.url, "POST", "/", _changed(headers, changes), body)


def cbor_stop(server: ReferenceServer, stop: tuple[str, ...], body: bytes, path: str | None = None,
              method: str = "POST", **changes: str | None) -> tuple[int, dict[str, str], Any]:
    """An rpcv2Cbor Stop with its headers, changed as `changes` says (None removes one; `_` in names for `-`)."""
    return send(server.url, method, path or rpcv2_path(stop[0], stop[1]), _changed(CBOR_HEADERS, changes), body)


def _changed(headers: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    out = dict(headers)
    for name, value in changes.items():
        out.pop(name.replace("_", "-"), None)
        if value is not None:
            out[name.replace("_", "-")] = value
    return out


def assert_cbor_form(headers: dict[str, str], answer: Any, namespace: str, error_type: str) -> None:
    """An rpcv2Cbor error answer: CBOR, Smithy-Protocol, `__type` the absolute shape id, and a message."""
    assert headers["content-type"] == CBOR_CONTENT_TYPE
    assert headers["smithy-protocol"] == RPC_V2_CBOR
    assert answer["__type"] == f"{namespace}#{error_type}"
    assert isinstance(answer["message"], str) and answer["message"]
    assert headers["x-amzn-requestid"]


def assert_json_form(headers: dict[str, str], answer: Any, error_type: str) -> None:
    """An awsJson1_1 error answer: its Content-Type and the bare shape name in `__type`."""
    assert headers["content-type"] == AWS_JSON_1_1_CONTENT_TYPE
    assert "smithy-protocol" not in headers
    assert answer["__type"] == error_type and answer["Message"]


# 1. CBOR undefined reads as null -------------------------------------------------------------------


@pytest.mark.parametrize(("data", "value"), [
    (b"\xa1\x65JobId\xf7", {"JobId": None}),
    (b"\xbf\x65JobId\xf7\xff", {"JobId": None}),  # indefinite-length map
    (b"\x83\xf7\x01\xf7", [None, 1, None]),
    (b"\xa1\x61a\xa1\x61b\x81\xf7", {"a": {"b": [None]}}),
    (b"\xd8\xff\xf7", cbor2.CBORTag(255, None)),
    (b"\xf7", None),
])
def test_cbor_undefined_decodes_as_null(data: bytes, value: Any) -> None:
    assert cbor.decode(data) == value


@pytest.mark.parametrize("stop", STOPS)
def test_undefined_job_id_is_a_missing_job_id(reference_server: ReferenceServer, stop: tuple[str, ...]) -> None:
    status, headers, answer = cbor_stop(reference_server, stop, b"\xa1\x65JobId\xf7")
    assert status == 400
    assert_cbor_form(headers, answer, stop[2], "ValidationException")
    assert "Value null at 'jobId' failed to satisfy constraint: Member must not be null" in answer["message"]


@pytest.mark.parametrize("stop", STOPS)
def test_undefined_in_an_unknown_member_is_ignored_like_any_null(reference_server: ReferenceServer,
                                                                 stop: tuple[str, ...]) -> None:
    body = b"\xa2\x65JobId" + cbor.encode(UNKNOWN_JOB) + b"\x65Extra\x82\xf7\xf7"
    status, headers, answer = cbor_stop(reference_server, stop, body)
    assert status == 400
    assert_cbor_form(headers, answer, stop[2], stop[3])


# 2. What the HTTP layer answers itself, on the rpcv2 path, is an rpcv2Cbor answer ---------------------


def raw_answer(server: ReferenceServer, payload: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; the status, lower-cased headers and body of the one answer before the server closes."""
    head, _, body = raw_exchange(server, payload).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split(" ")[1]), headers, body


FRAMING_FAULTS = [
    pytest.param(b"Content-Length: banana\r\n\r\n", 400, id="bad-content-length"),
    pytest.param(b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, id="two-content-lengths"),
    pytest.param(b"Transfer-Encoding: gzip\r\n\r\n", 400, id="unsupported-transfer-encoding"),
    pytest.param(b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, id="malformed-chunk-size"),
    pytest.param(b"Transfer-Encoding: chunked\r\n\r\n2\r\n\xa0\xa0XX", 400, id="malformed-chunk-end"),
    pytest.param(b"Content-Length: 99999999\r\n\r\n", 413, id="over-the-size-limit"),
    pytest.param(b"Transfer-Encoding: chunked\r\n\r\n200000\r\n", 413, id="chunk-over-the-size-limit"),
    pytest.param(b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431, id="header-line-too-long"),
]


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize(("fault", "status"), FRAMING_FAULTS)
def test_framing_errors_on_the_rpcv2_path_are_rpcv2_answers(reference_server: ReferenceServer, stop: tuple[str, ...],
                                                            fault: bytes, status: int) -> None:
    request_line = f"POST {rpcv2_path(stop[0], stop[1])} HTTP/1.1\r\n".encode()
    code, headers, body = raw_answer(reference_server, request_line + b"Host: x\r\nSmithy-Protocol: rpc-v2-cbor\r\n"
                                     + fault)
    assert code == status
    assert_cbor_form(headers, cbor.decode(body), stop[2], "RequestEntityTooLargeException" if status == 413
                     else "BadRequestException")


@pytest.mark.parametrize(("fault", "status"), FRAMING_FAULTS)
def test_framing_errors_on_the_awsjson_path_stay_json(reference_server: ReferenceServer, fault: bytes,
                                                      status: int) -> None:
    code, headers, body = raw_answer(reference_server, b"POST / HTTP/1.1\r\nHost: x\r\n" + fault)
    assert code == status
    assert_json_form(headers, json.loads(body), "RequestEntityTooLargeException" if status == 413
                     else "BadRequestException")


def test_a_bad_http_version_on_the_rpcv2_path_is_an_rpcv2_answer(reference_server: ReferenceServer) -> None:
    code, headers, body = raw_answer(reference_server, f"POST {rpcv2_path(PHI[0], PHI[1])} HTTP/9.9\r\n\r\n".encode())
    assert code == 400
    assert_cbor_form(headers, cbor.decode(body), PHI[2], "BadRequestException")


def test_the_size_limit_on_the_rpcv2_path_is_an_rpcv2_answer(reference_app: ReferenceApp) -> None:
    with ReferenceServer(app=reference_app, max_body_bytes=64) as server:
        status, headers, answer = cbor_stop(server, PHI, cbor.encode({"JobId": "a" * 100}))
    assert status == 413
    assert_cbor_form(headers, answer, PHI[2], "RequestEntityTooLargeException")
    assert "64 bytes" in answer["message"]


def test_an_unreadable_request_line_after_an_rpcv2_request_is_not_taken_for_it(
        reference_server: ReferenceServer) -> None:
    """The path of the previous request on a keep-alive connection does not decide the next answer's form."""
    body = cbor.encode({"JobId": UNKNOWN_JOB})
    first = (f"POST {rpcv2_path(PII[0], PII[1])} HTTP/1.1\r\nHost: x\r\nSmithy-Protocol: rpc-v2-cbor\r\n"
             f"Content-Type: application/cbor\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    received = raw_exchange(reference_server, first + b"GARBAGE\r\n\r\n")
    answers = received.split(b"HTTP/1.")
    assert len(answers) == 3, received  # two answers, then the server closed
    assert b"application/cbor" in answers[1] and b"JobNotFoundException" in answers[1]
    assert b"application/x-amz-json-1.1" in answers[2] and b'"__type":"BadRequestException"' in answers[2]


# 3. Claim rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("content_type", [
    "application/x-amz-json-1.1", "application/x-amz-json-1.1; charset=utf-8", "Application/X-Amz-JSON-1.1",
])
def test_awsjson_claims_its_content_type_with_any_parameters(reference_server: ReferenceServer, stop: tuple[str, ...],
                                                             content_type: str) -> None:
    status, headers, answer = json_stop(reference_server, stop, json.dumps({"JobId": UNKNOWN_JOB}).encode(),
                                        Content_Type=content_type)
    assert status == 400
    assert_json_form(headers, answer, stop[3])


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("content_type", [
    None, "", "application/json", "application/x-amz-json-1.0", "application/cbor", "text/plain",
    "application/x-amz-json-1.10",
])
def test_awsjson_without_its_content_type_names_no_operation(reference_server: ReferenceServer, stop: tuple[str, ...],
                                                             content_type: str | None) -> None:
    for body in (json.dumps({"JobId": UNKNOWN_JOB}).encode(), b""):
        status, headers, answer = json_stop(reference_server, stop, body, Content_Type=content_type)
        assert status == 400, answer
        assert_json_form(headers, answer, "UnknownOperationException")
        assert "Content-Type" in answer["Message"]


@pytest.mark.parametrize("stop", STOPS)
def test_awsjson_empty_body_with_its_content_type_is_the_empty_input(reference_server: ReferenceServer,
                                                                     stop: tuple[str, ...]) -> None:
    status, headers, answer = json_stop(reference_server, stop, b"")
    assert status == 400
    assert_json_form(headers, answer, "ValidationException")


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("changes", [
    {"X_Amz_Target": None}, {"X_Amz_Target": "Comprehend_20171127.NoSuchJob"}, {"X_Amz_Target": "Stop"},
])
def test_awsjson_without_a_known_target_names_no_operation(reference_server: ReferenceServer, stop: tuple[str, ...],
                                                           changes: dict[str, str | None]) -> None:
    status, headers, answer = json_stop(reference_server, stop, json.dumps({"JobId": UNKNOWN_JOB}).encode(), **changes)
    assert status == 400
    assert_json_form(headers, answer, "UnknownOperationException")


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("value", [None, "", "rpc-v2-json", "RPC-V2-CBOR", "rpc-v2-cbor-x", "awsJson1_1"])
def test_rpcv2_without_smithy_protocol_names_no_operation(reference_server: ReferenceServer, stop: tuple[str, ...],
                                                          value: str | None) -> None:
    status, headers, answer = cbor_stop(reference_server, stop, cbor.encode({"JobId": UNKNOWN_JOB}),
                                        Smithy_Protocol=value)
    assert status == 404
    assert_cbor_form(headers, answer, stop[2], "UnknownOperationException")
    assert SMITHY_PROTOCOL_HEADER in answer["message"]


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("content_type", [None, "application/json", "application/x-amz-json-1.1", "text/plain", ""])
def test_rpcv2_body_without_the_cbor_content_type_is_unsupported(
        reference_server: ReferenceServer, stop: tuple[str, ...], content_type: str | None) -> None:
    status, headers, answer = cbor_stop(reference_server, stop, cbor.encode({"JobId": UNKNOWN_JOB}),
                                        Content_Type=content_type)
    assert status == 415
    assert_cbor_form(headers, answer, stop[2], "UnsupportedMediaTypeException")


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("content_type", ["application/cbor; foo=bar", "APPLICATION/CBOR"])
def test_rpcv2_claims_the_cbor_content_type_with_any_parameters(reference_server: ReferenceServer,
                                                                stop: tuple[str, ...], content_type: str) -> None:
    status, headers, answer = cbor_stop(reference_server, stop, cbor.encode({"JobId": UNKNOWN_JOB}),
                                        Content_Type=content_type)
    assert status == 400
    assert_cbor_form(headers, answer, stop[2], stop[3])


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("content_type", [None, CBOR_CONTENT_TYPE])
def test_rpcv2_empty_body_is_the_empty_input(reference_server: ReferenceServer, stop: tuple[str, ...],
                                             content_type: str | None) -> None:
    status, headers, answer = cbor_stop(reference_server, stop, b"", Content_Type=content_type)
    assert status == 400
    assert_cbor_form(headers, answer, stop[2], "ValidationException")


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize(("method", "changes", "status", "error_type"), [
    ("GET", {}, 404, "UnknownOperationException"),
    ("PUT", {}, 404, "UnknownOperationException"),
    ("POST", {"X_Amz_Target": f"{PII[0]}.{PII[1]}"}, 400, "BadRequestException"),
    ("POST", {"X_Amzn_Target": f"{PII[0]}.{PII[1]}"}, 400, "BadRequestException"),
])
def test_rpcv2_other_refusals_are_rpcv2_answers(reference_server: ReferenceServer, stop: tuple[str, ...], method: str,
                                                changes: dict[str, str], status: int, error_type: str) -> None:
    code, headers, answer = cbor_stop(reference_server, stop, cbor.encode({"JobId": UNKNOWN_JOB}),
                                      method=method, **changes)
    assert code == status
    assert_cbor_form(headers, answer, stop[2], error_type)


@pytest.mark.parametrize("path", ["//", "//service/Comprehend_20171127/operation/StopPiiEntitiesDetectionJob"])
def test_a_path_is_taken_as_sent(reference_server: ReferenceServer, path: str) -> None:
    """`//` is not `/` (the stdlib would make it so): awsJson1_1 claims only the path `/`."""
    status, headers, answer = send(reference_server.url, "POST", path, {
        "Content-Type": AWS_JSON_1_1_CONTENT_TYPE, "X-Amz-Target": f"{PII[0]}.{PII[1]}"}, b"{}")
    assert status == 404
    assert_json_form(headers, answer, "UnknownOperationException")


# 4. The ServiceName segment may be an absolute shape id; the operation segment may not ----------------


@pytest.mark.parametrize("stop", STOPS)
def test_absolute_service_id_routes_like_the_bare_name(reference_server: ReferenceServer,
                                                       stop: tuple[str, ...]) -> None:
    path = rpcv2_path(f"{stop[2]}.{stop[0]}", stop[1])
    status, headers, answer = cbor_stop(reference_server, stop, cbor.encode({"JobId": UNKNOWN_JOB}), path=path)
    assert status == 400
    assert_cbor_form(headers, answer, stop[2], stop[3])


def test_absolute_service_id_stops_a_real_job(reference_server: ReferenceServer) -> None:
    start_path = rpcv2_path(f"{PII[2]}.{PII[0]}", "StartPiiEntitiesDetectionJob")
    document = {"InputDataConfig": {"S3Uri": "s3://bucket/in"}, "OutputDataConfig": {"S3Uri": "s3://bucket/out"},
                "Mode": "ONLY_OFFSETS", "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r", "LanguageCode": "en"}
    status, _, started = cbor_stop(reference_server, PII, cbor.encode(document), path=start_path)
    assert status == 200, started
    path = rpcv2_path(f"{PII[2]}.{PII[0]}", PII[1])
    status, headers, answer = cbor_stop(reference_server, PII, cbor.encode({"JobId": started["JobId"]}),
                                        path=path)
    assert (status, answer) == (200, {"JobId": started["JobId"], "JobStatus": "STOP_REQUESTED"})
    assert headers["smithy-protocol"] == RPC_V2_CBOR


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("service", [
    "com.amazonaws.other.{name}", "{namespace}x.{name}", "{namespace}.{name}x", ".{name}", "{namespace}#{name}",
    "{namespace}%23{name}", "{namespace}.",
])
def test_another_namespace_names_no_service(reference_server: ReferenceServer, stop: tuple[str, ...],
                                            service: str) -> None:
    path = rpcv2_path(service.format(namespace=stop[2], name=stop[0]), stop[1])
    status, headers, answer = cbor_stop(reference_server, stop, cbor.encode({"JobId": UNKNOWN_JOB}), path=path)
    assert status == 404
    assert answer["__type"].endswith("#UnknownOperationException")
    assert headers["smithy-protocol"] == RPC_V2_CBOR


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("operation", ["{namespace}#{operation}", "{namespace}.{operation}",
                                       "{namespace}%23{operation}", "{service}.{operation}",
                                       "{namespace}.{service}.{operation}"])
@pytest.mark.parametrize("absolute_service", [False, True])
def test_absolute_operation_id_is_not_accepted(reference_server: ReferenceServer, stop: tuple[str, ...],
                                               operation: str, absolute_service: bool) -> None:
    segment = operation.format(namespace=stop[2], service=stop[0], operation=stop[1])
    service = f"{stop[2]}.{stop[0]}" if absolute_service else stop[0]
    status, headers, answer = cbor_stop(reference_server, stop, cbor.encode({"JobId": UNKNOWN_JOB}),
                                        path=rpcv2_path(service, segment))
    assert status == 404
    assert_cbor_form(headers, answer, stop[2], "UnknownOperationException")


@pytest.mark.parametrize(("service", "namespace"), [
    (PII[0], PII[2]), (PHI[0], PHI[2]), (f"{PHI[2]}.{PHI[0]}", PHI[2]),
    ("NoSuchService", PII[2]), (f"{PII[2]}.{PHI[0]}", PII[2]),  # unknown: the first served service's namespace
])
def test_error_shape_ids_take_the_namespace_of_the_named_service(reference_server: ReferenceServer, service: str,
                                                                 namespace: str) -> None:
    status, headers, answer = cbor_stop(reference_server, PII, b"", path=rpcv2_path(service, "NoSuchOperation"))
    assert status == 404
    assert_cbor_form(headers, answer, namespace, "UnknownOperationException")


# 5. `conformance serve` names the protocols it serves -----------------------------------------------------


def test_the_app_serves_both_protocols_by_its_catalog() -> None:
    app = ReferenceApp()
    assert sorted(app.protocols) == ["awsJson1_1", "rpcv2Cbor"]
    assert set(app.protocols) <= {name for route in app.routes.values() for name in route.operation.service.protocols}


def test_serve_prints_the_protocols_it_serves() -> None:
    process = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
    finally:
        process.terminate()
        process.wait(timeout=10)
    served = re.search(r"; ([^;()]+)\)$", line.strip())
    assert served, line
    assert served.group(1).split(", ") == sorted(ReferenceApp().protocols)
