"""Schemas derived from the repository's reference pages: reproducible, well formed, in step with botocore."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.model import botocore_model, schemagen
from conformance.model.operations import (
    Operation,
    SchemaDocumentError,
    default_schema_dir,
    load_document,
    load_operations,
)
from conformance.model.pages import DocsError, parse_page
from conformance.model.validation import check_schema

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO / "api-reference-pages"  # the repository's own reference pages, input of `conformance schemas`
MISSION = [("comprehend", "StopPiiEntitiesDetectionJob"), ("comprehendmedical", "StopPHIDetectionJob")]
COMPREHEND = [
    "StopDominantLanguageDetectionJob", "StopEntitiesDetectionJob", "StopEventsDetectionJob",
    "StopKeyPhrasesDetectionJob", "StopPiiEntitiesDetectionJob", "StopSentimentDetectionJob",
    "StopTargetedSentimentDetectionJob",
]
MEDICAL = [
    "StopEntitiesDetectionV2Job", "StopICD10CMInferenceJob", "StopPHIDetectionJob", "StopRxNormInferenceJob",
    "StopSNOMEDCTInferenceJob",
]

# What botocore's model says differently from the reference pages, known and accepted. Any other
# difference fails the drift test by name. Since botocore 1.44 the not-found errors are 404 in the
# model; the AWS reference pages (and so ours, and the reference server) say 400. Likewise the pages
# give TooManyRequestsException 400 where the model says 429.
KNOWN_DRIFT = sorted(
    [f"{name}.errors.JobNotFoundException.httpStatus: docs 400, botocore 404" for name in COMPREHEND]
    + [f"{name}.errors.ResourceNotFoundException.httpStatus: docs 400, botocore 404" for name in MEDICAL]
    + ["StopSNOMEDCTInferenceJob.errors.TooManyRequestsException.httpStatus: docs 400, botocore 429"]
)


def _operation(name: str) -> Operation:
    return next(op for op in load_operations() if op.name == name)


def test_regenerating_reproduces_committed_schemas_byte_for_byte(tmp_path: Path) -> None:
    assert main(["schemas", "--docs", str(PAGES), "--out", str(tmp_path)]) == 0
    committed = sorted(p.name for p in default_schema_dir().glob("*.json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (default_schema_dir() / name).read_bytes(), name


def test_check_mode_reports_a_stale_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(default_schema_dir(), tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(REPO)  # --docs defaults to the repository's api-reference-pages/
    assert main(["schemas", "--out", str(tmp_path), "--check"]) == 0
    stale = tmp_path / "comprehend.StopPiiEntitiesDetectionJob.json"
    stale.write_text(stale.read_text().replace('"maxLength": 32', '"maxLength": 33'))
    assert main(["schemas", "--docs", str(PAGES), "--out", str(tmp_path), "--check"]) == 1
    assert f"{stale}: differs" in capsys.readouterr().out


def test_upstream_pages_derive_the_committed_documents(seeds_dir: Path) -> None:
    """Where the upstream AWS pages are at hand, they and our pages state the same facts, byte for byte."""
    upstream = schemagen.generate(seeds_dir)
    ours = schemagen.generate(PAGES)
    assert upstream
    for name, text in upstream.items():
        assert text == (default_schema_dir() / name).read_text(encoding="utf-8"), name
        assert text == ours[name], name


def test_documents_are_valid_json_schema_and_round_trip() -> None:
    operations = load_operations()
    found = [(op.service.name, op.name) for op in operations]
    assert len(operations) == 12
    assert found == [("comprehend", name) for name in COMPREHEND] + [("comprehendmedical", name) for name in MEDICAL]
    assert all(mission in found for mission in MISSION)
    for operation in operations:
        document = operation.to_document()
        assert "description" not in document  # facts only: prose stays in the pages
        assert all(set(spec) == {"httpStatus"} for spec in document["x-errors"].values())
        assert (PAGES / document["x-source"]).is_file()
        check_schema(document)
        check_schema(document["$defs"]["request"])
        check_schema(document["$defs"]["response"])
        assert Operation.from_document(json.loads(json.dumps(document))) == operation


def test_documents_hold_constraints_errors_and_service_metadata() -> None:
    pii, phi = _operation("StopPiiEntitiesDetectionJob"), _operation("StopPHIDetectionJob")
    job_id = pii.request["properties"]["JobId"]
    assert job_id["minLength"] == 1 and job_id["maxLength"] == 32
    assert job_id["pattern"] == r"^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$"
    assert pii.request["required"] == ["JobId"]
    assert pii.response["properties"]["JobStatus"]["enum"] == [
        "SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED", "STOP_REQUESTED", "STOPPED",
    ]
    assert set(phi.response["properties"]) == {"JobId"}
    assert {(e.name, e.http_status) for e in pii.errors} == {
        ("InternalServerException", 500), ("InvalidRequestException", 400), ("JobNotFoundException", 400),
    }
    assert {(e.name, e.http_status) for e in phi.errors} == {
        ("InternalServerException", 500), ("InvalidRequestException", 400), ("ResourceNotFoundException", 400),
    }
    assert pii.target == "Comprehend_20171127.StopPiiEntitiesDetectionJob"
    assert phi.target == "ComprehendMedical_20181030.StopPHIDetectionJob"
    assert (pii.service.signing_name, phi.service.signing_name) == ("comprehend", "comprehendmedical")
    assert "awsJson1_1" in pii.service.protocols
    assert phi.service.protocols == ("rpcv2Cbor", "awsJson1_1")
    for operation in load_operations():
        assert operation.request == pii.request
        assert operation.response == (pii.response if operation.service.name == "comprehend" else phi.response)
        expected = {(e.name, e.http_status) for e in (pii if operation.service.name == "comprehend" else phi).errors}
        if operation.name == "StopSNOMEDCTInferenceJob":
            expected.add(("TooManyRequestsException", 400))
        assert {(e.name, e.http_status) for e in operation.errors} == expected, operation.name


def test_schemas_agree_with_botocore_except_known_drift() -> None:
    found = sorted(line for op in load_operations() for line in botocore_model.drift(op))
    assert found == KNOWN_DRIFT


def test_drift_names_a_changed_constraint() -> None:
    operation = _operation("StopPiiEntitiesDetectionJob")
    request = json.loads(json.dumps(operation.request))
    request["properties"]["JobId"]["maxLength"] = 31
    changed = Operation(**{**operation.__dict__, "request": request, "_validators": {}})
    assert (
        "StopPiiEntitiesDetectionJob.request.properties.JobId.maxLength: docs 31, botocore 32"
        in botocore_model.drift(changed)
    )


def _page() -> str:
    return (PAGES / "API_StopPiiEntitiesDetectionJob.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "section", "problem"),
    [
        (lambda t: t.replace("## Errors", "## Faults"), "Errors", "missing"),
        (lambda t: t.replace("Type: String  \nLength", "Length", 1), "Request Parameters", "no 'Type:' line"),
        (lambda t: t.replace("Type: String  \nLength", "Type: Gizmo  \nLength", 1), "Request Parameters",
         "type 'Gizmo'"),
        (lambda t: t.replace("Minimum length of 1.", "Minimum length of 99.", 1), "Request Parameters",
         "minimum is above maximum"),
        (lambda t: t.replace("`^([\\p{L}", "`^(([\\p{L}", 1), "Request Parameters", "does not compile"),
        (lambda t: t.replace("Required: Yes", "Required: Maybe"), "Request Parameters", "Yes or No"),
        (lambda t: t.replace("HTTP Status Code: 500", "HTTP Status Code: teapot"), "Errors",
         "'InternalServerException' needs one 'HTTP Status Code"),
        (lambda t: t.replace('"JobId": "string"\n}', '"JobId": "string",\n   "Extra": "x"\n}', 1),
         "Request Syntax", "names members ['Extra', 'JobId']"),
        (lambda t: t.replace("comprehend-2017-11-27", "comprehend-1999-01-01"), "See Also", "no service with uid"),
        (lambda t: t.replace("docs.aws.amazon.com/goto", "example.com"), "See Also", "found none"),
    ],
)
def test_malformed_page_names_page_and_section(edit, section: str, problem: str) -> None:
    page = _page()
    assert edit(page) != page  # the edit applies to our page
    with pytest.raises(DocsError) as caught:
        parse_page(edit(page), "page.md")
    assert caught.value.page == "page.md"
    assert caught.value.section == section
    assert problem in caught.value.problem


def test_cli_reports_a_bad_page_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "API_Broken.md"
    page.write_text(_page().replace("## Response Syntax", "## Answer Syntax"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["schemas", "--docs", str(page), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("conformance: error: ") and "section 'Response Syntax': missing" in err
    assert "Traceback" not in err
    assert not out.exists()  # nothing half-written


def test_cli_reports_missing_docs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "--docs", str(tmp_path / "nowhere")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["schemas", "--docs", str(tmp_path)]) == 2
    assert "holds no API_*.md reference pages" in capsys.readouterr().err
    (tmp_path / "README.md").write_text("# Notes\n")  # not a page: only API_*.md files are
    assert main(["schemas", "--docs", str(tmp_path)]) == 2
    assert "holds no API_*.md reference pages" in capsys.readouterr().err


def test_non_utf8_page_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "API_X.md").write_bytes(b"# X\xff\n")
    assert main(["schemas", "--docs", str(tmp_path)]) == 2
    assert "cannot read as UTF-8" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "is not of type 'object'"),
        ('{"title": "X"}', "'x-service' is a required property"),
    ],
)
def test_bad_schema_document_names_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SchemaDocumentError) as caught:
        load_document(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_invalid_schema_inside_a_document_is_named(tmp_path: Path) -> None:
    document = load_operations()[0].to_document()
    document["$defs"]["request"]["properties"]["JobId"]["minLength"] = -1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(SchemaDocumentError, match=r"\$defs/request is not a valid JSON Schema"):
        load_document(path)
