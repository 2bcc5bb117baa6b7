"""Warned variations: they depart from a SHOULD (or from field evidence) and conform."""

from __future__ import annotations

import dataclasses

from conformance.reference.answers import ApiError
from conformance.reference.catalog import Route
from conformance.reference.variants.core import Family, RouteStep, VariantApp, variant
from conformance.wire.http import HttpRequest
from conformance.wire.protocol_facts import (
    AWS_JSON_1_1_CONTENT_TYPE,
    CBOR_CONTENT_TYPE,
    RPC_V2_CBOR,
    SMITHY_PROTOCOL_HEADER,
)


def _with_markers(request: HttpRequest) -> HttpRequest:
    """The request as its protocol would claim it: POST, its Content-Type (and Smithy-Protocol), its path form."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-type", "smithy-protocol")}
    if request.path.startswith("/service/"):
        path = "/".join(request.path.split("?", 1)[0].split("/")[:5])  # /service/S/operation/O
        headers[SMITHY_PROTOCOL_HEADER] = RPC_V2_CBOR
        if request.body:
            headers["Content-Type"] = CBOR_CONTENT_TYPE
    else:
        path = "/"
        headers["Content-Type"] = AWS_JSON_1_1_CONTENT_TYPE
    return dataclasses.replace(request, method="POST", path=path, headers=headers)


@variant("unclaimed_requests_served", Family.WARNED, "serves a request without its protocol's markers (no or another "
         "Content-Type, no Smithy-Protocol, GET, another path) as the operation it names", ("spec_should",))
def _unclaimed_requests_served(app: VariantApp) -> None:
    app.route_hook = lambda request, default: default(_with_markers(request))
    app.read_hook = lambda request, default: default(_with_markers(request))


@variant("absolute_service_id_not_routed", Family.WARNED, "answers UnknownOperationException for "
         "/service/{namespace}.{Service}/... (rpcv2Cbor services SHOULD route it like the bare name)",
         ("spec_should",))
def _absolute_service_id_not_routed(app: VariantApp) -> None:
    def route(request: HttpRequest, default: RouteStep) -> Route:
        service = request.path.split("/")[2] if request.path.startswith("/service/") else ""
        if "." in service:
            raise ApiError("UnknownOperationException", 404, f"No service {service!r}")
        return default(request)
    app.route_hook = route


