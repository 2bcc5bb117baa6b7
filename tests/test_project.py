"""The project frame: the README's commands, .ci/run, and the packaged schemas."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, post


def _readme_commands() -> list[str]:
    return re.findall(r"```sh\n(python3 -m venv .*)\n```", (REPO / "README.md").read_text(encoding="utf-8"))


def test_ci_runs_exactly_the_readme_test_command() -> None:
    run_command, test_command = _readme_commands()
    assert "pytest" in test_command and "conformance" in run_command
    ci_lines = [line for line in (REPO / ".ci/run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci_lines[-1] == test_command
    # Before it: the shell's settings, the folder, and on CI only one documented step that installs the browser the
    # HTML report's test opens; nothing that installs the project or runs tests another way.
    assert ci_lines[:2] == ["set -euo pipefail", 'cd "$(dirname "$0")/.."']
    step = ci_lines[2:-1]
    if step:
        assert step[0].startswith('if [ "${CI:-}" = "true" ]') and step[-1] == "fi", step
        assert "apt-get install -y -qq chromium" in step[-2], step
        assert not any(word in line for line in step for word in ("pytest", "pip", "venv", "conformance")), step


def test_serve_command_starts_and_answers(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        status, _, answer = post(url.group(0), "Comprehend_20171127.StopPiiEntitiesDetectionJob", '{"JobId": "x"}')
        assert (status, answer["__type"]) == (400, "JobNotFoundException")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_reports_a_busy_port_without_a_traceback() -> None:
    first = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", "0"],
                             stdout=subprocess.PIPE, text=True)
    try:
        port = re.search(r":(\d+) ", first.stdout.readline() if first.stdout else "")
        assert port
        second = subprocess.run([sys.executable, "-m", "conformance", "serve", "--port", port.group(1)],
                                capture_output=True, text=True, timeout=30)
        assert second.returncode == 2
        assert "cannot listen on 127.0.0.1:" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.terminate()
        first.wait(timeout=10)


def test_serve_rejects_a_bad_schema_folder(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{")
    result = subprocess.run([sys.executable, "-m", "conformance", "serve", "--port", "0", "--schemas", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "not valid JSON" in result.stderr and "Traceback" not in result.stderr


def test_serve_stops_cleanly_on_interrupt() -> None:
    import signal

    process = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout and "listening" in process.stdout.readline()
    time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "stopped" in out and "Traceback" not in err


def test_run_interrupted_exits_130_without_a_traceback_and_reports_what_was_judged(tmp_path: Path) -> None:
    import json
    import signal

    report = tmp_path / "report.json"
    process = subprocess.Popen([sys.executable, "-m", "conformance", "run", "--max-examples", "300", "--seed", "1",
                                "--rate", "20", "--report-json", str(report)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr
    while "cases" not in process.stderr.readline():  # the first progress line: cases are being sent
        assert process.poll() is None
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert out.strip().splitlines()[-1].startswith("INTERRUPTED: interrupted (Ctrl-C) after ")
    data = json.loads(report.read_text())
    assert data["verdict"] == "interrupted" and data["exit_status"] == 130
    assert data["summary"]["cases"] > 0 and not data["jobs"]["left_running"]


def test_the_github_actions_example_gates_releases_on_aws_and_pull_requests_on_loopback() -> None:
    import shlex

    yaml = __import__("pytest").importorskip("yaml")
    from conformance.cli import build_parser

    workflow = yaml.safe_load((REPO / "examples" / "github-actions.yml").read_text(encoding="utf-8"))
    reference, aws = workflow["jobs"]["reference"], workflow["jobs"]["aws"]
    assert aws["if"] == "startsWith(github.ref, 'refs/tags/v')" and aws["permissions"]["id-token"] == "write"
    assert "role-to-assume" in next(s for s in aws["steps"] if "configure-aws-credentials" in s.get("uses", ""))["with"]
    assert "id-token" not in workflow.get("permissions", {}) and "if" not in reference
    commands = []
    for job in (reference, aws):
        for step in job["steps"]:
            script = re.sub(r"\\\n\s*", " ", step.get("run", ""))  # join continued lines
            commands += [shlex.split(line.strip().split("|")[0].rstrip(" &"))[1:] for line in script.splitlines()
                         if line.strip().startswith("conformance ")]
    parsed = [build_parser().parse_args([part.replace("$AWS_REGION", "eu-west-1") for part in command])
              for command in commands]  # every command line in the example is one the CLI takes
    real = [args for args in parsed if args.command == "run" and args.target == "aws" and not args.dry_run
            and not args.allow_credentials_to_custom_endpoint]
    assert len(real) == 1 and real[0].budget and real[0].rate and real[0].create_jobs
    assert all(("AKIDEXAMPLE" not in str(step)) for step in aws["steps"])  # no test key where real ones are


def test_the_exit_statuses_in_readme_and_docs_match_the_code() -> None:
    import re

    from conformance.engine.verdict import EXIT_INTERRUPTED, EXIT_STATUS, EXIT_USAGE, Verdict

    expected = {code: verdict.value.replace("_", " ") for verdict, code in EXIT_STATUS.items()}
    expected |= {EXIT_USAGE: "a usage", EXIT_INTERRUPTED: "interrupted"}
    for path in (REPO / "README.md", REPO / "docs" / "verdicts.md"):
        text = path.read_text(encoding="utf-8")
        start = text.index("**Exit status.**") if "**Exit status.**" in text else text.index("## Exit status")
        section = " ".join(text[start:start + 1200].split())
        listed = {int(code): words for code, words in re.findall(r"(\d+): ([a-z]+(?: [a-z]+)?)", section)}
        for code, words in expected.items():
            assert code in listed and listed[code].startswith(words.split()[0]), (path.name, code, listed)
            assert words in section, (path.name, words)
        assert set(listed) == set(expected), (path.name, sorted(listed))
    assert {Verdict(v.value) for v in Verdict} == set(EXIT_STATUS)


def test_the_readme_shows_the_oracle_table_as_the_code_has_it() -> None:
    from conformance.judging.oracle import readme_table

    assert readme_table() in (REPO / "README.md").read_text(encoding="utf-8")


def test_every_row_of_the_oracle_is_the_row_of_some_declared_category() -> None:
    """Every row decides some declared category's cases: none is left unused, by its place or by its categories."""
    from conformance.cases import CATEGORIES, Case
    from conformance.judging.oracle import RULES, rule_for

    chosen = {id(rule_for(Case("AnOperation", category.name, category.kind, ""))) for category in CATEGORIES.values()}
    assert [rule.cases for rule in RULES if id(rule) not in chosen] == []


def _shadowed(rules) -> list[tuple[str, str]]:
    """(earlier, later) rows' README text where the earlier row covers every case the later one does, so that
    `rule_for`, which takes the first row that covers a case, never reaches the later one: same kind, and the
    earlier row a catch-all, or of every category the later one names (a catch-all covers more than any row of
    categories)."""
    return [(earlier.cases, later.cases) for i, earlier in enumerate(rules) for later in rules[i + 1:]
            if earlier.kind is later.kind and (not earlier.categories or (
                later.categories and set(earlier.categories) >= set(later.categories)))]


def test_no_row_of_the_oracle_shadows_another() -> None:
    """Whatever the declared categories are, each row is reachable: a more specific row stands before any row that
    covers all its cases."""
    from conformance.cases import categories
    from conformance.judging.oracle import RULES

    assert _shadowed(RULES) == []
    # The check sees a catch-all moved before a row of one category of its kind, and a second row for a category.
    null_row = next(i for i, rule in enumerate(RULES) if rule.categories == (categories.TYPE_NULL,))
    catch_all = next(i for i, rule in enumerate(RULES) if rule.kind is RULES[null_row].kind and not rule.categories)
    moved = [*RULES]
    moved.insert(null_row, moved.pop(catch_all))
    assert _shadowed(moved) == [(RULES[catch_all].cases, RULES[null_row].cases)]
    assert _shadowed([*RULES, RULES[null_row]]) == [(RULES[null_row].cases, RULES[null_row].cases),
                                                    (RULES[catch_all].cases, RULES[null_row].cases)]


def test_serve_takes_a_connection_maximum(capsys) -> None:
    from conformance.cli import build_parser

    assert build_parser().parse_args(["serve", "--max-connections", "40"]).max_connections == 40
    for bad in ("0", "-3", "²"):
        try:
            build_parser().parse_args(["serve", "--max-connections", bad])
        except SystemExit as exit_:
            assert exit_.code == 2
        else:
            raise AssertionError(f"--max-connections {bad} was accepted")
    assert "--max-connections" in capsys.readouterr().err


def test_a_ctrl_c_while_the_run_waits_on_workers_ends_the_wait_and_leaves_no_lock_held() -> None:
    import os
    import signal
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from conformance.engine.phases import Interruption

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        __import__("pytest").skip("this session handles Ctrl-C itself")
    interruption = Interruption()
    with ThreadPoolExecutor(max_workers=1) as pool:
        worker = pool.submit(time.sleep, 1.0)
        # From another thread, as the kernel may deliver it: the handler still runs on the main thread.
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        began = time.monotonic()
        with interruption.handled(), __import__("pytest").raises(KeyboardInterrupt):
            interruption.settle([worker])
        assert time.monotonic() - began < 0.9 and interruption.noted.is_set()
    assert worker.done() and worker.exception() is None  # the worker could set its result: no lock left held
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
