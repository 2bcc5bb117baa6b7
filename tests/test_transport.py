"""Signing and sending: the SigV4 public test vector, and what the server receives."""

from __future__ import annotations

import datetime

import botocore.auth
import pytest
from botocore.credentials import Credentials

from conformance.engine.transport import Transport
from conformance.model.operations import ServiceMeta, load_operations
from conformance.targets.target import Target, TargetError
from conformance.wire.http import HttpRequest

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
    ({"X-Custom": "a  b", "x-custom": " c ", "Host": "elsewhere.example"}, b"{}", None),  # repeated, folded, own host
])
def test_the_light_signing_request_signs_as_botocores_own(monkeypatch: pytest.MonkeyPatch, headers: dict[str, str],
                                                          body: bytes, token: str | None) -> None:
    from botocore.awsrequest import AWSRequest

    from conformance.wire import sigv4
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
    from conformance.engine.safety import JobLedger, UnsafeRequest
    ledger = JobLedger()
    ledger.started("comprehend", "f" * 32)
    with pytest.raises(UnsafeRequest):
        ledger.check(body, content_type)
    ledger.started("comprehend", REAL)
    ledger.check(body, content_type)  # the run's own job: allowed


def test_the_guard_decodes_no_body_whose_bytes_hold_only_known_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.engine import safety
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


# --- the client: a scripted server answers each request with the next canned bytes ---------------------

class Scripted:
    """A one-thread HTTP server on 127.0.0.1: for each request read, sends the next of `answers` (None:
    closes the connection without answering). Counts connections and requests."""

    def __init__(self, answers: list[bytes | None]) -> None:
        import socket
        import threading
        self.answers = list(answers)
        self.connections = 0
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.answers:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                buffered = b""
                while self.answers:
                    while b"\r\n\r\n" not in buffered:
                        try:
                            chunk = connection.recv(65536)
                        except OSError:
                            chunk = b""
                        if not chunk:
                            break
                        buffered += chunk
                    if b"\r\n\r\n" not in buffered:
                        break
                    head, _, buffered = buffered.partition(b"\r\n\r\n")
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    while len(buffered) < length:
                        buffered += connection.recv(65536)
                    self.requests.append(head + b"\r\n\r\n" + buffered[:length])
                    buffered = buffered[length:]
                    answer = self.answers.pop(0)
                    if answer is None:
                        break
                    try:
                        connection.sendall(answer)
                    except OSError:  # the client left without reading it all
                        break
                    if b"Connection: close" in answer:
                        break

    def close(self) -> None:
        self.listener.close()


def answer(status: str, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


STOP_REQUEST = HttpRequest("POST", "/", {"X-Amz-Target": "Comprehend_20171127.StopPiiEntitiesDetectionJob",
                                         "Content-Type": "application/x-amz-json-1.1"}, b'{"JobId": "job-1"}')


@pytest.fixture
def comprehend() -> ServiceMeta:
    return service("comprehend")


def test_keep_alive_connections_are_reused(comprehend: ServiceMeta) -> None:
    server = Scripted([answer("200 OK", b"{}")] * 5)
    transport = Transport(Target(server.url))
    statuses = [transport.send(STOP_REQUEST, comprehend).status for _ in range(5)]
    assert statuses == [200] * 5 and server.connections == 1 and transport.sent == 5
    sent = server.requests[0]
    assert b"Authorization: AWS4-HMAC-SHA256 " in sent and b"Content-Length: 18\r\n" in sent
    assert b"Accept-Encoding: gzip" in sent  # what requests asked for too: answers are decoded
    transport.close()
    server.close()


def test_a_gzip_answer_is_decoded_and_headers_are_lower_cased(comprehend: ServiceMeta) -> None:
    import gzip
    server = Scripted([answer("400 Bad Request", gzip.compress(b'{"__type": "ValidationException"}'),
                              "Content-Encoding: gzip", "X-Amzn-ErrorType: ValidationException",
                              "X-Dup: a", "X-Dup: b")])
    response = Transport(Target(server.url)).send(STOP_REQUEST, comprehend)
    assert response.status == 400 and response.body == b'{"__type": "ValidationException"}'
    assert response.body_error is None and response.header("X-AMZN-ERRORTYPE") == "ValidationException"
    assert response.headers["x-dup"] == "a, b"  # repeated headers joined, as requests joined them
    server.close()


def test_an_answer_body_is_read_bounded(comprehend: ServiceMeta, monkeypatch: pytest.MonkeyPatch) -> None:
    import conformance.engine.transport.http1 as transport_module
    monkeypatch.setattr(transport_module, "MAX_ANSWER_BYTES", 1000)
    server = Scripted([answer("200 OK", b"x" * 200_000), answer("200 OK", b"{}")])
    transport = Transport(Target(server.url))
    response = transport.send(STOP_REQUEST, comprehend)
    assert len(response.body) == 1000 and response.body_error == "the body is longer than 1000 bytes"
    assert transport.send(STOP_REQUEST, comprehend).body == b"{}"  # on a new connection: the old one was dropped
    assert server.connections == 2
    server.close()


def test_a_body_cut_short_is_an_answer_with_a_body_error(comprehend: ServiceMeta) -> None:
    server = Scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{}", None])
    response = Transport(Target(server.url), read_timeout=5).send(STOP_REQUEST, comprehend)
    assert response.status == 200 and len(response.body) <= 2
    assert response.body_error and response.body_error.startswith("the body could not be read: ")
    server.close()


def test_no_status_line_is_retried_then_unanswered(comprehend: ServiceMeta) -> None:
    from conformance.engine.transport import Unanswered
    server = Scripted([None, None, None])
    transport = Transport(Target(server.url), connection_retries=1)
    with pytest.raises(Unanswered, match=r"gave no answer \(2 attempts\)"):
        transport.send(STOP_REQUEST, comprehend)
    assert len(server.requests) == 2 and transport.sent == 0 and transport.budget.spent == 2
    server.close()


def test_a_closed_keep_alive_connection_is_retried_once(comprehend: ServiceMeta) -> None:
    server = Scripted([answer("200 OK", b"{}"), None, answer("200 OK", b"{}")])
    transport = Transport(Target(server.url), connection_retries=1)
    assert transport.send(STOP_REQUEST, comprehend).status == 200
    assert transport.send(STOP_REQUEST, comprehend).status == 200  # the second attempt, on a new connection
    assert server.connections == 2
    server.close()


def test_redirects_are_not_followed(comprehend: ServiceMeta) -> None:
    server = Scripted([answer("307 Temporary Redirect", b"", "Location: http://127.0.0.1:1/elsewhere")])
    response = Transport(Target(server.url)).send(STOP_REQUEST, comprehend)
    assert response.status == 307 and response.header("location") == "http://127.0.0.1:1/elsewhere"
    server.close()


def test_a_refused_connection_is_unanswered_with_a_short_reason(comprehend: ServiceMeta) -> None:
    from conformance.engine.transport import Unanswered
    server = Scripted([])
    server.close()  # nothing listens on its port any more
    with pytest.raises(Unanswered, match="connection refused$"):
        Transport(Target(server.url), connection_retries=0).send(STOP_REQUEST, comprehend)


def test_a_header_requests_refused_is_not_sent(comprehend: ServiceMeta) -> None:
    from conformance.engine.transport import Unanswered
    server = Scripted([answer("200 OK", b"{}")])
    bad = HttpRequest("POST", "/", {**STOP_REQUEST.headers, "X-Folded": "a\r\n b"}, b"{}")
    with pytest.raises(Unanswered, match="invalid header value"):
        Transport(Target(server.url), connection_retries=0).send(bad, comprehend)
    assert server.requests == []
    server.close()


def test_environment_proxies_are_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.engine.transport.proxies import environ_proxy
    monkeypatch.setenv("http_proxy", "http://user:pw@proxy.example:3128")
    monkeypatch.setenv("no_proxy", "localhost,10.0.0.0/8,.internal.example")
    assert environ_proxy("http://target.example:8000") == "http://user:pw@proxy.example:3128"
    assert environ_proxy("http://localhost:8000") is None
    assert environ_proxy("http://10.1.2.3:8000") is None
    assert environ_proxy("http://svc.internal.example") is None
    assert environ_proxy("https://target.example") is None  # no https_proxy set


def test_requests_go_through_the_environments_proxy(comprehend: ServiceMeta, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = Scripted([answer("200 OK", b"{}")])
    monkeypatch.setenv("http_proxy", proxy.url.replace("http://", "http://user:pw@"))
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert Transport(Target("http://target.example:8000")).send(STOP_REQUEST, comprehend).status == 200
    assert proxy.requests[0].startswith(b"POST http://target.example:8000/ HTTP/1.1\r\n")
    assert b"proxy-authorization: basic dxnlcjpwdw==" in proxy.requests[0].lower()
    proxy.close()


def test_https_verifies_certificates() -> None:
    transport = Transport(Target("https://comprehend.us-east-1.amazonaws.com"))
    import ssl
    pool = transport._routes["https://comprehend.us-east-1.amazonaws.com"].direct
    assert pool is not None and pool.context is not None
    assert pool.context.verify_mode == ssl.CERT_REQUIRED and pool.context.check_hostname
