"""The lifecycle model of a state-machine run (`judging.lifecycle_model`): how each answer narrows (or, when it says
nothing of the job, widens) what a job may hold, and every law an answer can break, with its message; for each, an
answer that barely keeps the law and one that barely breaks it."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cases import Case, Category, categories
from conformance.judging.job_states import ALL, Law, later
from conformance.judging.lifecycle_model import LifecycleModel, TrackedJob, Violation, _said, lifecycle_violation
from conformance.judging.oracle import expect
from conformance.model import botocore_model
from conformance.model.operations import Operation, load_operations
from conformance.protocols import Answer, get_protocol
from conformance.wire.http import HttpResponse

JSON = get_protocol("awsJson1_1")
STOP, MEDICAL_STOP = (next(op for op in load_operations() if op.name == name)
                      for name in ("StopPiiEntitiesDetectionJob", "StopPHIDetectionJob"))
DESCRIBE = botocore_model.operation("comprehend", "DescribePiiEntitiesDetectionJob")
START = botocore_model.operation("comprehend", "StartPiiEntitiesDetectionJob")
MEDICAL_START = botocore_model.operation("comprehendmedical", "StartPHIDetectionJob")
KIND = "comprehend/PiiEntitiesDetectionJob"
EVERY_STATUS = "SUBMITTED, IN_PROGRESS, STOP_REQUESTED, COMPLETED, FAILED or STOPPED"


def answer(status: int, body: object = None) -> Answer:
    data = b"" if body is None else json.dumps(body).encode()
    return JSON.decode(HttpResponse(status, {"content-type": "application/x-amz-json-1.1"}, data))


def ok(status: str | None = None) -> Answer:
    return answer(200, {"JobId": "j-1", **({"JobStatus": status} if status else {})})


def error(status: int, error_type: str) -> Answer:
    return answer(status, {"__type": error_type, "message": "m"})


def judged(operation: Operation, category: Category, possible: set[str] | None, the_answer: Answer,
           status: object = None) -> Violation | None:
    """The law a state-machine step's answer breaks; `status`: the JobStatus as the check reads it."""
    case = Case(operation.name, category.name, category.kind, "a step",
                possible_statuses=None if possible is None else frozenset(possible))
    return lifecycle_violation(operation, case, the_answer, expect(operation, case), status)


def stop(possible: set[str] | None, the_answer: Answer, status: object = None,
         category: Category = categories.MACHINE_STOP, operation: Operation = STOP) -> Violation | None:
    return judged(operation, category, possible, the_answer, status)


def described(possible: set[str] | None, status: object, category: Category = categories.MACHINE_DESCRIBE) -> (
        Violation | None):
    return judged(DESCRIBE, category, possible, ok(status if isinstance(status, str) else None), status)


# 1. What the model follows of each job.

def test_a_job_is_numbered_in_the_order_started_and_seen_only_in_a_status_no_stop_brings() -> None:
    model = LifecycleModel()
    assert (model.jobs, model.step) == ([], 0)
    model.step = 3
    first = model.started(KIND, "j-1", "IN_PROGRESS")
    assert (first.number, first.kind, first.job_id) == (1, KIND, "j-1")
    assert (first.possible, first.seen, first.stop_reached, first.stop_took) == ({"IN_PROGRESS"}, ("IN_PROGRESS", 3),
                                                                                 None, False)
    second = model.started(KIND, "j-2", None)  # Start answers no JobStatus (Comprehend Medical's)
    assert (second.number, second.possible, second.seen) == (2, {"SUBMITTED"}, None)
    third = model.started(KIND, "j-3", "STOPPED")  # no new job is stopping: the answer tells nothing of it
    assert (third.number, third.possible, third.seen) == (3, {"SUBMITTED"}, None)
    assert model.jobs == [first, second, third]


def test_a_job_may_hold_now_whatever_time_makes_of_what_it_held() -> None:
    job = TrackedJob(1, KIND, "j-1", frozenset({"IN_PROGRESS"}))
    assert job.now() == {"IN_PROGRESS", "COMPLETED", "FAILED"}


@pytest.mark.parametrize(("stop_reached", "seen", "label"), [
    (None, None, "job 2 (comprehend/PiiEntitiesDetectionJob; never stopped)"),
    (None, ("IN_PROGRESS", 4), "job 2 (comprehend/PiiEntitiesDetectionJob; never stopped, seen IN_PROGRESS at step 4)"),
    (8, ("STOPPED", 14), "job 2 (comprehend/PiiEntitiesDetectionJob; stopped at step 8, seen STOPPED at step 14)"),
    (0, None, "job 2 (comprehend/PiiEntitiesDetectionJob; stopped at step 0)"),
])
def test_a_job_is_labelled_by_its_number_kind_and_history(stop_reached: int | None, seen: tuple[str, int] | None,
                                                          label: str) -> None:
    job = TrackedJob(2, KIND, "j-2", frozenset({"SUBMITTED"}), stop_reached=stop_reached, seen=seen)
    assert job.label() == label


def a_job(*possible: str) -> tuple[LifecycleModel, TrackedJob]:
    model = LifecycleModel()
    job = model.started(KIND, "j-1", None)
    job.possible = frozenset(possible)
    model.step = 5
    return model, job


def test_a_describe_answered_200_with_a_status_the_job_may_hold_narrows_it_to_that_status() -> None:
    model, job = a_job("SUBMITTED")
    model.described(job, ok("FAILED"), "FAILED")  # the furthest a SUBMITTED job may go by itself
    assert (job.possible, job.seen) == ({"FAILED"}, ("FAILED", 5))


@pytest.mark.parametrize(("the_answer", "status"), [
    (None, "IN_PROGRESS"),  # no answer
    (answer(201, {"JobStatus": "IN_PROGRESS"}), "IN_PROGRESS"),
    (answer(199, {"JobStatus": "IN_PROGRESS"}), "IN_PROGRESS"),
    (error(400, "ValidationException"), "IN_PROGRESS"),
    (ok(), None),  # no JobStatus
    (ok(), 1),  # a JobStatus that is no string
    (ok("STOPPED"), "STOPPED"),  # a status no timing explains: the check judges it, the model learns nothing
    (ok("SUBMITTED"), "SUBMITTED"),  # back
])
def test_a_describe_that_does_not_say_a_status_the_job_may_hold_leaves_it_as_it_was(the_answer: Answer | None,
                                                                                    status: object) -> None:
    model, job = a_job("IN_PROGRESS")
    model.described(job, the_answer, status)
    assert (job.possible, job.seen) == ({"IN_PROGRESS"}, None)


def test_a_stop_answered_200_with_its_status_leaves_the_job_in_that_status() -> None:
    model, job = a_job("IN_PROGRESS")
    model.stopped(job, ok("STOP_REQUESTED"), "STOP_REQUESTED")
    assert (job.possible, job.stop_took, job.seen, job.stop_reached) == ({"STOP_REQUESTED"}, True,
                                                                         ("STOP_REQUESTED", 5), 5)


@pytest.mark.parametrize("status", [None, "COMPLETED", 3])
def test_a_stop_answered_200_without_a_status_it_may_answer_leaves_the_job_anything_a_stop_leaves(
        status: object) -> None:
    model, job = a_job("IN_PROGRESS")
    job.seen = ("IN_PROGRESS", 2)
    model.stopped(job, ok(status if isinstance(status, str) else None), status)
    assert (job.possible, job.stop_took, job.seen, job.stop_reached) == ({"STOP_REQUESTED", "STOPPED"}, True,
                                                                         ("IN_PROGRESS", 2), 5)


def test_a_stop_refused_because_the_job_had_ended_leaves_it_ended_and_reached_by_no_stop() -> None:
    model, job = a_job("IN_PROGRESS")
    model.stopped(job, error(400, "InvalidRequestException"), None)
    assert (job.possible, job.stop_took, job.stop_reached, job.seen) == ({"COMPLETED", "FAILED"}, True, None, None)


@pytest.mark.parametrize(("possible", "the_answer", "status"), [
    ({"COMPLETED"}, ok("STOPPED"), "STOPPED"),  # an ended job stopped: nothing explains it
    ({"IN_PROGRESS"}, answer(199, {"JobStatus": "STOPPED"}), "STOPPED"),  # just below a 200
    ({"STOPPED"}, error(400, "InvalidRequestException"), None),  # a job that cannot have ended refused as ended
    ({"IN_PROGRESS"}, error(400, "ValidationException"), None),  # an error that says something of the request
    ({"IN_PROGRESS"}, error(400, "JobNotFoundException"), None),
    ({"IN_PROGRESS"}, error(404, "InvalidRequestException"), None),
    ({"IN_PROGRESS"}, error(499, "SomeException"), None),  # the last status of a client error
])
def test_a_stop_answer_no_timing_explains_tells_nothing_of_the_job(possible: set[str], the_answer: Answer,
                                                                  status: str | None) -> None:
    model, job = a_job(*possible)
    model.stopped(job, the_answer, status)
    assert (job.possible, job.stop_took, job.stop_reached, job.seen) == (possible, False, None, None)


@pytest.mark.parametrize("the_answer", [
    None, error(500, "InternalFailure"), error(503, "ServiceUnavailable"), error(400, "ThrottlingException"),
    error(400, "TooManyRequestsException"), error(400, "InternalServerException"),
])
def test_a_stop_with_no_answer_about_the_job_may_or_may_not_have_taken(the_answer: Answer | None) -> None:
    model, job = a_job("IN_PROGRESS")
    model.stopped(job, the_answer, None)
    assert job.possible == {"IN_PROGRESS", "COMPLETED", "FAILED", "STOP_REQUESTED", "STOPPED"}
    assert (job.stop_took, job.stop_reached, job.seen) == (False, 5, None)


def test_a_job_is_stopped_at_the_step_of_the_first_stop_that_may_have_reached_it() -> None:
    model, job = a_job("IN_PROGRESS")
    model.stopped(job, None, None)
    model.step = 9
    model.stopped(job, ok("STOPPED"), "STOPPED")
    assert (job.possible, job.stop_reached, job.seen, job.stop_took) == ({"STOPPED"}, 5, ("STOPPED", 9), True)
    assert job.label() == "job 1 (comprehend/PiiEntitiesDetectionJob; stopped at step 5, seen STOPPED at step 9)"


# 2. The laws an answer breaks.

def test_a_violation_is_a_value_that_cannot_change() -> None:
    # A run keeps its first violation (`engine.machine`) and reports compare them: equal ones hash alike.
    found = Violation(Law.FOUND, "answered 404")
    assert len({found, Violation(Law.FOUND, "answered 404"), Violation(Law.FORWARD, "answered 404")}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.law = Law.FORWARD  # type: ignore[misc]


@pytest.mark.parametrize(("status", "said"), [
    (None, "answered 200"), (3, "answered 200"), ("STOPPED", "answered 200 JobStatus STOPPED")])
def test_a_success_is_said_with_its_status_and_job_status(status: object, said: str) -> None:
    assert _said(ok(), status) == said


def test_an_error_is_said_with_its_status_and_type() -> None:
    assert _said(error(404, "JobNotFoundException"), "STOPPED") == "answered 404 JobNotFoundException"
    assert _said(answer(500), None) == "answered 500 (no error type)"


@pytest.mark.parametrize(("operation", "category", "possible", "the_answer", "status"), [
    (DESCRIBE, categories.MACHINE_DESCRIBE, {"SUBMITTED"}, ok("FAILED"), "FAILED"),
    (DESCRIBE, categories.MACHINE_SETTLE, {"STOP_REQUESTED"}, ok("COMPLETED"), "COMPLETED"),
    (STOP, categories.MACHINE_STOP, {"IN_PROGRESS"}, ok("STOPPED"), "STOPPED"),
    (STOP, categories.MACHINE_STOP, {"IN_PROGRESS"}, error(400, "InvalidRequestException"), None),
    (STOP, categories.MACHINE_CLEANUP, {"STOP_REQUESTED"}, error(400, "InvalidRequestException"), None),
    (STOP, categories.MACHINE_STOP, {"STOPPED"}, ok("STOPPED"), "STOPPED"),
    (MEDICAL_STOP, categories.MACHINE_STOP, {"IN_PROGRESS"}, ok(), None),
    (START, categories.MACHINE_START, None, ok("SUBMITTED"), "SUBMITTED"),
    (STOP, categories.MACHINE_OTHER_KIND, None, error(400, "JobNotFoundException"), None),
    (STOP, categories.MACHINE_OTHER_SERVICE, None, error(400, "ValidationException"), None),
])
def test_an_answer_the_oracle_allows_breaks_no_law(operation: Operation, category: Category, possible: set[str] | None,
                                                   the_answer: Answer, status: object) -> None:
    assert judged(operation, category, possible, the_answer, status) is None


@pytest.mark.parametrize(("operation", "category"), [(STOP, categories.MACHINE_OTHER_KIND),
                                                     (DESCRIBE, categories.MACHINE_OTHER_SERVICE)])
def test_another_kind_s_operation_that_finds_a_job_breaks_own_kind(operation: Operation, category: Category) -> None:
    assert judged(operation, category, None, ok("IN_PROGRESS"), "IN_PROGRESS") == Violation(
        Law.OWN_KIND, f"{operation.name} answered 200 JobStatus IN_PROGRESS for the id of a job of another kind, "
                      "which it must not find: a job's id names no job for another kind's Describe and Stop")


@pytest.mark.parametrize("the_answer", [error(500, "InternalFailure"), error(403, "AccessDeniedException"),
                                        answer(201, {"JobStatus": "STOPPED"}), answer(199, {"JobStatus": "STOPPED"})])
def test_another_kind_s_operation_that_does_not_find_a_job_breaks_no_lifecycle_law(the_answer: Answer) -> None:
    assert judged(STOP, categories.MACHINE_OTHER_KIND, None, the_answer, "STOPPED") is None


@pytest.mark.parametrize("status", ["STOP_REQUESTED", "STOPPED"])
def test_a_new_job_that_is_stopping_breaks_only_stop_stops(status: str) -> None:
    assert judged(START, categories.MACHINE_START, None, ok(status), status) == Violation(
        Law.ONLY_STOP_STOPS, f"a new job is {status}: a job no Stop has reached is never STOP_REQUESTED or STOPPED")


@pytest.mark.parametrize(("operation", "the_answer", "status"), [
    (START, ok("NOT_A_STATUS"), "NOT_A_STATUS"),  # no status of the lifecycle: `job_status_allowed` judges it
    (START, error(500, "InternalFailure"), "STOPPED"),
    (START, answer(199, {"JobStatus": "STOPPED"}), "STOPPED"),
    (START, error(400, "JobNotFoundException"), None),  # a Start looks no job up
    (MEDICAL_START, ok("STOPPED"), "STOPPED"),  # its answer has no JobStatus of its own: nothing to judge
])
def test_a_start_that_says_no_stopping_job_breaks_no_law(operation: Operation, the_answer: Answer,
                                                         status: object) -> None:
    assert judged(operation, categories.MACHINE_START, None, the_answer, status) is None


@pytest.mark.parametrize(("operation", "category", "the_answer"), [
    (DESCRIBE, categories.MACHINE_DESCRIBE, error(400, "JobNotFoundException")),
    (DESCRIBE, categories.MACHINE_SETTLE, error(404, "JobNotFoundException")),
    (STOP, categories.MACHINE_STOP, error(400, "JobNotFoundException")),
    (STOP, categories.MACHINE_CLEANUP, error(404, "JobNotFoundException")),
    (MEDICAL_STOP, categories.MACHINE_STOP, error(400, "ResourceNotFoundException")),
])
def test_a_started_job_not_found_by_its_own_kind_breaks_found(operation: Operation, category: Category,
                                                              the_answer: Answer) -> None:
    assert judged(operation, category, {"IN_PROGRESS"}, the_answer) == Violation(
        Law.FOUND, f"answered {the_answer.status} {operation.not_found_error}, where the job may be IN_PROGRESS, "
                   "COMPLETED or FAILED: a job the run started is always found by its own kind's Describe and Stop")


@pytest.mark.parametrize("the_answer", [error(400, "ResourceNotFoundException"), error(500, "InternalFailure"),
                                        error(400, "ValidationException")])
def test_an_error_that_is_not_the_operation_s_not_found_error_breaks_no_law_of_a_describe(the_answer: Answer) -> None:
    assert judged(DESCRIBE, categories.MACHINE_DESCRIBE, {"IN_PROGRESS"}, the_answer) is None


@pytest.mark.parametrize(("possible", "status", "law", "may_be"), [
    ({"IN_PROGRESS"}, "SUBMITTED", Law.FORWARD, "IN_PROGRESS, COMPLETED or FAILED"),  # barely back
    ({"STOP_REQUESTED"}, "IN_PROGRESS", Law.FORWARD, "STOP_REQUESTED, COMPLETED, FAILED or STOPPED"),
    ({"COMPLETED"}, "FAILED", Law.FORWARD, "COMPLETED"),  # an ended job changing
    ({"IN_PROGRESS"}, "STOP_REQUESTED", Law.ONLY_STOP_STOPS, "IN_PROGRESS, COMPLETED or FAILED"),
    (None, "NOT_A_STATUS", Law.STATUS_EXPLAINED, EVERY_STATUS),
    (set(), "NOT_A_STATUS", Law.STATUS_EXPLAINED, EVERY_STATUS),  # an empty model is no model: every status
])
@pytest.mark.parametrize("category", [categories.MACHINE_DESCRIBE, categories.MACHINE_SETTLE])
def test_a_describe_with_a_status_no_timing_explains_breaks_the_law_its_departure_does(
        possible: set[str] | None, status: str, law: Law, may_be: str, category: Category) -> None:
    assert described(possible, status, category) == Violation(
        law, f"answered 200 JobStatus {status}, where the job may only be {may_be}: {law.value}")


@pytest.mark.parametrize(("possible", "status"), [({"SUBMITTED"}, "FAILED"), ({"IN_PROGRESS"}, None),
                                                  ({"IN_PROGRESS"}, 7), ({"STOP_REQUESTED"}, "STOPPED")])
def test_a_describe_with_a_status_some_timing_explains_or_none_breaks_no_law(possible: set[str],
                                                                             status: object) -> None:
    assert described(possible, status) is None


@pytest.mark.parametrize("status_code", [199, 201, 404, 500])
def test_a_describe_that_is_no_200_breaks_no_law_by_the_status_it_says(status_code: int) -> None:
    the_answer = answer(status_code, {"JobStatus": "SUBMITTED"})
    assert judged(DESCRIBE, categories.MACHINE_DESCRIBE, {"IN_PROGRESS"}, the_answer, "SUBMITTED") is None


def test_a_step_read_back_from_a_report_is_judged_as_when_it_was_sent() -> None:
    # A case loaded from JSON names its category with a string of its own, equal to the constant's but not it.
    for operation, category, status in [(START, categories.MACHINE_START, "STOPPED"),
                                        (DESCRIBE, categories.MACHINE_DESCRIBE, "SUBMITTED"),
                                        (STOP, categories.MACHINE_STOP, "IN_PROGRESS")]:
        sent = Case(operation.name, category.name, category.kind, "a step",
                    possible_statuses=frozenset({"IN_PROGRESS"}))
        read = Case.from_json(json.loads(json.dumps(sent.to_json())))
        assert read == sent and read.category is not category.name
        found = lifecycle_violation(operation, read, ok(status), expect(operation, read), status)
        assert found is not None and found == lifecycle_violation(operation, sent, ok(status), expect(operation, sent),
                                                                  status)


def test_a_step_of_another_flow_is_no_lifecycle_step() -> None:
    # The check asks only of the state machine's steps; any other Describe or Stop is judged by other checks.
    assert judged(DESCRIBE, categories.DESCRIBE, {"IN_PROGRESS"}, ok("SUBMITTED"), "SUBMITTED") is None
    assert judged(STOP, categories.STOP, {"COMPLETED"}, ok("STOPPED"), "STOPPED") is None


@pytest.mark.parametrize(("operation", "possible", "status", "said", "may_be"), [
    (STOP, {"COMPLETED"}, "STOPPED", "answered 200 JobStatus STOPPED", "COMPLETED"),
    (STOP, {"FAILED"}, "STOP_REQUESTED", "answered 200 JobStatus STOP_REQUESTED", "FAILED"),
    (MEDICAL_STOP, {"COMPLETED", "FAILED"}, None, "answered 200", "COMPLETED or FAILED"),
])
@pytest.mark.parametrize("category", [categories.MACHINE_STOP, categories.MACHINE_CLEANUP])
def test_a_stop_of_an_ended_job_that_succeeds_breaks_ended_refuses_stop(
        operation: Operation, possible: set[str], status: str | None, said: str, may_be: str,
        category: Category) -> None:
    assert stop(possible, ok(status), status, category, operation) == Violation(
        Law.ENDED_REFUSES_STOP, f"{said}, where the job has ended (it may only be {may_be}): Stop of a job that has "
                                "ended (COMPLETED, FAILED) is refused with 400 InvalidRequestException")


@pytest.mark.parametrize("status", ["SUBMITTED", "IN_PROGRESS"])
def test_a_stop_that_answers_the_job_still_running_did_not_take(status: str) -> None:
    assert stop({"SUBMITTED"}, ok(status), status) == Violation(
        Law.STOP_TAKES, f"answered 200 JobStatus {status}: the stop did not take, where the job may be SUBMITTED, "
                        "IN_PROGRESS, COMPLETED or FAILED: Stop of a job that cannot have ended is not refused")


@pytest.mark.parametrize(("possible", "status", "law", "may_be"), [
    ({"IN_PROGRESS"}, "COMPLETED", Law.STATUS_EXPLAINED, "STOP_REQUESTED or STOPPED"),  # ended, not stopped
    ({"IN_PROGRESS"}, "NOT_A_STATUS", Law.STATUS_EXPLAINED, "STOP_REQUESTED or STOPPED"),
    ({"STOPPED"}, "STOP_REQUESTED", Law.FORWARD, "STOPPED"),  # a stopped job stopping again
])
def test_a_stop_that_answers_another_status_than_a_stop_leaves_breaks_its_departure_s_law(
        possible: set[str], status: str, law: Law, may_be: str) -> None:
    assert stop(possible, ok(status), status) == Violation(
        law, f"answered 200 JobStatus {status}, where the job may only be {may_be}: {law.value}")


def test_a_stop_of_a_job_that_cannot_have_ended_refused_as_ended_breaks_stop_takes() -> None:
    assert stop({"STOPPED"}, error(400, "InvalidRequestException")) == Violation(
        Law.STOP_TAKES, "answered 400 InvalidRequestException, where the job cannot have ended (it may be STOPPED): "
                        "Stop of a job that cannot have ended is not refused")


@pytest.mark.parametrize(("possible", "the_answer", "status"), [
    ({"STOPPED"}, error(404, "InvalidRequestException"), None),  # not the refusal of an ended job
    ({"STOPPED"}, error(400, "ValidationException"), None),
    ({"STOPPED"}, error(400, "ConflictException"), None),  # a type that sorts before InvalidRequestException
    ({"STOPPED"}, error(500, "InternalFailure"), None),
    ({"COMPLETED"}, error(500, "InternalFailure"), None),
    ({"IN_PROGRESS"}, ok(), None),  # no JobStatus: `job_status_allowed` judges that
    ({"IN_PROGRESS"}, ok(), 7),
    ({"IN_PROGRESS"}, answer(201, {"JobStatus": "IN_PROGRESS"}), "IN_PROGRESS"),
    ({"IN_PROGRESS"}, answer(199, {"JobStatus": "IN_PROGRESS"}), "IN_PROGRESS"),
    ({"COMPLETED"}, answer(199, {"JobStatus": "STOPPED"}), "STOPPED"),
])
def test_a_stop_answer_that_says_nothing_of_the_job_s_life_breaks_no_law(possible: set[str], the_answer: Answer,
                                                                         status: object) -> None:
    assert stop(possible, the_answer, status) is None


@settings(max_examples=40, deadline=None)
@given(st.sets(st.sampled_from(sorted(ALL)), min_size=1), st.sampled_from(sorted(ALL)))
def test_a_describe_breaks_a_law_exactly_when_time_cannot_bring_the_job_to_its_status(possible: set[str],
                                                                                     status: str) -> None:
    found = described(possible, status)
    assert (found is None) == (status in later(possible))
