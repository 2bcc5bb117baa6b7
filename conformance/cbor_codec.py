"""CBOR as the rpcv2Cbor protocol uses it (PROTOCOL_NOTES §3), shared by the suite and the reference server.

cbor2 does the encoding and decoding. On top of it: decoding is strict (trailing bytes are an
error, which `cbor2.loads` ignores), timestamps travel as tag 1 epoch seconds and are compared
as numbers, and the schema's `x-timestamp` marks say which members are timestamps.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Mapping
from typing import Any

import cbor2

CONTENT_TYPE = "application/cbor"
SMITHY_PROTOCOL = "rpc-v2-cbor"


class CborError(ValueError):
    """The bytes are not one well-formed CBOR data item."""


def decode(data: bytes) -> Any:
    """One CBOR data item, all of `data`; tag-1 timestamps become epoch seconds."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, RecursionError, ValueError, OverflowError, TypeError) as exc:
        raise CborError(f"not valid CBOR: {exc}") from None
    if stream.tell() != len(data):
        raise CborError(f"not valid CBOR: {len(data) - stream.tell()} bytes after the data item")
    return _numbers_for_timestamps(value)


def _numbers_for_timestamps(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {key: _numbers_for_timestamps(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers_for_timestamps(item) for item in value]
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
