"""Requests/s the suite sustains against the reference server, beside a raw keep-alive loop.

The server runs as its own process; the raw loop sends one fixed Stop request over one
http.client connection, the suite runs its full pipeline (generate, sign, send, decode, judge).
Also prints the wall time of the default `conformance run` (embedded server, 100 examples).

    python benchmarks/bench_suite.py [--seconds 5] [--max-examples 400]
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import time

from _server import server_process

from conformance.lifecycle import LifecycleConfig
from conformance.runner import RunConfig, run
from conformance.target import Target

STOP = "Comprehend_20171127.StopPiiEntitiesDetectionJob"


def raw_rate(host: str, port: int, seconds: float) -> float:
    connection = http.client.HTTPConnection(host, port)
    sent = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        connection.request("POST", "/", body=b'{"JobId": "job-1"}',
                           headers={"X-Amz-Target": STOP, "Content-Type": "application/x-amz-json-1.1"})
        connection.getresponse().read()
        sent += 1
    connection.close()
    return sent / (time.perf_counter() - began)


def suite_rate(url: str, max_examples: int, workers: int) -> tuple[float, int, float]:
    began = time.perf_counter()
    # Throughput of the cases themselves: no waiting for stopped jobs to settle (the default run
    # below includes that wait).
    result = run(RunConfig(Target(url), max_examples=max_examples, seed=1, workers=workers,
                           lifecycle=LifecycleConfig(settle_timeout=0)))
    elapsed = time.perf_counter() - began
    return result.requests_sent / result.elapsed, result.requests_sent, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-examples", type=int, default=400)
    args = parser.parse_args()
    with server_process() as (host, port):
        raw = raw_rate(host, port, args.seconds)
        print(f"raw http.client keep-alive loop, 1 connection: {raw:8.0f} requests/s")
        for workers in (1, 4):
            rate, sent, wall = suite_rate(f"http://{host}:{port}", args.max_examples, workers)
            print(f"suite, {workers} worker(s): {rate:8.0f} requests/s while sending ({sent} requests; "
                  f"{wall:.1f} s with planning)   ratio to raw: {rate / raw:.2f}")
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "conformance", "run", "--seed", "1"], capture_output=True, check=False)
    print(f"default `conformance run` (embedded server, 100 examples per operation): "
          f"{time.perf_counter() - began:.1f} s wall time")


if __name__ == "__main__":
    main()
