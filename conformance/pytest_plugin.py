"""The pytest plugin (entry point `pytest11`): options and fixtures for `pytest --pyargs conformance.suite`.

Fixtures are session-scoped and small, so a project can override any one of them in its own
conftest.py (for example `conformance_target`, to point at a server it starts itself).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from conformance.target import Target
from conformance.transport import Transport


def pytest_addoption(parser: pytest.Parser) -> None:
    """The suite's options; they do nothing unless `conformance.suite` is collected."""
    group = parser.getgroup("conformance", "AWS Comprehend conformance suite")
    group.addoption("--endpoint-url", default=None,
                    help="endpoint serving both operations (default: start the embedded reference server)")
    group.addoption("--region", default=None, help="region to sign for (default: $AWS_DEFAULT_REGION or us-east-1)")
    group.addoption("--profile", default=None, help="AWS profile for an AWS endpoint's credentials")
    group.addoption("--no-create-jobs", action="store_true", help="never start jobs (no success-path tests)")
    group.addoption("--rate", type=float, default=None, help="at most this many requests per second")
    group.addoption("--protocol", choices=["awsJson1_1", "rpcv2Cbor", "all"], default="all",
                    help="wire protocol(s) to test (default: every one the model lists; unserved ones are skipped)")


@pytest.fixture(scope="session")
def conformance_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The endpoint under test: --endpoint-url, or the embedded reference server."""
    from conformance.cli import _credentials_target

    config = request.config
    region = config.getoption("--region") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    url = config.getoption("--endpoint-url")
    if url is None:
        from conformance.reference import ReferenceServer

        with ReferenceServer() as server:
            yield Target(server.url, region=region, name="embedded reference server")
        return
    target = _credentials_target(url, region, config.getoption("--profile"))
    # Jobs on AWS cost money and need real S3 data: the CLI's `--target aws --create-jobs` starts them.
    yield target.with_changes(creates_jobs=not (config.getoption("--no-create-jobs") or target.is_aws))


@pytest.fixture(scope="session")
def conformance_transport(request: pytest.FixtureRequest, conformance_target: Target) -> Iterator[Transport]:
    """A keep-alive transport to the target, shared by the whole session."""
    transport = Transport(conformance_target, rate=request.config.getoption("--rate"))
    yield transport
    _stop_leftover_jobs(transport)
    transport.close()


def _stop_leftover_jobs(transport: Transport) -> None:
    """Stop every job the session started and did not see stopped (a test ended early): never leave one running."""
    import warnings

    from conformance.lifecycle import stop_leftovers
    from conformance.model import load_operations
    from conformance.protocols import get_protocol

    stop_leftovers(transport, {op.service.name: (op, get_protocol("awsJson1_1")) for op in load_operations()})
    for service, job_id in transport.jobs.unstopped():
        warnings.warn(f"JOB LEFT RUNNING: {service} job {job_id} was started by this session and could not be "
                      "stopped; stop it by hand", stacklevel=1)


@pytest.fixture(scope="session")
def conformance_served(request: pytest.FixtureRequest, conformance_transport: Transport) -> dict[tuple[str, str], bool]:
    """Which (operation, protocol) lanes the target serves, probed once per session."""
    from conformance.model import load_operations
    from conformance.protocols import SUPPORTED, get_protocol
    from conformance.outcomes import LaneState
    from conformance.runner import Lane, probe_lane

    lanes = [Lane(op, get_protocol(name)) for op in load_operations() for name in op.service.protocols
             if name in SUPPORTED]
    return {lane.key: probe_lane(lane, conformance_transport) is LaneState.SERVED for lane in lanes}


@pytest.fixture
def conformance_lane(request: pytest.FixtureRequest, conformance_served: dict[tuple[str, str], bool]) -> None:
    """Skip a test whose lane the target does not serve, or fail it where the lane must be served (the protocol
    AWS SDKs send, or one asked for by name)."""
    from conformance.botocore_model import sdk_protocol

    operation, protocol = request.node.callspec.params["operation"], request.node.callspec.params["protocol"]
    wanted = request.config.getoption("--protocol")
    if wanted not in ("all", protocol.name):
        pytest.skip(f"--protocol {wanted}")
    if not conformance_served[(operation.name, protocol.name)]:
        message = f"{protocol.name}: not served by this endpoint ({operation.name})"
        if wanted == protocol.name:
            pytest.fail(message + ", which was asked for")
        if sdk_protocol(operation.service.protocols) == protocol.name:
            pytest.fail(message + ", the protocol AWS SDKs send it over")
        pytest.skip(message)
