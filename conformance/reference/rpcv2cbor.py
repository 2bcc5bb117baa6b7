"""rpcv2Cbor (Smithy smithy.protocols#rpcv2Cbor) as a server speaks it (PROTOCOL_NOTES §3)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from conformance import cbor_codec
from conformance.reference.awsjson import Addressed, ApiError, Response, serialization_error
from conformance.wire import (
    CBOR_CONTENT_TYPE,
    RPC_V2_CBOR,
    RPC_V2_FORBIDDEN_HEADERS,
    RPC_V2_PATH,
    SMITHY_PROTOCOL_HEADER,
    HttpRequest,
    media_type,
)

NAME = "rpcv2Cbor"
PATH = RPC_V2_PATH
FORBIDDEN_HEADERS = RPC_V2_FORBIDDEN_HEADERS
# Smithy's shape-id grammar: an Identifier, and a namespace of dot-separated Identifiers. The
# ServiceName segment may be `{namespace}.{ServiceName}`; the Operation segment is one Identifier.
_IDENTIFIER = r"(?:_+[A-Za-z0-9]|[A-Za-z])[A-Za-z0-9_]*"
_SERVICE_SEGMENT = re.compile(rf"(?:(?P<namespace>{_IDENTIFIER}(?:\.{_IDENTIFIER})*)\.)?(?P<name>{_IDENTIFIER})")
_OPERATION_SEGMENT = re.compile(_IDENTIFIER)


def handles(request: HttpRequest) -> bool:
    """Whether a request is addressed to the rpcv2 path (its answer then takes rpcv2Cbor's form)."""
    return request.path.startswith("/service/")


def unknown_operation(message: str) -> ApiError:
    """404 UnknownOperationException: the request names no operation served, or rpcv2Cbor does not claim it."""
    return ApiError("UnknownOperationException", 404, message)


class NamedService(NamedTuple):
    """A ServiceName segment: the service's shape name, and the namespace written before it if any."""

    name: str
    namespace: str | None


def _service(segment: str) -> NamedService | None:
    match = _SERVICE_SEGMENT.fullmatch(segment)
    return NamedService(match["name"], match["namespace"]) if match else None


def service_named(request: HttpRequest) -> NamedService | None:
    """The service an rpcv2 path names, `{ServiceName}` or `{namespace}.{ServiceName}`; None without one."""
    match = PATH.match(request.path.split("?", 1)[0])
    return _service(match["service"]) if match else None


def target(request: HttpRequest) -> Addressed:
    """`{ServiceName}.{Operation}` from the path, if rpcv2Cbor claims the request by method, path and Smithy-Protocol.

    botocore sends the target prefix as ServiceName; a namespace before it ("Service implementations
    SHOULD accept an absolute shape ID as the content of this segment with the # character replaced
    with a . character") comes back for the caller to match against the service's own.
    """
    match = PATH.match(request.path.split("?", 1)[0])
    if request.method != "POST" or match is None:
        raise unknown_operation(f"No operation at {request.method} {request.path}")
    for name in FORBIDDEN_HEADERS:  # "Server-side implementations MUST reject such requests"
        if request.header(name) is not None:
            raise ApiError("BadRequestException", 400, f"{name} must not be sent with rpc-v2-cbor")
    sent = request.header(SMITHY_PROTOCOL_HEADER)
    if (sent or "").strip() != RPC_V2_CBOR:
        shown = f"no {SMITHY_PROTOCOL_HEADER} header" if sent is None else f"{SMITHY_PROTOCOL_HEADER} {sent!r}"
        raise unknown_operation(f"An rpcv2Cbor request has {SMITHY_PROTOCOL_HEADER}: {RPC_V2_CBOR}; "
                                f"this one has {shown}")
    if not _OPERATION_SEGMENT.fullmatch(match["operation"]):  # "MUST NOT accept an absolute shape ID"
        raise unknown_operation(f"Unknown operation {match['operation']!r}: the segment is one shape name")
    service = _service(match["service"])
    if service is None:
        raise unknown_operation(f"Unknown service {match['service']!r}")
    return Addressed(f"{service.name}.{match['operation']}", service.namespace)


def check_content_type(request: HttpRequest) -> None:
    """Raise 415 UnsupportedMediaTypeException when a body comes without Content-Type application/cbor.

    Smithy: Content-Type is "Required with request bodies" and has "The value of application/cbor";
    an empty body is the empty input, with or without that header.
    """
    sent = request.header("Content-Type")
    if media_type(sent) == CBOR_CONTENT_TYPE or (sent is None and not request.body):
        return
    shown = "no Content-Type" if sent is None else f"Content-Type {sent!r}"
    raise ApiError("UnsupportedMediaTypeException", 415,
                   f"An rpcv2Cbor request body has Content-Type {CBOR_CONTENT_TYPE}; this one has {shown}")


def decode_body(body: bytes) -> dict[str, Any]:
    """The body as a CBOR map with text keys; an empty body is the empty input."""
    if not body:
        return {}
    try:
        document = cbor_codec.decode(body)
    except cbor_codec.CborError as exc:
        raise serialization_error(f"Request body is {exc}") from None
    if not isinstance(document, dict) or not all(isinstance(key, str) for key in document):
        raise serialization_error("Request body is not a CBOR map with text keys")
    return document


def _headers(request_id: str) -> dict[str, str]:
    return {"Content-Type": cbor_codec.CONTENT_TYPE, "Smithy-Protocol": cbor_codec.SMITHY_PROTOCOL,
            "x-amzn-RequestId": request_id}


def success(document: Mapping[str, Any], request_id: str, schema: Mapping[str, Any]) -> Response:
    """A 200 answer: a CBOR map, timestamps as tag 1."""
    return Response(200, cbor_codec.encode(dict(document), schema), _headers(request_id))


def failure(error: ApiError, request_id: str, namespace: str) -> Response:
    """An error answer: `__type` is the absolute shape id, the text is in `message`."""
    body = cbor_codec.encode({"__type": f"{namespace}#{error.error_type}", "message": error.message})
    return Response(error.status, body, {**_headers(request_id), **error.headers})
