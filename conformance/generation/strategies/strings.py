"""Valid and invalid values for a constrained string member, each labelled with its category.

Valid values cover every class the pattern allows; each invalid value breaks exactly one
constraint (length or pattern), and its category says which.

Every strategy is built once, when the space is (`StringSpace.of` shares one space per schema):
drawing a value constructs no strategy, so Hypothesis validates each one once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from conformance.cases import Category
from conformance.cases import categories as C
from conformance.generation.cache import cached
from conformance.generation.strategies.alphabet import Alphabet, kept
from conformance.model.job_ids import could_be_real_job_id

FAR_TOO_LONG = 10_000
SURROGATES = (0xD800, 0xDFFF)

Labelled = tuple[str, str, str]  # (category, description, value)
Families = dict[Category, tuple[str, st.SearchStrategy[str]]]  # by category: (description, values)


_FRACTION_BITS = 16
_FRACTIONS = st.integers(0, (1 << _FRACTION_BITS) - 1)


def position(draw: st.DrawFn, length: int) -> int:
    """An index into (or just past) a sequence of that length, from one strategy for every length (a fraction of
    it, 0 at the simplest): no strategy is built per length or per draw."""
    return (draw(_FRACTIONS) * (length + 1)) >> _FRACTION_BITS


def _length(low: int, high: int) -> st.SearchStrategy[int]:
    """A length in [low, high], with both ends drawn often."""
    return st.one_of(st.just(low), st.just(high), st.integers(low, high))


def sized_text(chars: st.SearchStrategy[str], low: int, high: int, *, each: bool = False) -> st.SearchStrategy[str]:
    """Text of `chars` whose length is in [low, high], both ends drawn often. The length is drawn, then text of
    exactly that length from a strategy built for it beforehand (none is built per draw, as `flatmap` would): of a
    `st.characters` alphabet, that text is one Hypothesis choice. `each`: draw every character from `chars` itself
    instead (`st.text` would merge a `one_of` of character strategies into one alphabet, losing its weights)."""
    lengths = _length(low, high)
    if each:
        return _chars_each(chars, lengths)
    return _text_of_length(lengths, {n: st.text(alphabet=chars, min_size=n, max_size=n) for n in range(low, high + 1)})


# Composites are defined once and given their parts as arguments (see `alphabet._meeting`).
@st.composite
def _chars_each(draw: st.DrawFn, chars: st.SearchStrategy[str], lengths: st.SearchStrategy[int]) -> str:
    return "".join([draw(chars) for _ in range(draw(lengths))])


@st.composite
def _text_of_length(draw: st.DrawFn, lengths: st.SearchStrategy[int],
                    by_length: dict[int, st.SearchStrategy[str]]) -> str:
    return draw(by_length[draw(lengths)])


class StringSpace:
    """What one string schema allows: length bounds and the pattern's alphabet."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.min_length = int(schema.get("minLength", 0))
        self.max_length = int(schema.get("maxLength", 64))
        if "pattern" not in schema:
            raise ValueError("a string member needs a pattern to generate from")
        self.alphabet = Alphabet.from_pattern(schema["pattern"])

    @staticmethod
    def of(schema: Mapping[str, Any]) -> StringSpace:
        """The space of a schema, shared by every caller with an equal schema (its strategies built once)."""
        return _space(json.dumps(schema, sort_keys=True))

    def _text(self, chars: st.SearchStrategy[str], low: int, high: int, each: bool = False) \
            -> st.SearchStrategy[str]:
        return sized_text(chars, low, high, each=each)

    @functools.cached_property
    def valid_families(self) -> Families:
        """Valid-value strategies by category, each with a description (built once)."""
        a = self.alphabet
        low, high = max(self.min_length, 1), self.max_length
        wanted = {
            C.VALID_LETTERS: ("letters of any script", lambda: self._text(a.valid(("Lu", "Ll", "Lt", "Lm", "Lo")),
                                                                           low, high)),
            C.VALID_NUMBERS: ("numbers, decimal and not", lambda: self._text(a.valid(("Nd", "Nl", "No")), low, high)),
            C.VALID_SEPARATORS: ("space separators, U+2028, U+2029",
                                 lambda: self._text(a.valid(("Zs", "Zl", "Zp")), low, high)),
            C.VALID_ASTRAL: ("characters beyond the BMP", lambda: self._text(a.valid(astral=True), low, high)),
            # Each character a class's or a literal, evenly: literals are few among the classes' characters.
            C.VALID_MIXED: ("every allowed class mixed", lambda: self._text(st.one_of(a.valid(), a.literal()),
                                                                             low, high, each=True)),
        }
        if a.literals:
            wanted[C.VALID_PUNCTUATION] = ("the punctuation the pattern lists",
                                            lambda: self._text(a.literal_characters(), low, high))
        return {category: (text, kept(build(), _not_a_real_job_id))
                for category, (text, build) in wanted.items() if self._has_categories(category)}

    def _has_categories(self, category: Category) -> bool:
        """Whether the pattern allows some character of the Unicode classes a valid family is made of."""
        wanted = {C.VALID_LETTERS: "L", C.VALID_NUMBERS: "N", C.VALID_SEPARATORS: "Z"}.get(category)
        return wanted is None or any(c.startswith(wanted) for c in self.alphabet.categories)

    def valid(self) -> st.SearchStrategy[Labelled]:
        """Any valid value, labelled with its family."""
        return self._valid

    @functools.cached_property
    def _valid(self) -> st.SearchStrategy[Labelled]:
        return st.one_of([s.map(lambda v, n=category.name, d=text: (n, d, v))
                          for category, (text, s) in self.valid_families.items()])

    @functools.cached_property
    def invalid_families(self) -> Families:
        """Invalid-value strategies by category, each value breaking exactly one constraint (built once)."""
        a = self.alphabet
        chars = a.allowed()
        families: Families = {}
        if self.min_length > 0:
            families[C.TOO_SHORT] = (f"shorter than {self.min_length}",
                                                    self._text(chars, 0, self.min_length - 1))
        families[C.TOO_LONG] = (f"{self.max_length + 1} to {self.max_length + 3} characters",
                                               self._text(chars, self.max_length + 1, self.max_length + 3))
        families[C.TOO_LONG_ASTRAL] = (
            f"{self.max_length + 1} characters beyond the BMP",
            self._text(a.valid(astral=True), self.max_length + 1, self.max_length + 1))
        families[C.FAR_TOO_LONG] = (f"{FAR_TOO_LONG} characters",
                                                   st.just("a" * FAR_TOO_LONG))
        one_bad = {
            C.CHAR_CONTROL: ("one control character", a.invalid(("Cc",))),
            C.CHAR_COMBINING_MARK: ("one combining mark", a.invalid(("Mn", "Mc", "Me"))),
            C.CHAR_FORMAT: ("one format character", a.invalid(("Cf",))),
            C.CHAR_SYMBOL: ("one symbol", a.invalid(("Sm", "Sc", "Sk", "So"))),
            C.CHAR_EMOJI: ("one emoji", kept(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF,
                                                                  categories=["So"]), lambda c: not a.allows(c))),
            C.CHAR_PRIVATE_USE: ("one private-use character", a.invalid(("Co",))),
            C.CHAR_OTHER_PUNCTUATION: ("one punctuation character the pattern does not list",
                                               a.invalid(("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"))),
            C.CHAR_ASCII_PUNCTUATION: ("one ASCII punctuation character the pattern does not list",
                                               st.sampled_from(a.invalid_ascii_punctuation())),
            C.CHAR_LONE_SURROGATE: ("one lone surrogate (a \\uD800-style JSON escape)",
                                            st.integers(*SURROGATES).map(chr)),
        }
        text = self._text(chars, max(self.min_length - 1, 0), self.max_length - 1)
        for category, (description, bad) in one_bad.items():
            families[category] = (description, _with_one(text, bad))
        return families


@st.composite
def _with_one(draw: st.DrawFn, text: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> str:
    """A value of allowed length (one less than `text`'s bounds allow) with exactly one forbidden character at any
    position."""
    value = draw(text)
    at = position(draw, len(value))
    return value[:at] + draw(bad) + value[at:]


def _not_a_real_job_id(value: str) -> bool:
    return not could_be_real_job_id(value)


@cached()
def _space(schema_json: str) -> StringSpace:
    return StringSpace(json.loads(schema_json))
