"""Shrinking a failing generated case against the live target: the smallest case of its family that still fails.

A generated case carries the choices Hypothesis made to draw it (`Case.choices`). Hypothesis's own
shrinker (its conjecture engine; the project pins Hypothesis to one minor release, as `drawer` does)
replays those choices, tries smaller ones, and keeps each that still draws a case the target answers
wrongly in the same way (`fails`, which sends the case). Each try is one request, so shrinking is
bounded: by a number of tries, by a deadline, and by whatever ends `fails` (a spent budget).
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.control import BuildContext
from hypothesis.errors import StopTest, UnsatisfiedAssumption
from hypothesis.internal.conjecture.data import ConjectureData, Status
from hypothesis.internal.conjecture.engine import ConjectureRunner, RunIsComplete
from hypothesis.internal.escalation import InterestingOrigin

from conformance.cases import Case
from conformance.generation.drawer import _no_test, _SeededProvider

_SETTINGS = settings(database=None, phases=[Phase.shrink], deadline=None, suppress_health_check=list(HealthCheck))
_FAILS = InterestingOrigin.from_exception(AssertionError("the target fails the case"))


class _Enough(Exception):
    """The shrink's bound is reached: keep the smallest failing case found so far."""


@dataclass(frozen=True)
class Shrunk:
    """A shrink's outcome: the smallest failing case found, how many were tried, and whether the shrinker ran to
    its end (False: a bound stopped it, so a smaller case may exist)."""

    case: Case
    tries: int
    finished: bool


def replay(strategy: st.SearchStrategy[Case], choices: Sequence[Any]) -> Case | None:
    """The case these choices draw from the strategy (None where they no longer draw one)."""
    data = ConjectureData.for_choices(choices, provider=_SeededProvider)
    try:
        with BuildContext(data, is_final=False, wrapped_test=_no_test):
            case = data.draw(strategy)
    except (StopTest, UnsatisfiedAssumption):
        return None
    return dataclasses.replace(case, choices=tuple(data.choices))


def shrink(strategy: st.SearchStrategy[Case], failing: Case, fails: Callable[[Case], bool], max_tries: int,
           deadline: float, stop: Callable[[], bool] = lambda: False) -> Shrunk:
    """The smallest case of `strategy` that still `fails`, starting from `failing` (drawn from it, with its
    choices): at most `max_tries` calls of `fails` (each sends a case), until `time.monotonic()` passes `deadline`
    or `stop()` says so. An exception `fails` raises ends the shrink too (the smallest so far is kept)."""
    if failing.choices is None:
        return Shrunk(failing, 0, True)
    tries = 0
    found: dict[str, Case] = {"smallest": failing}

    def test(data: ConjectureData) -> None:
        nonlocal tries
        with BuildContext(data, is_final=False, wrapped_test=_no_test):
            case = data.draw(strategy)
        if tries >= max_tries or time.monotonic() >= deadline or stop():
            raise _Enough
        tries += 1
        try:
            failed = fails(case)
        except Exception:  # noqa: BLE001 - a spent budget, a refusal: the shrink ends, its result stands
            raise _Enough from None
        if failed:
            data.mark_interesting(_FAILS)

    runner = ConjectureRunner(test, settings=_SETTINGS, random=random.Random(0))
    finished = False
    try:
        first = runner.cached_test_function(failing.choices)
        if first.status is Status.INTERESTING:  # it still fails: shrink it (a flaky failure is left as it was)
            runner.shrink_interesting_test_cases()
            finished = True
    except (_Enough, RunIsComplete):  # a bound, or the engine gave up (a target that answers one case two ways)
        pass
    for result in runner.interesting_test_cases.values():
        case = replay(strategy, result.choices)
        if case is not None:
            found["smallest"] = case
    return Shrunk(found["smallest"], tries, finished)
