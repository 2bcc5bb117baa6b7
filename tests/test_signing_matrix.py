"""The signing matrix: each wrong signing is sent as it says, refused by a verifying server as AWS refuses it, listed
by the dry run redacted, and reproduced unsigned; a right one is never refused."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterator

import pytest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.cases import Case, Kind, Signing, categories
from conformance.engine.config import RunConfig
from conformance.engine.lanes import Lane
from conformance.engine.phases.auth import ONLY_IF_REFUSED, SIGNINGS
from conformance.engine.runner import planned_requests, run
from conformance.engine.safety import UnsafeRequest
from conformance.engine.transport import Transport
from conformance.engine.transport.signing import CHANGED_HEADER, OTHER_ALGORITHM, other_region, signed_headers
from conformance.engine.verdict import Verdict
from conformance.generation.strategies.strings import StringSpace
from conformance.model.operations import Operation, load_operations
from conformance.protocols import get_protocol
from conformance.reference import ReferenceApp, ReferenceServer
from conformance.reference.aws_mode import TEST_CREDENTIALS, SigV4Verifier
from conformance.report import plan, summarise
from conformance.report.reproduce import curl_command
from conformance.targets.target import Target
from conformance.wire import cbor, sigv4
from conformance.wire.credentials import DUMMY_CREDENTIALS, UNKNOWN_KEY_CREDENTIALS
from conformance.wire.http import HttpRequest

STOPS = [op for op in load_operations() if op.name in ("StopPiiEntitiesDetectionJob", "StopPHIDetectionJob")]
LANES = [Lane(op, get_protocol(name)) for op in STOPS for name in ("awsJson1_1", "rpcv2Cbor")]
MATRIX = [signing for _, signing in SIGNINGS]  # the unsigned request, then every wrong signing
CATEGORY = {signing: category for category, signing in SIGNINGS}
INVALID, INCOMPLETE = "InvalidSignatureException", "IncompleteSignatureException"
# The error type AWS answers each with (PROTOCOL_NOTES §7; DynamoDB's recorded answers for the scope and algorithm).
AWS_ANSWERS = {
    Signing.UNSIGNED: "MissingAuthenticationTokenException",
    Signing.BAD_SIGNATURE: INVALID, Signing.EXPIRED_DATE: INVALID, Signing.DATE_BEHIND: INVALID,
    Signing.DATE_AHEAD: INVALID, Signing.OTHER_REGION: INVALID, Signing.OTHER_SERVICE: INVALID,
    Signing.OTHER_SCOPE_DATE: INVALID, Signing.OTHER_TERMINATOR: INVALID,
    Signing.UNKNOWN_KEY: "UnrecognizedClientException",
    Signing.SIGNED_HEADER_CHANGED: INVALID, Signing.BODY_CHANGED: INVALID,
    Signing.INCOMPLETE_AUTHORIZATION: INCOMPLETE, Signing.OTHER_ALGORITHM: INCOMPLETE,
}
# A user's own temporary key pair, allowed to sign for loopback (as --allow-credentials-to-custom-endpoint does).
USER = Credentials("AKIAUSERSOWNKEYPAIR1", "the-users-own-secret", "the-users-own-token")


def test_the_matrix_is_every_signing_but_a_clients_own_and_each_has_its_aws_answer() -> None:
    assert set(MATRIX) == set(Signing) - {Signing.SIGV4} == set(AWS_ANSWERS)
    assert all(CATEGORY[signing].kind is Kind.AUTH and CATEGORY[signing].name.startswith("auth.") for signing in MATRIX)


def case_for(lane: Lane, signing: Signing, job_id: str = "conformance-auth") -> Case:
    """A valid Stop of a job that does not exist, signed as `signing` says."""
    category = CATEGORY.get(signing, categories.PROBE)
    return Case(lane.operation.name, category.name, category.kind, category.description, document={"JobId": job_id},
                job_id=job_id, signing=signing)


class Recorded:
    """The reference server in SigV4 mode (with `credentials`), keeping every request it receives."""

    def __init__(self, credentials: Credentials | None = None) -> None:
        keys = TEST_CREDENTIALS if credentials is None else {credentials.access_key: credentials}
        self.app = ReferenceApp(verifier=SigV4Verifier(keys))
        self.received: list[HttpRequest] = []
        self._lock = threading.Lock()
        handle = self.app.handle

        def keep(request: HttpRequest):  # noqa: ANN202 - the app's own signature
            with self._lock:
                self.received.append(request)
            return handle(request)

        self.app.handle = keep  # type: ignore[method-assign]
        self.server = ReferenceServer(app=self.app)


@pytest.fixture(scope="module")
def recorded() -> Iterator[Recorded]:
    """One SigV4-enforcing reference server for the module (its answers depend only on each request)."""
    server = Recorded()
    with server.server:
        yield server


@pytest.fixture(scope="module")
def transport(recorded: Recorded) -> Iterator[Transport]:
    """A transport to it with the suite's dummy key pair, as a run against a custom endpoint has."""
    sender = Transport(Target(recorded.server.url))
    yield sender
    sender.close()


def error_type_of(lane: Lane, transport: Transport, case: Case) -> tuple[int, str | None]:
    """Send the case as its signing says; the answer's status and error type."""
    answer = lane.protocol.decode(transport.send(lane.protocol.encode(lane.operation, case), lane.operation.service,
                                                 signing=case.signing))
    return answer.status, answer.error_type


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_wrong_signing_is_refused_as_aws_refuses_it_and_a_right_one_never_is(transport: Transport,
                                                                                    data: st.DataObject) -> None:
    lane = data.draw(st.sampled_from(LANES), label="lane")
    job_id = data.draw(StringSpace.of(lane.operation.request["properties"]["JobId"]).valid(), label="JobId")[2]
    assert error_type_of(lane, transport, case_for(lane, Signing.SIGV4, job_id)) == (
        400, lane.operation.not_found_error)  # authenticated: the job lookup answered
    for signing in MATRIX:
        assert error_type_of(lane, transport, case_for(lane, signing, job_id)) == (400, AWS_ANSWERS[signing]), signing


# What the server receives ----------------------------------------------------------------------------------------


def received(server: Recorded, target: Target, lane: Lane, signing: Signing) -> tuple[HttpRequest, HttpRequest]:
    """The request as the suite encoded it, and as the server received it."""
    sender = Transport(target)
    try:
        request = lane.protocol.encode(lane.operation, case_for(lane, signing))
        before = len(server.received)
        sender.send(request, lane.operation.service, signing=signing)
    finally:
        sender.close()
    (got,) = server.received[before:]
    return request, got


def authorization(request: HttpRequest) -> sigv4.Authorization:
    """The received request's Authorization header, parsed."""
    auth = sigv4.parse_authorization(request.header("Authorization") or "")
    assert auth is not None
    return auth


def recomputed(request: HttpRequest, credentials: Credentials, **changed_headers: str) -> str:
    """The signature of the received request (with some headers as they were before it was sent), over what it says
    it signed."""
    auth = authorization(request)
    headers = {**request.headers, **changed_headers}
    return sigv4.expected_signature(request.method, f"http://{request.header('Host')}{request.path}", headers,
                                    request.body, credentials, auth, request.header("X-Amz-Date") or "")


def signed_minutes_from_now(request: HttpRequest) -> float:
    """How far X-Amz-Date is from now, in minutes (negative: in the past)."""
    signed_at = datetime.datetime.strptime(request.header("X-Amz-Date") or "", "%Y%m%dT%H%M%SZ")
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    return (signed_at - now).total_seconds() / 60


def _consistent(got: HttpRequest, credentials: Credentials) -> bool:
    return authorization(got).signature == recomputed(got, credentials)


# For each signing, what must hold of the request the server got (`sent` as encoded, `got` as received), beyond
# that it is signed with the target's own key pair unless said otherwise.
def _other_scope(part: str, wrong: Callable[[str, Target, Operation], bool]) \
        -> Callable[[HttpRequest, HttpRequest, Target, Operation], bool]:
    return lambda sent, got, target, operation: wrong(getattr(authorization(got), part), target, operation)


SENT_AS_SAID: dict[Signing, Callable[[HttpRequest, HttpRequest, Target, Operation], bool]] = {
    Signing.BAD_SIGNATURE: lambda sent, got, target, operation: not _consistent(got, target.credentials),
    Signing.EXPIRED_DATE: lambda sent, got, target, operation: -62 < signed_minutes_from_now(got) < -58,
    Signing.DATE_BEHIND: lambda sent, got, target, operation: -21 < signed_minutes_from_now(got) <= -16,
    Signing.DATE_AHEAD: lambda sent, got, target, operation: 16 <= signed_minutes_from_now(got) < 21,
    Signing.OTHER_REGION: _other_scope("region", lambda region, target, operation: region == other_region(
        target.region) != target.region),
    Signing.OTHER_SERVICE: _other_scope("service", lambda service, target, operation: service not in (
        operation.service.signing_name, "")),
    Signing.OTHER_SCOPE_DATE: lambda sent, got, target, operation: authorization(got).date not in (
        (got.header("X-Amz-Date") or "")[:8], ""),
    Signing.OTHER_TERMINATOR: _other_scope("terminator", lambda terminator, target, operation: terminator not in (
        sigv4.TERMINATOR, "")),
    Signing.SIGNED_HEADER_CHANGED: lambda sent, got, target, operation: (
        CHANGED_HEADER.lower() in authorization(got).signed_headers and got.header(CHANGED_HEADER) == "b"
        and not _consistent(got, target.credentials)
        and authorization(got).signature == recomputed(got, target.credentials, **{CHANGED_HEADER: "a"})),
    # The body received is the case's own (valid, naming no job); the signature is over another one, whose hash the
    # signed X-Amz-Content-SHA256 gives, not the received body's.
    Signing.BODY_CHANGED: lambda sent, got, target, operation: (
        got.body == sent.body and "x-amz-content-sha256" in authorization(got).signed_headers
        and got.header("X-Amz-Content-SHA256") != hashlib.sha256(got.body).hexdigest()
        and authorization(got).signature != recomputed(
            got, target.credentials, **{"X-Amz-Content-SHA256": hashlib.sha256(got.body).hexdigest()})),
    Signing.INCOMPLETE_AUTHORIZATION: lambda sent, got, target, operation: (
        authorization(got).missing == ("Signature",) and "Signature=" not in (got.header("Authorization") or "")),
    Signing.OTHER_ALGORITHM: lambda sent, got, target, operation: authorization(got).algorithm == OTHER_ALGORITHM,
}
# Signed wrongly on purpose, in a way the signature itself does not show: the rest is signed consistently.
CONSISTENT = set(MATRIX) - {Signing.UNSIGNED, Signing.BAD_SIGNATURE, Signing.SIGNED_HEADER_CHANGED,
                            Signing.INCOMPLETE_AUTHORIZATION}


@pytest.mark.parametrize("credentials", [DUMMY_CREDENTIALS, USER], ids=["dummy pair", "user's own pair"])
@pytest.mark.parametrize("lane", LANES, ids=lambda lane: lane.label)
def test_the_transport_sends_what_each_signing_says(recorded: Recorded, lane: Lane, credentials: Credentials) -> None:
    target = Target(recorded.server.url, region="eu-central-1", credentials=credentials,
                    credentials_to_custom_endpoint=credentials is USER)
    sent, got = received(recorded, target, lane, Signing.SIGV4)
    assert _consistent(got, credentials) and got.body == sent.body
    assert authorization(got).scope[1:] == ((got.header("X-Amz-Date") or "")[:8], "eu-central-1",
                                            lane.operation.service.signing_name, "aws4_request")
    for signing in MATRIX[1:]:
        sent, got = received(recorded, target, lane, signing)
        assert SENT_AS_SAID.get(signing, lambda *_: True)(sent, got, target, lane.operation), signing
        assert got.body == sent.body, signing  # the case's own body always goes out
        keys = UNKNOWN_KEY_CREDENTIALS if signing is Signing.UNKNOWN_KEY else credentials
        assert authorization(got).access_key == keys.access_key, signing
        assert got.header("X-Amz-Security-Token") == keys.token, signing  # the user's token only with the user's key
        if signing in CONSISTENT:
            assert _consistent(got, keys), signing
    # The unknown key is one no server has, and its signature is not the user's secret's.
    _, got = received(recorded, target, lane, Signing.UNKNOWN_KEY)
    assert authorization(got).access_key not in {*TEST_CREDENTIALS, credentials.access_key}
    assert not _consistent(got, Credentials(authorization(got).access_key, USER.secret_key))


def test_the_body_changed_after_signing_is_still_a_valid_body_naming_no_job(recorded: Recorded) -> None:
    for lane in LANES:
        _, got = received(recorded, Target(recorded.server.url), lane, Signing.BODY_CHANGED)
        document = json.loads(got.body) if lane.protocol.name == "awsJson1_1" else cbor.decode(got.body)
        assert document == {"JobId": "conformance-auth"}


# The dry run and the reproduction ---------------------------------------------------------------------------------


@pytest.mark.parametrize("credentials", [DUMMY_CREDENTIALS, USER], ids=["dummy pair", "user's own pair"])
def test_the_dry_run_lists_every_wrong_signing_signed_and_redacted(credentials: Credentials) -> None:
    target = Target("http://127.0.0.1:9", credentials=credentials, credentials_to_custom_endpoint=credentials is USER)
    config = RunConfig(target, max_examples=0, seed=1, operations=("StopPiiEntitiesDetectionJob",),
                       protocol="awsJson1_1", create_jobs=False)
    requests = [planned for planned in planned_requests(config) if planned.case.category.startswith("auth.")]
    out = io.StringIO()
    plan.write(requests, target, out)  # nothing listens on port 9: a dry run sends nothing
    text = out.getvalue()
    listings = text.split("\n#")[1:]
    assert [listing.split(": ")[1] for listing in listings] == [CATEGORY[signing].name for signing in MATRIX]
    assert all(ONLY_IF_REFUSED in listing for listing in listings[1:])
    assert text.count("Authorization: <redacted>") == len(MATRIX) - 1  # all but the unsigned one
    assert text.count("X-Amz-Security-Token: <redacted>") == (len(MATRIX) - 2 if credentials.token else 0)
    assert "Signature=" not in text and credentials.secret_key not in text and "the-users-own-token" not in text
    assert f"{CHANGED_HEADER}: b" in text and "X-Amz-Content-SHA256: " in text


def test_every_authentication_case_is_reproduced_unsigned_and_a_signed_one_signed() -> None:
    lane = LANES[0]
    request = lane.protocol.encode(lane.operation, case_for(lane, Signing.SIGV4))
    for credentials in (DUMMY_CREDENTIALS, USER):
        target = Target("http://127.0.0.1:9", credentials=credentials,
                        credentials_to_custom_endpoint=credentials is USER)
        assert "--aws-sigv4" in curl_command(request, target, lane.operation.service, Signing.SIGV4)
        for signing in MATRIX:
            curl = curl_command(request, target, lane.operation.service, signing)
            assert "--aws-sigv4" not in curl and "--user" not in curl and "AWS_SECRET" not in curl, signing
            assert credentials.secret_key not in curl


def test_no_signing_signs_for_a_host_outside_aws_with_real_credentials_unless_allowed() -> None:
    lane = LANES[0]
    request = lane.protocol.encode(lane.operation, case_for(lane, Signing.SIGV4))
    aws = Target("https://comprehend.us-east-1.amazonaws.com", credentials=USER)
    for signing in [Signing.SIGV4, *MATRIX[1:]]:
        with pytest.raises(UnsafeRequest):
            signed_headers(request, "http://127.0.0.1:9/", lane.operation.service, aws, signing)


@pytest.mark.parametrize("credentials", [DUMMY_CREDENTIALS, USER], ids=["dummy pair", "user's own pair"])
def test_a_run_against_a_server_checking_its_key_pair_conforms_with_every_wrong_signing_judged(
        credentials: Credentials) -> None:
    # The dummy pair is one of the reference's test keys; the user's own pair is the one key the server is given.
    server = Recorded(None if credentials is DUMMY_CREDENTIALS else credentials)
    with server.server:
        target = Target(server.server.url, credentials=credentials, credentials_to_custom_endpoint=credentials is USER)
        summary = summarise(run(RunConfig(target, max_examples=0, seed=3, operations=("StopPHIDetectionJob",),
                                          create_jobs=False)))
    assert summary.verdict is Verdict.CONFORMS, summary.decision.reasons
    for lane in ("StopPHIDetectionJob over awsJson1_1", "StopPHIDetectionJob over rpcv2Cbor"):
        assert {CATEGORY[signing].name for signing in MATRIX} <= set(summary.coverage[lane])
    keys = {authorization(request).access_key for request in server.received if request.header("Authorization")}
    assert keys == {credentials.access_key, UNKNOWN_KEY_CREDENTIALS.access_key}
