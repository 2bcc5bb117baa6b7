"""Each lane's generated cases for a seed, as a stream drawn once per process and extended as asked for (a drawing
process, `drawing_process`, may draw them for it)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from conformance.cases import Case
from conformance.generation import strategies
from conformance.generation.cache import cached
from conformance.generation.drawer import distinct_cases
from conformance.model.operations import Operation
from conformance.protocols import WireProtocol


class CaseStream:
    """One lane's distinct generated cases for one seed (`drawer.distinct_cases`), drawn as they are first
    asked for and kept: drawing is deterministic, so a process that runs the suite many times (tests, benchmarks,
    the verdict score) draws each once, and a run asking for more cases than an earlier one extends its draws.
    Cases a drawing process drew are kept here too (`absorb`)."""

    def __init__(self, found: list[strategies.Family], seed: int) -> None:
        self._drawing = distinct_cases(found, seed)
        self._made = 0  # cases `_drawing` has produced here; the rest of `_cases` came from a drawing process
        self._cases: list[Case] = []
        self._lock = threading.Lock()

    def get(self, index: int) -> Case | None:
        """The stream's `index`th case, drawn now if it has not been yet; None once the families give no new one."""
        with self._lock:
            while len(self._cases) <= index:
                case = self._next()
                if case is None:
                    return None
                self._cases.append(case)
            return self._cases[index]

    def cases(self) -> Iterator[Case]:
        """Every case of the stream in order, drawn as they are asked for."""
        index = 0
        while (case := self.get(index)) is not None:
            yield case
            index += 1

    def held(self) -> int:
        """How many cases the stream holds."""
        with self._lock:
            return len(self._cases)

    @contextlib.contextmanager
    def still(self) -> Iterator[None]:
        """Nothing is drawn from the stream within the block (a drawing process forks with it, to draw from it)."""
        with self._lock:
            yield

    def forked(self) -> None:
        """In a drawing process: a lock of its own (the parent held this one at the fork, within `still`)."""
        self._lock = threading.Lock()

    def absorb(self, index: int, case: Case) -> None:
        """Keep a case a drawing process drew as the stream's `index`th, if it is the next one."""
        with self._lock:
            if index == len(self._cases):
                self._cases.append(case)

    def _next(self) -> Case | None:
        while self._made < len(self._cases):  # catch up with what a drawing process drew
            next(self._drawing, None)
            self._made += 1
        case = next(self._drawing, None)
        self._made += case is not None
        return case


def _stream_key(operation: Operation, protocol: WireProtocol, all_operations: list[Operation],
                seed: int) -> tuple[object, ...]:
    return (*strategies.lane_key(operation, protocol, all_operations), seed)


@cached(key=_stream_key)
def stream(operation: Operation, protocol: WireProtocol, all_operations: list[Operation], seed: int) -> CaseStream:
    """The process's stream of one lane's generated cases for a seed; its strategies are built at the first call,
    so that a schema no strategy can generate from fails here."""
    return CaseStream(strategies.families(operation, protocol, all_operations), seed)
