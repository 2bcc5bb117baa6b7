"""Fixtures for the project's own tests; each is small so that a test can override just one."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.model.operations import Operation, load_operations
from conformance.reference import JobStore, ManualClock, ReferenceApp, ReferenceServer, SystemClock, Timings

REPO = Path(__file__).resolve().parent
TEST_CREDENTIALS = {"aws_access_key_id": "AKIDTESTING", "aws_secret_access_key": "testing-secret"}


def stop_operations() -> tuple[Operation, Operation]:
    """The two Stop operations the suite is for: Comprehend's StopPiiEntitiesDetectionJob, Comprehend Medical's
    StopPHIDetectionJob."""
    by_name = {operation.name: operation for operation in load_operations()}
    return by_name["StopPiiEntitiesDetectionJob"], by_name["StopPHIDetectionJob"]


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The upstream AWS API reference pages ($CONFORMANCE_SEEDS, else `../shared/seeds`), when present.

    The schemas derive from the repository's own `api-reference-pages/`; only the test that checks them
    against the upstream pages needs these, and it is skipped where they are absent.
    """
    path = Path(os.environ.get("CONFORMANCE_SEEDS") or REPO.parent / "shared" / "seeds")
    if not path.is_dir() or not any(path.glob("API_*.md")):
        pytest.skip(f"upstream reference pages not found at {path} (set CONFORMANCE_SEEDS to their folder)")
    return path


@pytest.fixture
def reference_clock() -> ManualClock:
    """A clock that moves only when the test says so."""
    return ManualClock()


@pytest.fixture
def reference_timings() -> Timings:
    """Job phase durations: SUBMITTED 10 s, IN_PROGRESS 100 s, STOP_REQUESTED 5 s."""
    return Timings(queued=10, running=100, stopping=5)


@pytest.fixture
def reference_app(reference_clock: ManualClock, reference_timings: Timings) -> ReferenceApp:
    """The reference server's logic with a fresh job store."""
    return ReferenceApp(JobStore(reference_clock, reference_timings))


@pytest.fixture
def reference_server(reference_app: ReferenceApp) -> Iterator[ReferenceServer]:
    """The reference server on an ephemeral loopback port."""
    with ReferenceServer(app=reference_app) as server:
        yield server


@pytest.fixture
def live_reference_server() -> Iterator[ReferenceServer]:
    """The reference server on wall-clock time with quick jobs, for whole suite runs (stopped jobs settle)."""
    jobs = JobStore(SystemClock(), Timings(queued=0.05, running=600, stopping=0.2))
    with ReferenceServer(app=ReferenceApp(jobs)) as server:
        yield server


@pytest.fixture
def aws_client(reference_server: ReferenceServer) -> Callable[[str], Any]:
    """A factory of boto3 clients for the reference server, one attempt per call (no retries)."""
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=reference_server.url,
            region_name="us-east-1",
            config=Config(retries={"total_max_attempts": 1}),
            **TEST_CREDENTIALS,
        )

    return make


def post(url: str, target: str | None, body: bytes | str, headers: dict[str, str] | None = None,
         method: str = "POST", path: str = "/") -> tuple[int, dict[str, str], Any]:
    """One raw awsJson request; returns status, lower-cased headers, and the body parsed as JSON."""
    all_headers = {"Content-Type": "application/x-amz-json-1.1", **(headers or {})}
    if target is not None:
        all_headers["X-Amz-Target"] = target
    return send(url, method, path, all_headers, body.encode() if isinstance(body, str) else body)


def send(url: str, method: str, path: str, headers: dict[str, str],
         body: bytes = b"") -> tuple[int, dict[str, str], Any]:
    """One raw request of any protocol; returns status, lower-cased headers, and the body read as its Content-Type
    says (CBOR for application/cbor, JSON otherwise; None when empty)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    from conformance.wire import cbor
    from conformance.wire.http import media_type

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        if not raw:
            return response.status, answer_headers, None
        is_cbor = media_type(answer_headers.get("content-type")) == cbor.CONTENT_TYPE
        return response.status, answer_headers, cbor.decode(raw) if is_cbor else json.loads(raw)
    finally:
        connection.close()


@pytest.fixture(autouse=True)
def _no_columns_from_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the environment of a plain shell: pytest-xdist's workers get COLUMNS=80, which would make every
    report written to a pipe or a StringIO wrap as if asked to (tests that want a width set COLUMNS themselves)."""
    monkeypatch.delenv("COLUMNS", raising=False)
    # Also below os.environ: under pytest the C environment holds COLUMNS=80 that os.environ does not show (set by
    # a library through putenv), and a child process started with the default environment inherits that one.
    os.unsetenv("COLUMNS")

