"""What a run found, summarised once for every report writer (terminal, JSON, JUnit)."""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from conformance import __version__
from conformance.checks import REGISTRY
from conformance.execute import CaseResult
from conformance.redaction import redact_headers, redact_text, secrets_of
from conformance.report.reproduce import curl_command
from conformance.runner import RunResult, lane_label
from conformance.target import Target

REPORT_FORMAT = "conformance-report/1"
MAX_BODY_SHOWN = 2048


@dataclass
class Cell:
    """One operation × check: how many answers passed, failed, or were not applicable."""

    passed: int = 0
    failed: int = 0
    not_applicable: int = 0
    applies: bool = True  # False: the check can never apply to this operation

    @property
    def state(self) -> str:
        """failed, passed, n/a (never applies to the operation) or skipped (no answer it applied to)."""
        if not self.applies:
            return "n/a"
        return "failed" if self.failed else "passed" if self.passed else "skipped"


@dataclass
class Summary:
    """A run, reduced to what reports show."""

    run: RunResult
    matrix: dict[str, dict[str, Cell]] = field(default_factory=dict)
    coverage: dict[str, Counter[str]] = field(default_factory=dict)
    observations: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)  # error-severity check failures
    warnings: list[dict[str, Any]] = field(default_factory=list)
    not_judged: list[dict[str, Any]] = field(default_factory=list)
    uncovered: dict[str, list[str]] = field(default_factory=dict)  # lane -> categories the budget left unsent

    @property
    def conforms(self) -> bool:
        """No error-severity check failed."""
        return not self.failures

    @property
    def operations(self) -> list[str]:
        """Operations in the order their results came."""
        return list(self.matrix)


def summarise(run: RunResult) -> Summary:
    """Fold every case result into the matrix, coverage, observations and failure records."""
    summary = Summary(run)
    target = run.config.target
    secrets = secrets_of(target)
    several = len({result.protocol for result in run.results} | {protocol for protocol, _ in run.unsent}) > 1
    for result in run.results:
        operation = lane_label(result.case.operation, result.protocol, several)
        cells = summary.matrix.setdefault(
            operation, {check_id: Cell(applies=check.applies(result.operation)) for check_id, check in REGISTRY.items()})
        summary.coverage.setdefault(operation, Counter())[result.case.category] += 1
        if result.not_judged:
            summary.not_judged.append(failure_record(result, None, result.not_judged, target, secrets, operation))
            continue
        if result.observation:
            topic, choice = result.observation
            summary.observations.setdefault(operation, defaultdict(Counter))[topic][choice] += 1
        for check_id, verdict in result.verdicts.items():
            cell = cells[check_id]
            if verdict is None:
                cell.not_applicable += 1
            elif verdict == "":
                cell.passed += 1
            else:
                cell.failed += 1
                record = failure_record(result, check_id, verdict, target, secrets, operation)
                (summary.warnings if REGISTRY[check_id].severity == "warning" else summary.failures).append(record)
    for protocol, case in run.unsent:
        label = lane_label(case.operation, protocol, several)
        if case.category not in summary.coverage.get(label, ()) and case.category not in summary.uncovered.get(label, ()):
            summary.uncovered.setdefault(label, []).append(case.category)
    return summary


def _body(data: bytes) -> dict[str, Any]:
    shown = data[:MAX_BODY_SHOWN]
    try:
        text: dict[str, Any] = {"text": shown.decode("utf-8")}
    except UnicodeDecodeError:
        text = {"base64": base64.b64encode(shown).decode("ascii")}
    return {**text, "length": len(data), "truncated": len(data) > MAX_BODY_SHOWN}


def failure_record(result: CaseResult, check_id: str | None, message: str, target: Target,
                   secrets: list[str], label: str | None = None) -> dict[str, Any]:
    """One failure as data in the fixed layout: case, request, expected, actual (plus a reproduction)."""
    request = result.request
    answer = result.answer
    record = {
        "operation": label or result.case.operation,
        "protocol": result.protocol,
        "check": check_id,
        "severity": REGISTRY[check_id].severity if check_id else None,
        "message": message,
        "case": result.case.to_json(),
        "request": {"method": request.method, "url": target.endpoint(result.operation.service.name).rstrip("/") + request.path,
                    "headers": redact_headers(request.headers), "body": _body(request.body)},
        "expected": result.expectation.describe(),
        "actual": None if answer is None else {
            "status": answer.status,
            "error_type": answer.error_type,
            "headers": redact_headers(answer.response.headers),
            "body": _body(answer.response.body),
        },
        "curl": curl_command(request, target, result.operation.service, result.case.signing),
    }
    return _redact_all(record, secrets)


def _redact_all(value: Any, secrets: list[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {key: _redact_all(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_all(item, secrets) for item in value]
    return value


def tool() -> dict[str, str]:
    """This tool's name and version, for reports."""
    return {"name": "aws-comprehend-conformance", "version": __version__}
