"""The reference server on the wire: awsJson1_1 shapes, client mistakes, framing, limits, concurrency."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from conformance.reference import ManualClock, ReferenceApp, ReferenceServer
from conftest import post

PII_STOP = "Comprehend_20171127.StopPiiEntitiesDetectionJob"
PHI_STOP = "ComprehendMedical_20181030.StopPHIDetectionJob"
PII_START = "Comprehend_20171127.StartPiiEntitiesDetectionJob"
START_BODY = {
    "InputDataConfig": {"S3Uri": "s3://bucket/in"}, "OutputDataConfig": {"S3Uri": "s3://bucket/out"},
    "Mode": "ONLY_OFFSETS", "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r", "LanguageCode": "en",
}


def start_job(server: ReferenceServer) -> str:
    status, _, body = post(server.url, PII_START, json.dumps(START_BODY))
    assert status == 200, body
    return body["JobId"]


def test_success_answer_shape(reference_server: ReferenceServer) -> None:
    job_id = start_job(reference_server)
    status, headers, body = post(reference_server.url, PII_STOP, json.dumps({"JobId": job_id}))
    assert status == 200
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert len(headers["x-amzn-requestid"]) == 36
    assert body == {"JobId": job_id, "JobStatus": "STOP_REQUESTED"}


@pytest.mark.parametrize(
    ("body", "error_type", "message"),
    [
        ('{"JobId": 5}', "SerializationException", "NUMBER_VALUE can not be converted to a String"),
        ('{"JobId": true}', "SerializationException", "BOOLEAN_VALUE can not be converted to a String"),
        ('{"JobId": {}}', "SerializationException", "Start of structure or map found where not expected."),
        ('{"JobId": []}', "SerializationException", "Start of list found where not expected."),
        ("[1]", "SerializationException", "Start of list found where not expected."),
        ('"JobId"', "SerializationException", "STRING_VALUE can not be converted to a structure"),
        ('{"JobId": "a"', "SerializationException", "not valid JSON"),
        ('{"JobId": NaN}', "SerializationException", "not valid JSON"),
        (b'{"JobId": "\xff"}', "SerializationException", "not valid UTF-8"),
        ("[" * 100_000 + "]" * 100_000, "SerializationException", "nested too deeply"),
        ("", "ValidationException", "Value null at 'jobId' failed to satisfy constraint: Member must not be null"),
        ("{}", "ValidationException", "Value null at 'jobId' failed to satisfy constraint: Member must not be null"),
        ('{"JobId": null}', "ValidationException", "Value null at 'jobId'"),
        ('{"JobId": ""}', "ValidationException", "Member must have length greater than or equal to 1"),
        ('{"JobId": "job!"}', "ValidationException",
         r"Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$"),
        ('{"JobId": "\\ud800"}', "ValidationException", "Member must satisfy regular expression pattern"),
    ],
)
@pytest.mark.parametrize("target", [PII_STOP, PHI_STOP])
def test_client_mistakes_are_400_with_aws_error_shape(
    reference_server: ReferenceServer, target: str, body: str | bytes, error_type: str, message: str
) -> None:
    status, headers, answer = post(reference_server.url, target, body)
    assert status == 400
    assert answer["__type"] == error_type
    assert message in answer["Message"]
    assert headers["content-type"] == "application/x-amz-json-1.1" and headers["x-amzn-requestid"]


def test_every_constraint_break_is_listed(reference_server: ReferenceServer) -> None:
    status, _, answer = post(reference_server.url, PII_STOP, json.dumps({"JobId": "!" * 33}))
    assert status == 400 and answer["Message"].startswith("2 validation errors detected: ")
    assert "length less than or equal to 32" in answer["Message"] and "regular expression" in answer["Message"]


def test_unknown_members_are_ignored(reference_server: ReferenceServer) -> None:
    job_id = start_job(reference_server)
    status, _, answer = post(reference_server.url, PII_STOP, json.dumps({"JobId": job_id, "Extra": [1]}))
    assert (status, answer["JobStatus"]) == (200, "STOP_REQUESTED")


@pytest.mark.parametrize(
    ("target", "method", "path", "status", "error_type"),
    [
        (None, "POST", "/", 400, "UnknownOperationException"),
        ("Comprehend_20171127.StopEverything", "POST", "/", 400, "UnknownOperationException"),
        ("ComprehendMedical_20181030.StopPiiEntitiesDetectionJob", "POST", "/", 400, "UnknownOperationException"),
        ("", "POST", "/", 400, "UnknownOperationException"),
        (PII_STOP, "GET", "/", 404, "UnknownOperationException"),
        (PII_STOP, "PATCH", "/", 404, "UnknownOperationException"),
        (PII_STOP, "BREW", "/", 404, "UnknownOperationException"),
        (PII_STOP, "POST", "/other", 404, "UnknownOperationException"),
    ],
)
def test_unknown_operations(reference_server: ReferenceServer, target, method, path, status, error_type) -> None:
    code, headers, answer = post(reference_server.url, target, '{"JobId": "x"}', method=method, path=path)
    assert (code, answer["__type"]) == (status, error_type)
    assert headers["x-amzn-requestid"]


def test_region_of_the_signature_scope_names_the_arn(reference_server: ReferenceServer) -> None:
    auth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-2/comprehend/aws4_request, SignedHeaders=host, Signature=0"
    _, _, answer = post(reference_server.url, PII_START, json.dumps(START_BODY), headers={"Authorization": auth})
    assert answer["JobArn"].startswith("arn:aws:comprehend:eu-west-2:123456789012:pii-entities-detection-job/")


def raw_exchange(server: ReferenceServer, payload: bytes, timeout: float = 5) -> bytes:
    """Send raw bytes, return everything the server answers until it closes or goes quiet."""
    with socket.create_connection(server.address, timeout=timeout) as sock:
        sock.sendall(payload)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return received


def test_chunked_request_body(reference_server: ReferenceServer) -> None:
    job_id = start_job(reference_server)
    body = json.dumps({"JobId": job_id}).encode()
    chunked = b"%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (5, body[:5], len(body) - 5, body[5:])
    answer = raw_exchange(reference_server, b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: " + PII_STOP.encode()
                          + b"\r\nContent-Type: application/x-amz-json-1.1"
                          + b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
    assert answer.startswith(b"HTTP/1.1 200 ") and b"STOP_REQUESTED" in answer


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", b"400"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX", b"400"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", b"413"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", b"413"),
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"POST / HTTP/9.9\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n", b"4"),
    ],
)
def test_broken_framing_gets_a_4xx_and_a_closed_connection(
    reference_server: ReferenceServer, request_bytes: bytes, status: bytes
) -> None:
    answer = raw_exchange(reference_server, request_bytes)
    assert answer.startswith(b"HTTP/1."), answer[:80]
    assert answer.split(b" ", 2)[1].startswith(status), answer[:80]
    assert b"x-amzn-RequestId" in answer and b'"__type"' in answer


def test_body_size_limit_is_configurable(reference_app: ReferenceApp) -> None:
    with ReferenceServer(app=reference_app, max_body_bytes=64) as server:
        status, _, answer = post(server.url, PII_STOP, json.dumps({"JobId": "a" * 100}))
    assert (status, answer["__type"]) == (413, "RequestEntityTooLargeException")
    assert "64 bytes" in answer["Message"]


def test_keep_alive_serves_many_requests_on_one_connection(reference_server: ReferenceServer) -> None:
    host, port = reference_server.address
    connection = http.client.HTTPConnection(host, port, timeout=5)
    connection.connect()
    first_socket = connection.sock
    for body in ['{"JobId": "x"}', "{", '{"JobId": 1}', '{"JobId": "' + "a" * 40 + '"}'] * 5:
        connection.request("POST", "/", body=body,
                           headers={"X-Amz-Target": PII_STOP, "Content-Type": "application/x-amz-json-1.1"})
        response = connection.getresponse()
        answer = json.loads(response.read())
        assert response.status == 400 and response.getheader("Connection") != "close"
        assert answer["__type"] != "UnknownOperationException"  # served: the operation's own answers
        assert connection.sock is first_socket  # never reconnected
    connection.close()


def test_a_stalled_client_does_not_block_others(reference_app: ReferenceApp) -> None:
    with ReferenceServer(app=reference_app, idle_timeout=1.0) as server:
        host, port = server.address
        stalled = socket.create_connection((host, port))
        stalled.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # and then nothing
        began = time.monotonic()
        status, _, _ = post(server.url, PII_STOP, '{"JobId": "x"}')
        assert status == 400 and time.monotonic() - began < 0.9
        stalled.settimeout(5)
        assert stalled.recv(100) == b""  # the idle timeout closed the stalled connection
        stalled.close()


def test_concurrent_stops_of_one_job_give_one_history(reference_server: ReferenceServer,
                                                      reference_clock: ManualClock) -> None:
    job_id = start_job(reference_server)
    reference_clock.advance(15)
    answers: list[tuple[int, str]] = []
    barrier = threading.Barrier(16)

    def stop() -> None:
        barrier.wait()
        status, _, body = post(reference_server.url, PII_STOP, json.dumps({"JobId": job_id}))
        answers.append((status, body["JobStatus"]))

    threads = [threading.Thread(target=stop) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [(200, "STOP_REQUESTED")] * 16
    job = reference_server.jobs.get("comprehend/PiiEntitiesDetectionJob", job_id)
    history = [status for _, status in job.history(reference_clock.now() + 1000)]
    assert history == ["SUBMITTED", "IN_PROGRESS", "STOP_REQUESTED", "STOPPED"]


def test_head_answer_has_no_body(reference_server: ReferenceServer) -> None:
    answer = raw_exchange(reference_server, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404") and rest == b""


@pytest.mark.parametrize("request_line", [b"GET /\r\n", b"POST / HTTP/0.9\r\n", b"POST / HTTP/0.9\r\n\r\n",
                                          b"GET / http/0.9\r\nHost: x\r\n\r\n"])
def test_an_http_0_9_request_line_gets_a_400(reference_server: ReferenceServer, request_line: bytes) -> None:
    """HTTP/0.9 named or implied: a 400 status line at once, never a silent close or a traceback."""
    with socket.create_connection(reference_server.address, timeout=5) as connection:
        connection.sendall(request_line)
        answer = b""
        while chunk := connection.recv(65536):  # a timeout here (the server waiting for headers) fails the test
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 400 "), answer[:80]


def test_a_refused_large_body_still_lets_the_client_read_the_413(reference_server: ReferenceServer) -> None:
    """A 4 MiB body over the 1 MiB limit, sent in pieces: the server drains it, so no broken pipe, and the 413 arrives."""
    body = b"x" * (4 << 20)
    with socket.create_connection(reference_server.address, timeout=10) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
                           b"X-Amz-Target: " + PII_STOP.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body))
        for offset in range(0, len(body), 256 << 10):  # slowly-ish: the answer is sent while the body still comes
            connection.sendall(body[offset:offset + (256 << 10)])  # BrokenPipeError / ConnectionResetError fail
            time.sleep(0.01)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]
    assert b"RequestEntityTooLargeException" in answer
