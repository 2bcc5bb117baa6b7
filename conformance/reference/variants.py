"""Variants of the reference server: faults the suite must catch, and legal variations it must pass.

Each variant is one small, realistic change to the reference server, switched on by name
(`conformance serve --variant NAME`). A fault names the checks that must catch it; a legal
variation differs from the reference but conforms, so no check may fail against it. The score
of the suite is measured against all of them (tests/test_verdicts.py, docs/verdicts.md).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2

from conformance import cbor_codec
from conformance.reference import awsjson, rpcv2cbor
from conformance.reference.app import ReferenceApp, wire_for
from conformance.reference.awsjson import ApiError, Response
from conformance.reference.catalog import Role, Route
from conformance.reference.jobs import (
    STOP_REQUESTED,
    Clock,
    Job,
    JobNotFound,
    JobNotStoppable,
    JobStore,
    SystemClock,
    Timings,
)
from conformance.reference.server import HttpOptions
from conformance.wire import (AWS_JSON_1_1_CONTENT_TYPE, CBOR_CONTENT_TYPE, RPC_V2_CBOR, SMITHY_PROTOCOL_HEADER,
                              HttpRequest)

log = logging.getLogger(__name__)

FAMILIES = ("validation", "error typing", "answers", "protocol", "lifecycle", "warned", "legal")

AnswerFilter = Callable[[HttpRequest, Response], Response]
Intercept = Callable[[HttpRequest], Response | None]  # an answer that replaces the reference's, or None


@dataclass(frozen=True)
class Variant:
    """One named change to the reference server."""

    name: str
    family: str
    description: str
    caught_by: frozenset[str]  # checks that must fail against a fault (warn, for a warned one); empty for a legal one
    configure: Callable[[VariantApp], None]
    http: HttpOptions = HttpOptions()
    timings: Timings | None = None  # job phase durations the variant needs, if not the default

    @property
    def legal(self) -> bool:
        """Whether the variant conforms with nothing to say (the suite must pass it, without a warning)."""
        return self.family == "legal"

    @property
    def warned(self) -> bool:
        """Whether the variant conforms but departs from a SHOULD (the suite must pass it, and warn)."""
        return self.family == "warned"

    @property
    def fault(self) -> bool:
        """Whether the variant breaks a MUST (the suite must fail it)."""
        return not (self.legal or self.warned)


class VariantApp(ReferenceApp):
    """The reference app with hooks a variant fills in; unset hooks keep the reference behaviour."""

    def __init__(self, variant: Variant, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.variant = variant
        self.answer_filters: list[AnswerFilter] = []
        self.intercepts: list[Intercept] = []
        self.route_hook: Callable[[HttpRequest], Route] | None = None
        self.read_hook: Callable[[HttpRequest], dict[str, Any]] | None = None
        self.extra_checks: list[Callable[[Route, dict[str, Any]], None]] = []
        self.validate = True
        variant.configure(self)

    def handle(self, request: HttpRequest) -> Response:
        """Answer one request: an intercept's answer if one gives it, else the reference's, filtered."""
        try:
            for intercept in self.intercepts:
                # Final as it is: it stands for something other than the reference logic answering,
                # so the request has no effect on jobs and no answer filter applies.
                if (intercepted := intercept(request)) is not None:
                    return intercepted
            response = super().handle(request)  # answers a bug of its own with a 500; never raises
            for answer_filter in self.answer_filters:
                response = answer_filter(request, response)
        except Exception:  # a bug in a variant: answer like any server bug, keep the connection
            log.exception("variant %s failed on %s", self.variant.name, request.path)
            return awsjson.failure(ApiError("InternalServerException", 500, "variant failed"),
                                   awsjson.new_request_id())
        return response

    def _route(self, request: HttpRequest) -> Route:
        return self.route_hook(request) if self.route_hook else super()._route(request)

    def _read(self, request: HttpRequest) -> dict[str, Any]:
        return self.read_hook(request) if self.read_hook else super()._read(request)

    def _check_input(self, route: Route, document: dict[str, Any]) -> None:
        if self.validate:
            super()._check_input(route, document)
        for check in self.extra_checks:
            check(route, document)

    def edit_job_id(self, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Change the JobId member's schema of every operation that takes one."""
        for target, route in list(self.routes.items()):
            properties = route.operation.request.get("properties", {})
            if "JobId" not in properties:
                continue
            request = {**route.operation.request, "properties": {**properties, "JobId": edit(dict(properties["JobId"]))}}
            operation = dataclasses.replace(route.operation, request=request, _validators={})
            self.routes[target] = dataclasses.replace(route, operation=operation)


VARIANTS: dict[str, Variant] = {}


def variant(name: str, family: str, description: str, caught_by: tuple[str, ...] = (),
            http: HttpOptions | None = None, timings: Timings | None = None) -> Callable[[Callable[[VariantApp], None]], Callable[[VariantApp], None]]:
    """Register a variant's configure function under its name."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")

    def register(configure: Callable[[VariantApp], None]) -> Callable[[VariantApp], None]:
        if name in VARIANTS:
            raise ValueError(f"variant {name!r} is registered twice")
        VARIANTS[name] = Variant(name, family, description, frozenset(caught_by), configure,
                                 http or HttpOptions(), timings)
        return configure

    return register


class UnknownVariant(KeyError):
    """No variant of that name."""


def build_app(name: str, clock: Clock | None = None, timings: Timings | None = None, **kwargs: Any) -> VariantApp:
    """The app of the variant of that name, with its own job store (UnknownVariant lists the names)."""
    if name not in VARIANTS:
        raise UnknownVariant(f"no variant named {name!r} (known: {', '.join(sorted(VARIANTS))})")
    chosen = VARIANTS[name]
    store_class = _STORES.get(name, JobStore)
    jobs = store_class(clock or SystemClock(), chosen.timings or timings or Timings())
    return VariantApp(chosen, jobs=jobs, **kwargs)


# Helpers for answers ---------------------------------------------------------------------------


def _is_cbor(response: Response) -> bool:
    return "cbor" in response.headers.get("Content-Type", "")


def _document(response: Response) -> dict[str, Any]:
    """An answer's body as a map, in the answer's own protocol (JSON or CBOR)."""
    try:
        if not response.body:
            return {}
        document = cbor_codec.decode(response.body) if _is_cbor(response) else json.loads(response.body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _with_document(response: Response, document: dict[str, Any]) -> Response:
    body = cbor_codec.encode(document) if _is_cbor(response) else awsjson.encode(document)
    return dataclasses.replace(response, body=body)


def _on_errors(change: Callable[[Response, dict[str, Any]], Response]) -> AnswerFilter:
    """An answer filter that changes error answers only."""
    return lambda request, response: change(response, _document(response)) if response.status >= 400 else response


def _on_success(change: Callable[[HttpRequest, dict[str, Any]], dict[str, Any]]) -> AnswerFilter:
    """An answer filter that changes the document of 200 answers only."""
    def apply(request: HttpRequest, response: Response) -> Response:
        if response.status != 200:
            return response
        return _with_document(response, change(request, _document(response)))
    return apply


def _is_stop(request: HttpRequest) -> bool:
    return (request.header("X-Amz-Target") or "").split(".")[-1].startswith("Stop")


def _rename_error(old: str, new: str, status: int | None = None) -> AnswerFilter:
    def change(response: Response, document: dict[str, Any]) -> Response:
        if document.get("__type") != old:
            return response
        return dataclasses.replace(_with_document(response, {**document, "__type": new}),
                                   status=status or response.status)
    return _on_errors(change)


def _pattern_edit(old: str, new: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def edit(schema: dict[str, Any]) -> dict[str, Any]:
        if old not in schema["pattern"]:
            raise ValueError(f"pattern {schema['pattern']!r} has no {old!r} to change")
        return {**schema, "pattern": schema["pattern"].replace(old, new)}
    return edit


# Validation faults -----------------------------------------------------------------------------

_VALIDATION_CATCH = ("error_type", "status_code")

for _name, _text, _edit in (
    ("max_length_33", "accepts a JobId of 33 characters (length off by one at the top)",
     lambda s: {**s, "maxLength": s["maxLength"] + 1}),
    ("max_length_31", "refuses a JobId of 32 characters (length off by one at the top)",
     lambda s: {**s, "maxLength": s["maxLength"] - 1}),
    ("min_length_2", "refuses a JobId of 1 character (length off by one at the bottom)",
     lambda s: {**s, "minLength": s["minLength"] + 1}),
    ("empty_accepted", "accepts the empty JobId", lambda s: {**s, "minLength": 0}),
    ("letters_ascii_only", "reads \\p{L} as A-Z and a-z", _pattern_edit(r"\p{L}", "A-Za-z")),
    ("numbers_ascii_only", "reads \\p{N} as 0-9", _pattern_edit(r"\p{N}", "0-9")),
    ("percent_refused", "refuses '%', which the pattern allows", _pattern_edit("%", "")),
    ("bang_allowed", "allows '!', which the pattern forbids", _pattern_edit("@]", "@!]")),
    ("separators_refused", "refuses the \\p{Z} separators", _pattern_edit(r"\p{Z}", "")),
    ("marks_allowed", "allows combining marks (\\p{M})", _pattern_edit(r"\p{N}", r"\p{N}\p{M}")),
    ("symbols_allowed", "allows symbols and emoji (\\p{S})", _pattern_edit(r"\p{N}", r"\p{N}\p{S}")),
):
    variant(_name, "validation", _text, _VALIDATION_CATCH)(lambda app, edit=_edit: app.edit_job_id(edit))


def _length_in(unit: str, count: Callable[[str], int]) -> Callable[[VariantApp], None]:
    def configure(app: VariantApp) -> None:
        def check(route: Route, document: dict[str, Any]) -> None:
            value = document.get("JobId")
            limit = route.operation.request["properties"].get("JobId", {}).get("maxLength")
            if isinstance(value, str) and limit is not None and count(value) > limit:
                raise ApiError("ValidationException", 400, f"JobId is longer than {limit} {unit}")
        app.extra_checks.append(check)
    return configure


variant("length_utf8_bytes", "validation", "counts JobId length in UTF-8 bytes", _VALIDATION_CATCH)(
    _length_in("bytes", lambda text: len(text.encode("utf-8", "surrogatepass"))))
variant("length_utf16_units", "validation", "counts JobId length in UTF-16 code units", _VALIDATION_CATCH)(
    _length_in("UTF-16 units", lambda text: len(text.encode("utf-16-le", "surrogatepass")) // 2))


@variant("no_validation", "validation", "skips input validation entirely",
         ("error_type", "status_code", "no_server_error"))
def _no_validation(app: VariantApp) -> None:
    app.validate = False


@variant("null_is_a_value", "validation", "reads a null member as the string 'null'", _VALIDATION_CATCH)
def _null_is_a_value(app: VariantApp) -> None:
    def read(request: HttpRequest) -> dict[str, Any]:
        document = awsjson.decode_body(request.body)
        return {key: "null" if value is None else value for key, value in document.items()}
    app.read_hook = read


# Error-typing faults ---------------------------------------------------------------------------


@variant("pii_not_found_is_resource_not_found", "error typing",
         "Comprehend answers an unknown job with ResourceNotFoundException", ("error_type",))
def _pii_wrong_not_found(app: VariantApp) -> None:
    app.answer_filters.append(_rename_error("JobNotFoundException", "ResourceNotFoundException"))


@variant("phi_not_found_is_job_not_found", "error typing",
         "Comprehend Medical answers an unknown job with JobNotFoundException", ("error_type",))
def _phi_wrong_not_found(app: VariantApp) -> None:
    app.answer_filters.append(_rename_error("ResourceNotFoundException", "JobNotFoundException"))


@variant("not_found_403", "error typing", "answers an unknown job with status 403", ("status_code",))
def _not_found_403(app: VariantApp) -> None:
    for name in ("JobNotFoundException", "ResourceNotFoundException"):
        app.answer_filters.append(_rename_error(name, name, status=403))


@variant("client_errors_500", "error typing", "answers ValidationException with status 500",
         ("no_server_error", "status_code"))
def _client_errors_500(app: VariantApp) -> None:
    app.answer_filters.append(_rename_error("ValidationException", "ValidationException", status=500))


@variant("no_error_message", "error typing", "sends error answers without a message", ("error_message_present",))
def _no_error_message(app: VariantApp) -> None:
    app.answer_filters.append(_on_errors(lambda response, document: _with_document(
        response, {key: value for key, value in document.items() if key.lower() != "message"})))


@variant("error_type_nowhere", "error typing", "sends error answers with no error type anywhere", ("error_type",))
def _error_type_nowhere(app: VariantApp) -> None:
    app.answer_filters.append(_on_errors(lambda response, document: _with_document(
        response, {key: value for key, value in document.items() if key != "__type"})))


@variant("html_error_pages", "error typing", "sends error answers as HTML pages", ("error_type", "content_type"))
def _html_error_pages(app: VariantApp) -> None:
    def change(response: Response, document: dict[str, Any]) -> Response:
        page = f"<html><body><h1>{response.status} Error</h1><p>{document.get('Message', '')}</p></body></html>"
        headers = {**response.headers, "Content-Type": "text/html; charset=utf-8"}
        return dataclasses.replace(response, body=page.encode("utf-8", "backslashreplace"), headers=headers)
    app.answer_filters.append(_on_errors(change))


# Answer faults -----------------------------------------------------------------------------------


@variant("stop_answer_incomplete", "answers", "Stop answers leave out JobStatus (Comprehend) and JobId (Medical)",
         ("job_status_allowed", "job_id_echoed"))
def _stop_answer_incomplete(app: VariantApp) -> None:
    def change(request: HttpRequest, document: dict[str, Any]) -> dict[str, Any]:
        if not _is_stop(request):
            return document
        drop = "JobStatus" if "JobStatus" in document else "JobId"
        return {key: value for key, value in document.items() if key != drop}
    app.answer_filters.append(_on_success(change))


@variant("members_renamed", "answers", "answers name members in lowerCamel case (jobId, jobStatus)",
         ("job_id_echoed",))
def _members_renamed(app: VariantApp) -> None:
    app.answer_filters.append(_on_success(lambda request, document: {
        key[:1].lower() + key[1:]: value for key, value in document.items()}))


def _status_edit(change: Callable[[str], str]) -> Callable[[VariantApp], None]:
    def configure(app: VariantApp) -> None:
        app.answer_filters.append(_on_success(lambda request, document: {
            **document, **({"JobStatus": change(document["JobStatus"])} if "JobStatus" in document else {})}))
    return configure


variant("status_outside_enum", "answers", "answers JobStatus STOPPING, which is not in the enum",
        ("response_schema", "job_status_allowed"))(_status_edit(lambda status: "STOPPING" if status == STOP_REQUESTED else status))
variant("status_lower_case", "answers", "answers JobStatus in lower case", ("response_schema", "job_status_allowed"))(
    _status_edit(str.lower))


@variant("job_id_not_echoed", "answers", "Stop answers name another JobId than the one sent", ("job_id_echoed",))
def _job_id_not_echoed(app: VariantApp) -> None:
    app.answer_filters.append(_on_success(lambda request, document: {
        **document, **({"JobId": "0" * 32} if _is_stop(request) and "JobId" in document else {})}))


@variant("wrong_content_type", "answers", "answers with Content-Type application/json", ("content_type",))
def _wrong_content_type(app: VariantApp) -> None:
    app.answer_filters.append(lambda request, response: dataclasses.replace(
        response, headers={**response.headers, "Content-Type": "application/json"}))


@variant("no_request_id", "answers", "answers without x-amzn-RequestId", ("request_id_header",))
def _no_request_id(app: VariantApp) -> None:
    app.answer_filters.append(lambda request, response: dataclasses.replace(
        response, headers={k: v for k, v in response.headers.items() if k.lower() != "x-amzn-requestid"}))


@variant("empty_success_body", "answers", "answers 200 with an empty body", ("response_schema", "job_id_echoed"))
def _empty_success_body(app: VariantApp) -> None:
    app.answer_filters.append(lambda request, response: dataclasses.replace(response, body=b"")
                              if response.status == 200 else response)


# Protocol faults ---------------------------------------------------------------------------------


@variant("target_prefix_ignored", "protocol", "routes X-Amz-Target by operation name, whatever its prefix",
         ("error_type",))
def _target_prefix_ignored(app: VariantApp) -> None:
    by_name = {route.operation.name: route for route in app.routes.values()}

    def route(request: HttpRequest) -> Route:
        name = (request.header("X-Amz-Target") or "").strip().rsplit(".", 1)[-1]
        if name in by_name and request.method == "POST" and request.path == "/":
            return by_name[name]
        return ReferenceApp._route(app, request)
    app.route_hook = route


@variant("missing_target_is_stop", "protocol", "serves a request with no X-Amz-Target as StopPiiEntitiesDetectionJob",
         ("error_type",))
def _missing_target_is_stop(app: VariantApp) -> None:
    stops = [route for route in app.routes.values() if route.role is Role.STOP]
    default = next((route for route in stops if route.operation.name == "StopPiiEntitiesDetectionJob"), stops[0])

    def route(request: HttpRequest) -> Route:
        missing = request.path == "/" and not request.header("X-Amz-Target")
        return default if missing else ReferenceApp._route(app, request)
    app.route_hook = route


@variant("unknown_target_is_stop", "protocol", "serves an unknown operation of the service as its Stop",
         ("error_type",))
def _unknown_target_is_stop(app: VariantApp) -> None:
    stops = {route.operation.service.target_prefix: route for route in app.routes.values() if route.role is Role.STOP}

    def route(request: HttpRequest) -> Route:
        prefix, _, name = (request.header("X-Amz-Target") or "").strip().partition(".")
        known = f"{prefix}.{name}" in app.routes
        unknown = request.path == "/" and prefix in stops and name and not known
        return stops[prefix] if unknown else ReferenceApp._route(app, request)
    app.route_hook = route


@variant("unknown_operation_500", "protocol", "answers an unknown X-Amz-Target with 500",
         ("no_server_error", "status_code"))
def _unknown_operation_500(app: VariantApp) -> None:
    app.answer_filters.append(_rename_error("UnknownOperationException", "InternalServerException", status=500))


@variant("malformed_json_500", "protocol", "answers malformed JSON with 500", ("no_server_error", "status_code"))
def _malformed_json_500(app: VariantApp) -> None:
    def change(response: Response, document: dict[str, Any]) -> Response:
        if document.get("__type") != "SerializationException" or "not valid JSON" not in document.get("Message", ""):
            return response
        return dataclasses.replace(_with_document(response, {"__type": "InternalServerException", "Message": "oops"}),
                                   status=500)
    app.answer_filters.append(_on_errors(change))


@variant("everything_404", "protocol", "answers every request 404 with a text/plain 'Not Found': nothing is served",
         ("operation_served",))
def _everything_404(app: VariantApp) -> None:
    # A proxy or load balancer with no route to the service answers like this, for any request.
    app.intercepts.append(lambda request: Response(404, b"Not Found", {"Content-Type": "text/plain"}))


# moto's answer to an unsigned request: it routes by the SigV4 credential scope, so a request
# without one goes to S3, which lists the (no) buckets (PROTOCOL_NOTES §8).
_S3_LIST_BUCKETS = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01">'
    b"<Owner><ID>bcaf1ffd86f41161ca5fb16fd081034f</ID><DisplayName>webfile</DisplayName></Owner><Buckets></Buckets>"
    b"</ListAllMyBucketsResult>"
)


@variant("unsigned_answered_by_another_service", "protocol",
         "answers a request without Authorization 200 with S3's bucket list in XML, as moto does",
         ("status_code", "content_type"))
def _unsigned_answered_by_another_service(app: VariantApp) -> None:
    def intercept(request: HttpRequest) -> Response | None:
        if (request.header("Authorization") or "").strip():
            return None
        return Response(200, _S3_LIST_BUCKETS, {"Content-Type": "application/xml",
                                                "x-amzn-RequestId": awsjson.new_request_id()})
    app.intercepts.append(intercept)


# A JSON escape: `\uXXXX` (group 1) or any other, `\\` included, so that an escaped backslash
# followed by "ud800" is not taken for a surrogate escape.
_JSON_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
# The UTF-8 form of a surrogate (ED A0 80..ED BF BF), as cbor2 decodes it with surrogateescape.
_ESCAPED_SURROGATE = re.compile("\udced[\udca0-\udcbf][\udc80-\udcbf]")


def _json_lone_surrogate(body: bytes) -> bool:
    """Whether raw JSON text has a `\\ud800`-`\\udfff` escape that is not half of a pair."""
    low_due: int | None = None  # where a high surrogate's low half must begin
    for escape in _JSON_ESCAPE.finditer(body):
        unit = int(escape[1], 16) if escape[1] else -1
        if low_due is not None:
            if escape.start() == low_due and 0xDC00 <= unit <= 0xDFFF:
                low_due = None
                continue
            return True
        if 0xD800 <= unit <= 0xDBFF:
            low_due = escape.end()
        elif 0xDC00 <= unit <= 0xDFFF:
            return True
    return low_due is not None


def _cbor_lone_surrogate(body: bytes) -> bool:
    """Whether a CBOR body has a text string holding the UTF-8 form of a surrogate."""
    try:
        cbor_codec.check_item(body)  # bounded first: nested shared values would make cbor2 take gigabytes
        document = cbor2.loads(body, str_errors="surrogateescape")
    except (cbor2.CBORDecodeError, RecursionError, ValueError, OverflowError, TypeError):
        return False  # not CBOR: the worker answers that as usual
    pending: list[Any] = [document]
    seen: set[int] = set()
    while pending:  # iterative, and each container once: shared references (tag 29) may form loops
        value = pending.pop()
        if isinstance(value, str):
            if _ESCAPED_SURROGATE.search(value):
                return True
        elif isinstance(value, cbor2.CBORTag):
            pending.append(value.value)
        elif isinstance(value, (dict, list, tuple, set, frozenset)) and id(value) not in seen:
            seen.add(id(value))
            pending.extend([*value.keys(), *value.values()] if isinstance(value, dict) else value)
    return False


@variant("drops_connection_on_lone_surrogate", "protocol",
         "closes the connection without answering a body that holds a lone surrogate (the worker crashes)",
         ("answered",))
def _drops_connection_on_lone_surrogate(app: VariantApp) -> None:
    def intercept(request: HttpRequest) -> Response | None:
        lone = _cbor_lone_surrogate if rpcv2cbor.handles(request) else _json_lone_surrogate
        return Response(0, b"", drop_connection=True) if lone(request.body) else None
    app.intercepts.append(intercept)


# rpcv2Cbor faults (protocol family) -------------------------------------------------------------


def _cbor_only(change: AnswerFilter) -> AnswerFilter:
    """An answer filter for answers on the rpcv2Cbor path only."""
    return lambda request, response: change(request, response) if rpcv2cbor.handles(request) else response


@variant("json_on_cbor_path", "protocol", "answers rpcv2Cbor requests with JSON bodies",
         ("body_decodes", "content_type"))
def _json_on_cbor_path(app: VariantApp) -> None:
    def change(request: HttpRequest, response: Response) -> Response:
        headers = {**response.headers, "Content-Type": awsjson.CONTENT_TYPE}
        return dataclasses.replace(response, body=awsjson.encode(_document(response)), headers=headers)
    app.answer_filters.append(_cbor_only(change))


@variant("no_smithy_protocol_echo", "protocol", "rpcv2Cbor answers leave out Smithy-Protocol",
         ("smithy_protocol_header",))
def _no_smithy_protocol_echo(app: VariantApp) -> None:
    app.answer_filters.append(_cbor_only(lambda request, response: dataclasses.replace(
        response, headers={k: v for k, v in response.headers.items() if k.lower() != "smithy-protocol"})))


@variant("target_header_accepted_on_cbor", "protocol", "serves rpcv2Cbor requests that carry X-Amz-Target",
         ("error_type",))
def _target_header_accepted_on_cbor(app: VariantApp) -> None:
    def route(request: HttpRequest) -> Route:
        if rpcv2cbor.handles(request):
            stripped = {k: v for k, v in request.headers.items() if k.lower() not in ("x-amz-target", "x-amzn-target")}
            request = dataclasses.replace(request, headers=stripped)
        return ReferenceApp._route(app, request)
    app.route_hook = route


@variant("cbor_errors_without_type", "protocol", "rpcv2Cbor errors carry no __type", ("error_type",))
def _cbor_errors_without_type(app: VariantApp) -> None:
    def change(request: HttpRequest, response: Response) -> Response:
        if response.status < 400:
            return response
        return _with_document(response, {k: v for k, v in _document(response).items() if k != "__type"})
    app.answer_filters.append(_cbor_only(change))


_CBOR_SIZES = {24: 1, 25: 2, 26: 4, 27: 8}  # a CBOR head's additional info -> bytes of argument that follow


def _cbor_head(major: int, argument: int) -> bytes:
    """The shortest CBOR head of a major type and its argument (RFC 8949 §3), as cbor2 writes it."""
    if argument < 24:
        return bytes([major << 5 | argument])
    info, size = next((info, size) for info, size in _CBOR_SIZES.items() if argument < 1 << 8 * size)
    return bytes([major << 5 | info]) + argument.to_bytes(size, "big")


def _sharing_itself(body: bytes) -> bytes | None:
    """A definite-length CBOR map re-framed as a map that contains itself; None for anything else.

    The map is marked shareable (tag 28) and gains a member "Self" that is a shared reference
    (tag 29) to value 0, the map itself: what cbor2 writes for such a map with value_sharing=True.
    """
    if not body or body[0] >> 5 != 5 or (body[0] & 0x1F) > 27:
        return None
    size = _CBOR_SIZES.get(body[0] & 0x1F, 0)
    count = int.from_bytes(body[1:1 + size], "big") if size else body[0] & 0x1F
    members = body[1 + size:]
    return b"\xd8\x1c" + _cbor_head(5, count + 1) + members + cbor2.dumps("Self") + b"\xd8\x1d\x00"


@variant("cbor_shared_references", "protocol",
         "rpcv2Cbor answers are a map that contains itself (shared-reference tags 28 and 29)", ("body_decodes",))
def _cbor_shared_references(app: VariantApp) -> None:
    def change(request: HttpRequest, response: Response) -> Response:
        shared = _sharing_itself(response.body) if response.body else None
        return dataclasses.replace(response, body=shared) if shared is not None else response
    app.answer_filters.append(_cbor_only(change))


# Protocol requirements of the specifications (issue 11) -------------------------------------------


def _empty_input(request: HttpRequest) -> bool:
    """Whether a body reads as the empty input: no body, `{}`, or the empty CBOR map (A0 or BF FF)."""
    try:
        return wire_for(request).decode_body(request.body) == {}
    except ApiError:
        return False


def _refuse_input(when: Callable[[HttpRequest], bool], message: str) -> Callable[[VariantApp], None]:
    """A variant that answers SerializationException to the requests `when` picks, and reads the rest as usual."""
    def configure(app: VariantApp) -> None:
        def read(request: HttpRequest) -> dict[str, Any]:
            if when(request):
                raise awsjson.serialization_error(message)
            return ReferenceApp._read(app, request)
        app.read_hook = read
    return configure


def _null_member(request: HttpRequest) -> bool:
    try:
        return None in wire_for(request).decode_body(request.body).values()
    except ApiError:
        return False


variant("empty_input_serialization_error", "protocol",
        "answers an empty body or empty map SerializationException (servers MUST accept it as the empty input)",
        ("error_type",))(_refuse_input(_empty_input, "Request body is empty"))
variant("null_member_serialization_error", "protocol",
        "answers a null JobId SerializationException (a null member MUST read as absent)",
        ("error_type",))(_refuse_input(_null_member, "JobId must be a string, not null"))
variant("cbor_undefined_refused", "protocol",
        "answers CBOR undefined SerializationException (servers MUST read it as null)",
        ("error_type",))(_refuse_input(lambda request: rpcv2cbor.handles(request) and _holds_undefined(request.body),
                                       "undefined is not a value"))


def _holds_undefined(body: bytes) -> bool:
    """Whether a CBOR map body has a member whose value is undefined."""
    try:
        cbor_codec.check_item(body)  # bounded first
        document = cbor2.loads(body)
    except (cbor_codec.CborError, cbor2.CBORDecodeError, ValueError):
        return False
    return isinstance(document, dict) and any(value is cbor2.undefined for value in document.values())


@variant("cbor_bare_error_type", "protocol", "rpcv2Cbor errors name the bare error name in `__type`, not the "
         "absolute shape id", ("rpcv2_error_body",))
def _cbor_bare_error_type(app: VariantApp) -> None:
    def change(request: HttpRequest, response: Response) -> Response:
        document = _document(response)
        if response.status < 400 or not isinstance(document.get("__type"), str):
            return response
        return _with_document(response, {**document, "__type": document["__type"].rsplit("#", 1)[-1]})
    app.answer_filters.append(_cbor_only(change))


@variant("cbor_errors_without_message", "protocol", "rpcv2Cbor errors carry no message",
         ("rpcv2_error_body", "error_message_present"))
def _cbor_errors_without_message(app: VariantApp) -> None:
    def change(request: HttpRequest, response: Response) -> Response:
        if response.status < 400:
            return response
        return _with_document(response, {k: v for k, v in _document(response).items() if k.lower() != "message"})
    app.answer_filters.append(_cbor_only(change))


def _operation_segment(request: HttpRequest) -> str:
    return request.path.split("?", 1)[0].rsplit("/", 1)[-1]


@variant("absolute_operation_id_served", "protocol", "routes an rpcv2 path whose operation segment is an absolute "
         "shape id (which MUST NOT route)", ("error_type", "status_code"))
def _absolute_operation_id_served(app: VariantApp) -> None:
    def route(request: HttpRequest) -> Route:
        segment = _operation_segment(request)
        bare = segment.replace("%23", "#").rsplit("#", 1)[-1].rsplit(".", 1)[-1]
        if rpcv2cbor.handles(request) and bare != segment:
            request = dataclasses.replace(request, path=request.path[: -len(segment)] + bare)
        return ReferenceApp._route(app, request)
    app.route_hook = route


# Warned variations: they depart from a SHOULD (or from field evidence) and conform ------------------


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


@variant("unclaimed_requests_served", "warned", "serves a request without its protocol's markers (no or another "
         "Content-Type, no Smithy-Protocol, GET, another path) as the operation it names", ("spec_should",))
def _unclaimed_requests_served(app: VariantApp) -> None:
    app.route_hook = lambda request: ReferenceApp._route(app, _with_markers(request))
    app.read_hook = lambda request: ReferenceApp._read(app, _with_markers(request))


@variant("absolute_service_id_not_routed", "warned", "answers UnknownOperationException for "
         "/service/{namespace}.{Service}/... (rpcv2Cbor services SHOULD route it like the bare name)",
         ("spec_should",))
def _absolute_service_id_not_routed(app: VariantApp) -> None:
    def route(request: HttpRequest) -> Route:
        service = request.path.split("/")[2] if request.path.startswith("/service/") else ""
        if "." in service:
            raise ApiError("UnknownOperationException", 404, f"No service {service!r}")
        return ReferenceApp._route(app, request)
    app.route_hook = route


# Lifecycle faults --------------------------------------------------------------------------------

_QUICK_JOBS = Timings(queued=0.0, running=0.0, stopping=0.0)  # jobs are COMPLETED as soon as started


class _StopsEndedJobs(JobStore):
    """Stop marks any job STOP_REQUESTED, even one that has already ended."""

    def stop(self, service: str, job_id: str) -> str:
        try:
            return super().stop(service, job_id)
        except JobNotStoppable:
            return STOP_REQUESTED


class _UuidJobIds(JobStore):
    """Job ids are 36-character UUIDs (as moto makes them): longer than a JobId may be."""

    def start(self, service: str, request: dict[str, Any], arn_format: str | None = None,
              token: str | None = None) -> Job:
        job = super().start(service, request, arn_format, token)
        with self._lock:
            self._jobs.pop((service, job.job_id), None)
            job.job_id = str(uuid.uuid4())
            self._jobs[(service, job.job_id)] = job
        return job


class _LooseLookup(JobStore):
    """Finds a job by an id that is not its own, when it is `near` exactly one job's id (Stop and Describe alike)."""

    @staticmethod
    def near(sent: str, real: str) -> bool:
        """Whether the lookup takes `sent` for the job id `real`."""
        raise NotImplementedError

    def _lookup(self, service: str, job_id: str) -> Job:
        try:
            return super()._lookup(service, job_id)
        except JobNotFound:
            found = [job for (owner, real), job in self._jobs.items() if owner == service and self.near(job_id, real)]
            if len(found) != 1:
                raise
            return found[0]


class _CaseBlindLookup(_LooseLookup):
    """A JobId names the job whatever the case of its letters (a case-insensitive index)."""

    @staticmethod
    def near(sent: str, real: str) -> bool:
        """Equal once case is folded."""
        return sent.casefold() == real.casefold()


class _PrefixLookup(_LooseLookup):
    """A JobId of 8 characters or more names the one job whose id begins with it (as git does with hashes)."""

    @staticmethod
    def near(sent: str, real: str) -> bool:
        """`sent` begins `real` and is long enough to look deliberate."""
        return len(sent) >= 8 and real.startswith(sent)


_STORES: dict[str, type[JobStore]] = {}
_LOOKUP_CATCH = ("status_code", "job_status_allowed")


@variant("stop_ended_job_succeeds", "lifecycle", "stopping a COMPLETED job answers 200 STOP_REQUESTED",
         ("status_code",), timings=_QUICK_JOBS)
def _stop_ended_job_succeeds(app: VariantApp) -> None:
    pass  # the fault is in the job store (see _STORES)


@variant("stop_never_settles", "lifecycle", "a stopped job stays STOP_REQUESTED for ever", ("job_status_allowed",),
         timings=Timings(queued=0.0, running=float("inf"), stopping=float("inf")))
def _stop_never_settles(app: VariantApp) -> None:
    pass  # the fault is in the timings: the stop never takes effect


@variant("start_job_id_too_long", "lifecycle", "Start answers a 36-character JobId", ("response_schema",))
def _start_job_id_too_long(app: VariantApp) -> None:
    pass  # the fault is in the job store (see _STORES)


@variant("second_stop_reports_in_progress", "lifecycle", "stopping a job again answers JobStatus IN_PROGRESS",
         ("job_status_allowed",))
def _second_stop_reports_in_progress(app: VariantApp) -> None:
    seen: set[str] = set()
    lock = threading.Lock()

    def change(request: HttpRequest, document: dict[str, Any]) -> dict[str, Any]:
        job_id = document.get("JobId")
        if not _is_stop(request) or "JobStatus" not in document:
            return document
        with lock:
            again = job_id in seen
            seen.add(job_id)
        return {**document, "JobStatus": "IN_PROGRESS"} if again else document
    app.answer_filters.append(_on_success(change))


@variant("job_lookup_ignores_case", "lifecycle", "a JobId names the job whatever the case of its letters",
         _LOOKUP_CATCH)
def _job_lookup_ignores_case(app: VariantApp) -> None:
    pass  # the fault is in the job store (see _STORES)


@variant("job_lookup_trims", "lifecycle", "a JobId with leading or trailing white space names the job",
         _LOOKUP_CATCH)
def _job_lookup_trims(app: VariantApp) -> None:
    # Trimmed as the request is read, as a framework that trims string input does, so before the
    # length check: a store that trimmed would never see a real id with a space added (33 characters).
    def read(request: HttpRequest) -> dict[str, Any]:
        document = ReferenceApp._read(app, request)
        job_id = document.get("JobId")
        return {**document, "JobId": job_id.strip()} if isinstance(job_id, str) else document
    app.read_hook = read


@variant("job_lookup_prefix", "lifecycle", "a JobId of 8 or more characters names the one job whose id it begins",
         _LOOKUP_CATCH)
def _job_lookup_prefix(app: VariantApp) -> None:
    pass  # the fault is in the job store (see _STORES)


_STORES.update({"stop_ended_job_succeeds": _StopsEndedJobs, "start_job_id_too_long": _UuidJobIds,
                "job_lookup_ignores_case": _CaseBlindLookup, "job_lookup_prefix": _PrefixLookup})


# Legal variations --------------------------------------------------------------------------------


def _retype(change: Callable[[str], str]) -> Callable[[VariantApp], None]:
    def configure(app: VariantApp) -> None:
        app.answer_filters.append(_on_errors(lambda response, document: _with_document(
            response, {**document, "__type": change(document["__type"])}) if "__type" in document else response))
    return configure


variant("namespaced_error_type", "legal", "__type is an absolute shape id (com.amazonaws.comprehend#Name)")(
    _retype(lambda name: f"com.amazonaws.comprehend#{name}"))
variant("error_type_with_suffix", "legal", "__type carries a ':' suffix, as Coral sends it")(
    _retype(lambda name: f"{name}:http://internal.amazon.com/coral/com.amazon.coral.validate/"))


@variant("error_type_also_in_header", "legal", "the error type is also in X-Amzn-ErrorType")
def _error_type_also_in_header(app: VariantApp) -> None:
    app.answer_filters.append(_on_errors(lambda response, document: dataclasses.replace(
        response, headers={**response.headers, "X-Amzn-ErrorType": f"{document['__type']}:http://internal/"})
        if "__type" in document else response))


@variant("lower_case_message", "legal", "error messages are in `message`, not `Message`")
def _lower_case_message(app: VariantApp) -> None:
    app.answer_filters.append(_on_errors(lambda response, document: _with_document(
        response, {("message" if key == "Message" else key): value for key, value in document.items()})))


@variant("invalid_request_for_constraints", "legal", "constraint breaks answer InvalidRequestException")
def _invalid_request_for_constraints(app: VariantApp) -> None:
    app.answer_filters.append(_rename_error("ValidationException", "InvalidRequestException"))


@variant("not_found_404", "legal", "unknown jobs answer 404, as botocore's model says")
def _not_found_404(app: VariantApp) -> None:
    for name in ("JobNotFoundException", "ResourceNotFoundException"):
        app.answer_filters.append(_rename_error(name, name, status=404))


@variant("unknown_member_rejected", "legal", "an unknown request member answers 400 SerializationException")
def _unknown_member_rejected(app: VariantApp) -> None:
    def check(route: Route, document: dict[str, Any]) -> None:
        unknown = set(document) - set(route.operation.request.get("properties", {}))
        if unknown:
            raise awsjson.serialization_error(f"Unrecognized field {sorted(unknown)[0]!r}")
    app.extra_checks.append(check)


@variant("throttle_bursts", "legal", "every 25th and 26th request answers ThrottlingException")
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
        return wire_for(request).failure(throttled, awsjson.new_request_id(), "com.amazonaws.comprehend")
    app.answer_filters.append(throttle)


@variant("slow_answers", "legal", "every answer takes 20 ms", http=HttpOptions(answer_delay=0.02))
def _slow_answers(app: VariantApp) -> None:
    pass


@variant("connection_close", "legal", "every answer closes its connection", http=HttpOptions(close_every_answer=True))
def _connection_close(app: VariantApp) -> None:
    pass


@variant("chunked_answers", "legal", "answers are sent with Transfer-Encoding: chunked",
         http=HttpOptions(chunked_answers=True))
def _chunked_answers(app: VariantApp) -> None:
    pass


@variant("extra_answer_members", "legal", "answers carry members the output shapes do not have")
def _extra_answer_members(app: VariantApp) -> None:
    app.answer_filters.append(lambda request, response: _with_document(
        response, {**_document(response), "ExtraMember": {"Nested": [1, 2]}}) if response.body else response)


@variant("other_message_wording", "legal", "error messages are worded differently")
def _other_message_wording(app: VariantApp) -> None:
    app.answer_filters.append(_on_errors(lambda response, document: _with_document(
        response, {**document, "Message": f"Request rejected ({document.get('__type', 'error')})."})))


@variant("quick_jobs", "legal", "jobs complete as soon as they start, so Stop answers InvalidRequestException",
         timings=_QUICK_JOBS)
def _quick_jobs(app: VariantApp) -> None:
    pass


@variant("error_code_member", "legal", "error bodies also carry the type in `code`")
def _error_code_member(app: VariantApp) -> None:
    app.answer_filters.append(_on_errors(lambda response, document: _with_document(
        response, {**document, "code": document["__type"]}) if "__type" in document else response))


# Combined variants -------------------------------------------------------------------------------


def _combined(*names: str) -> Callable[[VariantApp], None]:
    """The configure functions of registered variants, applied in order.

    Only configure functions combine: a part with its own job store, timings or framing is refused.
    """
    for name in names:
        part = VARIANTS[name]
        if name in _STORES or part.timings is not None or part.http != HttpOptions():
            raise ValueError(f"variant {name!r} is more than a configure function: it cannot be combined")

    def configure(app: VariantApp) -> None:
        for name in names:
            VARIANTS[name].configure(app)
    return configure


# A fault behind a legal variation: a check that reads any 404 as "not found, so validated" misses it.
variant("not_found_404_max_length_33", "validation",
        "not_found_404 (legal: unknown jobs answer 404) with max_length_33 (accepts a JobId of 33 characters)",
        _VALIDATION_CATCH)(_combined("not_found_404", "max_length_33"))
