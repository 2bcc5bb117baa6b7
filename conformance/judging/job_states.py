"""The documented states of an asynchronous job and how it moves between them (PROTOCOL_NOTES §5), as data.

A job is SUBMITTED, then IN_PROGRESS, and ends COMPLETED or FAILED. A Stop marks a job that has not
ended STOP_REQUESTED; it then ends STOPPED, or COMPLETED (FAILED) if it finished first. A Stop of a
job that has ended is refused. Between two requests a job may move on by itself, any number of
steps: what a client can know of a job is a set of statuses it may hold (`later` widens such a set
by every move time allows), which each answer narrows.

Nothing here knows of requests or answers: the oracle (`judging.oracle`) turns these sets into the
outcomes it allows, and `judging.lifecycle_model` follows a run's jobs with them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

SUBMITTED, IN_PROGRESS, COMPLETED, FAILED = "SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"
STOP_REQUESTED, STOPPED = "STOP_REQUESTED", "STOPPED"
ALL = frozenset({SUBMITTED, IN_PROGRESS, COMPLETED, FAILED, STOP_REQUESTED, STOPPED})
RUNNING = frozenset({SUBMITTED, IN_PROGRESS})
ENDED = frozenset({COMPLETED, FAILED})  # ended on its own: a Stop is refused
STOPPING = frozenset({STOP_REQUESTED, STOPPED})  # only a Stop brings a job here
SETTLED = frozenset({STOPPED, COMPLETED, FAILED})  # where a stopped job must end; nothing moves on from here
NEVER_STOPPED = RUNNING | ENDED  # every status a job no Stop has reached may hold

# Where a job may move by itself between two requests, one step at a time (`later` takes every number of steps).
# A job may fail before it starts; a stopping job may finish (or fail) before the stop takes.
MOVES: dict[str, frozenset[str]] = {
    SUBMITTED: frozenset({IN_PROGRESS, FAILED}),
    IN_PROGRESS: frozenset({COMPLETED, FAILED}),
    STOP_REQUESTED: frozenset({STOPPED, COMPLETED, FAILED}),
}
# What a Stop that takes makes of a job that has not ended. A running job is marked STOP_REQUESTED; the oracle has
# always allowed a Stop to answer STOPPED at once too (a stop that takes no time), so that is allowed as well.
STOP_TAKES: dict[str, frozenset[str]] = {
    SUBMITTED: STOPPING,
    IN_PROGRESS: STOPPING,
    STOP_REQUESTED: frozenset({STOP_REQUESTED}),
    STOPPED: frozenset({STOPPED}),
}
# How far along its life a status is: an answer with a lower rank than every status a job may hold went back.
RANK = {SUBMITTED: 0, IN_PROGRESS: 1, STOP_REQUESTED: 2, STOPPED: 3, COMPLETED: 3, FAILED: 3}


class Law(enum.Enum):
    """A rule of the documented lifecycle that an answer can break; the value says it."""

    FOUND = "a job the run started is always found by its own kind's Describe and Stop"
    FORWARD = "a job's status never goes back, and a job that has ended keeps its status"
    ONLY_STOP_STOPS = "a job no Stop has reached is never STOP_REQUESTED or STOPPED"
    ENDED_REFUSES_STOP = "Stop of a job that has ended (COMPLETED, FAILED) is refused with 400 InvalidRequestException"
    STOP_TAKES = "Stop of a job that cannot have ended is not refused"
    OWN_KIND = "a job's id names no job for another kind's Describe and Stop"
    STATUS_EXPLAINED = "a status is one some timing of the documented lifecycle explains"


def later(statuses: Iterable[str]) -> frozenset[str]:
    """Every status a job that held one of `statuses` may hold after any time (`statuses` included)."""
    found = set(statuses)
    frontier = list(found)
    while frontier:
        for moved in MOVES.get(frontier.pop(), ()):
            if moved not in found:
                found.add(moved)
                frontier.append(moved)
    return frozenset(found)


def stop_answers(possible: frozenset[str]) -> tuple[frozenset[str], bool]:
    """What a Stop of a job that may hold `possible` as it arrives may answer: (the JobStatus values of a 200, empty
    when a 200 is not allowed; whether the 400 refusal of an ended job is allowed)."""
    accepted = frozenset(status for held in possible for status in STOP_TAKES.get(held, ()))
    return accepted, bool(possible & ENDED)


def after_stop(possible: frozenset[str], status: str | None) -> frozenset[str]:
    """What a job that may hold `possible` may hold once a Stop of it answered 200, with JobStatus `status` (None:
    the answer does not say, as Comprehend Medical's does not)."""
    if status is not None:
        return frozenset({status})
    return stop_answers(possible)[0]


def may_have_stopped(possible: frozenset[str]) -> frozenset[str]:
    """What a job that may hold `possible` may hold after a Stop whose outcome is unknown (no answer came)."""
    return later(possible | stop_answers(possible)[0])


def departure(possible: frozenset[str], status: str) -> Law:
    """The law a job breaks by holding `status` where it may only hold `possible` (`status` not among them)."""
    if status not in ALL:
        return Law.STATUS_EXPLAINED  # no status of the lifecycle at all
    if possible and possible <= SETTLED:
        return Law.FORWARD  # it had ended, and holds another status now
    if status in STOPPING and not possible & STOPPING:
        return Law.ONLY_STOP_STOPS
    if possible and all(RANK.get(status, -1) < RANK[held] for held in possible if held in RANK):
        return Law.FORWARD
    return Law.STATUS_EXPLAINED


def describe(statuses: Iterable[str]) -> str:
    """e.g. `IN_PROGRESS, COMPLETED or FAILED`, in the order of a job's life."""
    ordered = sorted(statuses, key=lambda status: (RANK.get(status, 9), status))
    if len(ordered) <= 1:
        return "".join(ordered) or "nothing"
    return f"{', '.join(ordered[:-1])} or {ordered[-1]}"
