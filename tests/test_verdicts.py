"""The suite's score: every fault caught by a check of its own, no false alarm on any legal variation."""

from __future__ import annotations

import pytest

from conformance.cli import main
from conformance.lifecycle import LifecycleConfig
from conformance.reference import ReferenceServer, Timings
from conformance.reference.variants import FAMILIES, VARIANTS, build_app
from conformance.report import Summary, summarise
from conformance.runner import RunConfig, run
from conformance.target import Target

# Jobs start and stop quickly so that the lifecycle steps take fractions of a second.
FAST_JOBS = Timings(queued=0.05, running=600.0, stopping=0.2)
LIFECYCLE = LifecycleConfig(settle_timeout=2.0, poll_interval=0.05)
FAULTS = sorted(name for name, v in VARIANTS.items() if not v.legal)
LEGAL = sorted(name for name, v in VARIANTS.items() if v.legal)


def run_against(name: str, max_examples: int = 100) -> Summary:
    variant = VARIANTS[name]
    with ReferenceServer(app=build_app(name, timings=FAST_JOBS), http_options=variant.http) as server:
        return summarise(run(RunConfig(Target(server.url), max_examples=max_examples, seed=20261123,
                                       lifecycle=LIFECYCLE)))


def test_the_catalog_is_big_enough() -> None:
    assert len(FAULTS) >= 30 and len(LEGAL) >= 12
    assert {VARIANTS[name].family for name in FAULTS} == set(FAMILIES) - {"legal"}
    assert all(VARIANTS[name].caught_by for name in FAULTS)


@pytest.mark.parametrize("name", FAULTS)
def test_each_fault_fails_a_check_of_its_own(name: str) -> None:
    summary = run_against(name)
    failed = {record["check"] for record in summary.failures + summary.warnings}
    assert failed & VARIANTS[name].caught_by, f"{name}: failed {sorted(failed)}, expected one of {sorted(VARIANTS[name].caught_by)}"


@pytest.mark.parametrize("name", LEGAL)
def test_each_legal_variation_passes(name: str) -> None:
    summary = run_against(name)
    problems = [f"{r['check']} on {r['case']['category']}: {r['message']}" for r in summary.failures + summary.warnings]
    assert not problems, problems[:5]
    assert not summary.not_judged


@pytest.mark.parametrize(("name", "code"), [("max_length_33", 1), ("html_error_pages", 1), ("stop_ended_job_succeeds", 1),
                                            ("namespaced_error_type", 0), ("chunked_answers", 0), ("quick_jobs", 0)])
def test_cli_exit_status_gives_the_verdict(name: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    variant = VARIANTS[name]
    with ReferenceServer(app=build_app(name, timings=FAST_JOBS), http_options=variant.http) as server:
        assert main(["run", "--endpoint-url", server.url, "--seed", "1", "--settle-timeout", "2"]) == code
    assert ("CONFORMS" if code == 0 else "DOES NOT CONFORM") in capsys.readouterr().out


def test_docs_verdicts_names_every_variant() -> None:
    from conftest import REPO

    text = (REPO / "docs" / "verdicts.md").read_text(encoding="utf-8")
    missing = [name for name in VARIANTS if f"`{name}`" not in text]
    assert not missing, f"docs/verdicts.md does not list {missing}"
