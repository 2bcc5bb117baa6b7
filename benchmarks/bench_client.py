"""What the suite's client (Transport.send: guard, sign, send, read) costs beside a bare keep-alive loop.

In one run, side by side, for 1 and 4 threads:
  * bare: an `http.client` keep-alive loop (one connection a thread) sending one fixed signed Stop;
  * suite: `Transport.send` of the same Stop, signed afresh per request as the suite does;
against two servers, each in its own process: the reference server (`conformance serve`), and a
server that does nothing (answers 200 `{}` at once), which isolates the client's own cost.
Prints requests/s, wall microseconds per request (per thread), and the ratio suite/bare of
requests/s. Figures only, never asserted: on a shared machine they are noisy, ratios less so.

    python benchmarks/bench_client.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from _server import server_process

from conformance.engine.transport import Transport
from conformance.model.operations import load_operations
from conformance.targets.target import Target
from conformance.wire import sigv4
from conformance.wire.credentials import DUMMY_CREDENTIALS
from conformance.wire.http import HttpRequest

SERVICE = next(op.service for op in load_operations() if op.service.name == "comprehend")
STOP = "Comprehend_20171127.StopPiiEntitiesDetectionJob"
START = "Comprehend_20171127.StartPiiEntitiesDetectionJob"
JSON_TYPE = "application/x-amz-json-1.1"
START_BODY = json.dumps({
    "InputDataConfig": {"S3Uri": "s3://bucket/in"}, "OutputDataConfig": {"S3Uri": "s3://bucket/out"},
    "Mode": "ONLY_OFFSETS", "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r", "LanguageCode": "en",
}).encode()
NOTHING_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{}"


# --- the do-nothing server: reads each request (headers, Content-Length body) and answers 200 {} ---

def _serve_connection(connection: socket.socket) -> None:
    buffered = b""
    with connection:
        while True:
            while b"\r\n\r\n" not in buffered:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                buffered += chunk
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buffered) < length:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                buffered += chunk
            buffered = buffered[length:]
            connection.sendall(NOTHING_ANSWER)


def _nothing_server(ready: multiprocessing.connection.Connection) -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    ready.send(listener.getsockname()[1])
    while True:
        connection, _ = listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve_connection, args=(connection,), daemon=True).start()


@contextmanager
def nothing_process() -> Iterator[tuple[str, int]]:
    """A server that answers every request 200 `{}` at once, in its own process; yields its (host, port)."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=_nothing_server, args=(child,), daemon=True)
    process.start()
    try:
        yield "127.0.0.1", parent.recv()
    finally:
        process.terminate()
        process.join(timeout=10)


# --- the two clients ---

Loop = Callable[[float], int]  # runs until a deadline (perf_counter), returns the requests it completed


def bare_loop(host: str, port: int, headers: dict[str, str], body: bytes) -> Loop:
    def run(deadline: float) -> int:
        connection = http.client.HTTPConnection(host, port, timeout=10)
        sent = 0
        while time.perf_counter() < deadline:
            connection.request("POST", "/", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"bare loop: status {response.status}")
            sent += 1
        connection.close()
        return sent
    return run


def suite_loop(transport: Transport, request: HttpRequest) -> Loop:
    def run(deadline: float) -> int:
        sent = 0
        while time.perf_counter() < deadline:
            response = transport.send(request, SERVICE)
            if response.status != 200:
                raise SystemExit(f"suite: status {response.status} {response.body[:200]!r}")
            sent += 1
        return sent
    return run


def measure(loop: Loop, threads: int, seconds: float) -> tuple[float, float]:
    """(requests/s, wall microseconds per request per thread) of `threads` threads running the loop."""
    counts = [0] * threads

    def work(index: int, deadline: float) -> None:
        counts[index] = loop(deadline)

    began = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i, began + seconds)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    total = sum(counts)
    return total / elapsed, elapsed * threads / max(total, 1) * 1e6


def compare(label: str, host: str, port: int, job_id: str, seconds: float) -> None:
    url = f"http://{host}:{port}"
    body = json.dumps({"JobId": job_id}).encode()
    headers = {"X-Amz-Target": STOP, "Content-Type": JSON_TYPE}
    signed = sigv4.sign("POST", url + "/", headers, body, DUMMY_CREDENTIALS, SERVICE.signing_name, "us-east-1")
    transport = Transport(Target(url))
    transport.jobs.started(SERVICE.name, job_id)  # the Stop names a job of the real form: the guard must allow it
    request = HttpRequest("POST", "/", headers, body)
    print(f"{label} at {host}:{port}, {seconds:g} s per row")
    for threads in (1, 4):
        bare_rate, bare_us = measure(bare_loop(host, port, signed, body), threads, seconds)
        suite_rate, suite_us = measure(suite_loop(transport, request), threads, seconds)
        print(f"  {threads} thread(s): bare {bare_rate:7.0f} req/s {bare_us:7.0f} µs/req | "
              f"suite {suite_rate:7.0f} req/s {suite_us:7.0f} µs/req | suite/bare {suite_rate / bare_rate:5.2f}")
    transport.close()


def start_job(host: str, port: int) -> str:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("POST", "/", body=START_BODY, headers={"X-Amz-Target": START, "Content-Type": JSON_TYPE})
    job_id = json.loads(connection.getresponse().read())["JobId"]
    connection.close()
    return job_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="how long each measurement runs")
    args = parser.parse_args()
    with server_process() as (host, port):
        compare("reference server", host, port, start_job(host, port), args.seconds)
    with nothing_process() as (host, port):
        compare("do-nothing server", host, port, "0123456789abcdef0123456789abcdef", args.seconds)


if __name__ == "__main__":
    main()
