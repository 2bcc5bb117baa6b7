"""The characters a string pattern allows and forbids, as Hypothesis strategies.

Hypothesis cannot read `\\p{..}` (`from_regex` fails on it), but `st.characters` takes Unicode
categories. So a pattern of the form `^([CLASS]*)$` is read as categories plus literal
characters, and every character of them is checked with the same engine the oracle uses (once,
when the strategy is built: drawing then needs no filter).

Python's `unicodedata` (which Hypothesis uses) and the `regex` package know different Unicode
versions (PROTOCOL_NOTES §6): a character counts as valid only when both call it valid, and as
invalid only when both call it invalid and it is assigned in both.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.internal import charmap

from conformance.model import ecma_regex

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


T = TypeVar("T")


def kept(strategy: st.SearchStrategy[T], condition: Callable[[T], object]) -> st.SearchStrategy[T]:
    """`strategy.filter(condition)`: a value that meets the condition, in at most three tries, else the draw is
    rejected. Not Hypothesis's FilteredStrategy, which validates itself anew at every draw (building strategies
    each time) once its condition cannot be rewritten into the strategy, as no condition here can be."""
    return _meeting(strategy, condition)


# Composites are defined once, here, and given their parts as arguments: `st.composite` reads a function's source
# each time it decorates one, which for the strategies of one run cost a quarter of its planning.
@st.composite
def _meeting(draw: st.DrawFn, strategy: st.SearchStrategy[T], condition: Callable[[T], object]) -> T:
    for _ in range(3):
        value = draw(strategy)
        if condition(value):
            return value
    reject()


def joined(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The parts' text one after another: what `st.from_regex` draws for a plain sequence, without the filter it
    adds (which, as FilteredStrategy, validates itself anew at every draw)."""
    return st.tuples(*parts).map("".join)


def ascii_text(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Text of those ASCII characters (one Hypothesis choice)."""
    return st.text(alphabet=st.characters(categories=(), include_characters=alphabet), min_size=min_size,
                   max_size=max_size)


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
        """Characters both Unicode versions call allowed, optionally from some categories only. No filter: the
        characters the pattern's engine refuses are excluded up front, so text of them is one Hypothesis choice."""
        wanted = tuple(sorted(self.categories if categories is None else self.categories & set(categories)))
        low = 0x10000 if astral else 0
        return st.characters(categories=wanted, min_codepoint=low, exclude_characters=self._refused(wanted, low))

    def allowed(self) -> st.SearchStrategy[str]:
        """Any character the class allows: of its categories (as both Unicode versions call them) or a literal."""
        wanted = tuple(sorted(self.categories))
        return st.characters(categories=wanted, include_characters="".join(sorted(self.literals)),
                             exclude_characters=self._refused(wanted, 0))

    def literal(self) -> st.SearchStrategy[str]:
        """One of the literal characters the class lists, each equally likely."""
        return st.sampled_from(sorted(self.literals))

    def literal_characters(self) -> st.SearchStrategy[str]:
        """One of the literal characters the class lists, as an interval set (text of them is one choice)."""
        return st.characters(categories=(), include_characters="".join(sorted(self.literals)))

    def invalid(self, categories: tuple[str, ...]) -> st.SearchStrategy[str]:
        """Assigned characters of the given categories that the pattern forbids."""
        return kept(st.characters(categories=sorted(set(categories) - self.categories),
                                  exclude_characters="".join(sorted(self.literals))), self._agreed_invalid)

    def invalid_ascii_punctuation(self) -> list[str]:
        """Every ASCII punctuation character the class does not allow."""
        return [char for char in string.punctuation if not self.allows(char)]

    def _refused(self, categories: tuple[str, ...], low: int) -> str:
        """The characters of those categories (as `unicodedata` has them) at or above `low` that the pattern's
        engine refuses (its Unicode version differs): found by halving whole runs of characters, since the
        pattern matches a run exactly when it allows each character."""
        return _refused(self.pattern, tuple(sorted(self.categories)), categories, low)

    def _agreed_invalid(self, char: str) -> bool:
        return unicodedata.category(char) not in ("Cn", "Cs") and not self.allows(char)


def _refused(pattern: str, allowed: tuple[str, ...], categories: tuple[str, ...], low: int) -> str:
    return "".join(char for char in _refused_by_class(pattern, allowed)
                   if unicodedata.category(char) in categories and ord(char) >= low)


@functools.cache
def _refused_by_class(pattern: str, categories: tuple[str, ...]) -> str:
    """The characters of those categories the pattern refuses: one search per run of characters, halved while
    it holds a refused one (few or none: the two Unicode versions mostly agree)."""
    refused: list[str] = []

    def split(run: str) -> None:
        if not run or ecma_regex.search(pattern, run):
            return
        if len(run) == 1:
            refused.append(run)
            return
        split(run[: len(run) // 2])
        split(run[len(run) // 2:])

    for first, last in charmap.query(categories=categories).intervals:
        split("".join(map(chr, range(first, last + 1))))
    return "".join(refused)
