"""Third-party targets the suite starts itself: moto (docs/targets/moto.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main

pytest.importorskip("moto.server", reason="the moto extra is not installed")


def test_moto_target_runs_and_reports_what_docs_targets_moto_md_says(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "moto.json"
    code = main(["run", "--target", "moto", "--seed", "1", "--max-examples", "5", "--settle-timeout", "1",
                 "--report-json", str(report)])
    assert code == 1 and "DOES NOT CONFORM" in capsys.readouterr().out
    data = json.loads(report.read_text())
    assert data["target"]["name"] == "moto"
    # Lanes are "Operation over protocol"; the findings below are about the awsJson1_1 lanes.
    found = {(f["operation"].removesuffix(" over awsJson1_1"), f["check"], f["message"]) for f in data["failures"]}
    messages = {message for _, _, message in found}
    # Findings 1, 3, 6, 7, 8, 9 and 10 of docs/targets/moto.md.
    assert ("StopPiiEntitiesDetectionJob", "error_type",
            "error type ResourceNotFoundException, expected JobNotFoundException") in found
    assert ("StopPiiEntitiesDetectionJob", "no_server_error", "answered 500, a server error") in found
    assert any(op == "StartPiiEntitiesDetectionJob" and check == "response_schema" and "is too long" in message
               for op, check, message in found)
    assert any("SubmitTime" in message and "is not of type 'number'" in message for message in messages)
    assert any(check == "job_status_allowed" and "STOP_REQUESTED" in message for _, check, message in found)
    assert ("StopPHIDetectionJob", "no_server_error", "answered 500, a server error") in found
    assert any(f["case"]["category"] == "auth.unsigned" and f["check"] == "content_type"
               and "'application/xml'" in f["message"] for f in data["failures"])  # answered by S3
    # moto has no rpcv2Cbor route for Comprehend: a protocol the SDKs do not send, so said, not failed.
    assert ("StopPiiEntitiesDetectionJob over rpcv2Cbor: not tested: the endpoint does not serve this lane "
            "(answered 404)") in data["notes"]
    assert not any(f["check"] == "operation_served" for f in data["failures"])


def test_target_and_endpoint_url_exclude_each_other() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["run", "--target", "moto", "--endpoint-url", "http://127.0.0.1:1"])
    assert caught.value.code == 2


def test_a_protocol_asked_for_by_name_must_be_served(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--target", "moto", "--operation", "StopPiiEntitiesDetectionJob", "--max-examples", "0",
            "--no-create-jobs", "--seed", "1"]
    report = tmp_path / "cbor.json"
    assert main([*argv, "--protocol", "rpcv2Cbor", "--report-json", str(report)]) == 1
    out = capsys.readouterr().out
    assert "DOES NOT CONFORM: StopPiiEntitiesDetectionJob over rpcv2Cbor: not served, and it must be" in out
    data = json.loads(report.read_text())
    assert data["summary"]["cases"] == 1 and data["failures"]  # only the probe was sent, and it failed
    assert all(f["case"]["category"] == "valid.probe" for f in data["failures"])
    assert "operation_served" in {f["check"] for f in data["failures"]}


def test_docs_targets_moto_md_summary_is_what_the_pinned_moto_gives() -> None:
    import importlib.util

    from conftest import REPO

    spec = importlib.util.spec_from_file_location("moto_summary", REPO / "docs" / "targets" / "moto_summary.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = module.PAGE.read_text(encoding="utf-8")
    assert module.shape(module.committed(page)) == module.shape(module.measured()), \
        "run: python docs/targets/moto_summary.py"
    diff_table = module.committed(page, module.DIFF_BEGIN, module.DIFF_END)
    assert "| what differs" in diff_table and module.shape(diff_table) == module.shape(module.measured_diff()), \
        "run: python docs/targets/moto_summary.py"
