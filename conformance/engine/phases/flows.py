"""Job flows: for each served lane, start a real job and take it through Stop (see `engine.job_flow`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from conformance.cases import LaneKey, categories
from conformance.engine.config import RunConfig
from conformance.engine.job_flow import job_flow, planned_flow, transport_sender
from conformance.engine.lanes import Lane
from conformance.engine.phases import PhaseOutcome, RunContext
from conformance.engine.plan import PlannedRequest
from conformance.engine.results import CaseResult, Skip, SkipReason
from conformance.model.job_apis import JobApi, job_api_for

# A flow's categories that depend on how the job goes (it may end before Stop, or never settle in time):
# judged when they happen, not promised.
CONDITIONAL = frozenset({categories.SETTLED.name, categories.STOP_SETTLED.name})


class JobsPhase:
    """One job flow per served lane whose operation has a job API, on threads of their own: a flow mostly waits
    for its job to settle, and must never hold a worker the cases need."""

    name = "job flows"

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
                for operation, case, note in planned_flow(lane.operation, api, lane.protocol, ctx.target.job_setup)]

    def promises(self, ctx: RunContext) -> dict[LaneKey, set[str]]:
        """Each flow's categories, but those that depend on how the job goes."""
        promised: dict[LaneKey, set[str]] = {}
        for lane, api in self.flows(ctx, ctx.lanes):
            categories = {case.category for _, case, _ in planned_flow(lane.operation, api, lane.protocol)}
            promised[lane.key] = categories - CONDITIONAL
        return promised

    def run(self, ctx: RunContext) -> PhaseOutcome:
        """Run every flow at once; results in a fixed order (each flow's own order kept)."""
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

        def one(lane: Lane, api: JobApi) -> list[CaseResult]:
            send = transport_sender(lane.protocol, transport, ctx.checks, lane.operation.name)
            return job_flow(lane.operation, api, send, transport.jobs, ctx.target.job_setup, ctx.config.lifecycle,
                            ctx.cancel)

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
