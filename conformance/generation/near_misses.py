"""Strings that are not a job's id, drawn from the transformations a lookup might wrongly see through.

The property a job flow tests: a string that is not the job's id (as a string of code points) never
names the job. Each family below draws such strings from one kind of transformation of the real id
that a careless server could undo: letter case, Unicode normalization and compatibility characters,
look-alike characters, escapes and encodings, white space and invisible characters, truncation,
extension, and the ids of the run's other jobs (of other kinds). A value of the real job-id form is
drawn only as a change of the id's own letter case: it can name no one else's job on AWS.
"""

from __future__ import annotations

import base64
import functools
import random
import unicodedata
from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from conformance.cases import Category, categories
from conformance.generation.drawer import Drawer, Unsatisfiable
from conformance.model.job_ids import could_be_real_job_id

# Look-alikes of the characters job ids are made of (digits, ASCII letters), after Unicode's confusables
# (UTS #39, confusables.txt): characters other scripts draw the same. Written out, not derived: the
# confusables data ships with no library this project uses, and these few are enough to tell a server
# that maps a string to its "skeleton" before looking it up.
LOOK_ALIKES = {
    "0": "OoОоΟο〇", "1": "lIǀΙІ|", "2": "Ƨᒿ", "3": "ЗƷ", "4": "Ꮞ", "5": "Ƽ", "6": "бᏮ", "8": "ȣ৪", "9": "ꝋ৭",
    "a": "аɑα", "b": "Ьƅᖯ", "c": "сϲᴄ", "d": "ԁꓒ", "e": "еҽ", "f": "ғꞙ", "i": "іɩ", "j": "ј", "k": "κ",
    "o": "оο0", "p": "рρ", "s": "ѕ", "x": "хχ", "y": "уγ", "A": "АΑ", "B": "ВΒ", "C": "СϹ", "E": "ЕΕ",
    "H": "НΗ", "K": "КΚ", "M": "МΜ", "O": "ОΟ0", "P": "РΡ", "T": "ТΤ", "X": "ХΧ",
}
# Characters a lookup may drop or trim: white space of every kind, and invisible format characters.
INVISIBLE = (" ", "\t", "\n", "\r", "\u00a0", "\u2028", "\u2029", "\u3000", "\u200b", "\u200c", "\u200d",
             "\u2060", "\ufeff", "\u00ad", "\u180e", "\ufe0f", "\u0000")
# Characters whose case mapping or folding gives an ASCII letter, beside the letter's other case.
CASE_RELATIVES = {"k": "\u212a", "s": "\u017f", "i": "\u0131"}
# Where compatibility characters live: fullwidth forms, mathematical alphanumerics, enclosed, super- and
# subscript characters, letterlike symbols. NFKC maps each to the plain character it stands for.
_COMPATIBILITY_RANGES = ((0x00A0, 0x00FF), (0x1D00, 0x1DBF), (0x2000, 0x24FF), (0x3000, 0x33FF), (0xFE00, 0xFFEF),
                         (0x1D400, 0x1D7FF), (0x1F100, 0x1F1FF), (0x1FBF0, 0x1FBF9))
ESCAPES: dict[str, Callable[[str], str]] = {
    "percent": lambda char: "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")),
    "json": lambda char: "".join(f"\\u{unit:04x}" for unit in _utf16_units(char)),
    "html": lambda char: f"&#x{ord(char):x};",
    "html_decimal": lambda char: f"&#{ord(char)};",
    "backslash": lambda char: f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}",
    "quoted_printable": lambda char: "".join(f"={byte:02X}" for byte in char.encode("utf-8", "surrogatepass")),
}
WHOLE_ENCODINGS: dict[str, Callable[[str], str]] = {
    "base64": lambda text: base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii"),
    "base64url": lambda text: base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii"),
    "hex": lambda text: text.encode("utf-8", "surrogatepass").hex(),
    "double_quoted": lambda text: f'"{text}"', "single_quoted": lambda text: f"'{text}'",
    "braced": lambda text: f"{{{text}}}", "angled": lambda text: f"<{text}>",
}


def _utf16_units(char: str) -> list[int]:
    """A character as UTF-16 code units: a surrogate pair beyond the BMP."""
    data = char.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[at:at + 2], "big") for at in range(0, len(data), 2)]


@functools.cache
def compatibility_forms() -> dict[str, str]:
    """Each character's compatibility forms: the characters NFKC normalizes to it (`ａ`, `𝐚`, `ⓐ` for `a`)."""
    forms: dict[str, str] = {}
    for first, last in _COMPATIBILITY_RANGES:
        for code in range(first, last + 1):
            char = chr(code)
            plain = unicodedata.normalize("NFKC", char)
            if len(plain) == 1 and plain != char:
                forms[plain] = forms.get(plain, "") + char
    return forms


Alternatives = Callable[[str], Sequence[str]]  # what a character of the id may be replaced by (nothing: kept)


def replaced(job_id: str, alternatives: Alternatives) -> st.SearchStrategy[str] | None:
    """The id with one or more of its characters that have alternatives replaced by one of them; None where none
    has any."""
    places = tuple(index for index, char in enumerate(job_id) if alternatives(char))
    return _replaced(job_id, places, alternatives) if places else None


@st.composite
def _replaced(draw: st.DrawFn, job_id: str, places: tuple[int, ...], alternatives: Alternatives) -> str:
    chosen = draw(st.sets(st.sampled_from(places), min_size=1, max_size=len(places)))
    return "".join(draw(st.sampled_from(list(alternatives(char)))) if index in chosen else char
                   for index, char in enumerate(job_id))


def _other_case(char: str) -> list[str]:
    return [other for other in (char.swapcase(), *CASE_RELATIVES.get(char.lower(), "")) if other != char]


def _case(job_id: str) -> st.SearchStrategy[str] | None:
    """The whole id upper-, lower-, title- or swap-cased or case-folded, or some of its letters."""
    wholes = sorted({change(job_id) for change in (str.upper, str.lower, str.swapcase, str.title, str.casefold)}
                    - {job_id})
    parts = replaced(job_id, _other_case)
    found = [strategy for strategy in ((st.sampled_from(wholes) if wholes else None), parts) if strategy is not None]
    return st.one_of(found) if found else None


def _encoded_whole(job_id: str) -> st.SearchStrategy[str]:
    """The whole id encoded: base64, hex, in quotes or brackets."""
    return st.sampled_from(sorted(WHOLE_ENCODINGS)).map(lambda how: WHOLE_ENCODINGS[how](job_id))


def _escape_with(escape: Callable[[str], str]) -> Alternatives:
    """Each character's one alternative: itself escaped so."""
    return lambda char: [escape(char)]


def _escaped(*kinds: str) -> Callable[[str], st.SearchStrategy[str] | None]:
    """Some of the id's characters escaped as text, one of `kinds` of escape (percent, JSON, HTML...)."""
    def build(job_id: str) -> st.SearchStrategy[str] | None:
        parts = [replaced(job_id, _escape_with(ESCAPES[kind])) for kind in kinds]
        found = [part for part in parts if part is not None]
        return st.one_of(found) if found else None
    return build


@st.composite
def _invisible(draw: st.DrawFn, job_id: str) -> str:
    """One to three white-space or invisible characters inserted anywhere."""
    inserted = draw(st.lists(st.tuples(st.integers(0, len(job_id)), st.sampled_from(INVISIBLE)), min_size=1,
                             max_size=3))
    text = job_id
    for at, char in sorted(inserted, reverse=True):
        text = text[:at] + char + text[at:]
    return text


@st.composite
def _truncated(draw: st.DrawFn, job_id: str) -> str:
    """A part of the id: a prefix, a suffix, a middle, or the id less one character."""
    start = draw(st.integers(0, len(job_id) - 1))
    end = draw(st.integers(start + 1, len(job_id)))
    if (start, end) == (0, len(job_id)):
        at = draw(st.integers(0, len(job_id) - 1))
        return job_id[:at] + job_id[at + 1:]
    return job_id[start:end]


@st.composite
def _extended(draw: st.DrawFn, job_id: str) -> str:
    """The id with characters added before, after or within it, or twice over."""
    if draw(st.integers(0, 9)) == 0:
        return job_id + job_id
    added = draw(st.text(alphabet=st.sampled_from("0123456789abcdef-_:./"), min_size=1, max_size=8))
    at = draw(st.sampled_from([0, len(job_id), draw(st.integers(0, len(job_id)))]))
    return job_id[:at] + added + job_id[at:]


Build = Callable[[str], st.SearchStrategy[str] | None]  # a job id -> its near misses of one kind (None: none)
# The kinds of near miss, each with its family (the category it is reported under), in the order a flow first
# sends one of each. Escapes come in three, so that the decodings a server may wrongly apply (percent-decoding a
# URL, unescaping JSON text twice, HTML entities) are each sent in every run.
PROBES: tuple[tuple[str, Build], ...] = (
    ("case", _case),
    ("normalization", lambda job_id: replaced(job_id, lambda char: compatibility_forms().get(char, ""))),
    ("look_alike", lambda job_id: replaced(job_id, lambda char: LOOK_ALIKES.get(char, ""))),
    ("escape", _escaped("percent")),
    ("escape", _escaped("json", "backslash")),
    ("escape", lambda job_id: st.one_of(_encoded_whole(job_id), *[strategy for strategy in [
        _escaped("html", "html_decimal", "quoted_printable")(job_id)] if strategy is not None])),
    ("invisible", _invisible),
    ("truncated", _truncated),
    ("extended", _extended),
)
FAMILIES = tuple(dict.fromkeys(family for family, _ in PROBES))
OTHER_JOB = "other_job"  # the id of one of the run's jobs of another kind


def category_of(family: str) -> Category:
    """The declared category of a family's near misses: `near_miss.<family>`."""
    return categories.category(f"near_miss.{family}")


def sendable(value: str, job_id: str, other_ids: Sequence[str] = ()) -> bool:
    """Whether a value may go out as a near miss: not the id, and of the real job-id form only as a change of the
    id's own letter case or as one of the run's other jobs (any other real-form string could be somebody's job)."""
    return value != job_id and (not could_be_real_job_id(value) or value.lower() == job_id.lower()
                                or value in other_ids)


def drawn_near_misses(job_id: str, other_ids: Sequence[str], count: int, seed: int) -> list[tuple[Category, str]]:
    """`count` distinct near misses of `job_id` (one of each kind first, in `PROBES`' order and then another job's
    id, then of any kind), the same ones for the same seed and ids: (category, value). The run's other jobs' ids
    come in only as given (`other_ids`)."""
    if not job_id or count <= 0:
        return []
    built = [(family, build(job_id)) for family, build in PROBES]
    if other_ids:
        built.append((OTHER_JOB, st.sampled_from(list(other_ids))))
    probes = [(family, strategy.filter(lambda text: sendable(text, job_id, other_ids)))
              for family, strategy in built if strategy is not None]  # none: the id has nothing to change
    drawer: Drawer[str] = Drawer(None, seed)
    chooser = random.Random(seed)  # the kinds in an order of the seed's alone: a dry run's placeholder id gets the
    found: dict[str, Category] = {}  # same kinds as the id the Start returns, as far as both have values of them
    for index in range(count * 4):  # a kind may give a value drawn before: a few more tries than values
        if len(found) >= count or not probes:
            break
        at = index if index < len(probes) else chooser.randrange(len(probes))
        family, strategy = probes[at]
        try:
            value = drawer.draw(strategy)
        except Unsatisfiable:  # every value it gives has the real form
            del probes[at]
            continue
        found.setdefault(value, category_of(family))
    return [(category, value) for value, category in found.items()]
