"""Run limits with Schemathesis 4's names: --max-failures N and --max-time SECONDS stop sending, the clean-up still
stops every started job, the reports say the run was stopped, and the verdict follows the coverage contract.
Over loopback against the reference server and a faulty variant; no mocks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from conformance.cli import main
from conformance.engine.config import RunConfig
from conformance.engine.phases.planned_cases import fails
from conformance.engine.results import StopReason
from conformance.engine.runner import run
from conformance.engine.verdict import Verdict, decide
from conformance.reference import JobStore, ReferenceApp, ReferenceServer, SystemClock, Timings
from conformance.reference.variants import build_app
from conformance.targets.target import Target

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "report.schema.json").read_text(encoding="utf-8"))
FAST_JOBS = Timings(queued=0.05, running=600.0, stopping=0.2)
FAULT = "max_length_33"  # the probes pass; catalog cases with a too-long JobId fail, spread over the run
WORKERS = 4


@pytest.fixture
def store() -> JobStore:
    """The reference server's jobs, to see that every started one was stopped."""
    return JobStore(SystemClock(), FAST_JOBS)


@pytest.fixture
def reference_url(store: JobStore) -> Iterator[str]:
    """The reference server on loopback."""
    with ReferenceServer(app=ReferenceApp(jobs=store)) as server:
        yield server.url


@pytest.fixture
def faulty_url() -> Iterator[str]:
    """A faulty variant on loopback."""
    with ReferenceServer(app=build_app(FAULT, timings=FAST_JOBS)) as server:
        yield server.url


def _report(path: Path) -> dict:
    """The JSON report, validated against the published schema."""
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    return data


def test_max_failures_stops_the_run_after_n_failing_cases(faulty_url: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    code = main(["run", "--endpoint-url", faulty_url, "--seed", "2", "--max-examples", "60", "--workers",
                 str(WORKERS), "--max-failures", "3", "--report-json", str(report)])
    out = capsys.readouterr().out
    data = _report(report)
    assert code == 1 and data["verdict"] == "does_not_conform"
    assert data["stopped"]["reason"] == "max-failures" and data["stopped"]["limit"] == 3
    failing = {(f["operation"], json.dumps(f["case"], sort_keys=True)) for f in data["failures"]}
    assert 3 <= len(failing) <= 3 + WORKERS  # the limit, and at most what was in flight when it was reached
    assert data["jobs"]["left_running"] == [] and "STOPPED: stopped by --max-failures 3" in out
    assert any(skip["reason"] == "cancelled" and "--max-failures 3" in skip["detail"] for skip in data["skips"])


def test_without_the_limit_the_same_run_finds_more(faulty_url: str) -> None:
    """The limit is what stopped it: the same run unlimited fails far more cases."""
    result = run(RunConfig(Target(faulty_url), seed=2, max_examples=60, workers=WORKERS))
    assert result.stopped is None and sum(fails(r) for r in result.results) > 3 + WORKERS


def test_max_time_stops_in_about_a_second_incomplete_with_every_job_stopped(
        reference_url: str, store: JobStore, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    began = time.monotonic()
    code = main(["run", "--endpoint-url", reference_url, "--seed", "4", "--max-examples", "20000", "--max-time", "1",
                 "--report-json", str(report)])
    took = time.monotonic() - began
    data = _report(report)
    assert code == 4 and data["verdict"] == "incomplete" and data["failures"] == []
    assert data["stopped"]["reason"] == "max-time" and 1.0 <= data["stopped"]["after_seconds"] < 1.5
    assert data["elapsed_seconds"] < 3.0 and took < 15.0  # 20000 cases per lane would take minutes
    assert data["summary"]["not_sent"] > 0 and data["verdict_reasons"][0].startswith("stopped by --max-time 1")
    assert "clean-up" in data["phases"] and data["jobs"]["started"] and data["jobs"]["left_running"] == []
    now = store.clock.now()
    assert store.every_job()
    assert all(job.stop_requested_at is not None or job.status(now) in ("STOPPED", "COMPLETED", "FAILED")
               for job in store.every_job())  # the server agrees: no job the run started is left running


def test_a_stopped_run_with_failures_does_not_conform_and_without_is_incomplete(faulty_url: str,
                                                                              reference_url: str) -> None:
    stopped = run(RunConfig(Target(faulty_url), seed=2, max_examples=60, max_failures=1))
    assert stopped.stopped is not None and stopped.stopped.reason is StopReason.MAX_FAILURES
    assert decide(stopped).verdict is Verdict.DOES_NOT_CONFORM
    timed = run(RunConfig(Target(reference_url), seed=2, max_examples=5000, max_time=0.5))
    decision = decide(timed)
    assert timed.stopped is not None and decision.verdict is Verdict.INCOMPLETE and not decision.failures


def test_fail_fast_is_max_failures_1() -> None:
    target = Target("http://127.0.0.1:9")
    assert RunConfig(target, fail_fast=True).failure_limit == 1
    assert RunConfig(target, fail_fast=True, max_failures=5).failure_limit == 1
    assert RunConfig(target, max_failures=5).failure_limit == 5 and RunConfig(target).failure_limit is None


def test_the_config_file_mirrors_the_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.cli.parser import build_parser
    (tmp_path / "conformance.toml").write_text("max-failures = 7\nmax-time = 30.5\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["run"])
    assert (args.max_failures, args.max_time) == (7, 30.5)
    (tmp_path / "conformance.toml").write_text("max-failures = 0\n", encoding="utf-8")
    args = build_parser().parse_args(["run"])
    assert "max-failures" in (getattr(args, "config_error", "") or "")
