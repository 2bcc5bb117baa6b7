"""What a run will send, decided before anything is sent: its configuration, lanes, cases and budget shares."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from conformance import botocore_model, drawing_process, examples, strategies
from conformance.cases import Case
from conformance.lifecycle import LifecycleConfig
from conformance.model import Operation, default_schema_dir, document_name, load_operations
from conformance.outcomes import LaneKey, lane_label
from conformance.protocols import SUPPORTED, WireProtocol, get_protocol
from conformance.target import Target


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


# The operations of the project's mission: what a run tests unless told otherwise.
MISSION_OPERATIONS = (("comprehend", "StopPiiEntitiesDetectionJob"), ("comprehendmedical", "StopPHIDetectionJob"))


class ConfigurationError(ValueError):
    """The run's configuration cannot work (unknown operation, unreadable catalog...)."""


@dataclass(frozen=True)
class Lane:
    """One operation over one protocol: the unit a run plans, probes and reports."""

    operation: Operation
    protocol: WireProtocol

    @property
    def key(self) -> LaneKey:
        """(operation name, protocol name)."""
        return (self.operation.name, self.protocol.name)

    @property
    def label(self) -> str:
        """How reports name it."""
        return lane_label(*self.key)


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


def select_operations(config: RunConfig) -> list[Operation]:
    """The operations a run covers (see `choose_operations`)."""
    return choose_operations(config.schema_dir, config.operations, config.all_operations)


def choose_operations(schema_dir: Path | None, named: tuple[str, ...] = (), all_operations: bool = False) \
        -> list[Operation]:
    """The operations named; else every one of a chosen schema folder (or all_operations); else the mission's two.
    ConfigurationError names unknown ones, a missing mission document, and a document that lists no protocol the
    suite speaks."""
    everything = load_operations(schema_dir)
    names = {op.name for op in everything}
    folder = schema_dir or default_schema_dir()
    whole_folder = all_operations or schema_dir is not None
    if not everything:
        raise ConfigurationError(f"{folder}: no schema documents (derive them with `conformance schemas`)")
    wanted = set(named or (names if whole_folder else {name for _, name in MISSION_OPERATIONS}))
    # The mission's operations must not drop out of a run (which would then conform) with their documents.
    missing = [(service, name) for service, name in MISSION_OPERATIONS if name in wanted and name not in names]
    if missing:
        files = ", ".join(str(folder / document_name(service, name)) for service, name in missing)
        raise ConfigurationError(f"{files}: no schema document for {', '.join(name for _, name in missing)}, which "
                                 "the suite tests")
    unknown = [name for name in named if name not in names]
    if unknown:
        raise ConfigurationError(f"unknown operation(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    selected = [op for op in everything if op.name in wanted]
    unspoken = next((op for op in selected if not set(op.service.protocols) & set(SUPPORTED)), None)
    if unspoken is not None:
        raise ConfigurationError(f"{unspoken.path or unspoken.name}: {unspoken.name} lists protocols "
                                 f"{', '.join(unspoken.service.protocols)}, none of which the suite speaks "
                                 f"({', '.join(SUPPORTED)})")
    return selected


def lanes_for(config: RunConfig, operations: list[Operation]) -> list[Lane]:
    """Every operation over every protocol its model lists that this suite speaks, as `config.protocol` narrows it."""
    wanted = SUPPORTED if config.protocol == "all" else (get_protocol(config.protocol).name,)
    return [Lane(operation, get_protocol(name)) for operation in operations
            for name in operation.service.protocols if name in wanted]


def required_lanes(config: RunConfig, lanes: list[Lane]) -> set[LaneKey]:
    """The lanes that must be served: each operation over the protocol AWS SDKs send it (botocore's choice among
    those its model lists), and over any protocol named with --protocol."""
    required = {lane.key for lane in lanes if config.protocol == lane.protocol.name}
    for lane in lanes:
        if botocore_model.sdk_protocol(lane.operation.service.protocols) == lane.protocol.name:
            required.add(lane.key)
    return required


class _Stream:
    """One lane's distinct generated cases for one seed (`strategies.distinct_cases`), drawn as they are first
    asked for and kept: drawing is deterministic, so a process that runs the suite many times (tests, benchmarks,
    the verdict score) draws each once, and a run asking for more cases than an earlier one extends its draws.
    While a run's `feed` is attached, a drawing process draws them ahead (`conformance.drawing_process`)."""

    def __init__(self, found: list[strategies.Family], seed: int) -> None:
        self._drawing = strategies.distinct_cases(found, seed)
        self._made = 0  # cases `_drawing` has produced here; the rest of `_cases` came from a drawing process
        self._cases: list[Case] = []
        self._lock = threading.Lock()
        self.feed: drawing_process.Feed | None = None

    def get(self, index: int) -> Case | None:
        """The stream's `index`th case, drawn now if it has not been yet; None once the families give no new one."""
        with self._lock:
            while len(self._cases) <= index:
                case = self._next()
                if case is None:
                    return None
                self._cases.append(case)
            return self._cases[index]

    def held(self) -> int:
        """How many cases the stream holds."""
        with self._lock:
            return len(self._cases)

    def position(self) -> tuple[Iterator[Case], int, int]:
        """(the in-process generator, cases it has produced, cases the stream holds): where a drawing process
        starts (`start_drawing_process` holds the stream's lock while it forks)."""
        return self._drawing, self._made, len(self._cases)

    def _next(self) -> Case | None:
        feed = self.feed
        if feed is not None:
            try:
                return feed.next(self)
            except drawing_process.FeedLost:
                self.feed = None  # drawn here from now on: the same cases
        while self._made < len(self._cases):  # catch up with what a drawing process drew
            next(self._drawing, None)
            self._made += 1
        case = next(self._drawing, None)
        self._made += case is not None
        return case


_STREAMS: dict[tuple[object, ...], _Stream] = {}
_STREAMS_LOCK = threading.Lock()


def _generated(operation: Operation, protocol: WireProtocol, all_operations: list[Operation],
               seed: int) -> Iterator[Case]:
    """One lane's distinct generated cases, lazily, until its strategy runs out (none of today's does), the same
    ones for the same seed; the strategy is built now, so that a schema no strategy can generate from fails here."""
    stream = _stream(operation, protocol, all_operations, seed)

    def cases() -> Iterator[Case]:
        index = 0
        while (case := stream.get(index)) is not None:
            yield case
            index += 1
    return cases()


def _stream(operation: Operation, protocol: WireProtocol, all_operations: list[Operation], seed: int) -> _Stream:
    """The process's stream of one lane's generated cases for a seed (its strategies built at the first call)."""
    key = (*strategies.lane_key(operation, protocol, all_operations), seed)
    found = strategies.families(operation, protocol, all_operations)
    with _STREAMS_LOCK:
        stream = _STREAMS.get(key)
        if stream is None:
            stream = _STREAMS[key] = _Stream(found, seed)
    return stream


def start_drawing_process(config: RunConfig, lanes: list[Lane], all_operations: list[Operation]) \
        -> drawing_process.Feed | None:
    """A process that draws the lanes' generated cases ahead (see `conformance.drawing_process`), or None where
    it would not pay: drawing in-process asked for, no fork here, or every stream already holds its cases."""
    if not config.drawing_process or config.rerun is not None or not drawing_process.available():
        return None
    streams = sorted({id(stream): stream for stream in (_stream(lane.operation, lane.protocol, all_operations,
                                                                config.seed + index)
                                                        for index, lane in enumerate(lanes))}.items())
    wanted = [stream for _, stream in streams if stream.held() < max(config.max_examples, 1)
              and (stream.feed is None or stream.feed.lost)]
    if not wanted:
        return None
    with contextlib.ExitStack() as still:  # no stream is being drawn while the child forks with its generator
        for stream in wanted:
            still.enter_context(stream._lock)
        try:
            feed = drawing_process.Feed(wanted)
        except OSError:  # no fork to be had (a process limit, no memory): the run draws in-process
            return None
        for stream in wanted:
            stream.feed = feed
    return feed


def draw_lane(config: RunConfig, lane: Lane, index: int, all_operations: list[Operation],
              entries: list[dict[str, object]] | None = None) -> Iterator[Case]:
    """One lane's cases in plan order, drawn as they are asked for: the catalog's cases, then generated ones
    (`config.max_examples` of them, seeded with `config.seed + index`, `index` the lane's place among the run's
    lanes), duplicates dropped, the first case of every category ahead of the rest (see `categories_first`).
    `entries`: the catalog's entries (default: loaded from `config.catalog`). The catalog and the lane's
    strategies are read and built at the call (a ValueError then), the generated cases drawn during iteration."""
    if config.rerun is not None:  # an earlier report's failed cases, over the lanes they failed on
        return iter([case for key, case in config.rerun if key == lane.key])
    if entries is None:
        entries = examples.load_entries(config.catalog)
    catalog = examples.cases_for(lane.operation, lane.protocol.name, all_operations, entries,
                                 lane.protocol.inexpressible)
    generated = _generated(lane.operation, lane.protocol, all_operations, config.seed + index)
    categories = {family.category for family in strategies.families(lane.operation, lane.protocol, all_operations)}
    return _in_plan_order(catalog, generated, config.max_examples, categories)


def _in_plan_order(catalog: list[Case], generated: Iterator[Case], count: int, categories: set[str]) \
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
    for case in catalog:
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


def draw_lanes(config: RunConfig, lanes: list[Lane], all_operations: list[Operation]) -> dict[LaneKey, Iterator[Case]]:
    """Every lane's cases in plan order, each lane drawn lazily and independently of the others (see `draw_lane`);
    the catalog is read and every strategy built at the call."""
    entries = None if config.rerun is not None else examples.load_entries(config.catalog)
    return {lane.key: draw_lane(config, lane, index, all_operations, entries) for index, lane in enumerate(lanes)}


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


@dataclass(frozen=True)
class Allocation:
    """How what is left of a budget after probing is shared: job flows, authentication cases, each lane's cases."""

    flows: bool
    auth: bool
    cases_per_lane: dict[LaneKey, int | None]  # None: every planned case


def allocate(left: int | None, lanes: list[Lane], flow_requests: int, auth_requests: int) -> Allocation:
    """Share `left` requests (None: no budget) among the lanes the endpoint serves, in order of worth: job flows
    (their requests counted from their plan), authentication cases, then each lane's cases."""
    if left is None:
        return Allocation(flow_requests > 0, auth_requests > 0, {lane.key: None for lane in lanes})
    use_flows = flow_requests > 0 and left >= flow_requests
    left -= flow_requests if use_flows else 0
    use_auth = auth_requests > 0 and left >= auth_requests
    left -= auth_requests if use_auth else 0
    share, extra = divmod(left, max(len(lanes), 1))
    return Allocation(use_flows, use_auth,
                      {lane.key: share + (1 if index < extra else 0) for index, lane in enumerate(lanes)})


class LazyPlan(Mapping[LaneKey, list[Case]]):
    """Every lane's planned cases, drawn when asked for: a lane whole (`plan[key]`), or case by case in send order
    (`interleaved`), so that a run sends its first cases while the rest are still being drawn. Thread-safe."""

    def __init__(self, drawing: dict[LaneKey, Iterator[Case]]) -> None:
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

    def drawn(self, key: LaneKey) -> int:
        """How many of a lane's cases are drawn so far."""
        with self._lock:
            return len(self._drawn[key])

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
class Prepared:
    """A run's plan before anything is sent: its lanes, which must be served, every case each would send (drawn
    as they are first asked for)."""

    operations: list[Operation]
    lanes: list[Lane]
    required: set[LaneKey]
    planned: Mapping[LaneKey, list[Case]]
    feed: drawing_process.Feed | None = None  # the process drawing `planned` ahead, if any

    def close(self) -> None:
        """Stop drawing ahead (what is still to be drawn is then drawn in-process)."""
        if self.feed is not None:
            self.feed.close()


def prepare(config: RunConfig) -> Prepared:
    """Plan the run; ConfigurationError when the configuration cannot work."""
    try:
        all_operations = load_operations(config.schema_dir)
        operations = select_operations(config)
        lanes = lanes_for(config, operations)
        planned = LazyPlan(draw_lanes(config, lanes, all_operations))  # strategies built here, cases drawn later
    except ValueError as exc:  # an unreadable catalog or schema, an unknown protocol or operation,
        raise ConfigurationError(str(exc)) from None  # a pattern no strategy can generate from
    if not lanes:
        raise ConfigurationError(f"no selected operation speaks {config.protocol}")
    if config.budget is not None and config.budget < len(lanes):
        raise ConfigurationError(f"--budget {config.budget} is below the {len(lanes)} requests that probe which "
                                 "lanes (operation and protocol) the endpoint serves")
    return Prepared(operations, lanes, required_lanes(config, lanes), planned,
                    start_drawing_process(config, lanes, all_operations))
