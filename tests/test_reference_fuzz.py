"""Thousands of random and malformed requests: never a 5xx, never a dropped connection.

Seeded and bounded in time; the seed is in the failure message, and CONFORMANCE_FUZZ_SEED repeats a run.
A fuzz test that cannot fail proves nothing: when changing one, plant a bug once (say, let
`cbor.check_item` pass tag 28, or answer `_Rejected` in JSON on every path) and see it fail.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import cbor2

from conformance.reference import ReferenceApp, ReferenceServer
from conformance.reference.server import HttpOptions
from conformance.wire import cbor
from conformance.wire.protocol_facts import (
    AWS_JSON_1_1_CONTENT_TYPE,
    CBOR_CONTENT_TYPE,
    RPC_V2_CBOR,
    SMITHY_PROTOCOL_HEADER,
    rpcv2_path,
)

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
    roll = rng.random()
    if roll < 0.85:  # most requests are claimed, so that their bodies are read
        headers["Content-Type"] = rng.choice([AWS_JSON_1_1_CONTENT_TYPE, AWS_JSON_1_1_CONTENT_TYPE + "; charset=utf-8"])
    elif roll < 0.95:
        headers["Content-Type"] = rng.choice(["application/json", "text/plain", CBOR_CONTENT_TYPE, ""])
    if rng.random() < 0.2:
        headers["Authorization"] = rng.choice(["AWS4-HMAC-SHA256 Credential=A/20260101/eu-west-1/comprehend/aws4_request",
                                               "garbage", "Credential=/x/"])
    return headers


class KeepAlive:
    """One keep-alive connection to the server that reports a dropped connection and then reconnects."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.connection = http.client.HTTPConnection(*self.address, timeout=10)

    def exchange(self, method: str, path: str, headers: dict[str, str], body: bytes,
                 problems: list[str], where: str) -> tuple[http.client.HTTPResponse, bytes] | None:
        """The answer and its body; None (and a problem noted) when the connection dropped instead."""
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response, response.read()
        except (OSError, http.client.HTTPException) as exc:
            problems.append(f"dropped connection ({type(exc).__name__}: {exc}) on {where}")
            self.reconnect()
            return None

    def reconnect(self) -> None:
        """A fresh connection, after the server closed this one."""
        self.connection.close()
        self.connection = http.client.HTTPConnection(*self.address, timeout=10)


def fuzz_worker(server: ReferenceServer, worker: int, deadline: float, problems: list[str],
                counts: Counter[str]) -> None:
    rng = random.Random(SEED * 100 + worker)
    connection = KeepAlive(server.address)
    job_ids: list[str] = []
    for index in range(REQUESTS_PER_WORKER):
        if time.monotonic() > deadline:
            break
        method = "POST" if rng.random() < 0.95 else rng.choice(["GET", "PUT", "DELETE", "OPTIONS"])
        headers = random_headers(rng)
        body = random_body(rng, job_ids)
        where = f"seed {SEED} worker {worker} request {index}: {method} {headers} {body[:80]!r}"
        exchanged = connection.exchange(method, "/", headers, body, problems, where)
        if exchanged is None:
            continue
        response, raw = exchanged
        counts["requests"] += 1
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
            connection.reconnect()
    connection.connection.close()


Worker = Callable[[ReferenceServer, int, float, list[str], Counter[str]], None]


def run_workers(worker: Worker, server: ReferenceServer, workers: int, seconds: float) -> Counter[str]:
    """Run `workers` threads of `worker` until they end or `seconds` pass; what they sent, counted by what it was.

    Fails listing the first problems the workers found, with the seed that repeats the run.
    """
    deadline = time.monotonic() + seconds
    problems: list[str] = []
    counts: list[Counter[str]] = [Counter() for _ in range(workers)]
    threads = [threading.Thread(target=worker, args=(server, n, deadline, problems, counts[n])) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = sum(counts, Counter())
    assert not problems, f"{len(problems)} problem(s) in {sent.total()} requests (seed {SEED}):\n" \
        + "\n".join(problems[:20])
    return sent


def test_fuzz_over_keep_alive_never_5xx_never_drops(reference_server: ReferenceServer) -> None:
    sent = run_workers(fuzz_worker, reference_server, WORKERS, DEADLINE_SECONDS).total()
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


# Hostile CBOR and JSON over both protocols ----------------------------------------------------------
#
# Each family is what a hostile or broken client can put in a body. Every one goes to both
# protocols and every Stop, usually with the protocol's own headers and sometimes without them,
# and each answer must be a 4xx or a 200 of the addressed protocol's form, in bounded time, on a
# connection that stays open.

HOSTILE_REQUESTS_PER_WORKER = 2000
HOSTILE_WORKERS = 2
HOSTILE_DEADLINE_SECONDS = 45.0
SECONDS_PER_ANSWER = 3.0  # the slowest family (10,000 levels of JSON) takes milliseconds
STOPS = [  # (ServiceName, operation, namespace)
    ("Comprehend_20171127", "StopPiiEntitiesDetectionJob", "com.amazonaws.comprehend"),
    ("ComprehendMedical_20181030", "StopPHIDetectionJob", "com.amazonaws.comprehendmedical"),
]
DEPTHS = (100, 500, 950, 1000, 10_000)  # 500-950: past the recursion a nested check might use
JOB_ID_KEY = cbor2.dumps("JobId")
ABSOLUTE_SHAPE_ID = re.compile(r"^com\.amazonaws\.[a-z]+#[A-Za-z]+$")


def as_job_id(item: bytes) -> bytes:
    """A one-member CBOR map whose JobId is `item` (raw CBOR)."""
    return b"\xa1" + JOB_ID_KEY + item


def shared_chain(length: int) -> bytes:
    """Nested shared values (tags 28/29): each a pair of references to the one before, 2**length leaves."""
    items = b"\xd8\x1c\x82\x00\x00" + b"".join(
        b"\xd8\x1c\x82" + (b"\xd8\x1d" + cbor2.dumps(index)) * 2 for index in range(length - 1))
    return b"\x9f" + items + b"\xff"


def cbor_deep(rng: random.Random) -> bytes:
    depth = rng.choice(DEPTHS)
    opener, closer = rng.choice([(b"\x81", b""), (b"\x9f", b"\xff"), (b"\xa1\x61a", b""), (b"\xbf\x61a", b"\xff"),
                                 (b"\xd8\xff", b"")])
    nested = opener * depth + b"\x00" + closer * depth
    return as_job_id(nested) if rng.random() < 0.5 else nested


CBOR_FAMILIES: dict[str, Callable[[random.Random], bytes]] = {
    "cbor.shared_reference": lambda rng: rng.choice([
        b"\xd8\x1c\xa1\x61\x61\xd8\x1d\x00", as_job_id(b"\xd8\x1c\x81\xd8\x1d\x00"), as_job_id(b"\xd8\x1d\x00")]),
    "cbor.nested_shared": lambda rng: as_job_id(shared_chain(rng.choice([2, 30, 200]))),
    "cbor.string_reference": lambda rng: rng.choice([
        b"\xd9\x01\x00" + as_job_id(b"\x63abc"),  # a namespace, no reference
        b"\xd9\x01\x00\xa2" + JOB_ID_KEY + b"\x63abc\x61b\xd8\x19\x00",
        as_job_id(b"\xd8\x19\x00")]),
    "cbor.bignum": lambda rng: as_job_id(bytes([rng.choice([0xC2, 0xC3])])
                                         + cbor2.dumps(rng.randbytes(rng.choice([65, 1000, 4000, 20_000])))),
    "cbor.big_decimal": lambda rng: as_job_id(rng.choice([
        b"\xc4\x82\x1b\xff\xff\xff\xff\xff\xff\xff\xff\x01", b"\xc5\x82\x1b\x7f\xff\xff\xff\xff\xff\xff\xff\x01",
        b"\xc4\x82\x01\xc2" + cbor2.dumps(b"\xff" * 64)])),
    "cbor.deep": cbor_deep,
    "cbor.nan_infinity": lambda rng: as_job_id(rng.choice([
        b"\xf9\x7e\x00", b"\xf9\x7c\x00", b"\xf9\xfc\x00", b"\xfa\x7f\xc0\x00\x00",
        b"\xfb\x7f\xf0\x00\x00\x00\x00\x00\x00"])),
    "cbor.undefined_job_id": lambda rng: rng.choice([as_job_id(b"\xf7"), b"\xbf" + JOB_ID_KEY + b"\xf7\xff"]),
    "cbor.undefined_nested": lambda rng: rng.choice([
        as_job_id(b"\x82\xf7\xf7"), b"\xf7", b"\x81\xf7", b"\xa1\xf7\xf7", as_job_id(b"\xa1\x61a\xf7")]),
    "cbor.indefinite": lambda rng: rng.choice([
        b"\xbf" + JOB_ID_KEY + b"\x7f\x62ab\x62cd\xff\xff",  # a valid JobId in chunks
        b"\xbf" + JOB_ID_KEY + b"\x7f\x62ab",  # never closed
        b"\xbf" + JOB_ID_KEY + b"\x7f\x7f\x61a\xff\xff\xff",  # chunks within chunks
        b"\xbf" + JOB_ID_KEY + b"\x5f\x41a\xff\xff",  # a byte string in chunks
        b"\xbf" + JOB_ID_KEY + b"\x7f\x41a\xff\xff",  # a byte-string chunk in a text string
        b"\xbf" + JOB_ID_KEY + b"\xff",  # a key without its value
        b"\x9f" * 50 + b"\xff" * 51,  # one break too many
        b"\xdf\xff"]),  # indefinite length on a tag
    "cbor.trailing": lambda rng: cbor2.dumps({"JobId": "a" * 32}) + rng.choice([b"\x00", b"\xff", b"\xa0",
                                                                                 rng.randbytes(rng.randint(1, 16))]),
    "cbor.invalid_utf8": lambda rng: rng.choice([
        as_job_id(b"\x63\xff\xfe\xfd"), as_job_id(b"\x62\xed\xa0"), b"\xa1\x62\xc0\xaf\x61a",
        as_job_id(b"\x7f\x61\xc3\x61\xa9\xff")]),  # a character split across chunks
    "cbor.huge_length": lambda rng: rng.choice([
        as_job_id(b"\x7b" + b"\xff" * 8), as_job_id(b"\x9b" + b"\xff" * 8), b"\xbb" + b"\xff" * 8,
        as_job_id(b"\x7a\x80\x00\x00\x00a")]),  # a text string of 2**31 bytes, one sent
    "cbor.random": lambda rng: rng.randbytes(rng.randint(0, 64)),
}


def json_deep(rng: random.Random) -> bytes:
    depth = rng.choice(DEPTHS)
    nested = rng.choice([b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth])
    return b'{"JobId": ' + nested + b"}" if rng.random() < 0.5 else nested


JSON_FAMILIES: dict[str, Callable[[random.Random], bytes]] = {
    "json.deep": json_deep,
    "json.huge_integer": lambda rng: b'{"JobId": ' + rng.choice([b"", b"-"]) + b"9" * rng.choice(
        [20, 400, 4300, 4301, 50_000, 500_000]) + b"}",
    "json.huge_exponent": lambda rng: b'{"JobId": ' + rng.choice([b"1e999999999", b"-1e400", b"1.5e-999999",
                                                                  b"0." + b"0" * 100_000 + b"1"]) + b"}",
    "json.nan_infinity": lambda rng: rng.choice([b'{"JobId": NaN}', b'{"JobId": Infinity}', b'{"JobId": -Infinity}',
                                                 b"NaN", b'{"JobId": [NaN]}']),
    "json.undefined": lambda rng: rng.choice([b'{"JobId": undefined}', b"undefined"]),
    "json.trailing": lambda rng: b'{"JobId": "a"}' + rng.choice([b"x", b"{}", b"]", b"\x00", b" null"]),
    "json.invalid_utf8": lambda rng: b'{"JobId": "' + rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82"])
    + b'"}',
    "json.escapes": lambda rng: rng.choice([b'{"JobId": "\\ud800"}', b'{"JobId": "\\udfff\\ud800"}',
                                            b'{"JobId": "\\u0000"}', b'{"\\u004aobId": "a"}', b'{"JobId": "\\x41"}']),
    "json.encodings": lambda rng: rng.choice([b'\xef\xbb\xbf{"JobId": "a"}', '{"JobId": "a"}'.encode("utf-16"),
                                              '{"JobId": "a"}'.encode("utf-32-le")]),
    "json.duplicate_keys": lambda rng: b'{"JobId": "a", "JobId": ' + rng.choice([b"1", b"null", b'"b"', b"{}"]) + b"}",
    "json.random": lambda rng: rng.randbytes(rng.randint(0, 64)),
}
HOSTILE_FAMILIES = {**CBOR_FAMILIES, **JSON_FAMILIES}
# Answers a family's body must get when it goes, well-formed, to the protocol of its own format.
EXPECTED_TYPES = {
    "cbor.shared_reference": "SerializationException", "cbor.nested_shared": "SerializationException",
    "cbor.string_reference": "SerializationException", "cbor.trailing": "SerializationException",
    "cbor.invalid_utf8": "SerializationException", "cbor.undefined_job_id": "ValidationException",
    "json.deep": "SerializationException", "json.nan_infinity": "SerializationException",
    "json.undefined": "SerializationException", "json.trailing": "SerializationException",
    "json.invalid_utf8": "SerializationException",
}


def hostile_request(rng: random.Random, protocol: str, stop: tuple[str, str, str],
                    body: bytes) -> tuple[str, dict[str, str], bool]:
    """The path and headers of a Stop over `protocol`, and whether they are as the protocol says (else a mark is
    missing or wrong)."""
    if protocol == "awsJson1_1":
        path, headers = "/", {"Content-Type": AWS_JSON_1_1_CONTENT_TYPE, "X-Amz-Target": f"{stop[0]}.{stop[1]}"}
    else:
        path = rpcv2_path(rng.choice([stop[0], f"{stop[2]}.{stop[0]}"]), stop[1])
        headers = {SMITHY_PROTOCOL_HEADER: RPC_V2_CBOR, "Accept": CBOR_CONTENT_TYPE}
        if body:
            headers["Content-Type"] = CBOR_CONTENT_TYPE
    if rng.random() < 0.85:
        return path, headers, True
    headers.pop(rng.choice(["Content-Type", "X-Amz-Target", SMITHY_PROTOCOL_HEADER]), None)
    if rng.random() < 0.5:
        headers["Content-Type"] = rng.choice([AWS_JSON_1_1_CONTENT_TYPE, CBOR_CONTENT_TYPE, "text/plain", ""])
    return path, headers, False


def answer_problems(protocol: str, stop: tuple[str, str, str], response: http.client.HTTPResponse, raw: bytes,
                    expected: str | None) -> list[str]:
    """What is wrong with an answer: a 5xx, or not the addressed protocol's form, or not the type expected."""
    problems = [f"answered {response.status}"] if response.status >= 500 else []
    if not response.getheader("x-amzn-RequestId"):
        problems.append("no x-amzn-RequestId")
    content_type = response.getheader("Content-Type")
    if protocol == "rpcv2Cbor":
        if content_type != CBOR_CONTENT_TYPE or response.getheader(SMITHY_PROTOCOL_HEADER) != RPC_V2_CBOR:
            smithy_protocol = response.getheader(SMITHY_PROTOCOL_HEADER)
            return [*problems, f"not rpcv2Cbor: Content-Type {content_type!r}, Smithy-Protocol {smithy_protocol!r}"]
        try:
            answer = cbor.decode(raw)
        except cbor.CborError as exc:
            return [*problems, f"answer body is not CBOR: {exc}"]
        error_type = answer.get("__type") if isinstance(answer, dict) else None
        if response.status >= 400 and not (isinstance(error_type, str) and ABSOLUTE_SHAPE_ID.match(error_type)
                                           and error_type.startswith(stop[2] + "#") and answer.get("message")):
            problems.append(f"rpcv2Cbor error without {stop[2]}#... __type and message: {answer!r:.200}")
    else:
        if content_type != AWS_JSON_1_1_CONTENT_TYPE or response.getheader(SMITHY_PROTOCOL_HEADER) is not None:
            return [*problems, f"not an awsJson1_1 answer: Content-Type {content_type!r}"]
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            return [*problems, f"answer body is not JSON: {exc}"]
        error_type = answer.get("__type") if isinstance(answer, dict) else None
        if response.status >= 400 and not (isinstance(error_type, str) and "#" not in error_type):
            problems.append(f"awsJson1_1 error without a bare __type: {answer!r:.200}")
    if expected is not None and (error_type or "").rpartition("#")[2] != expected:
        problems.append(f"expected {expected}, answered {response.status} {error_type}")
    return problems


def hostile_worker(server: ReferenceServer, worker: int, deadline: float, problems: list[str],
                   counts: Counter[str]) -> None:
    rng = random.Random(SEED * 1000 + worker)
    connection = KeepAlive(server.address)
    names = sorted(HOSTILE_FAMILIES)
    for index in range(HOSTILE_REQUESTS_PER_WORKER):
        if time.monotonic() > deadline:
            break
        family, protocol, stop = rng.choice(names), rng.choice(["awsJson1_1", "rpcv2Cbor"]), rng.choice(STOPS)
        body = HOSTILE_FAMILIES[family](rng)
        path, headers, proper = hostile_request(rng, protocol, stop, body)
        own_format = family.startswith("cbor." if protocol == "rpcv2Cbor" else "json.")
        expected = EXPECTED_TYPES.get(family) if proper and own_format else None
        where = f"seed {SEED} worker {worker} request {index}: {family} over {protocol} {path} {headers} {body[:60]!r}"
        started = time.monotonic()
        exchanged = connection.exchange("POST", path, headers, body, problems, where)
        elapsed = time.monotonic() - started
        if exchanged is None:
            continue
        response, raw = exchanged
        counts[family] += 1
        found = answer_problems(protocol, stop, response, raw, expected)
        if elapsed > SECONDS_PER_ANSWER:
            found.append(f"answered after {elapsed:.1f}s")
        if response.getheader("Connection", "").lower() == "close":
            found.append("closed a well-framed keep-alive connection")
            connection.reconnect()
        problems.extend(f"{problem} on {where}" for problem in found)
    connection.connection.close()


def test_hostile_cbor_and_json_over_both_protocols(reference_server: ReferenceServer) -> None:
    sent = run_workers(hostile_worker, reference_server, HOSTILE_WORKERS, HOSTILE_DEADLINE_SECONDS)
    unsent = sorted(set(HOSTILE_FAMILIES) - set(sent))
    assert not unsent, f"families never sent before the deadline (seed {SEED}): {unsent}"


# Hostile HTTP: broken framing, early disconnects, idle floods ---------------------------------------
#
# What an audit of `conformance serve` sent beside hostile bodies. Each framed request must get a
# 4xx in the addressed protocol's form and a closed connection; a client that leaves early must leave
# nothing on the server's stderr; a flood of idle connections must not keep a good client out.
# benchmarks/bench_hostile.py sends these same families at full scale.

HTTP_REQUESTS_PER_WORKER = 400
HTTP_WORKERS = 2
HTTP_DEADLINE_SECONDS = 20.0
GOOD_CLIENT_SECONDS = 1.0  # the longest a well-behaved request may wait, whatever else is going on
STOP_TARGET = f"{STOPS[0][0]}.{STOPS[0][1]}"
REQUEST_HEADS = {  # a Stop's request line and headers over each protocol, framing left out
    "awsJson1_1": f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {STOP_TARGET}\r\n"
                  f"Content-Type: {AWS_JSON_1_1_CONTENT_TYPE}\r\n".encode(),
    "rpcv2Cbor": f"POST {rpcv2_path(STOPS[0][0], STOPS[0][1])} HTTP/1.1\r\nHost: x\r\n"
                 f"{SMITHY_PROTOCOL_HEADER}: {RPC_V2_CBOR}\r\nContent-Type: {CBOR_CONTENT_TYPE}\r\n".encode(),
}
STOP_BODIES = {"awsJson1_1": json.dumps({"JobId": "a" * 32}).encode(), "rpcv2Cbor": cbor2.dumps({"JobId": "a" * 32})}
# Digits to str.isdigit() but not to int() ("²" is one Latin-1 byte, as http.server reads headers), other
# scripts' digits, and what int() takes but HTTP does not: signs, underscores, a 0x prefix, spaces.
ODD_LENGTHS = [b"\xb2", b"\xb3", b"\xb9", "²".encode(), "\u0663".encode(), "\uff15".encode(), b"+2", b"-2", b"0x2",
               b"2_0", b"2.0", b"2 2", b"", b"\t", b"9" * 5000]
ODD_CHUNK_SIZES = [b"\xb2", "\u0663".encode(), b"0x2", b"+2", b"-2", b"2_0", b"2 2", b"", b"g", b"2" * 2000]


def framed(protocol: str, framing: bytes, body: bytes, close: bool = False) -> bytes:
    """A Stop over `protocol` with the given framing header lines and body bytes."""
    return REQUEST_HEADS[protocol] + framing + (b"Connection: close\r\n" if close else b"") + b"\r\n" + body


def odd_framing(rng: random.Random) -> tuple[str, bytes]:
    """A Stop whose Content-Length or chunk size is not ASCII (hex) digits; the protocol it is addressed to."""
    protocol = rng.choice(sorted(REQUEST_HEADS))
    body = STOP_BODIES[protocol]
    if rng.random() < 0.6:
        return protocol, framed(protocol, b"Content-Length: " + rng.choice(ODD_LENGTHS) + b"\r\n", body)
    chunked = rng.choice(ODD_CHUNK_SIZES) + b"\r\n" + body + b"\r\n0\r\n\r\n"
    return protocol, framed(protocol, b"Transfer-Encoding: chunked\r\n", chunked)


def http09(rng: random.Random) -> tuple[str, bytes]:
    """An HTTP/0.9 request line (`GET /path`, no version), maybe followed by lines that look like headers."""
    protocol = rng.choice(sorted(REQUEST_HEADS))
    path = b"/" if protocol == "awsJson1_1" else rpcv2_path(STOPS[0][0], STOPS[0][1]).encode()
    return protocol, b"GET " + path + rng.choice([b"\r\n", b"\n", b"\r\nHost: x\r\n\r\n", b"\r\n{}"])


HTTP_FAMILIES: dict[str, Callable[[random.Random], tuple[str, bytes]]] = {"http.odd_framing": odd_framing,
                                                                            "http.0.9": http09}


def raw_answer(address: tuple[str, int], payload: bytes,
               timeout: float = 10.0) -> tuple[http.client.HTTPResponse, bytes, bool] | None:
    """Send raw bytes on a new connection: the answer, its body, and whether the server then closed (None: no answer)."""
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(payload)
            response = http.client.HTTPResponse(sock, method="POST")
            response.begin()
            body = response.read()
        except (OSError, http.client.HTTPException):
            return None
        sock.settimeout(2.0)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
        except OSError:  # reset: closed all the same
            closed = True
    return response, body, closed


def framing_problems(family: str, protocol: str, answered: tuple[http.client.HTTPResponse, bytes, bool] | None) -> list[str]:
    """What is wrong with the answer to a request of an HTTP family: none, a 5xx, not the protocol's form, left open."""
    if answered is None:
        return ["no answer"]
    response, raw, closed = answered
    found = answer_problems(protocol, STOPS[0], response, raw, None)
    if not 400 <= response.status < 500:
        found.append(f"answered {response.status}, not a 4xx")
    if not closed:
        found.append("left the connection open after a request it could not read")
    if family == "http.0.9" and response.version != 10:
        found.append("answered HTTP/0.9 without an HTTP/1.0 status line")
    return found


def http_worker(server: ReferenceServer, worker: int, deadline: float, problems: list[str],
                counts: Counter[str]) -> None:
    rng = random.Random(SEED * 10_000 + worker)
    names = sorted(HTTP_FAMILIES)
    for index in range(HTTP_REQUESTS_PER_WORKER):
        if time.monotonic() > deadline:
            break
        family = rng.choice(names)
        protocol, payload = HTTP_FAMILIES[family](rng)
        found = framing_problems(family, protocol, raw_answer(server.address, payload))
        counts[family] += 1
        problems.extend(f"{problem} on seed {SEED} worker {worker} request {index}: {family} {payload[:100]!r}"
                        for problem in found)


def test_fuzz_odd_framing_and_http09_get_a_4xx_and_a_close(reference_server: ReferenceServer) -> None:
    sent = run_workers(http_worker, reference_server, HTTP_WORKERS, HTTP_DEADLINE_SECONDS)
    assert set(sent) == set(HTTP_FAMILIES), f"families never sent before the deadline (seed {SEED}): {sent}"


def leave_early(address: tuple[str, int], rng: random.Random) -> None:
    """Send all or part of a request, then leave before the answer: at once (RST) or politely (FIN)."""
    protocol = rng.choice(sorted(REQUEST_HEADS))
    body = STOP_BODIES[protocol]
    payload = framed(protocol, b"Content-Length: %d\r\n" % len(body), body)
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(payload if rng.random() < 0.6 else payload[:rng.randrange(len(payload))])
        if rng.random() < 0.7:  # a reset rather than a FIN: the server's next read or write fails
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def open_idle(address: tuple[str, int], rng: random.Random) -> socket.socket:
    """A connection that sends nothing, or the start of a request, and then waits (a slow client)."""
    sock = socket.create_connection(address, timeout=5)
    if rng.random() < 0.5:
        sock.sendall(rng.choice([b"P", b"POST / HTTP/1.1\r\n", REQUEST_HEADS["awsJson1_1"]]))
    return sock


@contextmanager
def idle_flood(address: tuple[str, int], rng: random.Random, count: int) -> Iterator[list[socket.socket]]:
    """`count` idle connections (see open_idle), closed on leaving."""
    flood: list[socket.socket] = []
    try:
        flood.extend(open_idle(address, rng) for _ in range(count))
        yield flood
    finally:
        for sock in flood:
            sock.close()


def good_request(address: tuple[str, int], timeout: float = 10.0) -> float:
    """One well-behaved Stop on a new connection; the seconds until its answer (raises if it gets none or a 5xx)."""
    began = time.monotonic()
    answered = raw_answer(address, framed("awsJson1_1", b"Content-Length: %d\r\n" % len(STOP_BODIES["awsJson1_1"]),
                                          STOP_BODIES["awsJson1_1"], close=True), timeout)
    if answered is None or answered[0].status >= 500:
        raise AssertionError(f"a well-behaved request got {answered and answered[0].status or 'no answer'}")
    return time.monotonic() - began


def settle(server: ReferenceServer, seconds: float = 5.0) -> None:
    """Wait (bounded) until the server has taken every connection made so far and closed them all, so that all
    its threads have written what they will."""
    good_request(server.address)  # accepted in turn: once it is answered, every earlier connection was accepted
    deadline = time.monotonic() + seconds
    while server.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)


def test_early_disconnects_and_idle_floods_leave_no_trace(reference_app: ReferenceApp, capfd: Any) -> None:
    rng = random.Random(SEED)
    # A short delay before each answer: a client that leaves right after its request is gone by then.
    with ReferenceServer(app=reference_app, max_connections=50, http_options=HttpOptions(answer_delay=0.02)) as server:
        for _ in range(200):
            leave_early(server.address, rng)
        with idle_flood(server.address, rng, 150):
            waits = [good_request(server.address) for _ in range(5)]
        settle(server)
    errors = capfd.readouterr().err
    assert max(waits) < GOOD_CLIENT_SECONDS, f"a good client waited {max(waits):.2f}s beside 150 idle connections"
    assert errors == "", f"the server wrote to stderr (seed {SEED}):\n{errors[:2000]}"
