"""The reference server as the AWS SDKs see it: boto3, and the aws CLI where installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conformance.model.operations import load_operations
from conformance.model.validation import is_valid
from conformance.reference import ManualClock, ReferenceServer
from conftest import TEST_CREDENTIALS

JOB_ID_SCHEMA = load_operations()[0].request["properties"]["JobId"]
ROLE = "arn:aws:iam::123456789012:role/ComprehendAccess"


def start_pii(client: Any) -> dict[str, Any]:
    return client.start_pii_entities_detection_job(
        InputDataConfig={"S3Uri": "s3://bucket/in/"}, OutputDataConfig={"S3Uri": "s3://bucket/out/"},
        Mode="ONLY_OFFSETS", DataAccessRoleArn=ROLE, LanguageCode="en", JobName="conformance",
    )


def start_phi(client: Any) -> dict[str, Any]:
    return client.start_phi_detection_job(
        InputDataConfig={"S3Bucket": "bucket"}, OutputDataConfig={"S3Bucket": "bucket"},
        DataAccessRoleArn=ROLE, LanguageCode="en",
    )


def test_pii_job_start_stop_describe(aws_client: Callable[[str], Any], reference_clock: ManualClock) -> None:
    client = aws_client("comprehend")
    started = start_pii(client)
    job_id = started["JobId"]
    assert started["JobStatus"] == "SUBMITTED"
    assert started["JobArn"] == f"arn:aws:comprehend:us-east-1:123456789012:pii-entities-detection-job/{job_id}"
    assert len(job_id) == 32 and set(job_id) <= set("0123456789abcdef") and is_valid(JOB_ID_SCHEMA, job_id)

    reference_clock.advance(20)
    described = client.describe_pii_entities_detection_job(JobId=job_id)["PiiEntitiesDetectionJobProperties"]
    assert described["JobStatus"] == "IN_PROGRESS"
    assert described["InputDataConfig"]["S3Uri"] == "s3://bucket/in/"
    assert described["Mode"] == "ONLY_OFFSETS" and described["JobName"] == "conformance"

    stopped = client.stop_pii_entities_detection_job(JobId=job_id)
    assert (stopped["JobId"], stopped["JobStatus"]) == (job_id, "STOP_REQUESTED")
    reference_clock.advance(5)
    assert client.stop_pii_entities_detection_job(JobId=job_id)["JobStatus"] == "STOPPED"
    described = client.describe_pii_entities_detection_job(JobId=job_id)["PiiEntitiesDetectionJobProperties"]
    assert described["JobStatus"] == "STOPPED" and "EndTime" in described


def test_phi_job_start_stop_describe(aws_client: Callable[[str], Any], reference_clock: ManualClock) -> None:
    client = aws_client("comprehendmedical")
    job_id = start_phi(client)["JobId"]
    reference_clock.advance(20)
    assert client.describe_phi_detection_job(JobId=job_id)["ComprehendMedicalAsyncJobProperties"]["JobStatus"] == "IN_PROGRESS"
    stopped = client.stop_phi_detection_job(JobId=job_id)
    assert stopped["JobId"] == job_id and "JobStatus" not in stopped  # Medical answers JobId only
    assert client.describe_phi_detection_job(JobId=job_id)["ComprehendMedicalAsyncJobProperties"]["JobStatus"] == "STOP_REQUESTED"


def test_unknown_job_raises_the_modeled_exception(aws_client: Callable[[str], Any]) -> None:
    pii, phi = aws_client("comprehend"), aws_client("comprehendmedical")
    with pytest.raises(pii.exceptions.JobNotFoundException) as caught:
        pii.stop_pii_entities_detection_job(JobId="0" * 32)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(phi.exceptions.ResourceNotFoundException):
        phi.stop_phi_detection_job(JobId="0" * 32)
    with pytest.raises(pii.exceptions.JobNotFoundException):
        pii.describe_pii_entities_detection_job(JobId="no-such-job")


def test_jobs_of_one_service_are_unknown_to_the_other(aws_client: Callable[[str], Any]) -> None:
    job_id = start_pii(aws_client("comprehend"))["JobId"]
    phi = aws_client("comprehendmedical")
    with pytest.raises(phi.exceptions.ResourceNotFoundException):
        phi.stop_phi_detection_job(JobId=job_id)


@pytest.mark.parametrize("service", ["comprehend", "comprehendmedical"])
def test_33_character_job_id_is_a_validation_exception(aws_client: Callable[[str], Any], service: str) -> None:
    client = aws_client(service)
    stop = client.stop_pii_entities_detection_job if service == "comprehend" else client.stop_phi_detection_job
    with pytest.raises(ClientError) as caught:
        stop(JobId="a" * 33)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f"1 validation error detected: Value '{'a' * 33}' at 'jobId' failed to satisfy constraint: "
        "Member must have length less than or equal to 32"
    )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_stopping_a_completed_job_is_invalid_request(aws_client: Callable[[str], Any], reference_clock: ManualClock) -> None:
    client = aws_client("comprehend")
    job_id = start_pii(client)["JobId"]
    reference_clock.advance(10 + 100)
    with pytest.raises(client.exceptions.InvalidRequestException) as caught:
        client.stop_pii_entities_detection_job(JobId=job_id)
    assert "COMPLETED" in caught.value.response["Error"]["Message"]


def test_failed_job_cannot_be_stopped(aws_client: Callable[[str], Any], reference_server: ReferenceServer) -> None:
    client = aws_client("comprehendmedical")
    job_id = start_phi(client)["JobId"]
    reference_server.jobs.fail("comprehendmedical/PHIDetectionJob", job_id, "input bucket unreadable")
    described = client.describe_phi_detection_job(JobId=job_id)["ComprehendMedicalAsyncJobProperties"]
    assert (described["JobStatus"], described["Message"]) == ("FAILED", "input bucket unreadable")
    with pytest.raises(client.exceptions.InvalidRequestException):
        client.stop_phi_detection_job(JobId=job_id)


def test_start_request_validation_comes_from_the_model(aws_client: Callable[[str], Any]) -> None:
    client = aws_client("comprehend")
    with pytest.raises(ClientError) as caught:
        client.start_pii_entities_detection_job(
            InputDataConfig={"S3Uri": "s3://bucket/in/"}, OutputDataConfig={"S3Uri": "s3://bucket/out/"},
            Mode="ONLY_OFFSETS", DataAccessRoleArn="arn:aws:iam::123:role/short", LanguageCode="en",
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "at 'dataAccessRoleArn' failed to satisfy constraint: Member must satisfy regular expression" in (
        caught.value.response["Error"]["Message"]
    )


def test_client_request_token_is_idempotent(aws_client: Callable[[str], Any]) -> None:
    client = aws_client("comprehendmedical")
    args = dict(InputDataConfig={"S3Bucket": "bucket-in"}, OutputDataConfig={"S3Bucket": "bucket-out"}, DataAccessRoleArn=ROLE,
                LanguageCode="en", ClientRequestToken="token-1")
    assert client.start_phi_detection_job(**args)["JobId"] == client.start_phi_detection_job(**args)["JobId"]
    assert client.start_phi_detection_job(**{**args, "ClientRequestToken": "token-2"})["JobId"] != (
        client.start_phi_detection_job(**args)["JobId"]
    )


@pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed")
def test_aws_cli_start_stop_and_unknown_job(reference_server: ReferenceServer, tmp_path: Any) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_MAX_ATTEMPTS": "1",
    }
    env.pop("AWS_PROFILE", None)

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["aws", "--endpoint-url", reference_server.url, "--output", "json", *args],
                              capture_output=True, text=True, env=env, timeout=60)

    started = aws("comprehendmedical", "start-phi-detection-job", "--input-data-config", "S3Bucket=bucket",
                  "--output-data-config", "S3Bucket=bucket", "--data-access-role-arn", ROLE, "--language-code", "en")
    assert started.returncode == 0, started.stderr
    job_id = json.loads(started.stdout)["JobId"]
    stopped = aws("comprehendmedical", "stop-phi-detection-job", "--job-id", job_id)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["JobId"] == job_id
    missing = aws("comprehend", "stop-pii-entities-detection-job", "--job-id", "0" * 32)
    assert missing.returncode != 0 and "JobNotFoundException" in missing.stderr


@pytest.fixture
def cbor_clients(aws_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    """boto3 clients forced onto botocore's rpcv2Cbor serializer and parser."""
    import botocore.model

    monkeypatch.setattr(botocore.model.ServiceModel, "resolved_protocol",
                        property(lambda self: "smithy-rpc-v2-cbor"))
    return aws_client


def test_botocore_over_cbor_starts_describes_and_stops(cbor_clients: Callable[[str], Any],
                                                       reference_clock: ManualClock) -> None:
    phi = cbor_clients("comprehendmedical")
    sent: list[tuple[str, str]] = []
    phi.meta.events.register("before-send", lambda request, **kwargs: sent.append(
        (request.url, request.headers.get("Content-Type", b""))))
    job_id = start_phi(phi)["JobId"]
    assert sent[-1][0].endswith("/service/ComprehendMedical_20181030/operation/StartPHIDetectionJob")
    assert b"application/cbor" in (sent[-1][1] if isinstance(sent[-1][1], bytes) else sent[-1][1].encode())
    reference_clock.advance(20)
    described = phi.describe_phi_detection_job(JobId=job_id)["ComprehendMedicalAsyncJobProperties"]
    assert described["JobStatus"] == "IN_PROGRESS"
    assert described["SubmitTime"].timestamp() == pytest.approx(reference_clock.now() - 20)  # tag-1 timestamp
    assert phi.stop_phi_detection_job(JobId=job_id)["JobId"] == job_id
    with pytest.raises(phi.exceptions.ResourceNotFoundException):
        phi.stop_phi_detection_job(JobId="0" * 32)
    with pytest.raises(ClientError) as caught:
        phi.stop_phi_detection_job(JobId="a" * 33)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    pii = cbor_clients("comprehend")
    assert pii.stop_pii_entities_detection_job(JobId=start_pii(pii)["JobId"])["JobStatus"] == "STOP_REQUESTED"
