"""Every rule of the run's verdict (`engine.verdict`), on runs built by hand: each verdict and its exit status, each
reason line as people read it, each breach of the coverage contract, and what a run counts as tested."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cases import Case, kind_of
from conformance.cases.categories import PROBE
from conformance.engine.baseline import NO_ANSWER, Baseline, Entry
from conformance.engine.config import RunConfig
from conformance.engine.lanes import Lane
from conformance.engine.results import (
    CHOSEN_SKIPS,
    CaseResult,
    LaneState,
    RunResult,
    Skip,
    SkipReason,
    Stopped,
    StopReason,
)
from conformance.engine.verdict import (
    EXIT_INTERRUPTED,
    EXIT_STATUS,
    EXIT_USAGE,
    FAILING_BREACHES,
    Breach,
    BreachKind,
    Decision,
    Verdict,
    decide,
    failure_entry,
)
from conformance.engine.verdict import tested as run_tested_keys  # pytest would collect a `test...` name as a test
from conformance.engine.verdict import tested_keys as case_tested_keys
from conformance.judging.check_results import NOT_APPLICABLE, PASSED, Failed
from conformance.judging.oracle import Expectation
from conformance.protocols import get_protocol
from conformance.targets.target import Target
from conformance.wire.http import HttpResponse, clipped
from conftest import stop_operations

PII, PHI = stop_operations()
JSON, CBOR = get_protocol("awsJson1_1"), get_protocol("rpcv2Cbor")
CONFIG = RunConfig(Target("http://127.0.0.1:9"))
PII_JSON, PII_CBOR, PHI_JSON = Lane(PII, JSON), Lane(PII, CBOR), Lane(PHI, JSON)
LANES = [PII_JSON, PII_CBOR, PHI_JSON]
# A probe's category as a case read back from a file carries it: an equal string, not the registry's own object.
PROBE_NAME = "valid.probe"
LETTERS, TOO_LONG, SEPARATORS = "valid.letters", "invalid.length.too_long", "valid.separators"
CONTROL, UNSIGNED = "invalid.char.control", "auth.unsigned"
SILENT = Failed("no answer: connection refused by http://127.0.0.1:9/")
STRICT_FIXED = "1 baseline entr(ies) fixed, and --baseline-strict: remove them from the baseline (--baseline-prune)"
PHI_NOT_PROBED = "StopPHIDetectionJob over awsJson1_1: must be served, and was not probed (the budget was spent)"
WRONG = Failed("the status code is not one a conforming endpoint may give", "400", "500")


def answer(status: int, error_type: str | None = None):
    headers = {"content-type": "application/x-amz-json-1.1", **({"x-amzn-errortype": error_type} if error_type else {})}
    return JSON.decode(HttpResponse(status, headers, b"{}"))


NOT_FOUND = answer(400, "ResourceNotFoundException")


def result(category: str = LETTERS, verdicts: dict | None = None, *, lane: Lane = PII_JSON, answered=NOT_FOUND,
           not_judged: SkipReason | None = None, case_lane: tuple[str, str] | None = None) -> CaseResult:
    """One case's result on `lane`; `answered` None for a case that got no answer (or was not sent)."""
    case = Case(lane.operation.name, category, kind_of(category), "a case built by hand", {"JobId": "j-1"})
    return CaseResult(case, lane.operation, lane.protocol.encode(lane.operation, case), Expectation(()), answered,
                      verdicts={} if verdicts is None else verdicts, not_judged=not_judged,
                      protocol=lane.protocol.name, lane=case_lane or lane.key)


def run_of(*results: CaseResult, lanes: list[Lane] | None = None, **fields) -> RunResult:
    """A run over `lanes` (all three served, none required, nothing promised unless said)."""
    lanes = LANES if lanes is None else lanes
    fields.setdefault("states", {lane.key: LaneState.SERVED for lane in lanes})
    return RunResult(CONFIG, [PII, PHI], lanes, results=list(results), **fields)


def baseline(*entries: Entry, strict: bool = False) -> Baseline:
    return Baseline(Path("baseline.json"), frozenset(entries), strict)


def entry(check: str, category: str = LETTERS, cause: str = "400 ResourceNotFoundException",
          lane: Lane = PII_JSON) -> Entry:
    return Entry(lane.operation.name, lane.protocol.name, check, category, cause)


# --- verdicts and exit statuses ---

def test_each_verdict_is_spelt_as_the_json_report_spells_it() -> None:
    assert {verdict: verdict.value for verdict in Verdict} == {
        Verdict.CONFORMS: "conforms", Verdict.DOES_NOT_CONFORM: "does_not_conform", Verdict.INCOMPLETE: "incomplete",
        Verdict.UNREACHABLE: "unreachable", Verdict.INTERRUPTED: "interrupted"}


def test_each_verdict_has_its_exit_status_and_usage_is_2() -> None:
    assert EXIT_STATUS == {Verdict.CONFORMS: 0, Verdict.DOES_NOT_CONFORM: 1, Verdict.UNREACHABLE: 3,
                           Verdict.INCOMPLETE: 4, Verdict.INTERRUPTED: 130}
    assert (EXIT_USAGE, EXIT_INTERRUPTED) == (2, 130)


@pytest.mark.parametrize("verdict", list(Verdict))
def test_accept_incomplete_passes_an_incomplete_run_and_no_other(verdict: Verdict) -> None:
    decision = Decision(verdict, [])
    assert decision.exit_status() == EXIT_STATUS[verdict]
    assert decision.exit_status(accept_incomplete=False) == EXIT_STATUS[verdict]
    passing = 0 if verdict is Verdict.INCOMPLETE else EXIT_STATUS[verdict]
    assert decision.exit_status(accept_incomplete=True) == passing


def test_a_run_with_nothing_wrong_conforms_with_no_reason() -> None:
    decision = decide(run_of(result(verdicts={"status_code": PASSED})))
    assert (decision.verdict, decision.reasons, decision.exit_status()) == (Verdict.CONFORMS, [], 0)
    assert (decision.failures, decision.warnings, decision.breaches, decision.baseline) == ([], [], [], None)


def test_a_run_with_no_case_at_all_conforms() -> None:
    # Nothing unanswered: a run that sent nothing is not "unreachable" (its lanes' breaches say what is missing).
    assert decide(run_of(lanes=[])).verdict is Verdict.CONFORMS


# --- interrupted ---

def test_an_interrupted_run_says_how_many_cases_and_that_every_job_was_stopped() -> None:
    decision = decide(run_of(result(), result(), result(), interrupted=True))
    assert decision.verdict is Verdict.INTERRUPTED and decision.exit_status() == 130
    assert decision.reasons == ["interrupted (Ctrl-C) after 3 case(s); every started job was stopped"]


def test_an_interrupted_run_names_the_jobs_left_running_and_the_failures_before_it() -> None:
    results = [result(verdicts={"status_code": WRONG, "error_type": WRONG}), result(verdicts={"status_code": WRONG}),
               result(verdicts={"spec_should": Failed("a warning is no failure")})]
    run = run_of(*results, interrupted=True, jobs_left_running=[("comprehend", "job-1")], required={PII_JSON.key},
                 states={PII_JSON.key: LaneState.NOT_SERVED}, stopped=Stopped(StopReason.MAX_TIME, 5, 5.2))
    decision = decide(run, baseline(entry("status_code")))
    # The lane's breach is a failure too, but a cut-short run names only what the user must act on: the job.
    assert [b.kind for b in decision.breaches] == [BreachKind.NOT_SERVED, BreachKind.JOB_LEFT_RUNNING]
    assert decision.verdict is Verdict.INTERRUPTED
    assert decision.reasons == ["interrupted (Ctrl-C) after 3 case(s)",
                                "JOB LEFT RUNNING: stop it by hand (comprehend job job-1)",
                                "before it: 3 check failure(s): error_type, status_code"]


def test_an_interrupted_run_without_failures_names_no_failure() -> None:
    run = run_of(result(verdicts={"status_code": PASSED}), interrupted=True, jobs_left_running=[("comprehend", "j")])
    assert decide(run).reasons == ["interrupted (Ctrl-C) after 1 case(s)",
                                   "JOB LEFT RUNNING: stop it by hand (comprehend job j)"]


# --- unreachable ---

def test_a_target_that_answered_nothing_is_unreachable_with_the_shortest_silence() -> None:
    longer = Failed("no answer: connection refused by http://127.0.0.1:9/a/much/longer/path")
    run = run_of(result(verdicts={"answered": longer}, answered=None), result(verdicts={"answered": SILENT},
                                                                              answered=None),
                 result(answered=None, not_judged=SkipReason.BUDGET_SPENT))
    decision = decide(run, baseline(entry("answered", cause=NO_ANSWER)))
    assert decision.verdict is Verdict.UNREACHABLE and decision.exit_status(accept_incomplete=True) == 3
    # Cases tried, not requests sent: the unsent case counts; no baseline line beside it.
    assert decision.reasons == [f"the target answered none of the 3 case(s) tried ({SILENT.message})"]


def test_an_unreachable_run_whose_silences_said_nothing_has_no_parenthesis() -> None:
    decision = decide(run_of(result(verdicts={"answered": NOT_APPLICABLE}, answered=None)))
    assert decision.verdict is Verdict.UNREACHABLE
    assert decision.reasons == ["the target answered none of the 1 case(s) tried"]


def test_one_answer_is_enough_not_to_be_unreachable() -> None:
    run = run_of(result(verdicts={"answered": SILENT}, answered=None), result(verdicts={"status_code": PASSED}))
    decision = decide(run)
    assert decision.verdict is Verdict.DOES_NOT_CONFORM
    assert decision.reasons == ["1 check failure(s): answered"]


def test_cases_never_sent_do_not_make_a_run_unreachable() -> None:
    run = run_of(result(answered=None, not_judged=SkipReason.BUDGET_SPENT), lanes=[PII_JSON],
                 promised={PII_JSON.key: {LETTERS}})
    decision = decide(run)
    assert decision.verdict is Verdict.INCOMPLETE
    assert decision.reasons == ["StopPiiEntitiesDetectionJob over awsJson1_1: not judged: valid.letters"]


# --- does not conform ---

def test_failing_breaches_and_failures_each_get_their_line() -> None:
    probe = result(PROBE_NAME, {"status_code": WRONG}, lane=PII_CBOR, answered=answer(404))
    results = [probe, result(verdicts={"status_code": WRONG, "error_type": WRONG, "sdk_compatible": WRONG})]
    run = run_of(*results, required={PII_CBOR.key}, states={PII_JSON.key: LaneState.SERVED,
                                                            PII_CBOR.key: LaneState.NOT_SERVED},
                 promised={PII_JSON.key: {LETTERS, TOO_LONG}}, jobs_left_running=[("comprehendmedical", "j-9")])
    decision = decide(run)
    assert decision.verdict is Verdict.DOES_NOT_CONFORM and decision.exit_status(accept_incomplete=True) == 1
    # NOT_JUDGED is no failure: it is not said when the run fails for better reasons.
    assert decision.reasons == [("StopPiiEntitiesDetectionJob over rpcv2Cbor: not served, and it must be "
                                 "(the probe was answered 404)"),
                                "JOB LEFT RUNNING: stop it by hand (comprehendmedical job j-9)",
                                "3 check failure(s): error_type, status_code"]


def test_a_failing_breach_alone_does_not_conform() -> None:
    run = run_of(jobs_left_running=[("comprehend", "j-1")])
    decision = decide(run)
    assert (decision.verdict, decision.reasons) == (Verdict.DOES_NOT_CONFORM,
                                                    ["JOB LEFT RUNNING: stop it by hand (comprehend job j-1)"])


def test_new_failures_against_a_baseline_say_how_many_it_accepted() -> None:
    results = [result(verdicts={"status_code": WRONG, "error_type": WRONG}), result(verdicts={"status_code": WRONG})]
    decision = decide(run_of(*results), baseline(entry("status_code")))
    assert decision.verdict is Verdict.DOES_NOT_CONFORM
    assert decision.reasons == [("1 new check failure(s) not in the baseline (2 accepted failure(s) of the "
                                 "baseline): error_type")]
    assert decision.baseline is not None and decision.baseline.accepted_failures == 2


def test_a_run_whose_failures_the_baseline_all_accepts_conforms_and_says_so() -> None:
    decision = decide(run_of(result(verdicts={"status_code": WRONG})), baseline(entry("status_code")))
    assert (decision.verdict, decision.reasons) == (Verdict.CONFORMS, ["1 accepted failure(s) of the baseline"])
    assert len(decision.failures) == 1 and decision.new_failures == []


def test_a_fixed_entry_fails_only_a_strict_baseline() -> None:
    run = run_of(result(verdicts={"status_code": PASSED, "error_type": WRONG}))
    fixed, untested = entry("status_code"), entry("content_type")
    lenient = decide(run, baseline(fixed, untested, entry("error_type")))
    assert lenient.verdict is Verdict.CONFORMS
    assert lenient.reasons == [("1 accepted failure(s) of the baseline; 1 entr(ies) fixed: remove them from the "
                                "baseline; 1 entr(ies) not tested")]
    strict = decide(run, baseline(fixed, untested, entry("error_type"), strict=True))
    assert strict.verdict is Verdict.DOES_NOT_CONFORM
    assert strict.reasons == [STRICT_FIXED]


def test_a_strict_baseline_with_nothing_fixed_lets_the_run_conform() -> None:
    run = run_of(result(verdicts={"status_code": WRONG}))
    decision = decide(run, baseline(entry("status_code"), entry("content_type"), strict=True))
    assert (decision.verdict, decision.reasons) == (Verdict.CONFORMS,
                                                    ["1 accepted failure(s) of the baseline; 1 entr(ies) not tested"])


def test_new_failures_and_fixed_strict_entries_are_both_said() -> None:
    run = run_of(result(verdicts={"status_code": PASSED, "error_type": WRONG}))
    decision = decide(run, baseline(entry("status_code"), strict=True))
    assert decision.reasons == [("1 new check failure(s) not in the baseline (0 accepted failure(s) of the "
                                 "baseline): error_type"), STRICT_FIXED]


def test_a_stopped_run_with_failures_does_not_conform_and_says_where_it_stopped() -> None:
    stopped = Stopped(StopReason.MAX_FAILURES, 1, 2.5)
    decision = decide(run_of(result(verdicts={"status_code": WRONG}), stopped=stopped))
    assert decision.verdict is Verdict.DOES_NOT_CONFORM
    assert decision.reasons == ["1 check failure(s): status_code",
                                ("stopped by --max-failures 1: 1 failing case(s) reached after 2.5s; "
                                 "the rest was not sent")]


# --- incomplete ---

def test_a_stopped_run_is_incomplete_with_its_stop_first_then_its_breaches() -> None:
    stopped = Stopped(StopReason.MAX_TIME, 60, 61.04)
    run = run_of(result(verdicts={"status_code": PASSED}), required={PHI_JSON.key}, stopped=stopped,
                 states={PII_JSON.key: LaneState.SERVED, PHI_JSON.key: LaneState.NOT_PROBED},
                 promised={PII_JSON.key: {LETTERS, TOO_LONG}})
    decision = decide(run)
    assert decision.verdict is Verdict.INCOMPLETE and (decision.exit_status(), decision.exit_status(True)) == (4, 0)
    assert decision.reasons == ["stopped by --max-time 60: the run's time was up after 61.0s; the rest was not sent",
                                "StopPiiEntitiesDetectionJob over awsJson1_1: not judged: invalid.length.too_long",
                                PHI_NOT_PROBED]


def test_a_stop_alone_makes_a_run_incomplete() -> None:
    decision = decide(run_of(stopped=Stopped(StopReason.MAX_TIME, 1, 1.0)))
    assert (decision.verdict, decision.breaches) == (Verdict.INCOMPLETE, [])
    assert decision.reasons == ["stopped by --max-time 1: the run's time was up after 1.0s; the rest was not sent"]


def test_an_incomplete_run_with_a_baseline_ends_with_the_baseline_line() -> None:
    run = run_of(result(verdicts={"status_code": WRONG}), lanes=[PII_JSON],
                 promised={PII_JSON.key: {LETTERS, TOO_LONG}})
    decision = decide(run, baseline(entry("status_code")))
    assert decision.verdict is Verdict.INCOMPLETE
    assert decision.reasons == ["StopPiiEntitiesDetectionJob over awsJson1_1: not judged: invalid.length.too_long",
                                "1 accepted failure(s) of the baseline"]


# --- breaches ---

@pytest.mark.parametrize(("kind", "what"), [
    (BreachKind.NOT_SERVED, "not served, and it must be"),
    (BreachKind.NOT_PROBED, "must be served, and was not probed (the budget was spent)"),
    (BreachKind.NOT_JUDGED, "not judged: valid.letters, invalid.char.control"),
    (BreachKind.JOB_LEFT_RUNNING, "JOB LEFT RUNNING: stop it by hand"),
])
def test_each_breach_is_described_with_its_lane_and_detail_when_it_has_them(kind: BreachKind, what: str) -> None:
    categories = (LETTERS, "invalid.char.control")
    assert Breach(kind, categories=categories).describe() == what
    assert Breach(kind, PHI_JSON.key, categories).describe() == f"StopPHIDetectionJob over awsJson1_1: {what}"
    assert Breach(kind, categories=categories, detail="why").describe() == f"{what} (why)"
    assert Breach(kind, PII_CBOR.key, categories, "why").describe() == \
        f"StopPiiEntitiesDetectionJob over rpcv2Cbor: {what} (why)"


def test_the_breach_kinds_say_what_they_are_and_two_of_them_fail_a_run() -> None:
    assert {kind: kind.value for kind in BreachKind} == {
        BreachKind.NOT_SERVED: "a lane that must be served is not",
        BreachKind.NOT_PROBED: "a lane that must be served was not probed",
        BreachKind.NOT_JUDGED: "promised case categories were not judged",
        BreachKind.JOB_LEFT_RUNNING: "a job the run started could not be stopped"}
    assert FAILING_BREACHES == {BreachKind.NOT_SERVED, BreachKind.JOB_LEFT_RUNNING}


def test_a_breach_is_a_value() -> None:
    breach = Breach(BreachKind.NOT_JUDGED, PII_JSON.key, (LETTERS,))
    assert breach == Breach(BreachKind.NOT_JUDGED, PII_JSON.key, (LETTERS,)) and len({breach, breach}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        breach.detail = "changed"  # type: ignore[misc]


def _not_served(*results: CaseResult) -> Breach:
    run = run_of(*results, lanes=[PII_JSON], required={PII_JSON.key}, states={PII_JSON.key: LaneState.NOT_SERVED})
    [breach] = decide(run).breaches
    assert breach.kind is BreachKind.NOT_SERVED and breach.lane == PII_JSON.key
    return breach


def test_a_lane_not_served_quotes_its_probe_answer_and_keeps_the_probe() -> None:
    probe = result(PROBE_NAME, {"status_code": WRONG}, answered=answer(404, "UnknownOperationException"))
    assert PROBE_NAME == PROBE.name and PROBE_NAME is not PROBE.name
    breach = _not_served(probe)
    assert breach.detail == "the probe was answered 404 UnknownOperationException" and breach.probe is probe
    assert breach.describe() == ("StopPiiEntitiesDetectionJob over awsJson1_1: not served, and it must be "
                                 "(the probe was answered 404 UnknownOperationException)")


def test_a_probe_answered_without_an_error_type_is_quoted_by_its_status() -> None:
    assert _not_served(result(PROBE_NAME, answered=answer(500))).detail == "the probe was answered 500"


def test_a_probe_without_an_answer_or_no_probe_at_all_leaves_no_detail() -> None:
    silent = result(PROBE_NAME, {"answered": SILENT}, answered=None)
    breach = _not_served(silent)
    assert (breach.detail, breach.probe) == ("", silent)
    assert breach.describe() == "StopPiiEntitiesDetectionJob over awsJson1_1: not served, and it must be"
    breach = _not_served()
    assert (breach.detail, breach.probe) == ("", None)


def test_only_the_probe_of_the_lane_is_quoted_not_the_cases_after_it() -> None:
    # Categories sorting before and after the probe's, sent after it: none of them is the probe.
    probe = result(PROBE_NAME, answered=answer(404, "UnknownOperationException"))
    after = [result(TOO_LONG, answered=answer(400, "Before")), result(SEPARATORS, answered=answer(400, "After"))]
    assert TOO_LONG < PROBE.name < SEPARATORS
    assert _not_served(probe, *after).detail == "the probe was answered 404 UnknownOperationException"
    other_lane = result(PROBE_NAME, answered=answer(400, "OtherLane"), lane=PHI_JSON)
    assert _not_served(other_lane).detail == ""


def test_the_probe_answer_is_clipped_to_80_characters() -> None:
    said = "the probe was answered 404 "
    fits, too_long = "E" * (80 - len(said)), "E" * (81 - len(said))
    assert _not_served(result(PROBE_NAME, answered=answer(404, fits))).detail == said + fits
    detail = _not_served(result(PROBE_NAME, answered=answer(404, too_long))).detail
    assert detail == clipped(said + too_long, 80) and detail.startswith(said) and "(81 characters" in detail


def test_lanes_breach_only_where_they_must_be_served() -> None:
    keys = [lane.key for lane in LANES]
    for state in LaneState:
        if state is LaneState.SERVED:
            continue
        states = dict.fromkeys(keys, state)
        assert decide(run_of(states=states)).breaches == [], state  # none required
        required = decide(run_of(states=states, required=set(keys))).breaches
        expected = {LaneState.NOT_SERVED: BreachKind.NOT_SERVED, LaneState.NOT_PROBED: BreachKind.NOT_PROBED}
        assert [(b.kind, b.lane) for b in required] == ([(expected[state], key) for key in keys]
                                                        if state in expected else []), state
    assert decide(run_of(required=set(keys))).breaches == []  # served


def test_not_probed_is_incomplete_not_a_failure() -> None:
    run = run_of(lanes=[PHI_JSON], required={PHI_JSON.key}, states={PHI_JSON.key: LaneState.NOT_PROBED})
    decision = decide(run)
    assert decision.verdict is Verdict.INCOMPLETE
    assert decision.reasons == [PHI_NOT_PROBED]


def test_not_judged_is_the_promised_less_the_chosen_skips_less_the_judged_sorted() -> None:
    # Promised: skipped only (auth.unsigned), judged only (too_long), both (letters), neither (control, separators).
    judged = [result(category, {"status_code": PASSED}) for category in (TOO_LONG, LETTERS)]
    run = run_of(*judged, lanes=[PII_JSON],
                 promised={PII_JSON.key: {LETTERS, TOO_LONG, CONTROL, UNSIGNED, SEPARATORS}},
                 skips=[Skip(SkipReason.NO_CREDENTIALS, PII_JSON.key, (UNSIGNED, LETTERS))])
    [breach] = decide(run).breaches
    assert (breach.kind, breach.lane, breach.categories) == (BreachKind.NOT_JUDGED, PII_JSON.key, (CONTROL, SEPARATORS))


def test_a_chosen_skip_of_one_lane_excuses_that_lane_only_and_a_whole_run_skip_every_lane() -> None:
    promised = {lane.key: {LETTERS, TOO_LONG} for lane in LANES}
    one_lane = decide(run_of(promised=promised, skips=[Skip(SkipReason.JOBS_DISABLED, PII_CBOR.key, (LETTERS,))]))
    assert [(b.lane, b.categories) for b in one_lane.breaches] == [
        (PII_JSON.key, (TOO_LONG, LETTERS)), (PII_CBOR.key, (TOO_LONG,)), (PHI_JSON.key, (TOO_LONG, LETTERS))]
    whole_run = decide(run_of(promised=promised, skips=[Skip(SkipReason.AUTH_NOT_ENFORCED, None, (TOO_LONG,))]))
    assert [(b.lane, b.categories) for b in whole_run.breaches] == [(lane.key, (LETTERS,)) for lane in LANES]


@pytest.mark.parametrize("reason", sorted(set(SkipReason) - CHOSEN_SKIPS, key=lambda reason: reason.name))
def test_a_skip_the_user_did_not_choose_excuses_nothing(reason: SkipReason) -> None:
    promised = {PII_JSON.key: {LETTERS}}
    for lane in (PII_JSON.key, None):
        decision = decide(run_of(lanes=[PII_JSON], promised=promised, skips=[Skip(reason, lane, (LETTERS,))]))
        assert [(b.kind, b.categories) for b in decision.breaches] == [(BreachKind.NOT_JUDGED, (LETTERS,))]


def test_every_chosen_skip_excuses_its_categories() -> None:
    for reason in CHOSEN_SKIPS:
        run = run_of(lanes=[PII_JSON], promised={PII_JSON.key: {LETTERS}}, skips=[Skip(reason, None, (LETTERS,))])
        assert decide(run).breaches == [], reason


def test_lanes_not_served_are_not_judged_for_coverage_and_do_not_hide_the_lanes_after_them() -> None:
    promised = {lane.key: {LETTERS} for lane in LANES}
    states = {PII_JSON.key: LaneState.NOT_SERVED, PII_CBOR.key: LaneState.UNANSWERED, PHI_JSON.key: LaneState.SERVED}
    assert [(b.kind, b.lane) for b in decide(run_of(promised=promised, states=states)).breaches] == \
        [(BreachKind.NOT_JUDGED, PHI_JSON.key)]
    # A lane the probe never reached has no state at all: it is not served either.
    assert [b.lane for b in decide(run_of(promised=promised, states={PHI_JSON.key: LaneState.SERVED})).breaches] == \
        [PHI_JSON.key]


def test_a_job_left_running_names_its_service_and_its_id_clipped_to_64() -> None:
    fits, too_long = "j" * 64, "k" * 65
    decision = decide(run_of(jobs_left_running=[("comprehend", fits), ("comprehendmedical", too_long)]))
    assert [(b.kind, b.lane, b.detail) for b in decision.breaches] == [
        (BreachKind.JOB_LEFT_RUNNING, None, f"comprehend job {fits}"),
        (BreachKind.JOB_LEFT_RUNNING, None, f"comprehendmedical job {clipped(too_long, 64)}")]
    assert "(65 characters" in decision.breaches[1].detail


# --- what was judged, failures and warnings ---

def test_judged_holds_each_lanes_categories_of_cases_with_verdicts() -> None:
    # A flow's Start case tests its Stop's lane: it counts for that lane, not the one it went over.
    start = result(LETTERS, {"status_code": PASSED}, lane=PHI_JSON, case_lane=PII_CBOR.key)
    results = [result(LETTERS, {"status_code": PASSED}), result(TOO_LONG, {"answered": SILENT}, answered=None), start,
               result(SEPARATORS, answered=None, not_judged=SkipReason.THROTTLED)]
    assert decide(run_of(*results)).judged == {PII_JSON.key: {LETTERS, TOO_LONG}, PII_CBOR.key: {LETTERS}}


def test_failures_are_split_by_severity_into_failures_and_warnings() -> None:
    first = result(verdicts={"status_code": WRONG, "spec_should": WRONG, "content_type": PASSED})
    second = result(verdicts={"sdk_compatible": WRONG, "operation_served": WRONG, "error_type": NOT_APPLICABLE})
    decision = decide(run_of(first, second))
    assert decision.failures == [(first, "status_code", WRONG), (second, "operation_served", WRONG)]
    assert decision.warnings == [(first, "spec_should", WRONG), (second, "sdk_compatible", WRONG)]
    assert decision.reasons == ["2 check failure(s): operation_served, status_code"]


def test_warnings_alone_conform() -> None:
    decision = decide(run_of(result(verdicts={"spec_should": WRONG, "sdk_compatible": WRONG})))
    assert (decision.verdict, decision.reasons, len(decision.warnings)) == (Verdict.CONFORMS, [], 2)


# --- tested, failure entries, the baseline's acceptance ---

def test_tested_keys_are_the_checks_that_applied_to_a_judged_case() -> None:
    judged = result(TOO_LONG, {"status_code": PASSED, "error_type": WRONG, "spec_should": NOT_APPLICABLE},
                    lane=PII_CBOR)
    assert case_tested_keys(judged) == {("StopPiiEntitiesDetectionJob", "rpcv2Cbor", "status_code", TOO_LONG),
                                   ("StopPiiEntitiesDetectionJob", "rpcv2Cbor", "error_type", TOO_LONG)}
    throttled = result(verdicts={"status_code": PASSED}, not_judged=SkipReason.THROTTLED)
    unsent = result(answered=None, not_judged=SkipReason.BUDGET_SPENT)
    assert case_tested_keys(throttled) == case_tested_keys(unsent) == case_tested_keys(result()) == set()
    other = result(verdicts={"answered": SILENT}, answered=None, lane=PHI_JSON)
    assert run_tested_keys(run_of(judged, throttled, unsent, other)) == case_tested_keys(judged) | {
        ("StopPHIDetectionJob", "awsJson1_1", "answered", LETTERS)}


def test_a_failure_entry_names_the_cause_without_anything_of_the_seed() -> None:
    answered = result(TOO_LONG, lane=PII_CBOR, answered=answer(400, "ValidationException"))
    assert failure_entry(answered, "error_type") == Entry("StopPiiEntitiesDetectionJob", "rpcv2Cbor", "error_type",
                                                          TOO_LONG, "400 ValidationException")
    silent = result(answered=None, lane=PHI_JSON)
    assert failure_entry(silent, "answered") == Entry("StopPHIDetectionJob", "awsJson1_1", "answered", LETTERS,
                                                      "no answer")


def test_the_decision_accepts_only_failures_the_baseline_holds() -> None:
    matched = result(verdicts={"status_code": WRONG, "error_type": WRONG})
    other_cause = result(verdicts={"status_code": WRONG}, answered=answer(500))
    run = run_of(matched, other_cause)
    decision = decide(run, baseline(entry("status_code")))
    assert decision.accepts(matched, "status_code") and not decision.accepts(matched, "error_type")
    assert not decision.accepts(other_cause, "status_code")
    assert decision.new_failures == [(matched, "error_type", WRONG), (other_cause, "status_code", WRONG)]
    without = decide(run)
    assert not without.accepts(matched, "status_code") and without.new_failures == without.failures
    assert len(without.failures) == 3


# --- properties over many runs ---

ANSWERS = [None, NOT_FOUND, answer(404), answer(500, "InternalServerException")]
CHECKS = ["answered", "status_code", "error_type", "operation_served", "spec_should", "sdk_compatible"]
WARNING_CHECKS = {"spec_should", "sdk_compatible"}
VERDICTS = [PASSED, NOT_APPLICABLE, WRONG, SILENT]


@st.composite
def case_results(draw: st.DrawFn) -> CaseResult:
    return result(draw(st.sampled_from([PROBE_NAME, LETTERS, TOO_LONG, SEPARATORS])),
                  draw(st.dictionaries(st.sampled_from(CHECKS), st.sampled_from(VERDICTS), max_size=3)),
                  lane=draw(st.sampled_from(LANES)), answered=draw(st.sampled_from(ANSWERS)),
                  not_judged=draw(st.sampled_from([None, None, SkipReason.THROTTLED])))


@st.composite
def runs(draw: st.DrawFn, interrupted: bool = False) -> RunResult:
    keys = [lane.key for lane in LANES]
    return run_of(*draw(st.lists(case_results(), max_size=6)),
                  required=set(draw(st.lists(st.sampled_from(keys), max_size=3))),
                  states={key: draw(st.sampled_from(list(LaneState))) for key in keys},
                  promised={key: set(draw(st.lists(st.sampled_from([LETTERS, TOO_LONG]), max_size=2))) for key in keys},
                  jobs_left_running=draw(st.lists(st.just(("comprehend", "j-1")), max_size=1)),
                  stopped=draw(st.sampled_from([None, Stopped(StopReason.MAX_TIME, 1, 1.5)])),
                  interrupted=interrupted)


@settings(max_examples=30, deadline=None)
@given(runs(interrupted=True), st.booleans())
def test_an_interrupted_run_is_interrupted_whatever_else(run: RunResult, accept_incomplete: bool) -> None:
    decision = decide(run)
    assert decision.verdict is Verdict.INTERRUPTED and decision.exit_status(accept_incomplete) == 130
    assert decision.reasons[0].startswith(f"interrupted (Ctrl-C) after {len(run.results)} case(s)")


@settings(max_examples=30, deadline=None)
@given(runs(), case_results())
def test_a_run_with_an_answered_error_failure_does_not_conform(run: RunResult, failing: CaseResult) -> None:
    failing.answer, failing.verdicts["status_code"] = NOT_FOUND, WRONG
    run.results.append(failing)
    decision = decide(run)
    assert decision.verdict is Verdict.DOES_NOT_CONFORM and decision.exit_status(accept_incomplete=True) == 1
    errors = [(r, check) for r in run.results for check, v in r.failures().items() if check not in WARNING_CHECKS]
    assert [(r, check) for r, check, _ in decision.failures] == errors
    assert f"{len(errors)} check failure(s): " in decision.reasons[-2 if run.stopped else -1]


@settings(max_examples=30, deadline=None)
@given(runs())
def test_warnings_never_change_a_verdict_and_every_failure_is_counted_once(run: RunResult) -> None:
    decision = decide(run)
    failed = [(r, check) for r in run.results for check in r.failures()]
    assert sorted(map(id, (r for r, _, _ in decision.failures + decision.warnings))) == sorted(id(r) for r, _ in failed)
    assert all(check in WARNING_CHECKS for _, check, _ in decision.warnings)
    assert not any(check in WARNING_CHECKS for _, check, _ in decision.failures)
    for answered in (r for r in run.results if r.verdicts and r.answer is not None):
        answered.verdicts["spec_should"] = Failed("a warning")
    warned = decide(run)
    assert (warned.verdict, warned.reasons) == (decision.verdict, decision.reasons)
    assert run_tested_keys(run) == {key for r in run.results for key in case_tested_keys(r)}
