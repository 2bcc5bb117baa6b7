"""What a run found, summarised once for every report writer (terminal, JSON, JUnit, Markdown): the verdict, the
matrix of operation × check, the coverage contract, and each failure as a typed record (`records`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from conformance.cases import Case, Kind, lane_label
from conformance.engine.baseline import Baseline
from conformance.engine.results import CaseResult, LaneState, RunResult, Skip, SkipReason
from conformance.engine.verdict import BreachKind, Decision, Verdict, decide
from conformance.judging.check_results import Failed, NotApplicable, Passed
from conformance.judging.checks import REGISTRY, SERVED
from conformance.report.records import FailureRecord, failure_record
from conformance.report.rerun import RerunComparison
from conformance.targets.target import Target
from conformance.wire.http import clipped
from conformance.wire.redaction import secrets_of


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
class Tally:
    """How many cases of a kind a lane sent, and how many of them got a verdict."""

    sent: int = 0
    judged: int = 0


# The properties a run tests over drawn inputs, by the name reports give them, and the cases each counts.
PROPERTIES: tuple[tuple[str, Callable[[Case], bool]], ...] = (
    ("near misses", lambda case: case.kind is Kind.NEAR_MISS),
    ("respellings", lambda case: bool(case.spelling)),
    ("signing cases", lambda case: case.kind is Kind.AUTH),
    ("state-machine steps", lambda case: case.category.startswith("machine.")),
)


@dataclass
class Summary:
    """A run, reduced to what reports show; every report is written from it."""

    run: RunResult
    decision: Decision
    matrix: dict[str, dict[str, Cell]] = field(default_factory=dict)
    coverage: dict[str, Counter[str]] = field(default_factory=dict)
    properties: dict[str, dict[str, Tally]] = field(default_factory=dict)  # lane label -> PROPERTIES' name -> tally
    observations: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    failures: list[FailureRecord] = field(default_factory=list)  # error-severity check failures, contract breaches
    warnings: list[FailureRecord] = field(default_factory=list)
    not_judged: list[FailureRecord] = field(default_factory=list)
    contract: list[LaneCoverage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rendered from the run's skips and figures
    reproduce_note: str = ""  # how to replay a reproduction when the run started (and stopped) the target
    rerun: RerunComparison | None = None  # with --rerun: this run beside the report it reran

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


def summarise(run: RunResult, baseline: Baseline | None = None) -> Summary:
    """Decide the verdict (against `baseline`, when given), then fold every case result into the matrix, coverage,
    observations and records."""
    decision = decide(run, baseline)
    summary = Summary(run, decision)
    target = run.config.target
    secrets = secrets_of(target.credentials)
    for result in run.results:
        _tally(summary, result)
        label = lane_label(result.case.operation, result.protocol)
        cells = summary.matrix.setdefault(
            label, {check_id: Cell(applies=check.applies(result.operation)) for check_id, check in REGISTRY.items()
                    if not check.opt_in})  # an opt-in check (the recording's) has a row only where it judged
        summary.coverage.setdefault(label, Counter())[result.case.category] += 1
        if result.not_judged:
            message = result.not_judged_detail or result.not_judged.value
            summary.not_judged.append(failure_record(result, None, Failed(message), target, secrets, label))
            continue
        if result.observation:
            topic, choice = result.observation
            summary.observations.setdefault(label, defaultdict(Counter))[topic][clipped(choice, 80)] += 1
        for check_id, verdict in result.verdicts.items():
            cell = cells.setdefault(check_id, Cell())
            if isinstance(verdict, NotApplicable):
                cell.not_applicable += 1
            elif isinstance(verdict, Passed):
                cell.passed += 1
            else:
                cell.failed += 1
    shrunk = {(id(shrinking.original), shrinking.check): shrinking for shrinking in run.shrinkings}
    for result, check_id, verdict in decision.failures:
        record = failure_record(result, check_id, verdict, target, secrets, shrunk=shrunk.get((id(result), check_id)))
        if decision.baseline is not None:
            record = replace(record, accepted=decision.accepts(result, check_id))
        summary.failures.append(record)
    for breach in decision.breaches:
        if breach.kind is BreachKind.NOT_SERVED:
            probe = breach.probe
            record = failure_record(probe, SERVED, Failed(breach.describe(), "the operation served",
                                                          breach.detail or "not served"), target, secrets) \
                if probe is not None else None
            if record is not None:  # a lane not served is never accepted by a baseline: it fails the run
                summary.failures.append(record if decision.baseline is None else replace(record, accepted=False))
    for result, check_id, verdict in decision.warnings:
        summary.warnings.append(failure_record(result, check_id, verdict, target, secrets))
    summary.contract = _contract(run, decision)
    summary.notes = _notes(run, decision)
    summary.reproduce_note = _reproduce_note(target)
    return summary


def _tally(summary: Summary, result: CaseResult) -> None:
    """Count the result under each property it is a case of, for the lane it tests (a flow's Describe: its Stop's)."""
    lane = lane_label(*result.lane) if result.lane[0] else lane_label(result.case.operation, result.protocol)
    tallies = summary.properties.setdefault(lane, {name: Tally() for name, _ in PROPERTIES})
    for name, counts in PROPERTIES:
        if counts(result.case):
            tallies[name].sent += 1
            tallies[name].judged += result.judged and result.not_judged is None


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
    lifecycle = run.config.lifecycle
    settling = run.settling.note(lifecycle.settle_timeout, lifecycle.source) if run.settling is not None else ""
    if settling:  # how long the run waited for stopped jobs, and what it learnt (a local target only)
        notes.append(settling)
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
