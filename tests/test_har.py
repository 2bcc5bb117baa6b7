"""The HAR report (`--report-har`): a HAR 1.2 file of the run's exchanges that HAR tools read, holding no secret."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jsonschema
import pytest
from haralyzer import HarParser
from test_aws_safety import (  # noqa: F401 - fixtures: an AWS-like server, test credentials in the environment
    JOB_FLAGS,
    SECRETS,
    AwsLikeServer,
    aws_environment,
    aws_like,
)

from conformance.cases.categories import PROBE
from conformance.cli import main
from conformance.reference.aws_mode import TEST_SESSION_CREDENTIALS

# HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/): the members the spec requires, and their types.
_HEADER = {"type": "object", "required": ["name", "value"],
           "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}
_PAIRS = {"type": "array", "items": _HEADER}
HAR_1_2 = {
    "type": "object", "required": ["log"],
    "properties": {"log": {
        "type": "object", "required": ["version", "creator", "entries"],
        "properties": {
            "version": {"const": "1.2"},
            "creator": {"type": "object", "required": ["name", "version"]},
            "entries": {"type": "array", "items": {
                "type": "object", "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
                "properties": {
                    "startedDateTime": {"type": "string",
                                        "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"},
                    "time": {"type": "number", "minimum": 0},
                    "request": {"type": "object", "required": ["method", "url", "httpVersion", "cookies", "headers",
                                                               "queryString", "headersSize", "bodySize"],
                                "properties": {"headers": _PAIRS, "queryString": _PAIRS, "cookies": {"type": "array"},
                                               "postData": {"type": "object", "required": ["mimeType", "text"]},
                                               "bodySize": {"type": "integer"}, "headersSize": {"type": "integer"}}},
                    "response": {"type": "object", "required": ["status", "statusText", "httpVersion", "cookies",
                                                                "headers", "content", "redirectURL", "headersSize",
                                                                "bodySize"],
                                 "properties": {"status": {"type": "integer"}, "headers": _PAIRS,
                                                "content": {"type": "object", "required": ["size", "mimeType"],
                                                            "properties": {"encoding": {"const": "base64"}}}}},
                    "cache": {"type": "object"},
                    "timings": {"type": "object", "required": ["send", "wait", "receive"]},
                }}},
        }}},
}


def _body_bytes(holder: dict) -> bytes:
    """A HAR body's bytes: base64-decoded where `encoding` says so."""
    text = holder.get("text", "")
    return base64.b64decode(text, validate=True) if holder.get("encoding") == "base64" else text.encode("utf-8")


def test_a_default_run_writes_a_har_that_a_har_library_reads(tmp_path: Path) -> None:
    har, report = tmp_path / "run.har", tmp_path / "run.json"
    assert main(["run", "--seed", "1", "--report-har", str(har), "--report-json", str(report)]) == 0
    document = json.loads(har.read_text())
    jsonschema.validate(document, HAR_1_2)
    parsed = HarParser(document)
    entries = parsed.har_data["entries"]
    assert parsed.creator["name"] == "aws-comprehend-conformance"
    sent = json.loads(report.read_text())["requests_sent"]
    # One entry per exchange judged; a job flow keeps only its last look at a settling job, so the looks before it
    # (a few per flow against the embedded server, whose stops settle in 0.2 s) are the only requests left out.
    assert 0 <= sent - len(entries) <= 40 and len(entries) > 500, (sent, len(entries))
    assert all(entry["request"]["url"].startswith("http://127.0.0.1:") for entry in entries)
    assert "POST" in {entry["request"]["method"] for entry in entries}
    cbor = [e for e in entries if e["request"].get("postData", {}).get("mimeType") == "application/cbor"]
    assert cbor and all(e["request"]["postData"]["encoding"] == "base64" for e in cbor)
    assert all(len(_body_bytes(e["request"]["postData"])) == e["request"]["bodySize"] for e in cbor)
    answered_cbor = [e for e in entries if e["response"]["content"]["mimeType"] == "application/cbor"]
    assert answered_cbor and all(e["response"]["content"].get("encoding") == "base64" for e in answered_cbor)
    assert all(len(_body_bytes(e["response"]["content"])) == e["response"]["content"]["size"] for e in entries)
    started = [e["startedDateTime"] for e in entries]
    assert started == sorted(started)  # in the order sent
    categories = {e["comment"].split(": ")[1] for e in entries}
    assert {PROBE.name, "existing.settled", "existing.stop"} <= categories


def test_without_settle_looks_the_har_holds_exactly_one_entry_per_request_sent(tmp_path: Path) -> None:
    har, report = tmp_path / "run.har", tmp_path / "run.json"
    assert main(["run", "--seed", "2", "--max-examples", "5", "--settle-timeout", "0", "--report-har-path", str(har),
                 "--report-json", str(report)]) == 0
    entries = HarParser(json.loads(har.read_text())).har_data["entries"]
    assert len(entries) == json.loads(report.read_text())["requests_sent"]


def test_an_aws_like_run_writes_a_har_with_no_secret(aws_like: AwsLikeServer, aws_environment: None,  # noqa: F811
                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_like.url)
    aws_like.app.region = "eu-west-1"
    har = tmp_path / "aws.har"
    status = main(["run", "--target", "aws", "--region", "eu-west-1", "--allow-credentials-to-custom-endpoint",
                   *JOB_FLAGS, "--max-examples", "5", "--seed", "1", "--settle-timeout", "2", "--report-har", str(har)])
    assert status == 0
    text = har.read_text()
    entries = json.loads(text)["log"]["entries"]
    assert len(entries) > 100
    signatures = aws_like.signatures()
    assert len(signatures) > 100
    for secret in (*SECRETS, *signatures):
        assert secret not in text
    # ...nor in a binary body, where the text holds base64: every body decoded and searched too.
    for entry in entries:
        for holder in (entry["request"].get("postData", {}), entry["response"]["content"]):
            data = _body_bytes(holder)
            assert not any(secret.encode() in data for secret in (*SECRETS, *signatures))
    # The access key id is no secret (AWS shows it in errors): what the report hides is the rest of the pair.
    assert TEST_SESSION_CREDENTIALS.secret_key not in text


@pytest.mark.parametrize("flag", ["--report-har", "--report-har-path"])
def test_an_unwritable_har_path_is_one_line_exit_2(flag: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for path, reason in ((tmp_path, "it is a folder"), (tmp_path / "missing" / "run.har", "does not exist")):
        assert main(["run", "--max-examples", "0", flag, str(path)]) == 2
        captured = capsys.readouterr()
        assert f"cannot write --report-har {path}: " in captured.err and reason in captured.err, captured.err
        assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1
    same = tmp_path / "same"
    assert main(["run", "--max-examples", "0", "--report-har", str(same), "--report-json", str(same)]) == 2
    assert "both name one file" in capsys.readouterr().err
