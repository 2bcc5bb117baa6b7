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
    fail_fast: bool = False  # send no further case once an error-severity check has failed
    rerun: tuple[tuple[LaneKey, Case], ...] | None = None  # only these cases (an earlier report's failures)
    drawing_process: bool = True  # draw cases ahead in a forked process where the platform forks (same cases)
    near_misses: int = 16  # near misses of a started job's id drawn per job flow, beside the fixed ones
    shrink_requests: int = 100  # requests each failing generated case may spend shrinking (0: none is shrunk)
    machine: MachineConfig = MachineConfig()  # the state machine over the run's job kinds (steps 0: off)
