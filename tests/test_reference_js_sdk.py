"""The reference server as the AWS SDK for JavaScript v3 sees it (`tests/js`): a real client, with its own protocol choice.

The SDK is installed once into tests/js/node_modules (gitignored) from the pinned lockfile; the test is
skipped when node or npm is missing or the registry cannot be reached.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_reference_service import serve_process

JS_DIR = Path(__file__).resolve().parent / "js"
INSTALL_TIMEOUT = 300  # seconds: the first install downloads about 25 packages
NETWORK_ERRORS = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network", re.IGNORECASE)
SERVICES = {  # the script's key -> (the not-found error each Stop of an unknown job must raise, the invalid-input ones)
    "comprehend": ("JobNotFoundException", {"ValidationException", "InvalidRequestException"}),
    "comprehendMedical": ("ResourceNotFoundException", {"ValidationException", "InvalidRequestException"}),
}


def _installed() -> bool:
    """Whether node_modules holds exactly the versions package.json pins."""
    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"]
    for name, version in pinned.items():
        manifest = JS_DIR / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


def _install() -> None:
    """`npm ci` once; concurrent test workers wait on a file lock rather than install over each other."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed: the AWS SDK for JavaScript cannot run")
    with open(JS_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed():
            return
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS_DIR,
                                capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
    if result.returncode != 0:
        if NETWORK_ERRORS.search(result.stderr):
            pytest.skip(f"npm cannot reach its registry to install the AWS SDK for JavaScript: {result.stderr[-300:]}")
        pytest.fail(f"npm ci failed:\n{result.stderr}")


@pytest.fixture(scope="module")
def js_run() -> Iterator[tuple[dict[str, Any], list[str]]]:
    """The script's results against `conformance serve --log-requests`, and the server's request log lines."""
    _install()
    with serve_process() as (server, url):
        script = subprocess.run(["node", "lifecycle.mjs", url], cwd=JS_DIR, capture_output=True, text=True,
                                timeout=60, check=False)
        assert script.returncode == 0, script.stderr
        server.send_signal(signal.SIGTERM)  # stops gracefully, so that its log is complete
        _, log = server.communicate(timeout=15)
    yield json.loads(script.stdout), [line for line in log.splitlines() if " protocol=" in line]


@pytest.mark.parametrize("service", SERVICES)
def test_job_lifecycle(js_run: tuple[dict[str, Any], list[str]], service: str) -> None:
    results = js_run[0][service]
    job_id = results["start"]["output"]["JobId"]
    assert results["start"]["ok"] and re.fullmatch(r"[0-9a-f]{32}", job_id)
    described = results["describe"]
    assert described["ok"], described
    (properties,) = described["output"].values()
    assert properties["JobId"] == job_id and properties["JobStatus"] in ("SUBMITTED", "IN_PROGRESS")
    stopped = results["stop"]
    assert stopped["ok"] and stopped["output"]["JobId"] == job_id, stopped


@pytest.mark.parametrize("service", SERVICES)
def test_errors_are_the_modeled_exception_classes(js_run: tuple[dict[str, Any], list[str]], service: str) -> None:
    results = js_run[0][service]
    not_found, invalid = SERVICES[service]
    assert (results["stopUnknown"]["ok"], results["stopUnknown"]["error"]) == (False, not_found), results["stopUnknown"]
    assert results["stopUnknown"]["status"] == 400
    too_long = results["stopTooLong"]  # 33 characters: over JobId's maximum length
    assert not too_long["ok"] and too_long["error"] in invalid and too_long["status"] == 400, too_long


def test_the_sdk_speaks_aws_json_1_1(js_run: tuple[dict[str, Any], list[str]]) -> None:
    """The JS SDK v3 picks awsJson1_1 (AwsJson1_1Protocol) for both services, though their models also list rpcv2Cbor."""
    log = js_run[1]
    assert len(log) == 2 * 5  # five calls a service, one line each
    for line in log:
        assert "POST / protocol=awsJson1_1 operation=Comprehend" in line
        assert 'content_type="application/x-amz-json-1.1"' in line
