"""A run: plan the cases for each operation, send them, judge every answer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from conformance import examples, strategies
from conformance.cases import Case, Kind
from conformance.execute import CaseResult, execute
from conformance.lifecycle import LifecycleConfig, job_flow
from conformance.model import Operation, load_operations
from conformance.oracle import UNKNOWN_OPERATION
from conformance.protocols import SUPPORTED, WireProtocol, get_protocol
from conformance.services import JobApi, job_api_for
from conformance.target import Target
from conformance.transport import Transport

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


@dataclass
class RunResult:
    """Every case's result, in plan order, with what the run could not cover."""

    config: RunConfig
    operations: list[Operation]
    results: list[CaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests_sent: int = 0
    elapsed: float = 0.0


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
        planned[lane.key] = list(unique.values())
    return planned


def is_not_served(result: CaseResult) -> bool:
    """Whether a probe's answer says the endpoint has no such route (not: serves it badly)."""
    answer = result.answer
    return answer is not None and (answer.status in (404, 405, 415, 501) or answer.error_type == UNKNOWN_OPERATION)


def run(config: RunConfig, progress: Progress | None = None) -> RunResult:
    """Plan, probe, send and judge; raises TargetUnreachable when the target does not answer."""
    try:
        all_operations = load_operations(config.schema_dir)
        operations = select_operations(config)
        lanes = lanes_for(config, operations)
        planned = plan(config, lanes, all_operations)
    except ValueError as exc:  # an unreadable catalog or schema, an unknown protocol or operation,
        raise ConfigurationError(str(exc)) from None  # a pattern no strategy can generate from
    if not lanes:
        raise ConfigurationError(f"no selected operation speaks {config.protocol}")
    result = RunResult(config, operations)
    transport = Transport(config.target, rate=config.rate, pool_size=max(config.workers, 1))
    checks = list(config.checks) or None
    explicit = config.protocol != "all"
    lock = threading.Lock()
    slots: dict[tuple[str, str], list[CaseResult | None]] = {key: [None] * len(cases) for key, cases in planned.items()}
    done = dict.fromkeys(planned, 0)
    lifecycle: list[CaseResult] = []
    probes: list[CaseResult] = []

    several = len({lane.protocol.name for lane in lanes}) > 1

    def label(lane: Lane) -> str:
        return lane_label(lane.operation.name, lane.protocol.name, several)

    def one(lane: Lane, index: int, case: Case) -> None:
        outcome = execute(lane.operation, case, lane.protocol, transport, checks)
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
            if not served[lane.key]:
                result.notes.append(f"{lane.protocol.name}: not served by this endpoint ({lane.operation.name})"
                                    + (", which was asked for: a failure" if explicit else ""))
        live = [lane for lane in lanes if served[lane.key]]
        # Job flows start first (their settling wait then overlaps the cases), and the lanes' cases
        # interleave, so that the first requests of a run already cover every operation and protocol.
        futures = []
        for lane in live:
            api = job_api_for(lane.operation.service.name, lane.operation.name)
            if api is None or not (config.create_jobs and config.target.creates_jobs):
                result.notes.append(f"{label(lane)}: no job started, so stopping a real job was not tested"
                                    + ("" if api else " (no Start operation known)"))
                continue
            futures.append(flows.submit(_job_flow, lane, api, transport, checks, lifecycle, lock, config.lifecycle))
        longest = max((len(planned[lane.key]) for lane in live), default=0)
        futures += [pool.submit(one, lane, i, planned[lane.key][i])
                    for i in range(longest) for lane in live if i < len(planned[lane.key])]
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception() is not None), None)
        if failed is not None:
            raise failed.exception()  # type: ignore[misc]
    except BaseException:  # unreachable target, Ctrl-C: drop what has not started, do not wait for it
        for executor in (pool, flows):
            executor.shutdown(wait=False, cancel_futures=True)
        transport.close()
        raise
    pool.shutdown()
    flows.shutdown()
    result.elapsed = time.monotonic() - began
    # A probe of an unserved protocol is judged only when that protocol was asked for by name.
    judged_probes = [p for p in probes if explicit or not is_not_served(p)]
    # Job flows finish in any order; report them in a fixed one (each flow's own order kept).
    lifecycle.sort(key=lambda r: (r.operation.service.name, r.protocol))
    result.results = judged_probes + [r for lane in lanes for r in slots[lane.key] if r is not None] + lifecycle
    result.requests_sent = transport.sent
    transport.close()
    return result


def probe_case(lane: Lane) -> Case:
    """A valid request for no job: what the endpoint answers tells whether it serves the lane."""
    return Case(lane.operation.name, "valid.probe", Kind.UNKNOWN_JOB, f"is {lane.protocol.name} served?",
                document={"JobId": "conformance-probe"}, job_id="conformance-probe")


def probe_lane(lane: Lane, transport: Transport) -> bool:
    """Whether the endpoint serves one lane at all."""
    return not is_not_served(execute(lane.operation, probe_case(lane), lane.protocol, transport))


def _probe(lanes: list[Lane], transport: Transport, checks: list[str] | None, pool: ThreadPoolExecutor,
           out: list[CaseResult]) -> dict[tuple[str, str], bool]:
    """One valid request per lane, to learn which protocols the endpoint serves at all."""
    def probe(lane: Lane) -> CaseResult:
        return execute(lane.operation, probe_case(lane), lane.protocol, transport, checks)

    results = list(pool.map(probe, lanes))
    out.extend(results)
    return {lane.key: not is_not_served(outcome) for lane, outcome in zip(lanes, results, strict=True)}


def _job_flow(lane: Lane, api: JobApi, transport: Transport, checks: list[str] | None, out: list[CaseResult],
              lock: threading.Lock, config: LifecycleConfig) -> None:
    results = job_flow(lane.operation, api, lane.protocol, transport, checks, config)
    with lock:
        out.extend(results)
