"""Whether a decoded input document is the operation's input, and the error AWS answers where it is not: a
value of the wrong type is a SerializationException, a broken constraint a ValidationException in AWS's words.
Protocol-neutral: both protocols decode to the same document first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError

from conformance.reference.answers import ApiError, serialization_error


def drop_nulls(value: Any) -> Any:
    """awsJson servers treat a null member as absent (so a null required member is 'not null')."""
    if isinstance(value, dict):
        return {key: drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    return value


_TOKEN_NAMES = {bool: "BOOLEAN_VALUE", int: "NUMBER_VALUE", float: "NUMBER_VALUE", str: "STRING_VALUE"}
_EXPECTED = {"string": "a String", "integer": "an Integer", "number": "a Number", "boolean": "a Boolean",
             "object": "a structure", "array": "a list"}


def unexpected_type(value: Any, expected: str) -> str:
    """The wording AWS's JSON reader uses when a value has the wrong JSON type."""
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected."
    return f"{_TOKEN_NAMES.get(type(value), 'VALUE')} can not be converted to {expected}"


def check_input(validator: Any, document: Mapping[str, Any]) -> None:
    """Raise the error AWS would answer for a body that breaks the input schema, if it does.

    A value of the wrong JSON type fails deserialisation first (SerializationException); only a
    well-typed body reaches constraint validation (ValidationException, all breaks in one message).
    """
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        if error.validator == "type":
            expected = error.validator_value if isinstance(error.validator_value, str) else "object"
            raise serialization_error(unexpected_type(error.instance, _EXPECTED.get(expected, expected)))
    breaks = [line for error in errors for line in _constraint_breaks(error)]
    if breaks:
        count = len(breaks)
        noun = "error" if count == 1 else "errors"
        raise ApiError("ValidationException", 400, f"{count} validation {noun} detected: " + "; ".join(breaks))


def _member_path(parts: Iterable[Any]) -> str:
    """AWS's member path: lowerCamel member names, list items as `N.member` (1-based)."""
    names = []
    for part in parts:
        names.append(f"{part + 1}.member" if isinstance(part, int) else part[:1].lower() + part[1:])
    return ".".join(names)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "'[" + ", ".join(str(item) for item in value) + "]'"
    return f"'{value}'"


_RULES = {
    "minLength": "Member must have length greater than or equal to {}",
    "maxLength": "Member must have length less than or equal to {}",
    "minItems": "Member must have length greater than or equal to {}",
    "maxItems": "Member must have length less than or equal to {}",
    "minProperties": "Member must have length greater than or equal to {}",
    "maxProperties": "Member must have length less than or equal to {}",
    "minimum": "Member must have value greater than or equal to {}",
    "maximum": "Member must have value less than or equal to {}",
    "pattern": "Member must satisfy regular expression pattern: {}",
}


def _constraint_breaks(error: ValidationError) -> list[str]:
    """AWS's sentence for each constraint one jsonschema error stands for."""
    path = list(error.absolute_path)
    keyword, limit = error.validator, error.validator_value
    if keyword == "required":
        missing = [name for name in limit if name not in error.instance]
        return [f"Value null at '{_member_path([*path, name])}' failed to satisfy constraint: "
                "Member must not be null" for name in missing]
    if keyword == "enum":
        rule = "Member must satisfy enum value set: [" + ", ".join(map(str, limit)) + "]"
    else:
        rule = _RULES.get(str(keyword), "Member must satisfy constraint: {}").format(
            limit if keyword in _RULES else keyword
        )
    return [f"Value {_show(error.instance)} at '{_member_path(path)}' failed to satisfy constraint: {rule}"]
