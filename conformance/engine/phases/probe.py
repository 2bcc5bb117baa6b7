"""The probe: one valid request per lane, to learn which lanes (operation over protocol) the endpoint serves."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from conformance.cases import Case, LaneKey
from conformance.cases.categories import PROBE
from conformance.engine.budget import BudgetExhausted
from conformance.engine.execute import execute
from conformance.engine.lanes import Lane
from conformance.engine.phases import PhaseOutcome, RunContext
from conformance.engine.plan import PlannedRequest
from conformance.engine.results import CaseResult, LaneState, Skip, SkipReason
from conformance.judging.oracle import AWS_COMMON_ERRORS, UNKNOWN_OPERATION
from conformance.model.operations import Operation
from conformance.protocols import Answer
from conformance.wire.http import clipped

NO_ROUTE_STATUSES = frozenset({404, 405, 415, 501})


def probe_case(lane: Lane) -> Case:
    """A valid request for no job: what the endpoint answers tells whether it serves the lane."""
    return Case(lane.operation.name, PROBE.name, PROBE.kind, f"is {lane.protocol.name} served?",
                document={"JobId": "conformance-probe"}, job_id="conformance-probe")


def names_a_service_error(answer: Answer, operation: Operation) -> bool:
    """Whether the answer names one of the operation's declared errors or an AWS common error (in its resolved
    type or anywhere in its body): then a service answered, and the route exists."""
    names = {error.name for error in operation.errors} | AWS_COMMON_ERRORS
    if answer.error_type in names:
        return True
    text = answer.response.body[:65536].decode("latin-1")
    return any(name in text for name in names)


def is_not_served(answer: Answer, operation: Operation) -> bool:
    """Whether an answer says the route does not exist (not: that it is served badly)."""
    if answer.error_type == UNKNOWN_OPERATION:
        return True
    return answer.status in NO_ROUTE_STATUSES and not names_a_service_error(answer, operation)


def lane_state(result: CaseResult | None) -> LaneState:
    """What a probe's result says of its lane (None: the budget left no room for it)."""
    if result is None:
        return LaneState.NOT_PROBED
    if result.answer is None:
        return LaneState.UNANSWERED
    return LaneState.NOT_SERVED if is_not_served(result.answer, result.operation) else LaneState.SERVED


class ProbePhase:
    """Probe every lane at once; keep the probes of served and required lanes as judged cases."""

    name = "probe"

    def plan(self, ctx: RunContext) -> list[PlannedRequest]:
        """One probe per lane."""
        return [PlannedRequest(lane, probe_case(lane)) for lane in ctx.lanes]

    def promises(self, ctx: RunContext) -> dict[LaneKey, set[str]]:
        """The probe of every lane."""
        return {lane.key: {PROBE.name} for lane in ctx.lanes}

    def run(self, ctx: RunContext) -> PhaseOutcome:
        """Send the probes, record each lane's state."""
        assert ctx.transport is not None
        transport = ctx.transport

        def probe(lane: Lane) -> CaseResult | None:
            try:
                return execute(lane.operation, probe_case(lane), lane.protocol, transport, ctx.checks)
            except BudgetExhausted:  # throttled retries spent the budget
                return None

        with ThreadPoolExecutor(max_workers=max(ctx.config.workers, 1)) as pool:
            futures = [pool.submit(probe, lane) for lane in ctx.lanes]
            ctx.interruption.settle(futures)
            results = [future.result() for future in futures]
        outcome = PhaseOutcome(self.name)
        for lane, result in zip(ctx.lanes, results, strict=True):
            state = ctx.states[lane.key] = lane_state(result)
            if state is LaneState.NOT_PROBED:
                outcome.skips.append(Skip(SkipReason.BUDGET_SPENT, lane.key, (PROBE.name,)))
            elif state is LaneState.NOT_SERVED and lane.key not in ctx.prepared.required:
                # A protocol the endpoint may leave out: reported, not judged (its probe would fail every check).
                assert result is not None and result.answer is not None
                outcome.skips.append(Skip(SkipReason.NOT_SERVED, lane.key, detail=_said(result.answer)))
            elif result is not None:
                outcome.results.append(result)
        return outcome


def _said(answer: Answer) -> str:
    return clipped(f"answered {answer.status} {answer.error_type or ''}".strip(), 80)
