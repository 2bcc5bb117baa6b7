"""Signing and sending: the SigV4 public test vector, and what the server receives."""

from __future__ import annotations

import datetime

import botocore.auth
import pytest
from botocore.credentials import Credentials

from conformance.model import ServiceMeta, load_operations
from conformance.target import Target, TargetError
from conformance.transport import Transport
from conformance.wire import HttpRequest

# The test vectors' service: signed as "service", like no real one.
VECTOR_SERVICE = ServiceMeta("service", "Service", "Test vectors", "2015-08-30", "service-2015-08-30", "Service",
                             "service", "service", ("awsJson1_1",))


def service(name: str) -> ServiceMeta:
    """A real service's metadata, from its schema."""
    return next(op.service for op in load_operations() if op.service.name == name)


def test_signature_matches_the_public_post_vanilla_vector(monkeypatch: pytest.MonkeyPatch) -> None:
    # aws-sig-v4-test-suite, post-vanilla: POST / to example.amazonaws.com, 2015-08-30T12:36:00Z.
    moment = datetime.datetime(2015, 8, 30, 12, 36, 0)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: moment)
    target = Target("https://example.amazonaws.com", region="us-east-1",
                    credentials=Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
    headers = Transport(target).prepare(HttpRequest("POST", "/", {}, b""), VECTOR_SERVICE)
    assert headers["X-Amz-Date"] == "20150830T123600Z"
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
    )


def test_requests_are_signed_with_the_operations_signing_name(reference_server, reference_app) -> None:
    seen: list[str] = []
    handle = reference_app.handle

    def spy(request):
        seen.append(request.header("Authorization") or "")
        return handle(request)

    reference_app.handle = spy
    transport = Transport(Target(reference_server.url, region="eu-west-2"))
    request = HttpRequest("POST", "/", {"X-Amz-Target": "ComprehendMedical_20181030.StopPHIDetectionJob",
                                        "Content-Type": "application/x-amz-json-1.1"}, b'{"JobId": "x"}')
    response = transport.send(request, service("comprehendmedical"))
    assert response.status == 400 and response.header("x-amzn-requestid")
    assert "/eu-west-2/comprehendmedical/aws4_request" in seen[0]


@pytest.mark.parametrize("url", ["ftp://host", "http://", "http://host:99999", "http://host/?q=1", "nonsense"])
def test_bad_endpoint_urls_are_rejected(url: str) -> None:
    with pytest.raises(TargetError):
        Target(url)


def test_only_amazonaws_hosts_count_as_aws() -> None:
    assert Target("https://comprehend.us-east-1.amazonaws.com").is_aws
    assert not Target("http://127.0.0.1:8000").is_aws
    assert not Target("https://amazonaws.com.evil.example").is_aws


@pytest.mark.parametrize("headers, body, token", [
    ({}, b"", None),
    ({"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Comprehend_20171127.StopPiiEntitiesDetectionJob"},
     b'{"JobId": "job-1"}', None),
    ({"content-type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor", "Authorization": "stale",
      "X-Amz-Date": "19990101T000000Z"}, b"\xa1\x65JobId\x65job-1", "session-token"),
    ({"X-Amz-Security-Token": "old", "User-Agent": "ua", "Expect": "100-continue"}, b"\x00\xff", "session-token"),
])
def test_the_light_signing_request_signs_as_botocores_own(monkeypatch: pytest.MonkeyPatch, headers: dict[str, str],
                                                          body: bytes, token: str | None) -> None:
    from botocore.awsrequest import AWSRequest

    from conformance import sigv4
    moment = datetime.datetime(2026, 11, 24, 3, 0, 0)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: moment)
    credentials = Credentials("AKIDEXAMPLE", "secret", token)
    url = "http://127.0.0.1:8000/"
    botocores = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    botocore.auth.SigV4Auth(credentials, "comprehend", "us-east-1").add_auth(botocores)
    ours = sigv4.sign("POST", url, headers, body, credentials, "comprehend", "us-east-1")
    assert ours == dict(botocores.headers.items())
    assert "stale" not in ours.values() and ours.get("X-Amz-Security-Token", token) == token


# The job-id guard reads the raw bytes first; that pre-check must never let through what decoding would refuse.
REAL = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("body, content_type", [
    (b'{"JobId": "' + REAL.encode() + b'"}', None),
    (b'{"JobId": "\\u0030' + REAL[1:].encode() + b'"}', None),  # an escape spells the first digit
    (('{"JobId": "' + REAL + '"}').encode("utf-16"), None),  # json.loads reads UTF-16 too
    (b"\xa1\x65JobId\x7f\x70" + REAL[:16].encode() + b"\x70" + REAL[16:].encode() + b"\xff", "application/cbor"),
    (b"\xa1\x65JobId\x78\x20" + REAL.encode(), "application/cbor"),
    (b"\xa1\x65JobId\x82\xd8\x1c\x78\x20" + REAL.encode() + b"\xd8\x1d\x00", "application/cbor"),  # shared value
    (b"not json " + REAL.encode(), None),
])
def test_the_guard_refuses_a_foreign_job_id_however_it_is_spelled(body: bytes, content_type: str | None) -> None:
    from conformance.safety import JobLedger, UnsafeRequest
    ledger = JobLedger()
    ledger.started("comprehend", "f" * 32)
    with pytest.raises(UnsafeRequest):
        ledger.check(body, content_type)
    ledger.started("comprehend", REAL)
    ledger.check(body, content_type)  # the run's own job: allowed


def test_the_guard_decodes_no_body_whose_bytes_hold_only_known_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance import safety
    ledger = safety.JobLedger()
    ledger.started("comprehend", REAL)

    decoded: list[bytes] = []
    decode = safety._decode

    def recording(body: bytes, content_type: str) -> object:
        decoded.append(body)
        return decode(body, content_type)

    monkeypatch.setattr(safety, "_decode", recording)
    ledger.check(b'{"JobId": "job-1"}')
    ledger.check(b'{"JobId": "' + REAL.encode() + b'"}')
    ledger.check(b'{"JobId": "' + REAL.upper().encode() + b'"}')  # a near miss of its own job
    assert decoded == []
    foreign = b'{"JobId": "' + b"e" * 32 + b'"}'
    with pytest.raises(safety.UnsafeRequest):  # a foreign candidate: decoded and judged exactly
        ledger.check(foreign)
    assert decoded == [foreign]
