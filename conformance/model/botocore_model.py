"""botocore's service models, read as this project's operation model.

botocore ships the models the SDKs are generated from. They supply what the API reference pages
omit (target prefix, signing name, wire protocols) and the shapes of operations with no seed page.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.exceptions
import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

from conformance.model.operations import ErrorSpec, Operation, ServiceMeta


class BotocoreModelError(LookupError):
    """botocore has no model for the service or operation asked for."""


# botocore's protocol names, as Smithy names them.
_SMITHY_PROTOCOLS = {
    "smithy-rpc-v2-cbor": "rpcv2Cbor",
    "rest-json": "restJson1",
    "rest-xml": "restXml",
    "query": "awsQuery",
    "ec2": "ec2Query",
}


@functools.cache
def _session() -> botocore.session.Session:
    """One botocore session for every model: a session, and the scan of botocore's data that its loader does
    once, cost more than loading a model."""
    return botocore.session.get_session()


@functools.cache
def service_model(service_name: str) -> ServiceModel:
    """botocore's model of a service, loaded once."""
    try:
        return _session().get_service_model(service_name)
    except botocore.exceptions.UnknownServiceError:
        raise BotocoreModelError(f"botocore has no service named {service_name!r}") from None


def smithy_protocol(botocore_name: str, json_version: str = "1.0") -> str:
    """The Smithy name of a botocore protocol name ("json" depends on the model's jsonVersion)."""
    if botocore_name == "json":
        return "awsJson" + json_version.replace(".", "_")
    return _SMITHY_PROTOCOLS.get(botocore_name, botocore_name)


def sdk_protocol(protocols: tuple[str, ...]) -> str | None:
    """Of a service's protocols (Smithy names), the one botocore sends: the first in its own priority order."""
    from botocore.utils import PRIORITY_ORDERED_SUPPORTED_PROTOCOLS

    def botocore_name(smithy: str) -> str:
        if smithy.startswith("awsJson"):
            return "json"
        return next((name for name, known in _SMITHY_PROTOCOLS.items() if known == smithy), smithy)

    by_botocore_name = {botocore_name(smithy): smithy for smithy in protocols}
    return next((by_botocore_name[name] for name in PRIORITY_ORDERED_SUPPORTED_PROTOCOLS if name in by_botocore_name),
                None)


def service_meta(service_name: str) -> ServiceMeta:
    """The wire identity of a service from botocore's metadata."""
    meta = service_model(service_name).metadata
    json_version = meta.get("jsonVersion", "1.0")
    protocols = meta.get("protocols") or [meta["protocol"]]
    return ServiceMeta(
        name=service_name,
        service_id=meta["serviceId"],
        full_name=meta["serviceFullName"],
        api_version=meta["apiVersion"],
        uid=meta.get("uid", f"{meta['endpointPrefix']}-{meta['apiVersion']}"),
        target_prefix=meta.get("targetPrefix", ""),
        signing_name=meta.get("signingName", meta["endpointPrefix"]),
        endpoint_prefix=meta["endpointPrefix"],
        protocols=tuple(smithy_protocol(name, json_version) for name in protocols),
    )


def service_name_for_uid(uid: str) -> str:
    """botocore's service name for an API uid such as `comprehend-2017-11-27`."""
    name = uid.rsplit("-", 3)[0]
    try:
        known = service_model(name).metadata.get("uid") == uid
    except BotocoreModelError:
        known = False
    if not known:
        raise BotocoreModelError(f"botocore has no service with uid {uid!r}")
    return name


def shape_schema(shape: Shape | None) -> dict[str, Any]:
    """JSON Schema 2020-12 for a botocore shape, with the constraints Smithy traits put on it."""
    if shape is None:
        return {"type": "object"}
    meta = shape.metadata
    kind = shape.type_name
    if kind == "string":
        schema: dict[str, Any] = {"type": "string"}
        if "enum" in meta:
            schema["enum"] = list(meta["enum"])
        _copy(meta, schema, min="minLength", max="maxLength", pattern="pattern")
    elif kind in ("integer", "long"):
        schema = {"type": "integer"}
        _copy(meta, schema, min="minimum", max="maximum")
    elif kind in ("float", "double"):
        schema = {"type": "number"}
        _copy(meta, schema, min="minimum", max="maximum")
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "timestamp":
        # awsJson sends epoch seconds; rpcv2Cbor the same number under tag 1, which the mark says.
        schema = {"type": "number", "x-timestamp": True}
    elif kind == "blob":
        schema = {"type": "string", "contentEncoding": "base64"}
    elif kind == "list":
        schema = {"type": "array", "items": shape_schema(shape.member)}
        _copy(meta, schema, min="minItems", max="maxItems")
    elif kind == "map":
        schema = {"type": "object", "additionalProperties": shape_schema(shape.value)}
        _copy(meta, schema, min="minProperties", max="maxProperties")
    elif kind == "structure":
        schema = {
            "type": "object",
            "properties": {name: shape_schema(member) for name, member in shape.members.items()},
        }
        if shape.required_members:
            schema["required"] = sorted(shape.required_members)
    else:
        raise BotocoreModelError(f"shape {shape.name!r} has a type this project does not map: {kind!r}")
    return schema


def _copy(meta: dict[str, Any], schema: dict[str, Any], **names: str) -> None:
    for model_key, schema_key in names.items():
        if model_key in meta:
            schema[schema_key] = meta[model_key]


def error_status(shape: Shape) -> int:
    """The HTTP status of an error shape: its httpError trait, else 500 for a fault, 400 otherwise."""
    status = shape.metadata.get("error", {}).get("httpStatusCode")
    if status is not None:
        return int(status)
    return 500 if shape.metadata.get("fault") else 400


def operation(service_name: str, operation_name: str) -> Operation:
    """An operation as botocore models it, in this project's operation model."""
    model = service_model(service_name)
    try:
        op_model: OperationModel = model.operation_model(operation_name)
    except botocore.exceptions.OperationNotFoundError:
        raise BotocoreModelError(f"botocore's {service_name!r} has no operation {operation_name!r}") from None
    return Operation(
        name=operation_name,
        service=service_meta(service_name),
        request=shape_schema(op_model.input_shape),
        response=shape_schema(op_model.output_shape),
        errors=tuple(sorted((ErrorSpec(e.name, error_status(e)) for e in op_model.error_shapes), key=lambda e: e.name)),
        source=f"botocore:{service_name}",
    )


def drift(documented: Operation) -> list[str]:
    """Where a doc-derived operation and botocore's model of it disagree, one line per difference."""
    model = operation(documented.service.name, documented.name)
    differences: list[str] = []
    for part in ("request", "response"):
        _compare(getattr(documented, part), getattr(model, part), f"{documented.name}.{part}", differences)
    documented_errors = {error.name: error.http_status for error in documented.errors}
    model_errors = {error.name: error.http_status for error in model.errors}
    for name in sorted(documented_errors.keys() | model_errors.keys()):
        in_docs, in_model = documented_errors.get(name, "absent"), model_errors.get(name, "absent")
        if in_docs != in_model:
            differences.append(f"{documented.name}.errors.{name}.httpStatus: docs {in_docs}, botocore {in_model}")
    return differences


def _compare(documented: Any, model: Any, path: str, out: list[str]) -> None:
    if isinstance(documented, dict) and isinstance(model, dict):
        for key in sorted(documented.keys() | model.keys()):
            if key not in documented or key not in model:
                shown_docs = repr(documented[key]) if key in documented else "absent"
                shown_model = repr(model[key]) if key in model else "absent"
                out.append(f"{path}.{key}: docs {shown_docs}, botocore {shown_model}")
            else:
                _compare(documented[key], model[key], f"{path}.{key}", out)
    elif documented != model:
        out.append(f"{path}: docs {documented!r}, botocore {model!r}")
