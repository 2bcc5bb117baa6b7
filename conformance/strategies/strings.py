"""Valid and invalid values for a constrained string member, each labelled with its category.

Valid values cover every class the pattern allows; each invalid value breaks exactly one
constraint (length or pattern), and its category says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from conformance.safety import could_be_real_job_id
from conformance.strategies.alphabet import Alphabet

FAR_TOO_LONG = 10_000
SURROGATES = (0xD800, 0xDFFF)

Labelled = tuple[str, str, str]  # (category, description, value)


class StringSpace:
    """What one string schema allows: length bounds and the pattern's alphabet."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.min_length = int(schema.get("minLength", 0))
        self.max_length = int(schema.get("maxLength", 64))
        self.alphabet = Alphabet.from_pattern(schema["pattern"]) if "pattern" in schema else None
        if self.alphabet is None:
            raise ValueError("a string member needs a pattern to generate from")

    def _length(self, low: int, high: int) -> st.SearchStrategy[int]:
        """A length in [low, high], with both ends drawn often."""
        return st.one_of(st.just(low), st.just(high), st.integers(low, high))

    def _text(self, chars: st.SearchStrategy[str], low: int, high: int) -> st.SearchStrategy[str]:
        return self._length(low, high).flatmap(lambda n: st.text(alphabet=chars, min_size=n, max_size=n))

    def valid_families(self) -> dict[str, tuple[str, st.SearchStrategy[str]]]:
        """Valid-value strategies by category, each with a description."""
        a = self.alphabet
        assert a is not None
        low, high = max(self.min_length, 1), self.max_length
        families = {
            "valid.letters": ("letters of any script", self._text(a.valid(("Lu", "Ll", "Lt", "Lm", "Lo")), low, high)),
            "valid.numbers": ("numbers, decimal and not", self._text(a.valid(("Nd", "Nl", "No")), low, high)),
            "valid.separators": ("space separators, U+2028, U+2029", self._text(a.valid(("Zs", "Zl", "Zp")), low, high)),
            "valid.astral": ("characters beyond the BMP", self._text(a.valid(astral=True), low, high)),
            "valid.mixed": ("every allowed class mixed", self._text(st.one_of(a.valid(), a.literal()), low, high)),
        }
        if a.literals:
            families["valid.punctuation"] = ("the punctuation the pattern lists", self._text(a.literal(), low, high))
        return {name: (text, strategy.filter(lambda v: not could_be_real_job_id(v)))
                for name, (text, strategy) in families.items() if self._has_categories(name)}

    def _has_categories(self, name: str) -> bool:
        wanted = {"valid.letters": "L", "valid.numbers": "N", "valid.separators": "Z"}.get(name)
        assert self.alphabet is not None
        return wanted is None or any(c.startswith(wanted) for c in self.alphabet.categories)

    def valid(self) -> st.SearchStrategy[Labelled]:
        """Any valid value, labelled with its family."""
        return st.one_of([s.map(lambda v, n=name, d=text: (n, d, v)) for name, (text, s) in self.valid_families().items()])

    def invalid_families(self) -> dict[str, tuple[str, st.SearchStrategy[str]]]:
        """Invalid-value strategies by category; each value breaks exactly one constraint."""
        a = self.alphabet
        assert a is not None
        chars = st.one_of(a.valid(), a.literal())
        families: dict[str, tuple[str, st.SearchStrategy[str]]] = {}
        if self.min_length > 0:
            families["invalid.length.too_short"] = (f"shorter than {self.min_length}",
                                                    self._text(chars, 0, self.min_length - 1))
        families["invalid.length.too_long"] = (f"{self.max_length + 1} to {self.max_length + 3} characters",
                                               self._text(chars, self.max_length + 1, self.max_length + 3))
        families["invalid.length.too_long_astral"] = (
            f"{self.max_length + 1} characters beyond the BMP",
            st.text(alphabet=a.valid(astral=True), min_size=self.max_length + 1, max_size=self.max_length + 1))
        families["invalid.length.far_too_long"] = (f"{FAR_TOO_LONG} characters",
                                                   st.just("a" * FAR_TOO_LONG))
        one_bad = {
            "invalid.char.control": ("one control character", a.invalid(("Cc",))),
            "invalid.char.combining_mark": ("one combining mark", a.invalid(("Mn", "Mc", "Me"))),
            "invalid.char.format": ("one format character", a.invalid(("Cf",))),
            "invalid.char.symbol": ("one symbol", a.invalid(("Sm", "Sc", "Sk", "So"))),
            "invalid.char.emoji": ("one emoji", st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF,
                                                             categories=["So"]).filter(lambda c: not a.allows(c))),
            "invalid.char.private_use": ("one private-use character", a.invalid(("Co",))),
            "invalid.char.other_punctuation": ("one punctuation character the pattern does not list",
                                               a.invalid(("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"))),
            "invalid.char.ascii_punctuation": ("one ASCII punctuation character the pattern does not list",
                                               st.sampled_from(a.invalid_ascii_punctuation())),
            "invalid.char.lone_surrogate": ("one lone surrogate (a \\uD800-style JSON escape)",
                                            st.integers(*SURROGATES).map(chr)),
        }
        for name, (text, bad) in one_bad.items():
            families[name] = (text, self._with_one(chars, bad))
        return families

    def _with_one(self, chars: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        """A value of allowed length with exactly one forbidden character at any position."""
        low, high = max(self.min_length - 1, 0), self.max_length - 1

        @st.composite
        def build(draw: st.DrawFn) -> str:
            text = draw(self._text(chars, low, high))
            at = draw(st.integers(0, len(text)))
            return text[:at] + draw(bad) + text[at:]

        return build()
