"""The hand-curated example catalog (`fixtures/examples.json`), read into cases for each operation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.cases import ABSENT, Case, kind_of
from conformance.model import Operation


class CatalogError(ValueError):
    """The example catalog is unreadable or an entry is malformed."""


def default_catalog_path() -> Path:
    """`fixtures/examples.json`: bundled in the wheel, or beside the package in a checkout."""
    package = Path(__file__).resolve().parent
    bundled = package / "_fixtures" / "examples.json"
    return bundled if bundled.is_file() else package.parent / "fixtures" / "examples.json"


def load_entries(path: Path | None = None) -> list[dict[str, Any]]:
    """The catalog's entries, checked for form; CatalogError names the file and entry."""
    path = path or default_catalog_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CatalogError(f"{path}: not valid JSON: {exc}") from None
    entries = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CatalogError(f"{path}: needs an object with an 'examples' list")
    for index, entry in enumerate(entries):
        where = f"{path}: example {index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("category"), str):
            raise CatalogError(f"{where}: needs a 'category'")
        try:
            kind_of(entry["category"])
        except ValueError as exc:
            raise CatalogError(f"{where}: {exc}") from None
        if ("document" in entry or "repeat" in entry) == ("raw_body" in entry):
            raise CatalogError(f"{where}: needs either 'document' (or 'repeat') or 'raw_body'")
        if ("raw_body" in entry or "headers" in entry or "path" in entry or "method" in entry) \
                and "protocol" not in entry:
            raise CatalogError(f"{where}: 'raw_body', 'headers', 'path' and 'method' need a 'protocol'")
    return entries


def cases_for(operation: Operation, protocol: str, all_operations: list[Operation],
              entries: list[dict[str, Any]], inexpressible: frozenset[str] = frozenset()) -> list[Case]:
    """The catalog's cases for one operation over one protocol, in catalog order."""
    prefix = operation.service.target_prefix
    others = operation.other_target_prefixes(all_operations) or [prefix + "x"]
    names = {"operation": operation.name, "prefix": prefix, "prefix_wrong_version": prefix.split("_")[0] + "_19990101",
             "other_prefix": others[0], "namespace": operation.service.namespace}
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
