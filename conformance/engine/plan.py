"""What a run will send, decided before anything is sent: every lane's cases in plan order, drawn lazily.

A lane's plan is the catalog's cases, then `--max-examples` generated ones (`generation.streams`),
duplicates dropped, the first case of every category ahead of the rest, so that a budget's first
requests cover every category; the lanes interleave, so that the first requests cover every lane.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from conformance.cases import Case, LaneKey
from conformance.engine.config import ConfigurationError, RunConfig
from conformance.engine.lanes import Lane, lanes_for, required_lanes, select_operations
from conformance.generation import catalog, drawing_process, strategies, streams
from conformance.generation.respellings import with_respellings
from conformance.model.operations import Operation, load_operations


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


def draw_lane(config: RunConfig, lane: Lane, index: int, all_operations: list[Operation],
              entries: list[dict[str, object]] | None = None) -> Iterator[Case]:
    """One lane's cases in plan order, drawn as they are asked for: the catalog's cases, then generated ones
    (`config.max_examples` of them, seeded with `config.seed + index`, `index` the lane's place among the run's
    lanes), duplicates dropped, the first case of every category ahead of the rest (see `categories_first`), and
    the valid cases and a sample of the invalid ones each followed by its twin in another legal spelling
    (`generation.respellings`).
    `entries`: the catalog's entries (default: loaded from `config.catalog`). The catalog and the lane's
    strategies are read and built at the call (a ValueError then), the generated cases drawn during iteration."""
    if config.rerun is not None:  # an earlier report's failed cases, over the lanes they failed on
        return iter(_with_originals([case for key, case in config.rerun if key == lane.key]))
    if entries is None:
        entries = catalog.load_entries(config.catalog)
    listed = catalog.cases_for(lane.operation, lane.protocol.name, all_operations, entries,
                               lane.protocol.inexpressible)
    generated = streams.stream(lane.operation, lane.protocol, all_operations, config.seed + index).cases()
    categories = {family.category for family in strategies.families(lane.operation, lane.protocol, all_operations)}
    return with_respellings(_in_plan_order(listed, generated, config.max_examples, categories), lane.protocol.name,
                            config.seed + index)


def _with_originals(cases: list[Case]) -> list[Case]:
    """The cases, each in another spelling preceded by its original (which its answer is compared with)."""
    have = {case.key() for case in cases}
    found: list[Case] = []
    for case in cases:
        usual = case.usual()
        if usual is not case and usual.key() not in have:
            have.add(usual.key())
            found.append(usual)
        found.append(case)
    return found


def _in_plan_order(listed: list[Case], generated: Iterator[Case], count: int, categories: set[str]) \
        -> Iterator[Case]:
    """`categories_first(unique(catalog + count generated cases unlike the catalog's))`, lazily: generated cases
    are drawn ahead only while some category of theirs (`categories`) has no case yet, which the catalog normally
    rules out."""
    keys: set[tuple[object, ...]] = set()
    seen: set[str] = set()

    def new(case: Case) -> bool:
        key = case.key()
        if key in keys:
            return False
        keys.add(key)
        return True

    def more() -> Iterator[Case]:  # the generated cases the catalog does not have, `count` at most
        taken = 0
        while taken < count:
            case = next(generated, None)
            if case is None:
                return
            if new(case):
                taken += 1
                yield case
    fresh = more()

    rest: list[Case] = []
    for case in listed:
        if new(case):
            if case.category in seen:
                rest.append(case)
            else:
                seen.add(case.category)
                yield case
    drawn_rest: list[Case] = []
    while not categories <= seen:
        case = next(fresh, None)
        if case is None:
            break
        if case.category in seen:
            drawn_rest.append(case)
        else:
            seen.add(case.category)
            yield case
    yield from rest
    yield from drawn_rest
    for case in fresh:
        if case.category not in seen:  # not one of `categories`: no family draws it, so none comes here
            raise AssertionError(f"generated category {case.category} is no family's")
        yield case


def planned_count(config: RunConfig, lane: Lane, all_operations: list[Operation],
                  entries: list[dict[str, object]] | None) -> int:
    """How many of a lane's cases in the usual spelling its plan holds, known before any is drawn: the catalog's
    (duplicates dropped) and `config.max_examples` generated ones (fewer only where a lane's strategies run dry);
    twins in another spelling are not counted (how many there are is drawn)."""
    if config.rerun is not None:
        return sum(1 for case in _with_originals([case for key, case in config.rerun if key == lane.key])
                   if not case.spelling)
    listed = catalog.cases_for(lane.operation, lane.protocol.name, all_operations, entries or [],
                               lane.protocol.inexpressible)
    return len({case.key() for case in listed if not case.spelling}) + config.max_examples


def draw_lanes(config: RunConfig, lanes: list[Lane], all_operations: list[Operation]) -> dict[LaneKey, LaneStream]:
    """Every lane's cases in plan order, each lane drawn lazily and independently of the others (see `draw_lane`);
    the catalog is read and every strategy built at the call."""
    entries = None if config.rerun is not None else catalog.load_entries(config.catalog)
    return {lane.key: LaneStream(draw_lane(config, lane, index, all_operations, entries))
            for index, lane in enumerate(lanes)}


class LaneStream(Iterator[Case]):
    """One lane's cases in plan order (`draw_lane`): from a drawing process while one draws them (twins in other
    spellings included, whose drawing costs as much as the cases'), else drawn here; the same cases either way."""

    def __init__(self, drawing: Iterator[Case]) -> None:
        self._drawing = drawing
        self._made = 0  # cases `_drawing` has produced here
        self._given = 0  # cases given, from here or the drawing process
        self.drawn_by: drawing_process.DrawingProcess | None = None

    def position(self) -> tuple[Iterator[Case], int, int]:
        """Where a drawing process starts: (the generator, cases it produced, cases given)."""
        return self._drawing, self._made, self._given

    def __next__(self) -> Case:
        if self.drawn_by is not None:
            try:
                case = self.drawn_by.next(self)
            except drawing_process.DrawingProcessLost:
                self.drawn_by = None  # drawn here from now on: the same cases
            else:
                if case is None:
                    raise StopIteration
                self._given += 1
                return case
        while self._made < self._given:  # catch up with what the drawing process gave
            next(self._drawing, None)
            self._made += 1
        case = next(self._drawing)
        self._made += 1
        self._given += 1
        return case


def draw_interleaved(config: RunConfig, lanes: list[Lane], all_operations: list[Operation]) \
        -> Iterator[tuple[Lane, int, Case]]:
    """`interleaved(lanes, plan(config, lanes, all_operations))`, drawn as it is asked for: one case from each lane
    in turn, with each case's index in its lane (`LazyPlan.interleaved`)."""
    return LazyPlan(draw_lanes(config, lanes, all_operations)).interleaved(lanes)


def plan(config: RunConfig, lanes: list[Lane], all_operations: list[Operation]) -> dict[LaneKey, list[Case]]:
    """The catalog's cases, then generated ones, for each lane; duplicates dropped; the first case of every
    category ahead of the rest (`draw_lanes`, drawn whole)."""
    return {key: list(cases) for key, cases in draw_lanes(config, lanes, all_operations).items()}


def categories_first(cases: list[Case]) -> list[Case]:
    """The first case of every category, then the rest, each part in plan order: a budget's first requests
    cover every category."""
    seen: set[str] = set()
    firsts, rest = [], []
    for case in cases:
        (rest if case.category in seen else firsts).append(case)
        seen.add(case.category)
    return firsts + rest


def interleaved(lanes: list[Lane], planned: dict[LaneKey, list[Case]]) -> list[tuple[Lane, int, Case]]:
    """Every lane's cases, one from each lane in turn, with each case's index in its lane: the order a run sends
    them, so that its first requests already cover every operation and protocol."""
    longest = max((len(planned[lane.key]) for lane in lanes), default=0)
    return [(lane, i, planned[lane.key][i]) for i in range(longest) for lane in lanes if i < len(planned[lane.key])]


class LazyPlan(Mapping[LaneKey, list[Case]]):
    """Every lane's planned cases, drawn when asked for: a lane whole (`plan[key]`), or case by case in send order
    (`interleaved`), so that a run sends its first cases while the rest are still being drawn. Thread-safe."""

    def __init__(self, drawing: dict[LaneKey, LaneStream]) -> None:
        self._drawing = drawing
        self._drawn: dict[LaneKey, list[Case]] = {key: [] for key in drawing}
        self._done: set[LaneKey] = set()
        self._lock = threading.Lock()

    def __getitem__(self, key: LaneKey) -> list[Case]:
        with self._lock:
            if key not in self._done:
                self._drawn[key].extend(self._drawing[key])
                self._done.add(key)
            return self._drawn[key]

    def __iter__(self) -> Iterator[LaneKey]:
        return iter(self._drawing)

    def __len__(self) -> int:
        return len(self._drawing)

    def streams(self) -> list[LaneStream]:
        """Every lane's stream, in lane order."""
        return list(self._drawing.values())

    def drawn(self, key: LaneKey) -> int:
        """How many of a lane's cases are drawn so far."""
        with self._lock:
            return len(self._drawn[key])

    def drawn_cases(self, key: LaneKey) -> list[Case]:
        """A lane's cases drawn so far (drawing none)."""
        with self._lock:
            return list(self._drawn[key])

    def _case(self, key: LaneKey, index: int) -> Case | None:
        """Case `index` of a lane, drawn now if need be; None past its last."""
        with self._lock:
            drawn = self._drawn[key]
            while index >= len(drawn) and key not in self._done:
                case = next(self._drawing[key], None)
                if case is None:
                    self._done.add(key)
                else:
                    drawn.append(case)
            return drawn[index] if index < len(drawn) else None

    def interleaved(self, lanes: list[Lane]) -> Iterator[tuple[Lane, int, Case]]:
        """`interleaved(lanes, self)`, drawn as it is asked for."""
        active = list(lanes)
        index = 0
        while active:
            still = []
            for lane in active:
                case = self._case(lane.key, index)
                if case is not None:
                    still.append(lane)
                    yield lane, index, case
            active = still
            index += 1


@dataclass
class RunPlan:
    """A run's plan before anything is sent: its lanes, which must be served, every case each would send (drawn
    as they are first asked for)."""

    operations: list[Operation]
    lanes: list[Lane]
    required: set[LaneKey]
    planned: Mapping[LaneKey, list[Case]]
    drawing: drawing_process.DrawingProcess | None = None  # the process drawing `planned` ahead, if any
    counts: dict[LaneKey, int] | None = None  # each lane's cases in the usual spelling (`planned_count`)

    def close(self) -> None:
        """Stop drawing ahead (what is still to be drawn is then drawn in-process)."""
        if self.drawing is not None:
            self.drawing.close()


def start_drawing_process(config: RunConfig, lanes: list[Lane], all_operations: list[Operation],
                          planned: LazyPlan) -> drawing_process.DrawingProcess | None:
    """A process that draws the lanes' plans ahead (their generated cases and their twins), keeping the generated
    cases in this process's streams too; or None where it would not pay: drawing in-process asked for, a rerun (no
    generated cases), no fork here, or every lane's stream holds its generated cases (a later run of a seed in this
    process: only the twins are left to draw)."""
    if not config.drawing_process or config.rerun is not None or not drawing_process.available():
        return None
    case_streams = list({id(each): each for each in (
        streams.stream(lane.operation, lane.protocol, all_operations, config.seed + index)
        for index, lane in enumerate(lanes))}.values())
    if all(each.held() >= max(config.max_examples, 1) for each in case_streams):
        return None
    lane_streams = planned.streams()
    with contextlib.ExitStack() as held:  # no stream is being drawn while the child forks with its generator
        for each in case_streams:
            held.enter_context(each.still())
        try:
            process = drawing_process.DrawingProcess(lane_streams, case_streams)
        except OSError:  # no fork to be had (a process limit, no memory): the run draws in-process
            return None
    for each in lane_streams:
        each.drawn_by = process
    return process


def prepare(config: RunConfig) -> RunPlan:
    """Plan the run; ConfigurationError when the configuration cannot work."""
    try:
        all_operations = load_operations(config.schema_dir)
        operations = select_operations(config)
        lanes = lanes_for(config, operations)
        planned = LazyPlan(draw_lanes(config, lanes, all_operations))  # strategies built here, cases drawn later
        entries = None if config.rerun is not None else catalog.load_entries(config.catalog)
        counts = {lane.key: planned_count(config, lane, all_operations, entries) for lane in lanes}
    except ValueError as exc:  # an unreadable catalog or schema, an unknown protocol or operation,
        raise ConfigurationError(str(exc)) from None  # a pattern no strategy can generate from
    if not lanes:
        raise ConfigurationError(f"no selected operation speaks {config.protocol}")
    if config.budget is not None and config.budget < len(lanes):
        raise ConfigurationError(f"--budget {config.budget} is below the {len(lanes)} requests that probe which "
                                 "lanes (operation and protocol) the endpoint serves")
    return RunPlan(operations, lanes, required_lanes(config, lanes), planned,
                   start_drawing_process(config, lanes, all_operations, planned), counts)
