"""The state machine over the job lifecycle: its model accepts every legal timing and rejects what none explains,
its runs against the real reference server (and every legal variation of it, over 20 seeds) conform, each fault only
a sequence of steps shows is caught and shrunk to its shortest failing run, and its option, dry run, budget and jobs
behave."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.cases import FLOW_KINDS, Case, categories
from conformance.cli import main
from conformance.engine.budget import MACHINE_SHARE, allocate
from conformance.engine.config import LifecycleConfig, MachineConfig, RunConfig
from conformance.engine.job_flow import NoLedger
from conformance.engine.lanes import Lane, lanes_for, select_operations
from conformance.engine.machine import MachineKind, StateMachine, machine_kinds, run_machine, transport_step_sender
from conformance.engine.results import CaseResult
from conformance.engine.runner import run
from conformance.engine.safety import JobLedger
from conformance.engine.transport import Transport
from conformance.engine.verdict import Verdict
from conformance.generation.machine_steps import OPENING, Action, Verb, actions, draw_runs, smaller, without
from conformance.judging import job_states
from conformance.judging.check_results import Failed
from conformance.judging.checks import CheckContext, run_checks, violation
from conformance.judging.job_states import Law
from conformance.judging.oracle import expect
from conformance.model.operations import Operation
from conformance.protocols import Answer
from conformance.reference import JobStore, ManualClock, ReferenceApp, ReferenceServer, Timings
from conformance.reference.variants import VARIANTS, build_app
from conformance.report import json_report, summarise
from conformance.targets.target import Target
from conformance.wire.http import HttpResponse

CONFIG = RunConfig(Target("http://127.0.0.1:1"))
LANES = lanes_for(CONFIG, select_operations(CONFIG))
ALL_CONFIG = RunConfig(Target("http://127.0.0.1:1"), all_operations=True)
ALL_LANES = lanes_for(ALL_CONFIG, select_operations(ALL_CONFIG))
FAST_JOBS = Timings(queued=0.05, running=600.0, stopping=0.2)
QUICK_SETTLE = LifecycleConfig(settle_timeout=2.0, poll_interval=0.05)
SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "report.schema.json").read_text(encoding="utf-8"))
# The faults only a sequence of steps shows (reference/variants/job_states.py).
SEQUENCE_FAULTS = ["describe_lags_behind_stop", "ended_jobs_found_by_any_kind", "restop_reverts_to_stop_requested",
                   "start_forgets_stopped_jobs", "stop_stops_whole_kind"]


# 1. The documented states, as data.

def test_a_job_no_stop_reached_never_moves_into_the_stop_states() -> None:
    assert job_states.later({job_states.SUBMITTED}) == job_states.NEVER_STOPPED
    assert job_states.later(job_states.NEVER_STOPPED) == job_states.NEVER_STOPPED
    assert job_states.later({job_states.STOP_REQUESTED}) == frozenset({"STOP_REQUESTED", "STOPPED", "COMPLETED",
                                                                      "FAILED"})
    assert all(job_states.later({status}) == {status} for status in job_states.SETTLED)


@given(st.sets(st.sampled_from(sorted(job_states.ALL))))
def test_later_is_a_closure(statuses: set[str]) -> None:
    widened = job_states.later(statuses)
    assert statuses <= widened and job_states.later(widened) == widened
    assert all(job_states.RANK[status] >= min(job_states.RANK[held] for held in statuses) for status in widened)


@pytest.mark.parametrize(("possible", "status", "law"), [
    ({"STOPPED"}, "STOP_REQUESTED", Law.FORWARD),  # a stopped job stopping again
    ({"COMPLETED"}, "STOPPED", Law.FORWARD),  # an ended job changing
    ({"SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"}, "STOP_REQUESTED", Law.ONLY_STOP_STOPS),
    ({"IN_PROGRESS", "COMPLETED", "FAILED"}, "STOPPED", Law.ONLY_STOP_STOPS),
    ({"STOP_REQUESTED", "STOPPED", "COMPLETED", "FAILED"}, "IN_PROGRESS", Law.FORWARD),
    ({"IN_PROGRESS", "COMPLETED", "FAILED"}, "SUBMITTED", Law.FORWARD),
    ({"IN_PROGRESS"}, "STOPPING", Law.STATUS_EXPLAINED),  # not a status at all
])
def test_each_departure_names_the_law_it_breaks(possible: set[str], status: str, law: Law) -> None:
    assert job_states.departure(frozenset(possible), status) is law


# 2. The model, against the reference app in process, on a clock the test moves between steps.

Change = Callable[[Operation, Case, Answer], Answer]


def in_process(app: ReferenceApp, clock: ManualClock, moves: Iterator[tuple[float, bool]],
               change: Change | None = None) -> Callable[..., CaseResult]:
    """A step sender that answers from the app itself: before each step time moves on (and, where drawn, a running
    job fails, as jobs may), the step is encoded and decoded by the suite's own codecs and judged by every check."""
    def send(lane: Lane, operation: Operation, case: Case, *, essential: bool = False) -> CaseResult:
        seconds, fail = next(moves, (0.0, False))
        clock.advance(seconds)
        running = [job for job in app.jobs.every_job() if job.status(clock.now()) in job_states.RUNNING]
        if fail and running:
            app.jobs.fail(running[0].kind, running[0].job_id)
        request = lane.protocol.encode(operation, case)
        response = app.handle(request)
        headers = {name.lower(): value for name, value in response.headers.items()}  # as the transport reads them
        answer = lane.protocol.decode(HttpResponse(response.status, headers, response.body))
        if change is not None:
            answer = change(operation, case, answer)
        expectation = expect(operation, case)
        result = CaseResult(case, operation, request, expectation, answer, protocol=lane.protocol.name,
                            lane=(lane.operation.name, lane.protocol.name))
        result.verdicts = run_checks(CheckContext(operation, case, request, answer, expectation, lane.protocol))
        return result
    return send


# Time between two steps (none, less than a phase of a job, more than all of them), and whether a running job fails.
MOVES = st.lists(st.tuples(st.sampled_from([0.0, 0.0, 0.3, 1.0, 2.0, 5.0, 50.0]),
                           st.integers(0, 9).map(lambda draw: draw == 0)), max_size=40)
TIMINGS = st.builds(Timings, st.sampled_from([0.0, 1.0, 3.0]), st.sampled_from([0.0, 2.0, 8.0, 600.0]),
                    st.sampled_from([0.0, 1.0, 4.0]))


def machine_for(app: ReferenceApp, clock: ManualClock, moves: list[tuple[float, bool]], lanes: list[Lane] = LANES,
                change: Change | None = None) -> StateMachine:
    return StateMachine(machine_kinds(lanes), in_process(app, clock, iter(moves), change), JobLedger(),
                        lifecycle=QUICK_SETTLE, pause=clock.advance)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions(24), MOVES, TIMINGS, st.booleans())
def test_every_answer_a_legal_server_gives_at_any_timing_is_accepted(run_actions: list[Action],
                                                                     moves: list[tuple[float, bool]],
                                                                     timings: Timings, all_kinds: bool) -> None:
    clock = ManualClock()
    app = ReferenceApp(JobStore(clock, timings))
    record = machine_for(app, clock, moves, ALL_LANES if all_kinds else LANES).run(run_actions, 200)
    assert record.violation is None, "\n".join(record.lines)
    failed = {check: f.message for result in record.results for check, f in result.failures().items()}
    assert not failed, (failed, "\n".join(record.lines))
    assert record.results and all(result.case.category in categories.MACHINE for result in record.results)
    # Every job it started, it stopped (or saw refused a Stop, having ended).
    assert all(job.status(clock.now()) in job_states.STOPPING | job_states.ENDED for job in app.jobs.every_job())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MOVES, TIMINGS, st.integers(1, 30), st.data())
def test_an_answer_no_timing_explains_is_rejected(moves: list[tuple[float, bool]], timings: Timings, at: int,
                                                  data: st.DataObject) -> None:
    """The legal server's answers to the opening, one Describe's changed to a status the model does not allow its
    job, or to the not-found answer: the run must end there, naming the law broken."""
    clock = ManualClock()
    app = ReferenceApp(JobStore(clock, timings))
    changed: list[str] = []

    def change(operation: Operation, case: Case, answer: Answer) -> Answer:
        if case.category != categories.MACHINE_DESCRIBE.name or changed or step_of(case) < at \
                or not isinstance(answer.document, dict):
            return answer
        allowed = job_states.later(case.possible_statuses or job_states.ALL)
        wrong = data.draw(st.sampled_from([*sorted(job_states.ALL - allowed), "not found"]))
        changed.append(wrong)
        if wrong == "not found":
            return Answer(HttpResponse(400, {}, b""), {"Message": "gone"}, error_type=operation.not_found_error,
                          message="gone")
        return Answer(answer.response, {name: {**value, "JobStatus": wrong} if isinstance(value, dict) else value
                                        for name, value in answer.document.items()})

    record = machine_for(app, clock, moves, change=change).run(list(OPENING), 200)
    if changed:
        assert record.violation is not None and record.failing is not None, record.lines
        assert isinstance(record.failing.verdicts["lifecycle_model"], Failed), record.lines
        assert changed[0] != "not found" or record.violation.law is Law.FOUND


def step_of(case: Case) -> int:
    """The step a case's description gives (`...: step 9 of a state-machine run`)."""
    return int(case.description.rsplit("step ", 1)[1].split()[0])


REFUSED = Answer(HttpResponse(400, {}, b""), {"Message": "ended"}, error_type="InvalidRequestException",
                 message="ended")


@pytest.mark.parametrize(("possible", "law"), [
    ({"IN_PROGRESS"}, None),  # it may have completed before the Stop arrived: any time passes between steps
    ({"STOP_REQUESTED"}, None),  # it may have finished before its stop took
    ({"COMPLETED"}, None),
    ({"STOPPED"}, Law.STOP_TAKES),  # a stopped job never ends otherwise
])
def test_a_stop_refused_as_ended_is_allowed_wherever_the_job_may_have_ended(possible: set[str], law: Law | None)\
        -> None:
    lane = LANES[0]
    operation = lane.operation
    case = Case(operation.name, categories.MACHINE_STOP.name, categories.MACHINE_STOP.kind, "stop",
                document={"JobId": "x"}, job_id="x", possible_statuses=frozenset(possible))
    found = violation(CheckContext(operation, case, lane.protocol.encode(operation, case), REFUSED,
                                   expect(operation, case), lane.protocol))
    assert (found.law if found else None) is law


# 3. Shrinking: the runs it tries.

@given(actions(20))
def test_a_smaller_run_leaves_out_no_action_on_a_job_it_keeps_and_keeps_the_failing_one(run_actions: list[Action])\
        -> None:
    taken = normalised(run_actions)
    for candidate in itertools.islice(smaller(taken), 60):
        assert candidate[-1].verb is taken[-1].verb and len(candidate) <= len(taken)
        started = [action.job for action in candidate if action.verb is Verb.START and action.job >= 0]
        assert started == list(range(len(started)))  # renumbered: the jobs it keeps, in order
        assert all(action.job < len(started) for action in candidate if action.verb is not Verb.START)


def normalised(run_actions: list[Action]) -> list[Action]:
    """A run as taken: every START starts a job (numbered in order), every other action names a started one."""
    taken: list[Action] = []
    jobs = 0
    for action in run_actions:
        if action.verb is Verb.START:
            taken.append(Action(Verb.START, jobs, action.kind % 2, action.protocol))
            jobs += 1
        elif jobs:
            taken.append(Action(action.verb, action.job % jobs, 0, action.protocol))
    return taken or [Action(Verb.START)]


def test_leaving_out_a_start_leaves_out_what_was_done_to_its_job() -> None:
    run_actions = [Action(Verb.START, 0), Action(Verb.START, 1), Action(Verb.STOP, 0), Action(Verb.DESCRIBE, 1),
                   Action(Verb.DESCRIBE, 0)]
    assert without(run_actions, [1]) == [Action(Verb.START, 0), Action(Verb.STOP, 0), Action(Verb.DESCRIBE, 0)]
    assert without(run_actions, [0]) is None  # the failing action's job would be gone
    assert next(smaller(run_actions)) == [Action(Verb.START, 0), Action(Verb.STOP, 0), Action(Verb.DESCRIBE, 0)]


# 4. Against the real reference server over loopback.

def test_a_run_against_the_reference_server_conforms_and_stops_every_job(live_reference_server: ReferenceServer)\
        -> None:
    result = run(RunConfig(Target(live_reference_server.url), max_examples=0, seed=3, lifecycle=QUICK_SETTLE,
                           machine=MachineConfig(steps=50)))
    summary = summarise(result)
    assert summary.verdict is Verdict.CONFORMS, summary.decision.reasons
    steps = [r for r in result.results if r.case.category in categories.MACHINE]
    assert 40 <= len(steps) <= 50 and "state machine" in result.phases
    assert not any(isinstance(r.verdicts["lifecycle_model"], Failed) for r in steps)
    # (A settle step waits only for a job that may still be stopping: whether one does depends on timing.)
    assert {r.case.category for r in steps} >= {"machine.start", "machine.describe", "machine.stop",
                                                "machine.other_service", "machine.cleanup"}
    # Steps over both protocols, the same job's Start and Stop over different ones where both are served.
    assert {r.protocol for r in steps} == {"awsJson1_1", "rpcv2Cbor"}
    assert not result.jobs_left_running
    store = live_reference_server.app.jobs
    assert all(job.status(store.clock.now()) in job_states.STOPPING for job in store.every_job())
    counted = json_report.build(summary)["coverage"]
    assert sum(count for lane in counted.values() for category, count in lane.items()
               if category.startswith("machine.")) == len(steps)


def test_the_machine_starts_once_every_job_flow_has_stopped_its_job(live_reference_server: ReferenceServer) -> None:
    result = run(RunConfig(Target(live_reference_server.url), max_examples=0, seed=4, lifecycle=QUICK_SETTLE,
                           machine=MachineConfig(steps=20)))
    # What a flow sends up to its job's first Stop: the Start, the looks, the near misses, the Stop.
    later = {categories.STOP_AGAIN.name, categories.SETTLED.name, categories.STOP_SETTLED.name}
    flows = [r for r in result.results if r.case.kind in FLOW_KINDS and r.case.category not in categories.MACHINE]
    steps = [r for r in result.results if r.case.category in categories.MACHINE]
    assert len([r for r in flows if r.case.category == categories.STOP.name]) == 4
    assert steps and max(r.sent_at for r in flows if r.case.category not in later) < min(r.sent_at for r in steps)


@pytest.mark.parametrize("name", SEQUENCE_FAULTS)
def test_each_sequence_fault_passes_without_the_machine_and_is_caught_and_shrunk_with_it(name: str) -> None:
    variant = VARIANTS[name]
    runs = {}
    for steps in (0, MachineConfig().steps):
        with ReferenceServer(app=build_app(name, timings=FAST_JOBS), http_options=variant.http) as server:
            # One protocol and no drawn near misses: the job flows never meet each other's jobs, which two of these
            # faults show only by chance (docs/verdicts.md).
            runs[steps] = summarise(run(RunConfig(Target(server.url), max_examples=0, seed=5, protocol="awsJson1_1",
                                                  near_misses=0, lifecycle=QUICK_SETTLE, read_timeout=5.0,
                                                  machine=MachineConfig(steps=steps))))
    assert runs[0].verdict is Verdict.CONFORMS, (name, runs[0].decision.reasons)
    caught = runs[MachineConfig().steps]
    assert caught.verdict is Verdict.DOES_NOT_CONFORM
    failed = [record for record in caught.failures if record.check == "lifecycle_model"]
    assert failed and {record.check for record in caught.failures} <= variant.caught_by | {"lifecycle_model"}
    sequence = failed[0].sequence
    # At most: start, stop, the looks at it settling (one line), the look that saw it settled, stop, describe.
    assert sequence is not None and sequence.length <= sequence.original and len(sequence.steps) <= 6
    assert sequence.steps[0].startswith("1. start job 1") and "<- " in sequence.steps[-1]
    assert all("<- " not in step for step in sequence.steps[:-1])


def test_a_shrunk_run_is_shown_in_every_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "describe_lags_behind_stop"
    report, xml, md = tmp_path / "report.json", tmp_path / "junit.xml", tmp_path / "summary.md"
    with ReferenceServer(app=build_app(name, timings=FAST_JOBS)) as server:
        code = main(["run", "--endpoint-url", server.url, "--seed", "2", "--max-examples", "0", "--protocol",
                     "awsJson1_1", "--settle-timeout", "2", "--report-json", str(report), "--junitxml", str(xml),
                     "--report-markdown", str(md)])
    out = capsys.readouterr().out
    assert code == 1
    data = json.loads(report.read_text())
    jsonschema.validate(data, SCHEMA)
    record = next(failure for failure in data["failures"] if failure["check"] == "lifecycle_model")
    steps = record["sequence"]["steps"]
    # The shortest run that shows it: start a job, stop it, describe it (IN_PROGRESS after STOP_REQUESTED).
    assert len(steps) == record["sequence"]["length"] == 3, steps
    assert steps[0].startswith("1. start job 1") and steps[1].startswith("2. stop job 1")
    assert steps[2].startswith("3. describe job 1") and "200 IN_PROGRESS  <- " in steps[2]
    assert record["case"]["possible_statuses"] and "IN_PROGRESS" not in record["case"]["possible_statuses"]
    for text in (out, xml.read_text(), md.read_text()):
        assert "the shortest failing run found: 3 steps" in text and "2. stop job 1 over awsJson1_1: 200" in text
    assert out.count("2. stop job 1 over awsJson1_1") == 1  # shown once, with the first failure of its step


# 5. Every legal variation, over 20 seeds, at several timings.

LEGAL = sorted(name for name, variant in VARIANTS.items() if variant.legal)
# Jobs that never end in a run, that end while running (a Stop then refused), that end while stopping.
LEGAL_TIMINGS = (Timings(queued=0.01, running=600, stopping=0.05), Timings(queued=0.0, running=0.05, stopping=0.05),
                 Timings(queued=0.02, running=0.15, stopping=0.3))


@pytest.mark.parametrize("name", LEGAL)
def test_each_legal_variation_passes_the_state_machine_over_20_seeds(name: str) -> None:
    variant = VARIANTS[name]
    servers = [ReferenceServer(app=build_app(name, timings=timings), http_options=variant.http)
               for timings in LEGAL_TIMINGS]

    def one(seed: int) -> list[str]:
        server = servers[seed % len(servers)]
        config = RunConfig(Target(server.url), all_operations=seed % 5 == 4)  # every kind, now and then
        transport = Transport(config.target, read_timeout=5.0)
        try:
            machine = StateMachine(machine_kinds(lanes_for(config, select_operations(config))),
                                   transport_step_sender(transport), transport.jobs, lifecycle=QUICK_SETTLE)
            results = run_machine(machine, itertools.chain([OPENING], draw_runs(seed)), 60, 0)
            problems = [f"seed {seed}: {r.case.category}: {check}: {failed.message}" for r in results
                        for check, failed in r.failures().items()]
            problems += [f"seed {seed}: {r.case.category} not judged" for r in results if not r.judged]
            problems += [f"seed {seed}: left running {job}" for job in transport.jobs.unstopped()]
            return problems if len(results) >= 30 else [f"seed {seed}: only {len(results)} steps", *problems]
        finally:
            transport.close()

    for server in servers:
        server.start()
    try:
        with ThreadPoolExecutor(max_workers=10) as pool:
            problems = [problem for found in pool.map(one, range(20)) for problem in found]
    finally:
        for server in servers:
            server.stop()
    assert not problems, problems[:5]


# 6. The option, the dry run, the budget, and jobs on AWS.

def test_the_dry_run_lists_the_machine_s_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--dry-run", "--seed", "1", "--max-examples", "0", "--state-machine-steps", "30"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("#") and ": machine." in line]
    assert len(listed) == 30
    assert "StartPiiEntitiesDetectionJob over awsJson1_1: machine.start" in listed[0]
    assert any(": machine.settle: " in line and "repeated until the job settles" in line for line in listed)
    assert any(": machine.other_service: " in line for line in listed)
    assert main(["run", "--dry-run", "--seed", "1", "--max-examples", "0", "--state-machine-steps", "0"]) == 0
    assert ": machine." not in capsys.readouterr().out


def test_the_option_is_mirrored_in_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conformance.toml").write_text("state-machine-steps = 12\nmax-examples = 0\n", encoding="utf-8")
    assert main(["run", "--dry-run", "--seed", "1"]) == 0
    assert capsys.readouterr().out.count(": machine.") == 12
    (tmp_path / "conformance.toml").write_text("state-machine-steps = -3\n", encoding="utf-8")
    assert main(["run", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "state-machine-steps" in err and "conformance.toml" in err and "Traceback" not in err


@given(st.integers(0, 3000), st.integers(0, 500), st.integers(0, 200))
def test_the_machine_takes_at_most_its_share_of_what_the_first_passes_leave(left: int, asked: int, first: int)\
        -> None:
    allocation = allocate(left, LANES, 0, 0, machine_steps=asked, first_pass=first)
    steps, shrink = allocation.machine_steps or 0, allocation.machine_shrink or 0
    assert steps <= asked and steps == shrink
    assert steps + shrink <= max(left - first, 0) * MACHINE_SHARE
    assert sum(share or 0 for share in allocation.cases_per_lane.values()) + steps + shrink == left


def test_a_budget_caps_the_machine_and_its_shrinking(live_reference_server: ReferenceServer) -> None:
    result = run(RunConfig(Target(live_reference_server.url), max_examples=5, seed=6, budget=420,
                           lifecycle=QUICK_SETTLE))
    assert result.requests_sent <= 420
    steps = [r for r in result.results if r.case.category in categories.MACHINE]
    assert 0 < len(steps) < MachineConfig().steps  # its share, not all it asks for
    assert not result.jobs_left_running


def test_a_cancelled_run_still_stops_every_job_it_started() -> None:
    clock = ManualClock()
    app = ReferenceApp(JobStore(clock, Timings(queued=1, running=600, stopping=2)))
    cancel = threading.Event()
    ledger = JobLedger()
    sent = in_process(app, clock, iter([]))
    count = itertools.count(1)

    def send(lane: Lane, operation: Operation, case: Case, *, essential: bool = False) -> CaseResult:
        if next(count) == 6:
            cancel.set()  # Ctrl-C after the opening's first five steps
        return sent(lane, operation, case, essential=essential)

    machine = StateMachine(machine_kinds(LANES), send, ledger, cancel=cancel, pause=clock.advance)
    record = machine.run(list(OPENING), 100)
    assert [r.case.category for r in record.results[6:]] == ["machine.cleanup"] * 3, record.lines
    assert ledger.all_started() and not ledger.unstopped()


def test_machine_kinds_put_another_service_second() -> None:
    kinds: list[MachineKind] = machine_kinds(ALL_LANES)
    assert [kind.api.service for kind in kinds[:2]] == ["comprehend", "comprehendmedical"]
    assert len(kinds) == 12 and all(kind.lanes[0].protocol.name == "awsJson1_1" for kind in kinds)


def test_a_run_without_jobs_sends_nothing() -> None:
    machine = StateMachine(machine_kinds(LANES), lambda *args, **kwargs: pytest.fail("sent"), NoLedger())
    assert machine.run([Action(Verb.DESCRIBE), Action(Verb.STOP)], 10).sent == 0
