"""Protocol faults: routing, claiming, reading and answering against the protocols' MUSTs."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import cbor2

from conformance.reference.answers import (
    ApiError,
    Response,
    new_request_id,
    serialization_error,
)
from conformance.reference.catalog import Role, Route
from conformance.reference.protocols import AWS_JSON, RPC_V2, protocol_for
from conformance.reference.variants.core import (
    AnswerFilter,
    Family,
    ReadStep,
    RouteStep,
    VariantApp,
    variant,
)
from conformance.reference.variants.editing import (
    document_of,
    on_errors,
    rename_error,
    with_document,
)
from conformance.wire import cbor
from conformance.wire.http import HttpRequest


@variant("target_prefix_ignored", Family.PROTOCOL, "routes X-Amz-Target by operation name, whatever its prefix",
         ("error_type",))
def _target_prefix_ignored(app: VariantApp) -> None:
    by_name = {route.operation.name: route for route in app.routes.values()}

    def route(request: HttpRequest, default: RouteStep) -> Route:
        name = (request.header("X-Amz-Target") or "").strip().rsplit(".", 1)[-1]
        if name in by_name and request.method == "POST" and request.path == "/":
            return by_name[name]
        return default(request)
    app.route_hook = route


@variant("missing_target_is_stop", Family.PROTOCOL, "serves a request with no X-Amz-Target as StopPiiEntitiesDetectionJob",
         ("error_type",))
def _missing_target_is_stop(app: VariantApp) -> None:
    stops = [route for route in app.routes.values() if route.role is Role.STOP]
    pii_stop = next((route for route in stops if route.operation.name == "StopPiiEntitiesDetectionJob"), stops[0])

    def route(request: HttpRequest, default: RouteStep) -> Route:
        missing = request.path == "/" and not request.header("X-Amz-Target")
        return pii_stop if missing else default(request)
    app.route_hook = route


@variant("unknown_target_is_stop", Family.PROTOCOL, "serves an unknown operation of the service as its Stop",
         ("error_type",))
def _unknown_target_is_stop(app: VariantApp) -> None:
    stops = {route.operation.service.target_prefix: route for route in app.routes.values() if route.role is Role.STOP}

    def route(request: HttpRequest, default: RouteStep) -> Route:
        prefix, _, name = (request.header("X-Amz-Target") or "").strip().partition(".")
        known = f"{prefix}.{name}" in app.routes
        unknown = request.path == "/" and prefix in stops and name and not known
        return stops[prefix] if unknown else default(request)
    app.route_hook = route


@variant("unknown_operation_500", Family.PROTOCOL, "answers an unknown X-Amz-Target with 500",
         ("no_server_error", "status_code"))
def _unknown_operation_500(app: VariantApp) -> None:
    app.answer_filters.append(rename_error("UnknownOperationException", "InternalServerException", status=500))


@variant("malformed_json_500", Family.PROTOCOL, "answers malformed JSON with 500", ("no_server_error", "status_code"))
def _malformed_json_500(app: VariantApp) -> None:
    def change(response: Response, document: dict[str, Any]) -> Response:
        if document.get("__type") != "SerializationException" or "not valid JSON" not in document.get("Message", ""):
            return response
        return dataclasses.replace(with_document(response, {"__type": "InternalServerException", "Message": "oops"}),
                                   status=500)
    app.answer_filters.append(on_errors(change))


@variant("everything_404", Family.PROTOCOL, "answers every request 404 with a text/plain 'Not Found': nothing is served",
         ("operation_served",))
def _everything_404(app: VariantApp) -> None:
    # A proxy or load balancer with no route to the service answers like this, for any request.
    app.intercepts.append(lambda request: Response(404, b"Not Found", {"Content-Type": "text/plain"}))


# moto's answer to an unsigned request: it routes by the SigV4 credential scope, so a request
# without one goes to S3, which lists the (no) buckets (PROTOCOL_NOTES §8).
_S3_LIST_BUCKETS = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01">'
    b"<Owner><ID>bcaf1ffd86f41161ca5fb16fd081034f</ID><DisplayName>webfile</DisplayName></Owner><Buckets></Buckets>"
    b"</ListAllMyBucketsResult>"
)


@variant("unsigned_answered_by_another_service", Family.PROTOCOL,
         "answers a request without Authorization 200 with S3's bucket list in XML, as moto does",
         ("status_code", "content_type"))
def _unsigned_answered_by_another_service(app: VariantApp) -> None:
    def intercept(request: HttpRequest) -> Response | None:
        if (request.header("Authorization") or "").strip():
            return None
        return Response(200, _S3_LIST_BUCKETS, {"Content-Type": "application/xml",
                                                "x-amzn-RequestId": new_request_id()})
    app.intercepts.append(intercept)


# A JSON escape: `\uXXXX` (group 1) or any other, `\\` included, so that an escaped backslash
# followed by "ud800" is not taken for a surrogate escape.
_JSON_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
# The UTF-8 form of a surrogate (ED A0 80..ED BF BF), as cbor2 decodes it with surrogateescape.
_ESCAPED_SURROGATE = re.compile("\udced[\udca0-\udcbf][\udc80-\udcbf]")


def _json_lone_surrogate(body: bytes) -> bool:
    """Whether raw JSON text has a `\\ud800`-`\\udfff` escape that is not half of a pair."""
    low_due: int | None = None  # where a high surrogate's low half must begin
    for escape in _JSON_ESCAPE.finditer(body):
        unit = int(escape[1], 16) if escape[1] else -1
        if low_due is not None:
            if escape.start() == low_due and 0xDC00 <= unit <= 0xDFFF:
                low_due = None
                continue
            return True
        if 0xD800 <= unit <= 0xDBFF:
            low_due = escape.end()
        elif 0xDC00 <= unit <= 0xDFFF:
            return True
    return low_due is not None


def _cbor_lone_surrogate(body: bytes) -> bool:
    """Whether a CBOR body has a text string holding the UTF-8 form of a surrogate."""
    try:
        cbor.check_item(body)  # bounded first: nested shared values would make cbor2 take gigabytes
        document = cbor2.loads(body, str_errors="surrogateescape")
    except (cbor2.CBORDecodeError, RecursionError, ValueError, OverflowError, TypeError):
        return False  # not CBOR: the worker answers that as usual
    pending: list[Any] = [document]
    seen: set[int] = set()
    while pending:  # iterative, and each container once: shared references (tag 29) may form loops
        value = pending.pop()
        if isinstance(value, str):
            if _ESCAPED_SURROGATE.search(value):
                return True
        elif isinstance(value, cbor2.CBORTag):
            pending.append(value.value)
        elif isinstance(value, (dict, list, tuple, set, frozenset)) and id(value) not in seen:
            seen.add(id(value))
            pending.extend([*value.keys(), *value.values()] if isinstance(value, dict) else value)
    return False


@variant("drops_connection_on_lone_surrogate", Family.PROTOCOL,
         "closes the connection without answering a body that holds a lone surrogate (the worker crashes)",
         ("answered",))
def _drops_connection_on_lone_surrogate(app: VariantApp) -> None:
    def intercept(request: HttpRequest) -> Response | None:
        lone = _cbor_lone_surrogate if RPC_V2.handles(request) else _json_lone_surrogate
        return Response(0, b"", drop_connection=True) if lone(request.body) else None
    app.intercepts.append(intercept)


# rpcv2Cbor faults (protocol family) -------------------------------------------------------------


def _cbor_only(change: AnswerFilter) -> AnswerFilter:
    """An answer filter for answers on the rpcv2Cbor path only."""
    return lambda request, response: change(request, response) if RPC_V2.handles(request) else response


@variant("json_on_cbor_path", Family.PROTOCOL, "answers rpcv2Cbor requests with JSON bodies",
         ("body_decodes", "content_type"))
def _json_on_cbor_path(app: VariantApp) -> None:
    def change(request: HttpRequest, response: Response) -> Response:
        headers = {**response.headers, "Content-Type": AWS_JSON.content_type}
        return dataclasses.replace(response, body=AWS_JSON.encode(document_of(response)), headers=headers)
    app.answer_filters.append(_cbor_only(change))


@variant("no_smithy_protocol_echo", Family.PROTOCOL, "rpcv2Cbor answers leave out Smithy-Protocol",
         ("smithy_protocol_header",))
def _no_smithy_protocol_echo(app: VariantApp) -> None:
    app.answer_filters.append(_cbor_only(lambda request, response: dataclasses.replace(
        response, headers={k: v for k, v in response.headers.items() if k.lower() != "smithy-protocol"})))


@variant("target_header_accepted_on_cbor", Family.PROTOCOL, "serves rpcv2Cbor requests that carry X-Amz-Target",
         ("error_type",))
def _target_header_accepted_on_cbor(app: VariantApp) -> None:
    def route(request: HttpRequest, default: RouteStep) -> Route:
        if RPC_V2.handles(request):
            stripped = {k: v for k, v in request.headers.items() if k.lower() not in ("x-amz-target", "x-amzn-target")}
            request = dataclasses.replace(request, headers=stripped)
        return default(request)
    app.route_hook = route


@variant("cbor_errors_without_type", Family.PROTOCOL, "rpcv2Cbor errors carry no __type", ("error_type",))
def _cbor_errors_without_type(app: VariantApp) -> None:
    def change(request: HttpRequest, response: Response) -> Response:
        if response.status < 400:
            return response
        return with_document(response, {k: v for k, v in document_of(response).items() if k != "__type"})
    app.answer_filters.append(_cbor_only(change))


_CBOR_SIZES = {24: 1, 25: 2, 26: 4, 27: 8}  # a CBOR head's additional info -> bytes of argument that follow


def _cbor_head(major: int, argument: int) -> bytes:
    """The shortest CBOR head of a major type and its argument (RFC 8949 §3), as cbor2 writes it."""
    if argument < 24:
        return bytes([major << 5 | argument])
    info, size = next((info, size) for info, size in _CBOR_SIZES.items() if argument < 1 << 8 * size)
    return bytes([major << 5 | info]) + argument.to_bytes(size, "big")


def _sharing_itself(body: bytes) -> bytes | None:
    """A definite-length CBOR map re-framed as a map that contains itself; None for anything else.

    The map is marked shareable (tag 28) and gains a member "Self" that is a shared reference
    (tag 29) to value 0, the map itself: what cbor2 writes for such a map with value_sharing=True.
    """
    if not body or body[0] >> 5 != 5 or (body[0] & 0x1F) > 27:
        return None
    size = _CBOR_SIZES.get(body[0] & 0x1F, 0)
    count = int.from_bytes(body[1:1 + size], "big") if size else body[0] & 0x1F
    members = body[1 + size:]
    return b"\xd8\x1c" + _cbor_head(5, count + 1) + members + cbor2.dumps("Self") + b"\xd8\x1d\x00"


@variant("cbor_shared_references", Family.PROTOCOL,
         "rpcv2Cbor answers are a map that contains itself (shared-reference tags 28 and 29)", ("body_decodes",))
def _cbor_shared_references(app: VariantApp) -> None:
    def change(request: HttpRequest, response: Response) -> Response:
        shared = _sharing_itself(response.body) if response.body else None
        return dataclasses.replace(response, body=shared) if shared is not None else response
    app.answer_filters.append(_cbor_only(change))


# Protocol requirements of the specifications (issue 11) -------------------------------------------


def _empty_input(request: HttpRequest) -> bool:
    """Whether a body reads as the empty input: no body, `{}`, or the empty CBOR map (A0 or BF FF)."""
    try:
        return protocol_for(request).decode_body(request.body) == {}
    except ApiError:
        return False


def _refuse_input(when: Callable[[HttpRequest], bool], message: str) -> Callable[[VariantApp], None]:
    """A variant that answers SerializationException to the requests `when` picks, and reads the rest as usual."""
    def configure(app: VariantApp) -> None:
        def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
            if when(request):
                raise serialization_error(message)
            return default(request)
        app.read_hook = read
    return configure


def _null_member(request: HttpRequest) -> bool:
    try:
        return None in protocol_for(request).decode_body(request.body).values()
    except ApiError:
        return False


variant("empty_input_serialization_error", Family.PROTOCOL,
        "answers an empty body or empty map SerializationException (servers MUST accept it as the empty input)",
        ("error_type",))(_refuse_input(_empty_input, "Request body is empty"))
variant("null_member_serialization_error", Family.PROTOCOL,
        "answers a null JobId SerializationException (a null member MUST read as absent)",
        ("error_type",))(_refuse_input(_null_member, "JobId must be a string, not null"))
variant("cbor_undefined_refused", Family.PROTOCOL,
        "answers CBOR undefined SerializationException (servers MUST read it as null)",
        ("error_type",))(_refuse_input(lambda request: RPC_V2.handles(request) and _holds_undefined(request.body),
                                       "undefined is not a value"))


def _holds_undefined(body: bytes) -> bool:
    """Whether a CBOR map body has a member whose value is undefined."""
    try:
        cbor.check_item(body)  # bounded first
        document = cbor2.loads(body)
    except (cbor.CborError, cbor2.CBORDecodeError, ValueError):
        return False
    return isinstance(document, dict) and any(value is cbor2.undefined for value in document.values())


@variant("cbor_bare_error_type", Family.PROTOCOL, "rpcv2Cbor errors name the bare error name in `__type`, not the "
         "absolute shape id", ("rpcv2_error_body",))
def _cbor_bare_error_type(app: VariantApp) -> None:
    def change(request: HttpRequest, response: Response) -> Response:
        document = document_of(response)
        if response.status < 400 or not isinstance(document.get("__type"), str):
            return response
        return with_document(response, {**document, "__type": document["__type"].rsplit("#", 1)[-1]})
    app.answer_filters.append(_cbor_only(change))


@variant("cbor_errors_without_message", Family.PROTOCOL, "rpcv2Cbor errors carry no message",
         ("rpcv2_error_body", "error_message_present"))
def _cbor_errors_without_message(app: VariantApp) -> None:
    def change(request: HttpRequest, response: Response) -> Response:
        if response.status < 400:
            return response
        return with_document(response, {k: v for k, v in document_of(response).items() if k.lower() != "message"})
    app.answer_filters.append(_cbor_only(change))


def _operation_segment(request: HttpRequest) -> str:
    return request.path.split("?", 1)[0].rsplit("/", 1)[-1]


@variant("absolute_operation_id_served", Family.PROTOCOL, "routes an rpcv2 path whose operation segment is an absolute "
         "shape id (which MUST NOT route)", ("error_type", "status_code"))
def _absolute_operation_id_served(app: VariantApp) -> None:
    def route(request: HttpRequest, default: RouteStep) -> Route:
        segment = _operation_segment(request)
        bare = segment.replace("%23", "#").rsplit("#", 1)[-1].rsplit(".", 1)[-1]
        if RPC_V2.handles(request) and bare != segment:
            request = dataclasses.replace(request, path=request.path[: -len(segment)] + bare)
        return default(request)
    app.route_hook = route


