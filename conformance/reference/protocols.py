"""The protocols as a server speaks them: which requests each claims, the operation a request names, reading a
body, and shaping answers and errors as AWS does (PROTOCOL_NOTES §2, §3).

One object per protocol over a shared base (`ServerProtocol`); `protocol_for` picks the protocol a
request is addressed to: rpcv2Cbor by its path, awsJson1_1 otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from conformance.reference.answers import ApiError, Response, serialization_error
from conformance.reference.input_checks import unexpected_type
from conformance.wire import cbor
from conformance.wire.http import HttpRequest, media_type
from conformance.wire.json_text import JsonFault, JsonTextError, json_bytes, loads_strict
from conformance.wire.protocol_facts import (
    AWS_JSON_1_1_CONTENT_TYPE,
    CBOR_CONTENT_TYPE,
    RPC_V2_CBOR,
    RPC_V2_FORBIDDEN_HEADERS,
    RPC_V2_PATH,
    SMITHY_PROTOCOL_HEADER,
    ProtocolName,
)


class Addressed(NamedTuple):
    """The operation a request names, as the routes know it: `{ServiceName}.{Operation}`."""

    target: str
    namespace: str | None = None  # the namespace an rpcv2Cbor path puts before the ServiceName, if any


class NamedService(NamedTuple):
    """An rpcv2 ServiceName segment: the service's shape name, and the namespace written before it if any."""

    name: str
    namespace: str | None


class ServerProtocol:
    """A protocol as the server speaks it; subclasses say how requests are claimed and bodies are written."""

    name: ProtocolName
    content_type: str

    def handles(self, request: HttpRequest) -> bool:
        """Whether a request is addressed to this protocol (its answer then takes this protocol's form)."""
        raise NotImplementedError

    def target(self, request: HttpRequest) -> Addressed:
        """The operation the request names, if the protocol claims it; ApiError otherwise."""
        raise NotImplementedError

    def check_content_type(self, request: HttpRequest) -> None:
        """Raise the error a claimed request's Content-Type deserves, if any."""
        raise NotImplementedError

    def decode_body(self, body: bytes) -> dict[str, Any]:
        """The body as an input document; an empty body is the empty input (servers must accept it)."""
        raise NotImplementedError

    def unknown_operation(self, message: str = "") -> ApiError:
        """The error for a request that names no operation served (or that the protocol does not claim)."""
        raise NotImplementedError

    def encode(self, document: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> bytes:
        """An answer body."""
        raise NotImplementedError

    def error_document(self, error: ApiError, namespace: str) -> dict[str, Any]:
        """The body of an error answer, before encoding."""
        raise NotImplementedError

    def headers(self, request_id: str) -> dict[str, str]:
        """The headers of every answer."""
        return {"Content-Type": self.content_type, "x-amzn-RequestId": request_id}

    def success(self, document: Mapping[str, Any], request_id: str, schema: Mapping[str, Any] | None = None) \
            -> Response:
        """A 200 answer (timestamps as the protocol writes them: awsJson plain epoch seconds, CBOR tag 1)."""
        return Response(200, self.encode(document, schema), self.headers(request_id))

    def failure(self, error: ApiError, request_id: str, namespace: str = "") -> Response:
        """An error answer, in the namespace of the service the request names (rpcv2Cbor's absolute shape ids)."""
        return Response(error.status, self.encode(self.error_document(error, namespace)),
                        {**self.headers(request_id), **error.headers})


_TOO_DEEP = "Request body is nested too deeply (more than {} levels)"


class AwsJsonServer(ServerProtocol):
    """awsJson1_1: POST / with X-Amz-Target; JSON bodies; errors as `__type` and `Message` (Comprehend's casing)."""

    name = ProtocolName.AWS_JSON_1_1
    content_type = AWS_JSON_1_1_CONTENT_TYPE

    def handles(self, request: HttpRequest) -> bool:
        """Anything not addressed to the rpcv2 path."""
        return not request.path.startswith("/service/")

    def target(self, request: HttpRequest) -> Addressed:
        """The X-Amz-Target a request names; POST / only."""
        if request.method != "POST" or request.path.split("?", 1)[0] != "/":
            raise ApiError("UnknownOperationException", 404, f"No operation at {request.method} {request.path}")
        value = (request.header("X-Amz-Target") or "").strip()
        if not value:
            raise self.unknown_operation("Missing X-Amz-Target header")
        return Addressed(value)

    def check_content_type(self, request: HttpRequest) -> None:
        """Raise UnknownOperationException unless the Content-Type is awsJson1_1's, the last of its claim marks.

        Smithy: a service claims a request only when "The Content-Type HTTP request header is set and
        contains the value application/x-amz-json-1.1". Unclaimed, it names no operation; parameters
        (`; charset=utf-8`) leave the value contained.
        """
        sent = request.header("Content-Type")
        if media_type(sent) != self.content_type:
            shown = "no Content-Type" if sent is None else f"Content-Type {sent!r}"
            raise self.unknown_operation(f"An awsJson1_1 request has Content-Type {self.content_type}; this one has "
                                         f"{shown}")

    def decode_body(self, body: bytes) -> dict[str, Any]:
        """The body as a JSON object, read strictly (`json_text.loads_strict`)."""
        if not body.strip():
            return {}
        try:
            document = loads_strict(body)
        except JsonTextError as error:
            # json.loads reaches ~1000 levels; drop_nulls and jsonschema recurse over the document, so the
            # bound is the one the CBOR reader applies (a 500 for a deep body would be this server's bug).
            raise serialization_error({
                JsonFault.NOT_UTF8: f"Request body is not valid UTF-8 (byte {error.detail})",
                JsonFault.TOO_DEEP: _TOO_DEEP.format(error.detail),
                JsonFault.NOT_JSON: f"Request body is not valid JSON: {error.detail}"}[error.fault]) from None
        if not isinstance(document, dict):
            raise serialization_error(unexpected_type(document, "a structure"))
        return document

    def unknown_operation(self, message: str = "") -> ApiError:
        """400 UnknownOperationException."""
        return ApiError("UnknownOperationException", 400, message)

    def encode(self, document: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> bytes:
        """Compact JSON (see `wire.json_text.json_bytes`)."""
        return json_bytes(document, compact=True)

    def error_document(self, error: ApiError, namespace: str) -> dict[str, Any]:
        """`__type` holds the bare shape name, `Message` the text."""
        return {"__type": error.error_type, "Message": error.message}


# Smithy's shape-id grammar: an Identifier, and a namespace of dot-separated Identifiers. The
# ServiceName segment may be `{namespace}.{ServiceName}`; the Operation segment is one Identifier.
_IDENTIFIER = r"(?:_+[A-Za-z0-9]|[A-Za-z])[A-Za-z0-9_]*"
_SERVICE_SEGMENT = re.compile(rf"(?:(?P<namespace>{_IDENTIFIER}(?:\.{_IDENTIFIER})*)\.)?(?P<name>{_IDENTIFIER})")
_OPERATION_SEGMENT = re.compile(_IDENTIFIER)


def _service(segment: str) -> NamedService | None:
    match = _SERVICE_SEGMENT.fullmatch(segment)
    return NamedService(match["name"], match["namespace"]) if match else None


class RpcV2CborServer(ServerProtocol):
    """rpcv2Cbor (Smithy smithy.protocols#rpcv2Cbor): POST /service/{S}/operation/{O} with Smithy-Protocol; CBOR
    bodies; errors as an absolute shape id in `__type` and `message`."""

    name = ProtocolName.RPC_V2_CBOR
    content_type = CBOR_CONTENT_TYPE

    def handles(self, request: HttpRequest) -> bool:
        """Whether a request is addressed to the rpcv2 path."""
        return request.path.startswith("/service/")

    def service_named(self, request: HttpRequest) -> NamedService | None:
        """The service an rpcv2 path names, `{ServiceName}` or `{namespace}.{ServiceName}`; None without one."""
        match = RPC_V2_PATH.match(request.path.split("?", 1)[0])
        return _service(match["service"]) if match else None

    def target(self, request: HttpRequest) -> Addressed:
        """`{ServiceName}.{Operation}` from the path, if rpcv2Cbor claims the request by method, path and
        Smithy-Protocol.

        botocore sends the target prefix as ServiceName; a namespace before it ("Service implementations
        SHOULD accept an absolute shape ID as the content of this segment with the # character replaced
        with a . character") comes back for the caller to match against the service's own.
        """
        match = RPC_V2_PATH.match(request.path.split("?", 1)[0])
        if request.method != "POST" or match is None:
            raise self.unknown_operation(f"No operation at {request.method} {request.path}")
        for name in RPC_V2_FORBIDDEN_HEADERS:  # "Server-side implementations MUST reject such requests"
            if request.header(name) is not None:
                raise ApiError("BadRequestException", 400, f"{name} must not be sent with rpc-v2-cbor")
        sent = request.header(SMITHY_PROTOCOL_HEADER)
        if (sent or "").strip() != RPC_V2_CBOR:
            shown = f"no {SMITHY_PROTOCOL_HEADER} header" if sent is None else f"{SMITHY_PROTOCOL_HEADER} {sent!r}"
            raise self.unknown_operation(f"An rpcv2Cbor request has {SMITHY_PROTOCOL_HEADER}: {RPC_V2_CBOR}; "
                                         f"this one has {shown}")
        if not _OPERATION_SEGMENT.fullmatch(match["operation"]):  # "MUST NOT accept an absolute shape ID"
            raise self.unknown_operation(f"Unknown operation {match['operation']!r}: the segment is one shape name")
        service = _service(match["service"])
        if service is None:
            raise self.unknown_operation(f"Unknown service {match['service']!r}")
        return Addressed(f"{service.name}.{match['operation']}", service.namespace)

    def check_content_type(self, request: HttpRequest) -> None:
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

    def decode_body(self, body: bytes) -> dict[str, Any]:
        """The body as a CBOR map with text keys."""
        if not body:
            return {}
        try:
            document = cbor.decode(body)
        except cbor.CborError as exc:
            raise serialization_error(f"Request body is {exc}") from None
        if not isinstance(document, dict) or not all(isinstance(key, str) for key in document):
            raise serialization_error("Request body is not a CBOR map with text keys")
        return document

    def unknown_operation(self, message: str = "") -> ApiError:
        """404 UnknownOperationException."""
        return ApiError("UnknownOperationException", 404, message)

    def encode(self, document: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> bytes:
        """A CBOR map, timestamps as tag 1."""
        return cbor.encode(dict(document), schema)

    def error_document(self, error: ApiError, namespace: str) -> dict[str, Any]:
        """`__type` is the absolute shape id, the text is in `message`."""
        return {"__type": f"{namespace}#{error.error_type}", "message": error.message}

    def headers(self, request_id: str) -> dict[str, str]:
        """Content-Type, Smithy-Protocol and the request id."""
        return {"Content-Type": self.content_type, SMITHY_PROTOCOL_HEADER: RPC_V2_CBOR, "x-amzn-RequestId": request_id}


AWS_JSON = AwsJsonServer()
RPC_V2 = RpcV2CborServer()
SPOKEN = (AWS_JSON, RPC_V2)


def protocol_for(request: HttpRequest) -> ServerProtocol:
    """The protocol a request is addressed to: rpcv2Cbor by its path, awsJson1_1 otherwise."""
    return RPC_V2 if RPC_V2.handles(request) else AWS_JSON
