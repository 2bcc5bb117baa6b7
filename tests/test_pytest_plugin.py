"""The pytest plugin: prefixed options beside a project's own, ini keys, stable test ids, short failures."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.generation import catalog
from conformance.model.operations import default_schema_dir
from conformance.reference import ReferenceServer
from conformance.reference.variants import build_app
from conformance.suite import test_conformance as suite

# A project's conftest.py defining the plain names the plugin once took (pytest-profiling adds `--profile`).
CLASHING_CONFTEST = """
def pytest_addoption(parser):
    for name in ("--region", "--profile", "--endpoint-url", "--protocol", "--rate"):
        parser.addoption(name, default=None)
"""
# The test checks what the plugin resolved and that the project's own options still work.
PROJECT_TEST = """
from conformance.pytest_plugin import options

def test_options(pytestconfig):
    resolved = options(pytestconfig)
    assert pytestconfig.getoption("--region") == "project-region"
    assert resolved.region == "eu-west-1"  # the command line wins over the ini file
    assert resolved.endpoint_url == "http://127.0.0.1:9"
    assert resolved.settle_timeout == 5.0
    assert resolved.max_examples == 7
    assert resolved.no_create_jobs is True
    assert resolved.rate == 2.5  # 10 requests per second over 4 xdist workers
"""
INI = """[pytest]
conformance_endpoint_url = http://127.0.0.1:9
conformance_region = us-west-2
conformance_settle_timeout = 5
conformance_max_examples = 7
conformance_no_create_jobs = true
conformance_rate = 10
"""


def _pytest(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run pytest in a subprocess (so that the installed plugin is loaded as in a user's project)."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], check=False, cwd=cwd,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def test_plugin_coexists_with_a_conftest_defining_plain_options_and_reads_ini_keys(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CLASHING_CONFTEST)
    (tmp_path / "test_project.py").write_text(PROJECT_TEST)
    (tmp_path / "pytest.ini").write_text(INI)
    result = _pytest(tmp_path, "--region", "project-region", "--conformance-region", "eu-west-1",
                     env={"PYTEST_XDIST_WORKER_COUNT": "4"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_a_bad_ini_value_is_a_usage_error_naming_its_key(tmp_path: Path) -> None:
    (tmp_path / "test_project.py").write_text(PROJECT_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\nconformance_rate = fast\n")
    result = _pytest(tmp_path)
    assert result.returncode != 0 and "conformance_rate" in result.stdout + result.stderr


def test_endpoint_url_and_target_exclude_each_other(tmp_path: Path) -> None:
    (tmp_path / "test_project.py").write_text(PROJECT_TEST)
    result = _pytest(tmp_path, "--conformance-target", "moto", "--conformance-endpoint-url", "http://127.0.0.1:9")
    assert result.returncode != 0 and "exclude each other" in result.stdout + result.stderr


def test_test_ids_are_unique() -> None:
    families = [f"{op}-{protocol}-{name}" for op, protocol, name in suite.FAMILIES]
    listed = [f"{op}-{protocol}-{name}" for op, protocol, name in suite.CATALOG]
    assert len(set(families)) == len(families) and len(set(listed)) == len(listed)
    expected = sum(len(catalog.cases_for(suite.BY_NAME[op], protocol, suite.OPERATIONS, catalog.load_entries(),
                                          suite.get_protocol(protocol).inexpressible)) for op, protocol in suite.LANES)
    assert len(listed) == expected  # one test per case: none lost to a shared id


def test_catalog_ids_do_not_depend_on_an_examples_position(tmp_path: Path) -> None:
    data = json.loads(catalog.default_catalog_path().read_text(encoding="utf-8"))
    before = suite.catalog_cases(catalog.load_entries())
    data["examples"].insert(0, {**data["examples"][0], "description": "an entry inserted at the front"})
    data["examples"].reverse()
    moved = tmp_path / "catalog.json"
    moved.write_text(json.dumps(data), encoding="utf-8")
    after = suite.catalog_cases(catalog.load_entries(moved))
    assert set(before) < set(after)
    assert all(after[key] == case for key, case in before.items())


def test_a_failing_family_is_reported_briefly(tmp_path: Path) -> None:
    with ReferenceServer(app=build_app("malformed_json_500")) as server:
        result = _pytest(tmp_path, "--pyargs", "conformance.suite", "--conformance-endpoint-url", server.url,
                         "-k", "test_family and invalid.body.malformed_json")
    assert result.returncode == 1, result.stdout[-3000:]
    failures = result.stdout.split(" FAILURES ")[1].split(" short test summary info ")[0]
    sections = re.split(r"\n_+ test_family\[", failures)[1:]  # one per failed test, after its header line
    assert len(sections) >= 2
    for section in sections:
        assert "FAILED no_server_error" in section and "Draw 1 (case): Case(" in section
        assert "operation='StopP" in section and "Operation(" not in section
        assert len(section.splitlines()) < 40, section


@pytest.mark.parametrize(("flags", "per_family"), [([], 2), (["--conformance-max-examples", "8"], 1),
                                                   (["--conformance-max-examples", "400"], 10)])
def test_max_examples_spreads_over_the_families(tmp_path: Path, flags: list[str], per_family: int) -> None:
    """N per lane over its 37 families: N // 37 examples each, at least one (the default N is 100)."""
    result = _pytest(tmp_path, "--pyargs", "conformance.suite", *flags, "--hypothesis-show-statistics",
                     "-k", "test_family and awsJson1_1 and StopPHI and invalid.length")
    assert result.returncode == 0, result.stdout[-3000:]
    stopped = set(re.findall(r"Stopped because settings.max_examples=(\d+)", result.stdout))
    assert stopped == {str(per_family)}, result.stdout[-3000:]


def test_a_hypothesis_profile_chosen_keeps_its_max_examples(tmp_path: Path) -> None:
    result = _pytest(tmp_path, "--pyargs", "conformance.suite", "--hypothesis-profile", "default",
                     "--hypothesis-show-statistics", "-k", "test_family and awsJson1_1 and StopPHI and invalid.length")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "max_examples=2" not in result.stdout and "max_examples=100" in result.stdout, result.stdout[-3000:]


def test_target_moto_starts_moto_and_tests_it(tmp_path: Path) -> None:
    pytest.importorskip("moto")
    result = _pytest(tmp_path, "--pyargs", "conformance.suite", "--conformance-target", "moto",
                     "--conformance-settle-timeout", "1", "-k", "catalog_example and StopPii and awsJson1_1")
    assert " passed" in result.stdout or " failed" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    assert " error" not in result.stdout.splitlines()[-1]  # moto started: the tests ran, none errored in setup


def test_the_plugin_tests_the_mission_by_default_and_the_family_or_a_folder_when_asked(tmp_path: Path) -> None:
    def operations(*flags: str) -> set[str]:
        result = _pytest(tmp_path, "--pyargs", "conformance.suite", "--collect-only", *flags)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return set(re.findall(r"\[(Stop\w+)-", result.stdout))

    assert operations() == {"StopPiiEntitiesDetectionJob", "StopPHIDetectionJob"}
    assert len(operations("--conformance-all-operations")) == 12
    folder = tmp_path / "schemas"
    folder.mkdir()
    shutil.copy(default_schema_dir() / "comprehend.StopSentimentDetectionJob.json", folder)
    assert operations("--conformance-schemas", str(folder)) == {"StopSentimentDetectionJob"}


def test_a_missing_schemas_folder_is_a_usage_error_without_a_traceback(tmp_path: Path) -> None:
    result = _pytest(tmp_path, "--pyargs", "conformance.suite", "--conformance-schemas", str(tmp_path / "none"))
    assert result.returncode == 4  # pytest's usage error
    assert f"--conformance-schemas: {tmp_path / 'none'}: no such folder" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def _dead_url() -> str:
    """A loopback URL nothing listens on."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}"


def test_a_dead_endpoint_from_the_config_file_ends_the_session_at_once_in_one_error(tmp_path: Path) -> None:
    """[tool.conformance]'s endpoint is used (no embedded server), and answering nothing ends the session: exit 3,
    a few lines saying UNREACHABLE and why, not hundreds of "not served" skips and errors."""
    url = _dead_url()
    (tmp_path / "pyproject.toml").write_text(f'[tool.conformance]\nendpoint-url = "{url}"\n', encoding="utf-8")
    result = _pytest(tmp_path, "--pyargs", "conformance.suite")
    output = result.stdout + result.stderr
    assert result.returncode == 3, output[-3000:]
    assert f"UNREACHABLE: {url}" in output and "connection refused" in output, output[-3000:]
    assert "not served" not in output and len(output.splitlines()) < 10, output[-3000:]


CONFIG_TEST = """
from hypothesis import core

from conformance.pytest_plugin import options

def test_options(pytestconfig):
    resolved = options(pytestconfig)
    assert (resolved.endpoint_url, resolved.target) == (None, "reference")  # the command line's target wins
    assert resolved.region == "eu-west-1"  # the ini file over the config file
    assert resolved.max_examples == 9 and resolved.no_create_jobs is True  # the config file's
    assert resolved.checks == frozenset({"answered"})
    assert resolved.seed == 42 and core.global_force_seed == 42
    assert resolved.config_file.name == "conformance.toml"
"""


def test_the_config_file_is_read_and_the_ini_file_and_command_line_override_it(tmp_path: Path) -> None:
    """conformance.toml as `conformance run` reads it; keys only the CLI has (budget) are left to it."""
    (tmp_path / "conformance.toml").write_text(
        'endpoint-url = "http://127.0.0.1:9"\nregion = "us-west-2"\nmax-examples = 9\nno-create-jobs = true\n'
        'check = ["answered", "status_code"]\nexclude-check = ["status_code"]\nseed = 42\nbudget = 10\n',
        encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nconformance_region = eu-west-1\n")
    (tmp_path / "test_project.py").write_text(CONFIG_TEST)
    result = _pytest(tmp_path, "--conformance-target", "reference")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_both_exclusive_options_in_the_config_file_are_a_usage_error_naming_both(tmp_path: Path) -> None:
    (tmp_path / "conformance.toml").write_text('endpoint-url = "http://127.0.0.1:9"\ntarget = "moto"\n')
    result = _pytest(tmp_path, "--pyargs", "conformance.suite")
    output = result.stdout + result.stderr
    assert result.returncode == 4 and "endpoint-url and target exclude each other" in output, output[-3000:]
    assert "conformance.toml" in output and len(output.splitlines()) < 5, output[-3000:]  # one usage error


def test_check_selection_leaves_out_the_failing_check_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    """The failures of no_server_error and status_code (a 500 for malformed JSON) are not judged once excluded,
    nor when only another check is chosen; an unknown id is a usage error."""
    selected = ("-k", "test_family and invalid.body.malformed_json")
    with ReferenceServer(app=build_app("malformed_json_500")) as server:
        for flags in (["--conformance-exclude-check", "no_server_error", "--conformance-exclude-check", "status_code"],
                      ["--conformance-check", "answered"]):
            result = _pytest(tmp_path, "--pyargs", "conformance.suite", "--conformance-endpoint-url", server.url,
                             *selected, *flags)
            assert result.returncode == 0 and "passed" in result.stdout, result.stdout[-3000:]
        unknown = _pytest(tmp_path, "--pyargs", "conformance.suite", "--conformance-endpoint-url", server.url,
                          *selected, "--conformance-check", "no_such_check")
    assert unknown.returncode != 0 and "no_such_check" in unknown.stdout + unknown.stderr
