"""awsJson1_1 (Smithy aws.protocols#awsJson1_1) as a client speaks it (PROTOCOL_NOTES §2)."""

from __future__ import annotations

from typing import Any

from conformance.cases import ABSENT, Case
from conformance.model.operations import Operation
from conformance.protocols.base import Answer, ProtocolName, message_of, sanitise_error_type, with_header_changes
from conformance.wire.http import HttpRequest, HttpResponse
from conformance.wire.json_text import MAX_ANSWER_DEPTH, JsonFault, JsonTextError, json_bytes, loads_strict
from conformance.wire.protocol_facts import AWS_JSON_1_1_CONTENT_TYPE

CONTENT_TYPE = AWS_JSON_1_1_CONTENT_TYPE


def encode_document(document: Any) -> bytes:
    """A JSON request body (see `wire.json_text.json_bytes`)."""
    return json_bytes(document)


def decode_document(body: bytes) -> tuple[Any, str | None]:
    """The body's JSON document, or None and why it is not acceptable JSON; never raises.

    Strict UTF-8 and RFC 8259 JSON (no NaN or Infinity), at most MAX_ANSWER_DEPTH levels deep and
    integers of at most MAX_INT_DIGITS digits, so that checks may walk and format the document.
    A lone surrogate escape is accepted: it is legal JSON text, and echoing a request's value
    in an error message is how a correct server sends one back.
    """
    try:
        return loads_strict(body, bound_integers=True), None
    except JsonTextError as error:
        if error.fault is JsonFault.NOT_UTF8:
            return None, f"body is not JSON: not valid UTF-8 (byte {error.detail})"
        if error.fault is JsonFault.TOO_DEEP:
            return None, f"body is not acceptable JSON: nested deeper than {MAX_ANSWER_DEPTH} levels"
        return None, f"body is not JSON: {error.detail}"


class AwsJson11:
    """The awsJson1_1 encoder and decoder."""

    name = ProtocolName.AWS_JSON_1_1
    content_type = CONTENT_TYPE
    error_type_locations = "the X-Amzn-Errortype header, a `code` member or a `__type` member"
    inexpressible: frozenset[str] = frozenset()

    def encode(self, operation: Operation, case: Case) -> HttpRequest:
        """POST / with X-Amz-Target; the case's header changes applied last."""
        headers = with_header_changes({"Content-Type": CONTENT_TYPE, "X-Amz-Target": operation.target}, case)
        raw = case.raw_body is not None or case.document is ABSENT  # bytes no document gives, or another spelling
        body = case.raw_body if raw else encode_document(case.document)
        return HttpRequest(case.method or "POST", case.path or "/", headers, body or b"")

    def decode(self, response: HttpResponse) -> Answer:
        """The body as JSON; for errors, the type from header, `code`, then `__type` (Smithy's order)."""
        document: Any = None
        decode_error = None
        if response.body.strip():
            document, decode_error = decode_document(response.body)
        if response.status < 400:
            return Answer(response, document, decode_error)
        fields = document if isinstance(document, dict) else {}
        error_type, source = None, None
        for where, value in (("header", response.header("X-Amzn-Errortype")), ("code", fields.get("code")),
                             ("__type", fields.get("__type"))):
            if isinstance(value, str) and sanitise_error_type(value):
                error_type, source = sanitise_error_type(value), where
                break
        # botocore reads the body's `__type` alone, keeping what follows the last `#`.
        sdk_type = fields.get("__type")
        sdk_type = sanitise_error_type(sdk_type) if isinstance(sdk_type, str) else None
        return Answer(response, document, decode_error, error_type, source, sdk_type, message_of(fields))


PROTOCOL = AwsJson11()
