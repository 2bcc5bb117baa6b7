"""Job lifecycle (PROTOCOL_NOTES §5) on a clock the tests drive."""

from __future__ import annotations

import pytest

from conformance.reference.jobs import JobNotFound, JobNotStoppable, JobStore, ManualClock, Timings

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
