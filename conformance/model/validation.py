"""JSON Schema validation as AWS means it: ECMA-262 `pattern` via `regex`, lengths in code points."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import regex
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from conformance.model import ecma_regex


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_regex.search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _is_ecma_regex(instance: object) -> bool:
    if isinstance(instance, str):
        ecma_regex.compile_pattern(instance)
    return True


# The metaschema checks every `pattern` with format "regex", which by default means `re`;
# judge it with the same engine that matches it.
_FORMAT_CHECKER = jsonschema.FormatChecker()
_FORMAT_CHECKER.checks("regex", raises=regex.error)(_is_ecma_regex)

# jsonschema's `minLength`/`maxLength` already count code points (Python `len` on str), which is
# what Smithy's @length means; only `pattern` needs replacing, since the default uses `re`.
SchemaValidator = jsonschema.validators.extend(
    Draft202012Validator, validators={"pattern": _pattern}, format_checker=_FORMAT_CHECKER
)


_CHECKED: set[str] = set()  # schemas (as canonical JSON) found valid: checking one costs a hundred times this key
_CHECKED_LIMIT = 4096


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise `jsonschema.SchemaError` unless schema is valid 2020-12 with ECMA-262 patterns."""
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):  # not JSON-like: checked every time
        key = None
    if key is not None and key in _CHECKED:
        return
    SchemaValidator.check_schema(schema, format_checker=_FORMAT_CHECKER)
    if key is not None:
        if len(_CHECKED) >= _CHECKED_LIMIT:
            _CHECKED.clear()
        _CHECKED.add(key)


def validator_for(schema: Mapping[str, Any]) -> Any:
    """A validator for one schema; raises `jsonschema.SchemaError` if the schema itself is bad."""
    check_schema(schema)
    return SchemaValidator(schema)


def is_valid(schema: Mapping[str, Any], instance: object) -> bool:
    """True when instance satisfies schema."""
    return validator_for(schema).is_valid(instance)
