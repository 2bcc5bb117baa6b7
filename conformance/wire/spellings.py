"""Other legal spellings of one document: the same value, other bytes (JSON and CBOR writers).

JSON (RFC 8259) allows any character as a `\\u` escape (astral ones as surrogate pairs), an escaped
`/`, white space between tokens, and members in any order. CBOR (RFC 8949 §3, §4.1: preferred
serialization is a recommendation to encoders; a decoder reads every well-formed item) allows
indefinite lengths for maps, arrays and strings (strings in chunks), heads longer than the shortest,
and floats in 2 or 4 bytes where they keep their value (Smithy's rpcv2Cbor: implementations MUST
read half-precision floats).

Written by hand, not with `json` and `cbor2`: neither writes these spellings (they write one
canonical-ish form), and the point is to write the others. Each writer is checked against the
library's reader in the tests: the spelling decodes to the very document. The suite sends requests in
them (`generation.spellings`); the reference server's legal variations answer in them.
"""

from __future__ import annotations

import datetime
import math
import random
import re
import struct
from collections.abc import Iterable
from typing import Any

import cbor2

from conformance.wire.protocol_facts import ProtocolName

JSON_CHANGES = ("escape all", "escape some", "escape non-ASCII", "escape solidus", "white space", "member order")
CBOR_CHANGES = ("indefinite maps", "indefinite arrays", "chunked strings", "long heads", "short floats")
WHITE_SPACE = (" ", "\t", "\n", "\r", "  ", "\r\n")
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ANY_CHARACTER = re.compile(".", re.DOTALL)
# The characters the JSON writer changes with no per-character choice, by (escape solidus, escape non-ASCII): control
# characters and lone surrogates (always \u-escaped), the quote and the backslash; and / or non-ASCII where asked.
_CHANGED = {(solidus, non_ascii): re.compile('[\x00-\x1f"\\\\\ud800-\udfff' + ("/" if solidus else "")
                                             + ("\x80-\U0010ffff" if non_ascii else "") + "]")
            for solidus in (False, True) for non_ascii in (False, True)}


def changes_of(protocol: ProtocolName) -> tuple[str, ...]:
    """The changes a protocol's spellings may make."""
    return CBOR_CHANGES if protocol is ProtocolName.RPC_V2_CBOR else JSON_CHANGES


def write(protocol: ProtocolName, document: Any, changes: Iterable[str], choices: int = 0,
          everywhere: bool = False) -> bytes:
    """The document in the protocol's format with these changes, made wherever they can be (`everywhere`) or here
    and there as the seed `choices` says; ValueError for a value the format cannot hold (NaN in JSON)."""
    chance = _Chance(random.Random(choices), everywhere)
    if protocol is ProtocolName.RPC_V2_CBOR:
        return _CborWriter(chance, set(changes)).write(document)
    return _JsonWriter(chance, set(changes)).write(document).encode("utf-8", "surrogatepass")


class _Chance:
    """The writers' random choices: a seeded stream; `everywhere`, every yes-or-no choice yes."""

    def __init__(self, rng: random.Random, everywhere: bool) -> None:
        self.rng, self.everywhere = rng, everywhere

    def __call__(self, probability: float) -> bool:
        """Yes, with this probability (always, everywhere)."""
        return self.everywhere or self.rng.random() < probability


class _JsonWriter:
    """JSON text of a document, spelled with the chosen changes."""

    def __init__(self, chance: _Chance, changes: set[str]) -> None:
        self.chance, self.rng, self.changes = chance, chance.rng, changes

    def write(self, value: Any) -> str:
        if isinstance(value, dict):
            items = list(value.items())
            if "member order" in self.changes:
                self.rng.shuffle(items)
                if self.chance.everywhere and [key for key, _ in items] == list(value):
                    items.reverse()  # everywhere: never the order given
            members = [self._space() + self.write(str(key)) + self._space() + ":" + self._space() + self.write(item)
                       for key, item in items]
            return "{" + ",".join(members) + self._space() + "}"
        if isinstance(value, list):
            return "[" + ",".join(self._space() + self.write(item) for item in value) + self._space() + "]"
        if isinstance(value, str):
            return '"' + self._string(value) + '"'
        if value is True or value is False or value is None:
            return {True: "true", False: "false", None: "null"}[value]
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} has no JSON spelling")
        return repr(value) if isinstance(value, (int, float)) else _refuse(value)

    def _space(self) -> str:
        return self.rng.choice(WHITE_SPACE) if "white space" in self.changes and self.chance(0.7) else ""

    def _string(self, value: str) -> str:
        """A string's inside. Only "escape some" draws per character; otherwise which characters change is fixed,
        and a regular expression finds them (strings of 10^5 characters are common: a loop over each was most of
        a run's time)."""
        if "escape some" in self.changes and not self.chance.everywhere:
            return "".join(self._char(char) for char in value)
        return self._changed_characters().sub(lambda found: self._char(found.group()), value)

    def _changed_characters(self) -> re.Pattern[str]:
        if {"escape all", "escape some"} & self.changes:  # (escape some only everywhere here: every character)
            return _ANY_CHARACTER
        return _CHANGED[("escape solidus" in self.changes, "escape non-ASCII" in self.changes)]

    def _char(self, char: str) -> str:
        code = ord(char)
        must = code < 0x20 or 0xD800 <= code <= 0xDFFF  # control characters and lone surrogates: always escaped
        wanted = ("escape all" in self.changes or ("escape some" in self.changes and self.chance(0.5))
                  or ("escape non-ASCII" in self.changes and code > 0x7F))
        if must or wanted:
            data = char.encode("utf-16-be", "surrogatepass")
            return "".join(f"\\u{int.from_bytes(data[at:at + 2], 'big'):04x}" for at in range(0, len(data), 2))
        if char == "/" and "escape solidus" in self.changes:
            return "\\/"
        return _SHORT_ESCAPES.get(char, char)


def _refuse(value: Any) -> str:
    raise ValueError(f"{type(value).__name__} has no JSON spelling")


_SIZES = ((24, 1), (25, 2), (26, 4), (27, 8))  # additional information -> bytes of the argument after it


class _CborWriter:
    """A CBOR data item of a document, spelled with the chosen changes."""

    def __init__(self, chance: _Chance, changes: set[str]) -> None:
        self.chance, self.rng, self.changes = chance, chance.rng, changes

    def write(self, value: Any) -> bytes:
        if isinstance(value, bool) or value is None or value is cbor2.undefined:
            return cbor2.dumps(value)
        if isinstance(value, int):
            if not -(2**64) <= value < 2**64:
                return cbor2.dumps(value)  # a bignum: tag 2 or 3 over a byte string, as cbor2 writes it
            return self._head(0, value) if value >= 0 else self._head(1, -1 - value)
        if isinstance(value, float):
            return self._float(value)
        if isinstance(value, str):
            return self._string(3, value.encode("utf-8"), value)
        if isinstance(value, bytes):
            return self._string(2, value, None)
        if isinstance(value, list):
            return self._container(4, [self.write(item) for item in value], "indefinite arrays")
        if isinstance(value, dict):
            parts = [self.write(key) + self.write(item) for key, item in value.items()]
            return self._container(5, parts, "indefinite maps")
        if isinstance(value, datetime.datetime):  # as cbor2 reads tag 1: epoch seconds again
            return self._head(6, 1) + self._float(value.timestamp())
        if isinstance(value, cbor2.CBORTag):
            return self._head(6, value.tag) + self.write(value.value)
        return cbor2.dumps(value)  # a simple value

    def _head(self, major: int, argument: int) -> bytes:
        """The head of an item: the shortest, or (long heads) a longer one than needed."""
        fits = [(info, size) for info, size in _SIZES if argument < 1 << (8 * size)]
        if "long heads" in self.changes and self.chance(0.6):
            info, size = self.rng.choice(fits)
        elif argument < 24:
            return bytes([major << 5 | argument])
        else:
            info, size = fits[0]
        return bytes([major << 5 | info]) + argument.to_bytes(size, "big")

    def _float(self, value: float) -> bytes:
        """A float in 8 bytes (as cbor2 writes it), or (short floats) in 2 or 4 where that keeps its value."""
        if "short floats" in self.changes:
            for initial, form in ((0xF9, ">e"), (0xFA, ">f")):
                try:
                    packed = struct.pack(form, value)
                except OverflowError:
                    continue
                if struct.unpack(form, packed)[0] == value or (math.isnan(value)):
                    return bytes([initial]) + packed
        return b"\xfb" + struct.pack(">d", value)

    def _container(self, major: int, parts: list[bytes], change: str) -> bytes:
        if change in self.changes and self.chance(0.8):
            return bytes([major << 5 | 31]) + b"".join(parts) + b"\xff"
        return self._head(major, len(parts)) + b"".join(parts)

    def _string(self, major: int, data: bytes, text: str | None) -> bytes:
        """A byte or text string, whole or (chunked strings) in chunks; a text string is cut between characters,
        since each chunk must be valid UTF-8 by itself."""
        if "chunked strings" not in self.changes or not self.chance(0.8):
            return self._head(major, len(data)) + data
        if text is not None:
            chunks = ["".join(part).encode("utf-8") for part in _cut(list(text), self.rng)]
        else:
            chunks = [b"".join(part) for part in _cut([data[at:at + 1] for at in range(len(data))], self.rng)]
        return bytes([major << 5 | 31]) + b"".join(self._head(major, len(chunk)) + chunk for chunk in chunks) + b"\xff"


def _cut(units: list[Any], rng: random.Random) -> list[list[Any]]:
    """The units in up to four runs, empty ones included now and then (an empty chunk is legal)."""
    cuts = sorted(rng.randint(0, len(units)) for _ in range(rng.randint(1, 3)))
    bounds = [0, *cuts, len(units)]
    return [units[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]
