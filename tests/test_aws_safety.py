"""Runs against AWS, proven on loopback: the reference server in its AWS-like mode stands in for AWS.

Each safety rule of a real-account run has a test here: credentials, secrets in every artefact,
jobs started only when asked and always stopped, no foreign job id ever sent, the budget, throttling,
and the authentication checks.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.credentials import Credentials

from conformance.cli import main
from conformance.engine import execute
from conformance.engine.config import LifecycleConfig, RunConfig
from conformance.engine.job_flow import stop_leftovers
from conformance.engine.lanes import Lane
from conformance.engine.phases.auth import SIGNINGS
from conformance.engine.plan import plan
from conformance.engine.results import SkipReason
from conformance.engine.runner import run
from conformance.engine.safety import UnsafeRequest, job_ids_in
from conformance.engine.transport import Transport
from conformance.engine.verdict import Verdict
from conformance.model.operations import load_operations
from conformance.protocols import SUPPORTED, get_protocol
from conformance.reference import JobStore, ReferenceApp, ReferenceServer, SystemClock, Timings
from conformance.reference.aws_mode import TEST_SESSION_CREDENTIALS, SigV4Verifier, Throttle
from conformance.report import json_report, summarise
from conformance.report.reproduce import curl_command
from conformance.targets.resolve import aws_endpoints
from conformance.targets.target import Target, TargetError
from conformance.wire.credentials import UNKNOWN_KEY_CREDENTIALS
from conformance.wire.http import HttpRequest
from conformance.wire.sigv4 import parse_authorization

PII, PHI = "StopPiiEntitiesDetectionJob", "StopPHIDetectionJob"
REAL_FORM_ID = "0123456789abcdef0123456789abcdef"
SECRETS = (TEST_SESSION_CREDENTIALS.secret_key, TEST_SESSION_CREDENTIALS.token)
JOB_FLAGS = ["--create-jobs", "--input-s3-uri", "s3://conformance-input/one.txt", "--output-s3-uri",
             "s3://conformance-output/out/", "--data-access-role-arn", "arn:aws:iam::123456789012:role/ConformanceJobs"]


class AwsLikeServer:
    """The reference server with SigV4 enforced (optionally throttled), recording every request it gets."""

    def __init__(self, verifier: SigV4Verifier | None = None, throttle: Throttle | None = None,
                 fail_stops: bool = False) -> None:
        app = ReferenceApp(JobStore(SystemClock(), Timings(queued=0.05, running=600, stopping=0.2)),
                           verifier=verifier or SigV4Verifier(), throttle=throttle)
        self.requests: list[HttpRequest] = []
        self._lock = threading.Lock()
        handle = app.handle

        def spy(request: HttpRequest):  # noqa: ANN202 - the app's own signature
            with self._lock:
                self.requests.append(request)
            if fail_stops and "Stop" in (request.header("X-Amz-Target") or request.path):
                from conformance.reference.answers import ApiError, new_request_id
                from conformance.reference.protocols import AWS_JSON

                return AWS_JSON.failure(ApiError("InternalServerException", 500, "cannot stop now"), new_request_id())
            return handle(request)

        app.handle = spy  # type: ignore[method-assign]
        self.app = app
        self.server = ReferenceServer(app=app)

    @property
    def url(self) -> str:
        """The server's loopback URL."""
        return self.server.url

    def operations(self) -> list[str]:
        """The operation each received request named (X-Amz-Target, or the rpcv2Cbor path's last part)."""
        return [(r.header("X-Amz-Target") or r.path).rsplit(".", 1)[-1].rsplit("/", 1)[-1] for r in self.requests]

    def signatures(self) -> list[str]:
        """The signature of every signed request received."""
        found = (parse_authorization(r.header("Authorization") or "") for r in self.requests)
        return [auth.signature for auth in found if auth and auth.signature]


@pytest.fixture
def aws_like() -> Iterator[AwsLikeServer]:
    """An AWS-like reference server on loopback."""
    server = AwsLikeServer()
    with server.server:
        yield server


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Temporary credentials in the environment, and nothing else botocore's chain could find."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COMPREHEND",
                 "AWS_ENDPOINT_URL_COMPREHENDMEDICAL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEST_SESSION_CREDENTIALS.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SESSION_CREDENTIALS.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TEST_SESSION_CREDENTIALS.token)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo what --verbose does to the logging tree."""
    root, ours, botocore = logging.getLogger(), logging.getLogger("conformance"), logging.getLogger("botocore")
    saved = (list(root.handlers), ours.level, botocore.level)
    yield
    root.handlers[:] = saved[0]
    ours.setLevel(saved[1])
    botocore.setLevel(saved[2])


def test_a_run_against_aws_leaks_no_secret_into_any_artefact(aws_like: AwsLikeServer, aws_environment: None,
                                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              capfd: pytest.CaptureFixture[str],
                                                              restore_logging: None) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_like.url)
    aws_like.app.region = "eu-west-1"  # an endpoint serves one region: the one the run signs for
    logging.getLogger("botocore").setLevel(logging.DEBUG)  # botocore's debug log prints the session token
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    status = main(["run", "--target", "aws", "--region", "eu-west-1", "--allow-credentials-to-custom-endpoint",
                   *JOB_FLAGS, "--max-examples", "5", "--seed", "1", "--settle-timeout", "2", "--verbose",
                   "--report-json", str(report), "--junitxml", str(junit)])
    out, err = capfd.readouterr()
    assert status == 0, out[-3000:] + err[-3000:]
    signatures = aws_like.signatures()
    assert len(signatures) > 100 and TEST_SESSION_CREDENTIALS.access_key in aws_like.requests[0].header("Authorization")
    artefacts = {"stdout": out, "stderr": err, "json": report.read_text(), "junit": junit.read_text()}
    assert "conformance.engine.transport" in err and "<redacted>" in err  # the log was written, and redacted
    for name, text in artefacts.items():
        for secret in (*SECRETS, *signatures):
            assert secret not in text, f"{name} shows a secret"
    data = json.loads(report.read_text())
    # A failure's curl command takes the secret and the token from the environment, never from the run.
    aws_target = Target("https://comprehend.eu-west-1.amazonaws.com", credentials=TEST_SESSION_CREDENTIALS)
    curl = curl_command(HttpRequest("POST", "/", {}, b"{}"), aws_target, load_operations()[0].service)
    assert "$AWS_SECRET_ACCESS_KEY" in curl and "$AWS_SESSION_TOKEN" in curl
    assert not any(secret in curl for secret in SECRETS)
    coverage = {category for counts in data["coverage"].values() for category in counts}
    assert {"auth.unsigned", "auth.bad_signature", "auth.expired_date", "existing.stop"} <= coverage
    assert "--create-jobs: this run starts up to 4 real job(s)" in err
    # Every job it started, it stopped; each Start read the user's S3 data through the user's role.
    assert data["jobs"]["started"] and not data["jobs"]["left_running"]
    assert all(job.status(aws_like.app.jobs.clock.now()) in ("STOP_REQUESTED", "STOPPED")
               for job in aws_like.app.jobs._jobs.values())
    starts = [json.loads(r.body) for r in aws_like.requests if (r.header("X-Amz-Target") or "").endswith("Job")
              and "Start" in (r.header("X-Amz-Target") or "")]
    assert starts and all(s["DataAccessRoleArn"].endswith("role/ConformanceJobs") for s in starts)


def test_real_credentials_never_sign_for_a_host_outside_aws_unless_allowed(aws_like: AwsLikeServer,
                                                                           aws_environment: None,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_like.url)
    assert main(["run", "--target", "aws", "--max-examples", "0"]) == 2
    assert "--allow-credentials-to-custom-endpoint" in capsys.readouterr().err
    assert aws_like.requests == []
    # A custom endpoint given by URL is signed with the suite's dummy key, never the user's.
    assert main(["run", "--endpoint-url", aws_like.url, "--max-examples", "0", "--operation", PHI,
                 "--protocol", "awsJson1_1", "--settle-timeout", "0"]) == 0
    keys = {parse_authorization(r.header("Authorization") or "").access_key for r in aws_like.requests
            if r.header("Authorization")}
    assert keys == {"AKIDCONFORMANCESUITE", UNKNOWN_KEY_CREDENTIALS.access_key}  # the latter: `auth.unknown_key`
    with pytest.raises(TargetError, match="not an AWS endpoint"):
        Target(aws_like.url, credentials=Credentials("AKIDREAL", "real-secret"))


def test_no_credentials_is_a_clear_error(aws_environment: None, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    assert main(["run", "--target", "aws", "--region", "eu-west-1"]) == 2
    assert "no AWS credentials found" in capsys.readouterr().err
    assert main(["run", "--target", "aws", "--profile", "nobody"]) == 2
    assert "no AWS profile named 'nobody'" in capsys.readouterr().err


def test_create_jobs_on_aws_needs_s3_data_and_a_role(aws_environment: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--target", "aws", "--create-jobs", "--input-s3-uri", "s3://bucket/in"]) == 2
    err = capsys.readouterr().err
    assert "--output-s3-uri" in err and "--data-access-role-arn" in err and "--input-s3-uri" not in err.split("needs")[1]
    assert main(["run", "--target", "aws", *JOB_FLAGS[:-1], "not-a-role"]) == 2
    assert "is not an IAM role ARN" in capsys.readouterr().err


def test_without_create_jobs_nothing_is_started_on_aws(aws_like: AwsLikeServer, aws_environment: None,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_like.url)
    assert main(["run", "--target", "aws", "--allow-credentials-to-custom-endpoint", "--max-examples", "3",
                 "--operation", PII]) == 0
    assert aws_like.requests and not any(name.startswith("Start") for name in aws_like.operations())
    assert "jobs may not be started on this target" in " ".join(capsys.readouterr().out.split())  # notes wrap


def test_dry_run_prints_every_request_redacted_and_sends_none(aws_like: AwsLikeServer, aws_environment: None,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_like.url)
    assert main(["run", "--target", "aws", "--allow-credentials-to-custom-endpoint", *JOB_FLAGS, "--dry-run",
                 "--budget", "120", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert aws_like.requests == []
    listed = [line for line in out.splitlines() if line.startswith("#")]
    assert 100 <= len(listed) <= 120 and f"{len(listed)} request(s) planned, signed with SigV4" in out
    assert out.count("Authorization: <redacted>") == out.count("X-Amz-Security-Token: <redacted>") > 0
    assert "s3://conformance-input/one.txt" in out and "StartPiiEntitiesDetectionJob" in out
    assert not any(secret in out for secret in SECRETS)


def test_endpoints_resolve_as_the_sdks_do(monkeypatch: pytest.MonkeyPatch, aws_environment: None) -> None:
    assert aws_endpoints("eu-west-1") == {"comprehend": "https://comprehend.eu-west-1.amazonaws.com",
                                          "comprehendmedical": "https://comprehendmedical.eu-west-1.amazonaws.com"}
    monkeypatch.setenv("AWS_ENDPOINT_URL_COMPREHENDMEDICAL", "http://127.0.0.1:9")
    assert aws_endpoints("us-east-2")["comprehendmedical"] == "http://127.0.0.1:9"
    assert aws_endpoints("us-east-2")["comprehend"] == "https://comprehend.us-east-2.amazonaws.com"
    with pytest.raises(TargetError, match="region"):
        aws_endpoints("not a region!")


def test_a_job_id_the_suite_did_not_create_is_never_sent(live_reference_server: ReferenceServer,
                                                         tmp_path: Path) -> None:
    received: list[bytes] = []
    handle = live_reference_server.app.handle
    live_reference_server.app.handle = lambda request: (received.append(request.body), handle(request))[1]
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"examples": [
        {"category": "valid.mixed", "description": "a real job's id", "document": {"JobId": REAL_FORM_ID}},
        {"category": "extra.unknown_member", "description": "upper case",
         "document": {"JobId": REAL_FORM_ID.upper(), "Other": 1}},
        {"category": "valid.mixed", "protocol": "awsJson1_1", "description": "escaped",
         "raw_body": '{"JobId": "\\u0030123456789abcdef0123456789abcdef"}'},
    ]}))
    result = run(RunConfig(Target(live_reference_server.url), max_examples=3, seed=4, catalog=catalog,
                           operations=(PII,), protocol="awsJson1_1", lifecycle=LifecycleConfig(settle_timeout=1)))
    refused = [r for r in result.results if r.not_judged is SkipReason.UNSAFE_REQUEST
               and "real job id" in r.not_judged_detail]
    # The three, and the twins in other spellings of the two with a document: a spelling hides no id from the guard.
    assert len([r for r in refused if not r.case.spelling]) == 3 and len([r for r in refused if r.case.spelling]) == 2
    assert not any(REAL_FORM_ID in body.decode("utf-8", "replace").lower() for body in received)
    # The job the suite started has an id of the real form, and it was stopped: the guard lets its own ids pass.
    assert result.jobs_started and not result.jobs_left_running
    assert any(r.case.category == "existing.stop" and r.answer and r.answer.status == 200 for r in result.results)


def test_no_generated_request_carries_a_real_form_job_id() -> None:
    operations = load_operations()
    lanes = [Lane(op, get_protocol(name)) for op in operations for name in op.service.protocols if name in SUPPORTED]
    for seed in (11,):
        planned = plan(RunConfig(Target("http://127.0.0.1:1"), max_examples=200, seed=seed), lanes, operations)
        for lane in lanes:
            for case in planned[lane.key]:
                request = lane.protocol.encode(lane.operation, case)
                assert not job_ids_in(request.body, request.header("Content-Type")), case


def test_the_transport_refuses_foreign_real_form_ids_and_passes_its_own() -> None:
    transport = Transport(Target("http://127.0.0.1:1"))
    service = load_operations()[0].service
    body = json.dumps({"JobId": REAL_FORM_ID}).encode()
    with pytest.raises(UnsafeRequest):
        transport.send(HttpRequest("POST", "/", {}, body), service)
    transport.jobs.started(service.name, REAL_FORM_ID)
    transport.jobs.check(body)  # its own job: allowed (sending would fail here only for want of a server)


def test_a_job_whose_stop_fails_is_stopped_at_the_end_or_named(capsys: pytest.CaptureFixture[str]) -> None:
    server = AwsLikeServer(fail_stops=True)
    with server.server:
        result = run(RunConfig(Target(server.url), max_examples=0, seed=1, operations=(PHI,), protocol="awsJson1_1",
                               lifecycle=LifecycleConfig(settle_timeout=0)))
        assert result.jobs_started and result.jobs_left_running == result.jobs_started
        summary = summarise(result)
        assert any("JOB LEFT RUNNING" in note for note in summary.notes)
        assert summary.verdict is Verdict.DOES_NOT_CONFORM and "JOB LEFT RUNNING" in summary.decision.reasons[0]
        assert server.operations().count(PHI) >= 3  # the flow's stops, then the clean-up's
    # Once Stop works again, the clean-up stops what the ledger holds.
    ok = AwsLikeServer()
    with ok.server:
        transport = Transport(Target(ok.url))
        job_id = ok.app.jobs.start("comprehendmedical/PHIDetectionJob", {"JobName": "left"}, None).job_id
        transport.jobs.started("comprehendmedical", job_id, PHI)
        operation = next(op for op in load_operations() if op.name == PHI)
        stop_leftovers(transport, {PHI: (operation, get_protocol("awsJson1_1"))})
        assert transport.jobs.unstopped() == []
        assert ok.app.jobs.get("comprehendmedical/PHIDetectionJob", job_id).status(ok.app.jobs.clock.now()) == "STOP_REQUESTED"


BUDGET_FOR_EVERY_CATEGORY = 80  # README: "the first ~80 per operation and protocol cover every case category"


@pytest.mark.parametrize("budget", [15, BUDGET_FOR_EVERY_CATEGORY])

def test_the_budget_caps_requests_and_names_what_it_left_uncovered(budget: int, tmp_path: Path) -> None:
    server = AwsLikeServer(throttle=Throttle(200.0))
    with server.server:
        result = run(RunConfig(Target(server.url), max_examples=100, seed=5, operations=(PII,), protocol="awsJson1_1",
                               budget=budget, lifecycle=LifecycleConfig(settle_timeout=1)))
    assert len(server.requests) <= budget and result.requests_sent <= budget
    summary = summarise(result)
    data = json_report.build(summary)
    lane = f"{PII} over awsJson1_1"
    if budget == BUDGET_FOR_EVERY_CATEGORY:  # the README's figure per operation and protocol covers every category
        assert summary.verdict is Verdict.CONFORMS, summary.decision.reasons
        assert data["summary"]["not_sent"] > 50
        assert {"auth.unsigned", "existing.stop", "near_miss.upper_case", "invalid.body.malformed_json",
                "protocol.target.unknown", "valid.astral"} <= set(summary.coverage[lane])
    else:  # nothing failed, but categories went unjudged: incomplete, never conforms
        assert summary.verdict is Verdict.INCOMPLETE and data["verdict"] == "incomplete"
        assert data["exit_status"] == 4 and summary.decision.exit_status(accept_incomplete=True) == 0
        gaps = [entry["not_judged"] for entry in data["coverage_contract"] if entry["operation"] == PII]
        assert gaps and gaps[0]


def test_a_throttling_target_slows_the_run_and_is_never_failed_for_it() -> None:
    server = AwsLikeServer(throttle=Throttle(25.0))
    with server.server:
        result = run(RunConfig(Target(server.url), max_examples=40, seed=6, operations=(PII,), protocol="awsJson1_1",
                               lifecycle=LifecycleConfig(settle_timeout=1)))
    summary = summarise(result)
    assert summary.conforms, summary.failures[:1]
    assert result.throttles and result.lowest_rate is not None
    lowered = [result.lowest_rate]
    # Down to the target's limit, as measured: 90% of what it accepted over the 2 s window, and a token
    # bucket's burst (25 here) can fall inside that window: at most 0.9 * (25 + 25 / 2) requests/s.
    assert lowered and lowered[0] <= 0.9 * (25 + 25 / 2)
    assert any(r.attempts > 1 for r in result.results)


def test_retry_after_is_honoured_and_a_case_throttled_past_its_bound_is_not_judged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(execute.asyncio, "sleep", sleep)
    monkeypatch.setattr(execute, "MAX_THROTTLE_RETRIES", 2)
    server = AwsLikeServer(throttle=Throttle(0.001, retry_after=2))
    operation = next(op for op in load_operations() if op.name == PII)
    with server.server:
        transport = Transport(Target(server.url))
        from conformance.engine.phases.probe import probe_case

        lane = Lane(operation, get_protocol("awsJson1_1"))
        first = execute.execute(operation, probe_case(lane), lane.protocol, transport)
        second = execute.execute(operation, probe_case(lane), lane.protocol, transport)
    assert first.not_judged is None and first.verdicts
    assert second.not_judged is SkipReason.THROTTLED and not second.verdicts
    assert second.not_judged_detail == "throttled 3 times (400 ThrottlingException)"
    # asyncio.sleep is patched for everyone: the lowered rate's short waits are there too, the Retry-After waits are 2 s.
    assert [seconds for seconds in slept if seconds >= 1] == [2.0, 2.0]
    assert transport.limiter.throttles == 3


def test_authentication_checks_catch_a_target_that_accepts_bad_signatures() -> None:
    class Lax(SigV4Verifier):
        def check_signature(self, *args: object) -> None:  # accepts any signature
            return None

    server = AwsLikeServer(verifier=Lax(max_skew=datetime.timedelta(days=2)))
    with server.server:
        summary = summarise(run(RunConfig(Target(server.url), max_examples=0, seed=7, operations=(PII,),
                                          protocol="awsJson1_1", create_jobs=False)))
    failed = {record.category for record in summary.failures}
    # What only the signature (or the clock it lets through) refuses; the scope, the key, the body's hash and the
    # header's form are still checked.
    assert failed == {"auth.bad_signature", "auth.expired_date", "auth.date_behind", "auth.date_ahead",
                      "auth.signed_header_changed"}


def test_where_sigv4_is_not_enforced_only_the_unsigned_request_is_judged(live_reference_server: ReferenceServer) -> None:
    result = run(RunConfig(Target(live_reference_server.url), max_examples=0, seed=8, operations=(PII,),
                           protocol="awsJson1_1", create_jobs=False))
    auth = [r for r in result.results if r.case.category.startswith("auth.")]
    assert [r.case.category for r in auth] == ["auth.unsigned"] and auth[0].observation == ("unsigned request",
                                                                                          "served unsigned")
    assert any(skip.reason is SkipReason.AUTH_NOT_ENFORCED for skip in result.skips)
    assert summarise(result).verdict is Verdict.CONFORMS


def test_the_guard_allows_exactly_the_near_misses_of_the_runs_own_jobs() -> None:
    from conformance.engine.safety import JobLedger
    from conformance.model.job_ids import near_misses

    ledger = JobLedger()
    ledger.started("comprehend", REAL_FORM_ID)
    labels = [label for label, _ in near_misses(REAL_FORM_ID)]
    assert {"upper_case", "one_replaced", "trailing_space", "trailing_newline", "prefix", "suffix_added"} <= set(labels)
    for _, near in near_misses(REAL_FORM_ID):
        ledger.check(json.dumps({"JobId": near}).encode())  # allowed: a neighbour of the run's own job
    # The run's own id in other letter case: of the real form, but no one else's job (real ids are lower case).
    ledger.check(json.dumps({"JobId": REAL_FORM_ID[:16] + REAL_FORM_ID[16:].upper()}).encode())
    other = REAL_FORM_ID[::-1]
    for foreign in (other, other.upper(), REAL_FORM_ID[1:] + "0"):
        with pytest.raises(UnsafeRequest):
            ledger.check(json.dumps({"JobId": foreign}).encode())


def test_the_dry_run_lists_the_job_flow_the_run_sends(live_reference_server: ReferenceServer) -> None:
    from conformance.engine.phases.flows import DRAWN
    from conformance.engine.runner import planned_requests

    config = RunConfig(Target(live_reference_server.url), max_examples=0, seed=9, operations=(PII,),
                       protocol="awsJson1_1", lifecycle=LifecycleConfig(settle_timeout=5, poll_interval=0.05))
    planned = [(p.called.name, p.case.category) for p in planned_requests(config)]
    sent = [(r.operation.name, r.case.category) for r in run(config).results]
    flow = ("start.", "existing.", "near_miss.")
    # The same phases plan and send: the same job flow, request for request, and the same cases; the near misses
    # drawn from the id the Start returns (a placeholder in the plan) as many (of kinds that depend on the id: the
    # placeholder and the real id need not have values of the same ones).
    drawn = DRAWN | {"near_miss.other_job"}
    planned_flow, sent_flow = [p for p in planned if p[1].startswith(flow)], [s for s in sent if s[1].startswith(flow)]
    assert [p for p in planned_flow if p[1] not in drawn] == [s for s in sent_flow if s[1] not in drawn]
    assert len(planned_flow) == len(sent_flow) and len([s for s in sent_flow if s[1] in drawn]) == 32
    # The wrongly signed requests are sent only where the unsigned one is refused (not here).
    conditional = {category.name for category, _ in SIGNINGS[1:]}
    machine = [p for p in planned if p[1].startswith("machine.")], [s for s in sent if s[1].startswith("machine.")]
    # The drawn near misses are held above: which kinds the later ones are of depends on the id (about one run in
    # three drew another kind for one of them, before the state machine too).
    assert sorted(p for p in planned if p[1] not in conditional | drawn and p not in machine[0]) == \
        sorted(s for s in sent if s[1] not in drawn and s not in machine[1])
    # The state machine's steps, as many as it may send; the same until the first look at a settling job (how many
    # looks it takes, and so what the steps after it are, depends on how soon the job settles).
    settling = [p[1] for p in machine[0]].index("machine.settle")
    assert machine[0][:settling + 1] == machine[1][:settling + 1] and settling > 10
    assert all(config.machine.steps - 2 <= len(steps) <= config.machine.steps for steps in machine)


def test_on_aws_the_state_machine_starts_jobs_only_with_create_jobs_and_stops_every_one(
        aws_like: AwsLikeServer, aws_environment: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_like.url)
    base = ["run", "--target", "aws", "--allow-credentials-to-custom-endpoint", "--max-examples", "0", "--seed", "3",
            "--protocol", "awsJson1_1", "--settle-timeout", "2", "--state-machine-steps", "30"]
    assert main(base) == 0
    assert aws_like.requests and not any(name.startswith("Start") for name in aws_like.operations())
    report = tmp_path / "report.json"
    assert main([*base, *JOB_FLAGS, "--report-json", str(report)]) == 0
    assert "and the state machine up to 30 more" in capsys.readouterr().err  # said before any job starts
    data = json.loads(report.read_text())
    started = sum(lane.get("machine.start", 0) for lane in data["coverage"].values())
    assert started >= 4 and len(data["jobs"]["started"]) >= started and not data["jobs"]["left_running"]
    store = aws_like.app.jobs
    assert all(job.status(store.clock.now()) in ("STOP_REQUESTED", "STOPPED") for job in store._jobs.values())
