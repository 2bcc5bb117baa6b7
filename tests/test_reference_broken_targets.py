"""The broken targets of issue 10 as variants of the reference server, each shown over real HTTP on loopback.

Each test starts the variant as `conformance serve --variant NAME` would and shows its fault (or,
for the requests it leaves alone, the reference behaviour) without the suite's own transport.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import cbor2
import pytest
import requests

from conformance.reference import ReferenceApp, ReferenceServer
from conformance.reference.variants import VARIANTS, build_app
from conformance.wire import cbor
from conftest import post

PII = "Comprehend_20171127"
PHI = "ComprehendMedical_20181030"
PII_STOP, PHI_STOP = f"{PII}.StopPiiEntitiesDetectionJob", f"{PHI}.StopPHIDetectionJob"
PII_START, PII_DESCRIBE = f"{PII}.StartPiiEntitiesDetectionJob", f"{PII}.DescribePiiEntitiesDetectionJob"
PHI_START, PHI_DESCRIBE = f"{PHI}.StartPHIDetectionJob", f"{PHI}.DescribePHIDetectionJob"
PII_START_BODY = {
    "InputDataConfig": {"S3Uri": "s3://bucket/in"}, "OutputDataConfig": {"S3Uri": "s3://bucket/out"},
    "Mode": "ONLY_OFFSETS", "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r", "LanguageCode": "en",
}
PHI_START_BODY = {
    "InputDataConfig": {"S3Bucket": "bucket"}, "OutputDataConfig": {"S3Bucket": "bucket"},
    "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r", "LanguageCode": "en",
}
# Any Authorization header will do: the variants do not enforce SigV4.
SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/comprehend/aws4_request, "
                           "SignedHeaders=host, Signature=0"}
JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.1"}
CBOR_HEADERS = {"Content-Type": "application/cbor", "Accept": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"}


@contextmanager
def serving(name: str) -> Iterator[ReferenceServer]:
    """The variant on an ephemeral loopback port, with the HTTP options it registers."""
    with ReferenceServer(app=build_app(name), http_options=VARIANTS[name].http) as server:
        yield server


def cbor_path(target: str) -> str:
    """The rpcv2Cbor path of an X-Amz-Target."""
    service, operation = target.split(".")
    return f"/service/{service}/operation/{operation}"


def start(server: ReferenceServer, target: str = PII_START, body: dict[str, Any] | None = None) -> str:
    """Start a job over awsJson (signed-looking, so every variant serves it); returns its JobId."""
    status, _, answer = post(server.url, target, json.dumps(body or PII_START_BODY), headers=SIGNED)
    assert status == 200, answer
    return str(answer["JobId"])


def described(answer: dict[str, Any]) -> dict[str, Any]:
    """The job properties a Describe answer wraps, whatever the wrapping member is called."""
    (properties,) = answer.values()
    return dict(properties)


# everything_404 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "headers", "body"), [
    ("POST", "/", {**JSON_HEADERS, **SIGNED, "X-Amz-Target": PII_STOP}, b'{"JobId": "x"}'),
    ("POST", "/", {**JSON_HEADERS, **SIGNED, "X-Amz-Target": PII_START}, json.dumps(PII_START_BODY).encode()),
    ("POST", cbor_path(PHI_STOP), {**CBOR_HEADERS, **SIGNED}, cbor.encode({"JobId": "x"})),
    ("GET", "/", {}, b""),
    ("PUT", "/anything/at/all?x=1", {"Content-Type": "text/plain"}, b"hello"),
])
def test_everything_404_answers_every_request_the_same(method: str, path: str, headers: dict[str, str],
                                                       body: bytes) -> None:
    with serving("everything_404") as server:
        response = requests.request(method, server.url + path, headers=headers, data=body, timeout=10)
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "text/plain"
        assert response.content == b"Not Found"
        assert "x-amzn-RequestId" not in response.headers
        assert server.jobs.count() == 0  # even a valid Start started nothing: no operation is served


# not_found_404_max_length_33 --------------------------------------------------------------------


@pytest.mark.parametrize(("target", "not_found"), [(PII_STOP, "JobNotFoundException"),
                                                   (PHI_STOP, "ResourceNotFoundException")])
def test_not_found_404_max_length_33_accepts_33_characters_and_answers_404(target: str, not_found: str) -> None:
    with serving("not_found_404_max_length_33") as server:
        for length, status, error_type in ((32, 404, not_found), (33, 404, not_found),
                                           (34, 400, "ValidationException")):
            code, _, answer = post(server.url, target, json.dumps({"JobId": "a" * length}), headers=SIGNED)
            assert (code, answer["__type"]) == (status, error_type), length
    # The reference refuses 33 characters: the 404 above is the legal part, the acceptance the fault.
    with ReferenceServer(app=ReferenceApp()) as server:
        code, _, answer = post(server.url, target, json.dumps({"JobId": "a" * 33}), headers=SIGNED)
        assert (code, answer["__type"]) == (400, "ValidationException")


# drops_connection_on_lone_surrogate ------------------------------------------------------------


LONE_SURROGATES = [
    pytest.param(PII_STOP, b'{"JobId": "\\ud800"}', id="json-high"),
    pytest.param(PHI_STOP, b'{"JobId": "ab\\uDFFFcd"}', id="json-low-upper-hex"),
    pytest.param(PII_STOP, b'{"JobId": "\\uD83D\\u0041"}', id="json-high-then-not-low"),
    pytest.param(PII_STOP, b'{"JobId": "x", "Other": ["\\ude00\\ud83d"]}', id="json-reversed-pair"),
    pytest.param(PHI_STOP, b"\xa1\x65JobId\x63\xed\xa0\x80", id="cbor-high"),
    pytest.param(PII_STOP, b"\xa1\x65JobId\x65ab\xed\xbf\xbf", id="cbor-low"),
]


def send(server: ReferenceServer, target: str, body: bytes) -> requests.Response:
    """One request to `target` on the wire its body is written for (CBOR bodies begin with a map head)."""
    cbor = body[:1] != b"{"
    path, headers = (cbor_path(target), CBOR_HEADERS) if cbor else ("/", {**JSON_HEADERS, "X-Amz-Target": target})
    return requests.post(server.url + path, data=body, headers={**headers, **SIGNED}, timeout=10)


@pytest.mark.parametrize(("target", "body"), LONE_SURROGATES)
def test_lone_surrogate_gets_no_answer_while_others_are_answered(target: str, body: bytes) -> None:
    with serving("drops_connection_on_lone_surrogate") as server:
        with pytest.raises(requests.ConnectionError):
            send(server, target, body)
        # The same server answers everything else, on the same wire.
        normal = b'{"JobId": "x"}' if body[:1] == b"{" else cbor.encode({"JobId": "x"})
        assert send(server, target, normal).status_code == 400


@pytest.mark.parametrize("body", [
    pytest.param(b'{"JobId": "\\ud83d\\ude00"}', id="json-pair"),
    pytest.param(b'{"JobId": "\\\\ud800"}', id="json-escaped-backslash"),
    pytest.param(b'{"JobId": "\xed\xa0\x80"}', id="json-raw-surrogate-bytes"),  # bad UTF-8, not an escape
    pytest.param(cbor.encode({"JobId": "\U0001f600"}), id="cbor-astral"),
    pytest.param(b"\xa1\x65JobId\x43\xed\xa0\x80", id="cbor-byte-string"),
])
def test_bodies_without_a_lone_surrogate_are_answered(body: bytes) -> None:
    with serving("drops_connection_on_lone_surrogate") as server:
        response = send(server, PII_STOP, body)
        assert response.status_code == 400 and response.headers["x-amzn-RequestId"]


def test_lone_surrogate_connection_closes_without_a_status_line() -> None:
    body = b'{"JobId": "\\ud800"}'
    request = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: "
               + PII_STOP.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    with serving("drops_connection_on_lone_surrogate") as server:
        with socket.create_connection(server.address, timeout=5) as sock:
            sock.sendall(request)
            assert sock.recv(1024) == b""  # an orderly close, and not one byte before it


# cbor_shared_references ------------------------------------------------------------------------


def test_cbor_answers_are_maps_that_contain_themselves() -> None:
    with serving("cbor_shared_references") as server:
        job_id = start(server)
        response = requests.post(server.url + cbor_path(PII_STOP), data=cbor.encode({"JobId": job_id}),
                                 headers={**CBOR_HEADERS, **SIGNED}, timeout=10)
        assert response.status_code == 200
        body = response.content
        assert body.startswith(b"\xd8\x1c\xa3")  # tag 28 (shareable) on a map of three members
        assert body.endswith(b"\x64Self\xd8\x1d\x00")  # "Self": tag 29 (shared reference) to value 0
        document = cbor2.loads(body)
        assert document["Self"] is document
        assert (document["JobId"], document["JobStatus"]) == (job_id, "STOP_REQUESTED")
        # The bytes are what cbor2 itself writes for such a map.
        expected: dict[str, Any] = {"JobId": job_id, "JobStatus": "STOP_REQUESTED"}
        expected["Self"] = expected
        assert body == cbor2.dumps(expected, value_sharing=True)

        # Error answers too; awsJson answers are left alone.
        error = requests.post(server.url + cbor_path(PHI_STOP), data=cbor.encode({"JobId": "x"}),
                              headers={**CBOR_HEADERS, **SIGNED}, timeout=10)
        assert error.status_code == 400 and error.content[:2] == b"\xd8\x1c" and b"\xd8\x1d\x00" in error.content
        code, _, answer = post(server.url, PII_STOP, json.dumps({"JobId": "x"}), headers=SIGNED)
        assert (code, answer["__type"]) == (400, "JobNotFoundException")


# unsigned_answered_by_another_service ---------------------------------------------------------


S3_XML = (b'<?xml version="1.0" encoding="UTF-8"?>'
          b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01">'
          b"<Owner><ID>bcaf1ffd86f41161ca5fb16fd081034f</ID><DisplayName>webfile</DisplayName></Owner>"
          b"<Buckets></Buckets></ListAllMyBucketsResult>")


def test_unsigned_requests_are_answered_by_s3_and_signed_ones_normally() -> None:
    with serving("unsigned_answered_by_another_service") as server:
        job_id = start(server)
        for path, headers, body in (
            ("/", {**JSON_HEADERS, "X-Amz-Target": PII_STOP}, json.dumps({"JobId": job_id}).encode()),
            (cbor_path(PHI_STOP), CBOR_HEADERS, cbor.encode({"JobId": "x"})),
            ("/", {**JSON_HEADERS, "X-Amz-Target": PII_STOP, "Authorization": ""}, b'{"JobId": "x"}'),
        ):
            response = requests.post(server.url + path, data=body, headers=headers, timeout=10)
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "application/xml"
            assert response.content == S3_XML
            assert response.headers["x-amzn-RequestId"]

        # The unsigned Stop never reached the service: the job is still running.
        code, _, answer = post(server.url, PII_DESCRIBE, json.dumps({"JobId": job_id}), headers=SIGNED)
        assert code == 200 and described(answer)["JobStatus"] in ("SUBMITTED", "IN_PROGRESS")
        code, headers, answer = post(server.url, PII_STOP, json.dumps({"JobId": job_id}), headers=SIGNED)
        assert (code, headers["content-type"]) == (200, "application/x-amz-json-1.1")
        assert answer == {"JobId": job_id, "JobStatus": "STOP_REQUESTED"}
        code, _, answer = post(server.url, PII_STOP, json.dumps({"JobId": "x"}), headers=SIGNED)
        assert (code, answer["__type"]) == (400, "JobNotFoundException")


# Job lookup faults ------------------------------------------------------------------------------


SERVICES = [
    pytest.param(PII_START, PII_START_BODY, PII_DESCRIBE, PII_STOP, id="comprehend"),
    pytest.param(PHI_START, PHI_START_BODY, PHI_DESCRIBE, PHI_STOP, id="comprehendmedical"),
]
NEAR_IDS = {
    "job_lookup_ignores_case": {"upper_case": str.upper},
    "job_lookup_trims": {"trailing_space": lambda job_id: job_id + " ", "leading_space": lambda job_id: " " + job_id,
                         "trailing_newline": lambda job_id: job_id + "\n",
                         "line_separator": lambda job_id: job_id + "\u2028"},
    "job_lookup_prefix": {"prefix_31": lambda job_id: job_id[:-1], "prefix_8": lambda job_id: job_id[:8]},
}
FAULTY_LOOKUPS = [pytest.param(name, label, id=f"{name}-{label}") for name, near in NEAR_IDS.items() for label in near]


@pytest.mark.parametrize(("start_target", "start_body", "describe", "stop"), SERVICES)
@pytest.mark.parametrize(("name", "label"), FAULTY_LOOKUPS)
def test_faulty_lookup_finds_the_job_by_an_id_next_to_its_own(name: str, label: str, start_target: str,
                                                              start_body: dict[str, Any], describe: str,
                                                              stop: str) -> None:
    with serving(name) as server:
        job_id = start(server, start_target, start_body)
        near = NEAR_IDS[name][label](job_id)
        assert near != job_id

        code, _, answer = post(server.url, describe, json.dumps({"JobId": near}), headers=SIGNED)
        assert code == 200, answer
        assert described(answer)["JobId"] == job_id

        code, _, answer = post(server.url, stop, json.dumps({"JobId": near}), headers=SIGNED)
        assert code == 200, answer
        assert answer.get("JobStatus", "STOP_REQUESTED") == "STOP_REQUESTED"  # Medical's Stop answers JobId only

        # The near id stopped the real job.
        code, _, answer = post(server.url, describe, json.dumps({"JobId": job_id}), headers=SIGNED)
        assert code == 200 and described(answer)["JobStatus"] in ("STOP_REQUESTED", "STOPPED")


# Describe comes from botocore's model, which gives the not-found error 404; Stop's reference page says 400.
NO_SUCH_JOB = {(400, "JobNotFoundException"), (404, "JobNotFoundException"), (400, "ValidationException")}


@pytest.mark.parametrize(("name", "label"), FAULTY_LOOKUPS)
def test_reference_finds_no_job_by_those_ids(name: str, label: str) -> None:
    with ReferenceServer(app=ReferenceApp()) as server:
        job_id = start(server)
        near = NEAR_IDS[name][label](job_id)
        for target in (PII_DESCRIBE, PII_STOP):
            code, _, answer = post(server.url, target, json.dumps({"JobId": near}), headers=SIGNED)
            assert (code, answer["__type"]) in NO_SUCH_JOB, answer


@pytest.mark.parametrize(("name", "other"), [
    ("job_lookup_ignores_case", lambda job_id: job_id[:-1] + ("Z" if job_id[-1] != "z" else "Y")),
    ("job_lookup_trims", lambda job_id: job_id[:-1] + " "),
    ("job_lookup_prefix", lambda job_id: job_id[:7]),  # below the 8 characters a prefix needs
    ("job_lookup_prefix", lambda job_id: "0" + job_id[:8]),
])
def test_faulty_lookup_still_misses_other_ids(name: str, other: Any) -> None:
    with serving(name) as server:
        job_id = start(server)
        code, _, answer = post(server.url, PII_STOP, json.dumps({"JobId": other(job_id)}), headers=SIGNED)
        assert (code, answer["__type"]) == (400, "JobNotFoundException")
