"""Job lifecycle (PROTOCOL_NOTES §5) on a clock the tests drive."""

from __future__ import annotations

import pytest

from conformance.reference.job_store import (
    JobLimitReached,
    JobNotFound,
    JobNotStoppable,
    JobStore,
    ManualClock,
    Timings,
)

SERVICE = "comprehend"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1000.0)


@pytest.fixture
def store(clock: ManualClock) -> JobStore:
    return JobStore(clock, Timings(queued=10, running=100, stopping=5))


def test_a_job_runs_to_completion(store: JobStore, clock: ManualClock) -> None:
    job = store.start(SERVICE, {})
    assert job.status(clock.now()) == "SUBMITTED"
    clock.advance(10)
    assert job.status(clock.now()) == "IN_PROGRESS"
    clock.advance(100)
    assert job.status(clock.now()) == "COMPLETED"
    assert job.end_time(clock.now()) == 1110.0


def test_stopping_a_running_job(store: JobStore, clock: ManualClock) -> None:
    job = store.start(SERVICE, {})
    clock.advance(50)
    assert store.stop(SERVICE, job.job_id) == "STOP_REQUESTED"
    assert store.stop(SERVICE, job.job_id) == "STOP_REQUESTED"  # a second Stop answers the current status
    clock.advance(5)
    assert store.stop(SERVICE, job.job_id) == "STOPPED"
    assert job.history(clock.now()) == [
        (1000.0, "SUBMITTED"), (1010.0, "IN_PROGRESS"), (1050.0, "STOP_REQUESTED"), (1055.0, "STOPPED"),
    ]


def test_a_job_that_finishes_while_stopping_ends_completed(store: JobStore, clock: ManualClock) -> None:
    job = store.start(SERVICE, {})
    clock.advance(108)
    store.stop(SERVICE, job.job_id)
    clock.advance(5)
    assert [status for _, status in job.history(clock.now())][-2:] == ["STOP_REQUESTED", "COMPLETED"]
    with pytest.raises(JobNotStoppable):
        store.stop(SERVICE, job.job_id)


def test_stopping_a_queued_job_skips_in_progress(store: JobStore, clock: ManualClock) -> None:
    job = store.start(SERVICE, {})
    clock.advance(1)
    assert store.stop(SERVICE, job.job_id) == "STOP_REQUESTED"
    clock.advance(1000)
    assert [status for _, status in job.history(clock.now())] == ["SUBMITTED", "STOP_REQUESTED", "STOPPED"]


@pytest.mark.parametrize("ending", ["COMPLETED", "FAILED"])
def test_ended_jobs_cannot_be_stopped(store: JobStore, clock: ManualClock, ending: str) -> None:
    job = store.start(SERVICE, {})
    if ending == "FAILED":
        clock.advance(20)
        store.fail(SERVICE, job.job_id)
    else:
        clock.advance(200)
    with pytest.raises(JobNotStoppable) as caught:
        store.stop(SERVICE, job.job_id)
    assert caught.value.status == ending


def test_failing_an_ended_job_changes_nothing(store: JobStore, clock: ManualClock) -> None:
    job = store.start(SERVICE, {})
    clock.advance(200)
    store.fail(SERVICE, job.job_id)
    assert job.status(clock.now()) == "COMPLETED"


def test_unknown_jobs_and_services(store: JobStore) -> None:
    job = store.start(SERVICE, {})
    with pytest.raises(JobNotFound):
        store.stop(SERVICE, "nope")
    with pytest.raises(JobNotFound):
        store.get("comprehendmedical", job.job_id)


def test_clock_and_timings_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        ManualClock().advance(-1)
    with pytest.raises(ValueError):
        Timings(queued=-1)
    with pytest.raises(ValueError):
        Timings(running=float("nan"))


def test_the_store_evicts_the_job_that_ended_longest_ago(clock: ManualClock) -> None:
    store = JobStore(clock, Timings(queued=10, running=100, stopping=5), max_jobs=3)
    first, second, third = (store.start(SERVICE, {}, token=f"t{n}") for n in range(3))
    clock.advance(20)
    store.stop(SERVICE, second.job_id)  # ends at 1025, before the others (1110)
    clock.advance(200)  # all three have ended now
    fourth = store.start(SERVICE, {})
    with pytest.raises(JobNotFound):
        store.get(SERVICE, second.job_id)
    assert store.start(SERVICE, {}, token="t1").job_id != second.job_id  # its token went with it
    assert {store.get(SERVICE, job.job_id).job_id for job in (third, fourth)} == {third.job_id, fourth.job_id}
    with pytest.raises(JobNotFound):
        store.get(SERVICE, first.job_id)  # the next to have ended made room for the token's new job
    assert store.count() == 3


def test_a_full_store_of_running_jobs_refuses_a_start(clock: ManualClock) -> None:
    bounded = JobStore(clock, Timings(queued=10, running=100, stopping=5), max_jobs=2)
    kept = [bounded.start(SERVICE, {}, token="again"), bounded.start(SERVICE, {})]
    with pytest.raises(JobLimitReached):
        bounded.start(SERVICE, {})
    assert bounded.start(SERVICE, {}, token="again") is kept[0]  # a token seen before needs no room
    bounded.fail(SERVICE, kept[1].job_id)  # ended now: room for one
    assert bounded.start(SERVICE, {}).status(clock.now()) == "SUBMITTED"
    assert bounded.get(SERVICE, kept[0].job_id) is kept[0]  # the running one was never in danger
    with pytest.raises(ValueError):
        JobStore(clock, max_jobs=0)


def test_many_stops_do_not_grow_the_store(clock: ManualClock) -> None:
    store = JobStore(clock, Timings(queued=0, running=1, stopping=0), max_jobs=10)
    for _ in range(5000):
        job = store.start(SERVICE, {})
        store.stop(SERVICE, job.job_id)
        clock.advance(2)
    assert store.count() == 10
    assert len(store._endings) <= 2 * 10 + 64  # stale entries are dropped, not kept for ever
