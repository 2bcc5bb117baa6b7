"""The sender: one event loop, answers parsed by httptools, signatures from a template.

Properties of the parser are stated for every way the bytes of an answer can arrive (any split into
reads) and every way a target can add to them (bytes after the answer); those of the whole sender,
over loopback against the reference server: the budget is counted exactly however many cases are in
flight, and the number in flight changes neither the cases nor their verdicts.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import socket
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conformance.engine.config import MachineConfig, RunConfig
from conformance.engine.runner import run
from conformance.engine.transport import Transport, http1
from conformance.reference import ReferenceApp, ReferenceServer
from conformance.report import json_report, summarise
from conformance.targets.target import Target
from conformance.wire import sigv4
from conformance.wire.http import HttpRequest

# --- signing from a template -------------------------------------------------------------------------------------

HEADER_NAMES = st.sampled_from(["Content-Type", "content-type", "X-Amz-Target", "Smithy-Protocol", "X-Custom",
                                "x-custom", "Authorization", "X-Amz-Date", "X-Amz-Security-Token", "User-Agent",
                                "Expect", "Host", "Accept"])
HEADER_VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)
MOMENTS = st.datetimes(min_value=datetime.datetime(2020, 1, 1), max_value=datetime.datetime(2030, 1, 1))


@settings(max_examples=150, deadline=None)
@given(headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=6), bodies=st.lists(st.binary(max_size=40),
       min_size=2, max_size=2), moments=st.lists(MOMENTS, min_size=2, max_size=2),
       token=st.none() | st.just("session-token"), path=st.sampled_from(["/", "/service/X/operation/Y"]))
def test_a_signature_from_a_template_is_botocores_for_every_request_of_its_shape(
        headers: dict[str, str], bodies: list[bytes], moments: list[datetime.datetime], token: str | None,
        path: str) -> None:
    credentials = Credentials("AKIDEXAMPLE", "secret", token)
    url = f"http://127.0.0.1:8000{path}"
    for body, moment in zip(bodies, moments):  # the second reuses the template the first made
        botocores = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda *args, **kwargs: moment):
            botocore.auth.SigV4Auth(credentials, "comprehend", "us-east-1").add_auth(botocores)
        ours = sigv4.sign_now("POST", url, headers, body, credentials, "comprehend", "us-east-1",
                              at=moment.replace(tzinfo=datetime.UTC))
        assert list(ours.items()) == list(botocores.headers.items())


# --- the parser, fed as the loop feeds it ------------------------------------------------------------------------

class _Wire:
    """What a Connection writes to and closes: the bytes sent, and whether it was closed."""

    def __init__(self) -> None:
        self.sent = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent += data

    def close(self) -> None:
        self.closed = True


def exchange(reads: list[bytes], *, eof: bool = False, read_timeout: float | None = None) -> \
        tuple[http1.Answer | BaseException, http1.Connection]:
    """The answer a Connection makes of these reads (then the connection's end, if `eof`), or what it raised."""
    async def go() -> tuple[http1.Answer | BaseException, http1.Connection]:
        connection = http1.Connection(read_timeout)
        connection.connection_made(_Wire())  # type: ignore[arg-type]
        task = asyncio.ensure_future(connection.exchange(b"POST / HTTP/1.1\r\n\r\n"))
        await asyncio.sleep(0)
        for data in reads:
            connection.data_received(data)
        if eof:
            connection.eof_received()
            connection.connection_lost(None)
        try:
            return await asyncio.wait_for(task, 2), connection
        except BaseException as exc:  # noqa: BLE001 - the outcome under test
            return exc, connection
    return asyncio.run(go())


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` in reads cut at these offsets."""
    points = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    return [data[a:b] for a, b in zip(points, points[1:])]


@st.composite
def answers(draw: st.DrawFn) -> tuple[bytes, int, dict[str, str], bytes, bool]:
    """(the bytes of an answer, its status, headers as read, body as decoded, whether it ends only with the
    connection), in any framing: a length, chunks of drawn sizes, or none; plain or gzip."""
    status = draw(st.sampled_from([200, 400, 404, 500, 503, 299, 999]))
    body = draw(st.binary(max_size=300))
    extra = draw(st.dictionaries(st.sampled_from(["x-amzn-requestid", "x-dup", "content-type"]),
                                 st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=10),
                                 max_size=3))
    zipped = draw(st.booleans())
    payload = gzip.compress(body) if zipped else body
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    lines = [f"HTTP/1.1 {status} Whatever"] + [f"{name}: {value}" for name, value in extra.items()]
    headers = dict(extra)
    if zipped:
        lines.append("Content-Encoding: gzip")
        headers["content-encoding"] = "gzip"
    if framing == "length":
        lines.append(f"Content-Length: {len(payload)}")
        headers["content-length"] = str(len(payload))
        framed = payload
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        headers["transfer-encoding"] = "chunked"
        sizes = draw(st.lists(st.integers(1, 64), max_size=10))
        framed, rest = b"", payload
        for size in sizes + [len(payload)]:
            piece, rest = rest[:size], rest[size:]
            if piece:
                framed += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        framed += b"0\r\n\r\n"
    else:
        lines.append("Connection: close")
        headers["connection"] = "close"
        framed = payload
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + framed, status, headers, body, framing == "close"


@settings(max_examples=300, deadline=None)
@given(answer=answers(), cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_an_answer_reads_the_same_however_its_bytes_are_split(
        answer: tuple[bytes, int, dict[str, str], bytes, bool], cuts: list[int]) -> None:
    data, status, headers, body, until_close = answer
    got, connection = exchange(split(data, cuts), eof=until_close)
    assert isinstance(got, http1.Answer), got
    assert (got.status, got.headers, got.body, got.body_error) == (status, headers, body, None)
    assert connection.reusable is not until_close


OK_ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, {"content-length": "2"}, b"{}", False)
NOT_FOUND = (b"HTTP/1.1 404 No\r\nContent-Length: 0\r\n\r\n", 404, {"content-length": "0"}, b"", False)


@settings(max_examples=200, deadline=None)
@given(answer=answers(), after=st.binary(min_size=1, max_size=80), cuts=st.lists(st.integers(0, 10_000), max_size=6),
       following=answers())
@example(answer=OK_ANSWER, after=b"\r\n", cuts=[], following=NOT_FOUND)  # skipped empty line: reused
@example(answer=OK_ANSWER, after=NOT_FOUND[0], cuts=[], following=OK_ANSWER)  # a second answer: closed
def test_bytes_after_an_answer_are_never_taken_for_the_next_answer(
        answer: tuple[bytes, int, dict[str, str], bytes, bool], after: bytes, cuts: list[int],
        following: tuple[bytes, int, dict[str, str], bytes, bool]) -> None:
    data, status, headers, body, until_close = answer
    if until_close:  # there, what follows is body
        return

    async def go() -> tuple[http1.Answer, http1.Connection, http1.Answer | None]:
        connection = http1.Connection(None)
        connection.connection_made(_Wire())  # type: ignore[arg-type]
        first = asyncio.ensure_future(connection.exchange(b"POST / HTTP/1.1\r\n\r\n"))
        await asyncio.sleep(0)
        for read in split(data + after, cuts):
            if not connection.closed:
                connection.data_received(read)
        got = await first
        if not connection.reusable:
            return got, connection, None
        second = asyncio.ensure_future(connection.exchange(b"POST / HTTP/1.1\r\n\r\n"))
        await asyncio.sleep(0)
        connection.data_received(following[0])
        if following[4]:
            connection.eof_received()
        return got, connection, await second

    got, connection, next_answer = asyncio.run(go())
    assert (got.status, got.body) == (status, body)  # the answer stands: it came whole, and is judged...
    # ... failing for what followed it, which is a fault of its framing (empty lines aside)
    assert (got.body_error is not None) is bool(after.strip(b"\r\n")), (got.body_error, after)
    if got.body_error:
        assert got.body_error.startswith("the answer was followed by bytes nobody asked for: ")
    # Bytes after it close the connection, but for empty lines in the same read, which llhttp skips as it may
    # (RFC 9112 2.2); then the next request gets its own answer, whole and alone.
    if after.strip(b"\r\n") or not connection.reusable and next_answer is None:
        assert next_answer is None and connection.closed
    else:
        assert next_answer is not None
        assert (next_answer.status, next_answer.headers, next_answer.body) == following[1:4]


@settings(max_examples=100, deadline=None)
@given(answer=answers(), cut=st.integers(0, 10_000))
def test_an_answer_cut_short_is_no_answer_or_a_body_error_never_a_whole_answer(
        answer: tuple[bytes, int, dict[str, str], bytes, bool], cut: int) -> None:
    data, status, headers, body, until_close = answer
    if until_close:
        return
    head_end = data.index(b"\r\n\r\n") + 4
    got, connection = exchange([data[:cut % len(data)]], eof=True)
    if cut % len(data) < head_end:
        assert isinstance(got, http1.NoAnswer)
    else:
        assert isinstance(got, http1.Answer) and got.status == status
        assert got.body_error and got.body_error.startswith("the body could not be read: ")
    assert not connection.reusable


@pytest.mark.parametrize("reads, expected", [
    ([b"\x00garbage\r\n\r\n"], "the answer is not HTTP"),
    ([b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n"], "bytes in the status line and headers"),
    ([b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n"], "got more than 100 headers"),
    ([b"HTTP/1.1 200 OK\r\nX: " + b"a" * 30_000] * 5, "bytes in the status line and headers"),  # never whole
])
def test_a_broken_or_endless_head_is_no_answer(reads: list[bytes], expected: str) -> None:
    got, connection = exchange(reads)
    assert isinstance(got, http1.NoAnswer) and expected in str(got)
    assert connection.closed


def test_an_interim_answer_is_skipped_and_the_real_one_read() -> None:
    got, _ = exchange([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad\r\nContent-Length: 2\r\n\r\n{}"])
    assert isinstance(got, http1.Answer) and (got.status, got.body) == (400, b"{}")


def test_a_gzip_bomb_is_inflated_only_to_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http1, "MAX_ANSWER_BYTES", 10_000)
    bomb = zlib.compress(b"\0" * 5_000_000)
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: {len(bomb)}\r\n\r\n".encode()
    got, connection = exchange([head + bomb[:100], bomb[100:]])
    assert isinstance(got, http1.Answer) and len(got.body) == 10_000
    assert got.body_error == "the body is longer than 10000 bytes" and connection.closed


def test_a_broken_gzip_body_is_an_answer_with_a_body_error() -> None:
    got, _ = exchange([b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope"])
    assert isinstance(got, http1.Answer) and got.status == 200
    assert got.body_error and "failed to decode it" in got.body_error


def test_a_target_silent_past_the_read_timeout_is_no_answer_and_one_that_stops_mid_body_a_body_error() -> None:
    silent, _ = exchange([], read_timeout=0.05)
    assert isinstance(silent, http1.NoAnswer) and "timed out" in str(silent)
    stalled, _ = exchange([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"], read_timeout=0.05)
    assert isinstance(stalled, http1.Answer) and stalled.body == b"{}"
    assert stalled.body_error == "the body could not be read: Read timed out."


# --- the whole sender, over loopback -----------------------------------------------------------------------------

class CountingApp(ReferenceApp):
    """The reference app, counting the requests it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        with self._lock:
            self.count += 1
        return super().handle(request)


@pytest.mark.parametrize("budget", [4, 9, 61, 250, None])
def test_the_budget_is_counted_exactly_with_many_cases_in_flight(budget: int | None) -> None:
    app = CountingApp()
    with ReferenceServer(app=app) as server:
        result = run(RunConfig(Target(server.url), max_examples=60, seed=3, workers=32, budget=budget,
                               create_jobs=False, machine=MachineConfig(steps=0)))
    # Every request that reached the server was counted, and none past the budget, with 32 in flight at once.
    assert app.count == result.requests_sent <= (budget or app.count)
    not_sent = json_report.build(summarise(result))["summary"]["not_sent"]
    assert (not_sent == 0) is (budget is None), not_sent  # what the budget cut is said, not lost


def test_how_many_cases_are_in_flight_changes_neither_the_cases_nor_their_verdicts(
        live_reference_server: ReferenceServer) -> None:
    def judged(workers: int) -> list[tuple[object, ...]]:
        result = run(RunConfig(Target(live_reference_server.url), max_examples=30, seed=21, workers=workers,
                               create_jobs=False, machine=MachineConfig(steps=0)))
        assert "event loop" in result.sender
        return [(r.lane, r.case.category, r.request.body, r.answer and r.answer.status,
                 {check: type(verdict).__name__ for check, verdict in r.verdicts.items()}) for r in result.results]

    one = judged(1)
    assert one and judged(64) == one


def test_a_run_says_which_way_its_requests_went(monkeypatch: pytest.MonkeyPatch) -> None:
    direct = Transport(Target("http://127.0.0.1:1"))
    assert direct.path.startswith("one uvloop event loop") and "proxy" not in direct.path
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    proxied = Transport(Target("http://target.example:8000"))
    assert proxied.path == "through a proxy: urllib3, a thread per request"
    direct.close()
    proxied.close()


def test_a_blocking_send_from_the_loops_own_thread_is_refused() -> None:
    transport = Transport(Target("http://127.0.0.1:1"))

    async def nested() -> None:
        transport.sender.run(asyncio.sleep(0))

    with pytest.raises(RuntimeError, match="own thread"):
        transport.sender.run(nested())
    transport.close()




def serve_each_connection(listener: socket.socket, serve: Callable[[socket.socket], None]) -> None:
    """Accept connections on a thread until the listener closes, serving each on a thread of its own."""
    def accept() -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(sock,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost signed by its own key, and the key: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


def test_https_goes_over_the_event_loop_and_refuses_a_certificate_no_authority_signed(tmp_path: Path) -> None:
    import ssl
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    connections: list[int] = []

    def serve(raw: socket.socket) -> None:
        connections.append(1)
        try:
            with context.wrap_socket(raw, server_side=True) as tls:
                while tls.recv(65536):
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        except (OSError, ssl.SSLError):
            return

    serve_each_connection(listener, serve)
    url = f"https://localhost:{port}"
    request = HttpRequest("POST", "/", {"Content-Type": "application/x-amz-json-1.1"}, b"{}")
    from test_transport import service

    from conformance.engine.transport import Unanswered
    untrusted = Transport(Target(url), connection_retries=0)
    with pytest.raises(Unanswered, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        untrusted.send(request, service("comprehend"))
    untrusted.close()
    trusted = Transport(Target(url))
    pool = trusted._routes[url].direct
    assert pool is not None
    pool.context = ssl.create_default_context(cafile=str(cert))  # this test's authority, not certifi's
    before = len(connections)
    answers = [trusted.send(request, service("comprehend")) for _ in range(3)]
    assert [(answer.status, answer.body) for answer in answers] == [(200, b"{}")] * 3
    assert len(connections) - before == 1 and trusted.path.startswith("one uvloop event loop")  # kept alive
    trusted.close()
    listener.close()


def test_a_target_that_sends_a_second_answer_unasked_does_not_conform() -> None:
    import hostile_target

    app = ReferenceApp()
    listener = socket.create_server(("127.0.0.1", 0))
    unasked = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{}"

    def serve(sock: socket.socket) -> None:
        connection = hostile_target._Connection(sock)
        with sock:
            while True:  # the reference app's answers, each followed by a bogus one in the same write
                try:
                    request = hostile_target._read_request(connection)
                except OSError:
                    return
                response = app.handle(request)
                head = hostile_target._head(response.status, {**response.headers,
                                                              "Content-Length": str(len(response.body))})
                sock.sendall(head + response.body + unasked)

    serve_each_connection(listener, serve)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    result = run(RunConfig(Target(url), max_examples=5, seed=4, create_jobs=False, machine=MachineConfig(steps=0)))
    listener.close()
    summary = summarise(result)
    # Were a bogus answer taken for the next request's, invalid requests would get 200 {}; none is: each answer
    # is judged as it came, and fails for what followed it.
    assert summary.failures and {record.check for record in summary.failures} == {"body_decodes"}
    assert all("followed by bytes nobody asked for" in record.message for record in summary.failures)
