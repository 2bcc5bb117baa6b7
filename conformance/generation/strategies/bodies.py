"""Whole request documents from an operation's request schema, one family per category.

Every family changes one thing in an otherwise valid document: one member's value or type, a
missing member, an extra member, or a document that is not an object at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from string import ascii_letters, ascii_uppercase, digits
from typing import Any

from hypothesis import strategies as st

from conformance.cases import Case, Category, Kind, categories
from conformance.generation.cache import cached
from conformance.generation.strategies.alphabet import ascii_text, joined, kept
from conformance.generation.strategies.strings import StringSpace
from conformance.model.operations import Operation


@dataclass(frozen=True)
class Family:
    """Cases of one category: what they are and how to draw them."""

    category: str  # a declared category's name (`cases.categories`)
    kind: Kind
    description: str
    strategy: st.SearchStrategy[Case]

    @classmethod
    def of(cls, category: Category, description: str, strategy: st.SearchStrategy[Case]) -> Family:
        """The family of a declared category."""
        return cls(category.name, category.kind, description, strategy)


WRONG_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "number": st.one_of(st.integers(-(2**63), 2**63), st.floats(allow_nan=False, allow_infinity=False)),
    "boolean": st.booleans(),
    "null": st.none(),
    "array": st.lists(st.text(max_size=5), max_size=3),
    # A dictionary of up to three members, as st.dictionaries draws it (less its unique-keys filter, which
    # Hypothesis builds anew at every draw: the dict keeps the last of equal keys).
    "object": st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), max_size=3).map(dict),
}
EXTRA_VALUES = st.one_of(st.text(max_size=8), st.integers(), st.booleans())
NOT_OBJECTS = st.one_of(
    st.lists(st.integers(), max_size=3), st.text(max_size=10), st.integers(), st.none(), st.booleans(),
)


class Members:
    """The string members of a request schema, and valid documents built from them."""

    def __init__(self, operation: Operation) -> None:
        schema = operation.request
        properties = schema.get("properties", {})
        self.operation = operation
        self.required = list(schema.get("required", []))
        self.spaces = {name: StringSpace.of(sub) for name, sub in properties.items()
                       if sub.get("type") == "string" and "pattern" in sub}
        unsupported = [name for name in self.required if name not in self.spaces]
        if unsupported:
            raise ValueError(f"{operation.name}: cannot generate required members {unsupported} "
                             "(only patterned strings)")
        self.known = set(properties)
        self._bases: dict[str | None, st.SearchStrategy[dict[str, Any]]] = {}

    @staticmethod
    def of(operation: Operation) -> Members:
        """The members of an operation, shared by every family built for an equal operation."""
        return _members(operation)

    def base(self, replace: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
        """A valid document of the required members (less `replace`, which the caller sets); built once."""
        if replace not in self._bases:
            self._bases[replace] = st.fixed_dictionaries(
                {name: self.spaces[name].valid().map(_value) for name in self.required if name != replace})
        return self._bases[replace]


def _value(labelled: tuple[str, str, str]) -> str:
    return labelled[2]


@cached(key=lambda operation: (operation.name, json.dumps(operation.request, sort_keys=True)))
def _members(operation: Operation) -> Members:
    return Members(operation)


def raw_family(operation: str, category: Category, description: str, bodies: st.SearchStrategy[bytes]) -> Family:
    """Cases that send raw body bytes (what a protocol's encoder would never write)."""
    name, kind = category.name, category.kind
    return Family.of(category, description,
                     bodies.map(lambda body: Case(operation, name, kind, description, raw_body=body)))


Headers = tuple[tuple[str, str | None], ...]  # header changes: None removes the header


def request_family(operation: Operation, category: Category, description: str, *,
                   headers: st.SearchStrategy[Headers] = st.just(()), paths: st.SearchStrategy[str | None] = st.none(),
                   methods: st.SearchStrategy[str | None] = st.none()) -> Family:
    """Cases that send a valid document with other headers, path or method (routing, claim rules)."""
    cases = _request_case(Case(operation.name, category.name, category.kind, description),
                          Members.of(operation).base(), headers, paths, methods)
    return Family.of(category, description, cases)


# Composites are defined once and given their parts as arguments (see `alphabet._meeting`).
@st.composite
def _request_case(draw: st.DrawFn, like: Case, base: st.SearchStrategy[dict[str, Any]],
                  headers: st.SearchStrategy[Headers], paths: st.SearchStrategy[str | None],
                  methods: st.SearchStrategy[str | None]) -> Case:
    document = draw(base)
    return Case(like.operation, like.category, like.kind, like.description, document=document, headers=draw(headers),
                path=draw(paths), method=draw(methods), job_id=document.get("JobId"))


@st.composite
def _with_extra(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]], names: st.SearchStrategy[str],
                values: st.SearchStrategy[Any]) -> dict[str, Any]:
    document = draw(base)
    document[draw(names)] = draw(values)
    return document


@st.composite
def _with_member(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]], name: str,
                 values: st.SearchStrategy[Any]) -> dict[str, Any]:
    return {**draw(base), name: draw(values)}


def _case(operation: Operation, category: Category, description: str) -> Callable[[Any], Case]:
    def build(document: Any) -> Case:
        job_id = document.get("JobId") if isinstance(document, dict) else None
        return Case(operation.name, category.name, category.kind, description, document=document,
                    job_id=job_id if isinstance(job_id, str) else None)
    return build


def families(operation: Operation) -> list[Family]:
    """Every document-level family for an operation's request schema."""
    members = Members.of(operation)
    found: list[Family] = []
    for name, space in members.spaces.items():
        for category, (text, values) in [*space.valid_families.items(), *space.invalid_families.items()]:
            found.append(_member_family(members, name, category, f"{name}: {text}", values))
        for type_name, values in WRONG_TYPES.items():
            found.append(_member_family(members, name, categories.WRONG_TYPES[type_name],
                                        f"{name} is a JSON {type_name}", values))
    for name in members.required:
        found.append(Family.of(categories.REQUIRED_MISSING, f"{name} missing", members.base(replace=name).map(
            _case(operation, categories.REQUIRED_MISSING, f"{name} missing"))))
    text = "the body is JSON but not an object"
    found.append(Family.of(categories.NOT_OBJECT, text, NOT_OBJECTS.map(_case(operation, categories.NOT_OBJECT, text))))
    # [A-Z][A-Za-z0-9]{0,15}
    extra_names = kept(joined(ascii_text(ascii_uppercase, 1, 1), ascii_text(ascii_letters + digits, 0, 15)),
                       lambda n: n not in members.known)

    text = "a valid body plus a member the input does not have"
    found.append(Family.of(categories.EXTRA_MEMBER, text, _with_extra(members.base(), extra_names, EXTRA_VALUES).map(
        _case(operation, categories.EXTRA_MEMBER, text))))
    return found


def _member_family(members: Members, name: str, category: Category, description: str,
                   values: st.SearchStrategy[Any]) -> Family:
    return Family.of(category, description, _with_member(members.base(replace=name), name, values).map(
        _case(members.operation, category, description)))
