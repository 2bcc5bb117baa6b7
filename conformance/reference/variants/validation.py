"""Validation faults: the JobId's constraints read wrongly, or not checked at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.reference.answers import ApiError
from conformance.reference.catalog import Route
from conformance.reference.protocols import AWS_JSON
from conformance.reference.variants.core import Family, ReadStep, VariantApp, variant
from conformance.reference.variants.editing import pattern_edit
from conformance.wire.http import HttpRequest

VALIDATION_CATCH = ("error_type", "status_code")

for _name, _text, _edit in (
    ("max_length_33", "accepts a JobId of 33 characters (length off by one at the top)",
     lambda s: {**s, "maxLength": s["maxLength"] + 1}),
    ("max_length_31", "refuses a JobId of 32 characters (length off by one at the top)",
     lambda s: {**s, "maxLength": s["maxLength"] - 1}),
    ("min_length_2", "refuses a JobId of 1 character (length off by one at the bottom)",
     lambda s: {**s, "minLength": s["minLength"] + 1}),
    ("empty_accepted", "accepts the empty JobId", lambda s: {**s, "minLength": 0}),
    ("letters_ascii_only", "reads \\p{L} as A-Z and a-z", pattern_edit(r"\p{L}", "A-Za-z")),
    ("numbers_ascii_only", "reads \\p{N} as 0-9", pattern_edit(r"\p{N}", "0-9")),
    ("percent_refused", "refuses '%', which the pattern allows", pattern_edit("%", "")),
    ("bang_allowed", "allows '!', which the pattern forbids", pattern_edit("@]", "@!]")),
    ("separators_refused", "refuses the \\p{Z} separators", pattern_edit(r"\p{Z}", "")),
    ("marks_allowed", "allows combining marks (\\p{M})", pattern_edit(r"\p{N}", r"\p{N}\p{M}")),
    ("symbols_allowed", "allows symbols and emoji (\\p{S})", pattern_edit(r"\p{N}", r"\p{N}\p{S}")),
):
    variant(_name, Family.VALIDATION, _text, VALIDATION_CATCH)(lambda app, edit=_edit: app.edit_job_id(edit))


def _length_in(unit: str, count: Callable[[str], int]) -> Callable[[VariantApp], None]:
    def configure(app: VariantApp) -> None:
        def check(route: Route, document: dict[str, Any]) -> None:
            value = document.get("JobId")
            limit = route.operation.request["properties"].get("JobId", {}).get("maxLength")
            if isinstance(value, str) and limit is not None and count(value) > limit:
                raise ApiError("ValidationException", 400, f"JobId is longer than {limit} {unit}")
        app.extra_checks.append(check)
    return configure


variant("length_utf8_bytes", Family.VALIDATION, "counts JobId length in UTF-8 bytes", VALIDATION_CATCH)(
    _length_in("bytes", lambda text: len(text.encode("utf-8", "surrogatepass"))))
variant("length_utf16_units", Family.VALIDATION, "counts JobId length in UTF-16 code units", VALIDATION_CATCH)(
    _length_in("UTF-16 units", lambda text: len(text.encode("utf-16-le", "surrogatepass")) // 2))


@variant("no_validation", Family.VALIDATION, "skips input validation entirely",
         ("error_type", "status_code", "no_server_error"))
def _no_validation(app: VariantApp) -> None:
    app.validate = False


@variant("null_is_a_value", Family.VALIDATION, "reads a null member as the string 'null'", VALIDATION_CATCH)
def _null_is_a_value(app: VariantApp) -> None:
    def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        document = AWS_JSON.decode_body(request.body)
        return {key: "null" if value is None else value for key, value in document.items()}
    app.read_hook = read


