"""An earlier JSON report's failed cases, to send again (`conformance run --rerun REPORT [--case ID]`), and this
run's failures beside that report's (still failing, now passing, new)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.cases import FLOW_KINDS, Case, LaneKey, category
from conformance.report.causes import case_id, case_id_of
from conformance.report.records import REPORT_FORMAT, FailureRecord

FailedCheck = tuple[str, str | None]  # (case ID, check)


class RerunError(ValueError):
    """The file is not a JSON report of `conformance run --report-json`, a failure's case cannot be read, or a
    --case ID names none of its failures."""


@dataclass(frozen=True)
class RerunSource:
    """What a rerun sends again, and what the report said of it."""

    file: Path
    cases: tuple[tuple[LaneKey, Case], ...]  # the planned cases to send, each once with its lane
    flows: bool  # a selected failure was in a job flow (whose cases the flow sends again itself)
    failed: frozenset[FailedCheck]  # the selected failures of the report, by case ID and check
    case_ids: tuple[str, ...]  # the selected cases' IDs, each once

    def compare(self, failures: list[FailureRecord]) -> RerunComparison:
        """This run's failures beside the report's selected ones."""
        now = {(case_id(record), record.check) for record in failures}
        return RerunComparison(str(self.file), len(self.case_ids), sorted(self.failed & now, key=_order),
                               sorted(self.failed - now, key=_order), sorted(now - self.failed, key=_order))


@dataclass(frozen=True)
class RerunComparison:
    """A rerun's failures against its report's, by case ID and check."""

    file: str
    cases: int
    still_failing: list[FailedCheck] = field(default_factory=list)
    now_passing: list[FailedCheck] = field(default_factory=list)
    new: list[FailedCheck] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As the JSON report's `rerun` object holds it."""
        def listed(found: list[FailedCheck]) -> list[dict[str, str | None]]:
            return [{"case_id": found_id, "check": check} for found_id, check in found]
        return {"file": self.file, "cases": self.cases, "still_failing": listed(self.still_failing),
                "now_passing": listed(self.now_passing), "new": listed(self.new)}


def _order(found: FailedCheck) -> tuple[str, str]:
    return found[0], found[1] or ""


def rerun_plan(path: Path) -> tuple[tuple[tuple[LaneKey, Case], ...], bool]:
    """The failed cases of an earlier JSON report, each once with its lane, and whether a failure was in a job flow
    (whose cases the flow sends again itself); RerunError when the file is not such a report."""
    source = load(path)
    return source.cases, source.flows


def load(path: Path, case_ids: list[str] | None = None) -> RerunSource:
    """The failures of an earlier JSON report to send again: all of them, or only the cases `case_ids` name;
    RerunError when the file is not such a report or an ID names none of its failures."""
    failures = _failures(path)
    known = {found_id for found_id, _, _, _ in failures}
    wanted = set(case_ids or ())
    unknown = sorted(wanted - known)
    if unknown:
        raise RerunError(
            f"--case {', '.join(unknown)}: no failure of {path} has this case ID ({len(known)} failing case(s) there). "
            "A case's ID is shown in brackets beside each failure in the terminal and Markdown reports "
            f"(e.g. [{min(known) if known else 'c3f09a1e'}]), and as `case_id` of each failure in the JSON report "
            f"(e.g. `jq -r '.failures[].case_id' {path}`)")
    unique: dict[tuple[object, ...], tuple[LaneKey, Case]] = {}
    flows = False
    failed: set[FailedCheck] = set()
    ids: dict[str, None] = {}
    for found_id, check, lane, case in failures:
        if wanted and found_id not in wanted:
            continue
        failed.add((found_id, check))
        ids[found_id] = None
        if case.kind in FLOW_KINDS:
            flows = True
        else:  # a case that failed several checks is sent once
            unique.setdefault((lane, case.key()), (lane, case))
    return RerunSource(path, tuple(unique.values()), flows, frozenset(failed), tuple(ids))


def _failures(path: Path) -> list[tuple[str, str | None, LaneKey, Case]]:
    """Every failure of a `conformance-report/1` file as (case ID, check, lane, case)."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RerunError(f"--rerun {path}: not a JSON report of `conformance run --report-json`: {exc}") from None
    if not isinstance(report, dict) or report.get("format") != REPORT_FORMAT or not isinstance(
            report.get("failures"), list):
        raise RerunError(f"--rerun {path}: not a JSON report of `conformance run --report-json` "
                          f"(its format is not {REPORT_FORMAT})")
    found = []
    for record in report["failures"]:
        try:
            case = Case.from_json(record["case"])
            if category(case.category).kind is not case.kind:
                raise ValueError(f"category {case.category} is of kind {category(case.category).kind.value}")
            # Computed from the case as written, not read from `case_id`: a report of an older version has none.
            found_id = case_id_of(str(record["operation"]), str(record["protocol"]), record["case"])
            check = record.get("check")
            found.append((found_id, None if check is None else str(check), (case.operation, str(record["protocol"])),
                          case))
        except (KeyError, TypeError, ValueError) as exc:
            raise RerunError(f"--rerun {path}: a failure's case cannot be read ({exc})") from None
    return found
