"""The job APIs the suite and the reference server know, derived from botocore's model.

A job's Stop operation is named `Stop<X>Job` and takes a `JobId`; its siblings `Start<X>Job` and
`Describe<X>Job` start a job and report on it. Everything the suite and the reference server need
of such a trio - a valid Start request, where Describe reports the job's status, the job ARN's
resource type - is derived from the shapes of those operations (`job_api_for`). Only two small
data tables say what the model cannot: `OVERRIDES`, for a service whose operations break the
naming, and `PREFERRED_VALUES`, for members whose valid values are not all equally usable.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import Shape

from conformance.model import ecma_regex
from conformance.model.botocore_model import BotocoreModelError, service_model
from conformance.model.operations import Operation


@dataclass(frozen=True)
class JobApi:
    """The data that ties one kind of job's operations together, as derived from botocore's model."""

    service: str  # botocore's service name
    start: str
    describe: str
    stop: str
    arn_resource: str | None  # the job ARN's resource type; None where the API has no job ARNs
    start_example: dict[str, Any]  # a valid Start request for a target with no real S3 data behind it
    properties_member: str  # the one member of Describe's answer that holds the job's properties
    status_path: tuple[str, ...]  # member names from Describe's answer to the job's JobStatus

    @property
    def kind(self) -> str:
        """The kind of job, e.g. comprehend/PiiEntitiesDetectionJob: job ids are looked up within a kind."""
        return f"{self.service}/{self.stop.removeprefix('Stop')}"


# Where a service breaks the naming `Stop<X>Job` / `Start<X>Job` / `Describe<X>Job`, its Stop
# operation is listed here, keyed by (botocore service name, Stop operation), with the names (and
# any other field of JobApi) to use instead of the derived ones, e.g.
#     ("someservice", "StopThingJob"): {"start": "CreateThingJob", "describe": "GetThingJob"},
# Empty: every Stop…Job operation the project covers follows the naming.
OVERRIDES: dict[tuple[str, str], Mapping[str, Any]] = {}

# Values to use for a Start member (by member name) where the model allows values that would not
# serve, or where its constraints say too little to build a usable one. A preferred value is used
# only where it satisfies the member's constraints; otherwise one is built from them.
PREFERRED_VALUES: dict[str, Any] = {
    # A language every job kind accepts (and Comprehend Medical's only one).
    "LanguageCode": "en",
    # Comprehend PII: ONLY_REDACTION needs a RedactionConfig as well; ONLY_OFFSETS needs nothing more.
    "Mode": "ONLY_OFFSETS",
    # The events job's TargetEventTypes: the model's pattern `[A-Z_]*` admits any name, the service only real event types.
    "TargetEventTypes": ["BANKRUPTCY"],
}

# The placeholders of a Start request for a target with no real S3 data behind it.
EXAMPLE_INPUT_S3_URI = "s3://conformance-suite-input/in/"
EXAMPLE_OUTPUT_S3_URI = "s3://conformance-suite-output/out/"
EXAMPLE_ROLE_ARN = "arn:aws:iam::123456789012:role/ConformanceSuiteRole"
EXAMPLE_JOB_NAME = "conformance-suite"

# Tried in turn for a required string the suite knows nothing about: the first that satisfies the
# member's pattern and length is used.
_STRING_CANDIDATES = ("conformance-suite", "conformance", "CONFORMANCE", "Conformance", "conformance_suite",
                      "0", "1", "a", "A", "x", "en")


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


_EXAMPLE_SETUP = JobSetup(EXAMPLE_INPUT_S3_URI, EXAMPLE_OUTPUT_S3_URI, EXAMPLE_ROLE_ARN)
_STOP_NAME = re.compile(r"^Stop(?P<kind>[A-Za-z0-9]+Job)$")


def job_api_for(service: str, stop_operation: str) -> JobApi | None:
    """The job API a Stop operation stops jobs of, derived from botocore's model; None when it has none.

    A Stop operation is one named `Stop<X>Job` whose input has a JobId member; its job API exists
    when its siblings `Start<X>Job` and `Describe<X>Job` do (or those `OVERRIDES` names) and
    Describe reports a JobStatus. Any other operation (Start and Describe included) has none.
    """
    override = OVERRIDES.get((service, stop_operation), {})
    return _derive(service, stop_operation, tuple(sorted(override.items())))


def job_apis_of(stop_operations: Iterable[Operation]) -> list[JobApi]:
    """The job APIs of those operations that have one, in their order."""
    found = (job_api_for(operation.service.name, operation.name) for operation in stop_operations)
    return [api for api in found if api is not None]


@functools.cache
def _derive(service: str, stop: str, override_items: tuple[tuple[str, Any], ...]) -> JobApi | None:
    override = dict(override_items)
    try:
        model = service_model(service)
    except BotocoreModelError:
        return None
    names = set(model.operation_names)
    match = _STOP_NAME.match(stop)
    if stop not in names or (match is None and not override):
        return None
    if "JobId" not in (model.operation_model(stop).input_shape.members or {}):
        return None
    kind = match.group("kind") if match else stop
    start, describe = override.get("start", f"Start{kind}"), override.get("describe", f"Describe{kind}")
    for name in (start, describe):
        if name not in names:
            if name in override.values():
                raise ValueError(f"OVERRIDES names {name!r}, which botocore's {service!r} does not have")
            return None
    found = _status_path(model.operation_model(describe).output_shape)
    if found is None:
        return None
    properties_member, properties = found
    derived = {
        "service": service, "start": start, "describe": describe, "stop": stop,
        "arn_resource": _kebab(kind) if "JobArn" in properties.members else None,
        "start_example": build_start_example(model.operation_model(start).input_shape),
        "properties_member": properties_member,
        "status_path": (properties_member, "JobStatus"),
    }
    unknown = set(override) - set(derived)
    if unknown:
        raise ValueError(f"OVERRIDES for {service}.{stop} names no field of JobApi: {', '.join(sorted(unknown))}")
    return JobApi(**{**derived, **override})


def _status_path(output: Shape | None) -> tuple[str, Shape] | None:
    """The single structure member of Describe's answer and its shape, if it has a string-enum JobStatus."""
    if output is None:
        return None
    structures = [(name, shape) for name, shape in output.members.items() if shape.type_name == "structure"]
    if len(structures) != 1:
        return None
    name, properties = structures[0]
    status = properties.members.get("JobStatus")
    if status is None or status.type_name != "string" or "enum" not in status.metadata:
        return None
    return name, properties


def _kebab(name: str) -> str:
    """PiiEntitiesDetectionJob -> pii-entities-detection-job (an acronym stays one word: PHIDetectionJob -> phi-...)."""
    words = re.findall(r"[A-Z]+[0-9]*(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+", name)
    return "-".join(word.lower() for word in words)


def build_start_example(shape: Shape) -> dict[str, Any]:
    """A valid Start request from the input shape: its required members (recursively), and a JobName."""
    example = _value(shape, "", (), _EXAMPLE_SETUP)
    if "JobName" in shape.members and "JobName" not in example:
        example["JobName"] = _checked(shape.members["JobName"], EXAMPLE_JOB_NAME, "JobName")
    return example


def start_request(api: JobApi, setup: JobSetup | None) -> dict[str, Any]:
    """The Start request for a job: the API's placeholder example, or one that reads and writes the user's S3 data.

    The user's locations and role go where the example has its placeholders, found in the Start
    input shape as the example's were: an S3 URI member gets the URI, an S3 bucket and key pair
    gets its bucket and key (the key left out when the URI names none), a role ARN gets the role.
    """
    if setup is None:
        return copy.deepcopy(api.start_example)
    shape = service_model(api.service).operation_model(api.start).input_shape
    return _fill(shape, copy.deepcopy(api.start_example), (), setup)


def _fill(shape: Shape, value: dict[str, Any], path: tuple[str, ...], setup: JobSetup) -> dict[str, Any]:
    """`value` (a structure of `shape`) with every recognised S3 and role member set from the user's setup."""
    for name, member in shape.members.items():
        where = (*path, name)
        known = _recognised(name, member, where, setup)
        if known is not _UNKNOWN:
            if known is None:
                value.pop(name, None)
            else:
                value[name] = known
        elif member.type_name == "structure" and isinstance(value.get(name), dict):
            value[name] = _fill(member, value[name], where, setup)
    return value


_UNKNOWN = object()


def _recognised(name: str, shape: Shape, path: tuple[str, ...], setup: JobSetup) -> Any:
    """The value of a member the suite recognises (an S3 location, a role ARN), from `setup`; else _UNKNOWN.

    None means "leave it out": an S3 key where the URI names none.
    """
    if shape.type_name != "string":
        return _UNKNOWN
    output = any("output" in part.lower() for part in path[:-1])
    uri = setup.output_s3_uri if output else setup.input_s3_uri
    bucket, key = split_s3_uri(uri)
    lowered = {name.lower(), shape.name.lower()}
    if lowered & {"s3uri", "s3url"}:
        return uri
    if "s3bucket" in lowered:
        return bucket
    if "s3key" in lowered:
        return key or None
    pattern = shape.metadata.get("pattern", "")
    if name.endswith("RoleArn") or shape.name.endswith("RoleArn") or (":iam::" in pattern and ":role/" in pattern):
        return setup.data_access_role_arn
    return _UNKNOWN


def _value(shape: Shape, name: str, path: tuple[str, ...], setup: JobSetup) -> Any:
    """A valid value of a (required) member: recognised, preferred, or built from its constraints."""
    known = _recognised(name, shape, path, setup) if name else _UNKNOWN
    if known is not _UNKNOWN and known is not None:
        return _checked(shape, known, ".".join(path))
    if name in PREFERRED_VALUES and _satisfies(shape, PREFERRED_VALUES[name]):
        return copy.deepcopy(PREFERRED_VALUES[name])
    kind, meta, where = shape.type_name, shape.metadata, ".".join(path) or shape.name
    if kind == "structure":
        return {member: _value(shape.members[member], member, (*path, member), setup)
                for member in shape.members if member in shape.required_members}
    if kind == "list":
        item = _value(shape.member, name, (*path, "member"), setup)
        return [copy.deepcopy(item) for _ in range(max(1, int(meta.get("min", 1))))]
    if kind == "map":
        count = int(meta.get("min", 0))
        key = _value(shape.key, "", (*path, "key"), setup)
        return {key: _value(shape.value, "", (*path, "value"), setup)} if count else {}
    if kind == "string":
        if "enum" in meta:
            return meta["enum"][0]
        for candidate in _STRING_CANDIDATES:
            text = _sized(candidate, meta)
            if _satisfies(shape, text):
                return text
        raise ValueError(f"cannot build a value for {where} (shape {shape.name}): none of the candidates "
                         f"satisfies pattern {meta.get('pattern')!r} and length {meta.get('min')}..{meta.get('max')}")
    if kind in ("integer", "long"):
        return int(_number(meta))
    if kind in ("float", "double"):
        return float(_number(meta))
    if kind == "boolean":
        return False
    if kind == "blob":
        return b"conformance"
    raise ValueError(f"cannot build a value for {where} (shape {shape.name}): type {kind!r}")


def _number(meta: Mapping[str, Any]) -> float:
    """The minimum, else 0 (or the maximum, when that is below 0)."""
    if "min" in meta:
        return meta["min"]
    return min(0, meta.get("max", 0))


def _sized(text: str, meta: Mapping[str, Any]) -> str:
    """The text repeated up to the minimum length and cut to the maximum."""
    low, high = int(meta.get("min", 0)), meta.get("max")
    while len(text) < low:
        text += text
    return text[:high] if high is not None else text


def _checked(shape: Shape, value: Any, where: str) -> Any:
    if not _satisfies(shape, value):
        raise ValueError(f"the suite's value {value!r} for {where} does not satisfy shape {shape.name}'s constraints")
    return value


def _satisfies(shape: Shape, value: Any) -> bool:
    """Whether a value meets a shape's type and its enum, pattern, length and range constraints."""
    meta, kind = shape.metadata, shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            return False
        if "enum" in meta and value not in meta["enum"]:
            return False
        if "pattern" in meta and not ecma_regex.search(meta["pattern"], value):
            return False
        return meta.get("min", 0) <= len(value) <= meta.get("max", len(value))
    if kind == "list":
        return isinstance(value, list) and meta.get("min", 0) <= len(value) <= meta.get("max", len(value)) \
            and all(_satisfies(shape.member, item) for item in value)
    if kind in ("integer", "long", "float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool) \
            and meta.get("min", value) <= value <= meta.get("max", value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "structure":
        return isinstance(value, dict) and set(shape.required_members) <= set(value) \
            and all(name in shape.members and _satisfies(shape.members[name], item) for name, item in value.items())
    return True
