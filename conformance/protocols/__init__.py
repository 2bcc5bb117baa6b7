"""Wire protocols as a client speaks them: each an encoder/decoder pair behind one small interface.

A protocol turns a `Case` into an `HttpRequest` and an `HttpResponse` into an `Answer` (resolving the
error type its own way): wire only. The cases only it can express live in `conformance.generation`.
"""

from __future__ import annotations

from conformance.protocols.base import Answer, ProtocolName, WireProtocol, sanitise_error_type

__all__ = ["SUPPORTED", "Answer", "ProtocolName", "UnsupportedProtocol", "WireProtocol", "get_protocol",
           "sanitise_error_type"]


class UnsupportedProtocol(ValueError):
    """No protocol of that name."""


SUPPORTED = tuple(ProtocolName)


def get_protocol(name: str) -> WireProtocol:
    """The protocol of that Smithy name; UnsupportedProtocol names the ones there are."""
    from conformance.protocols import awsjson, rpcv2cbor

    known: dict[str, WireProtocol] = {p.name: p for p in (awsjson.PROTOCOL, rpcv2cbor.PROTOCOL)}
    if name not in known:
        raise UnsupportedProtocol(f"protocol {name!r} is not supported (supported: {', '.join(sorted(known))})")
    return known[name]
