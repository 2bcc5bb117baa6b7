"""HTTP requests and answers as plain data, shared by protocols, transport, reports and the reference server."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

MAX_SHOWN_CHARS = 512  # a value a target supplied, in a message or report: longer ones are clipped


def clipped(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """A target-supplied text fit to copy into a message or report: at most `limit` characters, and when cut,
    its full length and a digest, so that two long values can still be told apart."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[:limit]}... ({len(text)} characters, sha256 {digest})"


def media_type(content_type: str | None) -> str:
    """A Content-Type's `type/subtype`, lower-cased and without parameters; '' when there is none.

    RFC 9110 §8.3.1: type and subtype are case-insensitive, and parameters such as `charset` follow a `;`.
    """
    return (content_type or "").split(";", 1)[0].strip().lower()


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
