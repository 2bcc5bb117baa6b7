"""A baseline: the failures a target is known to have and is allowed to keep, so that a run fails only on new ones.

An entry names a cause as the terminal report groups failures (`report.terminal._by_cause`): the operation called,
the protocol, the check, the case category, and the kind of answer (status and error type, or "no answer"). It holds
no value of one run (no JobId, request id or body), so a run with another seed matches the same entries.

The option names follow Schemathesis 4's (`--baseline`, `--baseline-update`, `--baseline-prune`), with these
differences: Schemathesis writes a missing baseline file on a plain `--baseline` run; here a missing file is a usage
error unless `--baseline-update` is given, so that a mistyped path in CI cannot record today's failures and pass.
`--baseline-strict` (fixed entries fail the run) is this suite's own.

This module is pure data and file handling; the verdict (`engine.verdict.decide`) is where a baseline is applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

BASELINE_FORMAT = "conformance-baseline/1"
NO_ANSWER = "no answer"
_FIELDS = ("operation", "protocol", "check", "category", "cause")
MAX_FIELD = 300  # a cause quotes the target's error type: clipped, so that a hostile one cannot bloat the file


class BaselineError(ValueError):
    """The baseline file cannot be used; the message is one line naming the file and what is wrong."""


@dataclass(frozen=True, order=True)
class Entry:
    """One accepted cause of failure (the order of the fields is the file's sort order)."""

    operation: str  # the operation called: StopPiiEntitiesDetectionJob
    protocol: str  # awsJson1_1
    check: str
    category: str
    cause: str  # the kind of answer: "400 ValidationException", "500", or "no answer"

    def to_json(self) -> dict[str, str]:
        """As the file holds it."""
        return {name: getattr(self, name) for name in _FIELDS}

    def describe(self) -> str:
        """One line for people."""
        return f"{self.check} on {self.operation} over {self.protocol}, {self.category}: {self.cause}"

    @property
    def tested_key(self) -> tuple[str, str, str, str]:
        """(operation, protocol, check, category): what a run must have judged to say whether it reproduced."""
        return self.operation, self.protocol, self.check, self.category


def cause_of(status: int | None, error_type: str | None) -> str:
    """The kind of answer a failure got, as an entry names it."""
    if status is None:
        return NO_ANSWER
    return _clip(f"{status} {error_type}" if error_type else str(status))


def _clip(text: str) -> str:
    text = " ".join(text.split())  # one line: a cause is compared as text and shown on one line
    return text if len(text) <= MAX_FIELD else text[:MAX_FIELD]


@dataclass(frozen=True)
class Baseline:
    """The entries of a baseline file (empty for a file `--baseline-update` is about to create)."""

    path: Path
    entries: frozenset[Entry] = frozenset()
    strict: bool = False  # --baseline-strict: an entry the run tested and did not reproduce fails the run


@dataclass(frozen=True)
class BaselineJudgement:
    """How a run's failures stand against a baseline."""

    file: str
    strict: bool
    accepted: tuple[Entry, ...]  # entries that reproduced, sorted
    accepted_failures: int  # failures that matched an entry
    new: tuple[Entry, ...]  # causes of the failures that matched none, sorted
    new_failures: int
    fixed: tuple[Entry, ...]  # entries the run tested that did not reproduce: remove them from the baseline
    not_tested: tuple[Entry, ...]  # entries whose operation, protocol, check and category the run did not judge

    @cached_property
    def accepted_set(self) -> frozenset[Entry]:
        """The accepted entries, for membership tests (a failure's entry is looked up once per failure)."""
        return frozenset(self.accepted)

    @property
    def fails(self) -> bool:
        """Whether the baseline leaves the run failing: a new failure, or (strict) a fixed entry."""
        return bool(self.new_failures) or (self.strict and bool(self.fixed))

    def to_json(self) -> dict[str, Any]:
        """As the JSON report holds it."""
        return {"file": self.file, "strict": self.strict, "accepted": [e.to_json() for e in self.accepted],
                "accepted_failures": self.accepted_failures, "new": self.new_failures,
                "new_causes": [e.to_json() for e in self.new], "fixed": [e.to_json() for e in self.fixed],
                "not_tested": len(self.not_tested)}


def judge(baseline: Baseline, failures: Iterable[Entry], tested: Iterable[tuple[str, str, str, str]]) -> \
        BaselineJudgement:
    """The run's failures (one entry each, repeats allowed) against the baseline; `tested` holds each
    (operation, protocol, check, category) the run judged."""
    failures = list(failures)
    seen = set(failures)
    judged = set(tested) | {entry.tested_key for entry in seen}  # a failure was judged, whatever `tested` says
    accepted = sorted(baseline.entries & seen)
    new = [entry for entry in failures if entry not in baseline.entries]
    unmatched = baseline.entries - seen
    return BaselineJudgement(
        file=str(baseline.path), strict=baseline.strict, accepted=tuple(accepted),
        accepted_failures=len(failures) - len(new), new=tuple(sorted(set(new))), new_failures=len(new),
        fixed=tuple(sorted(entry for entry in unmatched if entry.tested_key in judged)),
        not_tested=tuple(sorted(entry for entry in unmatched if entry.tested_key not in judged)))


def merged(entries: Iterable[Entry], more: Iterable[Entry]) -> frozenset[Entry]:
    """`--baseline-update`: the entries with this run's failures added (none is removed)."""
    return frozenset(entries) | frozenset(more)


def pruned(entries: Iterable[Entry], fixed: Iterable[Entry]) -> frozenset[Entry]:
    """`--baseline-prune`: the entries less those the run tested and did not reproduce."""
    return frozenset(entries) - frozenset(fixed)


def dumps(entries: Iterable[Entry], tool_version: str) -> str:
    """The file's text: sorted entries, one per line, so that a change is a one-line diff."""
    rows = ",\n".join("    " + json.dumps(entry.to_json(), ensure_ascii=True) for entry in sorted(set(entries)))
    return (f'{{\n  "format": {json.dumps(BASELINE_FORMAT)},\n  "tool_version": {json.dumps(tool_version)},\n'
            f'  "entries": [\n{rows}\n  ]\n}}\n' if rows else
            f'{{\n  "format": {json.dumps(BASELINE_FORMAT)},\n  "tool_version": {json.dumps(tool_version)},\n'
            '  "entries": []\n}\n')


def write(path: Path, entries: Iterable[Entry], tool_version: str) -> None:
    """Write the file (replacing it whole: a reader never sees half of it)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(dumps(entries, tool_version), encoding="utf-8")
    temporary.replace(path)


def parse(text: str, path: Path) -> frozenset[Entry]:
    """The entries of a baseline file's text; BaselineError says in one line what is wrong."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise BaselineError(f"baseline {path}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise BaselineError(f"baseline {path}: must be a JSON object with format, tool_version and entries")
    if document.get("format") != BASELINE_FORMAT:
        raise BaselineError(f"baseline {path}: format {document.get('format')!r} is not {BASELINE_FORMAT!r} (write "
                            "it again with --baseline-update)")
    extra = sorted(set(document) - {"format", "tool_version", "entries"})
    if extra or not isinstance(document.get("tool_version"), str) or not isinstance(document.get("entries"), list):
        raise BaselineError(f"baseline {path}: must hold a string tool_version and a list of entries"
                            + (f", and nothing else (found {', '.join(extra)})" if extra else ""))
    entries = []
    for number, item in enumerate(document["entries"], 1):
        if (not isinstance(item, dict) or set(item) != set(_FIELDS)
                or not all(isinstance(item[name], str) and item[name] for name in _FIELDS)):
            raise BaselineError(f"baseline {path}: entry {number} must have exactly the non-empty strings "
                                f"{', '.join(_FIELDS)}")
        entries.append(Entry(**{name: item[name] for name in _FIELDS}))
    return frozenset(entries)


def load(path: Path, strict: bool = False, missing_ok: bool = False) -> Baseline:
    """The baseline in `path` (with `missing_ok`, an empty one where there is no file); BaselineError otherwise."""
    if missing_ok and not path.exists():
        return Baseline(path, frozenset(), strict)
    if path.is_dir():
        raise BaselineError(f"baseline {path}: is a folder")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"baseline {path}: no such file (create it with --baseline-update)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    return Baseline(path, parse(text, path), strict)
