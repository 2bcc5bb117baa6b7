"""The reference server's logic, free of HTTP: a request's target, headers and body in, a Response out."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.reference.answers import ApiError, Response, new_request_id
from conformance.reference.catalog import Role, Route, build_routes
from conformance.reference.input_checks import check_input, drop_nulls
from conformance.reference.job_store import Job, JobLimitReached, JobNotFound, JobNotStoppable, JobStore
from conformance.reference.protocols import RPC_V2, SPOKEN, protocol_for
from conformance.wire.http import HttpRequest

if TYPE_CHECKING:
    from conformance.reference.aws_mode import SigV4Verifier, Throttle

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
_SCOPE_REGION = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/")
# GET only: neither protocol routes a GET (both are POST), so this path shadows no operation.
HEALTH_PATH = "/health"


class ReferenceApp:
    """Start, Describe and Stop for every job API in the catalog (`catalog.build_routes`), over awsJson1_1 and
    rpcv2Cbor.

    With a `verifier`, only requests SigV4-signed with its keys, for `region`, are served; with a `throttle`,
    requests over its rate are answered ThrottlingException (see `aws_mode`). Both are off by default.
    """

    def __init__(self, jobs: JobStore | None = None, schema_dir: Path | None = None,
                 region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT, *,
                 verifier: SigV4Verifier | None = None, throttle: Throttle | None = None) -> None:
        self.jobs = jobs or JobStore()
        self.routes = build_routes(schema_dir)
        self.region, self.account = region, account
        self.verifier, self.throttle = verifier, throttle

    @property
    def protocols(self) -> list[str]:
        """The Smithy protocols some served operation is served over, in the catalog's order."""
        return list(dict.fromkeys(name for route in self.routes.values()
                                  for name in route.operation.service.protocols if name in _SPOKEN))

    def health(self) -> Response:
        """200 with a small JSON status: for load balancers and container health checks, never authenticated."""
        body = {"status": "ok", "protocols": self.protocols, "jobs": self.jobs.count()}
        return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def addressed(self, request: HttpRequest) -> tuple[str, str]:
        """The protocol a request is addressed to and the operation it names ("-" if none), for the request log."""
        wire = protocol_for(request)
        try:
            return wire.name, wire.target(request).target
        except ApiError:
            return wire.name, "-"

    def handle(self, request: HttpRequest) -> Response:
        """Answer one request; a client's mistake is a 4xx, only a bug here is a 5xx."""
        route: Route | None = None
        try:
            if self.verifier is not None or self.throttle is not None:
                route = self._admit(request)
            route = route or self.route(request)  # routed already when admitted; else raises the routing error
            document = self._dispatch(route, request)
            return protocol_for(request).success(document, new_request_id(), route.operation.response)
        except ApiError as error:
            return self.failure(request, error, route)
        except Exception:  # a bug in this server, never the client's fault: say so, keep serving
            log.exception("reference server failed on %s %s", request.method, request.path)
            return self.failure(request, ApiError("InternalServerException", 500, "Internal server error"), route)

    def failure(self, request: HttpRequest, error: ApiError, route: Route | None = None) -> Response:
        """An error answer in the form of the protocol the request is addressed to (also for the HTTP layer's errors).

        On the rpcv2 path that is CBOR with Smithy-Protocol and `__type` an absolute shape id, in
        the namespace of the service the request names (`_namespace`).
        """
        return protocol_for(request).failure(error, new_request_id(), self._namespace(request, route))

    def _namespace(self, request: HttpRequest, route: Route | None) -> str:
        """The namespace of rpcv2Cbor's absolute error shape ids: the routed or named service's, else the first's."""
        served = [candidate.operation.service for candidate in self.routes.values()]
        named = RPC_V2.service_named(request)
        addressed = [route.operation.service] if route else [
            service for service in served if named and service.target_prefix == named.name
            and named.namespace in (None, service.namespace)]
        chosen = next(iter(addressed + served), None)
        return chosen.namespace if chosen else _FRAMEWORK_NAMESPACE

    # Each step of a request is a method of its own, so that a variant (see `variants`) can change one step and
    # keep the rest (`route`, `read_input`, `validate_input` and `signing_services` are public for that).

    def _admit(self, request: HttpRequest) -> Route | None:
        """Authenticate, then throttle, as AWS does before any work; returns the route named, if any."""
        try:
            route: Route | None = self.route(request)
        except ApiError:
            route = None
        if self.verifier is not None:
            # An endpoint serves one region, as AWS's do: signed requests must be scoped to it.
            self.verifier.verify(request, self.signing_services(request, route), self.region)
        if self.throttle is not None:
            self.throttle.acquire()
        return route

    def signing_services(self, request: HttpRequest, route: Route | None) -> set[str]:
        """The signing names a request's signature may be scoped to: its route's service's. A request that names no
        operation served may be signed for any served service; it is answered UnknownOperation afterwards."""
        if route is not None:
            return {route.operation.service.signing_name}
        return {served.operation.service.signing_name for served in self.routes.values()}

    def _dispatch(self, route: Route, request: HttpRequest) -> dict[str, Any]:
        document = self.read_input(request)
        self.validate_input(route, document)
        region = self._region(request)
        if route.role is Role.START:
            record = self._start(route, document, region)
        elif route.role is Role.DESCRIBE:
            record = self._describe(route, document["JobId"])
        else:
            record = self._stop(route, document["JobId"])
        return project(record, route.operation.response)

    def route(self, request: HttpRequest) -> Route:
        """The operation a request names (X-Amz-Target for awsJson, the path for rpcv2Cbor), if its protocol claims it.

        Smithy's "Identification for claiming" rules of each protocol: a request without all of its
        protocol's marks names no operation (UnknownOperationException), save rpcv2Cbor's Content-Type,
        which is no claim mark: a claimed body without it is a 415 (`RpcV2CborServer.check_content_type`).
        """
        wire = protocol_for(request)
        addressed = wire.target(request)
        route = self.routes.get(addressed.target)
        if route is None or wire.name not in route.operation.service.protocols \
                or addressed.namespace not in (None, route.operation.service.namespace):
            raise wire.unknown_operation(f"Unknown operation {addressed.target!r}")
        wire.check_content_type(request)
        return route

    def read_input(self, request: HttpRequest) -> dict[str, Any]:
        """The body as an input document, null members dropped."""
        return drop_nulls(protocol_for(request).decode_body(request.body))

    def validate_input(self, route: Route, document: dict[str, Any]) -> None:
        """Raise the SerializationException or ValidationException the input deserves, if any."""
        check_input(route.operation.validator("request"), document)

    def _region(self, request: HttpRequest) -> str:
        match = _SCOPE_REGION.search(request.header("Authorization") or "")
        return match.group(1) if match else self.region

    def _start(self, route: Route, document: dict[str, Any], region: str) -> dict[str, Any]:
        api = route.api
        arn_format = None
        if api.arn_resource:
            arn_format = f"arn:aws:{route.operation.service.signing_name}:{region}:{self.account}:" \
                         f"{api.arn_resource}/{{job_id}}"
        # A job keeps only what Describe reports of its Start: unknown members, Tags and the token are
        # never answered, and keeping a whole body per job would let Starts fill the memory.
        kept = project(document, self._job_properties(route))
        try:
            job = self.jobs.start(api.kind, kept, arn_format, token=document.get("ClientRequestToken"))
        except JobLimitReached as exc:  # as AWS answers a Start over the concurrent-jobs quota
            raise self._declared(route, "TooManyRequestsException", str(exc)) from None
        return self._record(job)

    def _job_properties(self, route: Route) -> Mapping[str, Any]:
        """The schema of what the route's API's Describe reports of a job (nothing, if that Describe is not served)."""
        describe = self.routes.get(f"{route.operation.service.target_prefix}.{route.api.describe}")
        if describe is None or describe.role is not Role.DESCRIBE:
            return {"properties": {}}
        return describe.operation.response["properties"][describe.describe_member]

    def _describe(self, route: Route, job_id: str) -> dict[str, Any]:
        return {route.describe_member: self._record(self._job(route, job_id))}

    def _stop(self, route: Route, job_id: str) -> dict[str, Any]:
        self._job(route, job_id)
        try:
            status = self.jobs.stop(route.api.kind, job_id)
        except JobNotStoppable as exc:
            raise self._declared(route, "InvalidRequestException",
                                 f"Job {job_id} is {exc.status} and cannot be stopped.") from None
        return {"JobId": job_id, "JobStatus": status}  # `_dispatch` keeps what the Stop's response schema names

    def _job(self, route: Route, job_id: str) -> Job:
        try:
            return self.jobs.get(route.api.kind, job_id)
        except JobNotFound:
            raise self._declared(route, route.operation.not_found_error, f"Could not find job {job_id}.") from None

    @staticmethod
    def _declared(route: Route, name: str, message: str) -> ApiError:
        """An error the operation declares, with the status its schema gives it."""
        spec = route.operation.error(name)
        if spec is None:
            raise ValueError(f"{route.operation.name} does not declare {name}")
        return ApiError(name, spec.http_status, message)

    def _record(self, job: Job) -> dict[str, Any]:
        """Everything known of a job; each answer keeps the members its schema names."""
        now = self.jobs.clock.now()
        record = {**job.request, "JobId": job.job_id, "JobStatus": job.status(now), "SubmitTime": job.submitted_at}
        if job.arn:
            record["JobArn"] = job.arn
        end = job.end_time(now)
        if end is not None:
            record["EndTime"] = end
        if job.failure_message and record["JobStatus"] == "FAILED":
            record["Message"] = job.failure_message
        return record


_SPOKEN = frozenset(protocol.name for protocol in SPOKEN)  # the protocols this server speaks, by Smithy name
_FRAMEWORK_NAMESPACE = "smithy.framework"  # for absolute shape ids when no service is served at all


def project(value: Any, schema: Mapping[str, Any]) -> Any:
    """Keep only what the schema names: members of objects (recursively) and items of arrays."""
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        return {key: project(item, properties[key]) for key, item in value.items() if key in properties}
    if isinstance(value, list) and "items" in schema:
        return [project(item, schema["items"]) for item in value]
    return value
