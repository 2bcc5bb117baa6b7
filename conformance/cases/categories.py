"""Every case category, declared once (`categories.toml`): its name, its kind (which decides what may be answered),
what it tests, and the constant the code names it by.

A case carries its category's name (`Case.category`); strategies, the catalog, the job flows, the
oracle's rows and the verdict name categories through these constants (`categories.PROBE`,
`categories.TOO_LONG`...), and `category` refuses a name that is not declared. Adding a category is
one line in the table, and a family or catalog entry that draws it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from conformance.cases.case import Kind


@dataclass(frozen=True)
class Category:
    """One category of cases: everything in it tests the same thing and expects the same answers."""

    name: str  # dotted, e.g. "invalid.length.too_long"
    kind: Kind
    description: str


def _declared(table: dict[str, dict[str, list[str]]]) -> dict[str, Category]:
    """The table's categories by constant; ValueError for an unknown kind or a name declared twice."""
    found: dict[str, Category] = {}
    names: set[str] = set()
    for kind, rows in table.items():
        for constant, (name, description) in rows.items():
            if name in names or constant in found:
                raise ValueError(f"case category {constant} ({name!r}) is declared twice")
            names.add(name)
            found[constant] = Category(name, Kind(kind), description)
    return found


_BY_CONSTANT = _declared(tomllib.loads((Path(__file__).parent / "categories.toml").read_text(encoding="utf-8")))
CATEGORIES: dict[str, Category] = {declared.name: declared for declared in _BY_CONSTANT.values()}


def __getattr__(constant: str) -> Category:
    """`categories.PROBE`: the category declared under that constant."""
    try:
        return _BY_CONSTANT[constant]
    except KeyError:
        raise AttributeError(f"no case category is declared as {constant}") from None


def category(name: str) -> Category:
    """The declared category of that name; ValueError for any other name."""
    found = CATEGORIES.get(name)
    if found is None:
        raise ValueError(f"unknown case category {name!r}")
    return found


def kind_of(name: str) -> Kind:
    """The kind of a category's cases; ValueError for a name that is no declared category."""
    return category(name).kind


# JobIds next to a started job's, by the label `model.job_ids.near_misses` gives each.
NEAR_MISSES = {declared.name.removeprefix("near_miss."): declared for declared in CATEGORIES.values()
               if declared.kind is Kind.NEAR_MISS and declared.name.startswith("near_miss.")}
# The state machine's steps (`engine.machine`), of several kinds: reports count them per lane by this prefix.
MACHINE_PREFIX = "machine."
MACHINE = frozenset(name for name in CATEGORIES if name.startswith(MACHINE_PREFIX))
# What the wrong-type families draw, by the JSON type's name.
WRONG_TYPES = {"number": _BY_CONSTANT["TYPE_NUMBER"], "boolean": _BY_CONSTANT["TYPE_BOOLEAN"],
               "null": _BY_CONSTANT["TYPE_NULL"], "array": _BY_CONSTANT["TYPE_ARRAY"],
               "object": _BY_CONSTANT["TYPE_OBJECT"]}
