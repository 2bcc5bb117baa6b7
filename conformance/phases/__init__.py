"""A run as a sequence of phases: probe, authentication, job flows and cases (side by side), clean-up.

Each phase is a small unit that says what it would send (`plan`, for --dry-run), which case
categories it promises to judge for each lane (`promises`, the coverage contract), and sends them
(`run`), returning a `PhaseOutcome` of judged case results and typed skips. Phases share a
`RunContext`; nothing in a phase decides the verdict (`conformance.verdict` does, from outcomes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from conformance.execute import CaseResult
from conformance.outcomes import LaneKey, LaneState, Skip
from conformance.planning import Allocation, Lane, PlannedRequest, Prepared, RunConfig
from conformance.target import Target
from conformance.transport import Transport

Progress = Callable[[str, int, int], None]  # (lane label, done, total)


@dataclass
class RunContext:
    """What the phases of one run share: its plan, what probing learnt, the transport."""

    config: RunConfig
    prepared: Prepared
    transport: Transport | None  # None in a dry run: nothing is sent
    progress: Progress | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    states: dict[LaneKey, LaneState] = field(default_factory=dict)  # filled by the probe
    allocation: Allocation | None = None  # filled by the probe, once it knows which lanes are served
    partial: list[PhaseOutcome] = field(default_factory=list)  # what a phase cut short by Ctrl-C had judged

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
