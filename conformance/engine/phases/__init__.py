"""A run as a sequence of phases: probe, authentication, job flows and cases (side by side), clean-up.

Each phase is a small unit that says what it would send (`plan`, for --dry-run), which case
categories it promises to judge for each lane (`promises`, the coverage contract), and sends them
(`run`), returning a `PhaseOutcome` of judged case results and typed skips. Phases share a
`RunContext`; nothing in a phase decides the verdict (`engine.verdict` does, from outcomes).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_EXCEPTION, Future, wait
from dataclasses import dataclass, field
from typing import Protocol

from conformance.cases import LaneKey
from conformance.engine.budget import Allocation
from conformance.engine.config import RunConfig
from conformance.engine.lanes import Lane
from conformance.engine.plan import PlannedRequest, RunPlan
from conformance.engine.results import CaseResult, LaneState, SettleWatch, Shrinking, Skip, Stopped, StopReason
from conformance.engine.transport import Transport
from conformance.targets.target import Target

Progress = Callable[[str, int, int], None]  # (lane label, done, total)

# How often the main thread, waiting on workers, wakes up to look for a Ctrl-C.
WAKE_INTERVAL = 0.1


class Interruption:
    """Ctrl-C during a run: noted, and raised as KeyboardInterrupt where raising is safe.

    Two CPython traps make a plain KeyboardInterrupt unreliable here. Raised inside `concurrent.futures.wait`, it can
    leave futures' locks held, so the workers hang at exit. Raised while a gc callback runs (Hypothesis installs
    one), it is dropped. So the handler notes the Ctrl-C always, raises at once only outside `settle`'s and `wait`'s
    waits, and those and the run's loop raise it themselves when it is noted.
    """

    def __init__(self) -> None:
        self.noted = threading.Event()
        self._waiting = False  # the main thread is inside a wait on workers (only the main thread changes it)
        # Called at the first Ctrl-C, in the signal handler: stopping jobs and reporting take seconds, and the user
        # must see at once that the Ctrl-C was heard. It must be quick and safe in a handler (os.write, not print).
        self.announce: Callable[[], None] | None = None

    @contextlib.contextmanager
    def handled(self) -> Iterator[None]:
        """Install the Ctrl-C handler for the block: on the main thread, unless someone else handles Ctrl-C."""
        if threading.current_thread() is not threading.main_thread() \
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            yield
            return
        previous = signal.signal(signal.SIGINT, self._on_ctrl_c)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _on_ctrl_c(self, signum: int, frame: object) -> None:
        first = not self.noted.is_set()
        self.noted.set()
        if first and self.announce is not None:
            self.announce()
        if not self._waiting:
            raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if a Ctrl-C was noted."""
        if self.noted.is_set():
            raise KeyboardInterrupt

    def wait(self, event: threading.Event) -> None:
        """Wait for the event in short waits; KeyboardInterrupt on a Ctrl-C."""
        on_main = threading.current_thread() is threading.main_thread()
        while not event.is_set():
            self.check()
            self._waiting = on_main
            try:
                event.wait(WAKE_INTERVAL)
            finally:
                self._waiting = False

    def settle(self, futures: Iterable[Future], stop_on_exception: bool = False) -> None:
        """Wait for the futures (or the first to raise) in short waits; KeyboardInterrupt on a Ctrl-C."""
        pending = set(futures)
        on_main = threading.current_thread() is threading.main_thread()
        while pending:
            self.check()
            self._waiting = on_main
            try:
                done, pending = wait(pending, timeout=WAKE_INTERVAL,
                                     return_when=FIRST_EXCEPTION if stop_on_exception else ALL_COMPLETED)
            finally:
                self._waiting = False
            if stop_on_exception and any(not f.cancelled() and f.exception() is not None for f in done):
                return


class RunLimits:
    """--max-failures and --max-time: once one is reached the run stops sending (`cancel` is set, as on Ctrl-C, so
    flows still reach their Stop and the clean-up runs), and `stopped` says which limit and when."""

    def __init__(self, max_failures: int | None, max_time: float | None, cancel: threading.Event) -> None:
        self.max_failures, self.max_time, self.cancel = max_failures, max_time, cancel
        self.began = time.monotonic()
        self.failing = 0  # cases an error-severity check failed
        self.stopped: Stopped | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        """Start the clock of --max-time (a daemon timer: it never keeps the process alive)."""
        self.began = time.monotonic()
        if self.max_time is not None:
            self._timer = threading.Timer(self.max_time, self._stop, (StopReason.MAX_TIME, self.max_time))
            self._timer.daemon = True
            self._timer.start()

    def finish(self) -> None:
        """Stop the clock (the run is over, or in its clean-up, which no limit cuts)."""
        if self._timer is not None:
            self._timer.cancel()

    def failed(self) -> None:
        """Count one failing case; stop the run when --max-failures is reached."""
        with self._lock:
            self.failing += 1
            reached = self.max_failures is not None and self.failing >= self.max_failures
        if reached and self.max_failures is not None:
            self._stop(StopReason.MAX_FAILURES, self.max_failures)

    def reached(self) -> bool:
        """Whether a limit has stopped the run."""
        return self.stopped is not None

    def _stop(self, reason: StopReason, limit: float) -> None:
        with self._lock:
            if self.stopped is None and not self.cancel.is_set():  # the first limit reached is the one reported
                self.stopped = Stopped(reason, limit, time.monotonic() - self.began)
        self.cancel.set()


@dataclass
class RunContext:
    """What the phases of one run share: its plan, what probing learnt, the transport."""

    config: RunConfig
    prepared: RunPlan
    transport: Transport | None  # None in a dry run: nothing is sent
    progress: Progress | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    interruption: Interruption = field(default_factory=Interruption)
    states: dict[LaneKey, LaneState] = field(default_factory=dict)  # filled by the probe
    allocation: Allocation | None = None  # filled by the probe, once it knows which lanes are served
    partial: list[PhaseOutcome] = field(default_factory=list)  # what a phase cut short by Ctrl-C had judged
    judged: list[CaseResult] = field(default_factory=list)  # the results of the stages run so far
    settling: SettleWatch = field(default_factory=SettleWatch)  # shared by every wait for a stopped job
    limits: RunLimits = field(init=False)

    def __post_init__(self) -> None:
        self.limits = RunLimits(self.config.failure_limit, self.config.max_time, self.cancel)
        # Only on a local target does a wait in vain bound the later ones: on AWS a stop takes minutes, and
        # every wait there keeps the whole --settle-timeout.
        self.settling.learns = self.config.target.is_local

    @property
    def target(self) -> Target:
        """The target of the run."""
        return self.config.target

    @property
    def checks(self) -> list[str] | None:
        """The checks selected, None for all."""
        return list(self.config.checks) or None

    @property
    def lanes(self) -> list[Lane]:
        """Every lane the run selected."""
        return self.prepared.lanes

    @property
    def live(self) -> list[Lane]:
        """The lanes to test: served ones (in a dry run: all of them)."""
        if self.transport is None:
            return self.lanes
        return [lane for lane in self.lanes if self.states.get(lane.key) is LaneState.SERVED]


@dataclass
class PhaseOutcome:
    """What one phase did: its judged (or unjudged) case results, and what it did not test and why."""

    phase: str
    results: list[CaseResult] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    shrinkings: list[Shrinking] = field(default_factory=list)


class Phase(Protocol):
    """One step of a run."""

    name: str

    def plan(self, ctx: RunContext) -> list[PlannedRequest]:
        """The requests it would send if every lane were served (a dry run lists them)."""
        ...

    def promises(self, ctx: RunContext) -> dict[LaneKey, set[str]]:
        """The case categories it undertakes to judge for each lane it runs on."""
        ...

    def run(self, ctx: RunContext) -> PhaseOutcome:
        """Send, judge and report."""
        ...
