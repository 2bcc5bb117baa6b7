"""Stop requests/s the reference server sustains over keep-alive connections.

Runs the server as its own process (`conformance serve --port 0`) so that client and server do not
share a GIL, then drives Stop requests for a fixed time on 1 and 4 connections and prints figures.

    python benchmarks/bench_server.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time

from _server import server_process

STOP = "Comprehend_20171127.StopPiiEntitiesDetectionJob"
START = "Comprehend_20171127.StartPiiEntitiesDetectionJob"
START_BODY = json.dumps({
    "InputDataConfig": {"S3Uri": "s3://bucket/in"}, "OutputDataConfig": {"S3Uri": "s3://bucket/out"},
    "Mode": "ONLY_OFFSETS", "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r", "LanguageCode": "en",
})


def call(connection: http.client.HTTPConnection, target: str, body: str) -> tuple[int, bytes]:
    connection.request("POST", "/", body=body, headers={"X-Amz-Target": target,
                                                       "Content-Type": "application/x-amz-json-1.1"})
    response = connection.getresponse()
    return response.status, response.read()


def drive(host: str, port: int, body: str, seconds: float, latencies: list[float], errors: list[str]) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    deadline = time.perf_counter() + seconds
    while (began := time.perf_counter()) < deadline:
        status, _ = call(connection, STOP, body)
        latencies.append(time.perf_counter() - began)
        if status != 200:
            errors.append(f"status {status}")
    connection.close()


def measure(host: str, port: int, body: str, connections: int, seconds: float) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    threads = [threading.Thread(target=drive, args=(host, port, body, seconds, latencies, errors))
               for _ in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(f"{connections} keep-alive connection(s): {len(latencies) / elapsed:8.0f} Stop requests/s   "
          f"p50 {statistics.median(ordered) * 1000:.2f} ms   p99 {p99 * 1000:.2f} ms   "
          f"({len(latencies)} requests, {len(errors)} non-200)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each measurement runs")
    args = parser.parse_args()
    with server_process() as (host, port):
        connection = http.client.HTTPConnection(host, port)
        job_id = json.loads(call(connection, START, START_BODY)[1])["JobId"]
        connection.close()
        body = json.dumps({"JobId": job_id})
        print(f"reference server at {host}:{port}; Stop of one running job, {args.seconds:.0f} s per row")
        for connections in (1, 4):
            measure(host, port, body, connections, args.seconds)


if __name__ == "__main__":
    main()
