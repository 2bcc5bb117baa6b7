"""The hand-curated example catalog (`fixtures/examples.json`), read into cases for each operation."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from conformance.cases import ABSENT, Case, kind_of
from conformance.model.operations import Operation


class CatalogError(ValueError):
    """The example catalog is unreadable or an entry is malformed."""


# What a header value or a path may name in braces; cases_for fills them in for each operation.
PLACEHOLDERS = ("operation", "prefix", "prefix_wrong_version", "other_prefix", "namespace")
MAX_MESSAGE = 200  # a longer schema error quotes a long value (a raw body's MiB): name the rule it breaks instead


def _fixture(name: str) -> Path:
    """A file of `fixtures/`: bundled in the wheel, or beside the package in a checkout."""
    package = Path(__file__).resolve().parents[1]  # the `conformance` package
    bundled = package / "_fixtures" / name
    return bundled if bundled.is_file() else package.parent / "fixtures" / name


def default_catalog_path() -> Path:
    """`fixtures/examples.json`: bundled in the wheel, or beside the package in a checkout."""
    return _fixture("examples.json")


def catalog_schema_path() -> Path:
    """`fixtures/examples.schema.json`, the JSON Schema every catalog is checked against when loaded."""
    return _fixture("examples.schema.json")


# JSON Schema's "integer" takes 5.0, which `"a" * 5.0` does not: a repeat count must be an int.
_CatalogValidator = jsonschema.validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)),
)


@functools.cache
def _catalog_validator() -> Any:
    schema = json.loads(catalog_schema_path().read_text(encoding="utf-8"))
    _CatalogValidator.check_schema(schema)
    return _CatalogValidator(schema)


def load_entries(path: Path | None = None) -> list[dict[str, Any]]:
    """The catalog's entries, checked against its schema and for sense; CatalogError names the file and entry."""
    path = path or default_catalog_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past what json can read
        raise CatalogError(f"{path}: not valid JSON: {exc}") from None
    problem = min(_catalog_validator().iter_errors(data), key=_document_order, default=None)
    if problem is not None:
        raise CatalogError(_schema_problem(path, data, problem))
    entries: list[dict[str, Any]] = data["examples"]
    for index, entry in enumerate(entries):
        where = f"{path}: example {index} ({entry['category']})"
        try:
            kind_of(entry["category"])
        except ValueError as exc:
            raise CatalogError(f"{where}: {exc}") from None
        if ("document" in entry or "repeat" in entry) == ("raw_body" in entry):
            raise CatalogError(f"{where}: needs either 'document' (or 'repeat') or 'raw_body'")
        templates = {"path": entry.get("path"),
                     **{f"headers/{name}": value for name, value in entry.get("headers", {}).items()}}
        for at, template in templates.items():
            problem = _template_problem(template) if isinstance(template, str) else None
            if problem is not None:  # found here, not as a KeyError when cases_for fills it in
                raise CatalogError(f"{where}: at {at}: {problem} (placeholders: {', '.join(PLACEHOLDERS)})")
    return entries


def _document_order(error: ValidationError) -> tuple[tuple[bool, int | str], ...]:
    """Sorts schema errors by where they stand (list indexes and member names never meet at one depth)."""
    return tuple((isinstance(part, str), part) for part in error.absolute_path)


def _schema_problem(path: Path, data: Any, error: ValidationError) -> str:
    """One sentence naming the file, the entry (index and category) and what in it breaks the schema."""
    where, parts, whole = str(path), list(error.absolute_path), "(top level)"
    if parts[:1] == ["examples"] and len(parts) > 1:
        index, parts, whole = parts[1], parts[2:], "(the entry)"
        entry = data["examples"][index]
        category = entry.get("category") if isinstance(entry, dict) else None
        where += f": example {index} ({category if isinstance(category, str) else 'no category'})"
    at = "/".join(str(part) for part in parts) or whole
    message = error.message if len(error.message) <= MAX_MESSAGE else \
        f"the value fails the schema's {error.validator} ({error.validator_value!r})"
    return f"{where}: at {at}: {message}"


def _template_problem(template: str) -> str | None:
    """Why a template cannot be filled in (a name that is no placeholder, an unclosed brace), or None."""
    try:
        template.format(**dict.fromkeys(PLACEHOLDERS, "x"))
    except KeyError as exc:
        return f"{template!r} names {{{exc.args[0]}}}, which is no placeholder"
    except (IndexError, ValueError, AttributeError) as exc:  # '{0}', '{', '{prefix.x}'
        return f"{template!r} cannot be filled in: {exc}"
    return None


def cases_for(operation: Operation, protocol: str, all_operations: list[Operation],
              entries: list[dict[str, Any]], inexpressible: frozenset[str] = frozenset()) -> list[Case]:
    """The catalog's cases for one operation over one protocol, in catalog order."""
    prefix = operation.service.target_prefix
    others = operation.other_target_prefixes(all_operations) or [prefix + "x"]
    names = {"operation": operation.name, "prefix": prefix, "prefix_wrong_version": prefix.split("_")[0] + "_19990101",
             "other_prefix": others[0], "namespace": operation.service.namespace}  # one for each of PLACEHOLDERS
    cases = []
    for entry in entries:
        if entry.get("protocol", protocol) != protocol or entry["category"] in inexpressible:
            continue
        document: Any = ABSENT
        if "document" in entry or "repeat" in entry:
            document = entry.get("document", {})
            if isinstance(document, dict):
                document = {**document, **{member: text * count for member, (text, count) in entry.get("repeat", {}).items()}}
        raw = entry["raw_body"].encode("latin-1") if "raw_body" in entry else None
        headers = tuple((name, value.format(**names) if isinstance(value, str) else None)
                        for name, value in entry.get("headers", {}).items())
        path = entry["path"].format(**names) if "path" in entry else None
        job_id = document.get("JobId") if isinstance(document, dict) else None
        cases.append(Case(operation.name, entry["category"], kind_of(entry["category"]),
                          entry.get("description", entry["category"]), document=document, raw_body=raw,
                          headers=headers, path=path, method=entry.get("method"),
                          job_id=job_id if isinstance(job_id, str) else None))
    return cases
