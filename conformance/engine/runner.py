"""A run: a loop over phases (see `engine.phases`), each returning typed outcomes.

Nothing here decides the verdict: `engine.verdict.decide` does, from the `RunResult` alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from conformance.cases import LaneKey
from conformance.engine.config import RunConfig
from conformance.engine.execute import execute
from conformance.engine.lanes import Lane
from conformance.engine.phases import Phase, PhaseOutcome, Progress, RunContext
from conformance.engine.phases.auth import AuthPhase
from conformance.engine.phases.budget import BudgetPhase
from conformance.engine.phases.cleanup import CleanupPhase
from conformance.engine.phases.flows import JobsPhase
from conformance.engine.phases.machine import MachinePhase
from conformance.engine.phases.planned_cases import CasesPhase, fails
from conformance.engine.phases.probe import ProbePhase, lane_state, probe_case
from conformance.engine.phases.shrink import ShrinkPhase
from conformance.engine.plan import PlannedRequest, RunPlan, prepare
from conformance.engine.results import LaneState, RunResult
from conformance.engine.transport import Transport


def stages() -> list[list[Phase]]:
    """The phases of a run, stage by stage; the phases of one stage run side by side."""
    auth, jobs = AuthPhase(), JobsPhase()
    machine = MachinePhase(after=jobs)
    return [[ProbePhase()], [BudgetPhase(jobs, auth, machine)], [auth], [jobs, machine, CasesPhase()], [ShrinkPhase()],
            [CleanupPhase()]]


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C ended the run; `result` holds what was judged until then (every started job stopped)."""

    def __init__(self, result: RunResult) -> None:
        super().__init__("interrupted")
        self.result = result


def run(config: RunConfig, progress: Progress | None = None,
        on_interrupt: Callable[[], None] | None = None) -> RunResult:
    """Plan, then run each stage's phases; ConfigurationError when the configuration cannot work, RunInterrupted
    (with the partial result) on Ctrl-C, at which `on_interrupt` is called at once (from the signal handler)."""
    prepared = prepare(config)
    try:
        return _run_prepared(config, prepared, progress, on_interrupt)
    finally:
        prepared.close()  # the drawing process is stopped however the run ends


def _run_prepared(config: RunConfig, prepared: RunPlan, progress: Progress | None,
                  on_interrupt: Callable[[], None] | None = None) -> RunResult:
    transport = Transport(config.target, rate=config.rate, pool_size=max(config.workers, 1), budget=config.budget,
                          read_timeout=config.read_timeout)
    ctx = RunContext(config, prepared, transport, progress)
    ctx.interruption.announce = on_interrupt
    result = RunResult(config, prepared.operations, prepared.lanes, prepared.required)
    all_stages = stages()
    began = time.monotonic()
    ctx.limits.start()
    try:
        with ctx.interruption.handled():
            for stage in all_stages[:-1]:
                outcomes = _run_stage(ctx, stage)
                _absorb(result, outcomes)
                ctx.judged += [judged for outcome in outcomes for judged in outcome.results]
                ctx.interruption.check()  # a Ctrl-C whose exception Python dropped
                _count_failures(ctx, outcomes)
                if ctx.limits.reached():  # --max-failures, --max-time: no further stage; the clean-up still runs
                    break
    except KeyboardInterrupt:  # Ctrl-C: keep what was judged, stop every job a flow left running
        ctx.limits.finish()
        ctx.cancel.set()
        _absorb(result, ctx.partial + [phase.run(ctx) for phase in all_stages[-1]])
        result.interrupted = True
        _finish(result, ctx, all_stages, began)
        raise RunInterrupted(result) from None
    except BaseException:
        ctx.limits.finish()
        ctx.cancel.set()
        _absorb(result, [phase.run(ctx) for phase in all_stages[-1]])
        transport.close()
        raise
    ctx.limits.finish()  # the clean-up is never cut short: every started job is stopped
    result.stopped = ctx.limits.stopped
    _absorb(result, [phase.run(ctx) for phase in all_stages[-1]])
    _finish(result, ctx, all_stages, began)
    return result


def _count_failures(ctx: RunContext, outcomes: list[PhaseOutcome]) -> None:
    """Count the failing cases of a stage toward --max-failures (the planned cases count themselves, as judged)."""
    for outcome in outcomes:
        if outcome.phase != CasesPhase.name:
            for judged in outcome.results:
                if fails(judged):
                    ctx.limits.failed()


def _finish(result: RunResult, ctx: RunContext, all_stages: list[list[Phase]], began: float) -> None:
    """Fill in what the run learnt as a whole; close the transport and the progress display."""
    transport = ctx.transport
    assert transport is not None
    close = getattr(ctx.progress, "close", None)
    if close is not None:
        close()
    result.elapsed = time.monotonic() - began
    result.states = dict(ctx.states)
    result.promised = _promises(ctx, all_stages)
    result.requests_sent = transport.sent
    result.sender = transport.path
    if transport.first_sent_at is not None and transport.last_answer_at is not None:
        result.sending_window = transport.last_answer_at - transport.first_sent_at
    result.jobs_started = transport.jobs.all_started()
    result.jobs_left_running = transport.jobs.unstopped()
    result.throttles, result.lowest_rate = transport.limiter.throttles, transport.limiter.lowest
    result.settling = ctx.settling
    transport.close()


def _run_stage(ctx: RunContext, stage: list[Phase]) -> list[PhaseOutcome]:
    """Run a stage's phases side by side: all but the last on threads, the last here (so Ctrl-C reaches it)."""
    if len(stage) == 1:
        return [stage[0].run(ctx)]
    with ThreadPoolExecutor(max_workers=len(stage) - 1) as pool:
        futures = [pool.submit(phase.run, ctx) for phase in stage[:-1]]
        try:
            last = stage[-1].run(ctx)
            still = [phase.name for phase, future in zip(stage, futures) if not future.done()]
            waiting = getattr(ctx.progress, "waiting", None)
            if still and waiting is not None:  # say what the run waits on, so that the wait never looks like a hang
                waiting(f"{last.phase} done; waiting for the {', '.join(still)} (jobs settle within "
                        f"--settle-timeout {ctx.config.lifecycle.settle_timeout:g} s)")
            ctx.interruption.settle(futures)
        except KeyboardInterrupt:  # the others see the cancellation (flows still reach their Stop): keep theirs
            ctx.cancel.set()
            ctx.partial += [future.result() for future in futures]
            raise
        return [future.result() for future in futures] + [last]


def _absorb(result: RunResult, outcomes: list[PhaseOutcome]) -> None:
    for outcome in outcomes:
        result.phases.append(outcome.phase)
        result.results += outcome.results
        result.skips += outcome.skips
        result.shrinkings += outcome.shrinkings


def _promises(ctx: RunContext, all_stages: list[list[Phase]]) -> dict[LaneKey, set[str]]:
    promised: dict[LaneKey, set[str]] = {lane.key: set() for lane in ctx.lanes}
    for stage in all_stages:
        for phase in stage:
            for lane, categories in phase.promises(ctx).items():
                promised.setdefault(lane, set()).update(categories)
    return promised


def planned_requests(config: RunConfig) -> list[PlannedRequest]:
    """Every request a run would send, in order, if the endpoint served every lane: each phase's own plan, within
    the budget; sends none (job ids a Start would return are placeholders)."""
    ctx = RunContext(config, prepare(config), None)
    found: list[PlannedRequest] = []
    try:
        for stage in stages():
            for phase in stage:
                found += phase.plan(ctx)
                if phase.name == "budget":
                    phase.run(ctx)
    finally:
        ctx.prepared.close()
    return found


def probe_lane(lane: Lane, transport: Transport) -> LaneState:
    """What one probe learns of a lane (for the pytest plugin)."""
    return lane_state(execute(lane.operation, probe_case(lane), lane.protocol, transport))
