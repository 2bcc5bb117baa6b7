"""Read API reference pages (Markdown in the AWS page layout, as in `api-reference-pages/*.md`) into operations.

Only facts are read: members, types, constraints, errors and their HTTP statuses, and the service uid
of the See Also link. Prose (the operation's summary, member and error descriptions) is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import regex
from markdown_it import MarkdownIt
from markdown_it.token import Token

from conformance.model import botocore_model, ecma_regex
from conformance.model.operations import ErrorSpec, Operation
from conformance.model.validation import check_schema

REQUIRED_SECTIONS = (
    "Request Syntax",
    "Request Parameters",
    "Response Syntax",
    "Response Elements",
    "Errors",
    "See Also",
)

# The scalar types the reference pages name, as JSON types on the awsJson wire.
_TYPES: dict[str, dict[str, Any]] = {
    "String": {"type": "string"},
    "Integer": {"type": "integer"},
    "Long": {"type": "integer"},
    "Float": {"type": "number"},
    "Double": {"type": "number"},
    "Boolean": {"type": "boolean"},
    "Timestamp": {"type": "number"},
    "Base64-encoded binary data object": {"type": "string", "contentEncoding": "base64"},
    "Array of strings": {"type": "array", "items": {"type": "string"}},
}
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SDK_LINK = re.compile(r"/goto/[^/]+/(?P<uid>[a-z0-9-]+-\d{4}-\d{2}-\d{2})/(?P<operation>[A-Za-z0-9]+)$")
_SYNTAX_KEY = re.compile(r'^ {3}"\[?([A-Za-z][A-Za-z0-9_]*)', re.MULTILINE)


class DocsError(ValueError):
    """A reference page lacks a section or states something this reader cannot use."""

    def __init__(self, page: str, section: str | None, problem: str) -> None:
        super().__init__(f"{page}: section '{section}': {problem}" if section else f"{page}: {problem}")
        self.page, self.section, self.problem = page, section, problem


@dataclass
class _Section:
    title: str
    tokens: list[Token] = field(default_factory=list)


@dataclass(frozen=True)
class _Member:
    name: str
    schema: dict[str, Any]
    required: bool


def parse_page(text: str, page: str) -> Operation:
    """The operation a reference page documents; DocsError names the page and section on a problem."""
    tokens = MarkdownIt("commonmark").parse(text)
    title, sections = _split(tokens, page)
    for name in REQUIRED_SECTIONS:
        if name not in sections:
            raise DocsError(page, name, "missing (a level-2 heading of that name)")

    uid = _service_uid(sections["See Also"], title, page)
    try:
        service = botocore_model.service_meta(botocore_model.service_name_for_uid(uid))
    except botocore_model.BotocoreModelError as exc:
        raise DocsError(page, "See Also", str(exc)) from None

    request = _members(sections["Request Parameters"], page)
    _check_syntax(sections["Request Syntax"], request, page)
    response = _members(sections["Response Elements"], page)
    _check_syntax(sections["Response Syntax"], response, page)
    errors = _errors(sections["Errors"], page)
    return Operation(
        name=title,
        service=service,
        request=_object_schema(request),
        response=_object_schema(response),
        errors=tuple(sorted(errors, key=lambda error: error.name)),
        source=Path(page).name,
    )


def parse_pages(path: Path) -> list[Operation]:
    """Every operation in one page or a folder of `API_*.md` pages, sorted by service then name.

    In a folder only `API_*.md` files are pages (the AWS naming), so a README.md beside them is no page.
    """
    if path.is_dir():
        pages = sorted(path.glob("API_*.md"))
        if not pages:
            raise DocsError(str(path), None, "holds no API_*.md reference pages")
    elif path.is_file():
        pages = [path]
    else:
        raise DocsError(str(path), None, "no such file or folder")
    operations = []
    for page in pages:
        try:
            text = page.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DocsError(str(page), None, f"cannot read as UTF-8 text: {exc}") from None
        operations.append(parse_page(text, str(page)))
    seen: dict[tuple[str, str], str] = {}
    for op in operations:
        key = (op.service.name, op.name)
        if key in seen:
            raise DocsError(op.source, None, f"{op.name} is documented twice (also in {seen[key]})")
        seen[key] = op.source
    return sorted(operations, key=lambda op: (op.service.name, op.name))


def _split(tokens: Sequence[Token], page: str) -> tuple[str, dict[str, _Section]]:
    """Title and the level-2 sections by title (the summary before the first section is prose)."""
    title = ""
    sections: dict[str, _Section] = {}
    current: _Section | None = None
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = _inline_text(tokens[index + 1]).strip()
            if token.tag == "h1" and not title:
                title = heading
            elif token.tag == "h2":
                current = sections.setdefault(heading, _Section(heading))
            continue
        if current is not None:
            current.tokens.append(token)
    if not _IDENTIFIER.match(title):
        raise DocsError(page, None, f"the level-1 heading must name the operation, found {title!r}")
    return title, sections


def _inline_text(token: Token) -> str:
    return "".join(_lines(token))


def _lines(inline: Token) -> list[str]:
    """An inline token's visible text split at line breaks; links keep their text, HTML is dropped.

    Bold stays marked as `**`: pages write a member heading both as `**Name**` (parsed as bold)
    and as `** Name **` (not bold in CommonMark, so the asterisks stay text).
    """
    lines = [""]
    for child in inline.children or []:
        if child.type in ("softbreak", "hardbreak"):
            lines.append("")
        elif child.type in ("text", "code_inline"):
            lines[-1] += child.content
        elif child.type in ("strong_open", "strong_close"):
            lines[-1] += "**"
    return lines


def _paragraphs(tokens: Sequence[Token]) -> Iterator[list[str]]:
    """Each paragraph of a section as its stripped, non-empty lines."""
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open":
            lines = [line.strip() for line in _lines(tokens[index + 1])]
            yield [line for line in lines if line]


def _heading_name(line: str) -> str | None:
    """The member or error name a paragraph opens with (`** Name **` or `**Name**`), if any."""
    if not line.startswith("*"):
        return None
    name = line.strip("* ")
    return name if _IDENTIFIER.match(name) else None


def _members(section: _Section, page: str) -> list[_Member]:
    members = []
    for lines in _paragraphs(section.tokens):
        name = _heading_name(lines[0]) if lines else None
        if name is None:
            continue  # prose such as "The request accepts the following data in JSON format."
        members.append(_member(name, lines[1:], section.title, page))
    return members


def _member(name: str, lines: list[str], section: str, page: str) -> _Member:
    facts: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key in ("Type", "Length Constraints", "Pattern", "Valid Values", "Valid Range", "Required"):
            facts[key] = value.strip()

    def fail(problem: str) -> DocsError:
        return DocsError(page, section, f"member {name!r}: {problem}")

    if "Type" not in facts:
        raise fail("has no 'Type:' line")
    if facts["Type"] not in _TYPES:
        raise fail(f"type {facts['Type']!r} is not one this reader maps (known: {', '.join(_TYPES)})")
    schema = dict(_TYPES[facts["Type"]])
    if "Length Constraints" in facts:
        schema.update(_bounds(facts["Length Constraints"], "length", "minLength", "maxLength", fail))
    if "Valid Range" in facts:
        schema.update(_bounds(facts["Valid Range"], "value", "minimum", "maximum", fail))
    if "Pattern" in facts:
        pattern = facts["Pattern"]
        try:
            ecma_regex.compile_pattern(pattern)
        except regex.error as exc:
            raise fail(f"pattern {pattern!r} does not compile: {exc}") from None
        schema["pattern"] = pattern
    if "Valid Values" in facts:
        values = [value.strip() for value in facts["Valid Values"].split("|")]
        if not all(values):
            raise fail(f"'Valid Values' has an empty value: {facts['Valid Values']!r}")
        schema["enum"] = values
    required = facts.get("Required", "No")
    if required not in ("Yes", "No"):
        raise fail(f"'Required:' must be Yes or No, found {required!r}")
    try:
        check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise fail(f"constraints do not form a valid schema: {exc.message}") from None
    return _Member(name, schema, required == "Yes")


def _bounds(text: str, unit: str, low_key: str, high_key: str, fail: Any) -> dict[str, int | float]:
    """`Minimum length of 1. Maximum length of 32.` (or `Fixed length of N`) as schema bounds."""
    number = r"(-?\d+(?:\.\d+)?)"
    found: dict[str, int | float] = {}
    for word, keys in (("Minimum", (low_key,)), ("Maximum", (high_key,)), ("Fixed", (low_key, high_key))):
        match = re.search(rf"{word} {unit} of {number}", text)
        if match:
            value = float(match.group(1))
            for key in keys:
                found[key] = int(value) if value.is_integer() else value
    if not found:
        raise fail(f"cannot read the bounds in {text!r}")
    if low_key in found and high_key in found and found[low_key] > found[high_key]:
        raise fail(f"minimum is above maximum in {text!r}")
    return found


def _object_schema(members: list[_Member]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {m.name: m.schema for m in members}}
    required = sorted(m.name for m in members if m.required)
    if required:
        schema["required"] = required
    return schema


def _check_syntax(section: _Section, members: list[_Member], page: str) -> None:
    """The syntax block and the member list must name the same top-level members."""
    code = "".join(token.content for token in section.tokens if token.type in ("fence", "code_block"))
    if not code.strip():
        raise DocsError(page, section.title, "has no code block")
    in_syntax = set(_SYNTAX_KEY.findall(code))
    listed = {member.name for member in members}
    if in_syntax != listed:
        raise DocsError(
            page,
            section.title,
            f"names members {sorted(in_syntax)} but the member list names {sorted(listed)}",
        )


def _errors(section: _Section, page: str) -> list[ErrorSpec]:
    errors = []
    for lines in _paragraphs(section.tokens):
        name = _heading_name(lines[0]) if lines else None
        if name is None:
            continue
        statuses = [line.partition(":")[2].strip() for line in lines if line.startswith("HTTP Status Code:")]
        if len(statuses) != 1 or not statuses[0].isdigit() or not 400 <= int(statuses[0]) <= 599:
            raise DocsError(page, section.title, f"error {name!r} needs one 'HTTP Status Code: 4xx/5xx' line")
        errors.append(ErrorSpec(name, int(statuses[0])))
    if not errors:
        raise DocsError(page, section.title, "declares no errors")
    return errors


def _service_uid(section: _Section, title: str, page: str) -> str:
    """The API uid (`comprehend-2017-11-27`) from the SDK links, which name it and the operation."""
    uids = set()
    for token in section.tokens:
        for child in token.children or []:
            match = _SDK_LINK.search(str(child.attrGet("href") or "")) if child.type == "link_open" else None
            if match and match["operation"] == title:
                uids.add(match["uid"])
    if len(uids) != 1:
        found = f"found {sorted(uids)}" if uids else "found none"
        raise DocsError(page, section.title, f"needs SDK links naming one service uid for {title}, {found}")
    return uids.pop()
