"""The documented job lifecycle as data (`judging.job_states`): its statuses and sets of them, where a job may move by
itself, what a Stop may answer and leaves, the law each departure breaks, and how a set of statuses is said."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.judging import job_states
from conformance.judging.job_states import (
    ALL,
    ENDED,
    MOVES,
    NEVER_STOPPED,
    RANK,
    RUNNING,
    SETTLED,
    STOP_TAKES,
    STOPPING,
    Law,
    after_stop,
    departure,
    describe,
    later,
    may_have_stopped,
    stop_answers,
)

STATUSES = st.sets(st.sampled_from(sorted(ALL)))


def test_the_statuses_are_the_documented_ones() -> None:
    assert (job_states.SUBMITTED, job_states.IN_PROGRESS, job_states.COMPLETED, job_states.FAILED,
            job_states.STOP_REQUESTED, job_states.STOPPED) == (
        "SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED", "STOP_REQUESTED", "STOPPED")
    assert ALL == {"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED", "STOP_REQUESTED", "STOPPED"}


def test_each_set_of_statuses_is_exactly_what_it_names() -> None:
    assert RUNNING == {"SUBMITTED", "IN_PROGRESS"}
    assert ENDED == {"COMPLETED", "FAILED"}
    assert STOPPING == {"STOP_REQUESTED", "STOPPED"}
    assert SETTLED == {"STOPPED", "COMPLETED", "FAILED"}
    assert NEVER_STOPPED == {"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"}
    assert all(isinstance(each, frozenset) for each in (ALL, RUNNING, ENDED, STOPPING, SETTLED, NEVER_STOPPED))


def test_the_moves_stop_effects_and_ranks_are_the_documented_ones() -> None:
    assert MOVES == {"SUBMITTED": {"IN_PROGRESS", "FAILED"}, "IN_PROGRESS": {"COMPLETED", "FAILED"},
                     "STOP_REQUESTED": {"STOPPED", "COMPLETED", "FAILED"}}
    assert STOP_TAKES == {"SUBMITTED": {"STOP_REQUESTED", "STOPPED"}, "IN_PROGRESS": {"STOP_REQUESTED", "STOPPED"},
                          "STOP_REQUESTED": {"STOP_REQUESTED"}, "STOPPED": {"STOPPED"}}
    assert RANK == {"SUBMITTED": 0, "IN_PROGRESS": 1, "STOP_REQUESTED": 2, "STOPPED": 3, "COMPLETED": 3, "FAILED": 3}


def test_each_law_says_its_rule() -> None:
    assert {law.name: law.value for law in Law} == {
        "FOUND": "a job the run started is always found by its own kind's Describe and Stop",
        "FORWARD": "a job's status never goes back, and a job that has ended keeps its status",
        "ONLY_STOP_STOPS": "a job no Stop has reached is never STOP_REQUESTED or STOPPED",
        "ENDED_REFUSES_STOP": "Stop of a job that has ended (COMPLETED, FAILED) is refused with 400 "
                              "InvalidRequestException",
        "STOP_TAKES": "Stop of a job that cannot have ended is not refused",
        "OWN_KIND": "a job's id names no job for another kind's Describe and Stop",
        "STATUS_EXPLAINED": "a status is one some timing of the documented lifecycle explains",
    }


@pytest.mark.parametrize(("held", "after_any_time"), [
    ("SUBMITTED", {"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"}),
    ("IN_PROGRESS", {"IN_PROGRESS", "COMPLETED", "FAILED"}),
    ("STOP_REQUESTED", {"STOP_REQUESTED", "STOPPED", "COMPLETED", "FAILED"}),
    ("STOPPED", {"STOPPED"}),
    ("COMPLETED", {"COMPLETED"}),
    ("FAILED", {"FAILED"}),
    ("NOT_A_STATUS", {"NOT_A_STATUS"}),  # nothing is known of where it goes: it stays
])
def test_later_takes_every_number_of_moves(held: str, after_any_time: set[str]) -> None:
    assert later([held]) == after_any_time
    assert isinstance(later([held]), frozenset)


def test_later_of_nothing_is_nothing() -> None:
    assert later(()) == frozenset()


@settings(max_examples=60, deadline=None)
@given(STATUSES, STATUSES)
def test_later_is_a_monotone_closure(some: set[str], more: set[str]) -> None:
    widened = later(some)
    assert some <= widened and later(widened) == widened
    assert later(some) <= later(some | more)
    assert widened == frozenset().union(*(later({status}) for status in some))


@pytest.mark.parametrize("held", sorted(ALL))
def test_a_job_moves_by_itself_only_forward_and_only_a_stop_brings_it_to_the_stop_states(held: str) -> None:
    for status in later({held}) - {held}:
        assert RANK[status] > RANK[held]
    if held not in STOPPING:
        assert not later({held}) & STOPPING


@pytest.mark.parametrize(("possible", "accepted", "refusable"), [
    ({"SUBMITTED"}, {"STOP_REQUESTED", "STOPPED"}, False),
    ({"IN_PROGRESS"}, {"STOP_REQUESTED", "STOPPED"}, False),
    ({"STOP_REQUESTED"}, {"STOP_REQUESTED"}, False),
    ({"STOPPED"}, {"STOPPED"}, False),
    ({"COMPLETED"}, set(), True),
    ({"FAILED"}, set(), True),
    ({"IN_PROGRESS", "COMPLETED"}, {"STOP_REQUESTED", "STOPPED"}, True),
    ({"STOP_REQUESTED", "STOPPED", "FAILED"}, {"STOP_REQUESTED", "STOPPED"}, True),
    (set(), set(), False),
    ({"NOT_A_STATUS"}, set(), False),
])
def test_what_a_stop_may_answer_as_it_arrives(possible: set[str], accepted: set[str], refusable: bool) -> None:
    assert stop_answers(frozenset(possible)) == (accepted, refusable)
    assert type(stop_answers(frozenset(possible))[1]) is bool


def test_after_a_stop_the_job_holds_what_it_answered_or_anything_a_stop_may_leave() -> None:
    assert after_stop(frozenset({"IN_PROGRESS"}), "STOP_REQUESTED") == {"STOP_REQUESTED"}
    assert after_stop(frozenset({"IN_PROGRESS"}), "STOPPED") == {"STOPPED"}
    assert after_stop(frozenset({"IN_PROGRESS"}), None) == {"STOP_REQUESTED", "STOPPED"}
    assert after_stop(frozenset({"STOP_REQUESTED", "COMPLETED"}), None) == {"STOP_REQUESTED"}


@pytest.mark.parametrize(("possible", "after"), [
    ({"SUBMITTED"}, ALL),
    ({"IN_PROGRESS"}, {"IN_PROGRESS", "COMPLETED", "FAILED", "STOP_REQUESTED", "STOPPED"}),
    ({"STOPPED"}, {"STOPPED"}),
    ({"COMPLETED"}, {"COMPLETED"}),
    ({"STOP_REQUESTED"}, {"STOP_REQUESTED", "STOPPED", "COMPLETED", "FAILED"}),
])
def test_a_stop_that_got_no_answer_may_or_may_not_have_taken(possible: set[str], after: set[str]) -> None:
    assert may_have_stopped(frozenset(possible)) == after


@pytest.mark.parametrize(("possible", "status", "law"), [
    ({"IN_PROGRESS"}, "STOPPING", Law.STATUS_EXPLAINED),  # no status of the lifecycle at all
    ({"COMPLETED"}, "NOT_A_STATUS", Law.STATUS_EXPLAINED),  # ... even where the job had ended
    ({"COMPLETED"}, "FAILED", Law.FORWARD),  # an ended job changing, even to a status as far along
    ({"STOPPED", "COMPLETED", "FAILED"}, "STOP_REQUESTED", Law.FORWARD),  # every settled status: still ended
    ({"STOPPED"}, "STOP_REQUESTED", Law.FORWARD),
    ({"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"}, "STOP_REQUESTED", Law.ONLY_STOP_STOPS),
    ({"IN_PROGRESS", "COMPLETED", "FAILED"}, "STOPPED", Law.ONLY_STOP_STOPS),
    ({"IN_PROGRESS"}, "STOP_REQUESTED", Law.ONLY_STOP_STOPS),  # going forward, but only a Stop goes there
    ({"STOP_REQUESTED", "STOPPED", "COMPLETED", "FAILED"}, "IN_PROGRESS", Law.FORWARD),
    ({"IN_PROGRESS", "COMPLETED", "FAILED"}, "SUBMITTED", Law.FORWARD),  # lower than every status it may hold
    ({"STOP_REQUESTED"}, "IN_PROGRESS", Law.FORWARD),
    ({"STOP_REQUESTED"}, "COMPLETED", Law.STATUS_EXPLAINED),  # forward, yet not where it may be
    ({"IN_PROGRESS", "STOP_REQUESTED"}, "SUBMITTED", Law.FORWARD),
    ({"SUBMITTED", "STOP_REQUESTED"}, "IN_PROGRESS", Law.STATUS_EXPLAINED),  # not lower than SUBMITTED
    ({"IN_PROGRESS", "NOT_A_STATUS"}, "SUBMITTED", Law.FORWARD),  # a held status of no rank is no measure
    ({"NOT_A_STATUS"}, "SUBMITTED", Law.FORWARD),  # vacuously lower than every ranked status held
    ({"COMPLETED", "NOT_A_STATUS"}, "FAILED", Law.STATUS_EXPLAINED),  # as far along is not back
    (set(), "IN_PROGRESS", Law.STATUS_EXPLAINED),  # a job that may hold nothing: nothing it went back from
    (set(), "STOPPED", Law.ONLY_STOP_STOPS),
])
def test_each_departure_names_the_law_it_breaks(possible: set[str], status: str, law: Law) -> None:
    assert departure(frozenset(possible), status) is law


@pytest.mark.parametrize(("statuses", "said"), [
    ((), "nothing"),
    (("FAILED",), "FAILED"),
    (("COMPLETED", "IN_PROGRESS"), "IN_PROGRESS or COMPLETED"),
    (("FAILED", "COMPLETED", "IN_PROGRESS"), "IN_PROGRESS, COMPLETED or FAILED"),
    (("STOPPED", "FAILED", "STOP_REQUESTED", "SUBMITTED", "COMPLETED", "IN_PROGRESS"),
     "SUBMITTED, IN_PROGRESS, STOP_REQUESTED, COMPLETED, FAILED or STOPPED"),
    (("ZZ_UNKNOWN", "AA_UNKNOWN", "STOPPED"), "STOPPED, AA_UNKNOWN or ZZ_UNKNOWN"),  # no rank: last, by name
])
def test_statuses_are_said_in_the_order_of_a_job_s_life(statuses: tuple[str, ...], said: str) -> None:
    assert describe(statuses) == said
    assert describe(iter(statuses)) == said  # any iterable, read once
