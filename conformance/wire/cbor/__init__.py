"""CBOR as the rpcv2Cbor protocol uses it (PROTOCOL_NOTES §3), shared by the suite and the reference server.

cbor2 does the encoding and decoding. On top of it: decoding is strict (trailing bytes are an
error, which `cbor2.loads` ignores), timestamps travel as tag 1 epoch seconds and are compared
as numbers, `undefined` reads as null (the rpcv2Cbor specification: servers "MUST deserialize
this CBOR value to null", clients SHOULD), and the schema's `x-timestamp` marks say which
members are timestamps.

Decoding is also bounded and total, because the bytes come from targets and clients that may be
broken or hostile: before cbor2 runs, the item's heads are walked without building anything, and
an item nested too deeply, with too many items, a huge bignum or a reference tag is refused.
`decode` raises CborError and nothing else.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator, Mapping
from typing import Any

import cbor2

from conformance.wire.json_text import MAX_ANSWER_DEPTH, MAX_ANSWER_INT_BITS
from conformance.wire.protocol_facts import CBOR_CONTENT_TYPE, RPC_V2_CBOR

CONTENT_TYPE = CBOR_CONTENT_TYPE
SMITHY_PROTOCOL = RPC_V2_CBOR

# Bounds checked on the raw bytes before cbor2 builds anything (see `check_item`).
MAX_DEPTH = MAX_ANSWER_DEPTH  # open arrays, maps, tags and chunked strings around a data item
MAX_ITEMS = 100_000  # data items in one body; the operations' documents have a few dozen
MAX_BIGNUM_BYTES = MAX_ANSWER_INT_BITS // 8  # tags 2 and 3: a longer integer is not a Smithy bigInteger
# Tags cbor2 would interpret and rpcv2Cbor never sends, refused before cbor2 sees them:
# references let a few bytes stand for a huge or cyclic value, and the regex and MIME decoders
# run a parser over attacker-chosen text (seconds for a few MB).
REFUSED_TAGS = {
    25: "a string reference", 256: "a string-reference namespace",
    28: "a shared value", 29: "a shared-value reference",
    35: "a regular expression", 36: "a MIME message",
}
_ARGUMENT_SIZES = {24: 1, 25: 2, 26: 4, 27: 8}  # additional information -> bytes of argument
_ARRAY, _MAP, _TAG, _CHUNKS = range(4)  # kinds of open container in `check_item`


class CborError(ValueError):
    """The bytes are not one well-formed CBOR data item that rpcv2Cbor accepts."""


def decode(data: bytes) -> Any:
    """One CBOR data item, all of `data`; tag-1 timestamps as epoch seconds, `undefined` as None; raises only CborError.

    The item's structure is walked first (`check_item`), so cbor2 only ever decodes an item of
    bounded depth, item count and integer size, without references: it then takes time and memory
    in proportion to the body, and the value it returns can be walked and formatted safely.
    """
    check_item(data)
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
        if stream.tell() != len(data):  # `check_item` has seen the end of the item: a disagreement is a bug
            raise CborError(f"not valid CBOR: {len(data) - stream.tell()} bytes after the data item")
        return _plain(value)
    except CborError:
        raise
    except Exception as exc:  # cbor2's errors, and whatever its semantic decoders raise on odd content
        raise CborError(f"not valid CBOR: {exc}") from None


def check_item(data: bytes) -> None:
    """Walk the heads of one data item without building values; raise CborError at the first fault (the bounds
    `decode` keeps: call this first to hand a body to cbor2 in another way).

    Iterative with an explicit stack, so a deep item cannot exhaust Python's stack; O(items). This loop runs for
    every item of every body read: the common case stays inline, and only the rarer heads call the helpers below.
    """
    end, pos, items = len(data), 0, 0
    stack: list[list[int]] = []  # the open containers, innermost last (see `_open`)
    while True:
        if pos >= end:
            raise CborError("not valid CBOR: the data item ends early" if data else "not valid CBOR: no data")
        initial = data[pos]
        pos += 1
        if initial == 0xFF:  # a break ends the innermost indefinite-length container
            _close_indefinite(stack, pos - 1)
        else:
            items += 1
            if items > MAX_ITEMS:
                raise CborError(f"not acceptable CBOR: more than {MAX_ITEMS} data items")
            major, info = initial >> 5, initial & 0x1F
            top = stack[-1] if stack else None
            if top is not None and top[0] == _CHUNKS and (major != top[2] or info == 31):
                raise CborError("not valid CBOR: a chunk of an indefinite-length string is not a definite string "
                                "of the same type")
            argument = info
            if info >= 24:  # a longer argument, indefinite length, or reserved
                argument, pos = _long_argument(data, pos, major, info)
            if top is not None and top[0] == _TAG and top[2] in (2, 3):
                _check_bignum(top[2], major, argument)
            if major in (2, 3) and argument != -1:  # a definite string: its bytes are skipped, not read
                if argument > end - pos:
                    raise CborError(f"not valid CBOR: a string of {argument} bytes with {end - pos} left")
                pos += argument
            elif 2 <= major <= 6 and _open(stack, major, argument, end - pos):
                continue  # a chunked string, an array, a map or a tag: its items follow
        # An item is complete: count it against its container, closing every container it fills.
        while stack:
            container = stack[-1]
            if container[1] == -1:
                if container[0] == _MAP:
                    container[2] += 1
                break
            container[1] -= 1
            if container[1]:
                break
            stack.pop()
        if not stack:
            break
    if pos != end:
        raise CborError(f"not valid CBOR: {end - pos} bytes after the data item")


def heads(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(major type, additional information, argument) of every head of a well-formed item, in order (-1: an
    indefinite length; breaks left out): how the item is spelled, for a reader that cares. Call `check_item`
    first; CborError where the item is not well formed."""
    pos, end = 0, len(data)
    while pos < end:
        initial = data[pos]
        pos += 1
        if initial == 0xFF:
            continue
        major, info = initial >> 5, initial & 0x1F
        argument = info
        if info >= 24:
            argument, pos = _long_argument(data, pos, major, info)
        yield major, info, argument
        if major in (2, 3) and argument != -1:
            pos += argument  # a definite string's bytes, no head among them


def _long_argument(data: bytes, pos: int, major: int, info: int) -> tuple[int, int]:
    """The argument of a head whose additional information is 24 or more (-1: indefinite length) and the position
    after it. Out of `check_item`'s loop because most heads carry their argument in the initial byte."""
    if info == 31:
        if major not in (2, 3, 4, 5):
            raise CborError(f"not valid CBOR: indefinite length on major type {major} at byte {pos - 1}")
        return -1, pos
    size = _ARGUMENT_SIZES.get(info)
    if size is None:
        raise CborError(f"not valid CBOR: reserved additional information {info} at byte {pos - 1}")
    if pos + size > len(data):
        raise CborError("not valid CBOR: the data item ends early")
    return int.from_bytes(data[pos:pos + size], "big"), pos + size


def _open(stack: list[list[int]], major: int, argument: int, left: int) -> bool:
    """Push the container that a chunked string, array, map or tag opens; False for an empty array or map, which
    opens none. Out of `check_item`'s loop because containers are rarer than the items in them.

    A container is [kind, items still due (-1: until a break), detail]: for a tag its number, for chunks the major
    type they must have, for an indefinite map the items seen (a break must not fall between a key and its value).
    """
    if major in (2, 3):  # `check_item` skips definite strings: this one is in chunks
        opened = [_CHUNKS, -1, major]
    elif major == 6:
        if argument in REFUSED_TAGS:
            raise CborError(f"not acceptable CBOR: tag {argument} ({REFUSED_TAGS[argument]}) is not used by rpcv2Cbor")
        opened = [_TAG, 1, argument]
    else:
        due = argument if argument == -1 or major == 4 else 2 * argument
        if due > left:  # every item takes at least one byte
            raise CborError(f"not valid CBOR: a container of {argument} entries with {left} bytes left")
        if due == 0:
            return False
        opened = [_ARRAY if major == 4 else _MAP, due, 0]
    if len(stack) >= MAX_DEPTH:
        raise CborError(f"not acceptable CBOR: nested deeper than {MAX_DEPTH} levels")
    stack.append(opened)
    return True


def _close_indefinite(stack: list[list[int]], offset: int) -> None:
    """On a break at byte `offset`, close the innermost container, which must have indefinite length (and a map must
    not stop between a key and its value). Out of `check_item`'s loop because breaks are rare; the loop then counts
    the closed container as a complete item."""
    top = stack[-1] if stack else None
    if top is None or top[1] != -1:
        raise CborError(f"not valid CBOR: a break (0xff) at byte {offset} outside an indefinite-length item")
    if top[0] == _MAP and top[2] % 2:
        raise CborError("not valid CBOR: an indefinite-length map ends between a key and its value")
    stack.pop()


def _check_bignum(tag: int, major: int, argument: int) -> None:
    """Tags 2 and 3 hold a byte string of at most MAX_BIGNUM_BYTES (cbor2 rejects any other content)."""
    if major == 2 and argument == -1:
        raise CborError(f"not acceptable CBOR: a bignum (tag {tag}) in indefinite-length chunks")
    if major == 2 and argument > MAX_BIGNUM_BYTES:
        raise CborError(f"not acceptable CBOR: a bignum (tag {tag}) of {argument} bytes, "
                        f"over the {MAX_BIGNUM_BYTES}-byte limit")


def _plain(value: Any) -> Any:
    """Timestamps as epoch seconds and `undefined` as None, in map values, array items and tag contents."""
    # Recursion is safe here: `check_item` has bounded the depth, and no value is shared. Map keys
    # stay as they are: an `undefined` key is no text key, which the readers refuse either way.
    if value is cbor2.undefined:
        return None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, cbor2.CBORTag):
        return cbor2.CBORTag(value.tag, _plain(value.value))
    return value


def encode(document: Any, schema: Mapping[str, Any] | None = None) -> bytes:
    """CBOR bytes; members the schema marks `x-timestamp` go as tag 1 (epoch seconds)."""
    return cbor2.dumps(_tag_timestamps(document, schema or {}))


def _tag_timestamps(value: Any, schema: Mapping[str, Any]) -> Any:
    if schema.get("x-timestamp") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return cbor2.CBORTag(1, value)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        return {key: _tag_timestamps(item, properties.get(key, {})) for key, item in value.items()}
    if isinstance(value, list):
        return [_tag_timestamps(item, schema.get("items", {})) for item in value]
    return value
