"""The reference server against hostile clients: what an audit of `conformance serve` found, one test each.

Odd Content-Length digits and chunk sizes, HTTP/0.9, clients that leave early, deep JSON, Starts
with huge unknown members, and floods of idle connections (also at the file-descriptor limit).
Every load here is bounded in count and time; benchmarks/bench_hostile.py runs them at full scale.
"""

from __future__ import annotations

import errno
import http.client
import json
import random
import resource
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import cbor2
import pytest
from test_reference_fuzz import (
    GOOD_CLIENT_SECONDS,
    ODD_CHUNK_SIZES,
    ODD_LENGTHS,
    REQUEST_HEADS,
    STOP_BODIES,
    STOPS,
    answer_problems,
    framed,
    framing_problems,
    good_request,
    http09,
    idle_flood,
    leave_early,
    raw_answer,
    settle,
)
from test_reference_http import PII_START, START_BODY

from conformance.reference import (
    JobStore,
    ManualClock,
    ReferenceApp,
    ReferenceServer,
    Timings,
)
from conformance.reference.server import FD_LIMIT_BACKOFF, HttpOptions
from conformance.wire.http import HttpRequest
from conformance.wire.protocol_facts import AWS_JSON_1_1_CONTENT_TYPE
from conftest import post

REPO = Path(__file__).resolve().parent.parent
PROTOCOLS = sorted(REQUEST_HEADS)
PII_DESCRIBE = "Comprehend_20171127.DescribePiiEntitiesDetectionJob"


# 1. Content-Length and chunk sizes that are not ASCII digits ---------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("length", ODD_LENGTHS, ids=lambda value: repr(value[:8]))
def test_a_content_length_not_of_ascii_digits_gets_400(reference_server: ReferenceServer, protocol: str,
                                                      length: bytes) -> None:
    payload = framed(protocol, b"Content-Length: " + length + b"\r\n", STOP_BODIES[protocol])
    answered = raw_answer(reference_server.address, payload)
    assert framing_problems("http.odd_framing", protocol, answered) == []
    assert answered is not None and answered[0].status == (413 if length.isdigit() else 400)  # 5000 nines: too large


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("size", ODD_CHUNK_SIZES, ids=lambda value: repr(value[:8]))
def test_a_chunk_size_not_of_ascii_hex_digits_gets_400(reference_server: ReferenceServer, protocol: str,
                                                      size: bytes) -> None:
    chunks = size + b"\r\n" + STOP_BODIES[protocol] + b"\r\n0\r\n\r\n"
    answered = raw_answer(reference_server.address, framed(protocol, b"Transfer-Encoding: chunked\r\n", chunks))
    assert framing_problems("http.odd_framing", protocol, answered) == []
    assert answered is not None and answered[0].status == 400


def test_leading_zeros_in_a_content_length_are_only_zeros(reference_server: ReferenceServer) -> None:
    # int() refuses more than 4300 digits; a length of 5001 digits that is 2 is still 2.
    payload = framed("awsJson1_1", b"Content-Length: " + b"0" * 5000 + b"2\r\n", b"{}", close=True)
    answered = raw_answer(reference_server.address, payload)
    assert answered is not None
    assert answer_problems("awsJson1_1", STOPS[0], answered[0], answered[1], "ValidationException") == []


# 2. HTTP/0.9 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_an_http09_request_gets_an_http10_400_at_once_and_a_close(reference_server: ReferenceServer,
                                                                  seed: int) -> None:
    protocol, payload = http09(random.Random(seed))
    began = time.monotonic()
    answered = raw_answer(reference_server.address, payload)
    assert time.monotonic() - began < GOOD_CLIENT_SECONDS  # no wait for headers HTTP/0.9 never sends
    assert framing_problems("http.0.9", protocol, answered) == []
    assert answered is not None and answered[0].status == 400 and answered[0].version == 10


def test_an_http09_line_after_a_keep_alive_request_gets_the_same(reference_server: ReferenceServer) -> None:
    body = STOP_BODIES["awsJson1_1"]
    first = framed("awsJson1_1", b"Content-Length: %d\r\n" % len(body), body)
    with socket.create_connection(reference_server.address, timeout=5) as sock:
        sock.sendall(first + b"GET /\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    first_answer, second_answer = received.split(b"}HTTP/")  # each answer's JSON body ends with }
    assert first_answer.startswith(b"HTTP/1.1 400 ") and b"JobNotFoundException" in first_answer  # served as usual
    assert second_answer.startswith(b"1.0 400 ") and b"HTTP/0.9" in second_answer  # then refused, and closed


# 3. Clients that leave before their answer ---------------------------------------------------------


def leave_while_answered(address: tuple[str, int]) -> None:
    """Send a whole request, then reset the connection while the server is answering it."""
    body = STOP_BODIES["awsJson1_1"]
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(framed("awsJson1_1", b"Content-Length: %d\r\n" % len(body), body))
        time.sleep(0.1)  # the server has read the request and waits to answer (answer_delay)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("verbose", [False, True])
def test_clients_that_leave_early_leave_no_traceback(reference_app: ReferenceApp, capfd: Any, verbose: bool) -> None:
    rng = random.Random(3)
    with ReferenceServer(app=reference_app, verbose=verbose, http_options=HttpOptions(answer_delay=0.3)) as server:
        for _ in range(60):
            leave_early(server.address, rng)
        for _ in range(3):
            leave_while_answered(server.address)
        settle(server)
    errors = capfd.readouterr().err
    if not verbose:
        assert errors == ""
    else:  # one quiet line per lost client, beside the request log
        assert "Traceback" not in errors
        assert 3 <= errors.count("connection lost") <= 63, errors


# 4. Deep JSON ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [500, 650, 800, 950])
@pytest.mark.parametrize("target", [PII_START, PII_DESCRIBE, "Comprehend_20171127.StopPiiEntitiesDetectionJob"])
def test_json_nested_500_to_950_levels_is_a_400(reference_server: ReferenceServer, depth: int, target: str) -> None:
    for nested in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        for body in (nested, '{"JobId": ' + nested + "}", '{"Extra": ' + nested + "}"):
            status, _, answer = post(reference_server.url, target, body)
            assert (status, answer["__type"]) == (400, "SerializationException"), (depth, body[:20])


@pytest.mark.parametrize("depth", [500, 950])
def test_cbor_nested_500_to_950_levels_is_a_400(reference_server: ReferenceServer, depth: int) -> None:
    nested = b"\xa1\x65JobId" + b"\x81" * depth + b"\x00"
    payload = framed("rpcv2Cbor", b"Content-Length: %d\r\n" % len(nested), nested, close=True)
    answered = raw_answer(reference_server.address, payload)
    assert answered is not None and answered[0].status == 400
    assert cbor2.loads(answered[1])["__type"].endswith("#SerializationException")


# 5. What a job keeps ---------------------------------------------------------------------------------


def test_starts_with_a_huge_unknown_member_keep_little(reference_app: ReferenceApp) -> None:
    body = json.dumps({**START_BODY, "Unknown": "x" * 1_000_000, "Tags": [{"Key": "k", "Value": "v"}]}).encode()
    start = HttpRequest("POST", "/", {"X-Amz-Target": PII_START, "Content-Type": AWS_JSON_1_1_CONTENT_TYPE}, body)
    assert reference_app.handle(start).status == 200  # warms caches (compiled validators) before measuring
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            assert reference_app.handle(start).status == 200
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < 1 << 20, f"200 Starts of 1 MB each left {retained / 2**20:.1f} MiB behind"  # was 200 MiB
    kept = {key for job in reference_app.jobs._jobs.values() for key in job.request}
    assert kept == set(START_BODY)  # Describe reports these; the unknown member and Tags are gone


def test_the_job_store_is_bounded_and_evicts_ended_jobs_first(reference_clock: ManualClock) -> None:
    app = ReferenceApp(JobStore(reference_clock, Timings(queued=1, running=100, stopping=1), max_jobs=3))
    with ReferenceServer(app=app) as server:
        job_ids = [post(server.url, PII_START, json.dumps(START_BODY))[2]["JobId"] for _ in range(3)]
        status, _, answer = post(server.url, PII_START, json.dumps(START_BODY))
        assert (status, answer["__type"]) == (429, "TooManyRequestsException")  # all running: refused, none lost
        post(server.url, "Comprehend_20171127.StopPiiEntitiesDetectionJob", json.dumps({"JobId": job_ids[1]}))
        reference_clock.advance(5)  # the stopped job has ended; the others still run
        status, _, answer = post(server.url, PII_START, json.dumps(START_BODY))
        assert status == 200
        described = [post(server.url, PII_DESCRIBE, json.dumps({"JobId": job_id}))[2] for job_id in job_ids]
        assert [answer.get("__type", "found") for answer in described] == ["found", "JobNotFoundException", "found"]
        assert server.jobs.count() == 3


# 6. Connection floods ---------------------------------------------------------------------------------


def test_a_good_client_gets_in_beside_300_idle_connections(reference_server: ReferenceServer) -> None:
    with idle_flood(reference_server.address, random.Random(6), 300):
        waits = [good_request(reference_server.address) for _ in range(5)]
    assert max(waits) < GOOD_CLIENT_SECONDS


def test_beyond_the_maximum_the_connection_idle_the_longest_is_closed(reference_app: ReferenceApp) -> None:
    with ReferenceServer(app=reference_app, max_connections=20) as server, \
            idle_flood(server.address, random.Random(7), 100) as flood:
        waits = [good_request(server.address) for _ in range(5)]
        assert server.open_connections <= 20
        flood[0].settimeout(2)
        assert flood[0].recv(100) == b""  # the oldest was closed to make room
    assert max(waits) < GOOD_CLIENT_SECONDS


def test_when_every_connection_is_being_answered_a_new_one_is_refused_at_once(reference_app: ReferenceApp) -> None:
    body = STOP_BODIES["awsJson1_1"]
    request = framed("awsJson1_1", b"Content-Length: %d\r\n" % len(body), body, close=True)
    with ReferenceServer(app=reference_app, max_connections=2, http_options=HttpOptions(answer_delay=1.5)) as server:
        answers: list[Any] = []
        busy = [threading.Thread(target=lambda: answers.append(raw_answer(server.address, request))) for _ in range(2)]
        for thread in busy:
            thread.start()
        deadline = time.monotonic() + 2
        while server.open_connections < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # both requests read: both connections busy answering
        began = time.monotonic()
        with socket.create_connection(server.address, timeout=5) as refused:
            assert refused.recv(100) == b""
        assert time.monotonic() - began < 0.5
        for thread in busy:
            thread.join()
    assert all(answered is not None and answered[0].status == 400 for answered in answers)  # the busy ones served


def test_idle_keep_alive_connections_time_out(reference_app: ReferenceApp) -> None:
    with ReferenceServer(app=reference_app, idle_timeout=0.5) as server:
        connection = http.client.HTTPConnection(*server.address, timeout=5)
        connection.request("POST", "/", body=b"{}", headers={"Content-Type": AWS_JSON_1_1_CONTENT_TYPE})
        connection.getresponse().read()
        began = time.monotonic()
        assert connection.sock.recv(100) == b""  # closed by the server, once idle for the timeout
        assert 0.3 < time.monotonic() - began < 3
        connection.close()


def test_the_maximum_fits_the_descriptor_limit(reference_app: ReferenceApp) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    with ReferenceServer(app=reference_app, max_connections=10**9) as server:
        assert server.max_connections < soft
    with pytest.raises(ValueError):
        ReferenceServer(app=reference_app, max_connections=0)


def test_out_of_descriptors_the_accept_loop_backs_off(reference_app: ReferenceApp,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[float] = []

    def exhausted(self: socketserver.TCPServer) -> Any:
        attempts.append(time.monotonic())
        raise OSError(errno.EMFILE, "Too many open files")

    with ReferenceServer(app=reference_app) as server:
        idle = socket.create_connection(server.address, timeout=5)
        deadline = time.monotonic() + 2
        while server.open_connections < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        monkeypatch.setattr(socketserver.TCPServer, "get_request", exhausted)
        waiting = socket.create_connection(server.address, timeout=5)  # in the backlog: every accept fails
        time.sleep(0.5)
        monkeypatch.undo()
        assert len(attempts) < 3 * 0.5 / FD_LIMIT_BACKOFF, f"{len(attempts)} accept attempts in 0.5 s: a spin"
        assert idle.recv(100) == b""  # closed to free a descriptor
        body = STOP_BODIES["awsJson1_1"]
        waiting.sendall(framed("awsJson1_1", b"Content-Length: %d\r\n" % len(body), body, close=True))
        assert waiting.recv(100).startswith(b"HTTP/1.1 400 ")  # served once descriptors are back
        idle.close()
        waiting.close()


_AT_THE_LIMIT = """
import os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
from conformance.reference import ReferenceServer
server = ReferenceServer(max_connections=10_000)
hog = [open(os.devnull) for _ in range(int(sys.argv[2]))]  # descriptors used elsewhere: accept() meets EMFILE
print(server.address[1], flush=True)
server.serve_forever()
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_at_the_descriptor_limit_good_clients_get_in_and_nothing_spins() -> None:
    # The child lowers its own limit to 128 descriptors and holds 60 of them; nothing of the machine's is raised.
    child = subprocess.Popen([sys.executable, "-c", _AT_THE_LIMIT, "128", "60"], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        address = ("127.0.0.1", int(child.stdout.readline()))  # type: ignore[union-attr]
        with idle_flood(address, random.Random(9), 300):
            waits = [good_request(address) for _ in range(5)]
            cpu, began = _cpu_seconds(child.pid), time.monotonic()
            time.sleep(1.0)  # the flood holds on to every descriptor it got
            busy = (_cpu_seconds(child.pid) - cpu) / (time.monotonic() - began)
    finally:
        child.terminate()
        _, errors = child.communicate(timeout=10)
    assert max(waits) < GOOD_CLIENT_SECONDS, f"good clients waited {waits}"
    assert busy < 0.3, f"the server used {busy:.0%} of a core while out of descriptors"
    assert b"Traceback" not in errors, errors.decode()[:2000]
