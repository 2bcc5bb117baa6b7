"""The reference server's AWS-like mode: SigV4 enforced against the test keys, and a throttle."""

from __future__ import annotations

import datetime
import http.client
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conformance.cli import build_parser
from conformance.reference import JobStore, ManualClock, ReferenceApp, ReferenceServer, Timings, variants
from conformance.reference.aws_mode import (
    SIGV4_TEST_SUITE_CREDENTIALS,
    TEST_CREDENTIALS,
    TEST_SESSION_CREDENTIALS,
    SigV4Verifier,
    Throttle,
)
from conformance.wire import cbor, sigv4
from conformance.wire.credentials import DUMMY_CREDENTIALS
from conformance.wire.http import HttpRequest

PII_STOP = "Comprehend_20171127.StopPiiEntitiesDetectionJob"
PHI_STOP = "ComprehendMedical_20181030.StopPHIDetectionJob"
UNKNOWN_JOB = "0" * 32
ROLE = "arn:aws:iam::123456789012:role/ComprehendAccess"
NO_RETRIES = Config(retries={"total_max_attempts": 1})


class WireRequest:
    """A Stop request of one wire protocol, to sign and send."""

    def __init__(self, protocol: str, target: str, service: str) -> None:
        self.protocol, self.target, self.service = protocol, target, service

    def __repr__(self) -> str:
        return f"{self.protocol}:{self.target.split('.')[-1]}"

    @property
    def path(self) -> str:
        """POST / for awsJson1_1; the service/operation path for rpcv2Cbor."""
        prefix, operation = self.target.split(".")
        return "/" if self.protocol == "awsJson1_1" else f"/service/{prefix}/operation/{operation}"

    def headers(self) -> dict[str, str]:
        """The protocol's headers, before signing."""
        if self.protocol == "awsJson1_1":
            return {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": self.target}
        return {"Content-Type": "application/cbor", "Accept": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"}

    def body(self, job_id: str = UNKNOWN_JOB) -> bytes:
        """The input document in the protocol's encoding."""
        document = {"JobId": job_id}
        return json.dumps(document).encode() if self.protocol == "awsJson1_1" else cbor.encode(document)


WIRES = [
    WireRequest("awsJson1_1", PII_STOP, "comprehend"),
    WireRequest("awsJson1_1", PHI_STOP, "comprehendmedical"),
    WireRequest("rpcv2Cbor", PII_STOP, "comprehend"),
    WireRequest("rpcv2Cbor", PHI_STOP, "comprehendmedical"),
]
NOT_FOUND = {"comprehend": "JobNotFoundException", "comprehendmedical": "ResourceNotFoundException"}


def send(url: str, wire: WireRequest, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str, str]:
    """One raw request; returns status, lower-cased headers, the sanitised error type ('' if none) and message."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", wire.path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    answer_headers = {k.lower(): v for k, v in response.getheaders()}
    if wire.protocol == "awsJson1_1":
        assert answer_headers["content-type"] == "application/x-amz-json-1.1"
        document = json.loads(raw) if raw else {}
    else:
        assert answer_headers["content-type"] == "application/cbor"
        assert answer_headers["smithy-protocol"] == "rpc-v2-cbor"
        document = cbor.decode(raw) if raw else {}
    error_type = str(document.get("__type", "")).split("#")[-1]
    message = document.get("Message") or document.get("message") or ""
    return response.status, answer_headers, error_type, message


def signed(url: str, wire: WireRequest, credentials: Credentials, body: bytes | None = None, service: str | None = None,
           at: datetime.datetime | None = None, region: str = "us-east-1",
           terminator: str = sigv4.TERMINATOR) -> tuple[dict[str, str], bytes]:
    """The wire's headers and body, SigV4-signed as botocore signs them."""
    body = wire.body() if body is None else body
    headers = sigv4.sign("POST", url + wire.path, wire.headers(), body, credentials, service or wire.service,
                         region, at=at, terminator=terminator)
    return headers, body


def now() -> datetime.datetime:
    """The wall-clock time in UTC (boto3 signs at it too)."""
    return datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def aws_server() -> Iterator[ReferenceServer]:
    """The reference server with SigV4 enforced, shared by the module's read-only requests."""
    app = ReferenceApp(JobStore(ManualClock(), Timings(queued=10, running=100, stopping=5)), verifier=SigV4Verifier())
    with ReferenceServer(app=app) as server:
        yield server


def client(url: str, service: str, credentials: Credentials) -> Any:
    """A boto3 client for the server, one attempt per call."""
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=credentials.access_key,
                        aws_secret_access_key=credentials.secret_key, aws_session_token=credentials.token,
                        config=NO_RETRIES)


# Signed requests that pass ---------------------------------------------------------------------


@pytest.mark.parametrize("credentials", list(TEST_CREDENTIALS.values()), ids=list(TEST_CREDENTIALS))
def test_boto3_with_each_test_key_is_served(aws_server: ReferenceServer, credentials: Credentials) -> None:
    pii = client(aws_server.url, "comprehend", credentials)
    job_id = pii.start_pii_entities_detection_job(
        InputDataConfig={"S3Uri": "s3://bucket/in/"}, OutputDataConfig={"S3Uri": "s3://bucket/out/"},
        Mode="ONLY_OFFSETS", DataAccessRoleArn=ROLE, LanguageCode="en")["JobId"]
    assert pii.stop_pii_entities_detection_job(JobId=job_id)["JobStatus"] == "STOP_REQUESTED"

    phi = client(aws_server.url, "comprehendmedical", credentials)  # botocore 1.44 sends awsJson1_1 here
    job_id = phi.start_phi_detection_job(InputDataConfig={"S3Bucket": "bucket"}, OutputDataConfig={"S3Bucket": "bucket"},
                                         DataAccessRoleArn=ROLE, LanguageCode="en")["JobId"]
    assert phi.stop_phi_detection_job(JobId=job_id)["JobId"] == job_id
    with pytest.raises(ClientError) as caught:
        phi.stop_phi_detection_job(JobId=UNKNOWN_JOB)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_accepted_keys_are_the_documented_ones() -> None:
    assert set(TEST_CREDENTIALS) == {DUMMY_CREDENTIALS.access_key, "AKIDEXAMPLE", "ASIACONFORMANCETEST"}
    assert SIGV4_TEST_SUITE_CREDENTIALS.secret_key == "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    assert TEST_SESSION_CREDENTIALS.token


@pytest.mark.parametrize("wire", WIRES, ids=repr)
@pytest.mark.parametrize("credentials", list(TEST_CREDENTIALS.values()), ids=list(TEST_CREDENTIALS))
def test_signed_raw_requests_reach_the_operation(aws_server: ReferenceServer, wire: WireRequest,
                                                 credentials: Credentials) -> None:
    status, _, error_type, _ = send(aws_server.url, wire, *signed(aws_server.url, wire, credentials))
    assert (status, error_type) == (400, NOT_FOUND[wire.service])  # authenticated: the job lookup answered


def test_signature_a_few_minutes_off_is_still_good(aws_server: ReferenceServer) -> None:
    wire = WIRES[0]
    for skew in (-14, 14):  # AWS JSON services allow 15 minutes either way
        at = now() + datetime.timedelta(minutes=skew)
        status, _, error_type, _ = send(aws_server.url, wire, *signed(aws_server.url, wire, DUMMY_CREDENTIALS, at=at))
        assert (status, error_type) == (400, "JobNotFoundException")


# Requests AWS would refuse ---------------------------------------------------------------------


def _unsigned(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    return wire.headers(), wire.body()


def _wrong_secret(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    return signed(url, wire, Credentials(DUMMY_CREDENTIALS.access_key, "not-the-secret"))


def _tampered_body(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    headers, _ = signed(url, wire, DUMMY_CREDENTIALS)
    return headers, wire.body("1" * 32)


def _unsigned_payload_tampered(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    # botocore takes a sent X-Amz-Content-SHA256 as the body's hash: the server must check it.
    body = wire.body()
    headers = sigv4.sign("POST", url + wire.path, {**wire.headers(), "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
                         body, DUMMY_CREDENTIALS, wire.service, "us-east-1")
    return headers, wire.body("1" * 32)


def _expired(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    return signed(url, wire, DUMMY_CREDENTIALS, at=now() - datetime.timedelta(hours=1))


def _future(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    return signed(url, wire, DUMMY_CREDENTIALS, at=now() + datetime.timedelta(hours=1))


def _skewed(minutes: int) -> Callable[[str, WireRequest], tuple[dict[str, str], bytes]]:
    return lambda url, wire: signed(url, wire, DUMMY_CREDENTIALS, at=now() + datetime.timedelta(minutes=minutes))


def _wrong_scope_region(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    return signed(url, wire, DUMMY_CREDENTIALS, region="eu-west-1")


def _wrong_terminator(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    return signed(url, wire, DUMMY_CREDENTIALS, terminator="aws5_request")


def _authorization_changed(change: Callable[[str], str]) -> Callable[[str, WireRequest], tuple[dict[str, str], bytes]]:
    def make(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
        headers, body = signed(url, wire, DUMMY_CREDENTIALS)
        return {**headers, "Authorization": change(headers["Authorization"])}, body
    return make


def _unknown_key(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    return signed(url, wire, Credentials("AKIDNOTKNOWNTOSERVER", "whatever"))


def _wrong_session_token(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    secret = TEST_SESSION_CREDENTIALS
    return signed(url, wire, Credentials(secret.access_key, secret.secret_key, "not-the-token"))


def _missing_session_token(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    return signed(url, wire, Credentials(TEST_SESSION_CREDENTIALS.access_key, TEST_SESSION_CREDENTIALS.secret_key))


def _token_on_long_term_key(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    return signed(url, wire, Credentials(DUMMY_CREDENTIALS.access_key, DUMMY_CREDENTIALS.secret_key, "a-token"))


def _wrong_scope_service(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    other = "comprehendmedical" if wire.service == "comprehend" else "comprehend"
    return signed(url, wire, DUMMY_CREDENTIALS, service=other)


def _no_amz_date(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    headers, body = signed(url, wire, DUMMY_CREDENTIALS)
    return {k: v for k, v in headers.items() if k.lower() != "x-amz-date"}, body


def _bad_amz_date(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    headers, body = signed(url, wire, DUMMY_CREDENTIALS)
    return {**headers, "X-Amz-Date": "yesterday"}, body


def _scope_date_differs(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    headers, body = signed(url, wire, DUMMY_CREDENTIALS)
    other_day = (now() - datetime.timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")
    return {**headers, "X-Amz-Date": other_day}, body


def _host_not_signed(url: str, wire: WireRequest) -> tuple[dict[str, str], bytes]:
    headers, body = signed(url, wire, DUMMY_CREDENTIALS)
    auth = sigv4.parse_authorization(headers["Authorization"])
    assert auth is not None
    unsigned_host = ";".join(name for name in auth.signed_headers if name != "host")
    return {**headers, "Authorization": headers["Authorization"].replace(";".join(auth.signed_headers),
                                                                         unsigned_host)}, body


def _garbage(value: str) -> Callable[[str, WireRequest], tuple[dict[str, str], bytes]]:
    return lambda url, wire: ({**wire.headers(), "Authorization": value, "X-Amz-Date": now().strftime("%Y%m%dT%H%M%SZ")},
                              wire.body())


SIG = "Signature=" + "0" * 64
REFUSALS = {
    "unsigned": (_unsigned, "MissingAuthenticationTokenException", "Missing Authentication Token"),
    "wrong secret": (_wrong_secret, "InvalidSignatureException", "does not match the signature you provided"),
    "tampered body": (_tampered_body, "InvalidSignatureException", "does not match the signature you provided"),
    "unsigned payload, tampered": (_unsigned_payload_tampered, "InvalidSignatureException", "x-amz-content-sha256"),
    "expired": (_expired, "InvalidSignatureException", "Signature expired"),
    "future": (_future, "InvalidSignatureException", "is still later than"),
    "16 minutes behind": (_skewed(-16), "InvalidSignatureException", "Signature expired"),
    "16 minutes ahead": (_skewed(16), "InvalidSignatureException", "Signature not yet current"),
    "wrong scope region": (_wrong_scope_region, "InvalidSignatureException",
                           "Credential should be scoped to a valid region, not 'eu-west-1'."),
    "wrong terminator": (_wrong_terminator, "InvalidSignatureException",
                         "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."),
    "other algorithm": (_authorization_changed(lambda value: value.replace("SHA256", "SHA512", 1)),
                        "IncompleteSignatureException", "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"),
    "no SignedHeaders": (_authorization_changed(lambda value: sigv4.without_part(value, "SignedHeaders")),
                         "IncompleteSignatureException", "requires 'SignedHeaders' parameter"),
    "no Signature": (_authorization_changed(lambda value: sigv4.without_part(value, "Signature")),
                     "IncompleteSignatureException", "requires 'Signature' parameter"),
    "credential of 4 parts": (_authorization_changed(lambda value: value.replace("/aws4_request", "", 1)),
                              "IncompleteSignatureException", "Credential must have exactly 5 slash-delimited"),
    "unknown key": (_unknown_key, "UnrecognizedClientException", "security token included in the request is invalid"),
    "wrong session token": (_wrong_session_token, "UnrecognizedClientException", "is invalid"),
    "missing session token": (_missing_session_token, "UnrecognizedClientException", "is invalid"),
    "token on long-term key": (_token_on_long_term_key, "UnrecognizedClientException", "is invalid"),
    "wrong scope service": (_wrong_scope_service, "InvalidSignatureException", "Credential should be scoped to correct service"),
    "no X-Amz-Date": (_no_amz_date, "IncompleteSignatureException", "X-Amz-Date"),
    "unparsable X-Amz-Date": (_bad_amz_date, "IncompleteSignatureException", "ISO-8601"),
    # A wrong part of the credential scope is InvalidSignatureException, as DynamoDB answers it (dynalite's notes).
    "scope date differs": (_scope_date_differs, "InvalidSignatureException", "Credential scope does not match"),
    "host not signed": (_host_not_signed, "IncompleteSignatureException", "'host' must be a 'SignedHeader'"),
    "empty Authorization": (_garbage(""), "IncompleteSignatureException", ""),
    "other scheme": (_garbage("Bearer abc.def"), "IncompleteSignatureException", ""),
    "algorithm alone": (_garbage("AWS4-HMAC-SHA256"), "IncompleteSignatureException", ""),
    "no signature": (_garbage("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/comprehend/aws4_request, "
                              "SignedHeaders=host;x-amz-date"), "IncompleteSignatureException", ""),
    "short scope": (_garbage(f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1, SignedHeaders=host, {SIG}"),
                    "IncompleteSignatureException", ""),
    "field twice": (_garbage(f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/comprehend/aws4_request, "
                             f"SignedHeaders=host, SignedHeaders=host, {SIG}"), "IncompleteSignatureException", ""),
    "not latin": (_garbage("AWS4-HMAC-SHA256 Credential=\u00ff\u00fe/\u00e9/x/y/aws4_request, SignedHeaders=host, "
                           f"{SIG}"), "IncompleteSignatureException", ""),
}


@pytest.mark.parametrize("wire", WIRES, ids=repr)
@pytest.mark.parametrize("case", list(REFUSALS))
def test_badly_signed_requests_get_aws_auth_errors(aws_server: ReferenceServer, wire: WireRequest, case: str) -> None:
    make, expected_type, expected_text = REFUSALS[case]
    status, headers, error_type, message = send(aws_server.url, wire, *make(aws_server.url, wire))
    assert (status, error_type) == (400, expected_type), message
    assert expected_text in message
    assert headers["x-amzn-requestid"]


def test_the_region_a_signature_must_be_scoped_to_is_the_servers_own() -> None:
    app = ReferenceApp(region="eu-west-1", verifier=SigV4Verifier())
    wire = WIRES[2]
    for region, error_type in (("eu-west-1", "JobNotFoundException"), ("us-east-1", "InvalidSignatureException")):
        headers, body = signed("http://h", wire, DUMMY_CREDENTIALS, region=region)
        answer = cbor.decode(app.handle(HttpRequest("POST", wire.path, {**headers, "Host": "h"}, body)).body)
        assert answer["__type"].endswith(f"#{error_type}"), answer


def test_scope_error_names_the_right_service(aws_server: ReferenceServer) -> None:
    _, _, _, message = send(aws_server.url, WIRES[0], *_wrong_scope_service(aws_server.url, WIRES[0]))
    assert message == "Credential should be scoped to correct service: 'comprehend'."


def test_unknown_operation_is_authenticated_first(aws_server: ReferenceServer) -> None:
    wire = WireRequest("awsJson1_1", "Comprehend_20171127.NoSuchOperation", "comprehend")
    assert send(aws_server.url, wire, *_unsigned(aws_server.url, wire))[:3:2] == (400, "MissingAuthenticationTokenException")
    assert send(aws_server.url, wire, *signed(aws_server.url, wire, DUMMY_CREDENTIALS))[:3:2] == (
        400, "UnknownOperationException")
    scoped_elsewhere = signed(aws_server.url, wire, DUMMY_CREDENTIALS, service="s3")
    assert send(aws_server.url, wire, *scoped_elsewhere)[:3:2] == (400, "InvalidSignatureException")


@pytest.mark.parametrize(("credentials", "code"), [
    (Credentials(DUMMY_CREDENTIALS.access_key, "not-the-secret"), "InvalidSignatureException"),
    (Credentials("AKIDNOTKNOWNTOSERVER", "x"), "UnrecognizedClientException"),
    (Credentials(TEST_SESSION_CREDENTIALS.access_key, TEST_SESSION_CREDENTIALS.secret_key, "other"),
     "UnrecognizedClientException"),
], ids=["wrong secret", "unknown key", "wrong token"])
def test_boto3_sees_the_auth_error_codes(aws_server: ReferenceServer, credentials: Credentials, code: str) -> None:
    with pytest.raises(ClientError) as caught:
        client(aws_server.url, "comprehend", credentials).stop_pii_entities_detection_job(JobId=UNKNOWN_JOB)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("headers", [
    {"Host": "[::1"},  # urllib refuses this URL
    {"Host": "h?x#y"},
    {"Host": ""},
    {"Host": "h\u00ff", "X-Amz-Security-Token": "\udcff"},
    {"Host": "h", "X-Amz-Content-SHA256": "\u00e9"},
])
def test_odd_requests_never_get_server_errors(headers: dict[str, str]) -> None:
    app = ReferenceApp(verifier=SigV4Verifier(), throttle=Throttle(1000))
    base = sigv4.sign("POST", "http://h/", {"X-Amz-Target": PII_STOP}, b"{}", DUMMY_CREDENTIALS, "comprehend",
                      "us-east-1")
    for path in ("/", "/a b?c=%zz", "/service/ComprehendMedical_20181030/operation/StopPHIDetectionJob"):
        response = app.handle(HttpRequest("POST", path, {**base, **headers}, b"{}"))
        assert 400 <= response.status < 500, response.body


# Mode off ----------------------------------------------------------------------------------------


def test_mode_off_serves_unsigned_requests(reference_server: ReferenceServer) -> None:
    assert reference_server.app.verifier is None and reference_server.app.throttle is None
    for wire in WIRES:
        status, _, error_type, _ = send(reference_server.url, wire, wire.headers(), wire.body())
        assert (status, error_type) == (400, NOT_FOUND[wire.service])


# Throttle ----------------------------------------------------------------------------------------


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.seconds = 100.0

    def __call__(self) -> float:
        return self.seconds


@pytest.mark.parametrize("wire", WIRES[1:3], ids=repr)
def test_throttle_answers_rate_exceeded_then_refills(wire: WireRequest) -> None:
    clock = FakeClock()
    app = ReferenceApp(throttle=Throttle(2, clock=clock, retry_after=0.5))
    with ReferenceServer(app=app) as server:
        def call() -> tuple[int, dict[str, str], str, str]:
            return send(server.url, wire, wire.headers(), wire.body())

        assert [call()[2] for _ in range(2)] == [NOT_FOUND[wire.service]] * 2  # the burst: capacity 2
        status, headers, error_type, message = call()
        assert (status, error_type, message) == (400, "ThrottlingException", "Rate exceeded")
        assert headers["retry-after"] == "1"  # whole seconds, rounded up
        clock.seconds += 0.5  # one token back at 2 a second
        assert call()[2] == NOT_FOUND[wire.service]
        assert call()[2] == "ThrottlingException"
        clock.seconds += 60  # refills to capacity, no more
        assert [call()[2] for _ in range(3)] == [NOT_FOUND[wire.service]] * 2 + ["ThrottlingException"]


def test_throttle_without_retry_after_sends_no_header() -> None:
    app = ReferenceApp(throttle=Throttle(1, clock=FakeClock()))
    wire = WIRES[0]
    request = HttpRequest("POST", wire.path, wire.headers(), wire.body())
    assert app.handle(request).status == 400
    throttled = app.handle(request)
    assert json.loads(throttled.body)["__type"] == "ThrottlingException"
    assert "Retry-After" not in throttled.headers


def test_slow_rate_still_allows_one_request() -> None:
    clock = FakeClock()
    throttle = Throttle(0.5, clock=clock)
    assert throttle.capacity == 1
    assert [throttle.try_acquire(), throttle.try_acquire()] == [True, False]
    clock.seconds += 1.9
    assert not throttle.try_acquire()
    clock.seconds += 0.1
    assert throttle.try_acquire()


def test_throttle_is_thread_safe() -> None:
    throttle = Throttle(10, clock=FakeClock())
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.extend(throttle.try_acquire() for _ in range(5)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 10 and len(results) == 40


@pytest.mark.parametrize(("rate", "retry_after"), [(0, None), (-1, None), (float("inf"), None), (float("nan"), None),
                                                   (1, -1.0)])
def test_throttle_refuses_bad_settings(rate: float, retry_after: float | None) -> None:
    with pytest.raises(ValueError):
        Throttle(rate, retry_after=retry_after)


def test_authentication_comes_before_throttling() -> None:
    app = ReferenceApp(verifier=SigV4Verifier(), throttle=Throttle(1, clock=FakeClock()))
    with ReferenceServer(app=app) as server:
        wire = WIRES[0]
        for _ in range(3):  # refused requests take no token
            assert send(server.url, wire, *_unsigned(server.url, wire))[2] == "MissingAuthenticationTokenException"
        assert send(server.url, wire, *signed(server.url, wire, DUMMY_CREDENTIALS))[2] == "JobNotFoundException"
        assert send(server.url, wire, *signed(server.url, wire, DUMMY_CREDENTIALS))[2] == "ThrottlingException"


def test_boto3_sees_throttling() -> None:
    app = ReferenceApp(throttle=Throttle(1, clock=FakeClock()))
    with ReferenceServer(app=app) as server:
        pii = client(server.url, "comprehend", DUMMY_CREDENTIALS)
        with pytest.raises(pii.exceptions.JobNotFoundException):
            pii.stop_pii_entities_detection_job(JobId=UNKNOWN_JOB)
        with pytest.raises(ClientError) as caught:
            pii.stop_pii_entities_detection_job(JobId=UNKNOWN_JOB)
        assert caught.value.response["Error"]["Code"] == "ThrottlingException"


# Clock of the verifier ---------------------------------------------------------------------------


def test_verifier_uses_its_clock() -> None:
    signed_at = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.UTC)
    verifier = SigV4Verifier(now=lambda: signed_at + datetime.timedelta(minutes=16))
    wire = WIRES[0]
    headers = sigv4.sign("POST", "http://h/", wire.headers(), wire.body(), SIGV4_TEST_SUITE_CREDENTIALS, "comprehend",
                         "us-east-1", at=signed_at)
    request = HttpRequest("POST", "/", {**headers, "Host": "h"}, wire.body())
    app = ReferenceApp(verifier=verifier)
    document = json.loads(app.handle(request).body)
    assert document == {"__type": "InvalidSignatureException", "Message": "Signature expired: 20150830T123600Z is now "
                        "earlier than 20150830T123700Z (20150830T125200Z - 15 min.)"}
    verifier.now = lambda: signed_at
    assert json.loads(app.handle(request).body)["__type"] == "JobNotFoundException"


# Command line ------------------------------------------------------------------------------------


def test_serve_flags_parse() -> None:
    parser = build_parser()
    args = parser.parse_args(["serve", "--enforce-sigv4", "--throttle", "2.5"])
    assert (args.enforce_sigv4, args.throttle) == (True, 2.5)
    args = parser.parse_args(["serve"])
    assert (args.enforce_sigv4, args.throttle) == (False, None)
    assert (args.sigv4_credentials_from_environment, args.sigv4_profile) == (False, None)
    with pytest.raises(SystemExit):  # one source of a key pair at a time
        parser.parse_args(["serve", "--enforce-sigv4", "--sigv4-credentials-from-environment", "--sigv4-profile", "p"])
    for bad in ("0", "-1", "fast", "inf"):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", "--throttle", bad])


def serve_with(monkeypatch: pytest.MonkeyPatch, argv: list[str],
               while_serving: Callable[[ReferenceServer], None]) -> tuple[int, list[ReferenceApp]]:
    """`conformance serve ARGV`, running `while_serving` against the server in place of serving until stopped; the
    exit status and the app served."""
    from conformance import cli

    served: list[ReferenceApp] = []

    def serve_briefly(server: ReferenceServer) -> None:
        served.append(server.app)
        server.start()
        try:
            while_serving(server)
        finally:
            server.stop()
        raise KeyboardInterrupt  # how a served `conformance serve` ends

    monkeypatch.setattr(ReferenceServer, "serve_forever", serve_briefly)
    return cli.main(["serve", "--port", "0", *argv]), served


@pytest.mark.parametrize("variant", [None, "quick_jobs"])
def test_serve_builds_the_aws_like_app(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                       variant: str | None) -> None:
    def exercise(server: ReferenceServer) -> None:
        wire = WIRES[0]
        assert send(server.url, wire, *_unsigned(server.url, wire))[2] == "MissingAuthenticationTokenException"
        assert send(server.url, wire, *signed(server.url, wire, DUMMY_CREDENTIALS))[2] in (
            "JobNotFoundException", "ThrottlingException")

    argv = ["--enforce-sigv4", "--throttle", "3"] + (["--variant", variant] if variant else [])
    code, (app,) = serve_with(monkeypatch, argv, exercise)
    assert code == 0
    assert isinstance(app.verifier, SigV4Verifier) and isinstance(app.throttle, Throttle) and app.throttle.rate == 3
    if variant:
        assert isinstance(app, variants.VariantApp)
    out = capsys.readouterr().out
    assert "SigV4 enforced (test access key ids: AKIDCONFORMANCESUITE, AKIDEXAMPLE, ASIACONFORMANCETEST)" in out
    assert "throttled above 3 requests/s" in out
    assert DUMMY_CREDENTIALS.secret_key not in out and SIGV4_TEST_SUITE_CREDENTIALS.secret_key not in out


# A key pair the server is given (a user's own, say): never on the command line, never printed.
GIVEN = Credentials("AKIAGIVENKEYPAIR0001", "given-secret-never-printed", "given-session-token")


@pytest.fixture
def aws_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS credentials anywhere botocore looks, but the files of `tmp_path` (empty until a test writes them)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


@pytest.mark.parametrize("source", ["environment", "profile"])
def test_serve_with_a_given_key_pair_serves_that_pair_only_and_never_prints_its_secret(
        source: str, aws_home: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    if source == "environment":
        for name, value in (("AWS_ACCESS_KEY_ID", GIVEN.access_key), ("AWS_SECRET_ACCESS_KEY", GIVEN.secret_key),
                            ("AWS_SESSION_TOKEN", GIVEN.token)):
            monkeypatch.setenv(name, value)
        flag = ["--sigv4-credentials-from-environment"]
    else:
        (aws_home / "credentials").write_text(f"[given]\naws_access_key_id = {GIVEN.access_key}\n"
                                              f"aws_secret_access_key = {GIVEN.secret_key}\n"
                                              f"aws_session_token = {GIVEN.token}\n")
        flag = ["--sigv4-profile", "given"]
    answers: dict[str, str] = {}

    def exercise(server: ReferenceServer) -> None:
        tried = {"given": GIVEN, "given without its token": Credentials(GIVEN.access_key, GIVEN.secret_key),
                 **TEST_CREDENTIALS}
        for wire in WIRES:
            for name, credentials in tried.items():
                answers[f"{wire!r} {name}"] = send(server.url, wire, *signed(server.url, wire, credentials))[2]

    code, (app,) = serve_with(monkeypatch, ["--enforce-sigv4", "--verbose", *flag], exercise)
    assert code == 0 and app.verifier is not None and app.verifier.access_keys == [GIVEN.access_key]
    # The test keys are refused when a pair is given: anyone can sign with them.
    refused = {f"{wire!r} {name}": "UnrecognizedClientException" for wire in WIRES
               for name in ("given without its token", *TEST_CREDENTIALS)}
    assert answers == {**refused, **{f"{wire!r} given": NOT_FOUND[wire.service] for wire in WIRES}}
    out, err = capfd.readouterr()
    assert f"SigV4 enforced (the given key pair only, access key id: {GIVEN.access_key})" in out
    assert "POST /" in err  # --verbose logged every request, with no secret in any line
    assert GIVEN.secret_key not in out + err and GIVEN.token not in out + err


@pytest.mark.parametrize(("argv", "environment", "says"), [
    (["--enforce-sigv4", "--sigv4-credentials-from-environment"], {}, "no AWS credentials in the environment"),
    (["--enforce-sigv4", "--sigv4-credentials-from-environment"], {"AWS_ACCESS_KEY_ID": GIVEN.access_key},
     "could not be read from the environment"),
    (["--enforce-sigv4", "--sigv4-profile", "nobody"], {}, "no AWS profile named 'nobody'"),
    (["--sigv4-profile", "nobody"], {}, "need --enforce-sigv4"),
], ids=["nothing set", "no secret", "no such profile", "without --enforce-sigv4"])
def test_serve_refuses_a_key_pair_it_cannot_read(aws_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str], argv: list[str],
                                                 environment: dict[str, str], says: str) -> None:
    from conformance import cli

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["serve", "--port", "0", *argv]) == cli.EXIT_USAGE
    assert says in capsys.readouterr().err


def test_serve_banner_says_when_modes_are_off(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from conformance import cli

    def stop_at_once(server: ReferenceServer) -> None:
        server.close()
        raise KeyboardInterrupt

    monkeypatch.setattr(ReferenceServer, "serve_forever", stop_at_once)
    assert cli.main(["serve", "--port", "0"]) == cli.EXIT_OK
    assert "modes: SigV4 not checked; not throttled" in capsys.readouterr().out


def test_build_app_passes_the_modes_through() -> None:
    verifier, throttle = SigV4Verifier(), Throttle(5)
    app = variants.build_app("quick_jobs", verifier=verifier, throttle=throttle)
    assert (app.verifier, app.throttle) == (verifier, throttle)


def test_a_signing_variant_keeps_the_keys_clock_and_skew_it_is_given() -> None:
    verifier = SigV4Verifier({GIVEN.access_key: GIVEN}, now=now, max_skew=datetime.timedelta(minutes=3))
    app = variants.build_app("sigv4_any_region", verifier=verifier)
    assert isinstance(app.verifier, SigV4Verifier) and type(app.verifier) is not SigV4Verifier
    assert (app.verifier.credentials, app.verifier.now, app.verifier.max_skew) == (verifier.credentials, now,
                                                                                    verifier.max_skew)
    alone = variants.build_app("sigv4_any_region").verifier  # a signing variant enforces SigV4 of its own
    assert alone is not None and alone.access_keys == sorted(TEST_CREDENTIALS)
