"""A run's configuration: everything that decides what it sends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.cases import Case, LaneKey
from conformance.targets.target import Target


class ConfigurationError(ValueError):
    """The run's configuration cannot work (unknown operation, unreadable catalog...)."""


@dataclass(frozen=True)
class LifecycleConfig:
    """How long to wait for a stopped job to settle, and how often to look (0: do not wait)."""

    settle_timeout: float = 60.0
    poll_interval: float = 0.5  # the longest wait between looks
    first_poll: float = 0.05  # the first wait; each next one half as long again, up to poll_interval
    poll_growth: float = 1.5  # a stop that settles in t is seen within about 1.5 t (doubling: 2 t), in a few looks
    source: str = ""  # where settle_timeout came from, for the report ("" : given by the caller)


# How long a stopped job may stay STOP_REQUESTED unless --settle-timeout says otherwise. On AWS a stop takes minutes.
# A local target (loopback: moto, the embedded reference server, `conformance serve`, a mock in CI) is given 5 s:
# the embedded server's jobs settle in 0.2 s (`reference.EMBEDDED_TIMINGS`) and `conformance serve`'s in 2 s by
# default (its --job-stopping-seconds), so 5 s is 2.5 times the slowest local job we know, while a mock whose jobs
# never settle (moto) costs a run seconds, not a minute.
AWS_SETTLE_TIMEOUT = 60.0
LOCAL_SETTLE_TIMEOUT = 5.0


def lifecycle_for(target: Target, settle_timeout: float | None = None) -> LifecycleConfig:
    """The lifecycle bounds of a run against `target`: an explicit --settle-timeout always wins; else 5 s on loopback,
    60 s anywhere else (AWS and every other endpoint)."""
    if settle_timeout is not None:
        return LifecycleConfig(settle_timeout=settle_timeout, source="--settle-timeout")
    if target.is_local:
        return LifecycleConfig(settle_timeout=LOCAL_SETTLE_TIMEOUT, source="the default for a local target")
    return LifecycleConfig(settle_timeout=AWS_SETTLE_TIMEOUT, source="the default")


# Steps of the state machine a run sends by default (`--state-machine-steps`): its opening run (about 25 requests,
# one of them waiting for a stop to settle) and a few drawn runs.
DEFAULT_MACHINE_STEPS = 60


@dataclass(frozen=True)
class MachineConfig:
    """The state machine's bounds: how many requests its runs send (0: it does not run), and how far a failing run
    is shrunk (`engine.machine`)."""

    steps: int = DEFAULT_MACHINE_STEPS
    shrink_requests: int = 300  # where the run has no budget (with one, its share)
    shrink_replays: int = 40
    shrink_seconds: float = 20.0


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what a run sends."""

    target: Target
    operations: tuple[str, ...] = ()  # empty: the mission's operations, or the whole folder (see select_operations)
    all_operations: bool = False  # every operation with a schema document, not only the mission's
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
    auth_checks: bool = True  # send unsigned and wrongly signed requests where the target signs
    read_timeout: float = 30.0  # seconds an answer may take before the request counts as unanswered
    fail_fast: bool = False  # send no further case once an error-severity check has failed (--max-failures 1)
    max_failures: int | None = None  # stop sending once this many cases failed an error-severity check
    max_time: float | None = None  # stop sending once the run has lasted this many seconds
    rerun: tuple[tuple[LaneKey, Case], ...] | None = None  # only these cases (an earlier report's failures)
    drawing_process: bool = True  # draw cases ahead in a forked process where the platform forks (same cases)
    near_misses: int = 16  # near misses of a started job's id drawn per job flow, beside the fixed ones
    shrink_requests: int = 100  # requests each failing generated case may spend shrinking (0: none is shrunk)
    machine: MachineConfig = MachineConfig()  # the state machine over the run's job kinds (steps 0: off)

    @property
    def failure_limit(self) -> int | None:
        """Failing cases after which the run stops sending: --fail-fast is --max-failures 1, as in Schemathesis."""
        limits = [limit for limit in (1 if self.fail_fast else None, self.max_failures) if limit is not None]
        return min(limits) if limits else None
