"""A run: plan the cases for each operation, send them, judge every answer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from conformance import botocore_model, examples, strategies
from conformance.cases import Case, Kind
from conformance.execute import CaseResult, execute
from conformance.lifecycle import LifecycleConfig, job_flow, stop_leftovers
from conformance.model import Operation, load_operations
from conformance.oracle import AUTH_ERROR_TYPES, UNKNOWN_OPERATION
from conformance.protocols import SUPPORTED, WireProtocol, get_protocol
from conformance.services import JobApi, job_api_for, start_request
from conformance.target import Target
from conformance.transport import BudgetExhausted, Transport

Progress = Callable[[str, int, int], None]  # (operation, done, total)


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what a run sends."""

    target: Target
    operations: tuple[str, ...] = ()  # empty: every operation with a schema
    max_examples: int = 100  # generated cases per operation, after the catalog's
    seed: int = 0
    workers: int = 4
    create_jobs: bool = True
    protocol: str = "all"  # a protocol's name, or "all" that the operation's model lists
    rate: float | None = None
    checks: tuple[str, ...] = ()  # empty: every registered check
    catalog: Path | None = None
    schema_dir: Path | None = None
    lifecycle: LifecycleConfig = LifecycleConfig()
    budget: int | None = None  # at most this many requests in the run (None: no cap)
    auth_checks: bool = True  # send unsigned and wrongly signed requests where the target enforces SigV4


@dataclass
class RunResult:
    """Every case's result, in plan order, with what the run could not cover."""

    config: RunConfig
    operations: list[Operation]
    results: list[CaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests_sent: int = 0
    elapsed: float = 0.0
    unsent: list[tuple[str, Case]] = field(default_factory=list)  # (protocol, case) the budget left out
    jobs_started: list[tuple[str, str]] = field(default_factory=list)  # (service, job id)
    jobs_left_running: list[tuple[str, str]] = field(default_factory=list)  # started, and no Stop took


class ConfigurationError(ValueError):
    """The run's configuration cannot work (unknown operation, unreadable catalog...)."""


def select_operations(config: RunConfig) -> list[Operation]:
    """The operations a run covers; ConfigurationError names unknown ones."""
    everything = load_operations(config.schema_dir)
    if not config.operations:
        return everything
    names = {op.name for op in everything}
    unknown = [name for name in config.operations if name not in names]
    if unknown:
        raise ConfigurationError(f"unknown operation(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    return [op for op in everything if op.name in config.operations]


# Drawn cases by (operation, its request schema, protocol, count, seed, the other operations): drawing is deterministic,
# so a process that runs the suite many times (tests, benchmarks, the verdict score) draws once.
_DRAWN: dict[tuple[object, ...], list[Case]] = {}
_DRAWN_LOCK = threading.Lock()


def _draw(operation: Operation, protocol: WireProtocol, all_operations: list[Operation], count: int,
          seed: int) -> list[Case]:
    key = (operation.schema_id, json.dumps(operation.request, sort_keys=True), protocol.name, count, seed,
           tuple(op.schema_id for op in all_operations))
    with _DRAWN_LOCK:
        if key not in _DRAWN:
            strategy = strategies.any_case(operation, protocol, all_operations)
            _DRAWN[key] = strategies.draw_cases(strategy, count, seed)
        return list(_DRAWN[key])


@dataclass(frozen=True)
class Lane:
    """One operation over one protocol: the unit a run plans, probes and reports."""

    operation: Operation
    protocol: WireProtocol

    @property
    def key(self) -> tuple[str, str]:
        """(operation name, protocol name)."""
        return (self.operation.name, self.protocol.name)


def lane_label(operation: str, protocol: str, several_protocols: bool) -> str:
    """How reports name a lane: the operation, and its protocol when the run covered several."""
    return f"{operation} over {protocol}" if several_protocols else operation


def lanes_for(config: RunConfig, operations: list[Operation]) -> list[Lane]:
    """Every operation over every protocol its model lists that this suite speaks, as `config.protocol` narrows it."""
    wanted = SUPPORTED if config.protocol == "all" else (get_protocol(config.protocol).name,)
    return [Lane(operation, get_protocol(name)) for operation in operations
            for name in operation.service.protocols if name in wanted]


def plan(config: RunConfig, lanes: list[Lane], all_operations: list[Operation]) -> dict[tuple[str, str], list[Case]]:
    """The catalog's cases, then generated ones, for each lane; duplicates dropped."""
    entries = examples.load_entries(config.catalog)
    planned: dict[tuple[str, str], list[Case]] = {}
    for index, lane in enumerate(lanes):
        cases = examples.cases_for(lane.operation, lane.protocol.name, all_operations, entries,
                                   lane.protocol.inexpressible)
        cases += _draw(lane.operation, lane.protocol, all_operations, config.max_examples, config.seed + index)
        unique: dict[tuple[object, ...], Case] = {}
        for case in cases:
            unique.setdefault(case.key(), case)  # the first of equal cases keeps its place
        planned[lane.key] = categories_first(list(unique.values()))
    return planned


def categories_first(cases: list[Case]) -> list[Case]:
    """The first case of every category, then the rest, each part in plan order: a budget's first requests
    cover every category."""
    seen: set[str] = set()
    firsts, rest = [], []
    for case in cases:
        (rest if case.category in seen else firsts).append(case)
        seen.add(case.category)
    return firsts + rest


FLOW_REQUESTS = 6  # start, describe, stop, stop again, one look at the settled job, stop it settled
AUTH_SIGNINGS = (("auth.unsigned", "unsigned", "an unsigned request"),
                 ("auth.bad_signature", "bad_signature", "a request whose signature is wrong"),
                 ("auth.expired_date", "expired_date", "a request signed an hour ago"))


@dataclass(frozen=True)
class Allocation:
    """How what is left of a budget after probing is shared: job flows, authentication cases, each lane's cases."""

    flows: bool
    auth: bool
    cases_per_lane: dict[tuple[str, str], int | None]  # None: every planned case


def allocate(left: int | None, lanes: list[Lane], flows: int, auth: bool) -> Allocation:
    """Share `left` requests (None: no budget) among the lanes the endpoint serves, in order of worth."""
    if left is None:
        return Allocation(flows > 0, auth, {lane.key: None for lane in lanes})
    use_flows = flows > 0 and left >= FLOW_REQUESTS * flows
    left -= FLOW_REQUESTS * flows if use_flows else 0
    use_auth = auth and left >= len(AUTH_SIGNINGS) * len(lanes)
    left -= len(AUTH_SIGNINGS) * len(lanes) if use_auth else 0
    share, extra = divmod(left, max(len(lanes), 1))
    return Allocation(use_flows, use_auth,
                      {lane.key: share + (1 if index < extra else 0) for index, lane in enumerate(lanes)})


def within(allocation: Allocation, lanes: list[Lane], planned: dict[tuple[str, str], list[Case]],
           ) -> tuple[dict[tuple[str, str], list[Case]], list[tuple[str, Case]]]:
    """Each lane's cases cut to its share, and the (protocol, case) pairs cut off."""
    kept: dict[tuple[str, str], list[Case]] = {}
    cut: list[tuple[str, Case]] = []
    for lane in lanes:
        quota = allocation.cases_per_lane[lane.key]
        cases = planned[lane.key]
        kept[lane.key] = cases if quota is None else cases[:quota]
        cut += [(lane.protocol.name, case) for case in cases[len(kept[lane.key]):]]
    return kept, cut


def auth_case(lane: Lane, category: str, signing: str, text: str) -> Case:
    """A valid request for no job, sent unsigned or wrongly signed."""
    return Case(lane.operation.name, category, Kind.AUTH, text, document={"JobId": "conformance-auth"},
                job_id="conformance-auth", signing=signing)


def is_auth_refusal(result: CaseResult) -> bool:
    """Whether the endpoint refused a request as unauthenticated."""
    answer = result.answer
    return answer is not None and 400 <= answer.status < 500 and answer.error_type in AUTH_ERROR_TYPES


def is_not_served(result: CaseResult) -> bool:
    """Whether a probe's answer says the endpoint has no such route (not: serves it badly)."""
    answer = result.answer
    return answer is not None and (answer.status in (404, 405, 415, 501) or answer.error_type == UNKNOWN_OPERATION)


def job_lanes(config: RunConfig, lanes: list[Lane]) -> list[tuple[Lane, JobApi]]:
    """The lanes whose job flow the run will start (when it may start jobs at all)."""
    if not (config.create_jobs and config.target.creates_jobs):
        return []
    found = [(lane, job_api_for(lane.operation.service.name, lane.operation.name)) for lane in lanes]
    return [(lane, api) for lane, api in found if api is not None]


@dataclass
class Prepared:
    """A run's plan before anything is sent: its lanes and every case each would send without a budget."""

    operations: list[Operation]
    lanes: list[Lane]
    planned: dict[tuple[str, str], list[Case]]
    wants_auth: bool  # the target signs, so wrongly signed requests can be made


def prepare(config: RunConfig) -> Prepared:
    """Plan the run; ConfigurationError when the configuration cannot work."""
    try:
        all_operations = load_operations(config.schema_dir)
        operations = select_operations(config)
        lanes = lanes_for(config, operations)
        planned = plan(config, lanes, all_operations)
    except ValueError as exc:  # an unreadable catalog or schema, an unknown protocol or operation,
        raise ConfigurationError(str(exc)) from None  # a pattern no strategy can generate from
    if not lanes:
        raise ConfigurationError(f"no selected operation speaks {config.protocol}")
    if config.budget is not None and config.budget < len(lanes):
        raise ConfigurationError(f"--budget {config.budget} is below the {len(lanes)} requests that probe which "
                                 "lanes (operation and protocol) the endpoint serves")
    return Prepared(operations, lanes, planned, config.auth_checks and config.target.credentials is not None)


@dataclass(frozen=True)
class PlannedRequest:
    """One request a run would send, for --dry-run."""

    lane: Lane
    case: Case
    note: str = ""  # when it is sent, if not always
    operation: Operation | None = None  # the operation it calls, when not the lane's (Start, Describe)

    @property
    def called(self) -> Operation:
        """The operation the request calls."""
        return self.operation or self.lane.operation


def planned_requests(config: RunConfig) -> list[PlannedRequest]:
    """Every request a run would send, in order, if the endpoint served every lane; sends none (job ids a Start
    would return are placeholders)."""
    prepared = prepare(config)
    lanes = prepared.lanes
    left = None if config.budget is None else config.budget - len(lanes)
    allocation = allocate(left, lanes, len(job_lanes(config, lanes)), prepared.wants_auth)
    planned, _ = within(allocation, lanes, prepared.planned)
    found = [PlannedRequest(lane, probe_case(lane)) for lane in lanes]
    if allocation.auth:
        found += [PlannedRequest(lane, auth_case(lane, *signing),
                                 "" if index == 0 else "only if the unsigned request is refused")
                  for lane in lanes for index, signing in enumerate(AUTH_SIGNINGS)]
    if allocation.flows:
        for lane, api in job_lanes(config, lanes):
            found += [PlannedRequest(lane, case, note, operation)
                      for operation, case, note in planned_job_flow(lane, api, config.target)]
    found += [PlannedRequest(lane, case) for lane, _, case in interleaved(lanes, planned)]
    return found


def interleaved(lanes: list[Lane], planned: dict[tuple[str, str], list[Case]]) -> list[tuple[Lane, int, Case]]:
    """Every lane's cases, one from each lane in turn, with each case's index in its lane: the order a run sends
    them, so that its first requests already cover every operation and protocol."""
    longest = max((len(planned[lane.key]) for lane in lanes), default=0)
    return [(lane, i, planned[lane.key][i]) for i in range(longest) for lane in lanes if i < len(planned[lane.key])]


def planned_job_flow(lane: Lane, api: JobApi, target: Target) -> list[tuple[Operation, Case, str]]:
    """A job flow's requests as a dry run shows them: the real Start, then Describe and Stop of the id it returns."""
    start_op = botocore_model.operation(api.service, api.start)
    describe_op = botocore_model.operation(api.service, api.describe)
    job_id = "<JobId the Start returns>"
    start = Case(api.start, "start.job", Kind.START_JOB, "start a job for Stop to stop",
                 document={**start_request(api, target.job_setup), "ClientRequestToken": "<a fresh UUID>"})
    describe = Case(api.describe, "existing.describe", Kind.DESCRIBE_JOB, "read its status", document={"JobId": job_id})
    stop = Case(lane.operation.name, "existing.stop", Kind.EXISTING_JOB, "stop it", document={"JobId": job_id})
    again = Case(lane.operation.name, "existing.stop_again", Kind.EXISTING_JOB, "stop it again",
                 document={"JobId": job_id})
    return [(start_op, start, ""), (describe_op, describe, ""), (lane.operation, stop, ""),
            (lane.operation, again, ""), (describe_op, describe, "repeated until the job settles (--settle-timeout)"),
            (lane.operation, stop, "once it has settled")]


def run(config: RunConfig, progress: Progress | None = None) -> RunResult:
    """Plan, probe, send and judge; raises TargetUnreachable when the target does not answer."""
    prepared = prepare(config)
    lanes, planned, wants_auth = prepared.lanes, dict(prepared.planned), prepared.wants_auth
    result = RunResult(config, prepared.operations)
    transport = Transport(config.target, rate=config.rate, pool_size=max(config.workers, 1), budget=config.budget)
    checks = list(config.checks) or None
    explicit = config.protocol != "all"
    lock = threading.Lock()
    slots: dict[tuple[str, str], list[CaseResult | None]] = {key: [None] * len(cases) for key, cases in planned.items()}
    done = dict.fromkeys(planned, 0)
    lifecycle: list[CaseResult] = []
    probes: list[CaseResult] = []
    auth: list[CaseResult] = []
    cancel = threading.Event()

    several = len({lane.protocol.name for lane in lanes}) > 1

    def label(lane: Lane) -> str:
        return lane_label(lane.operation.name, lane.protocol.name, several)

    def one(lane: Lane, index: int, case: Case) -> None:
        try:
            outcome = execute(lane.operation, case, lane.protocol, transport, checks)
        except BudgetExhausted:  # throttled retries spent what the plan had counted on
            with lock:
                result.unsent.append((lane.protocol.name, case))
            return
        with lock:
            slots[lane.key][index] = outcome
            done[lane.key] += 1
            if progress:
                progress(label(lane), done[lane.key], len(planned[lane.key]))

    began = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(config.workers, 1))
    # Job flows mostly wait for jobs to settle: they get threads of their own, so that waiting
    # never holds a worker the cases need (the transport's rate limit still covers both).
    flows = ThreadPoolExecutor(max_workers=max(len(lanes), 1))
    try:
        served = _probe(lanes, transport, checks, pool, probes)
        for lane in lanes:
            if served[lane.key] is None:
                result.notes.append(f"{label(lane)}: not probed, so not tested (the budget was spent)")
            elif not served[lane.key]:
                result.notes.append(f"{lane.protocol.name}: not served by this endpoint ({lane.operation.name})"
                                    + (", which was asked for: a failure" if explicit else ""))
        live = [lane for lane in lanes if served[lane.key]]
        # The budget is shared once probing has shown which lanes are served: none is spent on the others.
        allocation = allocate(transport.budget.remaining, live, len(job_lanes(config, live)), wants_auth)
        kept, cut = within(allocation, live, planned)
        planned.update(kept)
        result.unsent += cut
        if allocation.auth:
            auth += _authentication(live, transport, checks, result.notes)
        elif wants_auth:
            result.notes.append("authentication: not tested (the budget leaves no room for it)")
        # Job flows start first (their settling wait then overlaps the cases), and the lanes' cases
        # interleave, so that the first requests of a run already cover every operation and protocol.
        futures = []
        flow_lanes = dict((lane.key, api) for lane, api in job_lanes(config, live)) if allocation.flows else {}
        jobless: dict[str, list[str]] = {}  # why no job was started -> lanes
        for lane in live:
            api = flow_lanes.get(lane.key)
            if api is None:
                known = job_api_for(lane.operation.service.name, lane.operation.name) is not None
                why = "no Start operation is known" if not known else \
                    "the budget leaves no room for a job's requests" if config.create_jobs and config.target.creates_jobs \
                    else "jobs may not be started on this target" + (" without --create-jobs" if config.target.is_aws else "")
                jobless.setdefault(why, []).append(label(lane))
                continue
            futures.append(flows.submit(_job_flow, lane, api, transport, checks, lifecycle, lock, config.lifecycle,
                                        cancel))
        result.notes += [f"no job started, so stopping a real job was not tested ({why}): {', '.join(names)}"
                         for why, names in jobless.items()]
        futures += [pool.submit(one, lane, i, case) for lane, i, case in interleaved(live, planned)]
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception() is not None), None)
        if failed is not None:
            raise failed.exception()  # type: ignore[misc]
    except BaseException:  # unreachable target, Ctrl-C: drop what has not started, do not wait for it,
        cancel.set()  # but let every job flow reach its Stop, and stop whatever a flow left running
        pool.shutdown(wait=False, cancel_futures=True)
        flows.shutdown(wait=True, cancel_futures=True)
        _stop_leftovers(lanes, transport, lifecycle, result)
        transport.close()
        raise
    pool.shutdown()
    flows.shutdown()
    _stop_leftovers(lanes, transport, lifecycle, result)
    result.elapsed = time.monotonic() - began
    # A probe of an unserved protocol is judged only when that protocol was asked for by name.
    judged_probes = [p for p in probes if explicit or not is_not_served(p)]
    # Job flows finish in any order; report them in a fixed one (each flow's own order kept).
    lifecycle.sort(key=lambda r: (r.operation.service.name, r.protocol))
    result.results = (judged_probes + auth + [r for lane in lanes for r in slots[lane.key] if r is not None]
                      + lifecycle)
    result.requests_sent = transport.sent
    if transport.limiter.throttles:
        lowest = transport.limiter.lowest
        result.notes.append(f"throttled {transport.limiter.throttles} time(s); the rate was lowered"
                            + (f" to as little as {lowest:.1f} requests/s" if lowest else ""))
    transport.close()
    return result


def _authentication(lanes: list[Lane], transport: Transport, checks: list[str] | None,
                    notes: list[str]) -> list[CaseResult]:
    """The authentication cases of each lane, judged where the endpoint enforces SigV4 (always on AWS)."""
    results: list[CaseResult] = []
    lax: list[str] = []  # how lanes that do not enforce SigV4 answered an unsigned request
    for lane in lanes:
        try:
            unsigned = execute(lane.operation, auth_case(lane, *AUTH_SIGNINGS[0]), lane.protocol, transport, checks)
            if not (transport.target.is_aws or is_auth_refusal(unsigned) or unsigned.not_judged):
                answer = unsigned.answer
                said = f"{answer.status} {answer.error_type or ''}".strip() if answer else "nothing"
                lax.append(f"{lane.operation.name} over {lane.protocol.name}: {said}")
                continue
            results.append(unsigned)
            results += [execute(lane.operation, auth_case(lane, *signing), lane.protocol, transport, checks)
                        for signing in AUTH_SIGNINGS[1:]]
        except BudgetExhausted:
            notes.append("authentication: not every check was run (the budget was spent)")
            break
    if lax:
        notes.append("authentication: not checked where the endpoint does not enforce SigV4 (an unsigned request was "
                     f"served: {'; '.join(lax)})")
    return results


def _stop_leftovers(lanes: list[Lane], transport: Transport, out: list[CaseResult], result: RunResult) -> None:
    """Stop every job the run started and did not see stopped; name any that still could not be stopped."""
    # awsJson1_1 sorts last, so it is each service's stopper: every endpoint of these services speaks it
    stoppers = {lane.operation.service.name: (lane.operation, lane.protocol)
                for lane in sorted(lanes, key=lambda lane: lane.protocol.name == "awsJson1_1")}
    out += stop_leftovers(transport, stoppers)
    result.jobs_started = transport.jobs.all_started()
    result.jobs_left_running = transport.jobs.unstopped()
    for service, job_id in result.jobs_left_running:
        result.notes.append(f"JOB LEFT RUNNING: {service} job {job_id} was started by this run and could not be "
                            "stopped; stop it by hand")


def probe_case(lane: Lane) -> Case:
    """A valid request for no job: what the endpoint answers tells whether it serves the lane."""
    return Case(lane.operation.name, "valid.probe", Kind.UNKNOWN_JOB, f"is {lane.protocol.name} served?",
                document={"JobId": "conformance-probe"}, job_id="conformance-probe")


def probe_lane(lane: Lane, transport: Transport) -> bool:
    """Whether the endpoint serves one lane at all."""
    return not is_not_served(execute(lane.operation, probe_case(lane), lane.protocol, transport))


def _probe(lanes: list[Lane], transport: Transport, checks: list[str] | None, pool: ThreadPoolExecutor,
           out: list[CaseResult]) -> dict[tuple[str, str], bool | None]:
    """One valid request per lane, to learn which protocols the endpoint serves at all (None: the budget ran out)."""
    def probe(lane: Lane) -> CaseResult | None:
        try:
            return execute(lane.operation, probe_case(lane), lane.protocol, transport, checks)
        except BudgetExhausted:  # throttled retries spent the budget
            return None

    results = list(pool.map(probe, lanes))
    out.extend(outcome for outcome in results if outcome is not None)
    return {lane.key: None if outcome is None else not is_not_served(outcome)
            for lane, outcome in zip(lanes, results, strict=True)}


def _job_flow(lane: Lane, api: JobApi, transport: Transport, checks: list[str] | None, out: list[CaseResult],
              lock: threading.Lock, config: LifecycleConfig, cancel: threading.Event) -> None:
    results = job_flow(lane.operation, api, lane.protocol, transport, checks, config, cancel)
    with lock:
        out.extend(results)
