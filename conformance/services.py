"""The job APIs the suite and the reference server know: which operations start, describe and stop a job.

This is data, shared by the reference server (which serves these operations) and the suite (which
starts jobs so that Stop has something real to stop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobApi:
    """The data that ties one service's job operations together."""

    service: str  # botocore's service name
    start: str
    describe: str
    stop: str
    arn_resource: str | None  # the job ARN's resource type; None where the API has no job ARNs
    start_example: dict[str, Any]  # a valid Start request for a target with no real S3 data behind it


_ROLE = "arn:aws:iam::123456789012:role/ConformanceSuiteRole"

JOB_APIS = (
    JobApi(
        "comprehend", "StartPiiEntitiesDetectionJob", "DescribePiiEntitiesDetectionJob",
        "StopPiiEntitiesDetectionJob", "pii-entities-detection-job",
        {
            "InputDataConfig": {"S3Uri": "s3://conformance-suite-input/in/"},
            "OutputDataConfig": {"S3Uri": "s3://conformance-suite-output/out/"},
            "Mode": "ONLY_OFFSETS", "DataAccessRoleArn": _ROLE, "LanguageCode": "en",
            "JobName": "conformance-suite",
        },
    ),
    JobApi(
        "comprehendmedical", "StartPHIDetectionJob", "DescribePHIDetectionJob", "StopPHIDetectionJob", None,
        {
            "InputDataConfig": {"S3Bucket": "conformance-suite-input"},
            "OutputDataConfig": {"S3Bucket": "conformance-suite-output"},
            "DataAccessRoleArn": _ROLE, "LanguageCode": "en", "JobName": "conformance-suite",
        },
    ),
)


@dataclass(frozen=True)
class JobSetup:
    """What a real Start needs: S3 input and output locations and a role the service may assume."""

    input_s3_uri: str  # s3://bucket/prefix of documents to read
    output_s3_uri: str  # s3://bucket/prefix to write results to
    data_access_role_arn: str

    def __post_init__(self) -> None:
        for uri in (self.input_s3_uri, self.output_s3_uri):
            bucket, _ = split_s3_uri(uri)
            if not bucket:
                raise ValueError(f"{uri!r} is not an S3 URI (s3://bucket/prefix)")
        if not self.data_access_role_arn.startswith("arn:aws") or ":role/" not in self.data_access_role_arn:
            raise ValueError(f"{self.data_access_role_arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of s3://bucket/key; an empty bucket when the text is not an S3 URI."""
    if not uri.startswith("s3://"):
        return "", ""
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def start_request(api: JobApi, setup: JobSetup | None) -> dict[str, Any]:
    """The Start request for a job: the API's placeholder example, or one that reads and writes the user's S3 data."""
    if setup is None:
        return dict(api.start_example)
    request = {**api.start_example, "DataAccessRoleArn": setup.data_access_role_arn}
    if "S3Uri" in api.start_example["InputDataConfig"]:
        request["InputDataConfig"] = {"S3Uri": setup.input_s3_uri}
        request["OutputDataConfig"] = {"S3Uri": setup.output_s3_uri}
    else:  # Comprehend Medical names the bucket and the key apart
        (in_bucket, in_key), (out_bucket, out_key) = split_s3_uri(setup.input_s3_uri), split_s3_uri(setup.output_s3_uri)
        request["InputDataConfig"] = {"S3Bucket": in_bucket, **({"S3Key": in_key} if in_key else {})}
        request["OutputDataConfig"] = {"S3Bucket": out_bucket, **({"S3Key": out_key} if out_key else {})}
    return request


def job_api_for(service: str, operation: str) -> JobApi | None:
    """The job API an operation of a service belongs to, if any."""
    return next((api for api in JOB_APIS if api.service == service and operation in (api.start, api.describe, api.stop)), None)
