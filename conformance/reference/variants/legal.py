"""Legal variations: answers that differ from the reference's and conform; the suite must pass each."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from conformance.reference.answers import (
    ApiError,
    Response,
    new_request_id,
    serialization_error,
)
from conformance.reference.catalog import Route
from conformance.reference.protocols import RPC_V2, protocol_for
from conformance.reference.server import HttpOptions
from conformance.reference.variants.core import Family, Variant, VariantApp, register, variant
from conformance.reference.variants.editing import (
    document_of,
    on_errors,
    rename_error,
    with_document,
)
from conformance.reference.variants.lifecycle import QUICK_JOBS
from conformance.wire.http import HttpRequest


def _retype(change: Callable[[str], str]) -> Callable[[VariantApp], None]:
    def configure(app: VariantApp) -> None:
        app.answer_filters.append(on_errors(lambda response, document: with_document(
            response, {**document, "__type": change(document["__type"])}) if "__type" in document else response))
    return configure


variant("namespaced_error_type", Family.LEGAL, "__type is an absolute shape id (com.amazonaws.comprehend#Name)")(
    _retype(lambda name: f"com.amazonaws.comprehend#{name}"))
variant("error_type_with_suffix", Family.LEGAL, "__type carries a ':' suffix, as Coral sends it")(
    _retype(lambda name: f"{name}:http://internal.amazon.com/coral/com.amazon.coral.validate/"))


@variant("error_type_also_in_header", Family.LEGAL, "the error type is also in X-Amzn-ErrorType")
def _error_type_also_in_header(app: VariantApp) -> None:
    app.answer_filters.append(on_errors(lambda response, document: dataclasses.replace(
        response, headers={**response.headers, "X-Amzn-ErrorType": f"{document['__type']}:http://internal/"})
        if "__type" in document else response))


@variant("lower_case_message", Family.LEGAL, "error messages are in `message`, not `Message`")
def _lower_case_message(app: VariantApp) -> None:
    app.answer_filters.append(on_errors(lambda response, document: with_document(
        response, {("message" if key == "Message" else key): value for key, value in document.items()})))


@variant("invalid_request_for_constraints", Family.LEGAL, "constraint breaks answer InvalidRequestException")
def _invalid_request_for_constraints(app: VariantApp) -> None:
    app.answer_filters.append(rename_error("ValidationException", "InvalidRequestException"))


@variant("not_found_404", Family.LEGAL, "unknown jobs answer 404, as botocore's model says")
def _not_found_404(app: VariantApp) -> None:
    for name in ("JobNotFoundException", "ResourceNotFoundException"):
        app.answer_filters.append(rename_error(name, name, status=404))


@variant("unknown_member_rejected", Family.LEGAL, "an unknown request member answers 400 SerializationException")
def _unknown_member_rejected(app: VariantApp) -> None:
    def check(route: Route, document: dict[str, Any]) -> None:
        unknown = set(document) - set(route.operation.request.get("properties", {}))
        if unknown:
            raise serialization_error(f"Unrecognized field {sorted(unknown)[0]!r}")
    app.extra_checks.append(check)


@variant("throttle_bursts", Family.LEGAL, "every 25th and 26th request answers ThrottlingException")
def _throttle_bursts(app: VariantApp) -> None:
    counter = {"n": 0}
    lock = threading.Lock()

    def throttle(request: HttpRequest, response: Response) -> Response:
        with lock:
            counter["n"] += 1
            burst = counter["n"] % 25 in (0, 1)
        if not burst:
            return response
        throttled = ApiError("ThrottlingException", 400, "Rate exceeded")
        return protocol_for(request).failure(throttled, new_request_id(), "com.amazonaws.comprehend")
    app.answer_filters.append(throttle)


@variant("slow_answers", Family.LEGAL, "every answer takes 20 ms", http=HttpOptions(answer_delay=0.02))
def _slow_answers(app: VariantApp) -> None:
    pass


@variant("connection_close", Family.LEGAL, "every answer closes its connection", http=HttpOptions(close_every_answer=True))
def _connection_close(app: VariantApp) -> None:
    pass


@variant("chunked_answers", Family.LEGAL, "answers are sent with Transfer-Encoding: chunked",
         http=HttpOptions(chunked_answers=True))
def _chunked_answers(app: VariantApp) -> None:
    pass


@variant("extra_answer_members", Family.LEGAL, "answers carry members the output shapes do not have")
def _extra_answer_members(app: VariantApp) -> None:
    app.answer_filters.append(lambda request, response: with_document(
        response, {**document_of(response), "ExtraMember": {"Nested": [1, 2]}}) if response.body else response)


@variant("other_message_wording", Family.LEGAL, "error messages are worded differently")
def _other_message_wording(app: VariantApp) -> None:
    app.answer_filters.append(on_errors(lambda response, document: with_document(
        response, {**document, "Message": f"Request rejected ({document.get('__type', 'error')})."})))


@variant("quick_jobs", Family.LEGAL, "jobs complete as soon as they start, so Stop answers InvalidRequestException",
         timings=QUICK_JOBS)
def _quick_jobs(app: VariantApp) -> None:
    pass


@variant("error_code_member", Family.LEGAL, "error bodies also carry the type in `code`")
def _error_code_member(app: VariantApp) -> None:
    app.answer_filters.append(on_errors(lambda response, document: with_document(
        response, {**document, "code": document["__type"]}) if "__type" in document else response))




def _named_service_scope(app: VariantApp) -> None:
    """Scope the signature to the service a request names (its X-Amz-Target prefix, or its rpcv2 path's service
    segment), known or not, before routing: as a front end serving several services does."""
    signing_names = {route.operation.service.target_prefix: route.operation.service.signing_name
                     for route in app.routes.values()}

    def scope(request: HttpRequest, route: Route | None) -> set[str]:
        if RPC_V2.handles(request):
            segments = request.path.split("?", 1)[0].split("/")
            named = segments[2].rsplit(".", 1)[-1] if len(segments) > 2 else ""
        else:
            named = (request.header("X-Amz-Target") or "").strip().partition(".")[0]
        return {signing_names[named]} if named in signing_names else set()
    app.scope_hook = scope


# A front end that serves several services authenticates a request by the service it names, before routing it
# (PROTOCOL_NOTES §7): a request naming another service's target or path, or none, gets an authentication error.
register(Variant("authenticates_by_named_service", Family.LEGAL,
                 "enforces SigV4, scoping a signature to the service the request names before routing it",
                 configure=_named_service_scope, enforce_sigv4=True))
