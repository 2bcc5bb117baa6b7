"""Inputs the command line and a run's configuration refuse with one sentence and exit 2, before anything is sent:
credentials in a URL, real credentials over plain http, numbers out of range, unwritable report paths, a missing or
unusable schema document, a malformed example catalog."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_aws_safety import aws_environment  # noqa: F401 - a fixture: test credentials, nothing else to find

from conformance.cli import build_parser, main
from conformance.engine.config import ConfigurationError, RunConfig
from conformance.engine.lanes import select_operations
from conformance.engine.plan import prepare
from conformance.generation import catalog
from conformance.model.operations import default_schema_dir, load_operations
from conformance.protocols import SUPPORTED
from conformance.reference import ReferenceServer
from conformance.reference.aws_mode import TEST_SESSION_CREDENTIALS
from conformance.targets.target import Target, TargetError
from conformance.wire.credentials import DUMMY_CREDENTIALS
from conformance.wire.http import HttpRequest

PASSWORD = "s3cr3t"
PII, PHI = "StopPiiEntitiesDetectionJob", "StopPHIDetectionJob"
PII_FILE, PHI_FILE = "comprehend.StopPiiEntitiesDetectionJob.json", "comprehendmedical.StopPHIDetectionJob.json"
AWS_HTTP = "http://comprehend.us-east-1.amazonaws.com"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name outside loopback resolves: should a refusal here regress, the run still reaches no AWS host."""
    resolve = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"test_cli_inputs: no network beyond loopback ({name})")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
def recording_server(live_reference_server: ReferenceServer) -> Iterator[tuple[ReferenceServer, list[HttpRequest]]]:
    """The reference server, with every request it receives recorded."""
    received: list[HttpRequest] = []
    handle = live_reference_server.app.handle
    live_reference_server.app.handle = lambda request: (received.append(request), handle(request))[1]
    yield live_reference_server, received


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command line, which must exit 2 with one `conformance: error:` line; that line."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("conformance: error: "), err
    return lines[0]


# 1. Credentials in a URL.

@pytest.mark.parametrize("url", [f"http://alice:{PASSWORD}@127.0.0.1:9", f"https://alice:{PASSWORD}@example.com",
                                 f"http://:{PASSWORD}@127.0.0.1:9", "http://alice@127.0.0.1:9",
                                 f"http://alice:{PASSWORD}@[::1"])
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_an_endpoint_url_with_user_info_is_refused_and_its_password_never_shown(
        url: str, dry_run: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(["run", "--endpoint-url", url, "--max-examples", "0", *dry_run], capsys)
    assert PASSWORD not in line and ("user name or password" in line or "cannot be read" in line)


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COMPREHEND",
                                      "AWS_ENDPOINT_URL_COMPREHENDMEDICAL"])
@pytest.mark.parametrize("host", ["127.0.0.1:9", "bad host"])  # botocore refuses the second, quoting the URL
def test_an_aws_endpoint_variable_with_user_info_is_refused_and_its_password_never_shown(
        variable: str, host: str, aws_environment: None, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(variable, f"http://alice:{PASSWORD}@{host}")
    line = refused(["run", "--target", "aws", "--allow-credentials-to-custom-endpoint", "--max-examples", "0"], capsys)
    assert PASSWORD not in line and "***@" in line


# 2. Real credentials only over https to AWS.

def test_real_credentials_are_never_sent_to_aws_over_plain_http(aws_environment: None,  # noqa: F811
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--endpoint-url", AWS_HTTP], ["--endpoint-url", AWS_HTTP, "--dry-run"]):
        assert "only over https" in refused(["run", *argv, "--max-examples", "0"], capsys)
    monkeypatch.setenv("AWS_ENDPOINT_URL_COMPREHENDMEDICAL", "http://comprehendmedical.us-east-1.amazonaws.com")
    assert "only over https" in refused(["run", "--target", "aws", "--max-examples", "0"], capsys)
    for allowed in (False, True):  # leave to send credentials to other hosts does not cover this
        for url in (AWS_HTTP, AWS_HTTP + "./", "HTTP://COMPREHEND.US-EAST-1.AMAZONAWS.COM"):
            with pytest.raises(TargetError, match="only over https"):
                Target(url, credentials=TEST_SESSION_CREDENTIALS, credentials_to_custom_endpoint=allowed)
    assert Target(AWS_HTTP.replace("http:", "https:"), credentials=TEST_SESSION_CREDENTIALS).is_aws
    assert Target(AWS_HTTP, credentials=DUMMY_CREDENTIALS).url == AWS_HTTP  # no real credentials, nothing to leak


# 3. Numbers out of range, and unreadable URLs.

@pytest.mark.parametrize("flag, values", [
    ("--rate", ["1e-300", "0.001", "0", "-1", "nan", "inf", "1e999", "５", "²", "x"]),
    ("--budget", ["0", "-1", "1000000001", "9" * 5000, "nan", "1.5", "５", "²"]),
    ("--workers", ["0", "257", "1" + "0" * 30, "inf", "５", "²"]),
    ("--max-examples", ["-1", "100001", "9" * 5000, "nan", "５", "²"]),
    ("--seed", ["-1", str(2**64), "9" * 5000, "1e3", "５", "²"]),
    ("--settle-timeout", ["-1", "86401", "1e308", "nan", "inf", "５", "²"]),
    ("--read-timeout", ["0", "-1", "3601", "nan", "inf", "５", "²"]),
    ("--near-misses", ["-1", "1001", "1.5", "５"]),
    ("--shrink-requests", ["-1", "100001", "9" * 5000, "５"]),
    ("--state-machine-steps", ["-1", "100001", "9" * 5000, "1.5", "nan", "５", "²", "x"]),
    ("--max-failures", ["0", "-1", "1000001", "9" * 5000, "1.5", "nan", "５", "²", "x"]),
    ("--max-time", ["0", "-1", "86401", "1e308", "nan", "inf", "５", "²", "x"]),
])
def test_absurd_numbers_are_refused_naming_the_flag_and_its_range(flag: str, values: list[str],
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for value in values:
        with pytest.raises(SystemExit) as caught:
            main(["run", flag, value, "--dry-run"])
        err = capsys.readouterr().err
        assert caught.value.code == 2, (flag, value)
        assert f"error: argument {flag}: {value!r} is not a" in err and "Traceback" not in err, (flag, value, err)
        assert re.search(r"(from \d+ to \d+|[<>]=? [\d.]+)\n$", err), err  # the range is said


def test_the_smallest_rate_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--rate", "1e-300"])
    assert "'1e-300' is not a finite number of requests per second >= 0.01" in capsys.readouterr().err


def test_the_largest_sane_values_are_taken() -> None:
    args = build_parser().parse_args(["run", "--workers", "256", "--rate", "0.01", "--budget", "1000000000",
                                      "--max-examples", "100000", "--seed", str(2**64 - 1), "--settle-timeout",
                                      "86400", "--read-timeout", "3600", "--state-machine-steps", "100000",
                                      "--max-failures", "1000000", "--max-time", "86400"])
    assert (args.workers, args.rate, args.budget, args.max_examples) == (256, 0.01, 10**9, 100_000)
    assert (args.seed, args.settle_timeout, args.read_timeout) == (2**64 - 1, 86400.0, 3600.0)
    assert args.state_machine_steps == 100_000
    assert (args.max_failures, args.max_time) == (1_000_000, 86400.0)


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999", "ftp://127.0.0.1", "http://127.0.0.1/?x=1"])
def test_an_unreadable_endpoint_url_is_one_sentence(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "endpoint URL" in refused(["run", "--endpoint-url", url, "--max-examples", "0"], capsys)


# 4. Report paths: checked before anything is sent; --dry-run writes no report.

def _unwritable_paths(tmp_path: Path) -> list[tuple[Path, str]]:
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o500)
    paths = [(tmp_path, "it is a folder"), (tmp_path / "missing" / "report", "does not exist")]
    if Path("/proc/version").is_file():  # Linux: a file nobody may write, root included
        paths += [(Path("/proc/version"), "cannot write"), (Path("/proc/conformance-report"), "cannot write")]
    if os.geteuid() != 0:  # root writes into a read-only folder
        paths.append((read_only / "report", "ermission denied"))
    return paths


@pytest.mark.parametrize("flag", ["--report-json", "--junitxml", "--report-har", "--report-markdown", "--report-html"])
def test_an_unwritable_report_path_is_refused_before_anything_is_sent(
        flag: str, recording_server: tuple[ReferenceServer, list[HttpRequest]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    server, received = recording_server
    for path, reason in _unwritable_paths(tmp_path):
        line = refused(["run", "--endpoint-url", server.url, "--max-examples", "0", flag, str(path)], capsys)
        assert f"cannot write {flag} {path}: " in line and reason in line, line
    assert received == []


def test_the_report_check_neither_empties_nor_leaves_a_file(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    kept, new = tmp_path / "kept.json", tmp_path / "new.xml"
    kept.write_text("an earlier report")
    refused(["run", "--report-json", str(kept), "--junitxml", str(tmp_path / "missing" / "x.xml")], capsys)
    refused(["run", "--junitxml", str(new), "--report-json", str(tmp_path)], capsys)
    assert kept.read_text() == "an earlier report" and not new.exists()
    line = refused(["run", "--report-json", str(kept), "--junitxml", str(kept)], capsys)
    assert "both name" in line


@pytest.mark.parametrize("flags", [["--report-json", "plan.json"], ["--junitxml", "plan.xml"],
                                   ["--report-json", "plan.json", "--junitxml", "plan.xml"]])
def test_a_dry_run_refuses_report_flags(flags: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    line = refused(["run", "--dry-run", *flags], capsys)
    assert "--dry-run sends nothing" in line and flags[0] in line
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("COLUMNS", "1000")  # no help line wrapped (argparse may break one at a hyphen)
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "send none (no report: --report-json and --junitxml are refused with it)" in capsys.readouterr().out


# 5. Schema documents: a selected operation without a usable one is a configuration error naming the file.

@pytest.fixture
def schema_dir(tmp_path: Path) -> Path:
    """A copy of the committed schema documents."""
    return Path(shutil.copytree(default_schema_dir(), tmp_path / "schemas"))


def _prepare_error(schema_dir: Path, **options: Any) -> str:
    with pytest.raises(ConfigurationError) as caught:
        prepare(RunConfig(Target("http://127.0.0.1:9"), schema_dir=schema_dir, max_examples=0, **options))
    return str(caught.value)


def test_a_deleted_schema_document_is_named_not_dropped(schema_dir: Path) -> None:
    (schema_dir / PHI_FILE).unlink()
    assert _prepare_error(schema_dir, operations=(PHI,)).startswith(
        f"{schema_dir / PHI_FILE}: no schema document for {PHI}")
    # A chosen folder is run for what it holds.
    everything = select_operations(RunConfig(Target("http://127.0.0.1:9"), schema_dir=schema_dir))
    assert PHI not in [op.name for op in everything] and PII in [op.name for op in everything]
    # A run that selects only the other operation needs only its document.
    selected = select_operations(RunConfig(Target("http://127.0.0.1:9"), schema_dir=schema_dir, operations=(PII,)))
    assert [op.name for op in selected] == [PII]


def test_a_schema_document_in_no_protocol_the_suite_speaks_is_named(schema_dir: Path) -> None:
    document = json.loads((schema_dir / PII_FILE).read_text())
    document["x-service"]["protocols"] = ["restJson1"]
    (schema_dir / PII_FILE).write_text(json.dumps(document))
    message = _prepare_error(schema_dir)
    assert message.startswith(f"{schema_dir / PII_FILE}: {PII} lists protocols restJson1, none of which")
    assert all(name in message for name in SUPPORTED)
    # Not selected, it does not matter.
    assert select_operations(RunConfig(Target("http://127.0.0.1:9"), schema_dir=schema_dir, operations=(PHI,)))


@pytest.mark.parametrize("text", ["", "{", '{"title": 5}', "[]"])
def test_a_malformed_schema_document_is_named(text: str, schema_dir: Path) -> None:
    (schema_dir / PII_FILE).write_text(text)
    assert _prepare_error(schema_dir).startswith(str(schema_dir / PII_FILE))


# 6. The example catalog: checked against fixtures/examples.schema.json when loaded.

def test_the_bundled_catalog_passes_its_schema() -> None:
    entries = catalog.load_entries()
    assert entries and catalog.catalog_schema_path().is_file()
    schema = json.loads(catalog.catalog_schema_path().read_text())
    assert schema["$defs"]["example"]["properties"]["protocol"]["enum"] == list(SUPPORTED)


def test_every_placeholder_is_filled_in_for_every_operation(tmp_path: Path) -> None:
    template = "/" + "/".join(f"{{{name}}}" for name in catalog.PLACEHOLDERS)
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps({"examples": [{"category": "protocol.unclaimed.other_path", "protocol": "awsJson1_1",
                                                 "path": template, "headers": {"X-Test": template},
                                                 "document": {}}]}))
    operations = load_operations()
    for operation in operations:
        (case,) = catalog.cases_for(operation, "awsJson1_1", operations, catalog.load_entries(catalog_file))
        assert "{" not in case.path and operation.name in case.path


GOOD = {"category": "valid.mixed", "description": "a test entry", "document": {"JobId": "job-1"}}
RAW = {"category": "invalid.body.malformed_json", "protocol": "awsJson1_1", "raw_body": "{"}


@pytest.mark.parametrize("entry, expected", [
    ({**GOOD, "repeat": {"JobId": ["a", 1_000_000_000]}}, "at repeat/JobId/1: 1000000000 is greater than the maximum"),
    ({**GOOD, "repeat": {"JobId": ["a", -1]}}, "at repeat/JobId/1: -1 is less than the minimum of 0"),
    ({**GOOD, "repeat": {"JobId": ["a", 5.0]}}, "at repeat/JobId/1: 5.0 is not of type 'integer'"),
    ({**GOOD, "repeat": {"JobId": "aaaa"}}, "at repeat/JobId: 'aaaa' is not of type 'array'"),
    ({**GOOD, "repeat": {"JobId": ["a" * 101, 2]}}, "at repeat/JobId/0: "),
    ({**GOOD, "document": [], "repeat": {"JobId": ["a", 2]}}, "at document: [] is not of type 'object'"),
    ({**RAW, "raw_body": "x" * (1 << 20 | 1)}, "at raw_body: the value fails the schema's maxLength (1048576)"),
    ({**RAW, "raw_body": "\u0100"}, "at raw_body: 'Ā' does not match"),
    ({**RAW, "raw_body": 5}, "at raw_body: 5 is not of type 'string'"),
    ({**RAW, "headers": {"X-Amz-Target": 5}}, "at headers/X-Amz-Target: 5 is not of type 'string', 'null'"),
    ({**RAW, "headers": {"Bad Name": "x"}}, "at headers: 'Bad Name' does not match"),
    ({**RAW, "headers": {"X": "a\r\nInjected: 1"}}, "at headers/X: "),
    ({**RAW, "headers": {"X": "{nope}"}}, "at headers/X: '{nope}' names {nope}, which is no placeholder"),
    ({**RAW, "path": "/{"}, "at path: '/{' cannot be filled in"),
    ({**RAW, "path": "no-slash"}, "at path: 'no-slash' does not match"),
    ({**RAW, "protocol": "restJson1"}, "at protocol: 'restJson1' is not one of ['awsJson1_1', 'rpcv2Cbor']"),
    ({**RAW, "method": "FETCH"}, "at method: 'FETCH' is not one of"),
    ({**GOOD, "method": "GET"}, "at (the entry): 'protocol' is a dependency of 'method'"),
    ({**GOOD, "reapeat": {}}, "at (the entry): Additional properties are not allowed ('reapeat' was unexpected)"),
    ({**GOOD, "description": 5}, "at description: 5 is not of type 'string'"),
    ({**GOOD, "category": "nonsense"}, "unknown case category 'nonsense'"),
    ({"category": "valid.mixed"}, "needs either 'document' (or 'repeat') or 'raw_body'"),
    ({**GOOD, **RAW, "category": "valid.mixed"}, "needs either 'document' (or 'repeat') or 'raw_body'"),
])
def test_a_malformed_catalog_entry_is_refused_naming_it(entry: dict[str, Any], expected: str,
                                                        tmp_path: Path) -> None:
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps({"examples": [GOOD, entry]}))
    category = entry["category"]
    with pytest.raises(catalog.CatalogError) as caught:
        catalog.load_entries(catalog_file)
    message = str(caught.value)
    assert message.startswith(f"{catalog_file}: example 1 ({category}): ") and expected in message, message
    assert len(message) < 400
    # A run given that catalog stops there, before anything is sent.
    assert expected in _prepare_error(default_schema_dir(), catalog=catalog_file)


@pytest.mark.parametrize("data, expected", [
    ([], "at (top level): [] is not of type 'object'"),
    ({"examples": {}}, "at examples: {} is not of type 'array'"),
    ({"examples": [5]}, "example 0 (no category): at (the entry): 5 is not of type 'object'"),
    ({"examples": [{"category": 5, "document": {}}]}, "example 0 (no category): at category: 5 is not of type"),
    ({"examples": [], "extra": 1}, "at (top level): Additional properties are not allowed"),
])
def test_a_malformed_catalog_is_refused_naming_where(data: object, expected: str, tmp_path: Path) -> None:
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(data))
    with pytest.raises(catalog.CatalogError, match="^" + re.escape(str(catalog_file))) as caught:
        catalog.load_entries(catalog_file)
    assert expected in str(caught.value)


def test_a_catalog_nested_past_what_json_reads_is_refused(tmp_path: Path) -> None:
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(catalog.CatalogError, match="not valid JSON"):
        catalog.load_entries(catalog_file)
