"""Error-typing faults: the wrong error type or status, no message, no type at all."""

from __future__ import annotations

import dataclasses
from typing import Any

from conformance.reference.answers import Response
from conformance.reference.variants.core import Family, VariantApp, variant
from conformance.reference.variants.editing import (
    on_errors,
    rename_error,
    with_document,
)


@variant("pii_not_found_is_resource_not_found", Family.ERROR_TYPING,
         "Comprehend answers an unknown job with ResourceNotFoundException", ("error_type",))
def _pii_wrong_not_found(app: VariantApp) -> None:
    app.answer_filters.append(rename_error("JobNotFoundException", "ResourceNotFoundException"))


@variant("phi_not_found_is_job_not_found", Family.ERROR_TYPING,
         "Comprehend Medical answers an unknown job with JobNotFoundException", ("error_type",))
def _phi_wrong_not_found(app: VariantApp) -> None:
    app.answer_filters.append(rename_error("ResourceNotFoundException", "JobNotFoundException"))


@variant("not_found_403", Family.ERROR_TYPING, "answers an unknown job with status 403", ("status_code",))
def _not_found_403(app: VariantApp) -> None:
    for name in ("JobNotFoundException", "ResourceNotFoundException"):
        app.answer_filters.append(rename_error(name, name, status=403))


@variant("client_errors_500", Family.ERROR_TYPING, "answers ValidationException with status 500",
         ("no_server_error", "status_code"))
def _client_errors_500(app: VariantApp) -> None:
    app.answer_filters.append(rename_error("ValidationException", "ValidationException", status=500))


@variant("no_error_message", Family.ERROR_TYPING, "sends error answers without a message", ("error_message_present",))
def _no_error_message(app: VariantApp) -> None:
    app.answer_filters.append(on_errors(lambda response, document: with_document(
        response, {key: value for key, value in document.items() if key.lower() != "message"})))


@variant("error_type_nowhere", Family.ERROR_TYPING, "sends error answers with no error type anywhere", ("error_type",))
def _error_type_nowhere(app: VariantApp) -> None:
    app.answer_filters.append(on_errors(lambda response, document: with_document(
        response, {key: value for key, value in document.items() if key != "__type"})))


@variant("html_error_pages", Family.ERROR_TYPING, "sends error answers as HTML pages", ("error_type", "content_type"))
def _html_error_pages(app: VariantApp) -> None:
    def change(response: Response, document: dict[str, Any]) -> Response:
        page = f"<html><body><h1>{response.status} Error</h1><p>{document.get('Message', '')}</p></body></html>"
        headers = {**response.headers, "Content-Type": "text/html; charset=utf-8"}
        return dataclasses.replace(response, body=page.encode("utf-8", "backslashreplace"), headers=headers)
    app.answer_filters.append(on_errors(change))


