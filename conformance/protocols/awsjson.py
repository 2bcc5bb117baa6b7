"""awsJson1_1 (Smithy aws.protocols#awsJson1_1) as a client speaks it (PROTOCOL_NOTES §2)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from conformance import botocore_model
from conformance.cases import ABSENT, Case, Kind
from conformance.model import Operation
from conformance.protocols import sanitise_error_type
from conformance.strategies.bodies import Family, Members, raw_family
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
MALFORMED_JSON = (
    b'{"JobId": "abc"', b'{"JobId": "abc"}}', b"{'JobId': 'abc'}", b'{JobId: "abc"}', b'{"JobId": "abc",}',
    b'{"JobId": NaN}', b'{"JobId" "abc"}', b"{", b"}", b"nul", b'{"JobId": "abc"} x', b'{"JobId": "a\x01b"}',
    b'{"JobId": "\\x41"}', b'{"JobId": "\\u12"}',
)
INVALID_UTF8 = (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\x80", b"\xf8\x88\x80\x80\x80")


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
        return HttpRequest("POST", case.path or "/", headers, body or b"")

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

    def families(self, operation: Operation, all_operations: list[Operation]) -> list[Family]:
        """Empty, malformed and non-UTF-8 bodies; missing, unknown and wrong-prefix targets."""
        members = Members(operation)
        name = operation.name

        def routed(category: str, text: str, targets: st.SearchStrategy[str | None]) -> Family:
            @st.composite
            def build(draw: st.DrawFn) -> Case:
                document = draw(members.base())
                return Case(name, category, Kind.UNKNOWN_OPERATION, text, document=document,
                            headers=(("X-Amz-Target", draw(targets)),), job_id=document.get("JobId"))
            return Family(category, Kind.UNKNOWN_OPERATION, text, build())

        valid_text = members.base().map(encode_document)

        @st.composite
        def invalid_utf8(draw: st.DrawFn) -> bytes:
            text = draw(valid_text)
            at = draw(st.integers(0, len(text)))
            quote = text.find(b'"', text.find(b":") + 1) + 1  # inside the first member's string value
            at = quote if quote > 0 and draw(st.booleans()) else at
            return text[:at] + draw(st.sampled_from(INVALID_UTF8)) + text[at:]

        @st.composite
        def truncated(draw: st.DrawFn) -> bytes:
            # Cut between characters, not bytes: a cut inside one would make invalid UTF-8,
            # which is another category.
            text = draw(valid_text).decode("utf-8")
            return text[: draw(st.integers(1, max(len(text) - 1, 1)))].encode("utf-8")

        prefix = operation.service.target_prefix
        # Every operation botocore knows for the service counts as served, so an "unknown" name
        # never reaches a real operation; and no name starts with Start, which could create a job.
        served = {op.name for op in all_operations if op.service.target_prefix == prefix}
        served |= set(botocore_model.service_model(operation.service.name).operation_names)
        wrong_prefixes = [*operation.other_target_prefixes(all_operations), prefix.split("_")[0] + "_19990101", prefix + "x"]
        unknown_names = st.from_regex(r"\A(Stop|Describe|NoSuch)[A-Z][a-z]{2,10}Job\Z").filter(
            lambda n: n not in served)
        return [
            raw_family(name, "invalid.body.empty", "no body at all", st.just(b"")),
            raw_family(name, "invalid.body.malformed_json", "malformed JSON",
                       st.one_of(st.sampled_from(MALFORMED_JSON), truncated())),
            raw_family(name, "invalid.body.invalid_utf8", "JSON with bytes that are not UTF-8", invalid_utf8()),
            routed("protocol.target.missing", "no X-Amz-Target header", st.none()),
            routed("protocol.target.unknown", "X-Amz-Target names no operation of the service",
                   unknown_names.map(lambda n: f"{prefix}.{n}")),
            routed("protocol.target.wrong_prefix", "X-Amz-Target with another service's or version's prefix",
                   st.sampled_from(wrong_prefixes).map(lambda p: f"{p}.{name}")),
        ]


PROTOCOL = AwsJson11()
