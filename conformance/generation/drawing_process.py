"""Cases drawn ahead in a forked process, so that drawing takes no CPU from the process that sends.

Drawing a case is pure-Python CPU (Hypothesis), and so is sending and judging one: in one process
they share the GIL, and a run's rate is their sum. A forked child continues the run's case streams
(each lane's whole plan: catalog cases, generated ones and their twins in other spellings) from
where the parent left them, draws them in turn and pipes them back in batches; the parent reads a
stream's next case only when the run asks for it. What the child adds to the watched caches (each
lane's generated cases) comes back too, so that the parent's later runs of a seed draw nothing.
Threads cannot do this (the GIL), and a pool of `multiprocessing` would pickle the strategies; a
fork inherits them built.

Drawing is deterministic, so the child draws exactly the cases the parent would have: should the
child fail or vanish, the parent draws the rest itself (`DrawingProcess.next` raises `DrawingProcessLost`), and a run
gives the same cases either way. The child draws at most a pipe's capacity ahead of what was read.
"""

from __future__ import annotations

import contextlib
import copyreg
import io
import logging
import os
import pickle
import signal
import sys
import threading
import warnings
import weakref
from collections import deque
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any, Protocol

import cbor2

from conformance.cases import Case

FIRST_BATCH = 1  # cases in the first message: the run is waiting for it
LARGEST_BATCH = 32  # each message doubles in size up to this many cases
END = None  # in a batch, (stream, END): the stream has no further case
PATIENCE = 10.0  # seconds without a message before the parent draws on itself (a batch takes milliseconds)


class Drawable(Protocol):
    """A case stream the child can continue: its deterministic generator and how far it has gone."""

    def position(self) -> tuple[Iterator[Case], int, int]:
        """(the in-process generator, cases it has produced, cases the stream holds)."""


class Watched(Protocol):
    """A cache of cases the child fills as it draws the streams (a lane's generated cases, which its plan is drawn
    from): what the child adds is sent back and kept in the parent's too, for the process's later runs."""

    def held(self) -> int:
        """How many cases it holds."""

    def get(self, index: int) -> Case | None:
        """Its `index`th case."""

    def absorb(self, index: int, case: Case) -> None:
        """Keep a case the child drew as the `index`th (if it is the next one)."""

    def forked(self) -> None:
        """In the child: take over the cache, whose lock the parent held at the fork (`still`)."""


class DrawingProcessLost(Exception):
    """The drawing process ended or failed: the stream draws in-process from here on."""


def available() -> bool:
    """Whether cases can be drawn in a forked process here (POSIX fork, not macOS's: there, system
    frameworks do not survive a fork)."""
    return hasattr(os, "fork") and sys.platform != "darwin"


class DrawingProcess:
    """The parent's end: one forked child drawing several streams ahead, read stream by stream."""

    def __init__(self, streams: Sequence[Drawable], watched: Sequence[Watched] = ()) -> None:
        self._ids = {id(stream): number for number, stream in enumerate(streams)}
        self._pending: dict[int, deque[Case | None]] = {number: deque() for number in range(len(streams))}
        self._watched = {len(streams) + number: cache for number, cache in enumerate(watched)}
        self._lock = threading.Lock()
        self.lost = False
        starts = [stream.position() for stream in streams]
        read_end, write_end = os.pipe()
        # os.fork, not multiprocessing: the child must inherit the built strategies and generators (which do not
        # pickle), and it closes every inherited descriptor, which multiprocessing's own bookkeeping relies on.
        try:
            self._pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            raise
        if self._pid == 0:
            os.close(read_end)
            try:
                _child(starts, write_end, [(len(streams) + number, cache) for number, cache in enumerate(watched)])
            finally:
                os._exit(0)
        os.close(write_end)  # the child holds the only writer: its end (or death) is the reader's EOF
        self._reader = Connection(read_end, writable=False)
        self._stop = weakref.finalize(self, _stop, self._pid, self._reader)  # dropped unclosed, it ends the child too

    def next(self, stream: Drawable) -> Case | None:
        """The stream's next case (None: it has no more); DrawingProcessLost when the child cannot give it."""
        number = self._ids[id(stream)]
        with self._lock:
            pending = self._pending[number]
            while not pending:
                if self.lost:
                    raise DrawingProcessLost("the drawing process has ended")
                try:
                    if not self._reader.poll(PATIENCE):
                        raise TimeoutError(f"no case in {PATIENCE:g} s")
                    message = pickle.loads(self._reader.recv_bytes())
                except Exception as exc:  # noqa: BLE001 - EOF, a broken pipe: whatever it is, draw here instead
                    self._lose()
                    raise DrawingProcessLost(f"the drawing process ended: {exc!r}") from None
                except BaseException:  # Ctrl-C mid-message: what is left in the pipe cannot be read in step
                    self._lose()
                    raise
                if isinstance(message, str):  # the child's own error: the parent meets it again, drawing itself
                    self._lose()
                    raise DrawingProcessLost(message)
                for owner, case in message:
                    if owner in self._watched:
                        index, drawn = case
                        self._watched[owner].absorb(index, drawn)
                    else:
                        self._pending[owner].append(case)
            return pending.popleft()

    def close(self) -> None:
        """Stop the child (it may be blocked on a full pipe, or drawing ahead) and release the pipe."""
        with self._lock:
            self._lose()

    def _lose(self) -> None:
        self.lost = True
        self._stop()


def _stop(pid: int, reader: Connection) -> None:
    """End the child and reap it (no zombie is left in a long-lived process such as a test session)."""
    reader.close()  # a child blocked writing gets EPIPE
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # it holds nothing worth a graceful end
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _child(starts: list[tuple[Iterator[Case], int, int]], write_end: int,
           watched: list[tuple[int, Watched]]) -> None:
    """Continue every stream from where it holds cases, one case of each in turn, piping batches back, with what
    the watched caches gained meanwhile."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops this process
    _release_inherited(write_end)
    # Fresh streams, no warnings, no logging: a lock another thread of the parent held at the fork (its terminal
    # output, a log handler) stays held here forever.
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - open until the child's os._exit
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    writer = Connection(write_end, readable=False)
    for _, cache in watched:  # before any stream is drawn: they draw from these caches
        cache.forked()
    try:
        live: list[tuple[int, Iterator[Case]]] = []
        for number, (generator, made, held) in enumerate(starts):
            for _ in range(held - made):  # the parent holds cases from an earlier child: the same, drawn again
                next(generator, None)
            live.append((number, generator))
        batch: list[tuple[int, Any]] = []
        size = FIRST_BATCH
        reported = {owner: cache.held() for owner, cache in watched}  # the parent holds these already
        while live:
            for number, generator in list(live):
                case = next(generator, END)
                if case is not END:
                    case.key()  # computed here, kept with the case: the parent de-duplicates by it
                for owner, cache in watched:  # before the case: what it was drawn from is kept first
                    while reported[owner] < cache.held():
                        batch.append((owner, (reported[owner], cache.get(reported[owner]))))
                        reported[owner] += 1
                batch.append((number, case))
                if case is END:
                    live.remove((number, generator))
            if len(batch) >= size or not live:
                writer.send_bytes(_dumps(batch))
                batch, size = [], min(size * 2, LARGEST_BATCH)
    except OSError:  # the parent closed its end: the run needs no more
        pass
    except BaseException as exc:  # noqa: BLE001 - told to the parent, which draws on and meets it itself
        with contextlib.suppress(OSError):
            writer.send_bytes(pickle.dumps(f"the drawing process failed: {exc!r}"))


def _release_inherited(keep: int) -> None:
    """Point every descriptor the fork inherited but `keep` at /dev/null: the child must hold open none of the
    parent's sockets and pipes (a connection the parent closes must close), nor write to its terminal."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        inherited = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: the descriptors a run can have open
        inherited = list(range(0, 1024))
    for descriptor in inherited:
        if descriptor not in (keep, null):
            with contextlib.suppress(OSError):
                os.dup2(null, descriptor)


# Cases hold cbor2's values (tags, simple values, undefined), which do not pickle by themselves.
def _undefined() -> Any:
    return cbor2.undefined


_REDUCERS: dict[type, Any] = {
    cbor2.CBORTag: lambda tag: (cbor2.CBORTag, (tag.tag, tag.value)),
    cbor2.CBORSimpleValue: lambda simple: (cbor2.CBORSimpleValue, (simple.value,)),
    type(cbor2.undefined): lambda _: (_undefined, ()),
}


def _dumps(value: object) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, **_REDUCERS}
    pickler.dump(value)
    return buffer.getvalue()
