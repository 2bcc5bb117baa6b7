"""Thousands of random and malformed requests: never a 5xx, never a dropped connection.

Seeded and bounded in time; the seed is in the failure message, and CONFORMANCE_FUZZ_SEED repeats a run.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import threading
import time
from typing import Any

from conformance.reference import ReferenceServer

SEED = int(os.environ.get("CONFORMANCE_FUZZ_SEED", time.time_ns() % 1_000_000))
REQUESTS_PER_WORKER = 1500
WORKERS = 4
DEADLINE_SECONDS = 60.0
TARGETS = [
    "Comprehend_20171127.StopPiiEntitiesDetectionJob",
    "Comprehend_20171127.DescribePiiEntitiesDetectionJob",
    "Comprehend_20171127.StartPiiEntitiesDetectionJob",
    "ComprehendMedical_20181030.StopPHIDetectionJob",
    "ComprehendMedical_20181030.DescribePHIDetectionJob",
    "ComprehendMedical_20181030.StartPHIDetectionJob",
]
# Characters from every region that matters to the JobId pattern and to JSON/UTF-8 encoding.
ALPHABET = (
    "aZ09_.:/=+-%@ !#$&*()[]{}\"\\'\t\n\r\x00\x7f\u00a0\u00e9\u0301\u200b\u2028\u2029\u0663\u2167"
    "\u65e5\ue000\ufeff\U0001d400\U0001f600\ud800\udfff"
)


def random_text(rng: random.Random, longest: int = 40) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.choice([0, 1, 2, 31, 32, 33, rng.randint(0, longest)])))


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**64, 1.5, 1e308])
    if kind in (3, 4):
        return random_text(rng)
    if kind in (5, 6):
        keys = ["JobId", "JobName", "InputDataConfig", "S3Uri", "S3Bucket", "Mode", "LanguageCode", random_text(rng, 8)]
        return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def random_body(rng: random.Random, job_ids: list[str]) -> bytes:
    kind = rng.randrange(9)
    if kind == 0 and job_ids:
        return json.dumps({"JobId": rng.choice(job_ids)}).encode()
    if kind == 1:
        return json.dumps({"JobId": random_text(rng)}, ensure_ascii=False).encode("utf-8", "surrogatepass")  # raw UTF-8, lone surrogates make it invalid
    if kind == 2:
        return json.dumps(random_json(rng)).encode()
    if kind == 3:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    if kind == 4:
        text = json.dumps({"JobId": random_text(rng), "Extra": random_json(rng)})
        return text[: rng.randint(0, len(text))].encode()  # truncated
    if kind == 5:
        depth = rng.choice([10, 1000, 50_000])
        return (b"[" * depth + b"]" * depth) if rng.random() < 0.5 else (b'{"a":' * depth + b"1" + b"}" * depth)
    if kind == 6:
        return b""
    if kind == 7:
        return json.dumps({"JobId": "a" * rng.choice([33, 1000, 100_000])}).encode()
    return json.dumps({
        "InputDataConfig": {"S3Uri": "s3://bucket/in", "S3Bucket": "bucket"},
        "OutputDataConfig": {"S3Uri": "s3://bucket/out", "S3Bucket": "bucket"},
        "Mode": "ONLY_OFFSETS", "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r", "LanguageCode": "en",
        "JobId": random_text(rng),
    }).encode()


def random_headers(rng: random.Random) -> dict[str, str]:
    headers: dict[str, str] = {}
    roll = rng.random()
    if roll < 0.7:
        headers["X-Amz-Target"] = rng.choice(TARGETS)
    elif roll < 0.9:
        headers["X-Amz-Target"] = rng.choice(["", "Comprehend_20171127.", "X.StopPHIDetectionJob",
                                              "comprehend_20171127.StopPiiEntitiesDetectionJob",
                                              "".join(chr(rng.randrange(32, 256)) for _ in range(12))])
    if rng.random() < 0.8:
        headers["Content-Type"] = rng.choice(["application/x-amz-json-1.1", "application/json", "text/plain", ""])
    if rng.random() < 0.2:
        headers["Authorization"] = rng.choice(["AWS4-HMAC-SHA256 Credential=A/20260101/eu-west-1/comprehend/aws4_request",
                                               "garbage", "Credential=/x/"])
    return headers


def fuzz_worker(server: ReferenceServer, worker: int, deadline: float, problems: list[str], counts: list[int]) -> None:
    rng = random.Random(SEED * 100 + worker)
    host, port = server.address
    connection = http.client.HTTPConnection(host, port, timeout=10)
    job_ids: list[str] = []
    for index in range(REQUESTS_PER_WORKER):
        if time.monotonic() > deadline:
            break
        method = "POST" if rng.random() < 0.95 else rng.choice(["GET", "PUT", "DELETE", "OPTIONS"])
        headers = random_headers(rng)
        body = random_body(rng, job_ids)
        where = f"seed {SEED} worker {worker} request {index}: {method} {headers} {body[:80]!r}"
        try:
            connection.request(method, "/", body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            problems.append(f"dropped connection ({type(exc).__name__}: {exc}) on {where}")
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
            continue
        counts[0] += 1
        if response.status >= 500:
            problems.append(f"{response.status} {raw[:200]!r} on {where}")
        if not response.getheader("x-amzn-RequestId"):
            problems.append(f"no x-amzn-RequestId on {where}")
        try:
            answer = json.loads(raw)
        except ValueError:
            problems.append(f"answer is not JSON ({raw[:80]!r}) on {where}")
            continue
        if response.status >= 400 and "__type" not in answer:
            problems.append(f"error answer without __type on {where}")
        if response.status == 200 and isinstance(answer.get("JobId"), str):
            job_ids.append(answer["JobId"])
        if response.getheader("Connection", "").lower() == "close":
            problems.append(f"server closed a well-framed keep-alive connection on {where}")
            connection.close()
    connection.close()


def test_fuzz_over_keep_alive_never_5xx_never_drops(reference_server: ReferenceServer) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    problems: list[str] = []
    counts = [[0] for _ in range(WORKERS)]
    threads = [threading.Thread(target=fuzz_worker, args=(reference_server, n, deadline, problems, counts[n]))
               for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = sum(count[0] for count in counts)
    assert not problems, f"{len(problems)} problem(s) in {sent} requests (seed {SEED}):\n" + "\n".join(problems[:20])
    assert sent >= 2000, f"only {sent} requests answered before the deadline (seed {SEED})"


def test_fuzz_raw_bytes_get_4xx_or_a_clean_close(reference_server: ReferenceServer) -> None:
    rng = random.Random(SEED)
    host, port = reference_server.address
    prefixes = [b"", b"POST / HTTP/1.1\r\n", b"POST / HTTP/1.1\r\nContent-Length: 5\r\n",
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", b"GET /\r\n"]
    for index in range(300):
        payload = rng.choice(prefixes) + bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))) + b"\r\n\r\n"
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)  # no more bytes: the server must answer or close, never hang
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        if answer:
            status_line = answer.split(b"\r\n", 1)[0]
            assert status_line.startswith(b"HTTP/1."), f"seed {SEED} payload {index}: {answer[:80]!r}"
            assert not status_line.split(b" ")[1].startswith(b"5"), f"seed {SEED} payload {index}: {status_line!r}"
    status, _, _ = _still_serving(reference_server)
    assert status == 400


def _still_serving(server: ReferenceServer) -> tuple[int, Any, Any]:
    from conftest import post

    return post(server.url, TARGETS[0], "{}")
