"""The schema validator on the edge cases of PROTOCOL_NOTES §6."""

from __future__ import annotations

import jsonschema
import pytest

from conformance.model import ecma_regex
from conformance.model.operations import load_operations
from conformance.model.validation import check_schema, is_valid

JOB_ID = load_operations()[0].request["properties"]["JobId"]
ASTRAL_LETTER = "\U0001d400"  # MATHEMATICAL BOLD CAPITAL A: one code point, two UTF-16 units


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("job-1", True),
        (" ", True),  # \p{Z}
        ("\u00a0", True),  # NBSP, \p{Zs}
        ("\u2028", True),  # LINE SEPARATOR, \p{Zl}
        ("\u2029", True),  # PARAGRAPH SEPARATOR, \p{Zp}
        ("Ωμέγα日本語", True),  # letters of other scripts
        ("\u0663\u2167", True),  # ARABIC-INDIC THREE (Nd), ROMAN NUMERAL EIGHT (Nl)
        ("_.:/=+-%@", True),  # every allowed punctuation character
        (ASTRAL_LETTER, True),
        (ASTRAL_LETTER * 32, True),  # 32 code points (64 UTF-16 units): length counts code points
        (ASTRAL_LETTER * 33, False),
        ("a" * 32, True),
        ("a" * 33, False),
        ("", False),
        ("e\u0301", False),  # combining acute accent, \p{M}
        ("a\u200b", False),  # ZERO WIDTH SPACE, \p{Cf}
        ("\U0001f600", False),  # emoji, \p{So}
        ("$", False),  # \p{Sc}
        ("!", False),
        ("#", False),
        ("job\n", False),  # ECMA `$` does not match before a final newline
        ("\t", False),
        ("\ud800", False),  # a lone surrogate
        ("\ue000", False),  # private use
    ],
)
def test_job_id_constraints(value: str, valid: bool) -> None:
    assert is_valid(JOB_ID, value) is valid


def test_wrong_type_is_invalid() -> None:
    for value in (5, True, None, [], {}):
        assert not is_valid(JOB_ID, value)


def test_unicode_property_patterns_pass_the_metaschema() -> None:
    check_schema(JOB_ID)  # raises if `\p{..}` were judged with `re`
    with pytest.raises(jsonschema.SchemaError):
        check_schema({"type": "string", "pattern": "([a-z]"})


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^a$", "a\n", False),
        ("^a.$", "a\u2028", False),  # ECMA `.` excludes line terminators
        ("^a.$", "ab", True),
        (r"^\d+$", "\u0663", False),  # ECMA `\d` is ASCII-only
        (r"^[\d]+$", "123", True),
        (r"^\w+$", "é", False),
        ("role/.+", "arn:aws:iam::1:role/x", True),  # unanchored: search semantics
        (r"^[\]a]$", "]", True),
        (r"^\$$", "$", True),
    ],
)
def test_ecma_translation(pattern: str, text: str, matches: bool) -> None:
    assert ecma_regex.search(pattern, text) is matches
