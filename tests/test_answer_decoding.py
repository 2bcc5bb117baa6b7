"""Any bytes a target sends back decode to an Answer, quickly: a document or a decode error, never an exception.

Both protocol decoders get arbitrary statuses, headers and bodies (Hypothesis), and a list of named
hostile bodies (deep, self-referencing, huge numbers, bad text, 5 MB). Whatever they decode must be
safe for what the checks do next: validate it with jsonschema and format it.
"""

from __future__ import annotations

import io
import json
import random
import time
from typing import Any

import cbor2
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.protocols import Answer, get_protocol
from conformance.wire import cbor
from conformance.wire.http import HttpResponse
from conformance.wire.json_text import MAX_ANSWER_DEPTH, nested_deeper_than

JSON = get_protocol("awsJson1_1")
CBOR = get_protocol("rpcv2Cbor")
DECODERS = {"awsJson1_1": JSON, "rpcv2Cbor": CBOR}
SECONDS_PER_BODY = 30.0  # a hang guard, not a speed goal: a 5 MB body decodes in about a second on a quiet host,
# several on a loaded one; a decoder gone quadratic takes minutes
MB5 = 5 * 1024 * 1024

# Every value, at any depth: validating a document against it walks the whole document, as a
# recursive schema would; at MAX_ANSWER_DEPTH, jsonschema stays far from Python's recursion limit.
ANY_DOCUMENT = jsonschema.Draft202012Validator({
    "anyOf": [
        {"type": ["string", "number", "boolean", "null"]},
        {"type": "array", "items": {"$ref": "#"}},
        {"type": "object", "additionalProperties": {"$ref": "#"}},
    ],
})


def nested(depth: int, inner: bytes, open_: bytes, close: bytes = b"") -> bytes:
    """`inner` inside `depth` containers, each opened by `open_` and closed by `close`."""
    return open_ * depth + inner + close * depth


def cbor_text(data: bytes) -> bytes:
    """A CBOR text string head (4-byte length) and its bytes, valid UTF-8 or not."""
    return b"\x7a" + len(data).to_bytes(4, "big") + data


def cbor_bytes(data: bytes) -> bytes:
    """A CBOR byte string head (4-byte length) and its bytes."""
    return b"\x5a" + len(data).to_bytes(4, "big") + data


# name -> (body, awsJson1_1 decodes it?, rpcv2Cbor decodes it?); None: either outcome is right.
HOSTILE: dict[str, tuple[bytes, bool | None, bool | None]] = {
    # JSON
    "json_deep_arrays_100k": (nested(100_000, b"", b"[", b"]"), False, False),
    "json_deep_objects_100k": (nested(100_000, b"1", b'{"a":', b"}"), False, None),
    "json_deep_900": (nested(900, b"1", b"[", b"]"), False, None),  # under json's own recursion limit
    "json_depth_at_limit": (nested(MAX_ANSWER_DEPTH, b"1", b"[", b"]"), True, None),
    "json_depth_over_limit": (nested(MAX_ANSWER_DEPTH + 1, b"1", b"[", b"]"), False, None),
    "json_open_brackets_5mb": (b"[" * MB5, False, False),
    "json_int_10k_digits": (b'{"n": ' + b"9" * 10_000 + b"}", False, None),
    "json_int_5k_negative": (b'{"n": -' + b"9" * 5_000 + b"}", False, None),
    "json_int_155_digits": (b'{"n": ' + b"9" * 155 + b"}", True, None),
    "json_nan": (b'{"n": NaN}', False, None),
    "json_infinity": (b'{"n": -Infinity}', False, None),
    "json_lone_surrogate_escape": (b'{"__type": "E", "Message": "Value \'\\ud800\'"}', True, None),
    "json_invalid_utf8": (b'{"__type": "\xff\xfe"}', False, None),
    "json_overlong_utf8": (b'{"a": "\xc0\xaf"}', False, None),
    "json_utf8_surrogate_bytes": (b'{"a": "\xed\xa0\x80"}', False, None),
    "json_bom": (b'\xef\xbb\xbf{"a": 1}', False, None),
    "json_utf16": ('{"a": 1}'.encode("utf-16"), False, None),
    "json_string_5mb": (b'{"message": "' + b"x" * MB5 + b'"}', True, None),
    "json_flat_array_5mb": (b"[" + b"0," * (MB5 // 2) + b"0]", True, None),
    "json_many_empty_arrays": (b"[" + b"[]," * (MB5 // 3) + b"[]]", True, None),
    "json_float_overflow": (b'{"n": 1e999999}', True, None),
    "json_float_digits_1mb": (b'{"n": 1.' + b"3" * 1_000_000 + b"}", True, None),
    "json_scalar": (b'"just a string"', True, None),
    "json_whitespace_only": (b" \r\n\t ", True, None),  # no body: document None, no error
    # CBOR
    "cbor_self_reference": (bytes.fromhex("d81ca16161d81d00"), None, False),
    "cbor_shared_nested_30": (nested(30, b"\x00", bytes.fromhex("d81c81")), None, False),
    "cbor_shared_reference_fan_out": (b"\xd8\x1c\x81\x00" + b"\x98\xff" + b"\xd8\x1d\x00" * 255, None, False),
    "cbor_string_reference": (b"\xd9\x01\x00\x82\x63abc\xd8\x19\x00", None, False),
    "cbor_deep_arrays_100k": (nested(100_000, b"\x00", b"\x81"), None, False),
    "cbor_deep_indefinite_100k": (nested(100_000, b"", b"\x9f", b"\xff"), None, False),
    "cbor_deep_maps_100k": (nested(100_000, b"\x00", b"\xa1\x61a"), None, False),
    "cbor_deep_tags_100k": (nested(100_000, b"\x00", b"\xd8\xff"), None, False),
    "cbor_depth_at_limit": (nested(MAX_ANSWER_DEPTH, b"\x00", b"\x81"), None, True),
    "cbor_depth_over_limit": (nested(MAX_ANSWER_DEPTH + 1, b"\x00", b"\x81"), None, False),
    "cbor_bignum_10k_bytes": (b"\xc2" + cbor_bytes(b"\xff" * 10_000), None, False),
    "cbor_negative_bignum_10k": (b"\xa1\x61n\xc3" + cbor_bytes(b"\x01" * 10_000), None, False),
    "cbor_bignum_64_bytes": (b"\xa1\x61n\xc2\x58\x40" + b"\xff" * 64, None, True),
    "cbor_bignum_chunked": (b"\xc2\x5f\x41\x01\xff", None, False),
    "cbor_bigfloat_huge_exponent": (b"\xc5\x82\x1a\x00\x0f\x42\x40\x01", None, True),
    "cbor_decimal_huge_exponent": (b"\xc4\x82\x1b\xff\xff\xff\xff\xff\xff\xff\xff\x01", None, False),
    "cbor_regex_tag_3mb": (b"\xd8\x23" + cbor_text(b"(a)" * 1_000_000), None, False),
    "cbor_mime_tag": (b"\xd8\x24" + cbor_text(b"Content-Type: multipart/mixed; boundary=b\n\n" + b"--b\n\n" * 1000),
                      None, False),
    "cbor_declared_length_2_64": (b"\x5b" + b"\xff" * 8, None, False),
    "cbor_declared_array_2_32": (b"\x9a\xff\xff\xff\xff\x00", None, False),
    "cbor_items_5mb": (b"\x9f" + b"\x00" * MB5 + b"\xff", None, False),
    "cbor_empty_maps_100k": (b"\x9f" + b"\xa0" * 99_000 + b"\xff", None, True),
    "cbor_bytes_5mb": (b"\xa1\x61b" + cbor_bytes(b"\x00" * MB5), None, True),
    "cbor_text_5mb": (b"\xa1\x61t" + cbor_text("é".encode() * (MB5 // 2)), None, True),
    "cbor_invalid_utf8": (b"\xa1\x68__type\x62\xff\xfe", None, False),
    "cbor_trailing_byte": (cbor2.dumps({"__type": "x#E"}) + b"\x00", None, False),
    "cbor_break_alone": (b"\xff", None, False),
    "cbor_reserved_info": (b"\x1c", None, False),
    "cbor_undefined": (b"\xa1\x67message\xf7", None, True),
    "cbor_nan_and_infinity": (cbor2.dumps({"a": float("nan"), "b": float("-inf")}), None, True),
    "cbor_timestamp_nan": (b"\xa1\x61t\xc1\xf9\x7e\x00", None, False),
    "cbor_immutable_self_described": (b"\xd9\xd9\xf7\xa1\x61a\x81\x01", None, True),
    # Neither
    "random_5mb": (random.Random(5).randbytes(MB5), False, False),
    "zeros_5mb": (bytes(MB5), False, False),
    "html_error_page": (b"<html><body>502 Bad Gateway</body></html>", False, False),
}
HOSTILE_HEADERS = {
    "content-type": "application/x-amz-json-1.1", "smithy-protocol": "rpc-v2-cbor",
    "x-amzn-errortype": "ns#" + "E" * 10_000 + ":" + "\ud800", "x-amzn-requestid": "",
}


def decode_in_time(protocol_name: str, response: HttpResponse) -> Answer:
    """Decode with the named protocol, asserting it returns an Answer within SECONDS_PER_BODY."""
    started = time.perf_counter()
    answer = DECODERS[protocol_name].decode(response)
    elapsed = time.perf_counter() - started
    assert isinstance(answer, Answer)
    assert elapsed < SECONDS_PER_BODY, f"{protocol_name} took {elapsed:.2f}s"
    return answer


def assert_safe(answer: Answer) -> None:
    """What the checks do next works: the fields have their types, and the document validates and formats."""
    assert answer.decode_error is None or (isinstance(answer.decode_error, str) and answer.document is None)
    for text in (answer.error_type, answer.error_type_source, answer.sdk_error_type, answer.message):
        assert text is None or isinstance(text, str)
    assert not nested_deeper_than(answer.document)
    if len(answer.response.body) <= 64 * 1024:  # jsonschema takes ~30 µs a value: a minute for the 5 MB bodies
        list(ANY_DOCUMENT.iter_errors(answer.document))  # never RecursionError: the depth is bounded
    repr(answer.document)  # no integer too long to format


@pytest.mark.parametrize("protocol_name", sorted(DECODERS))
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bodies_decode_or_are_decode_errors(name: str, protocol_name: str) -> None:
    body, json_decodes, cbor_decodes = HOSTILE[name]
    for status in (200, 400):
        answer = decode_in_time(protocol_name, HttpResponse(status, dict(HOSTILE_HEADERS), body))
        assert_safe(answer)
        decodes = json_decodes if protocol_name == "awsJson1_1" else cbor_decodes
        if decodes is not None:
            assert (answer.decode_error is None) == decodes, answer.decode_error


def test_hostile_bodies_read_as_intended() -> None:
    """A few hostile bodies decode to what they mean, not only to 'no error'."""
    cbor_headers = {"smithy-protocol": "rpc-v2-cbor"}  # without it, an rpcv2Cbor answer is judged on its status alone

    def document(protocol_name: str, name: str) -> Any:
        return decode_in_time(protocol_name, HttpResponse(200, dict(cbor_headers), HOSTILE[name][0])).document

    assert document("awsJson1_1", "json_lone_surrogate_escape")["Message"] == "Value '\ud800'"
    assert document("awsJson1_1", "json_int_155_digits") == {"n": int("9" * 155)}
    assert document("rpcv2Cbor", "cbor_bignum_64_bytes") == {"n": (1 << 512) - 1}
    assert cbor.decode(HOSTILE["cbor_undefined"][0]) == {"message": None}  # rpcv2Cbor: undefined reads as null
    decoded = decode_in_time("rpcv2Cbor", HttpResponse(400, dict(cbor_headers), HOSTILE["cbor_self_reference"][0]))
    assert "tag 28" in (decoded.decode_error or "") and decoded.error_type is None
    deep = JSON.decode(HttpResponse(400, {}, HOSTILE["json_deep_900"][0]))
    assert f"nested deeper than {MAX_ANSWER_DEPTH}" in (deep.decode_error or "")


def test_undecodable_error_answers_still_resolve_the_header_type() -> None:
    """awsJson: the X-Amzn-Errortype header names the error even when the body is hostile."""
    answer = JSON.decode(HttpResponse(400, {"x-amzn-errortype": "aws#ThrottlingException:http://x"},
                                      HOSTILE["json_deep_arrays_100k"][0]))
    assert answer.decode_error and (answer.error_type, answer.error_type_source) == ("ThrottlingException", "header")


# Arbitrary answers --------------------------------------------------------------------------------

statuses = st.one_of(st.integers(100, 599), st.integers(), st.sampled_from([0, -1, 999, 299, 2**63]))
headers = st.dictionaries(
    st.one_of(st.sampled_from(["x-amzn-errortype", "content-type", "smithy-protocol", "x-amzn-requestid"]), st.text()),
    st.text(), max_size=5)
cbor_heads = st.sampled_from(list(bytes.fromhex(
    "00011718203840415f6061627f80819f9aa0a1bfc1c2c3c4c5d818d819d81cd81dd823d8ffd9f7f4f5f6f7f8f9fafbff1c1f")))
json_pieces = st.sampled_from([b"[", b"]", b"{", b"}", b'"a"', b":", b",", b"1", b"-", b"9" * 200, b"NaN",
                               b'"\\ud800"', b"\xff", b"true", b"null", b" ", b"1e999", b'"__type"', b'"code"'])
json_documents = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)
bodies = st.one_of(
    st.binary(max_size=200),
    st.lists(cbor_heads, max_size=60).map(bytes),
    st.lists(json_pieces, max_size=60).map(b"".join),
    json_documents.map(lambda document: json.dumps(document).encode()),
    json_documents.map(lambda document: {"__type": "ns#E", "message": document}).map(cbor2.dumps),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=statuses, headers=headers, body=bodies, protocol_name=st.sampled_from(sorted(DECODERS)))
def test_any_answer_decodes_to_an_answer(status: int, headers: dict[str, str], body: bytes,
                                         protocol_name: str) -> None:
    assert_safe(decode_in_time(protocol_name, HttpResponse(status, headers, body)))


# The CBOR walker against cbor2 -------------------------------------------------------------------


def cbor2_reading(data: bytes) -> tuple[bool, Any]:
    """cbor2's own verdict on `data` as one whole data item."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception:  # noqa: BLE001 - any failure is a rejection here
        return False, None
    return stream.tell() == len(data), value


def head(major: int, argument: int) -> bytes:
    """The shortest CBOR head of a major type and its argument (RFC 8949 §3)."""
    if argument < 24:
        return bytes([major << 5 | argument])
    info, size = next((info, size) for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)) if argument < 1 << 8 * size)
    return bytes([major << 5 | info]) + argument.to_bytes(size, "big")


def encoded(value: Any, rng: random.Random) -> bytes:
    """`value` in CBOR, each container and string in indefinite-length form where `rng` says so."""
    indefinite = rng.random() < 0.5
    if isinstance(value, (str, bytes)) and len(value) > 1 and indefinite:
        cut = rng.randrange(1, len(value))
        return bytes([0x7F if isinstance(value, str) else 0x5F]) + cbor2.dumps(value[:cut]) \
            + cbor2.dumps(value[cut:]) + b"\xff"
    if isinstance(value, list):
        items = b"".join(encoded(item, rng) for item in value)
        return b"\x9f" + items + b"\xff" if indefinite else head(4, len(value)) + items
    if isinstance(value, dict):
        items = b"".join(encoded(key, rng) + encoded(item, rng) for key, item in value.items())
        return b"\xbf" + items + b"\xff" if indefinite else head(5, len(value)) + items
    if isinstance(value, cbor2.CBORTag):
        return head(6, value.tag) + encoded(value.value, rng)
    return cbor2.dumps(value)


def read_as(value: Any) -> Any:
    """What `cbor.decode` gives for `value`: tag-1 timestamps as float epoch seconds."""
    if isinstance(value, cbor2.CBORTag):
        return float(value.value)
    if isinstance(value, dict):
        return {key: read_as(item) for key, item in value.items()}
    if isinstance(value, list):
        return [read_as(item) for item in value]
    return value


cbor_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(allow_nan=False), st.text(max_size=6),
              st.binary(max_size=6), st.integers(0, 2**32).map(lambda seconds: cbor2.CBORTag(1, seconds))),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=25)


@settings(max_examples=1000, deadline=None)
@given(value=cbor_values, seed=st.integers(0, 2**32))
def test_cbor_decode_agrees_with_cbor2_on_valid_items(value: Any, seed: int) -> None:
    data = encoded(value, random.Random(seed))
    assert cbor2_reading(data)[0]
    assert cbor.decode(data) == read_as(value)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.binary(max_size=40), st.lists(cbor_heads, max_size=30).map(bytes)))
def test_cbor_decode_refuses_only_what_cbor2_refuses_or_the_limits_exclude(data: bytes) -> None:
    accepted, _ = cbor2_reading(data)
    try:
        cbor.decode(data)
    except cbor.CborError as exc:
        assert not accepted or str(exc).startswith("not acceptable CBOR"), (data.hex(), str(exc))
    else:
        assert accepted, data.hex()
