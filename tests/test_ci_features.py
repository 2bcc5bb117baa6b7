"""CI features of `conformance run`: check selection, --fail-fast, --rerun, JUnit times, the Markdown summary, the
published report schema and the config file."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from conformance.cli import main
from conformance.reference import (
    JobStore,
    ReferenceApp,
    ReferenceServer,
    SystemClock,
    Timings,
)
from conformance.reference.variants import build_app

FAST_JOBS = Timings(queued=0.05, running=600.0, stopping=0.2)
SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "report.schema.json").read_text(encoding="utf-8"))
FAULT = "max_length_33"  # answers a too-long JobId as if it were valid: the catalog's cases catch it


@pytest.fixture()
def conforming() -> Iterator[str]:
    with ReferenceServer(app=ReferenceApp(jobs=JobStore(SystemClock(), FAST_JOBS))) as server:
        yield server.url


@pytest.fixture()
def failing() -> Iterator[str]:
    with ReferenceServer(app=build_app(FAULT, timings=FAST_JOBS)) as server:
        yield server.url


def run(url: str, *options: str) -> int:
    """`conformance run` against `url`, quickly (no generated cases, short waits)."""
    return main(["run", "--endpoint-url", url, "--max-examples", "0", "--seed", "1", "--settle-timeout", "2",
                 "--read-timeout", "5", *options])


def report(path: Path) -> dict:
    """A JSON report, checked against the published schema."""
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    return data


def test_the_schema_is_a_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_check_selects_and_exclude_check_leaves_out(conforming: str, tmp_path: Path) -> None:
    assert run(conforming, "--check", "answered", "--check", "status_code", "--exclude-check", "status_code",
               "--report-json", str(tmp_path / "r.json")) == 0
    matrix = report(tmp_path / "r.json")["matrix"]
    judged = {check for cells in matrix.values() for check, cell in cells.items() if cell["passed"] or cell["failed"]}
    assert judged == {"answered"}


def test_an_unknown_check_exits_2_naming_the_known_ones(conforming: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(conforming, "--exclude-check", "no_such_check") == 2
    err = capsys.readouterr().err
    assert "no_such_check" in err and "known:" in err and "status_code" in err


def test_fail_fast_stops_early_and_still_stops_every_job(failing: str, tmp_path: Path) -> None:
    assert run(failing, "--report-json", str(tmp_path / "all.json")) == 1
    assert run(failing, "--fail-fast", "--workers", "1", "--report-json", str(tmp_path / "fast.json")) == 1
    everything, fast = report(tmp_path / "all.json"), report(tmp_path / "fast.json")
    assert fast["verdict"] == "does_not_conform"
    assert fast["summary"]["cases"] < everything["summary"]["cases"]
    assert any("--fail-fast" in note and "stopped early" in note for note in fast["notes"])
    assert fast["jobs"]["started"] and not fast["jobs"]["left_running"]


def test_rerun_sends_only_the_failed_cases(failing: str, tmp_path: Path) -> None:
    assert run(failing, "--no-create-jobs", "--report-json", str(tmp_path / "first.json")) == 1
    first = report(tmp_path / "first.json")
    failed = {(r["case"]["category"], r["case"]["description"]) for r in first["failures"]}
    assert run(failing, "--rerun", str(tmp_path / "first.json"), "--report-json", str(tmp_path / "again.json")) == 1
    again = report(tmp_path / "again.json")
    assert {(r["case"]["category"], r["case"]["description"]) for r in again["failures"]} == failed
    assert not again["jobs"]["started"]  # no failure was in a job flow
    sent = sum(sum(counts.values()) for counts in again["coverage"].values())
    cases = {(r["operation"], r["case"]["category"], r["case"]["description"], r["case"].get("spelling"))
             for r in first["failures"]}  # a case in another spelling is a case of its own (its original failed too)
    assert sent == len(cases) + 2 * len(again["coverage_contract"])  # each failed case once, the probes, the auth cases


def test_rerun_of_a_file_that_is_no_report_exits_2(conforming: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.json").write_text('{"format": "other"}', encoding="utf-8")
    assert run(conforming, "--rerun", str(tmp_path / "x.json")) == 2
    assert "not a JSON report" in capsys.readouterr().err


@pytest.mark.parametrize(("change", "said"), [
    ({"category": "invalid.nope"}, "unknown case category 'invalid.nope'"),
    ({"kind": "auth"}, "category invalid.length.too_long is of kind constraint"),
])
def test_rerun_of_a_report_whose_case_names_no_declared_category_exits_2(
        conforming: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, str], said: str) -> None:
    case = {"operation": "StopPiiEntitiesDetectionJob", "category": "invalid.length.too_long", "kind": "constraint",
            "description": "a JobId of 33 characters", "document": {"JobId": "a" * 33}}
    (tmp_path / "r.json").write_text(json.dumps({"format": "conformance-report/1", "failures": [
        {"protocol": "awsJson1_1", "case": {**case, **change}}]}), encoding="utf-8")
    assert run(conforming, "--rerun", str(tmp_path / "r.json")) == 2
    assert said in capsys.readouterr().err


def test_junit_has_times_and_no_skipped_checks_on_a_passing_run(conforming: str, tmp_path: Path) -> None:
    assert run(conforming, "--junitxml", str(tmp_path / "r.xml")) == 0
    root = ET.parse(tmp_path / "r.xml").getroot()
    checks = [suite for suite in root if suite.get("name") != "coverage"]
    assert checks and all(suite.get("skipped") == "0" and suite.find("testcase/skipped") is None for suite in checks)
    assert sum(float(case.get("time", "0")) for suite in checks for case in suite) > 0
    assert root.find("testsuite[@name='coverage']") is not None


def test_markdown_summary(failing: str, tmp_path: Path) -> None:
    assert run(failing, "--report-markdown", str(tmp_path / "r.md")) == 1
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert text.startswith("## Conformance: `does_not_conform`")
    assert "| Lane | State |" in text and "### Failures" in text and "| Check | Count | Lanes |" in text
    assert text.count("```sh") == text.count("<details>") and len(text.encode()) <= 60_000 + 100


def test_every_kind_of_report_fits_the_schema(conforming: str, failing: str, tmp_path: Path) -> None:
    assert run(conforming, "--report-json", str(tmp_path / "ok.json")) == 0
    assert run(failing, "--report-json", str(tmp_path / "bad.json")) == 1
    assert run(conforming, "--budget", "8", "--report-json", str(tmp_path / "part.json")) == 4
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert run(f"http://127.0.0.1:{port}", "--report-json", str(tmp_path / "none.json")) == 3
    verdicts = [report(tmp_path / f"{name}.json")["verdict"] for name in ("ok", "bad", "part", "none")]
    assert verdicts == ["conforms", "does_not_conform", "incomplete", "unreachable"]


def test_config_file_sets_options_and_the_command_line_wins(conforming: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.conformance]\ncheck = ["answered"]\nbudget = 8\n'
                                             'report-json = "from-file.json"\n', encoding="utf-8")
    assert run(conforming) == 4  # the file's budget leaves categories unjudged
    assert report(tmp_path / "from-file.json")["budget"] == 8
    assert run(conforming, "--budget", "400", "--check", "status_code", "--report-json", "cli.json") == 0
    data = report(tmp_path / "cli.json")
    assert data["budget"] == 400
    judged = {check for cells in data["matrix"].values() for check, cell in cells.items() if cell["passed"]}
    assert judged == {"status_code"}


def test_an_unknown_config_key_exits_2_naming_it_and_the_file(conforming: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conformance.toml").write_text("max-exampels = 3\n", encoding="utf-8")
    assert run(conforming) == 2
    err = capsys.readouterr().err
    assert "max-exampels" in err and "conformance.toml" in err


def test_rerun_sends_each_failed_case_exactly_as_it_was_first_sent(tmp_path: Path) -> None:
    # no_validation fails invalid.length.far_too_long: a JobId of 10,000 characters, ours, not the target's,
    # so the report keeps it whole and --rerun sends the very same bytes.
    with ReferenceServer(app=build_app("no_validation", timings=FAST_JOBS)) as server:
        assert run(server.url, "--no-create-jobs", "--report-json", str(tmp_path / "first.json")) == 1
        assert run(server.url, "--rerun", str(tmp_path / "first.json"), "--report-json",
                   str(tmp_path / "again.json")) == 1

    def bodies(path: Path) -> dict[tuple[str, str], tuple[int, str]]:
        return {(r["operation"], r["case"]["category"]): (r["request"]["body"]["length"],
                                                         r["request"]["body"].get("text") or r["request"]["body"]["base64"])
                for r in report(path)["failures"] if r["case"]["category"] == "invalid.length.far_too_long"}

    first = bodies(tmp_path / "first.json")
    assert first and bodies(tmp_path / "again.json") == first
    assert all(length > 10_000 for length, _ in first.values())


def test_junit_spells_out_what_xml_cannot_carry(tmp_path: Path) -> None:
    from conformance.report.junit import xml_safe
    tree = ET.Element("testsuites", name="a\x00b")
    case = ET.SubElement(tree, "failure", message="status \x1b[31m")
    case.text = "body: \x01\x7f\ud800\ufffe fine: é 𝄞 \t\n"
    path = tmp_path / "r.xml"
    ET.ElementTree(xml_safe(tree)).write(path, encoding="utf-8", xml_declaration=True)
    parsed = ET.parse(path).getroot()  # well-formed
    assert parsed.get("name") == "a\\x00b"
    failure = parsed.find("failure")
    assert failure is not None and failure.get("message") == "status \\x1b[31m"
    assert failure.text == "body: \\x01\x7f\\ud800\\ufffe fine: é 𝄞 \t\n"
