"""The characters a string pattern allows and forbids, as Hypothesis strategies.

Hypothesis cannot read `\\p{..}` (`from_regex` fails on it), but `st.characters` takes Unicode
categories. So a pattern of the form `^([CLASS]*)$` is read as categories plus literal
characters, and every drawn character is checked with the same engine the oracle uses.

Python's `unicodedata` (which Hypothesis uses) and the `regex` package know different Unicode
versions (PROTOCOL_NOTES §6): a character counts as valid only when both call it valid, and as
invalid only when both call it invalid and it is assigned in both.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from hypothesis import strategies as st

from conformance import ecma_regex

# Unicode general categories by their one-letter group, as `\p{X}` means them.
_GROUPS = {
    "L": ("Lu", "Ll", "Lt", "Lm", "Lo"),
    "M": ("Mn", "Mc", "Me"),
    "N": ("Nd", "Nl", "No"),
    "P": ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"),
    "S": ("Sm", "Sc", "Sk", "So"),
    "Z": ("Zs", "Zl", "Zp"),
    "C": ("Cc", "Cf", "Cs", "Co", "Cn"),
}
_CATEGORY = {category for group in _GROUPS.values() for category in group}
# `^([...]*)$`, `^[...]*$`, `^[...]+$` and the same without anchors' group.
_CLASS_PATTERN = re.compile(r"^\^\(?\[(?P<body>(?:\\.|[^\]\\])*)\](?P<quantifier>[*+])\)?\$$")
_PROPERTY = re.compile(r"\\p\{(?P<name>[A-Za-z]{1,2})\}")


class UnsupportedPattern(ValueError):
    """The pattern is not a single character class this module can generate from."""


@dataclass(frozen=True)
class Alphabet:
    """What one character class allows: Unicode categories plus literal characters."""

    pattern: str
    categories: frozenset[str]
    literals: frozenset[str]

    @classmethod
    def from_pattern(cls, pattern: str) -> Alphabet:
        """Read `^([\\p{L}\\p{N}_.-]*)$`-style patterns; UnsupportedPattern for anything else."""
        match = _CLASS_PATTERN.match(pattern)
        if not match or match.group("body").startswith("^"):
            raise UnsupportedPattern(f"cannot generate strings for pattern {pattern!r}: not one character class")
        body = match.group("body")
        categories: set[str] = set()
        for prop in _PROPERTY.finditer(body):
            name = prop.group("name")
            if name in _GROUPS:
                categories.update(_GROUPS[name])
            elif name in _CATEGORY:
                categories.add(name)
            else:
                raise UnsupportedPattern(f"unknown Unicode property \\p{{{name}}} in {pattern!r}")
        rest = _PROPERTY.sub("", body)
        literals: set[str] = set()
        index = 0
        while index < len(rest):
            char = rest[index]
            if char == "\\":
                index += 1
                char = rest[index]
                if char.isalnum():
                    raise UnsupportedPattern(f"escape \\{char} in {pattern!r} is not supported for generation")
            elif index + 2 < len(rest) and rest[index + 1] == "-":
                raise UnsupportedPattern(f"ranges ({rest[index:index + 3]}) in {pattern!r} are not supported")
            literals.add(char)
            index += 1
        return cls(pattern, frozenset(categories), frozenset(literals))

    def allows(self, char: str) -> bool:
        """Whether the pattern's own engine accepts this one character."""
        return ecma_regex.search(self.pattern, char)

    def valid(self, categories: tuple[str, ...] | None = None, astral: bool = False) -> st.SearchStrategy[str]:
        """Characters both Unicode versions call allowed, optionally from some categories only."""
        wanted = self.categories if categories is None else self.categories & set(categories)
        return st.characters(
            categories=sorted(wanted), min_codepoint=0x10000 if astral else None
        ).filter(self._agreed_valid)

    def literal(self) -> st.SearchStrategy[str]:
        """One of the literal characters the class lists."""
        return st.sampled_from(sorted(self.literals))

    def invalid(self, categories: tuple[str, ...]) -> st.SearchStrategy[str]:
        """Assigned characters of the given categories that the pattern forbids."""
        return st.characters(categories=sorted(set(categories) - self.categories),
                             exclude_characters="".join(self.literals)).filter(self._agreed_invalid)

    def invalid_ascii_punctuation(self) -> list[str]:
        """Every ASCII punctuation character the class does not allow."""
        return [char for char in string.punctuation if not self.allows(char)]

    def _agreed_valid(self, char: str) -> bool:
        return unicodedata.category(char) in self.categories and self.allows(char)

    def _agreed_invalid(self, char: str) -> bool:
        return unicodedata.category(char) not in ("Cn", "Cs") and not self.allows(char)
