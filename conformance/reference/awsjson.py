"""awsJson1_1 as a server speaks it: parse request bodies, shape answers and errors as AWS does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from jsonschema.exceptions import ValidationError

from conformance.wire import (
    AWS_JSON_1_1_CONTENT_TYPE,
    MAX_ANSWER_DEPTH,
    HttpRequest,
    json_bytes,
    media_type,
    nested_deeper_than,
)

CONTENT_TYPE = AWS_JSON_1_1_CONTENT_TYPE


class ApiError(Exception):
    """An error answer: its type (the `__type`), HTTP status, message, and any headers it adds (Retry-After)."""

    def __init__(self, error_type: str, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.error_type, self.status, self.message = error_type, status, message
        self.headers = dict(headers or {})


def serialization_error(message: str) -> ApiError:
    """400 SerializationException: the body could not be read as the operation's input."""
    return ApiError("SerializationException", 400, message)


def unknown_operation(message: str = "") -> ApiError:
    """400 UnknownOperationException: the request names no operation this endpoint serves."""
    return ApiError("UnknownOperationException", 400, message)


class Addressed(NamedTuple):
    """The operation a request names, as the routes know it: `{ServiceName}.{Operation}`."""

    target: str
    namespace: str | None = None  # the namespace an rpcv2Cbor path puts before the ServiceName, if any


@dataclass
class Response:
    """An answer ready for the wire."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    # No answer at all: the server closes the connection without a status line, as it does when
    # a worker dies mid-request (status, body and headers are then ignored).
    drop_connection: bool = False


def new_request_id() -> str:
    """A fresh request id in the form AWS uses (a UUID)."""
    return str(uuid.uuid4())


def encode(document: Mapping[str, Any]) -> bytes:
    """A compact JSON answer body (see `wire.json_bytes`)."""
    return json_bytes(document, compact=True)


NAME = "awsJson1_1"


def handles(request: HttpRequest) -> bool:
    """Whether a request is addressed to the awsJson path (anything not rpcv2Cbor's)."""
    return not request.path.startswith("/service/")


def target(request: HttpRequest) -> Addressed:
    """The X-Amz-Target a request names; POST / only."""
    if request.method != "POST" or request.path.split("?", 1)[0] != "/":
        raise ApiError("UnknownOperationException", 404, f"No operation at {request.method} {request.path}")
    value = (request.header("X-Amz-Target") or "").strip()
    if not value:
        raise unknown_operation("Missing X-Amz-Target header")
    return Addressed(value)


def check_content_type(request: HttpRequest) -> None:
    """Raise UnknownOperationException unless the Content-Type is awsJson1_1's, the last of its claim marks.

    Smithy: a service claims a request only when "The Content-Type HTTP request header is set and
    contains the value application/x-amz-json-1.1". Unclaimed, it names no operation; parameters
    (`; charset=utf-8`) leave the value contained.
    """
    sent = request.header("Content-Type")
    if media_type(sent) != CONTENT_TYPE:
        shown = "no Content-Type" if sent is None else f"Content-Type {sent!r}"
        raise unknown_operation(f"An awsJson1_1 request has Content-Type {CONTENT_TYPE}; this one has {shown}")


def success(document: Mapping[str, Any], request_id: str, schema: Mapping[str, Any] | None = None) -> Response:
    """A 200 answer with a JSON body (timestamps are plain epoch seconds)."""
    return Response(200, encode(document), _headers(request_id))


def failure(error: ApiError, request_id: str, namespace: str = "") -> Response:
    """An error answer: `__type` holds the bare shape name, `Message` the text (Comprehend's casing)."""
    body = encode({"__type": error.error_type, "Message": error.message})
    return Response(error.status, body, {**_headers(request_id), **error.headers})


def _headers(request_id: str) -> dict[str, str]:
    return {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_TOO_DEEP = f"Request body is nested too deeply (more than {MAX_ANSWER_DEPTH} levels)"


def decode_body(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is `{}` (Smithy: servers must accept it)."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")  # strict: json.loads(bytes) would also accept UTF-16 and UTF-32
    except UnicodeDecodeError as exc:
        raise serialization_error(f"Request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise serialization_error(_TOO_DEEP) from None
    except ValueError as exc:
        raise serialization_error(f"Request body is not valid JSON: {exc}") from None
    # json.loads reaches ~1000 levels; drop_nulls and jsonschema recurse over the document, so the
    # bound is the one the CBOR reader applies (a 500 for a deep body would be this server's bug).
    if nested_deeper_than(document, MAX_ANSWER_DEPTH):
        raise serialization_error(_TOO_DEEP)
    if not isinstance(document, dict):
        raise serialization_error(_unexpected(document, "a structure"))
    return document


def drop_nulls(value: Any) -> Any:
    """awsJson servers treat a null member as absent (so a null required member is 'not null')."""
    if isinstance(value, dict):
        return {key: drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    return value


_TOKEN_NAMES = {bool: "BOOLEAN_VALUE", int: "NUMBER_VALUE", float: "NUMBER_VALUE", str: "STRING_VALUE"}
_EXPECTED = {"string": "a String", "integer": "an Integer", "number": "a Number", "boolean": "a Boolean",
             "object": "a structure", "array": "a list"}


def _unexpected(value: Any, expected: str) -> str:
    """The wording AWS's JSON reader uses when a value has the wrong JSON type."""
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected."
    return f"{_TOKEN_NAMES.get(type(value), 'VALUE')} can not be converted to {expected}"


def check_input(validator: Any, document: Mapping[str, Any]) -> None:
    """Raise the error AWS would answer for a body that breaks the input schema, if it does.

    A value of the wrong JSON type fails deserialisation first (SerializationException); only a
    well-typed body reaches constraint validation (ValidationException, all breaks in one message).
    """
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        if error.validator == "type":
            expected = error.validator_value if isinstance(error.validator_value, str) else "object"
            raise serialization_error(_unexpected(error.instance, _EXPECTED.get(expected, expected)))
    breaks = [line for error in errors for line in _constraint_breaks(error)]
    if breaks:
        count = len(breaks)
        noun = "error" if count == 1 else "errors"
        raise ApiError("ValidationException", 400, f"{count} validation {noun} detected: " + "; ".join(breaks))


def _member_path(parts: Iterable[Any]) -> str:
    """AWS's member path: lowerCamel member names, list items as `N.member` (1-based)."""
    names = []
    for part in parts:
        names.append(f"{part + 1}.member" if isinstance(part, int) else part[:1].lower() + part[1:])
    return ".".join(names)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "'[" + ", ".join(str(item) for item in value) + "]'"
    return f"'{value}'"


_RULES = {
    "minLength": "Member must have length greater than or equal to {}",
    "maxLength": "Member must have length less than or equal to {}",
    "minItems": "Member must have length greater than or equal to {}",
    "maxItems": "Member must have length less than or equal to {}",
    "minProperties": "Member must have length greater than or equal to {}",
    "maxProperties": "Member must have length less than or equal to {}",
    "minimum": "Member must have value greater than or equal to {}",
    "maximum": "Member must have value less than or equal to {}",
    "pattern": "Member must satisfy regular expression pattern: {}",
}


def _constraint_breaks(error: ValidationError) -> list[str]:
    """AWS's sentence for each constraint one jsonschema error stands for."""
    path = list(error.absolute_path)
    keyword, limit = error.validator, error.validator_value
    if keyword == "required":
        missing = [name for name in limit if name not in error.instance]
        return [f"Value null at '{_member_path([*path, name])}' failed to satisfy constraint: "
                "Member must not be null" for name in missing]
    if keyword == "enum":
        rule = "Member must satisfy enum value set: [" + ", ".join(map(str, limit)) + "]"
    else:
        rule = _RULES.get(str(keyword), "Member must satisfy constraint: {}").format(
            limit if keyword in _RULES else keyword
        )
    return [f"Value {_show(error.instance)} at '{_member_path(path)}' failed to satisfy constraint: {rule}"]
