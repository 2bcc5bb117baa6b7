"""What the reference server answers, whatever the protocol: an error to raise, an answer ready for the wire."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field


class ApiError(Exception):
    """An error answer: its type (the `__type`), HTTP status, message, and any headers it adds (Retry-After)."""

    def __init__(self, error_type: str, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.error_type, self.status, self.message = error_type, status, message
        self.headers = dict(headers or {})


def serialization_error(message: str) -> ApiError:
    """400 SerializationException: the body could not be read as the operation's input."""
    return ApiError("SerializationException", 400, message)


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
