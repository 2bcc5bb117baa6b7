"""Drawing cases without Hypothesis's test engine: the same values for the same seed, in any process.

`Drawer` draws from one strategy: one `ConjectureData` per value, fed by a `random.Random` seeded with
the seed, so the same seed draws the same cases whatever the process imported before or its
PYTHONHASHSEED. `distinct_cases` draws a lane's families into cases that never repeat.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.control import BuildContext
from hypothesis.errors import StopTest, UnsatisfiedAssumption
from hypothesis.internal.conjecture.choice import choice_constraints_key, choice_permitted
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.internal.conjecture.providers import GLOBAL_CONSTANTS, HypothesisProvider

from conformance.cases import Case
from conformance.generation.cache import memo_table
from conformance.generation.strategies.bodies import Family

T = TypeVar("T")


class _SeededProvider(HypothesisProvider):
    """Hypothesis's own provider, less the constants it collects from the modules a process has loaded so far
    (which would make what a seed draws depend on what was imported before): its built-in constants stay."""

    def _maybe_draw_constant(self, choice_type: Any, constraints: Any, *, p: float = 0.05) -> Any:
        assert self._random is not None
        if self._random.random() > p:
            return None
        key = (choice_type, choice_constraints_key(choice_type, constraints))
        pool = _CONSTANTS.get(key)
        if pool is None:
            pool = _CONSTANTS[key] = tuple(choice for choice in GLOBAL_CONSTANTS.set_for_type(choice_type)
                                           if choice_permitted(choice, constraints))
        return self._random.choice(pool) if pool else None


# Hypothesis's built-in constants that a choice's constraints permit, by the choice's type and constraints.
_CONSTANTS: dict[tuple[Any, ...], tuple[Any, ...]] = memo_table()


def _no_test() -> None:
    """The test a Drawer's BuildContext names: there is none."""


# Attempts at one value before giving up: a draw fails only when a filter rejects it, or it outgrows Hypothesis's
# buffer, which the families make rare (most never fail).
MAX_ATTEMPTS = 1000


class Unsatisfiable(ValueError):
    """A strategy gave no value in MAX_ATTEMPTS tries (its filters never pass)."""


class Drawer(Generic[T]):
    """Values of one strategy, one after another, the same ones for the same seed: each from a fresh
    `ConjectureData` fed by one seeded random stream (no test engine, database, shrinking or health checks)."""

    def __init__(self, strategy: st.SearchStrategy[T] | None, seed: int) -> None:
        self.strategy = strategy  # None: each draw names its own
        self.random = random.Random(seed)  # an int seed: the same stream in any process
        self.choices: tuple[Any, ...] = ()  # the choices behind the last value drawn (`replay` draws it again)

    def draw(self, strategy: st.SearchStrategy[Any] | None = None) -> T:
        """The next value (of `strategy` instead, from the same stream, if given); ValueError when the strategy
        gives none in MAX_ATTEMPTS tries (Unsatisfiable)."""
        strategy = self.strategy if strategy is None else strategy
        assert strategy is not None, "a Drawer made without a strategy draws from the one each call names"
        for _ in range(MAX_ATTEMPTS):
            data = ConjectureData(random=self.random, provider=_SeededProvider)
            try:
                with BuildContext(data, is_final=False, wrapped_test=_no_test):  # as @given's draws have
                    value = data.draw(strategy)
            except (StopTest, UnsatisfiedAssumption):  # a filter gave up, or the draw overran: try again, further on
                continue
            self.choices = tuple(data.choices)
            return value
        raise Unsatisfiable(f"{strategy!r} gave no value in {MAX_ATTEMPTS} attempts")

    def __iter__(self) -> Iterator[T]:
        while True:
            yield self.draw()


# Draws of one family in a row that repeat earlier cases before `distinct_cases` stops choosing it: a family of a
# few fixed values (the empty body, a sampled malformed one) soon has none left to give.
MAX_REPEATS = 20


def distinct_cases(found: list[Family], seed: int) -> Iterator[Case]:
    """Cases of the families, each unlike every one before it, the same ones for the same seed: each draw from
    a family chosen evenly (as `any_case` does) among those that have not given MAX_REPEATS repeats in a row;
    ends when none is left. Repeats are drawn but not given, so a run's cases are all distinct. A family that can
    give nothing (an empty strategy, as `st.one_of` would leave out) is never chosen."""
    drawer: Drawer[Case] = Drawer(None, seed)
    active = [family for family in found if not family.strategy.is_empty]
    repeats = [0] * len(active)
    keys: set[tuple[Any, ...]] = set()
    while active:
        index = drawer.random.randrange(len(active))
        try:
            case = drawer.draw(active[index].strategy)
        except Unsatisfiable:  # its filter never passes: it has nothing to give
            del active[index], repeats[index]
            continue
        key = case.key()
        if key not in keys:
            keys.add(key)
            repeats[index] = 0
            yield dataclasses.replace(case, choices=drawer.choices)
            continue
        repeats[index] += 1
        if repeats[index] >= MAX_REPEATS:
            del active[index], repeats[index]


def draw_cases(strategy: st.SearchStrategy[Case], count: int, seed: int) -> list[Case]:
    """`count` draws from a strategy, the same ones for the same seed (see `Drawer`)."""
    drawer = Drawer(strategy, seed)
    return [drawer.draw() for _ in range(max(count, 0))]


def draw_cases_with_engine(strategy: st.SearchStrategy[Case], count: int, seed: int) -> list[Case]:
    """`count` draws through Hypothesis's test engine (`@given` with a seed), as the suite drew before `Drawer`:
    kept for the benchmark's comparison (benchmarks/bench_drawing.py); far slower per case."""
    if count <= 0:
        return []
    drawn: list[Case] = []

    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(strategy)
    def collect(case: Case) -> None:
        drawn.append(case)

    hypothesis_seed(seed)(collect)()
    return drawn
