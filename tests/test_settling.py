"""How long a run waits for a stopped job: 5 s on a local target, 60 s elsewhere, and a wait in vain bounds the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.cli.parser import build_parser
from conformance.engine.config import AWS_SETTLE_TIMEOUT, LOCAL_SETTLE_TIMEOUT, RunConfig, lifecycle_for
from conformance.engine.phases import RunContext
from conformance.engine.plan import RunPlan
from conformance.engine.results import LEARNED_WAIT, SettleWatch
from conformance.reference import EMBEDDED_TIMINGS, ReferenceServer, Timings
from conformance.reference.variants import VARIANTS, build_app
from conformance.targets.target import Target

PII = "comprehend/PiiEntitiesDetectionJob"
AWS_URL = "https://comprehend.us-east-1.amazonaws.com"


@pytest.mark.parametrize("url", [AWS_URL, "http://10.0.0.5:4566", "http://localstack:4566",
                                 "https://comprehend.example.com"])
def test_a_target_off_loopback_keeps_the_aws_default_of_60_s(url: str) -> None:
    lifecycle = lifecycle_for(Target(url))
    assert (lifecycle.settle_timeout, lifecycle.source) == (60.0, "the default") == (AWS_SETTLE_TIMEOUT, "the default")
    assert not Target(url).is_local


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://localhost:8000", "http://[::1]:8000",
                                 "http://127.8.9.10:1"])
def test_a_loopback_target_defaults_to_a_few_seconds_and_an_explicit_value_always_wins(url: str) -> None:
    assert Target(url).is_local
    assert lifecycle_for(Target(url)).settle_timeout == LOCAL_SETTLE_TIMEOUT == 5.0
    assert lifecycle_for(Target(url), 60.0).settle_timeout == 60.0  # --settle-timeout 60 against moto
    assert lifecycle_for(Target(url), 0.0).settle_timeout == 0.0
    assert lifecycle_for(Target(AWS_URL), 2.0).settle_timeout == 2.0
    # 5 s is well above what the local targets we ship take to settle a stop (the slowest: `conformance serve`, 2 s).
    assert EMBEDDED_TIMINGS.stopping * 10 < LOCAL_SETTLE_TIMEOUT and Timings().stopping * 2 < LOCAL_SETTLE_TIMEOUT


def test_the_command_line_leaves_the_default_to_the_target_and_a_mixed_target_is_not_local() -> None:
    args = build_parser().parse_args(["run", "--target", "aws"])
    assert args.settle_timeout is None  # resolved against the target, not fixed at 60 by the parser
    assert build_parser().parse_args(["run", "--settle-timeout", "7"]).settle_timeout == 7.0
    mixed = Target("http://127.0.0.1:5000", service_urls=(("comprehendmedical", AWS_URL),))
    assert not mixed.is_local and lifecycle_for(mixed).settle_timeout == 60.0


def test_only_a_local_run_learns_from_a_wait_in_vain() -> None:
    for url, learns in (("http://127.0.0.1:1", True), (AWS_URL, False)):
        ctx = RunContext(RunConfig(Target(url)), RunPlan.__new__(RunPlan), None)
        assert ctx.settling.learns is learns


def test_a_flow_wait_in_vain_bounds_later_waits_of_its_kind_and_a_machine_wait_bounds_only_the_machine() -> None:
    watch = SettleWatch(learns=True)
    assert watch.bound(PII, 5.0, by_flow=True) == 5.0
    watch.saw(PII, 3.0, 5.0, 5.0, settled=False, timed_out=False, by_flow=True)  # cancelled, say: teaches nothing
    assert watch.bound(PII, 5.0, by_flow=True) == 5.0
    watch.saw(PII, 5.1, 5.0, 5.0, settled=False, timed_out=True, by_flow=False)  # the state machine's wait
    assert watch.bound(PII, 5.0, by_flow=False) == LEARNED_WAIT
    # A flow's wait is judged by how long it lasted: only a flow's own failure in vain bounds it.
    assert watch.bound(PII, 5.0, by_flow=True) == 5.0
    watch.saw(PII, 5.1, 5.0, 5.0, settled=False, timed_out=True, by_flow=True)
    assert watch.bound(PII, 5.0, by_flow=True) == LEARNED_WAIT
    assert watch.bound("comprehendmedical/PHIDetectionJob", 5.0, by_flow=True) == 5.0  # another kind: not bounded
    assert watch.bounded == 2
    note = watch.note(5.0, "the default for a local target")
    assert note.startswith("settling: a stopped comprehend/PiiEntitiesDetectionJob job stayed STOP_REQUESTED")
    assert "\n" not in note and "2 such wait(s)" in note


def test_a_shorter_wait_than_the_timeout_teaches_nothing_and_nothing_is_learnt_off_loopback() -> None:
    watch = SettleWatch(learns=True)
    watch.saw(PII, 5.0, 5.0, 60.0, settled=False, timed_out=True, by_flow=False)  # the machine's 5 s of a 60 s run
    assert watch.bound(PII, 60.0, by_flow=False) == 60.0
    remote = SettleWatch(learns=False)
    remote.saw(PII, 60.0, 60.0, 60.0, settled=False, timed_out=True, by_flow=True)
    assert remote.bound(PII, 60.0, by_flow=True) == 60.0 and remote.note(60.0, "the default") == ""


def _settled_failures(data: dict) -> list[dict]:
    return [f for f in data["failures"] if f["case"]["category"] == "existing.settled"
            and f["check"] == "job_status_allowed"]


def test_stop_never_settles_is_still_caught_with_the_local_default(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    name = "stop_never_settles"
    with ReferenceServer(app=build_app(name, timings=Timings(queued=0.05, stopping=0.2)),
                         http_options=VARIANTS[name].http) as server:
        code = main(["run", "--endpoint-url", server.url, "--seed", "1", "--max-examples", "5",
                     "--report-json", str(report)])
    out = capsys.readouterr().out
    data = json.loads(report.read_text())
    assert code == 1 and data["verdict"] == "does_not_conform"
    failed = _settled_failures(data)
    assert failed and all("STOP_REQUESTED" in f["message"] for f in failed)
    assert any(note.startswith("settling: ") and "--settle-timeout 5 s, the default for a local target" in note
               for note in data["notes"])
    assert "note: settling: " in out


def test_a_conforming_local_target_settles_within_the_default_and_says_so(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert main(["run", "--seed", "1", "--max-examples", "0", "--report-json", str(report)]) == 0
    data = json.loads(report.read_text())
    settling = [note for note in data["notes"] if note.startswith("settling: ")]
    assert len(settling) == 1 and settling[0].startswith("settling: every stopped job settled, within ")
    assert not _settled_failures(data)


def test_moto_default_run_does_not_wait_the_aws_timeout_and_says_why(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("moto.server", reason="the moto extra is not installed")
    report = tmp_path / "moto.json"
    code = main(["run", "--target", "moto", "--seed", "1", "--report-json", str(report)])
    out = capsys.readouterr().out
    data = json.loads(report.read_text())
    assert code == 1
    # moto's stopped jobs never leave STOP_REQUESTED: the run learns it in one 5 s wait, not 60 s per wait.
    assert data["elapsed_seconds"] < AWS_SETTLE_TIMEOUT / 2, data["elapsed_seconds"]
    settling = [note for note in data["notes"] if note.startswith("settling: ")]
    assert len(settling) == 1 and "stayed STOP_REQUESTED for the whole wait (--settle-timeout 5 s" in settling[0]
    assert " ".join(out.split()).count("note: settling: ") == 1
    # ...and that job is still judged as before: the stopped job that never settled fails job_status_allowed.
    assert _settled_failures(data)
