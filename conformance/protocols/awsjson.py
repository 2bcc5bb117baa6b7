"""awsJson1_1 (Smithy aws.protocols#awsJson1_1) as a client speaks it (PROTOCOL_NOTES §2)."""

from __future__ import annotations

import json
from typing import Any

from conformance.cases import ABSENT, Case
from conformance.model import Operation
from conformance.protocols import sanitise_error_type
from conformance.wire import (
    AWS_JSON_1_1_CONTENT_TYPE,
    MAX_ANSWER_DEPTH,
    MAX_ANSWER_INT_BITS,
    Answer,
    HttpRequest,
    HttpResponse,
    json_bytes,
    nested_deeper_than,
)

CONTENT_TYPE = AWS_JSON_1_1_CONTENT_TYPE
MAX_INT_DIGITS = len(str(1 << MAX_ANSWER_INT_BITS))  # 155: longer integer literals are refused unparsed


def encode_document(document: Any) -> bytes:
    """A JSON request body (see `wire.json_bytes`)."""
    return json_bytes(document)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    # Checked before int(): converting a long literal costs time quadratic in its length, and
    # Python's own 4300-digit limit is a process-wide setting that anything may change.
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits (more than {MAX_INT_DIGITS})")
    return int(text)


def decode_document(body: bytes) -> tuple[Any, str | None]:
    """The body's JSON document, or None and why it is not acceptable JSON; never raises.

    Strict UTF-8 and RFC 8259 JSON (no NaN or Infinity), at most MAX_ANSWER_DEPTH levels deep and
    integers of at most MAX_INT_DIGITS digits, so that checks may walk and format the document.
    A lone surrogate escape is accepted: it is legal JSON text, and echoing a request's value
    in an error message is how a correct server sends one back.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"body is not JSON: not valid UTF-8 (byte {exc.start})"
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_int=_bounded_int)
    except RecursionError:  # json's C scanner stops at Python's recursion limit, cleanly
        return None, f"body is not acceptable JSON: nested deeper than {MAX_ANSWER_DEPTH} levels"
    except ValueError as exc:
        return None, f"body is not JSON: {exc}"
    if nested_deeper_than(document, MAX_ANSWER_DEPTH):
        return None, f"body is not acceptable JSON: nested deeper than {MAX_ANSWER_DEPTH} levels"
    return document, None


class AwsJson11:
    """The awsJson1_1 encoder and decoder."""

    name = "awsJson1_1"
    content_type = CONTENT_TYPE
    error_type_locations = "the X-Amzn-Errortype header, a `code` member or a `__type` member"
    inexpressible: frozenset[str] = frozenset()

    def encode(self, operation: Operation, case: Case) -> HttpRequest:
        """POST / with X-Amz-Target; the case's header changes applied last."""
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": operation.target}
        for name, value in case.headers:
            headers.pop(name, None)
            if value is not None:
                headers[name] = value
        body = case.raw_body if case.document is ABSENT else encode_document(case.document)
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
        message = next((fields[key] for key in ("message", "Message") if isinstance(fields.get(key), str)), None)
        return Answer(response, document, decode_error, error_type, source, sdk_type, message)


PROTOCOL = AwsJson11()
