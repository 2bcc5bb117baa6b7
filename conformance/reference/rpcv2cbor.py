"""rpcv2Cbor (Smithy smithy.protocols#rpcv2Cbor) as a server speaks it (PROTOCOL_NOTES §3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance import cbor_codec
from conformance.reference.awsjson import ApiError, Response, serialization_error
from conformance.wire import RPC_V2_FORBIDDEN_HEADERS, RPC_V2_PATH, HttpRequest

NAME = "rpcv2Cbor"
PATH = RPC_V2_PATH
FORBIDDEN_HEADERS = RPC_V2_FORBIDDEN_HEADERS


def handles(request: HttpRequest) -> bool:
    """Whether a request is addressed to the rpcv2 path."""
    return request.path.startswith("/service/")


def target(request: HttpRequest) -> str:
    """`{ServiceName}.{Operation}` from the path; botocore uses the target prefix as ServiceName."""
    match = PATH.match(request.path.split("?", 1)[0])
    if request.method != "POST" or match is None:
        raise ApiError("UnknownOperationException", 404, f"No operation at {request.method} {request.path}")
    for name in FORBIDDEN_HEADERS:
        if request.header(name) is not None:
            raise ApiError("BadRequestException", 400, f"{name} must not be sent with rpc-v2-cbor")
    return f"{match['service']}.{match['operation']}"


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
