"""Hypothesis strategies for cases, derived from each operation's request schema.

One module per family, as in Hypothesis's own `strategies/_internal`: `alphabet` (characters a
pattern allows or forbids), `strings` (labelled valid and invalid member values), `bodies` (whole
documents); `awsjson` and `rpcv2cbor` add what only that protocol can express (the wire layer,
`conformance.protocols`, only encodes and decodes).

Strategies are built once per (operation, protocol, the other operations) and shared: `families`
and `any_case` return the same objects for equal arguments, and no strategy is built while a case
is drawn. `Drawer` draws from one strategy without Hypothesis's test engine: one `ConjectureData`
per case, fed by a `random.Random` seeded with the seed, so the same seed draws the same cases in
any process (whatever its imports or PYTHONHASHSEED).
"""

from __future__ import annotations

import json
import random
import threading
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
from conformance.model import Operation
from conformance.protocols import WireProtocol
from conformance.strategies import awsjson, rpcv2cbor
from conformance.strategies.bodies import Family
from conformance.strategies.bodies import families as document_families

T = TypeVar("T")

# The families each protocol adds, by the protocol's Smithy name.
PROTOCOL_FAMILIES = {"awsJson1_1": awsjson.families, "rpcv2Cbor": rpcv2cbor.families}

# Built families by `lane_key`: a strategy is built (and validated by Hypothesis) once per process.
_FAMILIES: dict[tuple[Any, ...], tuple[Family, ...]] = {}
_ANY_CASE: dict[tuple[Any, ...], st.SearchStrategy[Case]] = {}
_BUILD_LOCK = threading.RLock()


def lane_key(operation: Operation, protocol: WireProtocol, all_operations: list[Operation]) -> tuple[Any, ...]:
    """Everything the families of a lane are built from, hashable: the operation (name, service, request schema),
    the protocol and what it cannot carry, and the other operations' names and services."""
    return (operation.name, repr(operation.service), json.dumps(operation.request, sort_keys=True), protocol.name,
            tuple(sorted(protocol.inexpressible)),
            tuple((op.name, repr(op.service)) for op in all_operations))


def families(operation: Operation, protocol: WireProtocol, all_operations: list[Operation]) -> list[Family]:
    """Every family of cases for one operation over one protocol (less what the protocol cannot carry); built once
    for equal arguments."""
    key = lane_key(operation, protocol, all_operations)
    with _BUILD_LOCK:
        if key not in _FAMILIES:
            found = document_families(operation) + PROTOCOL_FAMILIES[protocol.name](operation, all_operations)
            _FAMILIES[key] = tuple(family for family in found if family.category not in protocol.inexpressible)
        return list(_FAMILIES[key])


def any_case(operation: Operation, protocol: WireProtocol, all_operations: list[Operation]) -> st.SearchStrategy[Case]:
    """A case from any family, each family equally likely; built once for equal arguments."""
    key = lane_key(operation, protocol, all_operations)
    with _BUILD_LOCK:
        if key not in _ANY_CASE:
            _ANY_CASE[key] = st.one_of([family.strategy for family in families(operation, protocol, all_operations)])
        return _ANY_CASE[key]


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
_CONSTANTS: dict[tuple[Any, ...], tuple[Any, ...]] = {}


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

    def draw(self, strategy: st.SearchStrategy[Any] | None = None) -> T:
        """The next value (of `strategy` instead, from the same stream, if given); ValueError when the strategy
        gives none in MAX_ATTEMPTS tries (Unsatisfiable)."""
        strategy = self.strategy if strategy is None else strategy
        assert strategy is not None, "a Drawer made without a strategy draws from the one each call names"
        for _ in range(MAX_ATTEMPTS):
            data = ConjectureData(random=self.random, provider=_SeededProvider)
            try:
                with BuildContext(data, is_final=False, wrapped_test=_no_test):  # as @given's draws have
                    return data.draw(strategy)
            except (StopTest, UnsatisfiedAssumption):  # a filter gave up, or the draw overran: try again, further on
                continue
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
            yield case
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


def clear_caches() -> None:
    """Forget every built strategy (for benchmarks that time building them)."""
    from conformance.strategies import bodies, strings

    with _BUILD_LOCK:
        _FAMILIES.clear()
        _ANY_CASE.clear()
        with bodies._MEMBERS_LOCK:
            bodies._MEMBERS.clear()
        strings._space.cache_clear()
