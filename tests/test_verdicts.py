"""The suite's score: every fault caught by a check of its own, no false alarm on any legal variation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.engine.config import LifecycleConfig, RunConfig
from conformance.engine.runner import run
from conformance.engine.verdict import Verdict
from conformance.reference import ReferenceServer, Timings
from conformance.reference.variants import FAMILIES, VARIANTS, Family, Variant, build_app, register
from conformance.report import Summary, summarise
from conformance.targets.target import Target

# Jobs start and stop quickly so that the lifecycle steps take fractions of a second.
FAST_JOBS = Timings(queued=0.05, running=600.0, stopping=0.2)
LIFECYCLE = LifecycleConfig(settle_timeout=2.0, poll_interval=0.05)
FAULTS = sorted(name for name, v in VARIANTS.items() if v.fault)
WARNED = sorted(name for name, v in VARIANTS.items() if v.warned)
LEGAL = sorted(name for name, v in VARIANTS.items() if v.legal)


LEGAL_SEEDS = range(20)


def run_against(name: str, max_examples: int = 100, seed: int = 20261123, **options: object) -> Summary:
    variant = VARIANTS[name]
    with ReferenceServer(app=build_app(name, timings=FAST_JOBS), http_options=variant.http) as server:
        return summarise(run(RunConfig(Target(server.url), max_examples=max_examples, seed=seed,
                                       lifecycle=LIFECYCLE, read_timeout=5.0, **options)))


def test_the_catalog_is_big_enough() -> None:
    assert len(FAULTS) >= 30 and len(LEGAL) >= 12
    assert {VARIANTS[name].family for name in FAULTS} == set(FAMILIES) - {"legal", "warned"}
    assert all(VARIANTS[name].caught_by for name in FAULTS + WARNED)


@pytest.mark.parametrize(("family", "caught_by", "problem"), [
    (Family.VALIDATION, {"status_code", "no_such_check"}, "caught_by names no check: no_such_check"),
    (Family.VALIDATION, set(), "any other by some"),
    (Family.LEGAL, {"status_code"}, "a legal variation is caught by no check"),
])
def test_a_variant_is_refused_at_registration_unless_its_checks_are_registered(family: Family, caught_by: set[str],
                                                                             problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        register(Variant("an_unregistered_variant", family, "a change", frozenset(caught_by)))
    assert "an_unregistered_variant" not in VARIANTS
    with pytest.raises(ValueError, match="registered twice"):
        register(Variant(FAULTS[0], Family.VALIDATION, "again", frozenset({"status_code"})))


def test_every_variant_names_checks_the_registry_has_and_a_store_only_where_it_changes_one() -> None:
    from conformance.judging.checks import CHECK_IDS
    from conformance.reference.job_store import JobStore

    assert all(variant.caught_by <= CHECK_IDS for variant in VARIANTS.values())
    stores = {name: variant.store for name, variant in VARIANTS.items() if variant.store is not JobStore}
    assert sorted(stores) == ["ended_jobs_found_by_any_kind", "job_lookup_ascii_folding", "job_lookup_ignores_case",
                              "job_lookup_kind_blind", "job_lookup_nfkc", "job_lookup_prefix",
                              "restop_reverts_to_stop_requested", "start_forgets_stopped_jobs",
                              "start_job_id_too_long", "stop_ended_job_succeeds", "stop_stops_whole_kind"]
    assert all(issubclass(store, JobStore) and type(build_app(name).jobs) is store for name, store in stores.items())


@pytest.mark.parametrize("name", FAULTS)
def test_each_fault_is_caught_in_every_seed(name: str) -> None:
    # With no generated case, what is sent does not depend on the seed: the probe, the authentication
    # cases, the job flow and the example catalog. Every run of any seed sends all of them (no budget),
    # so a fault this run catches, every seed catches.
    summary = run_against(name, max_examples=0)
    failed = {record.check for record in summary.failures + summary.warnings}
    assert failed & VARIANTS[name].caught_by, f"{name}: failed {sorted(failed)}, expected one of {sorted(VARIANTS[name].caught_by)}"
    assert summary.verdict is Verdict.DOES_NOT_CONFORM


@pytest.mark.parametrize("name", WARNED)
def test_each_warned_variation_conforms_and_is_warned_about(name: str) -> None:
    summary = run_against(name, max_examples=0)
    assert summary.verdict is Verdict.CONFORMS, summary.decision.reasons
    warned = {record.check for record in summary.warnings}
    assert warned & VARIANTS[name].caught_by, f"{name}: warned {sorted(warned)}"


@pytest.mark.parametrize("name", LEGAL)
def test_each_legal_variation_passes_over_20_seeds(name: str, tmp_path: Path) -> None:
    # The first run sends everything; the other seeds change only the generated cases, so they send
    # those alone (no catalog, no job flow, no authentication cases) and more of them.
    generated_only = tmp_path / "no-examples.json"
    generated_only.write_text('{"examples": []}')
    for seed in LEGAL_SEEDS:
        options = {} if seed == LEGAL_SEEDS[0] else {"catalog": generated_only, "create_jobs": False,
                                                     "auth_checks": False}
        summary = run_against(name, max_examples=10 if not options else 25, seed=seed, **options)
        problems = [f"{r.check} on {r.category}: {r.message}" for r in summary.failures + summary.warnings]
        assert not problems, (seed, problems[:5])
        assert summary.verdict is Verdict.CONFORMS, (seed, summary.decision.reasons)
        assert not summary.not_judged


# The broken targets of issue 10, each with the one line its report must open its verdict with.
BROKEN_TARGETS = [
    ("everything_404", [], "StopPiiEntitiesDetectionJob over awsJson1_1: not served, and it must be"),
    ("not_found_404_max_length_33", [], "check failure(s): error_type, status_code"),
    ("not_found_404_max_length_33", ["--protocol", "awsJson1_1"], "check failure(s): status_code"),
    ("drops_connection_on_lone_surrogate", [], "check failure(s): answered"),
    ("cbor_shared_references", [], "check failure(s): body_decodes"),
    ("unsigned_answered_by_another_service", [], "content_type"),
    ("job_lookup_ignores_case", [], "check failure(s):"),
    ("job_lookup_trims", [], "check failure(s):"),
    ("job_lookup_prefix", [], "check failure(s):"),
]


@pytest.mark.parametrize(("name", "flags", "reason"), BROKEN_TARGETS,
                         ids=[f"{name}{'-' + '-'.join(flags) if flags else ''}" for name, flags, _ in BROKEN_TARGETS])
def test_each_broken_target_exits_1_with_its_reason_in_one_line(name: str, flags: list[str], reason: str,
                                                                 tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    variant = VARIANTS[name]
    with ReferenceServer(app=build_app(name, timings=FAST_JOBS), http_options=variant.http) as server:
        code = main(["run", "--endpoint-url", server.url, "--seed", "1", "--max-examples", "10", "--settle-timeout",
                     "2", "--read-timeout", "5", "--report-json", str(report), *flags])
    captured = capsys.readouterr()
    verdict = captured.out.strip().splitlines()[-1]
    assert code == 1 and verdict.startswith("DOES NOT CONFORM: ") and reason in verdict, verdict
    assert "Traceback" not in captured.err
    assert json.loads(report.read_text())["verdict"] == "does_not_conform"


@pytest.mark.parametrize(("name", "code"), [("max_length_33", 1), ("html_error_pages", 1), ("stop_ended_job_succeeds", 1),
                                            ("namespaced_error_type", 0), ("chunked_answers", 0), ("quick_jobs", 0),
                                            ("not_found_404", 0)])
def test_cli_exit_status_gives_the_verdict(name: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    variant = VARIANTS[name]
    with ReferenceServer(app=build_app(name, timings=FAST_JOBS), http_options=variant.http) as server:
        assert main(["run", "--endpoint-url", server.url, "--seed", "1", "--settle-timeout", "2"]) == code
    assert ("CONFORMS" if code == 0 else "DOES NOT CONFORM") in capsys.readouterr().out


def test_not_found_404_is_fully_tested_not_skipped() -> None:
    summary = run_against("not_found_404", max_examples=10)
    assert summary.verdict is Verdict.CONFORMS
    assert all(lane.state == "served" and lane.judged and not lane.not_judged for lane in summary.contract)
    observed = summary.observations["StopPiiEntitiesDetectionJob over awsJson1_1"]["not-found status"]
    assert set(observed) == {"JobNotFoundException 404"}


def test_docs_verdicts_names_every_variant() -> None:
    from conftest import REPO

    text = (REPO / "docs" / "verdicts.md").read_text(encoding="utf-8")
    missing = [name for name in VARIANTS if f"`{name}`" not in text]
    assert not missing, f"docs/verdicts.md does not list {missing}"
