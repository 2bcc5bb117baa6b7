"""rpcv2Cbor (Smithy smithy.protocols#rpcv2Cbor) as a client speaks it (PROTOCOL_NOTES §3)."""

from __future__ import annotations

from typing import Any

from conformance.cases import ABSENT, Case, categories
from conformance.model.operations import Operation
from conformance.protocols.base import Answer, ProtocolName, message_of, sanitise_error_type, with_header_changes
from conformance.wire import cbor
from conformance.wire.http import HttpRequest, HttpResponse
from conformance.wire.protocol_facts import RPC_V2_CBOR, SMITHY_PROTOCOL_HEADER, rpcv2_path


def path_for(operation: Operation) -> str:
    """`/service/{ServiceName}/operation/{Operation}`, ServiceName being the target prefix as botocore sends it."""
    return rpcv2_path(operation.service.target_prefix, operation.name)


class RpcV2Cbor:
    """The rpcv2Cbor encoder and decoder."""

    name = ProtocolName.RPC_V2_CBOR
    content_type = cbor.CONTENT_TYPE
    error_type_locations = "the body's `__type`"
    # A lone surrogate cannot be a CBOR text string: its UTF-8 is invalid, which is the case
    # invalid.body.invalid_utf8 already sends.
    inexpressible = frozenset({categories.CHAR_LONE_SURROGATE.name})

    def encode(self, operation: Operation, case: Case) -> HttpRequest:
        """POST to the operation's path with Smithy-Protocol; the case's header changes applied last."""
        raw = case.raw_body is not None or case.document is ABSENT  # bytes no document gives, or another spelling
        body = case.raw_body if raw else cbor.encode(case.document)
        headers = {"Smithy-Protocol": cbor.SMITHY_PROTOCOL, "Accept": cbor.CONTENT_TYPE}
        if body:
            headers["Content-Type"] = cbor.CONTENT_TYPE
        return HttpRequest(case.method or "POST", case.path or path_for(operation), with_header_changes(headers, case),
                           body or b"")

    def decode(self, response: HttpResponse) -> Answer:
        """The body as CBOR (bounded: `cbor.decode` raises only CborError); the type from `__type` alone.

        An answer without `Smithy-Protocol: rpc-v2-cbor` is malformed, and a client MUST handle it on its
        status alone, with no attempt to read its body or headers (Smithy rpcv2Cbor, "Clients MUST use
        the following rules"): it is decoded that way.
        """
        if response.header(SMITHY_PROTOCOL_HEADER) != RPC_V2_CBOR:
            return Answer(response, status_only=True)
        document: Any = None
        decode_error = None
        if response.body:
            try:
                document = cbor.decode(response.body)
            except cbor.CborError as exc:
                decode_error = f"body is {exc}"
        if response.status < 400:
            return Answer(response, document, decode_error)
        fields = document if isinstance(document, dict) else {}
        raw_type = fields.get("__type")
        error_type = (sanitise_error_type(raw_type) or None) if isinstance(raw_type, str) else None
        return Answer(response, document, decode_error, error_type, "__type" if error_type else None, error_type,
                      message_of(fields))


PROTOCOL = RpcV2Cbor()
