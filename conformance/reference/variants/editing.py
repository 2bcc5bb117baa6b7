"""Helpers that change an answer: its document in its own protocol, error answers only, success answers only."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from conformance.reference.answers import Response
from conformance.reference.protocols import AWS_JSON
from conformance.reference.variants.core import AnswerFilter
from conformance.wire import cbor
from conformance.wire.http import HttpRequest


def is_cbor(response: Response) -> bool:
    return "cbor" in response.headers.get("Content-Type", "")


def document_of(response: Response) -> dict[str, Any]:
    """An answer's body as a map, in the answer's own protocol (JSON or CBOR)."""
    try:
        if not response.body:
            return {}
        document = cbor.decode(response.body) if is_cbor(response) else json.loads(response.body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def with_document(response: Response, document: dict[str, Any]) -> Response:
    body = cbor.encode(document) if is_cbor(response) else AWS_JSON.encode(document)
    return dataclasses.replace(response, body=body)


def on_errors(change: Callable[[Response, dict[str, Any]], Response]) -> AnswerFilter:
    """An answer filter that changes error answers only."""
    return lambda request, response: change(response, document_of(response)) if response.status >= 400 else response


def on_success(change: Callable[[HttpRequest, dict[str, Any]], dict[str, Any]]) -> AnswerFilter:
    """An answer filter that changes the document of 200 answers only."""
    def apply(request: HttpRequest, response: Response) -> Response:
        if response.status != 200:
            return response
        return with_document(response, change(request, document_of(response)))
    return apply


def is_stop(request: HttpRequest) -> bool:
    return (request.header("X-Amz-Target") or "").split(".")[-1].startswith("Stop")


def rename_error(old: str, new: str, status: int | None = None) -> AnswerFilter:
    def change(response: Response, document: dict[str, Any]) -> Response:
        if document.get("__type") != old:
            return response
        return dataclasses.replace(with_document(response, {**document, "__type": new}),
                                   status=status or response.status)
    return on_errors(change)


def pattern_edit(old: str, new: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def edit(schema: dict[str, Any]) -> dict[str, Any]:
        if old not in schema["pattern"]:
            raise ValueError(f"pattern {schema['pattern']!r} has no {old!r} to change")
        return {**schema, "pattern": schema["pattern"].replace(old, new)}
    return edit


