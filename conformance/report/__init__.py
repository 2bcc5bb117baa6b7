"""What a run found, summarised once for every report writer (terminal, JSON, JUnit)."""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from conformance import __version__
from conformance.checks import REGISTRY, severity
from conformance.cases import FLOW_KINDS
from conformance.execute import CaseResult
from conformance.redaction import redact_headers, redact_text, secrets_of
from conformance.report.reproduce import curl_command
from conformance.outcomes import Failed, LaneState, NotApplicable, Passed, Skip, SkipReason, lane_label
from conformance.runner import RunResult
from conformance.target import Target
from conformance.verdict import SERVED, BreachKind, Decision, Verdict, decide
from conformance.wire import clipped

REPORT_FORMAT = "conformance-report/1"
MAX_BODY_SHOWN = 2048
MAX_CURL_BODY = 64 << 10  # a larger request body carries a value a target supplied (a JobId): no curl line


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
class LaneCoverage:
    """What the run covered of one lane: its state, whether it must be served, and its categories."""

    operation: str
    protocol: str
    state: str  # a LaneState value
    required: bool
    judged: list[str]
    not_judged: list[str]  # promised and not judged (a chosen skip removes a category from the promise)


@dataclass
class Summary:
    """A run, reduced to what reports show; every report is written from it."""

    run: RunResult
    decision: Decision
    matrix: dict[str, dict[str, Cell]] = field(default_factory=dict)
    coverage: dict[str, Counter[str]] = field(default_factory=dict)
    observations: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)  # error-severity check failures, contract breaches
    warnings: list[dict[str, Any]] = field(default_factory=list)
    not_judged: list[dict[str, Any]] = field(default_factory=list)
    contract: list[LaneCoverage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rendered from the run's skips and figures
    reproduce_note: str = ""  # how to replay a reproduction when the run started (and stopped) the target

    @property
    def verdict(self) -> Verdict:
        """The run's verdict."""
        return self.decision.verdict

    @property
    def conforms(self) -> bool:
        """Whether the verdict is `conforms`."""
        return self.decision.verdict is Verdict.CONFORMS

    @property
    def operations(self) -> list[str]:
        """Operations in the order their results came."""
        return list(self.matrix)

    @property
    def not_sent(self) -> int:
        """Planned cases the budget left unsent."""
        return sum(skip.unsent for skip in self.run.skips)


def summarise(run: RunResult) -> Summary:
    """Decide the verdict, then fold every case result into the matrix, coverage, observations and records."""
    decision = decide(run)
    summary = Summary(run, decision)
    target = run.config.target
    secrets = secrets_of(target)
    for result in run.results:
        label = lane_label(result.case.operation, result.protocol)
        cells = summary.matrix.setdefault(
            label, {check_id: Cell(applies=check.applies(result.operation)) for check_id, check in REGISTRY.items()})
        summary.coverage.setdefault(label, Counter())[result.case.category] += 1
        if result.not_judged:
            message = result.not_judged_detail or result.not_judged.value
            summary.not_judged.append(failure_record(result, None, Failed(message), target, secrets, label))
            continue
        if result.observation:
            topic, choice = result.observation
            summary.observations.setdefault(label, defaultdict(Counter))[topic][clipped(choice, 80)] += 1
        for check_id, verdict in result.verdicts.items():
            cell = cells[check_id]
            if isinstance(verdict, NotApplicable):
                cell.not_applicable += 1
            elif isinstance(verdict, Passed):
                cell.passed += 1
            else:
                cell.failed += 1
    for result, check_id, verdict in decision.failures:
        summary.failures.append(failure_record(result, check_id, verdict, target, secrets))
    for breach in decision.breaches:
        if breach.kind is BreachKind.NOT_SERVED:
            probe = breach.probe
            record = failure_record(probe, SERVED, Failed(breach.describe(), "the operation served",
                                                          breach.detail or "not served"), target, secrets) \
                if probe is not None else None
            if record is not None:
                summary.failures.append(record)
    for result, check_id, verdict in decision.warnings:
        summary.warnings.append(failure_record(result, check_id, verdict, target, secrets))
    summary.contract = _contract(run, decision)
    summary.notes = _notes(run, decision)
    summary.reproduce_note = _reproduce_note(target)
    return summary


# Targets a run starts itself and stops when it ends, and the command that starts each on a fixed port.
_STARTED_BY_THE_RUN = {"embedded reference server": "conformance serve --port 8000",
                       "moto": "moto_server -H 127.0.0.1 -p 8000"}


def _reproduce_note(target: Target) -> str:
    """For a target the run started and has stopped, how to bring it back for the curl commands."""
    command = _STARTED_BY_THE_RUN.get(target.name)
    if command is None:
        return ""
    return (f"the {target.name} was started by this run and stopped with it, so {target.url} no longer answers: "
            f"start it with `{command}` and use http://127.0.0.1:8000 in place of {target.url} in the curl commands")


def _contract(run: RunResult, decision: Decision) -> list[LaneCoverage]:
    missing = {b.lane: list(b.categories) for b in decision.breaches if b.kind is BreachKind.NOT_JUDGED}
    return [LaneCoverage(lane.operation.name, lane.protocol.name,
                         run.states.get(lane.key, LaneState.NOT_PROBED).value, lane.key in run.required,
                         sorted(decision.judged.get(lane.key, set())), missing.get(lane.key, []))
            for lane in run.lanes]


def _notes(run: RunResult, decision: Decision) -> list[str]:
    """What the run did not test and why, and how the target was throttled: one line each, from outcomes."""
    notes = [skip.describe() for skip in _merged(run.skips) if skip.reason is not SkipReason.BUDGET_SPENT]
    if run.throttles:
        notes.append(f"throttled {run.throttles} time(s); the rate was lowered"
                     + (f" to as little as {run.lowest_rate:.1f} requests/s" if run.lowest_rate else ""))
    notes += [breach.describe() for breach in decision.breaches if breach.kind is BreachKind.JOB_LEFT_RUNNING]
    return notes


def _merged(skips: list[Skip]) -> list[Skip]:
    """Skips with the same reason and detail for lanes of every selected operation, said once per lane."""
    seen: set[tuple[object, ...]] = set()
    out = []
    for skip in skips:
        key = (skip.reason, skip.lane, skip.categories, skip.detail)
        if key not in seen:
            seen.add(key)
            out.append(skip)
    return out


def _body(data: bytes) -> dict[str, Any]:
    shown = data[:MAX_BODY_SHOWN]
    try:
        text: dict[str, Any] = {"text": shown.decode("utf-8")}
    except UnicodeDecodeError:
        text = {"base64": base64.b64encode(shown).decode("ascii")}
    return {**text, "length": len(data), "truncated": len(data) > MAX_BODY_SHOWN}


def failure_record(result: CaseResult, check_id: str | None, verdict: Failed, target: Target,
                   secrets: list[str], label: str | None = None) -> dict[str, Any]:
    """One failure as data in the fixed layout: case, request, expected, actual (plus a reproduction)."""
    request = result.request
    answer = result.answer
    record = {
        "operation": label or lane_label(result.case.operation, result.protocol),
        "protocol": result.protocol,
        "check": check_id,
        "severity": severity(check_id) if check_id else None,
        "message": verdict.message,
        "check_expected": verdict.expected,
        "check_actual": verdict.actual,
        # A flow's cases carry the JobId the target's Start answered: clipped. The others are ours, kept whole,
        # so that --rerun sends them again byte for byte.
        "case": _clipped_strings(result.case.to_json()) if result.case.kind in FLOW_KINDS else result.case.to_json(),
        "request": {"method": request.method,
                    "url": clipped(target.endpoint(result.operation.service.name).rstrip("/") + request.path),
                    "headers": _clipped_strings(redact_headers(request.headers)), "body": _body(request.body)},
        "expected": result.expectation.describe(),
        "actual": None if answer is None else {
            "status": answer.status,
            "error_type": None if answer.error_type is None else clipped(answer.error_type),
            "headers": _clipped_strings(redact_headers(answer.response.headers)),
            "body": _body(answer.response.body),
        },
        "curl": curl_command(request, target, result.operation.service, result.case.signing)
        if len(request.body) <= MAX_CURL_BODY else
        f"(not shown: the request body is {len(request.body)} bytes, a value the target supplied; see request.body)",
    }
    return _redact_all(record, secrets)


def _clipped_strings(value: Any) -> Any:
    """Every string in a JSON-like value clipped (`wire.clipped`): a target may have supplied any of them."""
    if isinstance(value, str):
        return clipped(value)
    if isinstance(value, dict):
        return {clipped(str(key)): _clipped_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clipped_strings(item) for item in value]
    return value


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
