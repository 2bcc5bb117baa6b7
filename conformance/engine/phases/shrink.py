"""Shrinking: the first failing generated case of each lane and check, shrunk against the target to the smallest
case of its family that fails the same check (`generation.shrinking`), so that a report shows the fault in its
plainest form beside the case that found it."""

from __future__ import annotations

import time

from conformance.cases import FLOW_KINDS, Case, LaneKey
from conformance.engine.execute import execute
from conformance.engine.lanes import Lane
from conformance.engine.phases import PhaseOutcome, RunContext
from conformance.engine.plan import PlannedRequest
from conformance.engine.results import CaseResult, Shrinking
from conformance.engine.transport import Transport
from conformance.generation import strategies
from conformance.generation.shrinking import shrink
from conformance.judging.check_results import Failed, Severity
from conformance.judging.checks import severity

MAX_SHRUNK = 5  # failures shrunk in one run: the first of each lane and check
SHRINK_SECONDS = 60.0  # how long one failure may take shrinking, whatever --shrink-requests allows


def shrinkable(results: list[CaseResult], limit: int = MAX_SHRUNK) -> list[tuple[CaseResult, str]]:
    """(result, check) of the first failure of each lane and error-severity check among generated cases, in the
    order they were judged, at most `limit`: those a shrink can start from (drawn, in the usual spelling, not a
    job flow's)."""
    chosen: dict[tuple[tuple[str, str], str], CaseResult] = {}
    for result in results:
        case = result.case
        if case.choices is None or case.spelling or case.kind in FLOW_KINDS or result.not_judged is not None:
            continue
        failing = [check for check in result.failures() if severity(check) is Severity.ERROR]
        if failing and (result.lane, failing[0]) not in chosen:
            chosen[(result.lane, failing[0])] = result
    return [(result, check) for (_, check), result in list(chosen.items())[:limit]]


class _Trials:
    """Sends the cases a shrink tries over one lane, says whether each fails the check, and keeps each result."""

    def __init__(self, lane: Lane, check: str, transport: Transport, checks: list[str] | None,
                 original: CaseResult) -> None:
        self.lane, self.check, self.transport, self.checks = lane, check, transport, checks
        self.judged: dict[tuple[object, ...], CaseResult] = {original.case.key(): original}

    def __call__(self, case: Case) -> bool:
        """Send the case (BudgetExhausted when the budget is spent): whether it fails the check."""
        result = execute(self.lane.operation, case, self.lane.protocol, self.transport, self.checks)
        self.judged[case.key()] = result
        return isinstance(result.verdicts.get(self.check), Failed)


class ShrinkPhase:
    """Each chosen failure shrunk within `--shrink-requests` requests, SHRINK_SECONDS and the budget."""

    name = "shrink"

    def plan(self, ctx: RunContext) -> list[PlannedRequest]:
        """Nothing known before failures: a dry run lists none (a real run may send up to --shrink-requests for each
        of MAX_SHRUNK failures, within --budget)."""
        return []

    def promises(self, ctx: RunContext) -> dict[LaneKey, set[str]]:
        """Nothing: it only explains failures already judged."""
        return {}

    def run(self, ctx: RunContext) -> PhaseOutcome:
        """Shrink each chosen failure; what each found is an outcome beside the failure (never a failure of its
        own: the fault is the one already judged)."""
        outcome = PhaseOutcome(self.name)
        if ctx.transport is None or ctx.config.shrink_requests <= 0 or ctx.cancel.is_set():
            return outcome
        lanes = {lane.key: lane for lane in ctx.lanes}
        for original, check in shrinkable(ctx.judged):
            lane = lanes.get(original.lane)
            if lane is None or ctx.cancel.is_set():
                continue
            families = strategies.families(lane.operation, lane.protocol, ctx.prepared.operations)
            family = next((each for each in families if each.category == original.case.category), None)
            if family is None:
                continue
            trials = _Trials(lane, check, ctx.transport, ctx.checks, original)
            shrunk = shrink(family.strategy, original.case, trials, ctx.config.shrink_requests,
                            time.monotonic() + SHRINK_SECONDS, ctx.cancel.is_set)
            minimal = trials.judged.get(shrunk.case.key(), original)
            outcome.shrinkings.append(Shrinking(original, check, minimal, shrunk.tries, shrunk.finished))
        return outcome
