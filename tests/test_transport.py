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
