"""ECMA-262 patterns (as Smithy and JSON Schema write them) compiled with the `regex` package.

Python's `re` cannot read `\\p{..}` classes, so the `regex` package does the matching. Its syntax
is close to ECMA-262 but not equal: where the two read the same text differently, the text is
translated first. No library does this translation, hence the small hand-written pass below.
"""

from __future__ import annotations

import functools

import regex

# Outside a character class: ECMA `$` (no multiline flag) matches only at the very end, Python's
# also before a final "\n"; ECMA `.` excludes all four line terminators, Python's only "\n";
# ECMA `\d` and `\w` are ASCII-only, Python's are Unicode-wide.
_OUTSIDE_CLASS = {
    "$": r"\Z",
    ".": "[^\\n\\r\\u2028\\u2029]",
}
_ESCAPES_OUTSIDE_CLASS = {
    r"\d": "[0-9]",
    r"\D": "[^0-9]",
    r"\w": "[A-Za-z0-9_]",
    r"\W": "[^A-Za-z0-9_]",
}
_ESCAPES_INSIDE_CLASS = {r"\d": "0-9", r"\w": "A-Za-z0-9_"}


def translate(pattern: str) -> str:
    """Rewrite an ECMA-262 pattern into `regex` syntax with the same meaning."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            pair = pattern[i : i + 2]
            table = _ESCAPES_INSIDE_CLASS if in_class else _ESCAPES_OUTSIDE_CLASS
            out.append(table.get(pair, pair))
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            elif char == "[":
                # A literal "[" inside an ECMA class; `regex` (V0) reads it literally too,
                # but escaping it keeps nested-set syntax from ever applying.
                char = r"\["
            out.append(char)
        elif char == "[":
            # Not handled: "[]" and "[^]" (an empty class in ECMA, a literal "]" in `regex`);
            # AWS models never write them.
            in_class = True
            out.append(char)
        else:
            out.append(_OUTSIDE_CLASS.get(char, char))
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Compile an ECMA-262 pattern once; raises `regex.error` for a pattern it cannot read."""
    return regex.compile(translate(pattern))


def search(pattern: str, text: str) -> bool:
    """True when the pattern matches somewhere in text (ECMA-262 / JSON Schema semantics)."""
    return compile_pattern(pattern).search(text) is not None
