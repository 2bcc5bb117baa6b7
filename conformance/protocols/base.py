"""What every client protocol is: a name, an encoder of cases and a decoder of answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import Protocol as _Protocol

from conformance.cases import Case
from conformance.model.operations import Operation
from conformance.wire.http import HttpRequest, HttpResponse
from conformance.wire.protocol_facts import ProtocolName


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
    status_only: bool = False  # malformed for its protocol: judged on its status alone, body and headers unread

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return self.response.status

    @property
    def is_error(self) -> bool:
        """A 4xx or 5xx answer."""
        return self.response.status >= 400


class WireProtocol(_Protocol):
    """What every protocol provides."""

    name: ProtocolName
    content_type: str  # of request and answer bodies
    error_type_locations: str  # where the error type is read from, for messages
    inexpressible: frozenset[str]  # case categories the protocol cannot carry

    def encode(self, operation: Operation, case: Case) -> HttpRequest:
        """The HTTP request that sends this case."""
        ...

    def decode(self, response: HttpResponse) -> Answer:
        """The answer, with the error type resolved."""
        ...


def sanitise_error_type(value: str) -> str:
    """Smithy's rule: keep what stands before the first `:`, then what stands after the last `#`."""
    return value.split(":", 1)[0].rsplit("#", 1)[-1].strip()


def with_header_changes(headers: dict[str, str], case: Case) -> dict[str, str]:
    """The protocol's headers with the case's changes applied last (None removes a header)."""
    for name, value in case.headers:
        headers.pop(name, None)
        if value is not None:
            headers[name] = value
    return headers


def message_of(fields: dict[str, Any]) -> str | None:
    """An error body's message: its `message` member, else its `Message` member, if a string."""
    return next((fields[key] for key in ("message", "Message") if isinstance(fields.get(key), str)), None)
