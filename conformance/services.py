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


def job_api_for(service: str, operation: str) -> JobApi | None:
    """The job API an operation of a service belongs to, if any."""
    return next((api for api in JOB_APIS if api.service == service and operation in (api.start, api.describe, api.stop)), None)
