"""What the reference server serves: for every job Stop operation in its schema folder, the Start/Describe/Stop trio.

The Stop operations come from the doc-derived schemas; their Start and Describe siblings (found by
`job_apis.job_api_for` in botocore's model) have no seed page, so their shapes come from botocore's
model unless the folder documents them too. Everything else is derived from those shapes. An
operation of the folder that stops no job (no job API can be derived for it) is not served.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from conformance.model import botocore_model
from conformance.model.job_apis import JobApi, job_api_for
from conformance.model.operations import Operation, load_operations


class Role(Enum):
    """What an operation does to a job."""

    START = "start"
    DESCRIBE = "describe"
    STOP = "stop"


@dataclass(frozen=True)
class Route:
    """One served operation: its model, its role, and the job API it belongs to."""

    operation: Operation
    role: Role
    api: JobApi

    def check(self) -> None:
        """Raise ValueError unless every fact this route derives from its model can be derived."""
        if self.role is not Role.START:
            self.operation.not_found_error  # noqa: B018 - evaluated for the error it raises
        if self.role is Role.DESCRIBE:
            self.describe_member  # noqa: B018

    @property
    def describe_member(self) -> str:
        """The one member a Describe answer wraps the job's properties in, whatever its name."""
        names = list(self.operation.response.get("properties", {}))
        if len(names) != 1:
            raise ValueError(f"{self.operation.name} answers {len(names)} members, expected one")
        return names[0]


def build_routes(schema_dir: Path | None = None) -> dict[str, Route]:
    """Routes by X-Amz-Target, for the job API of each Stop operation in the folder (`job_apis.job_api_for`):
    doc-derived schemas where there are some, botocore's model otherwise."""
    operations = load_operations(schema_dir)
    documented = {(op.service.name, op.name): op for op in operations}
    apis = [api for api in (job_api_for(op.service.name, op.name) for op in operations) if api is not None]
    routes = {}
    for api in apis:
        for role, name in ((Role.START, api.start), (Role.DESCRIBE, api.describe), (Role.STOP, api.stop)):
            operation = documented.get((api.service, name)) or botocore_model.operation(api.service, name)
            route = Route(operation, role, api)
            route.check()  # a bad model fails at start-up, not per request
            routes[operation.target] = route
    return routes
