"""Answer faults: success answers that leave out, rename or misreport members; headers left out."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from conformance.reference.job_store import STOP_REQUESTED
from conformance.reference.variants.core import Family, VariantApp, variant
from conformance.reference.variants.editing import is_stop, on_success
from conformance.wire.http import HttpRequest


@variant("stop_answer_incomplete", Family.ANSWERS, "Stop answers leave out JobStatus (Comprehend) and JobId (Medical)",
         ("job_status_allowed", "job_id_echoed"))
def _stop_answer_incomplete(app: VariantApp) -> None:
    def change(request: HttpRequest, document: dict[str, Any]) -> dict[str, Any]:
        if not is_stop(request):
            return document
        drop = "JobStatus" if "JobStatus" in document else "JobId"
        return {key: value for key, value in document.items() if key != drop}
    app.answer_filters.append(on_success(change))


@variant("members_renamed", Family.ANSWERS, "answers name members in lowerCamel case (jobId, jobStatus)",
         ("job_id_echoed",))
def _members_renamed(app: VariantApp) -> None:
    app.answer_filters.append(on_success(lambda request, document: {
        key[:1].lower() + key[1:]: value for key, value in document.items()}))


def _status_edit(change: Callable[[str], str]) -> Callable[[VariantApp], None]:
    def configure(app: VariantApp) -> None:
        app.answer_filters.append(on_success(lambda request, document: {
            **document, **({"JobStatus": change(document["JobStatus"])} if "JobStatus" in document else {})}))
    return configure


variant("status_outside_enum", Family.ANSWERS, "answers JobStatus STOPPING, which is not in the enum",
        ("response_schema", "job_status_allowed"))(_status_edit(lambda status: "STOPPING" if status == STOP_REQUESTED else status))
variant("status_lower_case", Family.ANSWERS, "answers JobStatus in lower case", ("response_schema", "job_status_allowed"))(
    _status_edit(str.lower))


@variant("job_id_not_echoed", Family.ANSWERS, "Stop answers name another JobId than the one sent", ("job_id_echoed",))
def _job_id_not_echoed(app: VariantApp) -> None:
    app.answer_filters.append(on_success(lambda request, document: {
        **document, **({"JobId": "0" * 32} if is_stop(request) and "JobId" in document else {})}))


@variant("wrong_content_type", Family.ANSWERS, "answers with Content-Type application/json", ("content_type",))
def _wrong_content_type(app: VariantApp) -> None:
    app.answer_filters.append(lambda request, response: dataclasses.replace(
        response, headers={**response.headers, "Content-Type": "application/json"}))


@variant("no_request_id", Family.ANSWERS, "answers without x-amzn-RequestId", ("request_id_header",))
def _no_request_id(app: VariantApp) -> None:
    app.answer_filters.append(lambda request, response: dataclasses.replace(
        response, headers={k: v for k, v in response.headers.items() if k.lower() != "x-amzn-requestid"}))


@variant("empty_success_body", Family.ANSWERS, "answers 200 with an empty body", ("response_schema", "job_id_echoed"))
def _empty_success_body(app: VariantApp) -> None:
    app.answer_filters.append(lambda request, response: dataclasses.replace(response, body=b"")
                              if response.status == 200 else response)


