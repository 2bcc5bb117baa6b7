"""The suite end to end over loopback: against the reference server, and against small faults of it."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.engine.config import RunConfig
from conformance.engine.runner import run
from conformance.engine.transport.rate import RateLimiter
from conformance.engine.verdict import Verdict
from conformance.reference import JobStore, ReferenceApp, ReferenceServer, SystemClock, Timings
from conformance.reference.answers import Response
from conformance.reference.protocols import AWS_JSON
from conformance.reference.variants import VARIANTS, build_app
from conformance.report import summarise
from conformance.targets.target import Target
from conformance.wire.http import HttpRequest

STOP_OPERATIONS = ("StopPiiEntitiesDetectionJob", "StopPHIDetectionJob")
RPCV2_ONLY = {"smithy_protocol_header", "rpcv2_error_body"}


def test_reference_server_passes_across_20_seeds_with_every_check_exercised(live_reference_server: ReferenceServer) -> None:
    exercised: dict[str, set[str]] = {}
    for seed in range(20):
        summary = summarise(run(RunConfig(Target(live_reference_server.url), max_examples=25, seed=seed)))
        assert summary.conforms, f"seed {seed}: {summary.failures[:3]}"
        assert not summary.warnings and not summary.not_judged
        for label, cells in summary.matrix.items():
            if not label.startswith(STOP_OPERATIONS):
                continue
            exercised.setdefault(label, set())
            exercised[label] |= {check for check, cell in cells.items() if cell.state in ("passed", "n/a")}
            skipped = {c for c, cell in cells.items() if cell.state == "skipped"}
            # Smithy-Protocol and the rpcv2 error body are rpcv2Cbor's: over awsJson no answer is one they apply to.
            assert skipped <= (RPCV2_ONLY if "awsJson1_1" in label else set()), (seed, label, skipped)
    assert len(exercised) == 4  # both operations over both protocols
    for label, checks in exercised.items():
        expected = set(summary.matrix[label]) - (RPCV2_ONLY if "awsJson1_1" in label else set())
        assert checks == expected, label


def test_the_same_seed_repeats_a_run(live_reference_server: ReferenceServer) -> None:
    def sent(seed: int) -> list[tuple[str, bytes, int]]:
        result = run(RunConfig(Target(live_reference_server.url), max_examples=40, seed=seed, create_jobs=False))
        return [(r.case.category, r.request.body, r.answer.status) for r in result.results]

    assert sent(11) == sent(11)
    assert sent(11) != sent(12)


FAST_JOBS = Timings(queued=0.05, running=600, stopping=0.2)


class FaultyApp(ReferenceApp):
    """The reference server with a behaviour the variant catalog does not hold: throttling, or the
    error type only in the header (legal, but botocore cannot read it)."""

    def __init__(self, fault: str, **kwargs) -> None:
        super().__init__(jobs=JobStore(SystemClock(), FAST_JOBS), **kwargs)
        self.fault = fault
        self.seen: set[tuple[str | None, bytes]] = set()
        self.lock = threading.Lock()

    def handle(self, request: HttpRequest) -> Response:
        first_time = False
        if self.fault == "throttle_first":  # each distinct request is throttled once, then served
            key = (request.header("X-Amz-Target"), request.body)
            with self.lock:
                first_time = key not in self.seen
                self.seen.add(key)
        if self.fault == "throttle_always" or first_time:
            return Response(400, AWS_JSON.encode({"__type": "ThrottlingException", "Message": "Rate exceeded"}),
                            {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "t"})
        response = super().handle(request)
        document = json.loads(response.body) if response.body else {}
        if self.fault == "type_in_header_only" and response.status >= 400:
            response.headers["X-Amzn-ErrorType"] = document.pop("__type")
        response.body = AWS_JSON.encode(document)
        return response


@pytest.fixture
def faulty_server(request: pytest.FixtureRequest):
    name = request.param
    app = build_app(name, timings=FAST_JOBS) if name in VARIANTS else FaultyApp(name)
    with ReferenceServer(app=app) as server:
        yield server


@pytest.mark.parametrize("faulty_server", ["malformed_json_500"], indirect=True)
def test_a_fault_exits_1_with_a_report_that_reproduces_it(faulty_server: ReferenceServer, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    code = main(["run", "--endpoint-url", faulty_server.url, "--max-examples", "10", "--seed", "3", "--settle-timeout", "2",
                 "--report-json", str(report), "--junitxml", str(junit)])
    out = capsys.readouterr().out
    assert code == 1
    assert "DOES NOT CONFORM" in out and "FAILED no_server_error" in out
    assert "  expected:  400 SerializationException | ValidationException" in out
    data = json.loads(report.read_text())
    assert data["verdict"] == "does_not_conform"
    failure = next(f for f in data["failures"] if f["check"] == "no_server_error")
    assert failure["actual"]["status"] == 500 and failure["case"]["category"].startswith("invalid.")
    assert {"case", "request", "expected", "actual", "curl"} <= set(failure)
    assert '<failure message="' in junit.read_text()
    if shutil.which("curl"):
        replay = subprocess.run(["bash", "-c", failure["curl"]], capture_output=True, text=True, timeout=30)
        assert replay.stdout.startswith("HTTP/1.1 500"), replay.stdout[:200]


@pytest.mark.parametrize("faulty_server", ["type_in_header_only"], indirect=True)
def test_error_type_only_in_the_header_is_legal_but_warned(faulty_server: ReferenceServer) -> None:
    summary = summarise(run(RunConfig(Target(faulty_server.url), max_examples=10, seed=1, protocol="awsJson1_1")))
    assert summary.conforms
    assert summary.warnings and {w.check for w in summary.warnings} == {"sdk_compatible"}
    assert summary.observations["StopPiiEntitiesDetectionJob over awsJson1_1"]["error type carried in"]["header"] > 0


@pytest.mark.parametrize("faulty_server", ["no_request_id"], indirect=True)
def test_missing_request_id_fails_its_check(faulty_server: ReferenceServer) -> None:
    summary = summarise(run(RunConfig(Target(faulty_server.url), max_examples=5, seed=1)))
    assert {f.check for f in summary.failures} == {"request_id_header"}


@pytest.mark.parametrize("faulty_server", ["throttle_first"], indirect=True)
def test_throttled_answers_are_retried_not_judged(faulty_server: ReferenceServer, monkeypatch) -> None:
    from conformance.engine import execute

    monkeypatch.setattr(execute, "backoff", lambda *args, **kwargs: 0.0)
    monkeypatch.setattr(RateLimiter, "MIN_RATE", 1000.0)  # retries are tested here; adapting the rate, elsewhere
    result = run(RunConfig(Target(faulty_server.url), max_examples=5, seed=1, workers=1,
                           operations=("StopPHIDetectionJob",), protocol="awsJson1_1"))
    summary = summarise(result)
    assert summary.conforms and not summary.not_judged
    assert any(r.attempts > 1 for r in result.results)


@pytest.mark.parametrize("faulty_server", ["throttle_always"], indirect=True)
def test_a_case_throttled_past_its_bound_is_not_judged(faulty_server: ReferenceServer, monkeypatch) -> None:
    from conformance.engine import execute

    monkeypatch.setattr(execute, "MAX_THROTTLE_RETRIES", 1)
    monkeypatch.setattr(execute, "backoff", lambda *args, **kwargs: 0.0)
    monkeypatch.setattr(RateLimiter, "MIN_RATE", 1000.0)
    summary = summarise(run(RunConfig(Target(faulty_server.url), max_examples=0, seed=1, protocol="awsJson1_1",
                                      operations=("StopPHIDetectionJob",), create_jobs=False)))
    # Nothing failed, but nothing was judged either: incomplete, never conforms.
    assert summary.verdict is Verdict.INCOMPLETE and summary.not_judged and not summary.failures
    assert all("throttled 2 times" in record.message for record in summary.not_judged)


def test_backoff_is_bounded_and_jittered() -> None:
    from conformance.engine.transport.rate import backoff

    draws = [backoff(attempt, base=0.1, cap=1.0) for attempt in range(10) for _ in range(20)]
    assert all(0 <= d <= 1.0 for d in draws) and len(set(draws)) > 100


def test_embedded_run_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--max-examples", "5", "--seed", "1", "--operation", "StopPHIDetectionJob"]) == 0
    out = capsys.readouterr().out
    assert "CONFORMS" in out and "no_server_error" in out and "StopPHIDetectionJob" in out


def test_unreachable_target_exits_3_with_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        code = main(["run", "--endpoint-url", f"http://127.0.0.1:{port}", "--max-examples", "1"])
    captured = capsys.readouterr()
    assert code == 3 and "Traceback" not in captured.err
    verdict = captured.out.strip().splitlines()[-1]
    assert verdict.startswith("UNREACHABLE: the target answered none of the") and "connection refused" in verdict


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--operation", "StopEverything"], "unknown operation(s) StopEverything"),
        (["--endpoint-url", "ftp://x"], "must be http:// or https://"),
        (["--report-json", "/no/such/folder/r.json"], "does not exist"),
    ],
)
def test_configuration_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--max-examples", "1", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("flag", [["--max-examples", "-1"], ["--workers", "0"], ["--rate", "0"], ["--seed", "x"]])
def test_bad_flags_exit_2(flag: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["run", *flag])
    assert caught.value.code == 2


def test_pytest_plugin_runs_the_suite_with_xdist(tmp_path: Path) -> None:
    junit = tmp_path / "suite.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-n", "2", "-q", "-p", "no:cacheprovider",
         "--hypothesis-seed", "5", "--hypothesis-profile", "default", "--junitxml", str(junit),
         "-k", "catalog_example or stop_a_job or invalid.length or valid.astral"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
    assert junit.read_text().count("<testcase") >= 100


def test_pytest_plugin_reports_a_failing_endpoint(tmp_path: Path) -> None:
    with ReferenceServer(app=build_app("malformed_json_500", timings=FAST_JOBS)) as server:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider",
             "--conformance-endpoint-url", server.url, "-k", "catalog_example and malformed_json"],
            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 1
    assert "FAILED no_server_error on Stop" in result.stdout and "reproduce: printf" in result.stdout


class HugeValuesApp(ReferenceApp):
    """Start answers a 2 MB JobId (under the 4 MiB an answer is read to); error answers name a 1 MB error type
    and carry a 60 KB header."""

    def handle(self, request: HttpRequest) -> Response:
        response = super().handle(request)
        if "Start" in (request.header("X-Amz-Target") or ""):
            return Response(200, AWS_JSON.encode({"JobId": "j" * (2 << 20)}), dict(response.headers))
        if response.status >= 400 and request.path == "/":
            document = {**json.loads(response.body), "__type": "E" * (1 << 20)}
            return Response(response.status, AWS_JSON.encode(document), {**response.headers, "X-Big": "h" * 60_000})
        return response


def test_values_a_target_supplies_are_clipped_before_any_report(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    with ReferenceServer(app=HugeValuesApp(jobs=JobStore(SystemClock(), FAST_JOBS))) as server:
        code = main(["run", "--endpoint-url", server.url, "--protocol", "awsJson1_1", "--max-examples", "5",
                     "--seed", "2", "--settle-timeout", "1", "--report-json", str(report), "--junitxml", str(junit)])
    out = capsys.readouterr().out
    assert code == 1 and "DOES NOT CONFORM" in out
    # The 2 MB JobId was sent back only to stop its job, and no message, record or report holds it whole.
    assert len(out) < 1 << 20 and report.stat().st_size < 4 << 20 and junit.stat().st_size < 1 << 20
    data = json.loads(report.read_text())
    flow = [f for f in data["failures"] if f["case"]["category"].startswith(("start.", "existing.", "near_miss."))]
    # Nothing but Stops went out with it: the flow's, and clean-up's (the target knows no such job, so it runs on).
    assert {f["case"]["category"] for f in flow} == {"start.job", "existing.stop", "existing.cleanup"}
    assert any("2097152 characters, sha256" in json.dumps(failure) for failure in flow)
    assert any("1048576 characters, sha256" in (f["actual"] or {}).get("error_type", "") for f in data["failures"])


@pytest.mark.parametrize("columns", [80, 60])
def test_the_result_fits_the_terminal(columns: int, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["run", "--max-examples", "0", "--seed", "1", "--no-create-jobs"]) == 0
    out = capsys.readouterr().out
    matrix = out[: out.index("\ncoverage")]
    assert max(len(line) for line in matrix.splitlines()) <= columns
    # The full table of two lanes is 74 columns wide; narrower, it stays a table (lanes and checks abbreviated, a
    # legend below), never prose.
    assert ("\nchecks: ans answered" in matrix) == (columns < 74)


def test_failures_are_grouped_by_cause_and_say_how_to_replay_them(capsys: pytest.CaptureFixture[str]) -> None:
    # moto answers every Comprehend Medical request 500 with one HTML page: one block per lane, not one per check.
    pytest.importorskip("moto.server", reason="the moto extra is not installed")
    assert main(["run", "--target", "moto", "--operation", "StopPHIDetectionJob", "--protocol", "awsJson1_1",
                 "--max-examples", "20", "--seed", "1", "--no-create-jobs"]) == 1
    out = capsys.readouterr().out
    blocks = [line for line in out.splitlines() if line.startswith("FAILED ")]
    assert len(blocks) <= 3, blocks
    assert "got this kind of answer (500" in out and "failing " in out
    assert "started by this run and stopped with it" in out and "moto_server -H 127.0.0.1 -p 8000" in out
