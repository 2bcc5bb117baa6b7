"""The state machine, beside the job flows and the cases: runs of Start, Describe and Stop over every job kind the
endpoint serves, each answer judged against the lifecycle model (see `engine.machine`).

It runs where job flows may run (`JobsPhase.why_not`: on AWS only with --create-jobs), for
--state-machine-steps requests at most (within the budget's share), and stops every job it starts.
Its steps are judged as they come and counted (`machine.*` categories), not promised: which steps a
drawn run takes depends on the seed, as the drawn near misses do.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Sequence

from conformance.cases import LaneKey, categories
from conformance.engine.config import LifecycleConfig
from conformance.engine.job_flow import NoLedger
from conformance.engine.lanes import Lane
from conformance.engine.machine import (
    MachineKind,
    PlanningSteps,
    StateMachine,
    machine_kinds,
    run_machine,
    transport_step_sender,
)
from conformance.engine.phases import WAKE_INTERVAL, PhaseOutcome, RunContext
from conformance.engine.phases.flows import JobsPhase
from conformance.engine.plan import PlannedRequest
from conformance.engine.results import Skip, SkipReason
from conformance.generation.machine_steps import OPENING, Action, draw_runs


class MachinePhase:
    """The state machine's runs, on a thread of its own: its steps go one at a time, and a settle step waits. Given
    the job flows' phase, it starts once every flow has sent its job's first Stop: no flow starts a job, sends a near
    miss or describes its job as untouched after that, so the flows never meet its jobs, and only a flow's later
    looks at its own job and Stops of it go out beside its first runs. It shrinks a failing run once the flows are
    done, so that nothing but the shorter runs themselves can make them fail."""

    name = "state machine"

    def __init__(self, after: JobsPhase | None = None) -> None:
        self.after = after

    @staticmethod
    def kinds(ctx: RunContext, lanes: list[Lane]) -> list[MachineKind]:
        """The job kinds it starts jobs of: those of the lanes (among `lanes`) where job flows may run."""
        return machine_kinds(lane for lane in lanes if JobsPhase.why_not(ctx.config, lane) is None)

    def wanted(self, ctx: RunContext) -> int:
        """The steps the run asks for (--state-machine-steps), 0 where no served lane may start jobs."""
        return ctx.config.machine.steps if self.kinds(ctx, ctx.live) else 0

    def steps(self, ctx: RunContext) -> int:
        """The steps it may send: as many as asked, within the budget's share."""
        allocated = ctx.allocation.machine_steps if ctx.allocation is not None else None
        wanted = self.wanted(ctx)
        return wanted if allocated is None else min(wanted, allocated)

    @staticmethod
    def runs(ctx: RunContext) -> Iterator[Sequence[Action]]:
        """The opening, then runs drawn from the seed (one past each lane's own: `config.seed + index`)."""
        return itertools.chain([OPENING], draw_runs(ctx.config.seed + len(ctx.lanes)))

    def plan(self, ctx: RunContext) -> list[PlannedRequest]:
        """The steps of its runs where nothing fails (JobIds a Start would return are placeholders; a settling job
        settles at its first look)."""
        steps = self.steps(ctx)
        if not steps:
            return []
        planner = PlanningSteps()
        machine = StateMachine(self.kinds(ctx, ctx.live), planner, NoLedger(), ctx.target.job_setup,
                               LifecycleConfig(settle_timeout=1.0), pause=lambda seconds: None)
        run_machine(machine, self.runs(ctx), steps, 0)
        return [PlannedRequest(step.lane, step.case, step.note, step.operation) for step in planner.planned]

    def promises(self, ctx: RunContext) -> dict[LaneKey, set[str]]:
        """Nothing: its steps are judged as they come (which a drawn run takes depends on the seed)."""
        return {}

    def run(self, ctx: RunContext) -> PhaseOutcome:
        """Send its runs until one fails or the steps are spent; shrink a failing run."""
        assert ctx.transport is not None
        outcome = PhaseOutcome(self.name)
        wanted, steps = self.wanted(ctx), self.steps(ctx)
        if steps < wanted:
            outcome.skips.append(Skip(SkipReason.BUDGET_SPENT, None, tuple(sorted(categories.MACHINE)),
                                      f"the state machine had {steps} of {wanted} steps", unsent=wanted - steps))
        if not steps:
            return outcome
        _wait(ctx, self.after.stopped if self.after is not None else None)
        config = ctx.config
        machine = StateMachine(self.kinds(ctx, ctx.live), transport_step_sender(ctx.transport, ctx.checks),
                               ctx.transport.jobs, ctx.target.job_setup, config.lifecycle, ctx.cancel,
                               settling=ctx.settling)
        shrink = ctx.allocation.machine_shrink if ctx.allocation is not None else None
        outcome.results = run_machine(machine, self.runs(ctx), steps,
                                      config.machine.shrink_requests if shrink is None else shrink,
                                      config.machine, config.failure_limit is not None,
                                      before_shrink=lambda: _wait(ctx, self.after.done if self.after else None))
        return outcome


def _wait(ctx: RunContext, reached: threading.Event | None) -> None:
    """Until the job flows have reached a point of theirs (None: at once), or the run is cancelled."""
    while reached is not None and not reached.wait(WAKE_INTERVAL) and not ctx.cancel.is_set():
        pass
