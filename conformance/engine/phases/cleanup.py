"""Clean-up: stop every job the run started and did not see stopped (a flow cut short, a Ctrl-C)."""

from __future__ import annotations

from conformance.cases import LaneKey
from conformance.engine.job_flow import stop_leftovers
from conformance.engine.phases import PhaseOutcome, RunContext
from conformance.engine.plan import PlannedRequest
from conformance.protocols import ProtocolName


class CleanupPhase:
    """Each leftover job, stopped by the Stop operation of its kind, over awsJson1_1 where the run has such a lane:
    every endpoint of these services speaks it."""

    name = "clean-up"

    def plan(self, ctx: RunContext) -> list[PlannedRequest]:
        """Nothing, unless a flow ends early."""
        return []

    def promises(self, ctx: RunContext) -> dict[LaneKey, set[str]]:
        """Nothing is promised: there may be nothing to clean."""
        return {}

    def run(self, ctx: RunContext) -> PhaseOutcome:
        """Stop the leftovers; the ledger keeps any that still could not be stopped."""
        assert ctx.transport is not None
        stoppers = {lane.operation.name: (lane.operation, lane.protocol)
                    for lane in sorted(ctx.lanes, key=lambda lane: lane.protocol.name is ProtocolName.AWS_JSON_1_1)}
        return PhaseOutcome(self.name, stop_leftovers(ctx.transport, stoppers))
