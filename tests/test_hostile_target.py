"""The hostile test target does what it says: each kind arrives as described, honest answers are the
reference's, the mix follows the seed, and the server itself stays bounded and stops on close()."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests
from hostile_target import (
    BIG_BODY_BYTES,
    BOMB_INFLATED_BYTES,
    DEEP_LEVELS,
    HONEST,
    HOSTILE_KINDS,
    HUGE_DIGITS,
    HUGE_HEADER_BYTES,
    HostileTarget,
)

from conformance.protocols import get_protocol
from conformance.reference import ReferenceApp
from conformance.wire.http import HttpRequest, HttpResponse

JSON_TYPE = "application/x-amz-json-1.1"
JSON_STOP = {"Content-Type": JSON_TYPE, "X-Amz-Target": "ComprehendMedical_20181030.StopPHIDetectionJob"}
CBOR_STOP_PATH = "/service/ComprehendMedical_20181030/operation/StopPHIDetectionJob"
CBOR_HEADERS = {"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"}
READ_LIMIT = 16 << 20  # raw reads stop here; the largest kind sends 8 MiB
TIMEOUT = 10.0


def raw_exchange(url: str, payload: bytes) -> bytes:
    """Send `payload` on a fresh connection and read until the server closes it (or READ_LIMIT)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT) as sock:
        sock.sendall(payload)
        received = bytearray()
        while len(received) < READ_LIMIT:
            try:
                data = sock.recv(1 << 20)
            except ConnectionResetError:  # closed with our bytes unread: an end like any other
                break
            if not data:
                break
            received += data
        return bytes(received)


def json_request(body: bytes = b'{"JobId": "x"}', close: bool = True) -> bytes:
    """A raw awsJson1_1 Stop request; `Connection: close` so that a honest answer ends the connection."""
    lines = ["POST / HTTP/1.1", "Host: target", f"Content-Length: {len(body)}",
             *(f"{name}: {value}" for name, value in JSON_STOP.items()), *(["Connection: close"] if close else [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def split_answer(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers (lower-cased names) and body of one raw answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status_line, headers, body


def inflated_size(data: bytes, stop_after: int) -> int:
    """How many bytes gzip `data` inflates to, counted in bounded steps up to just past `stop_after`."""
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total, pending = 0, data
    while pending and total <= stop_after:
        total += len(unpacker.decompress(pending, 1 << 20))
        pending = unpacker.unconsumed_tail
    return total


# kind -> a check of the raw bytes the kind sends for a JSON Stop request.
RAW_CHECKS: dict[str, Callable[[bytes], bool]] = {
    "garbage": lambda raw: raw.startswith(b"\x00GARBAGE") and len(raw) == 520,
    "close_without_answer": lambda raw: raw == b"",
    "status_line_then_close": lambda raw: raw == b"HTTP/1.1 200 OK\r\n",
    "short_content_length": lambda raw: int(split_answer(raw)[1]["content-length"]) > len(split_answer(raw)[2]),
    "broken_chunked": lambda raw: split_answer(raw)[1]["transfer-encoding"] == "chunked"
    and b"\r\nnot-hex\r\n" in split_answer(raw)[2],
    "body_8mib": lambda raw: len(split_answer(raw)[2]) == BIG_BODY_BYTES,
    "deep_json": lambda raw: split_answer(raw)[2] == b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS
    and split_answer(raw)[1]["content-type"] == "application/x-amz-json-1.1",
    "deep_cbor": lambda raw: split_answer(raw)[2] == b"\x81" * DEEP_LEVELS + b"\x00"
    and split_answer(raw)[1]["content-type"] == "application/cbor",
    "self_referencing_cbor": lambda raw: bytes.fromhex("d81ca16161d81d00") in split_answer(raw)[2]
    and split_answer(raw)[1]["smithy-protocol"] == "rpc-v2-cbor"
    and split_answer(raw)[1]["content-type"] == "application/cbor",
    "json_number_10k_digits": lambda raw: re.search(rb"\d{%d}" % HUGE_DIGITS, split_answer(raw)[2]) is not None,
    "cbor_bignum_10k_bytes": lambda raw: b"\xc2\x59" + HUGE_DIGITS.to_bytes(2, "big") in split_answer(raw)[2]
    and len(split_answer(raw)[2]) > HUGE_DIGITS,
    "invalid_utf8_json": lambda raw: not _is_utf8(split_answer(raw)[2]),
    "status_999": lambda raw: split_answer(raw)[0].startswith("HTTP/1.1 999 "),
    "status_299": lambda raw: split_answer(raw)[0].startswith("HTTP/1.1 299 "),
    "status_100_then_close": lambda raw: raw == b"HTTP/1.1 100 Continue\r\n\r\n",
    "huge_header_line": lambda raw: max(len(line) for line in raw.split(b"\r\n")) > HUGE_HEADER_BYTES,
    "gzip_bomb": lambda raw: split_answer(raw)[1]["content-encoding"] == "gzip"
    and len(split_answer(raw)[2]) < 200_000
    and inflated_size(split_answer(raw)[2], BOMB_INFLATED_BYTES) > BOMB_INFLATED_BYTES,
}

# kind -> what `requests` makes of it: the exception it raises, or the status it reads.
REQUESTS_OUTCOMES: dict[str, type[Exception] | int] = {
    "garbage": requests.ConnectionError,
    "close_without_answer": requests.ConnectionError,
    "status_line_then_close": 200,  # a status line and EOF: no headers, a body read to the close
    "short_content_length": requests.exceptions.ChunkedEncodingError,
    "broken_chunked": requests.exceptions.ChunkedEncodingError,
    "body_8mib": 500,
    "deep_json": 400,
    "deep_cbor": 400,
    "self_referencing_cbor": 400,
    "json_number_10k_digits": 400,
    "cbor_bignum_10k_bytes": 400,
    "invalid_utf8_json": 400,
    "status_999": 999,
    "status_299": 299,
    "status_100_then_close": requests.ConnectionError,
    "huge_header_line": requests.ConnectionError,
    "gzip_bomb": 200,
}

# kind -> the protocol whose decoder must report its body as a decode error.
UNDECODABLE_BODIES = {
    "deep_json": "awsJson1_1", "json_number_10k_digits": "awsJson1_1", "invalid_utf8_json": "awsJson1_1",
    "deep_cbor": "rpcv2Cbor", "self_referencing_cbor": "rpcv2Cbor", "cbor_bignum_10k_bytes": "rpcv2Cbor",
}


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_every_kind_is_checked_here() -> None:
    assert set(RAW_CHECKS) == set(REQUESTS_OUTCOMES) == set(HOSTILE_KINDS)
    assert HONEST not in HOSTILE_KINDS


def test_unknown_kinds_and_bad_shares_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown kinds"):
        HostileTarget(1, kinds=["deep_xml"])
    with pytest.raises(ValueError, match="at least one"):
        HostileTarget(1, kinds=[])
    with pytest.raises(ValueError, match="share"):
        HostileTarget(1, answers=1.5)


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_each_kind_arrives_as_described_on_a_raw_socket(kind: str) -> None:
    with HostileTarget(seed=1, kinds=[kind]) as target:
        raw = raw_exchange(target.url, json_request())
        assert target.served == [kind]
    assert RAW_CHECKS[kind](raw), raw[:200]


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_each_kind_reaches_requests_as_expected(kind: str) -> None:
    expected = REQUESTS_OUTCOMES[kind]
    with HostileTarget(seed=2, kinds=[kind]) as target:
        if isinstance(expected, int):
            # stream=True and a bounded read: the gzip bomb must not be inflated whole here
            with requests.post(target.url, data=b'{"JobId": "x"}', headers=JSON_STOP, timeout=TIMEOUT,
                               stream=True) as answer:
                assert answer.status_code == expected
                next(answer.iter_content(65536), b"")
        else:
            with pytest.raises(expected):
                requests.post(target.url, data=b'{"JobId": "x"}', headers=JSON_STOP, timeout=TIMEOUT).content


@pytest.mark.parametrize("kind", sorted(UNDECODABLE_BODIES))
def test_hostile_bodies_are_decode_errors_for_the_suite(kind: str) -> None:
    with HostileTarget(seed=3, kinds=[kind]) as target:
        answer = requests.post(target.url, data=b'{"JobId": "x"}', headers=JSON_STOP, timeout=TIMEOUT)
    response = HttpResponse(answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content)
    started = time.perf_counter()
    decoded = get_protocol(UNDECODABLE_BODIES[kind]).decode(response)
    assert decoded.decode_error and decoded.document is None
    assert time.perf_counter() - started < 2.0


def test_honest_answers_are_the_reference_apps() -> None:
    expected = ReferenceApp().handle(HttpRequest("POST", "/", JSON_STOP, b'{"JobId": "x"}'))
    with HostileTarget(seed=4, answers=1.0) as target, requests.Session() as session:
        answers = [session.post(target.url, data=b'{"JobId": "x"}', headers=JSON_STOP, timeout=TIMEOUT)
                   for _ in range(3)]  # on one kept-alive connection
        cbor = session.post(target.url + CBOR_STOP_PATH, data=b"\xa1\x65JobId\x61x", headers=CBOR_HEADERS,
                            timeout=TIMEOUT)
        chunked = session.post(target.url, data=iter([b'{"JobId"', b': "x"}']), headers=JSON_STOP, timeout=TIMEOUT)
        assert target.served == [HONEST] * 5
    for answer in [*answers, chunked]:
        assert (answer.status_code, answer.json()) == (expected.status, json.loads(expected.body))
        assert answer.headers["Content-Type"] == "application/x-amz-json-1.1" and answer.headers["x-amzn-RequestId"]
    assert cbor.status_code == 400 and cbor.headers["Smithy-Protocol"] == "rpc-v2-cbor"
    headers = {name.lower(): value for name, value in cbor.headers.items()}
    decoded = get_protocol("rpcv2Cbor").decode(HttpResponse(cbor.status_code, headers, cbor.content))
    assert decoded.error_type == "ResourceNotFoundException"


def test_honest_answers_share_one_job_store() -> None:
    start = {"Content-Type": JSON_TYPE, "X-Amz-Target": "Comprehend_20171127.StartPiiEntitiesDetectionJob"}
    stop = {**start, "X-Amz-Target": "Comprehend_20171127.StopPiiEntitiesDetectionJob"}
    document = {"InputDataConfig": {"S3Uri": "s3://bucket/in"}, "OutputDataConfig": {"S3Uri": "s3://bucket/out"},
                "Mode": "ONLY_OFFSETS", "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r", "LanguageCode": "en"}
    with HostileTarget(seed=5, answers=1.0) as target:
        started = requests.post(target.url, json=document, headers=start, timeout=TIMEOUT)
        assert started.status_code == 200, started.text
        stopped = requests.post(target.url, json={"JobId": started.json()["JobId"]}, headers=stop, timeout=TIMEOUT)
    assert stopped.status_code == 200 and stopped.json()["JobId"] == started.json()["JobId"]


def serve_sequence(seed: int, answers: float, count: int) -> list[str]:
    """The kinds a target with this seed serves to `count` requests sent one after another."""
    with HostileTarget(seed=seed, answers=answers) as target:
        for _ in range(count):
            raw_exchange(target.url, json_request())
        return list(target.served)


def test_the_mix_follows_the_seed_and_the_share() -> None:
    first = serve_sequence(seed=6, answers=0.3, count=40)
    assert first == serve_sequence(seed=6, answers=0.3, count=40)
    assert first != serve_sequence(seed=7, answers=0.3, count=40)
    honest = first.count(HONEST)
    assert 0 < honest < 40 and len(set(first) - {HONEST}) > 5
    assert set(serve_sequence(seed=6, answers=0.0, count=10)) <= set(HOSTILE_KINDS)
    assert serve_sequence(seed=6, answers=1.0, count=10) == [HONEST] * 10


def test_a_stalled_client_does_not_block_others_and_close_ends_everything() -> None:
    target = HostileTarget(seed=8, answers=1.0).start()
    host, port = urlsplit(target.url).hostname, urlsplit(target.url).port
    idle = socket.create_connection((host, port), timeout=TIMEOUT)
    stalled = socket.create_connection((host, port), timeout=TIMEOUT)
    stalled.sendall(json_request()[:30])  # half a request line, then nothing
    try:
        assert split_answer(raw_exchange(target.url, json_request()))[0].startswith("HTTP/1.1 400")
        began = time.monotonic()
        target.close()
        assert time.monotonic() - began < 3.0
        assert idle.recv(100) == b"" and stalled.recv(100) == b""  # their connections were ended
        with pytest.raises(OSError):
            socket.create_connection((host, port), timeout=1).close()
        time.sleep(0.1)
        assert not [t for t in threading.enumerate() if t.name.startswith("hostile-")]
    finally:
        idle.close()
        stalled.close()
        target.close()  # a second close is harmless


@pytest.mark.parametrize(
    "payload",
    [
        json_request(b"x")[: json_request(b"x").index(b"Content-Length")] + b"Content-Length: 10485760\r\n\r\n",
        b"POST / HTTP/1.1\r\nX-Big: " + b"a" * (128 * 1024) + b"\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
    ids=["content_length_10mib", "header_section_128kib", "bad_chunk_size", "no_request_line"],
)
def test_unreadable_requests_end_the_connection_without_reading_on(payload: bytes) -> None:
    with HostileTarget(seed=9, answers=1.0) as target:
        began = time.monotonic()
        assert raw_exchange(target.url, payload) == b""
        assert time.monotonic() - began < 2.0 and target.served == []
