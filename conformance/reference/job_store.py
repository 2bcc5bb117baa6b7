"""Asynchronous detection jobs: their lifecycle on a clock that tests can drive.

A job's history is derived from a few instants (submitted, stop requested, failed), never stored
step by step, so every reader sees one consistent history whatever the interleaving of requests.

The store is bounded: it keeps at most `max_jobs` jobs (DEFAULT_MAX_JOBS). A Start beyond that evicts
the job that ended longest ago; when no job has ended, the Start is refused (JobLimitReached), as
AWS refuses a job over its concurrent-jobs quota, so that no client's running job ever vanishes.
"""

from __future__ import annotations

import heapq
import itertools
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

SUBMITTED, IN_PROGRESS, COMPLETED, FAILED = "SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"
STOP_REQUESTED, STOPPED = "STOP_REQUESTED", "STOPPED"
TERMINAL = frozenset({COMPLETED, FAILED, STOPPED})
DEFAULT_MAX_JOBS = 10_000  # jobs kept at once, all services together


class Clock(Protocol):
    """Seconds since the epoch; a fake one lets tests move time."""

    def now(self) -> float:
        """The current time in epoch seconds."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        """The current time in epoch seconds."""
        return time.time()


class ManualClock:
    """A clock that only moves when told to: `advance(seconds)`."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current (fake) time in epoch seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward; returns the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds
            return self._now


@dataclass(frozen=True)
class Timings:
    """How long each phase of a job lasts, in seconds."""

    queued: float = 1.0  # SUBMITTED, then IN_PROGRESS
    running: float = 600.0  # IN_PROGRESS, then COMPLETED
    stopping: float = 2.0  # STOP_REQUESTED, then STOPPED (or COMPLETED if it finished first)

    def __post_init__(self) -> None:
        for name in ("queued", "running", "stopping"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"job timing {name!r} must be a number of seconds >= 0")


class JobNotFound(LookupError):
    """No job with that id of that kind (a service and its job kind, e.g. comprehend/PiiEntitiesDetectionJob)."""


class JobLimitReached(RuntimeError):
    """The store holds its maximum of jobs and none of them has ended: no room for another."""

    def __init__(self, max_jobs: int) -> None:
        super().__init__(f"{max_jobs} jobs are queued or running; stop one or wait for one to end")
        self.max_jobs = max_jobs


class JobNotStoppable(ValueError):
    """The job has already ended COMPLETED or FAILED."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass(slots=True)  # slots: thousands of these are kept
class Job:
    """One job: the members of its Start that Describe reports, and the instants that decide its history."""

    job_id: str
    kind: str
    request: dict[str, Any]
    submitted_at: float
    timings: Timings
    arn: str | None = None
    stop_requested_at: float | None = None
    failed_at: float | None = None
    failure_message: str | None = None
    token: str | None = None  # the ClientRequestToken it was started with, forgotten with the job

    def history(self, now: float) -> list[tuple[float, str]]:
        """Every status the job has held up to `now`, with the instant it began."""
        started = self.submitted_at + self.timings.queued
        events = [(self.submitted_at, SUBMITTED), (started, IN_PROGRESS)]
        finished = (self.failed_at, FAILED) if self.failed_at is not None else (started + self.timings.running, COMPLETED)
        if self.stop_requested_at is not None:
            events = [event for event in events if event[0] <= self.stop_requested_at]
            events.append((self.stop_requested_at, STOP_REQUESTED))
            stopped = (self.stop_requested_at + self.timings.stopping, STOPPED)
            finished = finished if finished[0] < stopped[0] else stopped
        events.append(finished)
        return [event for event in events if event[0] <= now]

    def status(self, now: float) -> str:
        """The status at `now`."""
        return self.history(now)[-1][1]

    def end_time(self, now: float) -> float | None:
        """When the job ended, if it has by `now`."""
        moment, status = self.history(now)[-1]
        return moment if status in TERMINAL else None

    def ends_at(self) -> float:
        """When the job ends as things stand (inf if never); a Stop or a failure can only bring it earlier."""
        return self.history(math.inf)[-1][0]


@dataclass
class JobStore:
    """All jobs of all services, at most `max_jobs` of them, safe to use from many threads at once."""

    clock: Clock = field(default_factory=SystemClock)
    timings: Timings = field(default_factory=Timings)
    max_jobs: int = DEFAULT_MAX_JOBS
    _jobs: dict[tuple[str, str], Job] = field(default_factory=dict)
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # (ends_at, sequence, job) for every job, earliest end first; an entry is stale once its job is gone
    # or ends at another instant (a later entry then holds the new one). Eviction pops from the top.
    _endings: list[tuple[float, int, Job]] = field(default_factory=list)
    _sequence: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        if self.max_jobs < 1:
            raise ValueError("max_jobs must be at least 1")

    def count(self) -> int:
        """How many jobs the store keeps now."""
        with self._lock:
            return len(self._jobs)

    def start(self, kind: str, request: dict[str, Any], arn_format: str | None = None,
              token: str | None = None) -> Job:
        """A new job (or, for a client request token seen before, the job it started); raises JobLimitReached."""
        with self._lock:
            if token is not None and (kind, token) in self._tokens:
                return self._jobs[(kind, self._tokens[(kind, token)])]
            if len(self._jobs) >= self.max_jobs:
                self._evict_one()
            job_id = self.new_job_id()
            job = Job(job_id, kind, dict(request), self.clock.now(), self.timings,
                      arn=arn_format.format(job_id=job_id) if arn_format else None, token=token)
            self._jobs[(kind, job_id)] = job
            if token is not None:
                self._tokens[(kind, token)] = job_id
            self._note_ending(job)
            return job

    def get(self, kind: str, job_id: str) -> Job:
        """The job; raises JobNotFound."""
        with self._lock:
            return self.lookup(kind, job_id)

    def stop(self, kind: str, job_id: str) -> str:
        """Ask a job to stop; returns its status after the request (PROTOCOL_NOTES §5).

        A running or queued job becomes STOP_REQUESTED; one already stopping or stopped answers
        its current status; one that ended COMPLETED or FAILED raises JobNotStoppable.
        """
        with self._lock:
            return self.stop_job(self.lookup(kind, job_id), self.clock.now())

    def fail(self, kind: str, job_id: str, message: str = "Internal failure while processing the job.") -> None:
        """Make a job that has not ended fail now (for tests: the API offers no way to fail a job)."""
        with self._lock:
            job = self.lookup(kind, job_id)
            now = self.clock.now()
            if job.status(now) not in TERMINAL:
                job.failed_at, job.failure_message = now, message
                self._note_ending(job)

    # The seams a store with another job-id scheme, another lookup or another stop overrides (the reference server's
    # variants).

    def new_job_id(self) -> str:
        """A new job's id: 32 lowercase hex digits, as real job ids are. Called under the store's lock."""
        return secrets.token_hex(16)

    def lookup(self, kind: str, job_id: str) -> Job:
        """The job a JobId names within its kind: exactly its own id. Called under the store's lock; JobNotFound."""
        try:
            return self._jobs[(kind, job_id)]
        except KeyError:
            raise JobNotFound(job_id) from None

    def every_job(self) -> list[Job]:
        """Every job the store keeps, of every kind. Called under the store's lock."""
        return list(self._jobs.values())

    def stop_job(self, job: Job, now: float) -> str:
        """What a Stop does to the job it found: a running one is marked STOP_REQUESTED, one stopping or stopped
        is left as it is, one that has ended raises JobNotStoppable; the status to answer. Under the store's lock."""
        status = job.status(now)
        if status in (COMPLETED, FAILED):
            raise JobNotStoppable(status)
        if status in (SUBMITTED, IN_PROGRESS):
            self.mark_stop_requested(job, now)
            status = STOP_REQUESTED
        return status

    def mark_stop_requested(self, job: Job, now: float) -> None:
        """Record that the job's stop was requested at `now`. Under the store's lock."""
        job.stop_requested_at = now
        self._note_ending(job)

    def _note_ending(self, job: Job) -> None:
        """Record when a new or changed job ends; under the lock."""
        heapq.heappush(self._endings, (job.ends_at(), next(self._sequence), job))
        if len(self._endings) > 2 * len(self._jobs) + 64:  # stale entries pile up: rebuild, amortized O(1)
            self._endings = [(kept.ends_at(), next(self._sequence), kept) for kept in self._jobs.values()]
            heapq.heapify(self._endings)

    def _evict_one(self) -> None:
        """Forget the job that ended longest ago; raise JobLimitReached if none has ended. Under the lock."""
        now = self.clock.now()
        while self._endings:
            ends_at, _, job = self._endings[0]
            key = (job.kind, job.job_id)
            if self._jobs.get(key) is not job or job.ends_at() != ends_at:
                heapq.heappop(self._endings)  # stale
                continue
            if ends_at > now:
                break
            heapq.heappop(self._endings)
            del self._jobs[key]
            if job.token is not None:
                self._tokens.pop((job.kind, job.token), None)
            return
        raise JobLimitReached(self.max_jobs)
