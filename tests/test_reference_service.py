"""The reference server as a service: health endpoint, request log, graceful stop on SIGTERM, and its Dockerfile."""

from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance.cli import build_parser
from conformance.reference import ReferenceServer
from conformance.reference.app import HEALTH_PATH, ReferenceApp
from conformance.reference.aws_mode import SigV4Verifier
from conftest import post, send

ROOT = Path(__file__).resolve().parent.parent
STOP_PII = "Comprehend_20171127.StopPiiEntitiesDetectionJob"
START_PII = "Comprehend_20171127.StartPiiEntitiesDetectionJob"
PII_START_BODY = {"InputDataConfig": {"S3Uri": "s3://bucket/in/"}, "OutputDataConfig": {"S3Uri": "s3://bucket/out/"},
                  "Mode": "ONLY_OFFSETS", "DataAccessRoleArn": "arn:aws:iam::123456789012:role/ComprehendAccess",
                  "LanguageCode": "en"}
LOG_LINE = re.compile(r"(?P<method>\S+) (?P<path>\S+) protocol=(?P<protocol>\S+) operation=(?P<operation>\S+) "
                      r"status=(?P<status>\d+) duration_ms=(?P<ms>[0-9.]+) content_type=(?P<content_type>\".*\")$")


def test_health_answers_200_with_status_protocols_and_jobs(reference_server: ReferenceServer) -> None:
    status, headers, body = send(reference_server.url, "GET", HEALTH_PATH, {})
    assert (status, headers["content-type"]) == (200, "application/json")
    assert body == {"status": "ok", "protocols": ["rpcv2Cbor", "awsJson1_1"], "jobs": 0}
    assert post(reference_server.url, START_PII, json.dumps(PII_START_BODY))[0] == 200
    assert send(reference_server.url, "GET", f"{HEALTH_PATH}?probe=1", {})[2]["jobs"] == 1
    assert send(reference_server.url, "HEAD", HEALTH_PATH, {})[0] == 200


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("GET", "/healthz"), ("POST", HEALTH_PATH),
                                              ("GET", "/service/Comprehend_20171127/operation/StopPiiEntitiesDetectionJob")])
def test_other_requests_are_answered_as_before(reference_server: ReferenceServer, method: str, path: str) -> None:
    status, _, body = send(reference_server.url, method, path, {})
    assert status == 404 and body["__type"].endswith("UnknownOperationException")


def test_health_needs_no_signature_where_operations_do() -> None:
    with ReferenceServer(app=ReferenceApp(verifier=SigV4Verifier())) as server:
        assert send(server.url, "GET", HEALTH_PATH, {})[0] == 200
        status, _, body = post(server.url, STOP_PII, json.dumps({"JobId": "0" * 32}))
        assert 400 <= status < 500 and "Missing" in body["__type"]  # the operation still refuses unsigned requests


def test_log_requests_writes_one_line_per_request(capfd: pytest.CaptureFixture[str]) -> None:
    with ReferenceServer(log_requests=True) as server:
        post(server.url, STOP_PII, json.dumps({"JobId": "0" * 32}))
        send(server.url, "GET", HEALTH_PATH, {})
    lines = [LOG_LINE.search(line) for line in capfd.readouterr().err.splitlines()]
    assert all(lines) and len(lines) == 2
    # Each line is written once its answer is sent: the two may come in either order.
    stop, health = sorted((line.groupdict() for line in lines if line), key=lambda line: line["method"] != "POST")
    assert stop | {"ms": "-"} == {"method": "POST", "path": "/", "protocol": "awsJson1_1", "operation": STOP_PII,
                                  "status": "400", "ms": "-", "content_type": '"application/x-amz-json-1.1"'}
    assert (health["method"], health["path"], health["status"]) == ("GET", HEALTH_PATH, "200")
    assert float(stop["ms"]) >= 0


def test_no_request_log_by_default(capfd: pytest.CaptureFixture[str]) -> None:
    with ReferenceServer() as server:
        send(server.url, "GET", HEALTH_PATH, {})
    assert capfd.readouterr().err == ""


@contextmanager
def serve_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`conformance serve --port 0 --log-requests` in a process of its own, and its URL; killed if still running."""
    process = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", "0", "--log-requests"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", first)
        assert match, first
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A `conformance serve` process and its URL."""
    with serve_process() as running:
        yield running


def _refused(host: str, port: int) -> bool:
    """Whether a new connection to the port is refused (the server no longer listens)."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return True
    return False


def test_sigterm_finishes_the_answer_in_flight_then_exits_0(served: tuple[subprocess.Popen[str], str]) -> None:
    process, url = served
    host, port = url.removeprefix("http://").rsplit(":", 1)
    body = json.dumps({"JobId": "0" * 32}).encode()
    head = (f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n"
            f"X-Amz-Target: {STOP_PII}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(head + body[:5])  # the request is in flight: its body is half sent
        time.sleep(0.2)  # let the server read the request line
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not _refused(host, int(port)):  # it stops accepting while the answer is still owed
            assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
            time.sleep(0.05)
        assert process.poll() is None, "exited before answering the request in flight"
        client.sendall(body[5:])
        answer = b""
        while chunk := client.recv(65536):  # the server closes the connection after this last answer
            answer += chunk
    head_text, _, answer_body = answer.partition(b"\r\n\r\n")
    assert head_text.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in head_text
    assert json.loads(answer_body)["__type"] == "JobNotFoundException"
    stopped_at = time.monotonic()
    assert process.wait(5) == 0
    assert time.monotonic() - stopped_at < 2
    out, err = process.communicate()
    assert "stopped on SIGTERM: every answer in flight was finished" in out
    assert f"operation={STOP_PII} status=400" in err


def test_sigterm_on_an_idle_server_exits_0_at_once(served: tuple[subprocess.Popen[str], str]) -> None:
    process, url = served
    assert send(url, "GET", HEALTH_PATH, {})[0] == 200
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(5) == 0
    assert time.monotonic() - sent < 2


def _dockerfile() -> dict[str, list[str]]:
    """The Dockerfile's instructions, continuation lines joined: keyword -> the argument text of each use."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    instructions: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, arguments = line.strip().partition(" ")
            instructions.setdefault(keyword.upper(), []).append(arguments.strip())
    return instructions


def _exec_form(arguments: str) -> list[str]:
    """A CMD's arguments: the JSON exec form, or shell words."""
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


def test_dockerfile_serves_on_8000_as_non_root_with_a_health_check() -> None:
    instructions = _dockerfile()
    for keyword in ("FROM", "RUN", "USER", "EXPOSE", "STOPSIGNAL", "HEALTHCHECK", "CMD"):
        assert keyword in instructions, f"no {keyword}"
    assert instructions["USER"][-1] not in ("root", "0", "0:0")
    assert instructions["EXPOSE"] == ["8000"] and instructions["STOPSIGNAL"] == ["SIGTERM"]
    assert any("pip install" in run and " ." in run for run in instructions["RUN"])

    command = _exec_form(instructions["CMD"][-1])
    assert command[:2] == ["conformance", "serve"]
    args = build_parser().parse_args(command[1:])  # the flags the real CLI takes
    assert (args.host, args.port) == ("0.0.0.0", 8000)

    check = instructions["HEALTHCHECK"][-1]
    urls = re.findall(r"http://[^\s'\"]+", check)
    assert urls == [f"http://127.0.0.1:8000{HEALTH_PATH}"], check


def test_the_health_check_command_passes_against_the_server() -> None:
    """The HEALTHCHECK's own command, run against a server on a free port in place of 8000."""
    check = _dockerfile()["HEALTHCHECK"][-1]
    command = _exec_form(check.split(" CMD ", 1)[1].strip())
    assert command[0] == "python"
    with ReferenceServer() as server:
        check_here = [sys.executable, *(part.replace("127.0.0.1:8000", f"127.0.0.1:{server.address[1]}")
                                        for part in command[1:])]
        assert subprocess.run(check_here, timeout=10, check=False).returncode == 0
    # and fails once the server is gone
    assert subprocess.run(check_here, timeout=10, capture_output=True, check=False).returncode != 0


