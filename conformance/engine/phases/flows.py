"""Job flows: for each served lane, start a real job and take it through Stop (see `engine.job_flow`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from conformance.cases import Category, LaneKey, categories
from conformance.engine.config import RunConfig
from conformance.engine.job_flow import IdentityProbes, job_flow, planned_flow, transport_sender
from conformance.engine.lanes import Lane
from conformance.engine.phases import PhaseOutcome, RunContext
from conformance.engine.plan import PlannedRequest
from conformance.engine.results import CaseResult, Skip, SkipReason
from conformance.engine.safety import JobLedger
from conformance.generation.near_misses import FAMILIES, OTHER_JOB, category_of, drawn_near_misses
from conformance.generation.spellings import same_id_spelling
from conformance.model.job_apis import JobApi, job_api_for

# A flow's categories that depend on how the job goes (it may end before Stop, or never settle in time):
# judged when they happen, not promised.
CONDITIONAL = frozenset({categories.SETTLED.name, categories.STOP_SETTLED.name})
# The categories of drawn near misses: which families a job's id gives values for depends on the id, so they are
# judged as they come and counted, not promised (the fixed near misses are).
DRAWN = frozenset(category_of(family).name for family in (*FAMILIES, OTHER_JOB))


# How long a flow waits for the run's other flows to start their jobs, whose ids its near misses then include.
START_WAIT = 10.0


class _Arrivals:
    """Which flows have reached a point of their flow (tried to start their job; sent their first Stop): once all
    have, a flow's near misses include the others' jobs, and the state machine may start."""

    def __init__(self, lanes: list[LaneKey], all_in: threading.Event | None = None) -> None:
        self._due = set(lanes)
        self._condition = threading.Condition()
        self.all_in = all_in or threading.Event()  # set once every flow has arrived
        if not self._due:
            self.all_in.set()

    def arrive(self, lane: LaneKey) -> None:
        """The lane's flow has reached the point (or has ended)."""
        with self._condition:
            self._due.discard(lane)
            if not self._due:
                self.all_in.set()
            self._condition.notify_all()

    def wait(self, cancel: threading.Event) -> None:
        """Until every flow has arrived, the run is cancelled, or START_WAIT passes."""
        with self._condition:
            self._condition.wait_for(lambda: not self._due or cancel.is_set(), START_WAIT)


def identity_probes(config: RunConfig, lane: Lane, lanes: list[Lane], api: JobApi, count: int,
                    ledger: JobLedger | None = None, arrivals: _Arrivals | None = None,
                    cancel: threading.Event | None = None) -> IdentityProbes:
    """What a lane's flow sends to test its job's identity: `count` near misses drawn for the lane's seed (with the
    ids of the ledger's jobs of other kinds, once the other flows have started theirs), and the id in another legal
    spelling of the lane's protocol."""
    seed = config.seed + lanes.index(lane)

    def drawn(job_id: str) -> Sequence[tuple[Category, str]]:
        if arrivals is not None:
            arrivals.arrive(lane.key)
            arrivals.wait(cancel or threading.Event())
        others = [] if ledger is None else sorted(
            other for service, other in ledger.all_started() if ledger.stopper(service, other) != api.stop)
        return drawn_near_misses(job_id, others, count, seed)

    return IdentityProbes(drawn if count > 0 else None, same_id_spelling(lane.protocol.name).write)


def near_miss_count(ctx: RunContext) -> int:
    """How many near misses each flow draws: as many as the run asks for, within the budget's allocation."""
    allocated = ctx.allocation.near_misses if ctx.allocation is not None else None
    return ctx.config.near_misses if allocated is None else allocated


class JobsPhase:
    """One job flow per served lane whose operation has a job API, on threads of their own: a flow mostly waits
    for its job to settle, and must never hold a worker the cases need."""

    name = "job flows"

    def __init__(self) -> None:
        # Set once every flow has sent its job's first Stop (or ended, or the phase has): no flow starts a job or
        # sends a near miss after it, so the state machine can start without meeting the flows' jobs.
        self.stopped = threading.Event()
        self.done = threading.Event()  # set once `run` has ended: no flow sends anything more

    @staticmethod
    def why_not(config: RunConfig, lane: Lane) -> SkipReason | None:
        """Why no job flow runs on a lane (None: one does)."""
        if job_api_for(lane.operation.service.name, lane.operation.name) is None:
            return SkipReason.NO_JOB_API
        if not config.create_jobs:
            return SkipReason.JOBS_DISABLED
        if not config.target.creates_jobs:
            return SkipReason.JOBS_NOT_ALLOWED
        return None

    def flows_for(self, config: RunConfig, lanes: list[Lane]) -> list[tuple[Lane, JobApi]]:
        """The lanes (among `lanes`) whose job flow the run will start, with their job API."""
        found = [(lane, job_api_for(lane.operation.service.name, lane.operation.name)) for lane in lanes
                 if self.why_not(config, lane) is None]
        return [(lane, api) for lane, api in found if api is not None]

    def flows(self, ctx: RunContext, lanes: list[Lane]) -> list[tuple[Lane, JobApi]]:
        """The lanes (among `lanes`) whose job flow this run will start."""
        return self.flows_for(ctx.config, lanes)

    def plan(self, ctx: RunContext) -> list[PlannedRequest]:
        """Each flow's requests, from the flow's own code (JobIds a Start would return are placeholders)."""
        if ctx.allocation is not None and not ctx.allocation.flows:
            return []
        return [PlannedRequest(lane, case, note, operation) for lane, api in self.flows(ctx, ctx.live)
                for operation, case, note in planned_flow(lane.operation, api, lane.protocol, ctx.target.job_setup,
                                                          identity_probes(ctx.config, lane, ctx.lanes, api,
                                                                          near_miss_count(ctx)))]

    def costs(self, ctx: RunContext) -> tuple[int, int]:
        """What the flows of the served lanes send without drawn near misses, and what each drawn near miss per
        flow adds (a Stop and a Describe in every flow)."""
        flows = self.flows(ctx, ctx.live)
        fixed = sum(len(planned_flow(lane.operation, api, lane.protocol, ctx.target.job_setup,
                                     identity_probes(ctx.config, lane, ctx.lanes, api, 0))) for lane, api in flows)
        return fixed, 2 * len(flows)

    def promises(self, ctx: RunContext) -> dict[LaneKey, set[str]]:
        """Each flow's categories, but those that depend on how the job goes."""
        promised: dict[LaneKey, set[str]] = {}
        for lane, api in self.flows(ctx, ctx.lanes):
            planned = planned_flow(lane.operation, api, lane.protocol,
                                   identity=identity_probes(ctx.config, lane, ctx.lanes, api, 0))
            promised[lane.key] = {case.category for _, case, _ in planned
                                  if case.category not in CONDITIONAL and case.category not in DRAWN}
        return promised

    def run(self, ctx: RunContext) -> PhaseOutcome:
        """Run every flow at once; results in a fixed order (each flow's own order kept)."""
        try:
            return self._run(ctx)
        finally:
            self.stopped.set()
            self.done.set()

    def _run(self, ctx: RunContext) -> PhaseOutcome:
        assert ctx.transport is not None
        transport = ctx.transport
        outcome = PhaseOutcome(self.name)
        for lane in ctx.live:
            reason = self.why_not(ctx.config, lane)
            if reason is not None:
                outcome.skips.append(Skip(reason, lane.key))
        flows = self.flows(ctx, ctx.live)
        if ctx.allocation is not None and not ctx.allocation.flows:
            outcome.skips += [Skip(SkipReason.BUDGET_SPENT, lane.key, tuple(sorted(self.promises(ctx)[lane.key])))
                              for lane, _ in flows]
            return outcome

        arrivals = _Arrivals([lane.key for lane, _ in flows])
        stops = _Arrivals([lane.key for lane, _ in flows], self.stopped)

        def one(lane: Lane, api: JobApi) -> list[CaseResult]:
            send = transport_sender(lane.protocol, transport, ctx.checks, lane.operation.name)
            identity = identity_probes(ctx.config, lane, ctx.lanes, api, near_miss_count(ctx), transport.jobs, arrivals,
                                       ctx.cancel)
            try:
                return job_flow(lane.operation, api, send, transport.jobs, ctx.target.job_setup,
                                ctx.config.lifecycle, ctx.cancel, identity=identity,
                                on_stopped=lambda: stops.arrive(lane.key), settling=ctx.settling)
            finally:
                arrivals.arrive(lane.key)  # a flow that ended before its near misses keeps no other waiting
                stops.arrive(lane.key)

        with ThreadPoolExecutor(max_workers=max(len(flows), 1)) as pool:
            futures = [(lane, pool.submit(one, lane, api)) for lane, api in flows]
            promised = self.promises(ctx)
            for lane, future in futures:
                results = future.result()
                outcome.results += results
                if not any(result.case.category == categories.STOP.name for result in results):
                    sent = {result.case.category for result in results}
                    outcome.skips.append(Skip(SkipReason.CANCELLED if ctx.cancel.is_set() else SkipReason.START_FAILED,
                                              lane.key, tuple(sorted(promised[lane.key] - sent))))
        return outcome
