"""JSON as the awsJson protocols carry it: written as UTF-8, read strictly and within bounds.

The suite reads answers and the reference server reads requests with the same reader
(`loads_strict`); each words the fault its own way.
"""

from __future__ import annotations

import enum
import json
from typing import Any

# Bounds on what a decoded body may hold, the same for JSON and CBOR, for answers the suite reads
# and requests the reference server reads. The operations' documents are two or three levels deep
# and their numbers small: beyond these, a body is a decode error rather than a document that
# later code (jsonschema, reports, int-to-text) would recurse into or format without end.
MAX_ANSWER_DEPTH = 64  # nested arrays/maps (and CBOR tags) around the deepest value
MAX_ANSWER_INT_BITS = 512  # integers: 64-byte CBOR bignums, about 155 JSON digits
MAX_INT_DIGITS = len(str(1 << MAX_ANSWER_INT_BITS))  # 155


def nested_deeper_than(document: Any, limit: int = MAX_ANSWER_DEPTH) -> bool:
    """Whether a decoded document has more than `limit` nested lists/dicts; iterative, never recurses."""
    # Level by level: one list comprehension a level is several times faster than a stack of
    # (value, depth) pairs on a 4 MB body of empty lists.
    level = [document] if isinstance(document, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [child for container in level
                 for child in (container.values() if isinstance(container, dict) else container)
                 if isinstance(child, (dict, list))]
    return False


def json_bytes(document: Any, compact: bool = False) -> bytes:
    """JSON text in UTF-8; a lone surrogate (which UTF-8 cannot carry) goes as a `\\ud800` escape."""
    separators = (",", ":") if compact else None
    try:
        return json.dumps(document, ensure_ascii=False, separators=separators).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(document, separators=separators).encode("ascii")


class JsonFault(enum.Enum):
    """Why a body is not acceptable JSON."""

    NOT_UTF8 = "not valid UTF-8"  # detail: the offset of the first bad byte
    NOT_JSON = "not JSON"  # detail: the parser's message
    TOO_DEEP = "nested too deeply"  # detail: the depth bound


class JsonTextError(ValueError):
    """A body that is not acceptable JSON text."""

    def __init__(self, fault: JsonFault, detail: object) -> None:
        super().__init__(f"{fault.value}: {detail}")
        self.fault, self.detail = fault, detail


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    # Checked before int(): converting a long literal costs time quadratic in its length, and
    # Python's own 4300-digit limit is a process-wide setting that anything may change.
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits (more than {MAX_INT_DIGITS})")
    return int(text)


def loads_strict(body: bytes, bound_integers: bool = False) -> Any:
    """The body's JSON value: strict UTF-8 (json.loads of bytes would also take UTF-16 and UTF-32) and RFC 8259
    JSON (no NaN or Infinity), at most MAX_ANSWER_DEPTH levels deep, and with `bound_integers` no integer of more
    than MAX_INT_DIGITS digits. A lone surrogate escape is accepted: it is legal JSON text. Raises JsonTextError."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonTextError(JsonFault.NOT_UTF8, exc.start) from None
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_int=_bounded_int if bound_integers else None)
    except RecursionError:  # json's C scanner stops at Python's recursion limit, cleanly
        raise JsonTextError(JsonFault.TOO_DEEP, MAX_ANSWER_DEPTH) from None
    except ValueError as exc:
        raise JsonTextError(JsonFault.NOT_JSON, exc) from None
    if nested_deeper_than(document, MAX_ANSWER_DEPTH):
        raise JsonTextError(JsonFault.TOO_DEEP, MAX_ANSWER_DEPTH)
    return document
