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
from conformance.cases import Case
from conformance.execute import CaseResult, execute
from conformance.lifecycle import LifecycleConfig, job_flow
from conformance.model import Operation, load_operations
from conformance.protocols import WireProtocol, get_protocol
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
    protocol: str = "awsJson1_1"
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


def plan(config: RunConfig, operations: list[Operation], all_operations: list[Operation],
         protocol: WireProtocol) -> dict[str, list[Case]]:
    """The catalog's cases, then generated ones, for each operation; duplicates dropped."""
    entries = examples.load_entries(config.catalog)
    planned: dict[str, list[Case]] = {}
    for index, operation in enumerate(operations):
        cases = examples.cases_for(operation, protocol.name, all_operations, entries)
        cases += _draw(operation, protocol, all_operations, config.max_examples, config.seed + index)
        unique: dict[tuple[object, ...], Case] = {}
        for case in cases:
            unique.setdefault(case.key(), case)  # the first of equal cases keeps its place
        planned[operation.name] = list(unique.values())
    return planned


def run(config: RunConfig, progress: Progress | None = None) -> RunResult:
    """Plan, send and judge; raises TargetUnreachable when the target does not answer."""
    try:
        all_operations = load_operations(config.schema_dir)
        operations = select_operations(config)
        protocol = get_protocol(config.protocol)
        planned = plan(config, operations, all_operations, protocol)
    except ValueError as exc:  # an unreadable catalog or schema, an unknown protocol or operation,
        raise ConfigurationError(str(exc)) from None  # a pattern no strategy can generate from
    result = RunResult(config, operations)
    transport = Transport(config.target, rate=config.rate, pool_size=max(config.workers, 1))
    checks = list(config.checks) or None
    totals = {name: len(cases) for name, cases in planned.items()}
    done = dict.fromkeys(planned, 0)
    lock = threading.Lock()
    slots: dict[str, list[CaseResult | None]] = {name: [None] * len(cases) for name, cases in planned.items()}
    lifecycle: list[CaseResult] = []

    def one(operation: Operation, index: int, case: Case) -> None:
        outcome = execute(operation, case, protocol, transport, checks)
        with lock:
            slots[operation.name][index] = outcome
            done[operation.name] += 1
            if progress:
                progress(operation.name, done[operation.name], totals[operation.name])

    began = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(config.workers, 1))
    try:
        # Job flows go first (their settling wait then overlaps the cases), and the operations'
        # cases interleave, so that the first requests of a run already cover every operation.
        futures = []
        for operation in operations:
            api = job_api_for(operation.service.name, operation.name)
            if api is None or not (config.create_jobs and config.target.creates_jobs):
                result.notes.append(f"{operation.name}: no job started, so stopping a real job was not tested"
                                    + ("" if api else " (no Start operation known)"))
                continue
            futures.append(pool.submit(_job_flow, operation, api, protocol, transport, checks, lifecycle, lock,
                                       config.lifecycle))
        longest = max((len(cases) for cases in planned.values()), default=0)
        futures += [pool.submit(one, op, i, planned[op.name][i])
                    for i in range(longest) for op in operations if i < len(planned[op.name])]
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception() is not None), None)
        if failed is not None:
            raise failed.exception()  # type: ignore[misc]
    except BaseException:  # unreachable target, Ctrl-C: drop what has not started, do not wait for it
        pool.shutdown(wait=False, cancel_futures=True)
        transport.close()
        raise
    pool.shutdown()
    result.elapsed = time.monotonic() - began
    # Job flows finish in any order; report them in a fixed one (each flow's own order kept).
    lifecycle.sort(key=lambda r: r.operation.service.name)
    result.results = [r for op in operations for r in slots[op.name] if r is not None] + lifecycle
    result.requests_sent = transport.sent
    transport.close()
    return result


def _job_flow(operation: Operation, api: JobApi, protocol: WireProtocol, transport: Transport,
              checks: list[str] | None, out: list[CaseResult], lock: threading.Lock,
              config: LifecycleConfig) -> None:
    results = job_flow(operation, api, protocol, transport, checks, config)
    with lock:
        out.extend(results)
