"""Spelling faults: readers that take one legal spelling of a request document and misread another; and legal
variations that answer in other legal spellings.

JSON allows any character as a `\\u` escape, an escaped `/`, white space between tokens and members in
any order; CBOR allows indefinite lengths, strings in chunks, heads longer than the shortest and
half-precision floats (`wire.spellings`). Each fault here reads the spelling the suite usually sends
and gets one other wrong, as hand-written or over-strict readers do: only a request sent in two
spellings shows it (`spellings_agree`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import cbor2

from conformance.reference.answers import ApiError, Response, serialization_error
from conformance.reference.protocols import AWS_JSON, RPC_V2
from conformance.reference.variants.core import Family, ReadStep, VariantApp, variant
from conformance.reference.variants.editing import is_cbor
from conformance.wire import cbor, spellings
from conformance.wire.http import HttpRequest
from conformance.wire.protocol_facts import ProtocolName

# A member name in JSON text: a string followed by a colon (strings cannot hold a raw quote or control character).
_MEMBER_NAME = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:')


def _json_only(read: Any) -> Any:
    """A read hook that changes awsJson requests only."""
    def hook(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        return read(request, default) if AWS_JSON.handles(request) else default(request)
    return hook


def _cbor_only(read: Any) -> Any:
    """A read hook that changes rpcv2Cbor requests only."""
    def hook(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        return read(request, default) if RPC_V2.handles(request) else default(request)
    return hook


def _cbor_heads(body: bytes) -> list[tuple[int, int, int]]:
    """The heads of a CBOR body, or none where it is not one well-formed item (the reference then says why)."""
    try:
        cbor.check_item(body)
        return list(cbor.heads(body))
    except cbor.CborError:
        return []


@variant("json_escaped_names_unread", Family.SPELLING, "takes a member name's `\\u` escapes literally (reads "
         "`\"\\u004aobId\"` as a member other than JobId)", ("spellings_agree",))
def _json_escaped_names_unread(app: VariantApp) -> None:
    def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        document = default(request)
        escaped = {json.loads(b'"' + raw + b'"'): raw.decode("utf-8", "replace")
                   for raw in _MEMBER_NAME.findall(request.body) if b"\\" in raw}
        return {escaped.get(name, name): value for name, value in document.items()}
    app.read_hook = _json_only(read)


@variant("json_escaped_solidus_kept", Family.SPELLING, "reads `\\/` in a string as a backslash and a slash, not `/`",
         ("spellings_agree",))
def _json_escaped_solidus_kept(app: VariantApp) -> None:
    def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        return default(dataclasses.replace(request, body=request.body.replace(b"\\/", b"\\\\/")))
    app.read_hook = _json_only(read)


@variant("json_white_space_refused", Family.SPELLING, "answers SerializationException to a tab, carriage return or "
         "newline between tokens (JSON allows all four kinds of white space)", ("spellings_agree",))
def _json_white_space_refused(app: VariantApp) -> None:
    def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        # Raw control characters cannot stand inside a JSON string: any such byte is white space between tokens.
        if any(space in request.body for space in (b"\t", b"\r", b"\n")):
            raise serialization_error("Unexpected character in request body")
        return default(request)
    app.read_hook = _json_only(read)


@variant("json_member_order_assumed", Family.SPELLING, "reads members in the order its clients send them, as a "
         "streaming reader does: SerializationException where JobId is not the first member", ("spellings_agree",))
def _json_member_order_assumed(app: VariantApp) -> None:
    def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        document = default(request)
        if "JobId" in document and next(iter(document)) != "JobId":
            raise serialization_error("Expected member JobId")
        return document
    app.read_hook = _json_only(read)


@variant("cbor_chunked_strings_refused", Family.SPELLING, "answers SerializationException to a string in chunks "
         "(an indefinite-length text or byte string)", ("spellings_agree",))
def _cbor_chunked_strings_refused(app: VariantApp) -> None:
    def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        if any(major in (2, 3) and argument == -1 for major, _, argument in _cbor_heads(request.body)):
            raise serialization_error("Indefinite-length strings are not supported")
        return default(request)
    app.read_hook = _cbor_only(read)


@variant("cbor_indefinite_maps_refused", Family.SPELLING, "answers SerializationException to an indefinite-length "
         "map or array", ("spellings_agree", "error_type"))
def _cbor_indefinite_maps_refused(app: VariantApp) -> None:
    def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        if any(major in (4, 5) and argument == -1 for major, _, argument in _cbor_heads(request.body)):
            raise serialization_error("Indefinite-length containers are not supported")
        return default(request)
    app.read_hook = _cbor_only(read)


def _longer_than_needed(info: int, argument: int) -> bool:
    """Whether a head's argument takes more bytes than the shortest head for it would."""
    return (info == 24 and argument < 24) or (info == 25 and argument < 1 << 8) \
        or (info == 26 and argument < 1 << 16) or (info == 27 and argument < 1 << 32)


@variant("cbor_long_heads_refused", Family.SPELLING, "reads only the shortest heads, as a deterministic-encoding "
         "decoder does: SerializationException to a length or integer in more bytes than it needs",
         ("spellings_agree",))
def _cbor_long_heads_refused(app: VariantApp) -> None:
    def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        if any(major != 7 and _longer_than_needed(info, argument)
               for major, info, argument in _cbor_heads(request.body)):
            raise serialization_error("Non-canonical CBOR encoding")
        return default(request)
    app.read_hook = _cbor_only(read)


@variant("cbor_half_floats_crash", Family.SPELLING, "fails with a 500 on a half-precision float (Smithy: "
         "implementations MUST read them)", ("spellings_agree", "no_server_error"))
def _cbor_half_floats_crash(app: VariantApp) -> None:
    def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        if any((major, info) == (7, 25) for major, info, _ in _cbor_heads(request.body)):
            raise ApiError("InternalFailure", 500, "unsupported float width")
        return default(request)
    app.read_hook = _cbor_only(read)


# Legal variations: answers in other legal spellings, which a client must read as the same document.

def _respelled(protocol: ProtocolName, changes: tuple[str, ...]) -> Any:
    def change(request: HttpRequest, response: Response) -> Response:
        if not response.body or is_cbor(response) != (protocol is ProtocolName.RPC_V2_CBOR):
            return response
        try:
            document = cbor2.loads(response.body) if is_cbor(response) else json.loads(response.body)
            body = spellings.write(protocol, document, changes, choices=len(response.body))
        except (ValueError, TypeError, cbor2.CBORDecodeError):
            return response
        return dataclasses.replace(response, body=body)
    return change


@variant("json_answers_escaped", Family.LEGAL, "awsJson answers escape every character as `\\u`, with white space "
         "between tokens and members in another order")
def _json_answers_escaped(app: VariantApp) -> None:
    app.answer_filters.append(_respelled(ProtocolName.AWS_JSON_1_1, ("escape all", "member order", "white space")))


@variant("cbor_answers_indefinite", Family.LEGAL, "rpcv2Cbor answers use indefinite-length maps and arrays, "
         "strings in chunks, long heads and the shortest exact floats")
def _cbor_answers_indefinite(app: VariantApp) -> None:
    app.answer_filters.append(_respelled(ProtocolName.RPC_V2_CBOR, ("chunked strings", "indefinite arrays",
                                                                     "indefinite maps", "long heads",
                                                                     "short floats")))
