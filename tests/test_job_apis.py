"""Job APIs derived from botocore's model: siblings, Start requests, status paths, ARNs, and the reference server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.model import ShapeResolver
from botocore.validate import validate_parameters

from conformance.engine.job_flow import member_at, planned_flow
from conformance.model import botocore_model, job_apis
from conformance.model.job_apis import JobSetup, build_start_example, job_api_for, job_apis_of, start_request
from conformance.model.operations import document_filename, render_document
from conformance.protocols import get_protocol
from conformance.reference import ReferenceServer
from conformance.reference.app import ReferenceApp
from conformance.reference.catalog import Role, build_routes
from conformance.reference.job_store import JobStore, ManualClock, Timings
from conftest import post

COMPREHEND = ("DominantLanguageDetection", "EntitiesDetection", "EventsDetection", "KeyPhrasesDetection",
              "PiiEntitiesDetection", "SentimentDetection", "TargetedSentimentDetection")
MEDICAL = ("EntitiesDetectionV2", "ICD10CMInference", "PHIDetection", "RxNormInference", "SNOMEDCTInference")
STOPS = [("comprehend", f"Stop{kind}Job") for kind in COMPREHEND] + \
        [("comprehendmedical", f"Stop{kind}Job") for kind in MEDICAL]
ARN_RESOURCES = {
    "StopDominantLanguageDetectionJob": "dominant-language-detection-job",
    "StopEntitiesDetectionJob": "entities-detection-job",
    "StopEventsDetectionJob": "events-detection-job",
    "StopKeyPhrasesDetectionJob": "key-phrases-detection-job",
    "StopPiiEntitiesDetectionJob": "pii-entities-detection-job",
    "StopSentimentDetectionJob": "sentiment-detection-job",
    "StopTargetedSentimentDetectionJob": "targeted-sentiment-detection-job",
}


def _start_shape(api: job_apis.JobApi):
    return botocore_model.service_model(api.service).operation_model(api.start).input_shape


@pytest.mark.parametrize(("service", "stop"), STOPS)
def test_siblings_are_found_by_name(service: str, stop: str) -> None:
    api = job_api_for(service, stop)
    assert api is not None
    kind = stop[len("Stop"):]
    assert (api.service, api.start, api.describe, api.stop) == (service, f"Start{kind}", f"Describe{kind}", stop)


@pytest.mark.parametrize(("service", "name"), [
    ("comprehend", "StartPiiEntitiesDetectionJob"),  # a Start or a Describe stops nothing
    ("comprehend", "DescribePiiEntitiesDetectionJob"),
    ("comprehend", "StopTrainingEntityRecognizer"),  # not a Stop…Job, and no JobId
    ("comprehend", "StopNoSuchJob"),  # not an operation of the service
    ("no-such-service", "StopPiiEntitiesDetectionJob"),
])
def test_other_operations_have_no_job_api(service: str, name: str) -> None:
    assert job_api_for(service, name) is None


def test_an_override_takes_effect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(job_apis.OVERRIDES, ("comprehend", "StopSentimentDetectionJob"),
                        {"start": "StartTargetedSentimentDetectionJob",
                         "describe": "DescribeTargetedSentimentDetectionJob"})
    api = job_api_for("comprehend", "StopSentimentDetectionJob")
    assert api is not None
    assert (api.start, api.describe, api.stop) == ("StartTargetedSentimentDetectionJob",
                                                    "DescribeTargetedSentimentDetectionJob",
                                                    "StopSentimentDetectionJob")
    assert api.status_path == ("TargetedSentimentDetectionJobProperties", "JobStatus")
    monkeypatch.setitem(job_apis.OVERRIDES, ("comprehend", "StopSentimentDetectionJob"), {"arn_resource": "custom"})
    assert job_api_for("comprehend", "StopSentimentDetectionJob").arn_resource == "custom"  # type: ignore[union-attr]
    monkeypatch.setitem(job_apis.OVERRIDES, ("comprehend", "StopSentimentDetectionJob"), {"start": "StartNoSuchJob"})
    with pytest.raises(ValueError, match="StartNoSuchJob"):
        job_api_for("comprehend", "StopSentimentDetectionJob")
    monkeypatch.delitem(job_apis.OVERRIDES, ("comprehend", "StopSentimentDetectionJob"))
    assert job_api_for("comprehend", "StopSentimentDetectionJob").start == "StartSentimentDetectionJob"  # type: ignore[union-attr]


@pytest.mark.parametrize(("service", "stop"), STOPS)
def test_the_start_example_passes_botocores_validation(service: str, stop: str) -> None:
    api = job_api_for(service, stop)
    assert api is not None
    validate_parameters(api.start_example, _start_shape(api))  # raises ParamValidationError on any problem
    assert api.start_example["DataAccessRoleArn"] == job_apis.EXAMPLE_ROLE_ARN
    assert api.start_example["JobName"] == "conformance-suite"
    assert api.start_example.get("LanguageCode", "en") == "en"  # DominantLanguageDetection takes none
    if service == "comprehend":
        assert api.start_example["InputDataConfig"] == {"S3Uri": "s3://conformance-suite-input/in/"}
        assert api.start_example["OutputDataConfig"] == {"S3Uri": "s3://conformance-suite-output/out/"}
    else:
        assert api.start_example["InputDataConfig"] == {"S3Bucket": "conformance-suite-input"}
        assert api.start_example["OutputDataConfig"] == {"S3Bucket": "conformance-suite-output"}


def test_preferred_values_where_the_model_cannot_choose() -> None:
    pii = job_api_for("comprehend", "StopPiiEntitiesDetectionJob")
    events = job_api_for("comprehend", "StopEventsDetectionJob")
    assert pii is not None and events is not None
    assert pii.start_example["Mode"] == "ONLY_OFFSETS"
    assert events.start_example["TargetEventTypes"] == ["BANKRUPTCY"]


@pytest.mark.parametrize(("service", "stop"), STOPS)
@pytest.mark.parametrize(("input_uri", "output_uri"), [("s3://my-input/docs/one.txt", "s3://my-output/results/"),
                                                       ("s3://my-input", "s3://my-output")])
def test_start_request_puts_the_users_setup_in_place(service: str, stop: str, input_uri: str, output_uri: str) -> None:
    api = job_api_for(service, stop)
    assert api is not None
    role = "arn:aws:iam::111122223333:role/Mine"
    request = start_request(api, JobSetup(input_uri, output_uri, role))
    validate_parameters(request, _start_shape(api))
    assert request["DataAccessRoleArn"] == role
    if service == "comprehend":
        assert (request["InputDataConfig"], request["OutputDataConfig"]) == ({"S3Uri": input_uri}, {"S3Uri": output_uri})
    else:
        (in_bucket, in_key), (out_bucket, out_key) = job_apis.split_s3_uri(input_uri), job_apis.split_s3_uri(output_uri)
        assert request["InputDataConfig"] == {"S3Bucket": in_bucket, **({"S3Key": in_key} if in_key else {})}
        assert request["OutputDataConfig"] == {"S3Bucket": out_bucket, **({"S3Key": out_key} if out_key else {})}
    assert start_request(api, None) == api.start_example
    assert start_request(api, None) is not api.start_example  # a copy: the flow adds its token to it


@pytest.mark.parametrize(("service", "stop"), STOPS)
def test_status_path_and_arn_resource(service: str, stop: str) -> None:
    api = job_api_for(service, stop)
    assert api is not None
    properties = "ComprehendMedicalAsyncJobProperties" if service == "comprehendmedical" \
        else f"{stop[len('Stop'):]}Properties"
    assert (api.properties_member, api.status_path) == (properties, (properties, "JobStatus"))
    assert api.arn_resource == ARN_RESOURCES.get(stop)


def test_the_flow_reads_the_status_by_its_path() -> None:
    assert member_at({"P": {"JobStatus": "STOPPED"}}, ("P", "JobStatus")) == "STOPPED"
    assert member_at({"P": "x"}, ("P", "JobStatus")) is None
    assert member_at({"JobStatus": "STOPPED", "Q": {}}, ("P", "JobStatus")) is None
    api = job_api_for("comprehendmedical", "StopRxNormInferenceJob")
    assert api is not None
    stop = botocore_model.operation("comprehendmedical", "StopRxNormInferenceJob")
    categories = [case.category for _, case, _ in planned_flow(stop, api, get_protocol("awsJson1_1"))]
    assert categories[-2:] == ["existing.settled", "existing.stop_settled"]  # the plan saw STOPPED at the path


def test_strings_are_built_from_their_constraints_or_refused_by_name() -> None:
    resolver = ShapeResolver({
        "In": {"type": "structure", "required": ["Lower", "Count", "Items"],
               "members": {"Lower": {"shape": "Lower"}, "Count": {"shape": "Count"}, "Items": {"shape": "Items"}}},
        "Lower": {"type": "string", "min": 20, "max": 30, "pattern": "^[a-z]+$"},
        "Count": {"type": "integer", "min": 3, "max": 9},
        "Items": {"type": "list", "member": {"shape": "Upper"}, "min": 2},
        "Upper": {"type": "string", "pattern": "^[A-Z]+$"},
        "Bad": {"type": "structure", "required": ["Weird"], "members": {"Weird": {"shape": "Weird"}}},
        "Weird": {"type": "string", "pattern": "^#{3}$"},
    })
    example = build_start_example(resolver.get_shape_by_name("In"))
    assert re.fullmatch("[a-z]{20,30}", example["Lower"])
    assert example["Count"] == 3 and len(example["Items"]) == 2 and example["Items"][0].isupper()
    with pytest.raises(ValueError, match="Weird"):
        build_start_example(resolver.get_shape_by_name("Bad"))


# The reference server, serving all 12 from a schema folder --------------------------------------------------------


@pytest.fixture(scope="module")
def family_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A schema folder with the 12 Stop operations, from botocore's model, and one operation that stops no job."""
    folder = tmp_path_factory.mktemp("schemas")
    for service, stop in [*STOPS, ("comprehend", "StopTrainingEntityRecognizer")]:
        operation = botocore_model.operation(service, stop)
        (folder / document_filename(operation)).write_text(render_document(operation), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def family_server(family_dir: Path) -> Iterator[ReferenceServer]:
    app = ReferenceApp(JobStore(ManualClock(), Timings(queued=10, running=100, stopping=5)), schema_dir=family_dir)
    with ReferenceServer(app=app) as server:
        yield server


def test_routes_cover_every_job_stop_and_only_those(family_dir: Path) -> None:
    routes = build_routes(family_dir)
    served = {(route.operation.service.name, route.operation.name, route.role) for route in routes.values()}
    expected = set()
    for api in job_apis_of(botocore_model.operation(service, stop) for service, stop in STOPS):
        expected |= {(api.service, api.start, Role.START), (api.service, api.describe, Role.DESCRIBE),
                     (api.service, api.stop, Role.STOP)}
    assert served == expected  # StopTrainingEntityRecognizer stops no job: not served


def _call(server: ReferenceServer, service: str, name: str, body: dict) -> dict:
    operation = botocore_model.operation(service, name)
    status, _, answer = post(server.url, operation.target, json.dumps(body))
    assert status == 200, (name, answer)
    problems = [error.message for error in operation.validator("response").iter_errors(answer)]
    assert problems == [], (name, problems)
    return answer


@pytest.mark.parametrize(("service", "stop"), STOPS)
def test_the_reference_server_serves_start_describe_and_stop(family_server: ReferenceServer, service: str,
                                                             stop: str) -> None:
    api = job_api_for(service, stop)
    assert api is not None
    started = _call(family_server, service, api.start, api.start_example)
    job_id = started["JobId"]
    if api.arn_resource:
        assert re.fullmatch(rf"arn:aws:comprehend:us-east-1:123456789012:{api.arn_resource}/{job_id}",
                            started["JobArn"])
    else:
        assert "JobArn" not in started
    described = _call(family_server, service, api.describe, {"JobId": job_id})
    assert member_at(described, api.status_path) == "SUBMITTED"
    assert described[api.properties_member]["JobName"] == "conformance-suite"
    stopped = _call(family_server, service, api.stop, {"JobId": job_id})
    stop_members = set(botocore_model.operation(service, stop).response["properties"])
    assert set(stopped) <= stop_members and stopped["JobId"] == job_id  # Medical's answer is the JobId alone
    assert ("JobStatus" in stopped) == ("JobStatus" in stop_members)
    assert member_at(_call(family_server, service, api.describe, {"JobId": job_id}), api.status_path) == \
        "STOP_REQUESTED"


def test_a_job_is_found_only_through_the_operations_of_its_own_kind(reference_server: ReferenceServer) -> None:
    """Job ids are looked up within their kind: a PII job is no key-phrases job (AWS answers JobNotFound)."""
    status, _, started = post(reference_server.url, "Comprehend_20171127.StartPiiEntitiesDetectionJob",
                              json.dumps(job_api_for("comprehend", "StopPiiEntitiesDetectionJob").start_example))
    assert status == 200
    for operation in ("DescribeKeyPhrasesDetectionJob", "StopKeyPhrasesDetectionJob"):
        status, _, body = post(reference_server.url, f"Comprehend_20171127.{operation}",
                               json.dumps({"JobId": started["JobId"]}))
        # Describe has no page: its error's status is botocore's model's (404 since 1.44); Stop's is its page's, 400.
        assert (status, body["__type"]) == (404 if operation.startswith("Describe") else 400,
                                            "JobNotFoundException"), operation
    status, _, body = post(reference_server.url, "Comprehend_20171127.DescribePiiEntitiesDetectionJob",
                           json.dumps({"JobId": started["JobId"]}))
    assert status == 200 and body["PiiEntitiesDetectionJobProperties"]["JobId"] == started["JobId"]
