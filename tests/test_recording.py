"""`conformance record` and `conformance run --recording`: a recording of the reference server catches every fault
variant and no legal variation (other choices of an ambiguity are said, and fail only with --recording-strict)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest
from test_aws_safety import AwsLikeServer  # the AWS-like server those tests build

from conformance.cli import main
from conformance.engine.config import LifecycleConfig, MachineConfig, RunConfig
from conformance.engine.runner import run
from conformance.engine.verdict import Verdict
from conformance.reference import JobStore, ReferenceApp, ReferenceServer, SystemClock, Timings
from conformance.reference.aws_mode import TEST_SESSION_CREDENTIALS
from conformance.reference.variants import VARIANTS, build_app
from conformance.report import Summary, recording, summarise
from conformance.targets.target import Target

FAST_JOBS = Timings(queued=0.05, running=600.0, stopping=0.2)
LIFECYCLE = LifecycleConfig(settle_timeout=2.0, poll_interval=0.05)
SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "recording.schema.json").read_text())
FAULTS = sorted(name for name, v in VARIANTS.items() if v.fault)
LEGAL = sorted(name for name, v in VARIANTS.items() if v.legal)
# Faults a replay of the recording (max-examples 0, no drawn near misses, no state machine) does not show as a
# recording failure, and why (docs/verdicts.md, "Judged against a recording"): each is a fault only the state
# machine or a drawn case reaches, so no recorded case gets another answer.
_UNRECORDED = "reached only by drawn near misses or the state machine, which a recording leaves out (they depend " \
              "on the job's id and on timing); the oracle judges them in the replay"
_SIGNING = "the plain reference server does not enforce SigV4, so no signing-matrix case is recorded; error_type " \
           "fails the wrongly signed answers"
NOT_IN_THE_RECORDING: dict[str, str] = {
    **dict.fromkeys(["describe_lags_behind_stop", "ended_jobs_found_by_any_kind", "job_id_percent_decoded",
                     "job_id_unescaped_again", "job_lookup_ascii_folding", "job_lookup_kind_blind", "job_lookup_nfkc",
                     "restop_reverts_to_stop_requested", "start_forgets_stopped_jobs"], _UNRECORDED),
    **{name: _SIGNING for name in VARIANTS if name.startswith("sigv4_")},
    "cbor_bare_error_type": "a bare `__type` and an absolute shape id resolve to one error type (the same answer to "
                            "a client); rpcv2_error_body fails it",
    "no_request_id": "request ids are volatile by design; request_id_header fails it",
}
# Faults a recording may or may not show, by timing: where the recorded case's answer differs only in a job status
# the lifecycle allows on both sides (how far a job got), the difference is the recording's choice, not a failure.
TIMING: dict[str, str] = {
    "stop_ended_job_succeeds": "its jobs complete at once, so Describe says COMPLETED where the recording says "
                               "IN_PROGRESS (timing); status_code fails the Stop it accepts",
    "stop_stops_whole_kind": "shows only where two flows of one operation interleave, or in the state machine's "
                             "runs; existing.untouched or lifecycle_model fails it",
}
RECORD_OPTIONS = ["--max-examples", "0", "--seed", "5", "--settle-timeout", "2", "--read-timeout", "5"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording of the plain reference server (fast jobs), made with `conformance record`."""
    path = tmp_path_factory.mktemp("recording") / "reference.json"
    with ReferenceServer(app=plain_app()) as server:
        assert main(["record", "--endpoint-url", server.url, *RECORD_OPTIONS, "--out", str(path)]) == 0
    return path


def plain_app() -> ReferenceApp:
    """The reference server's app, its jobs as fast as the variants' here."""
    return ReferenceApp(JobStore(SystemClock(), FAST_JOBS))


def replay(name: str | None, path: Path, strict: bool = False, volatile: tuple[str, ...] = (),
           whole: bool = False) -> Summary:
    """Run a recording against a variant of the reference server (None: the plain one), as `run --recording`."""
    loaded = recording.load(path)
    variant = VARIANTS[name] if name else None
    app = build_app(name, timings=FAST_JOBS) if name else plain_app()
    with ReferenceServer(app=app, http_options=variant.http if variant else None) as server:
        result = run(RunConfig(Target(server.url), max_examples=0, seed=loaded.seed, lifecycle=LIFECYCLE,
                               read_timeout=5.0, rerun=loaded.rerun(), create_jobs=loaded.has_flows(),
                               near_misses=16 if whole else 0, shrink_requests=0,
                               machine=MachineConfig(steps=60 if whole else 0)))
    recording.judge(result, loaded, volatile, strict)
    return summarise(result)


def failed_checks(summary: Summary) -> set[str]:
    return {record.check or "" for record in summary.failures}


def test_a_recording_is_valid_against_its_schema_and_holds_every_exchange(recorded: Path) -> None:
    data = json.loads(recorded.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["format"] == recording.RECORDING_FORMAT and data["run"]["seed"] == 5
    categories = {exchange["case"]["category"] for exchange in data["exchanges"]}
    assert {"valid.probe", "auth.unsigned", "start.job", "existing.stop", "invalid.body.empty"} <= categories
    assert all(exchange["answer"] is not None for exchange in data["exchanges"])
    headers = {name for exchange in data["exchanges"] for name in exchange["answer"]["headers"]}
    assert "content-type" in headers and not headers & {"date", "x-amzn-requestid"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "format": "conformance-report/1"}, SCHEMA)


def test_the_plain_reference_server_replays_with_no_recording_failure(recorded: Path) -> None:
    summary = replay(None, recorded)
    assert summary.verdict is Verdict.CONFORMS, [r.message for r in summary.failures][:5]
    cells = [cells["recording"] for cells in summary.matrix.values() if "recording" in cells]
    assert cells and sum(cell.passed for cell in cells) > 300


def test_every_fault_fails_the_recording_check(recorded: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        summaries = dict(zip(FAULTS, pool.map(lambda name: replay(name, recorded), FAULTS), strict=True))
    missed = sorted(name for name, summary in summaries.items() if "recording" not in failed_checks(summary))
    assert set(NOT_IN_THE_RECORDING) <= set(missed) <= set(NOT_IN_THE_RECORDING) | set(TIMING), missed
    # Those the recording cannot show, the replay's oracle fails, with the near misses and state machine of a run.
    unrecorded = [name for name in missed if NOT_IN_THE_RECORDING.get(name, _UNRECORDED) == _UNRECORDED]
    with ThreadPoolExecutor(max_workers=4) as pool:
        summaries.update(zip(unrecorded, pool.map(lambda name: replay(name, recorded, whole=True), unrecorded),
                             strict=True))
    passing = [name for name, summary in summaries.items() if summary.verdict is not Verdict.DOES_NOT_CONFORM]
    assert not passing, passing


def test_no_legal_variation_fails_the_recording_check_and_other_choices_fail_only_when_strict(recorded: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        summaries = dict(zip(LEGAL, pool.map(lambda name: replay(name, recorded), LEGAL), strict=True))
    failing = {name: sorted(failed_checks(summary)) for name, summary in summaries.items() if summary.failures}
    assert not failing, failing
    chose = {name for name, summary in summaries.items()
             if any(record.check == "recording_choice" for record in summary.warnings)}
    # 404 for no such job, InvalidRequestException for constraints, SerializationException for an unknown member:
    # each another answer the oracle allows, said as the recording's choice and this target's.
    assert {"not_found_404", "invalid_request_for_constraints", "unknown_member_rejected"} <= chose
    strict = replay("not_found_404", recorded, strict=True)
    assert "recording" in failed_checks(strict) and strict.verdict is Verdict.DOES_NOT_CONFORM
    record = next(r for r in strict.failures if r.check == "recording")
    assert record.recorded is not None and record.recorded["status"] == 400 and record.actual is not None \
        and record.actual.status == 404


def test_a_volatile_pointer_is_not_compared(recorded: Path) -> None:
    summary = replay("extra_answer_members", recorded)
    said = [record.message for record in summary.warnings if record.check == "recording_choice"]
    assert said and all("added" in message for message in said)
    pointers = {message.split(" added")[0].rsplit(": ", 1)[-1] for message in said}
    quiet = replay("extra_answer_members", recorded, volatile=tuple(sorted(pointers)))
    assert not [r.message for r in quiet.warnings if r.check == "recording_choice" and "ExtraMember" in r.message]
    assert pointers == {"/ExtraMember"} and not quiet.failures


def test_a_recording_of_an_aws_like_server_holds_no_secret_and_replays_against_the_plain_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEST_SESSION_CREDENTIALS.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SESSION_CREDENTIALS.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TEST_SESSION_CREDENTIALS.token)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    path = tmp_path / "aws-like.json"
    aws_like = AwsLikeServer()
    with aws_like.server:
        status = main(["record", "--endpoint-url", aws_like.url, "--allow-credentials-to-custom-endpoint",
                       *RECORD_OPTIONS, "--out", str(path)])
    assert status == 0
    text = path.read_text()
    signatures = aws_like.signatures()
    assert len(signatures) > 50
    for secret in (TEST_SESSION_CREDENTIALS.secret_key, TEST_SESSION_CREDENTIALS.token, *signatures):
        assert secret not in text
    assert '"Authorization"' not in text  # the request is recorded as encoded; signed only on its way out
    summary = replay(None, path)
    assert not [r for r in summary.failures if r.check == "recording"], \
        [r.message for r in summary.failures if r.check == "recording"][:3]
    # The AWS-like server refused what is unsigned; the plain one serves it: another choice the oracle allows.
    assert any(r.check == "recording_choice" and r.category == "auth.unsigned" for r in summary.warnings)


@pytest.mark.parametrize(("content", "said"), [
    ("not json", "not a recording of `conformance record`"),
    ('{"format": "conformance-report/1"}', "its format is 'conformance-report/1'"),
    ('{"format": "conformance-recording/1", "run": {"seed": 1}, "exchanges": [{"case": {}}]}',
     "an exchange cannot be read"),
])
def test_a_bad_recording_exits_2_with_one_line(tmp_path: Path, capfd: pytest.CaptureFixture[str], content: str,
                                               said: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["run", "--recording", str(path)]) == 2
    err = capfd.readouterr().err
    assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_record_and_replay_with_the_defaults_against_the_embedded_server(tmp_path: Path) -> None:
    # Every option left to its default (the settle wait among them, which depends on the target): both commands read
    # the options as `run` does.
    path = tmp_path / "embedded.json"
    assert main(["record", "--max-examples", "0", "--seed", "1", "--out", str(path)]) == 0
    jsonschema.validate(json.loads(path.read_text()), SCHEMA)
    assert main(["run", "--recording", str(path), "--state-machine-steps", "0"]) == 0
