"""The whole family of Stop-job operations: each one a page and a schema document, none a line of code."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.engine.lanes import MISSION_OPERATIONS
from conformance.model.operations import default_schema_dir, load_operations
from conftest import REPO

PAGES = REPO / "api-reference-pages"
# Every Stop…Job operation of both services whose input is a JobId (botocore 1.44).
FAMILY = {
    "comprehend": ["StopDominantLanguageDetectionJob", "StopEntitiesDetectionJob", "StopEventsDetectionJob",
                   "StopKeyPhrasesDetectionJob", "StopPiiEntitiesDetectionJob", "StopSentimentDetectionJob",
                   "StopTargetedSentimentDetectionJob"],
    "comprehendmedical": ["StopEntitiesDetectionV2Job", "StopICD10CMInferenceJob", "StopPHIDetectionJob",
                          "StopRxNormInferenceJob", "StopSNOMEDCTInferenceJob"],
}


def _run(tmp_path: Path, *argv: str) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    code = main(["run", "--seed", "1", *argv, "--report-json", str(report)])
    return code, json.loads(report.read_text())


def _lanes(report: dict) -> dict[str, set[str]]:
    """Protocols served, by operation."""
    served: dict[str, set[str]] = {}
    for lane in report["coverage_contract"]:
        if lane["state"] == "served":
            served.setdefault(lane["operation"], set()).add(lane["protocol"])
    return served


def test_the_bundled_documents_are_the_whole_family() -> None:
    found = {(op.service.name, op.name) for op in load_operations()}
    assert found == {(service, name) for service, names in FAMILY.items() for name in names}
    assert set(MISSION_OPERATIONS) <= found


def test_no_module_names_an_operation_outside_the_mission() -> None:
    """The family is data: no line of the package is about one of its operations (the mission's two are defaults)."""
    others = [name for names in FAMILY.values() for name in names
              if name not in {name for _, name in MISSION_OPERATIONS}]
    others += [name.replace("Stop", prefix, 1) for name in others for prefix in ("Start", "Describe")]
    mentions = [f"{path.relative_to(REPO)}: {name}" for path in sorted((REPO / "conformance").rglob("*.py"))
                for name in others if re.search(rf"\b{name}\b", path.read_text(encoding="utf-8"))]
    assert not mentions


def test_a_default_run_tests_the_mission_and_all_operations_the_family(tmp_path: Path) -> None:
    code, report = _run(tmp_path, "--max-examples", "0", "--no-create-jobs", "--protocol", "awsJson1_1")
    assert code == 0 and set(_lanes(report)) == {name for _, name in MISSION_OPERATIONS}
    code, report = _run(tmp_path, "--max-examples", "0", "--no-create-jobs", "--protocol", "awsJson1_1",
                        "--all-operations")
    assert code == 0 and set(_lanes(report)) == {name for names in FAMILY.values() for name in names}


def test_the_whole_family_conforms_on_the_reference_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _run(tmp_path, "--all-operations", "--max-examples", "20")
    assert code == 0 and report["verdict"] == "conforms", capsys.readouterr().out[-3000:]
    assert report["summary"]["failures"] == 0 and report["summary"]["not_judged"] == 0
    assert _lanes(report) == {name: {"awsJson1_1", "rpcv2Cbor"} for names in FAMILY.values() for name in names}
    # Every lane ran its job flow: a job started through the sibling Start the model names, and stopped; and so did
    # each of the state machine's Starts.
    machine = sum(counts.get("machine.start", 0) for counts in report["coverage"].values())
    assert machine and len(report["jobs"]["started"]) == 24 + machine and not report["jobs"]["left_running"]
    for lane in report["coverage_contract"]:
        assert {"existing.stop", "existing.describe", "valid.probe"} <= set(lane["judged"]), lane["operation"]


def test_a_new_page_and_its_schema_are_all_it_takes(tmp_path: Path) -> None:
    """A folder with one page, derived and run: the suite and the embedded server take the operation from it."""
    pages, schemas = tmp_path / "pages", tmp_path / "schemas"
    pages.mkdir()
    shutil.copy(PAGES / "API_StopKeyPhrasesDetectionJob.md", pages)
    assert main(["schemas", "--docs", str(pages), "--out", str(schemas)]) == 0
    assert [path.name for path in schemas.iterdir()] == ["comprehend.StopKeyPhrasesDetectionJob.json"]
    assert (schemas / "comprehend.StopKeyPhrasesDetectionJob.json").read_bytes() == \
        (default_schema_dir() / "comprehend.StopKeyPhrasesDetectionJob.json").read_bytes()
    code, report = _run(tmp_path, "--schemas", str(schemas), "--max-examples", "5")
    assert code == 0 and _lanes(report) == {"StopKeyPhrasesDetectionJob": {"awsJson1_1", "rpcv2Cbor"}}
    machine = sum(counts.get("machine.start", 0) for counts in report["coverage"].values())
    assert machine and len(report["jobs"]["started"]) == 2 + machine


def test_moto_is_run_over_the_whole_family_and_judged(tmp_path: Path) -> None:
    pytest.importorskip("moto.server", reason="the moto extra is not installed")
    code, report = _run(tmp_path, "--target", "moto", "--all-operations", "--max-examples", "2",
                        "--settle-timeout", "1")
    # moto has no Comprehend Medical and a partial Comprehend: a verdict with failures, never a crash.
    assert code == 1 and report["verdict"] == "does_not_conform"
    assert {lane["operation"] for lane in report["coverage_contract"]} == \
        {name for names in FAMILY.values() for name in names}
    failing = {failure["operation"].split(" over ")[0] for failure in report["failures"]}
    assert {"StopPHIDetectionJob", "StopEntitiesDetectionJob"} <= failing


def test_a_leftover_job_is_stopped_by_the_stop_of_its_own_kind() -> None:
    """Seven Stop operations share the comprehend service: clean-up sends each job its own kind's Stop."""
    from conformance.engine.job_flow import stop_leftovers
    from conformance.engine.transport import Transport
    from conformance.model.job_apis import job_api_for
    from conformance.protocols import get_protocol
    from conformance.reference import ReferenceServer
    from conformance.targets.target import Target

    stop = "StopKeyPhrasesDetectionJob"
    api = job_api_for("comprehend", stop)
    assert api is not None
    with ReferenceServer() as server:
        job_id = server.jobs.start(api.kind, {}, None).job_id
        transport = Transport(Target(server.url))
        transport.jobs.started("comprehend", job_id, stop)
        stoppers = {op.name: (op, get_protocol("awsJson1_1")) for op in load_operations()
                    if op.service.name == "comprehend"}
        results = stop_leftovers(transport, stoppers)
        assert [result.case.operation for result in results] == [stop]
        assert transport.jobs.unstopped() == []
        assert server.jobs.get(api.kind, job_id).status(server.jobs.clock.now()) == "STOP_REQUESTED"
        transport.close()
