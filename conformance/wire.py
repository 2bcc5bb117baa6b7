"""HTTP requests and answers as plain data, shared by protocols, transport and reports."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

# Wire facts both the suite and the reference server rest on (PROTOCOL_NOTES §2, §3): one home.
AWS_JSON_1_1_CONTENT_TYPE = "application/x-amz-json-1.1"
CBOR_CONTENT_TYPE = "application/cbor"
SMITHY_PROTOCOL_HEADER = "Smithy-Protocol"
RPC_V2_CBOR = "rpc-v2-cbor"  # the Smithy-Protocol value of rpcv2Cbor
RPC_V2_FORBIDDEN_HEADERS = ("X-Amz-Target", "X-Amzn-Target")
RPC_V2_PATH = re.compile(r"^/service/(?P<service>[^/?]+)/operation/(?P<operation>[^/?]+)$")


def rpcv2_path(service_name: str, operation: str) -> str:
    """`/service/{ServiceName}/operation/{Operation}` (botocore sends the target prefix as ServiceName)."""
    return f"/service/{service_name}/operation/{operation}"


MAX_SHOWN_CHARS = 512  # a value a target supplied, in a message or report: longer ones are clipped


def clipped(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """A target-supplied text fit to copy into a message or report: at most `limit` characters, and when cut,
    its full length and a digest, so that two long values can still be told apart."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[:limit]}... ({len(text)} characters, sha256 {digest})"


def aws_namespace(service_name: str) -> str:
    """The Smithy namespace of an AWS service's shapes, from botocore's service name: `com.amazonaws.comprehend`."""
    return f"com.amazonaws.{service_name}"


def media_type(content_type: str | None) -> str:
    """A Content-Type's `type/subtype`, lower-cased and without parameters; '' when there is none.

    RFC 9110 §8.3.1: type and subtype are case-insensitive, and parameters such as `charset` follow a `;`.
    """
    return (content_type or "").split(";", 1)[0].strip().lower()


# Bounds on what a decoded body may hold, the same for JSON and CBOR, for answers the suite reads
# and requests the reference server reads. The operations' documents are two or three levels deep
# and their numbers small: beyond these, a body is a decode error rather than a document that
# later code (jsonschema, reports, int-to-text) would recurse into or format without end.
MAX_ANSWER_DEPTH = 64  # nested arrays/maps (and CBOR tags) around the deepest value
MAX_ANSWER_INT_BITS = 512  # integers: 64-byte CBOR bignums, about 155 JSON digits


def nested_deeper_than(document: Any, limit: int = MAX_ANSWER_DEPTH) -> bool:
    """Whether a decoded document has more than `limit` nested lists/dicts; iterative, never recurses."""
    # Level by level: one list comprehension a level is several times faster than a stack of
    # (value, depth) pairs on a 4 MB body of empty lists.
    level = [document] if isinstance(document, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [child for container in level
                 for child in (container.values() if isinstance(container, dict) else container)
                 if isinstance(child, (dict, list))]
    return False


def json_bytes(document: Any, compact: bool = False) -> bytes:
    """JSON text in UTF-8; a lone surrogate (which UTF-8 cannot carry) goes as a `\\ud800` escape."""
    separators = (",", ":") if compact else None
    try:
        return json.dumps(document, ensure_ascii=False, separators=separators).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(document, separators=separators).encode("ascii")


@dataclass(frozen=True)
class HttpRequest:
    """A request ready to sign and send; `path` is relative to the target's URL."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name."""
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), None)


@dataclass(frozen=True)
class HttpResponse:
    """An answer as received: header names are stored lower-cased."""

    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float = 0.0
    body_error: str | None = None  # why `body` is not the whole body (broken framing, over the size bound)

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Answer:
    """An answer decoded by a protocol: its document, and for errors the type and message."""

    response: HttpResponse
    document: Any = None  # the decoded body, None if empty or undecodable
    decode_error: str | None = None  # why the body could not be decoded
    error_type: str | None = None  # resolved as the protocol says (Smithy order), sanitised
    error_type_source: str | None = None  # where it was found: header, code or __type
    sdk_error_type: str | None = None  # what botocore would read, which may differ
    message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    status_only: bool = False  # malformed for its protocol: judged on its status alone, body and headers unread

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return self.response.status

    @property
    def is_error(self) -> bool:
        """A 4xx or 5xx answer."""
        return self.response.status >= 400
