"""CBOR in diagnostic notation (`wire.cbor.diagnostic`): RFC 8949's examples, a reference rendering of drawn
documents, a reader that gets the document back from any spelling, and totality on arbitrary bytes."""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.report.records import Body
from conformance.wire import spellings
from conformance.wire.cbor import CborError, check_item
from conformance.wire.cbor.diagnostic import MAX_DEPTH, MAX_OUTPUT, diagnostic, render
from conformance.wire.protocol_facts import ProtocolName

MARKER_SLACK = 200  # characters a closing `/ ... /` marker may add past the output bound


# RFC 8949 Appendix A, in this module's spelling: a float's width is marked (_1 half, _2 single).
@pytest.mark.parametrize(("hex_bytes", "notation"), [
    ("00", "0"), ("17", "23"), ("1818", "24"), ("1903e8", "1000"), ("1bffffffffffffffff", "18446744073709551615"),
    ("20", "-1"), ("3903e7", "-1000"), ("f90000", "0.0_1"), ("f98000", "-0.0_1"), ("f93c00", "1.0_1"),
    ("fb3ff199999999999a", "1.1"), ("fa47c35000", "100000.0_2"), ("fb7e37e43c8800759c", "1e+300"),
    ("f97c00", "Infinity_1"), ("f97e00", "NaN_1"), ("f9fc00", "-Infinity_1"), ("fb7ff8000000000000", "NaN"),
    ("f4", "false"), ("f5", "true"), ("f6", "null"), ("f7", "undefined"), ("f0", "simple(16)"),
    ("f8ff", "simple(255)"), ("c074323031332d30332d32315432303a30343a30305a", '0("2013-03-21T20:04:00Z")'),
    ("c11a514b67b0", "1(1363896240)"), ("c249010000000000000000", "2(h'010000000000000000')"),
    ("40", "h''"), ("4401020304", "h'01020304'"), ("60", '""'), ("6161", '"a"'), ("62225c", '"\\"\\\\"'),
    ("62c3bc", '"ü"'), ("80", "[]"), ("83010203", "[1, 2, 3]"), ("8301820203820405", "[1, [2, 3], [4, 5]]"),
    ("a0", "{}"), ("a201020304", "{1: 2, 3: 4}"), ("a26161016162820203", '{"a": 1, "b": [2, 3]}'),
    ("5f42010243030405ff", "(_ h'0102', h'030405')"), ("7f657374726561646d696e67ff", '(_ "strea", "ming")'),
    ("9fff", "[_ ]"), ("9f018202039f0405ffff", "[_ 1, [2, 3], [_ 4, 5]]"),
    ("bf61610161629f0203ffff", '{_ "a": 1, "b": [_ 2, 3]}'), ("5fff", "''_"), ("7fff", '""_'),
    # Heads longer than needed carry an encoding indicator (§8.1).
    ("1801", "1_0"), ("190001", "1_1"), ("98020102", "[_0 1, 2]"), ("7800", '""_0'),
])
def test_rfc_8949_examples(hex_bytes: str, notation: str) -> None:
    assert diagnostic(bytes.fromhex(hex_bytes)) == notation
    assert render(bytes.fromhex(hex_bytes))[1]


@pytest.mark.parametrize(("hex_bytes", "start", "why"), [
    ("", "", "ends early"), ("a26161", '{"a": ', "ends early"), ("8201", "[1, ", "ends early"),
    ("ff", "", "a break where a data item is due"), ("1c", "", "additional information 28"),
    ("0001", "0", "1 byte(s) after the data item"), ("5f6161ff", "(_ ", "not a definite string of the same type"),
    ("f818", "", "simple value 24 in two bytes"), ("bf6161016162ff", '{_ "a": 1, ', "a map's key without a value"),
    ("9bffffffffffffffff", "[", "ends early"), ("62c328", "h'c328' / a text string that is not UTF-8 /", ""),
])
def test_a_malformed_item_renders_what_parsed_and_says_where_it_stopped(hex_bytes: str, start: str, why: str) -> None:
    notation, well_formed = render(bytes.fromhex(hex_bytes))
    assert notation.startswith(start) and why in notation
    assert well_formed is (hex_bytes == "62c328")  # not UTF-8 text is well-formed CBOR, just not valid


def test_hostile_bodies_are_bounded_in_depth_output_and_time() -> None:
    deep = b"\x81" * 1_000_000 + b"\x00"
    started = time.monotonic()
    notation = diagnostic(deep)
    assert notation.count("[") == MAX_DEPTH + 1 and notation.endswith(f" / nested deeper than {MAX_DEPTH} /")
    wide = b"\x9b" + b"\xff" * 8 + b"\x80" * 1_000_000  # claims 2**64-1 items, holds a million
    notation = diagnostic(wide)
    assert len(notation) <= MAX_OUTPUT + MARKER_SLACK and notation.endswith(" characters /")
    huge = b"\x5b" + b"\xff" * 8  # a byte string of 2**64-1 bytes, none there
    assert "ends early" in diagnostic(huge)
    assert time.monotonic() - started < 5


DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20) | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=512) | st.builds(lambda d, tail: cbor2.dumps(d)[:tail], DOCUMENTS, st.integers(0, 64)))
def test_arbitrary_bytes_never_raise_and_stay_bounded(data: bytes) -> None:
    notation, well_formed = render(data, limit=300)
    assert isinstance(notation, str) and len(notation) <= 300 + MARKER_SLACK
    # The suite's own structural walker (`wire.cbor.check_item`) agrees on what is one well-formed item; it also
    # refuses some well-formed items (reference tags, depth), and leaves the two-byte simple values to cbor2.
    try:
        check_item(data)
        walker = "well-formed"
    except CborError as exc:
        walker = "refused" if str(exc).startswith("not acceptable") else "malformed"
    if walker == "well-formed":
        assert well_formed or "simple value" in notation or "nested deeper" in notation, notation
    if well_formed and "cut:" not in notation:
        assert walker != "malformed", notation


def reference(value: Any) -> str:
    """The notation of a value as cbor2 writes it (shortest heads, floats in 8 bytes), written from the value."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, list):
        return "[" + ", ".join(map(reference, value)) + "]"
    return "{" + ", ".join(f"{reference(key)}: {reference(item)}" for key, item in value.items()) + "}"


@settings(max_examples=200, deadline=None)
@given(DOCUMENTS)
def test_a_drawn_document_renders_as_the_reference_does(document: Any) -> None:
    data = cbor2.dumps(document)
    assert diagnostic(data, limit=1 << 20) == reference(document)
    assert read(diagnostic(data, limit=1 << 20)) == document


@settings(max_examples=200, deadline=None)
@given(DOCUMENTS, st.integers(0, 1000), st.booleans())
def test_every_spelling_reads_back_as_the_document(document: Any, choices: int, everywhere: bool) -> None:
    """Indefinite lengths, chunks, long heads and short floats: the notation shows them, and still holds the value."""
    data = spellings.write(ProtocolName.RPC_V2_CBOR, document, spellings.CBOR_CHANGES, choices, everywhere)
    notation, well_formed = render(data, limit=1 << 20)
    assert well_formed and read(notation) == document
    if everywhere and isinstance(document, (list, dict)):
        assert notation.startswith(("[_ ", "{_ "))  # the indefinite length is shown, not lost as cbor2 loses it


def test_nan_and_infinity_read_back() -> None:
    for value in (math.inf, -math.inf):
        assert read(diagnostic(cbor2.dumps(value))) == value
    assert math.isnan(read(diagnostic(cbor2.dumps(math.nan))))


def test_a_report_body_carries_the_notation_beside_its_base64() -> None:
    body = Body.of(cbor2.dumps({"__type": "ValidationException", "message": "</script>"}), "application/cbor")
    assert body.base64 and body.diagnostic == '{"__type": "ValidationException", "message": "</script>"}'
    assert body.to_json()["diagnostic"] == body.diagnostic and "(CBOR: {" in body.line()
    assert Body.of(b"\xff\xfe\xfd").diagnostic is None  # not UTF-8, not CBOR, not said to be: base64 alone
    assert Body.of(b"{}").diagnostic is None and Body.of(b"{}", "application/cbor").diagnostic is not None


# A reader of the notation, for the tests: values as cbor2 reads them (chunks joined, indicators dropped).
_TOKEN = re.compile(r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<bytes>h'[0-9a-f]*')|(?P<empty>''_|""_)
    |(?P<number>-?(?:Infinity|NaN|\d+(?:\.\d+)?(?:e[+-]?\d+)?))(?P<tag>\()?|(?P<word>true|false|null|undefined)
    |(?P<punct>\(_(?!\d)|\[_(?!\d)|\{_(?!\d)|[\[\]{}(),:])|(?P<indicator>_\d))""", re.VERBOSE)


def read(text: str) -> Any:
    """The value a notation this module writes stands for."""
    tokens = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        assert match, text[position:]
        position = match.end()
        if match.lastgroup != "indicator":
            tokens.append((match.lastgroup if match.group("tag") is None else "tag", match.group(match.lastgroup)
                           if match.group("tag") is None else match.group("number")))
    value, rest = _item(tokens)
    assert not rest, rest
    return value


def _item(tokens: list[tuple[str | None, str]]) -> tuple[Any, list[tuple[str | None, str]]]:
    kind, token = tokens[0]
    rest = tokens[1:]
    if kind == "string":
        return json.loads(token), rest
    if kind == "bytes":
        return bytes.fromhex(token[2:-1]), rest
    if kind == "empty":
        return ("" if token == '""_' else b""), rest
    if kind == "number":
        return (float(token) if any(c in token for c in ".eIN") else int(token)), rest
    if kind == "word":
        return {"true": True, "false": False, "null": None, "undefined": cbor2.undefined}[token], rest
    if kind == "tag":
        inner, rest = _item(rest)
        assert rest[0] == ("punct", ")")
        return cbor2.CBORTag(int(token), inner), rest[1:]
    closing = {"(_": ")", "[": "]", "[_": "]", "{": "}", "{_": "}"}[token]
    items: list[Any] = []
    while rest[0] != ("punct", closing):
        if items and rest[0] == ("punct", ","):
            rest = rest[1:]
        value, rest = _item(rest)
        if token.startswith("{"):
            assert rest[0] == ("punct", ":")
            item, rest = _item(rest[1:])
            value = (value, item)
        items.append(value)
    rest = rest[1:]
    if token == "(_":
        return type(items[0])().join(items), rest
    return (dict(items) if token.startswith("{") else items), rest
