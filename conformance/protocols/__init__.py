"""Wire protocols: each an encoder/decoder pair behind one small interface.

A protocol turns a `Case` into an `HttpRequest` and an `HttpResponse` into an `Answer` (resolving the
error type its own way): wire only. The cases only it can express live in `conformance.strategies`.
"""

from __future__ import annotations

from typing import Protocol as _Protocol

from conformance.cases import Case
from conformance.model import Operation
from conformance.wire import Answer, HttpRequest, HttpResponse


class WireProtocol(_Protocol):
    """What every protocol module provides."""

    name: str
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


class UnsupportedProtocol(ValueError):
    """No protocol module of that name."""


SUPPORTED = ("awsJson1_1", "rpcv2Cbor")


def get_protocol(name: str) -> WireProtocol:
    """The protocol of that Smithy name; UnsupportedProtocol names the ones there are."""
    from conformance.protocols import awsjson, rpcv2cbor

    known: dict[str, WireProtocol] = {p.name: p for p in (awsjson.PROTOCOL, rpcv2cbor.PROTOCOL)}
    if name not in known:
        raise UnsupportedProtocol(f"protocol {name!r} is not supported (supported: {', '.join(sorted(known))})")
    return known[name]
