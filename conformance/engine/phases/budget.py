"""Sharing the budget, once probing has shown which lanes are served: none is spent on the others."""

from __future__ import annotations

from collections.abc import Sequence

from conformance.cases import LaneKey
from conformance.engine.budget import allocate
from conformance.engine.phases import Phase, PhaseOutcome, RunContext
from conformance.engine.phases.flows import JobsPhase
from conformance.engine.phases.machine import MachinePhase
from conformance.engine.plan import PlannedRequest
from conformance.engine.results import Skip, SkipReason


class BudgetPhase:
    """Count what the job flows and authentication cases of the served lanes would send, and cut each lane's
    cases to its share of what is left."""

    name = "budget"

    def __init__(self, flows: JobsPhase, auth: Phase, machine: MachinePhase | None = None) -> None:
        self.flows = flows
        self.auth = auth
        self.machine = machine

    def plan(self, ctx: RunContext) -> list[PlannedRequest]:
        """Nothing is sent."""
        return []

    def promises(self, ctx: RunContext) -> dict[LaneKey, set[str]]:
        """Nothing is judged."""
        return {}

    def run(self, ctx: RunContext) -> PhaseOutcome:
        """Fill `ctx.allocation`; the cases phase sends within it."""
        remaining = ctx.transport.budget.remaining if ctx.transport is not None else ctx.config.budget
        if ctx.transport is None and remaining is not None:
            remaining -= len(ctx.lanes)  # the probes
        fixed, per_near_miss = self.flows.costs(ctx)
        machine_steps = self.machine.wanted(ctx) if self.machine is not None else 0
        # Drawn near misses and the state machine's share come after the first case of every category of every
        # lane (the promise); a budget draws the lanes' plans whole to cut them anyway.
        first_pass = 0 if remaining is None else sum(
            len({case.category for case in ctx.prepared.planned[lane.key]}) for lane in ctx.live)
        ctx.allocation = allocate(remaining, ctx.live, fixed, len(self.auth.plan(ctx)), per_near_miss,
                                  ctx.config.near_misses, machine_steps, first_pass)
        return PhaseOutcome(self.name)


def cut_skips(cut: Sequence[tuple[LaneKey, str]]) -> list[Skip]:
    """One BUDGET_SPENT skip per lane for the categories of the cases the budget cut off."""
    by_lane: dict[LaneKey, dict[str, None]] = {}
    for lane, category in cut:
        by_lane.setdefault(lane, {})[category] = None
    count = {lane: sum(1 for key, _ in cut if key == lane) for lane in by_lane}
    return [Skip(SkipReason.BUDGET_SPENT, lane, tuple(categories), unsent=count[lane])
            for lane, categories in by_lane.items()]
