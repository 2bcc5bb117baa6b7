"""CBOR in diagnostic notation (RFC 8949 §8), for reports: `{"JobId": "x", "n": [_ 1, 2]}`.

A small hand parser, not cbor2: cbor2 decodes to Python values, and so loses what a report must
show of a body's spelling: indefinite lengths (`[_ ...]`, `{_ ...}`), the chunks of a chunked string
(`(_ "ab", "c")`), heads longer than needed (encoding indicators, §8.1: `1_0`), a float's width
(`1.5_1`), and `undefined` beside `null`. It also refuses the malformed items a report most needs
to show; this one renders what it read and marks where it stopped.

The bytes come from targets: `diagnostic` never raises (a truncated or malformed item gives the
notation of what parsed, then a comment `/ ... /` saying why it stopped), nests at most MAX_DEPTH
deep (recursion here is bounded by it), and writes at most MAX_OUTPUT characters (every item
writes at least one, so the work is bounded too, whatever lengths the heads claim).

Floats: half precision is marked `_1`, single `_2`; a double is unmarked (what cbor2 and most
encoders write). A head is marked `_0`..`_3` only where it is longer than the shortest.
"""

from __future__ import annotations

import json
import math
import struct

MAX_DEPTH = 64  # open arrays, maps, tags and chunked strings
MAX_OUTPUT = 16_384  # characters of notation; a report clips bodies to 2 KiB, so this is rarely reached
_SIMPLE = {20: "false", 21: "true", 22: "null", 23: "undefined"}
_FLOAT_FORMS = {25: (">e", 2, "_1"), 26: (">f", 4, "_2"), 27: (">d", 8, "")}


class _Stop(Exception):
    """The rendering ends here; the message is the marker's text."""

    def __init__(self, message: str, malformed: bool = True) -> None:
        super().__init__(message)
        self.malformed = malformed  # False: only the output bound stopped it


class _Renderer:
    """One pass over the bytes, writing the notation as it reads."""

    def __init__(self, data: bytes, limit: int) -> None:
        self.data, self.pos, self.limit = data, 0, limit
        self.out: list[str] = []
        self.size = 0

    def emit(self, text: str) -> None:
        """Write text, up to the output bound."""
        if self.size + len(text) > self.limit:
            self.out.append(text[: self.limit - self.size])
            self.size = self.limit
            raise _Stop(f"cut: the notation is longer than {self.limit} characters", malformed=False)
        self.out.append(text)
        self.size += len(text)

    def take(self, count: int) -> bytes:
        """The next `count` bytes, or stop: the item ends early."""
        if count > len(self.data) - self.pos:
            raise _Stop(f"the data item ends early: {count} byte(s) wanted at byte {self.pos}, "
                        f"{len(self.data) - self.pos} left")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def head(self) -> tuple[int, int, int | None, str]:
        """(major type, additional information, argument or None for an indefinite length, encoding indicator)."""
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            return major, info, info, ""
        if info <= 27:
            size = 1 << (info - 24)
            argument = int.from_bytes(self.take(size), "big")
            if major == 7:
                return major, info, argument, ""
            shortest = 23 if argument < 24 else 24 if argument < 1 << 8 else 25 if argument < 1 << 16 \
                else 26 if argument < 1 << 32 else 27
            return major, info, argument, "" if info == shortest else f"_{info - 24}"
        if info == 31 and major in (2, 3, 4, 5, 7):  # 7/31: a break, handled by the caller
            return major, info, None, ""
        raise _Stop(f"not well-formed: additional information {info} for major type {major} at byte {self.pos - 1}")

    def item(self, depth: int) -> None:
        """Render one data item (a break where an item is due is refused)."""
        if depth > MAX_DEPTH:
            raise _Stop(f"nested deeper than {MAX_DEPTH}")
        start = self.pos
        major, info, argument, indicator = self.head()
        if major == 0:
            self.emit(f"{argument}{indicator}")
        elif major == 1:
            self.emit(f"{-1 - (argument or 0)}{indicator}")
        elif major in (2, 3):
            if argument is None:
                self.chunks(major, depth)
            else:
                self.string(major, argument, indicator)
        elif major in (4, 5):
            self.container(major, argument, indicator, depth)
        elif major == 6:
            self.emit(f"{argument}{indicator}(")
            self.item(depth + 1)
            self.emit(")")
        else:
            self.simple(info, argument, start)

    def string(self, major: int, length: int, indicator: str) -> None:
        """A definite byte string `h'..'` or text string `"..."` (not UTF-8: its bytes, marked)."""
        data = self.take(length)
        if major == 2:
            self.emit(f"h'{data.hex()}'{indicator}")
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.emit(f"h'{data.hex()}'{indicator} / a text string that is not UTF-8 /")
            return
        self.emit(json.dumps(text, ensure_ascii=False) + indicator)

    def chunks(self, major: int, depth: int) -> None:
        """An indefinite-length string: `(_ chunk, chunk)`; each chunk a definite string of the same type."""
        if depth + 1 > MAX_DEPTH:
            raise _Stop(f"nested deeper than {MAX_DEPTH}")
        self.emit("(_ ")
        first = True
        while True:
            if self.take(1)[0] == 0xFF:
                break
            self.pos -= 1
            chunk_major, _, length, indicator = self.head()
            if chunk_major != major or length is None:
                raise _Stop(f"not well-formed: a chunk of an indefinite-length string is not a definite string of "
                            f"the same type (byte {self.pos - 1})")
            self.emit("" if first else ", ")
            first = False
            self.string(major, length, indicator)
        if first:  # no chunk: §8.1 spells the empty indefinite strings `""_` and `''_`
            self.out[-1] = '""_' if major == 3 else "''_"
            self.size -= 1
            return
        self.emit(")")

    def container(self, major: int, count: int | None, indicator: str, depth: int) -> None:
        """An array `[..]` or map `{..}`, definite or `[_ ..]`/`{_ ..}`."""
        opening, closing = ("[", "]") if major == 4 else ("{", "}")
        self.emit(opening + ("_ " if count is None else indicator + " " if indicator else ""))
        index = 0
        while count is None or index < count:
            if count is None:
                if self.take(1)[0] == 0xFF:
                    break
                self.pos -= 1
            self.emit(", " if index else "")
            self.item(depth + 1)
            if major == 5:
                self.emit(": ")
                if count is None and self.data[self.pos:self.pos + 1] == b"\xff":
                    raise _Stop(f"not well-formed: a map's key without a value (byte {self.pos})")
                self.item(depth + 1)
            index += 1
        self.emit(closing)

    def simple(self, info: int, argument: int | None, start: int) -> None:
        """Major type 7: false, true, null, undefined, simple(n), floats; a break here is misplaced."""
        if argument is None:
            raise _Stop(f"not well-formed: a break where a data item is due (byte {start})")
        if info in _FLOAT_FORMS:
            form, size, indicator = _FLOAT_FORMS[info]
            (value,) = struct.unpack(form, argument.to_bytes(size, "big"))
            self.emit(_float(value) + indicator)
        elif info == 24 and argument < 32:
            raise _Stop(f"not well-formed: simple value {argument} in two bytes (byte {start})")
        else:
            self.emit(_SIMPLE.get(argument, f"simple({argument})"))


def _float(value: float) -> str:
    """A float as notation: NaN, Infinity, -Infinity, else Python's shortest repr (always with `.` or `e`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def diagnostic(data: bytes, limit: int = MAX_OUTPUT) -> str:
    """`data` as one CBOR data item in diagnostic notation; never raises: where the bytes stop being a well-formed
    item (or the notation grows past `limit` characters), what was read, then a `/ ... /` comment saying why."""
    return render(data, limit)[0]


def render(data: bytes, limit: int = MAX_OUTPUT) -> tuple[str, bool]:
    """The notation (as `diagnostic`) and whether the bytes are one well-formed data item (as far as it was read,
    when the output bound cut it)."""
    renderer = _Renderer(bytes(data), limit)
    try:
        renderer.item(0)
        if renderer.pos != len(renderer.data):
            raise _Stop(f"{len(renderer.data) - renderer.pos} byte(s) after the data item")
    except _Stop as stop:
        read = "".join(renderer.out)
        return f"{read} / {stop} /" if read else f"/ {stop} /", not stop.malformed
    return "".join(renderer.out), True
