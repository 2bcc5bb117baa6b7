"""The cases: the catalog's and the generated ones, every lane's interleaved, sent from the transport's one event
loop, at most `--workers` in flight."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator

from conformance.cases import Case, LaneKey
from conformance.engine.budget import BudgetExhausted
from conformance.engine.execute import execute_async
from conformance.engine.lanes import Lane
from conformance.engine.phases import PhaseOutcome, RunContext
from conformance.engine.phases.budget import cut_skips
from conformance.engine.plan import LazyPlan, PlannedRequest, interleaved
from conformance.engine.results import CaseResult, Skip, SkipReason
from conformance.judging.check_results import Severity
from conformance.judging.checks import severity


class CasesPhase:
    """Every lane's planned cases, within its share of the budget."""

    name = "cases"

    def sequence(self, ctx: RunContext) -> tuple[Callable[[LaneKey], int], Iterable[tuple[Lane, int, Case]],
                                                  list[tuple[LaneKey, Case]]]:
        """(each lane's count of cases in the usual spelling to send, known before any is sent, so that a progress
        total never changes; the cases in send order; the (lane, case) pairs the budget cut off). With no budget
        share the cases are drawn while earlier ones are in flight."""
        planned, counts = ctx.prepared.planned, ctx.prepared.counts
        if isinstance(planned, LazyPlan) and counts is not None and all(ctx.allocation is None or ctx.allocation.cases_per_lane.get(lane.key)
                                                 is None for lane in ctx.live):
            return counts.__getitem__, planned.interleaved(ctx.live), []
        kept, cut = self.kept(ctx)
        usual = {key: sum(1 for case in cases if not case.spelling) for key, cases in kept.items()}
        return usual.__getitem__, interleaved(ctx.live, kept), cut

    def kept(self, ctx: RunContext) -> tuple[dict[LaneKey, list[Case]], list[tuple[LaneKey, Case]]]:
        """Each live lane's cases cut to its share, and the (lane, case) pairs cut off."""
        kept: dict[LaneKey, list[Case]] = {}
        cut: list[tuple[LaneKey, Case]] = []
        for lane in ctx.live:
            cases = ctx.prepared.planned[lane.key]
            quota = ctx.allocation.cases_per_lane.get(lane.key) if ctx.allocation else None
            kept[lane.key] = cases if quota is None else cases[:quota]
            cut += [(lane.key, case) for case in cases[len(kept[lane.key]):]]
        return kept, cut

    def plan(self, ctx: RunContext) -> list[PlannedRequest]:
        """The kept cases, in the order they go out."""
        kept, _ = self.kept(ctx)
        return [PlannedRequest(lane, case) for lane, _, case in interleaved(ctx.live, kept)]

    def promises(self, ctx: RunContext) -> dict[LaneKey, set[str]]:
        """Every planned category of every lane (of a run a limit stopped: of the cases drawn by then, as the rest
        is not drawn only to be promised; that run is incomplete whatever it promised)."""
        planned = ctx.prepared.planned
        if ctx.limits.reached() and isinstance(planned, LazyPlan):
            return {lane.key: {case.category for case in planned.drawn_cases(lane.key)} for lane in ctx.lanes}
        return {lane.key: {case.category for case in planned[lane.key]} for lane in ctx.lanes}

    def run(self, ctx: RunContext) -> PhaseOutcome:
        """Send and judge; a case the budget or a cancellation stopped is a skip, not a result."""
        assert ctx.transport is not None
        transport = ctx.transport
        total, sequence, cut = self.sequence(ctx)
        slots: dict[LaneKey, dict[int, CaseResult]] = {lane.key: {} for lane in ctx.live}
        done = dict.fromkeys(slots, 0)  # cases in the usual spelling judged: progress counts what its total counts
        if ctx.progress:
            for lane in ctx.live:  # every lane's total shown from the start
                ctx.progress(lane.label, 0, total(lane.key))
        unsent: list[tuple[LaneKey, str]] = [(lane, case.category) for lane, case in cut]
        lock = threading.Lock()
        dropped: list[tuple[LaneKey, str]] = []

        originals = _Originals()
        in_flight = _Gate(max(ctx.config.workers, 1))

        async def one(lane: Lane, index: int, case: Case) -> None:
            async with in_flight:  # taken in the order the cases were submitted: a twin after its original
                with originals.kept(lane.key, case) as keep:
                    if ctx.limits.reached():  # --max-failures, --max-time (--fail-fast): the rest is a skip
                        with lock:
                            dropped.append((lane.key, case.category))
                        return
                    if ctx.cancel.is_set():  # Ctrl-C: what has not gone out stays unsent
                        return
                    try:
                        result = await execute_async(lane.operation, case, lane.protocol, transport, ctx.checks,
                                                     usual=await originals.result(lane.key, case))
                    except Exception:
                        with lock:
                            unsent.append((lane.key, case.category))
                        raise
                    keep(result)
            with lock:
                slots[lane.key][index] = result
                done[lane.key] += 0 if case.spelling else 1
                if fails(result):
                    ctx.limits.failed()
                if ctx.progress and not case.spelling:
                    ctx.progress(lane.label, done[lane.key], total(lane.key))

        sending = _Handover(transport.sender.loop, max(ctx.config.workers, 1))
        try:  # drawing and handing over are inside: a Ctrl-C meanwhile must still stop what is queued
            for lane, index, case in sequence:  # the loop sends the first cases while the rest are drawn
                if ctx.limits.reached() or sending.fatal is not None:  # a run limit, a bug: draw and hand no more
                    break
                originals.expect(lane.key, case)
                sending.add(one(lane, index, case))
                ctx.interruption.check()
            sending.flush()
            ctx.interruption.wait(sending.idle)  # until all are done; a budget spent ends only the case it stopped
            if sending.fatal is not None:
                raise sending.fatal
        except BaseException:  # Ctrl-C, a bug: what has not started stays unsent (it sees the cancellation), what is
            ctx.cancel.set()   # in flight ends on its own; keep what was judged
            sending.drop()
            ctx.partial.append(PhaseOutcome(self.name, self._judged(ctx, slots)))
            raise
        outcome = PhaseOutcome(self.name, self._judged(ctx, slots))
        outcome.skips += cut_skips(unsent) + _stopped_skips(dropped, ctx)
        return outcome

    @staticmethod
    def _judged(ctx: RunContext, slots: dict[LaneKey, dict[int, CaseResult]]) -> list[CaseResult]:
        """The results so far, lane by lane in plan order."""
        return [result for lane in ctx.live for _, result in sorted(dict(slots.get(lane.key, {})).items())]


class _Handover:
    """The cases' coroutines handed to the loop in batches (one thread-safe call a batch, not a future a case), and
    how many are not done yet: the sending thread waits on one event, not on a future per case.

    A batch goes at once while the loop holds fewer than two cases a worker, so that the first case goes out as
    soon as it is drawn and the loop never starves; else once it holds LARGEST_BATCH."""

    LARGEST_BATCH = 64

    def __init__(self, loop: asyncio.AbstractEventLoop, workers: int) -> None:
        self.loop = loop
        self.low = 2 * workers
        self.pending = 0  # handed over (or about to be) and not done
        self.fatal: BaseException | None = None  # the first error that is not a spent budget
        self.idle = threading.Event()  # nothing pending, or a fatal error
        self.idle.set()
        self._batch: list[Coroutine[object, object, None]] = []
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to its tasks
        self._lock = threading.Lock()

    def add(self, coroutine: Coroutine[object, object, None]) -> None:
        """Hand a case's coroutine over, now or with the next batch."""
        self._batch.append(coroutine)
        with self._lock:
            self.pending += 1
            self.idle.clear()
            running_low = self.pending - len(self._batch) < self.low
        if running_low or len(self._batch) >= self.LARGEST_BATCH:
            self.flush()

    def flush(self) -> None:
        """Hand over what is waiting for a batch."""
        batch, self._batch = self._batch, []
        if batch:
            self.loop.call_soon_threadsafe(self._start, batch)

    def drop(self) -> None:
        """Close what was never handed over (it is never sent)."""
        batch, self._batch = self._batch, []
        for coroutine in batch:
            coroutine.close()

    def _start(self, batch: list[Coroutine[object, object, None]]) -> None:
        for coroutine in batch:
            task = self.loop.create_task(coroutine)
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        with self._lock:
            if error is not None and not isinstance(error, BudgetExhausted) and self.fatal is None:
                self.fatal = error
            self.pending -= 1
            if self.pending == 0 or self.fatal is not None:
                self.idle.set()


class _Gate:
    """At most `size` cases in flight on the loop, let in first come, first served (asyncio's Semaphore promises
    no order on every Python this runs on)."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    async def __aenter__(self) -> None:
        if self._free and not self._waiting:
            self._free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter  # the slot is handed over by __aexit__
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a slot, then cancelled: pass it on
                self._release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


class _Originals:
    """The results of the cases in the usual spelling, for their twins in another spelling to be compared with.

    A twin comes after its original in a lane's plan, and the gate lets cases in the order they were submitted: when
    a twin is let in, its original has been, so waiting for it never deadlocks.
    """

    def __init__(self) -> None:
        self._pending: dict[tuple[LaneKey, tuple[object, ...]], tuple[asyncio.Event, list[CaseResult]]] = {}
        self._lock = threading.Lock()

    def expect(self, lane: LaneKey, case: Case) -> None:
        """Note a case in the usual spelling as submitted (before its twin is)."""
        if not case.spelling:
            with self._lock:
                self._pending[(lane, case.key())] = (asyncio.Event(), [])

    @contextlib.contextmanager
    def kept(self, lane: LaneKey, case: Case) -> Iterator[Callable[[CaseResult], None]]:
        """While a case is sent: a function that keeps its result; on leaving, the case is done, judged or not."""
        entry = None if case.spelling else self._pending.get((lane, case.key()))
        try:
            yield (lambda result: entry[1].append(result)) if entry is not None else (lambda result: None)
        finally:
            if entry is not None:
                entry[0].set()

    async def result(self, lane: LaneKey, case: Case) -> CaseResult | None:
        """For a twin: its original's result, once there (None where the original was not sent or judged)."""
        if not case.spelling:
            return None
        entry = self._pending.get((lane, case.usual().key()))
        if entry is None:
            return None
        await entry[0].wait()  # the original ends, judged or not, sent or not: its `kept` sets this
        return entry[1][0] if entry[1] else None


def fails(result: CaseResult) -> bool:
    """Whether an error-severity check failed on the case (what --fail-fast stops at)."""
    return any(severity(check) is Severity.ERROR for check in result.failures())


def _stopped_skips(dropped: list[tuple[LaneKey, str]], ctx: RunContext) -> list[Skip]:
    """One CANCELLED skip per lane for the cases a run limit (--fail-fast, --max-failures, --max-time) left unsent,
    saying the run stopped early."""
    stopped = ctx.limits.stopped
    why = "--fail-fast: the run stopped early, at the first failure" if ctx.config.fail_fast \
        else stopped.describe() if stopped is not None else "the run stopped early"
    return [Skip(SkipReason.CANCELLED, skip.lane, skip.categories, why, unsent=skip.unsent)
            for skip in cut_skips(dropped)]
