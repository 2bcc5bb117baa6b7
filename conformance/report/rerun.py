"""An earlier JSON report's failed cases, to send again (`conformance run --rerun REPORT`)."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.cases import FLOW_KINDS, Case, LaneKey, category
from conformance.report.records import REPORT_FORMAT


class RerunError(ValueError):
    """The file is not a JSON report of `conformance run --report-json`, or a failure's case cannot be read."""


def rerun_plan(path: Path) -> tuple[tuple[tuple[LaneKey, Case], ...], bool]:
    """The failed cases of an earlier JSON report, each once with its lane, and whether a failure was in a job flow
    (whose cases the flow sends again itself); RerunError when the file is not such a report."""
    unique: dict[tuple[object, ...], tuple[LaneKey, Case]] = {}
    flows = False
    for lane, case in _failures(path):  # a case that failed several checks is sent once
        if case.kind in FLOW_KINDS:
            flows = True
        else:
            unique.setdefault((lane, case.key()), (lane, case))
    return tuple(unique.values()), flows


def _failures(path: Path) -> list[tuple[LaneKey, Case]]:
    """Every failure of a `conformance-report/1` file as (lane, case)."""
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
            found.append(((case.operation, str(record["protocol"])), case))
        except (KeyError, TypeError, ValueError) as exc:
            raise RerunError(f"--rerun {path}: a failure's case cannot be read ({exc})") from None
    return found
