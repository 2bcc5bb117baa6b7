"""The operation model: one operation's request and response schemas, errors and service metadata.

Everything downstream (strategies, protocols, the reference server) reads operations through this
module. A schema document on disk is the serialised form of one `Operation`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from conformance.model.validation import validator_for
from conformance.wire.protocol_facts import aws_namespace

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_SUFFIX = ".json"


class SchemaDocumentError(ValueError):
    """A schema document on disk is missing, unreadable or not in the expected layout."""


@dataclass(frozen=True)
class ServiceMeta:
    """What identifies a service on the wire; the API reference pages do not state it."""

    name: str  # botocore's service name, e.g. "comprehend"
    service_id: str
    full_name: str
    api_version: str
    uid: str
    target_prefix: str
    signing_name: str
    endpoint_prefix: str
    protocols: tuple[str, ...]  # Smithy protocol names, the model's preferred first

    @property
    def namespace(self) -> str:
        """The Smithy namespace of the service's shapes (absolute shape ids: `{namespace}#{Name}`)."""
        return aws_namespace(self.name)

    def to_json(self) -> dict[str, Any]:
        """The metadata as it stands in a schema document."""
        return {
            "name": self.name,
            "serviceId": self.service_id,
            "fullName": self.full_name,
            "apiVersion": self.api_version,
            "uid": self.uid,
            "targetPrefix": self.target_prefix,
            "signingName": self.signing_name,
            "endpointPrefix": self.endpoint_prefix,
            "protocols": list(self.protocols),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServiceMeta:
        """Read metadata written by `to_json`."""
        return cls(
            name=data["name"],
            service_id=data["serviceId"],
            full_name=data["fullName"],
            api_version=data["apiVersion"],
            uid=data["uid"],
            target_prefix=data["targetPrefix"],
            signing_name=data["signingName"],
            endpoint_prefix=data["endpointPrefix"],
            protocols=tuple(data["protocols"]),
        )


@dataclass(frozen=True)
class ErrorSpec:
    """One declared error of an operation."""

    name: str
    http_status: int


@dataclass(frozen=True)
class Operation:
    """One operation: schemas for its request and response bodies, its errors, its service."""

    name: str
    service: ServiceMeta
    request: Mapping[str, Any]
    response: Mapping[str, Any]
    errors: tuple[ErrorSpec, ...]
    source: str = ""  # the reference page (or model) the operation was derived from
    path: Path | None = field(default=None, compare=False, repr=False)  # the schema document it was read from
    _validators: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def target(self) -> str:
        """The X-Amz-Target value that names this operation in awsJson protocols."""
        return f"{self.service.target_prefix}.{self.name}"

    @property
    def schema_id(self) -> str:
        """The `$id` of this operation's schema document."""
        return f"urn:aws:{self.service.uid}:{self.name}"

    def error(self, name: str) -> ErrorSpec | None:
        """The declared error of that name, if any."""
        return next((error for error in self.errors if error.name == name), None)

    @property
    def not_found_error(self) -> str:
        """The declared error for an unknown resource: the one whose name ends in NotFoundException."""
        names = [error.name for error in self.errors if error.name.endswith("NotFoundException")]
        if len(names) != 1:
            raise ValueError(f"{self.name} declares {len(names)} not-found errors, expected one")
        return names[0]

    def other_target_prefixes(self, operations: Iterable[Operation]) -> list[str]:
        """The target prefixes of the other services among `operations`, sorted."""
        return sorted({op.service.target_prefix for op in operations} - {self.service.target_prefix})

    def validator(self, part: str) -> Any:
        """A cached validator for the "request" or "response" schema."""
        if part not in self._validators:
            self._validators[part] = validator_for({"$schema": JSON_SCHEMA_DIALECT, **getattr(self, part)})
        return self._validators[part]

    def to_document(self) -> dict[str, Any]:
        """This operation as a JSON Schema 2020-12 document (request and response under `$defs`).

        Facts only: no prose from the reference pages (an operation's or error's description), so
        pages that state the same facts in other words yield the same document byte for byte.
        """
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": self.schema_id,
            "title": self.name,
            "x-source": self.source,
            "x-service": self.service.to_json(),
            "x-errors": {error.name: {"httpStatus": error.http_status} for error in self.errors},
            # Copies all the way down: loaded operations are shared (`_load_unchanged`), and a document is edited.
            "$defs": {"request": copy.deepcopy(self.request), "response": copy.deepcopy(self.response)},
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any], where: str = "schema document") -> Operation:
        """Read a document written by `to_document`; raises SchemaDocumentError naming `where`."""
        problem = next(iter(_DOCUMENT_VALIDATOR.iter_errors(document)), None)
        if problem is not None:
            at = "/".join(str(part) for part in problem.absolute_path) or "(top level)"
            raise SchemaDocumentError(f"{where}: at {at}: {problem.message}")
        defs = document["$defs"]
        for part in ("request", "response"):
            try:
                validator_for({"$schema": JSON_SCHEMA_DIALECT, **defs[part]})
            except jsonschema.SchemaError as exc:
                raise SchemaDocumentError(f"{where}: $defs/{part} is not a valid JSON Schema: {exc.message}") from None
        return cls(
            name=document["title"],
            service=ServiceMeta.from_json(document["x-service"]),
            request=defs["request"],
            response=defs["response"],
            errors=tuple(
                ErrorSpec(name, spec["httpStatus"]) for name, spec in sorted(document["x-errors"].items())
            ),
            source=document.get("x-source", ""),
        )


def render_document(operation: Operation) -> str:
    """The exact text of an operation's schema document: sorted keys, two-space indent, final newline."""
    return json.dumps(operation.to_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def document_filename(operation: Operation) -> str:
    """File name of an operation's schema document, e.g. `comprehend.StopPiiEntitiesDetectionJob.json`."""
    return document_name(operation.service.name, operation.name)


def document_name(service: str, operation: str) -> str:
    """File name of the schema document of an operation of a (botocore) service."""
    return f"{service}.{operation}{SCHEMA_SUFFIX}"


def load_document(path: Path) -> Operation:
    """Load one schema document; SchemaDocumentError names the file on any problem."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SchemaDocumentError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaDocumentError(f"{path}: not valid JSON: {exc}") from None
    return dataclasses.replace(Operation.from_document(document, where=str(path)), path=path)


def default_schema_dir() -> Path:
    """The committed `schemas/` folder: bundled in the wheel, or beside the package in a checkout."""
    package = Path(__file__).resolve().parents[1]  # the `conformance` package
    bundled = package / "_schemas"
    return bundled if bundled.is_dir() else package.parent / "schemas"


def load_operations(directory: Path | None = None) -> list[Operation]:
    """Every operation documented in a folder of schema documents, sorted by service then name."""
    directory = default_schema_dir() if directory is None else directory
    if not directory.is_dir():
        raise SchemaDocumentError(f"{directory}: no such folder of schema documents")
    paths = sorted(directory.glob(f"*{SCHEMA_SUFFIX}"))
    if not paths:
        raise SchemaDocumentError(f"{directory}: holds no schema documents (*{SCHEMA_SUFFIX})")
    return sorted((_load_unchanged(path) for path in paths), key=lambda op: (op.service.name, op.name))


# Operations are immutable and a run loads them several times (plan, lanes, catalog), as does a process that runs
# many (the pytest plugin, the tests): each document is read again only when its file changes.
_LOADED: dict[Path, tuple[tuple[int, int], Operation]] = {}


def _load_unchanged(path: Path) -> Operation:
    """`load_document`, but a file unchanged since it was last loaded (same size and mtime) is not read again."""
    try:
        stat = path.stat()
    except OSError:
        return load_document(path)  # which says why it cannot be read
    stamp = (stat.st_mtime_ns, stat.st_size)
    known = _LOADED.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    operation = load_document(path)
    _LOADED[path] = (stamp, operation)
    return operation


_SCHEMA_OBJECT = {"type": "object"}
_DOCUMENT_SCHEMA = {
    "$schema": JSON_SCHEMA_DIALECT,
    "type": "object",
    "required": ["title", "x-service", "x-errors", "$defs"],
    "properties": {
        "title": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]*$"},
        "x-source": {"type": "string"},
        "x-service": {
            "type": "object",
            "required": [
                "name", "serviceId", "fullName", "apiVersion", "uid",
                "targetPrefix", "signingName", "endpointPrefix", "protocols",
            ],
            "properties": {
                "protocols": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            },
            "additionalProperties": {"type": "string"},
        },
        "x-errors": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["httpStatus"],
                "properties": {
                    "httpStatus": {"type": "integer", "minimum": 400, "maximum": 599},
                },
            },
        },
        "$defs": {
            "type": "object",
            "required": ["request", "response"],
            "properties": {"request": _SCHEMA_OBJECT, "response": _SCHEMA_OBJECT},
        },
    },
}
_DOCUMENT_VALIDATOR = validator_for(_DOCUMENT_SCHEMA)
