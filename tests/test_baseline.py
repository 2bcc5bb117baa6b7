"""Accepted failures (`conformance run --baseline FILE`): a baseline written from moto's failures lets moto pass with
any seed, a moto with one more fault fails naming only it, an entry the reference server no longer reproduces is
reported fixed (and fails with --baseline-strict), and bad baseline files are one line and exit 2. All against real
servers over loopback."""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cli import main
from conformance.engine.baseline import (
    BASELINE_FORMAT,
    Baseline,
    BaselineError,
    Entry,
    dumps,
    judge,
    load,
    merged,
    parse,
    pruned,
)
from conformance.reference import ReferenceServer, Timings
from conformance.reference.variants import VARIANTS, build_app
from conformance.targets.moto import moto_server

REPO = Path(__file__).parent.parent
SCHEMA = json.loads((REPO / "docs" / "baseline.schema.json").read_text(encoding="utf-8"))
REPORT_SCHEMA = json.loads((REPO / "docs" / "report.schema.json").read_text(encoding="utf-8"))
# Small runs: moto never settles a stopped job (--settle-timeout 1), and each run starts its own moto. Moto cannot
# start a Comprehend Medical job, so the job flows of StopPHIDetectionJob are never judged and the run is incomplete
# whatever the baseline says (a baseline accepts failures, not missing coverage): --accept-incomplete.
MOTO_RUN = ["run", "--max-examples", "5", "--settle-timeout", "1", "--accept-incomplete"]
FAST_JOBS = Timings(queued=0.05, running=600.0, stopping=0.2)


def _entries(path: Path) -> list[dict[str, str]]:
    """The file's entries, after checking it against docs/baseline.schema.json."""
    document = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    return list(document["entries"])


def _report(path: Path) -> dict[str, Any]:
    """A JSON report, checked against docs/report.schema.json."""
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(data)
    return data


# --- 1. moto's failures as a baseline: moto passes with it, under any seed --------------------------------------

@pytest.fixture(scope="module")
def moto_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """moto's failures of seed 1, written by --baseline-update (the file did not exist)."""
    path = tmp_path_factory.mktemp("moto") / "conformance-baseline.json"
    code = main([*MOTO_RUN, "--target", "moto", "--seed", "1", "--baseline", str(path), "--baseline-update"])
    assert code == 1  # every failure was new to the empty baseline, and the verdict is against the file as it was
    return path


def test_moto_passes_against_its_baseline_with_the_seed_that_wrote_it_and_another(
        moto_baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = _entries(moto_baseline)
    assert len(entries) > 10 and entries == sorted(entries, key=lambda e: tuple(e[k] for k in Entry.__annotations__))
    text = moto_baseline.read_text(encoding="utf-8")
    assert "job-" not in text and "RequestId" not in text  # no JobId, no request id: nothing of one run
    capsys.readouterr()
    for seed in ("1", "2"):
        report = tmp_path / f"seed{seed}.json"
        code = main([*MOTO_RUN, "--target", "moto", "--seed", seed, "--baseline", str(moto_baseline),
                     "--report-json", str(report)])
        out = capsys.readouterr().out
        data = _report(report)
        assert code == 0, (seed, data["verdict_reasons"], data["baseline"]["new_causes"])
        assert data["baseline"]["new"] == 0 and data["baseline"]["accepted_failures"] == len(data["failures"]) > 0
        assert all(record["accepted"] for record in data["failures"])
        assert "accepted failure(s) of the baseline" in out.strip().splitlines()[-1]


def test_an_update_with_another_seed_adds_only_causes_it_did_not_have(moto_baseline: Path, tmp_path: Path) -> None:
    copy = tmp_path / "baseline.json"
    copy.write_bytes(moto_baseline.read_bytes())
    before = {tuple(e.values()) for e in _entries(copy)}
    report = tmp_path / "report.json"
    main([*MOTO_RUN, "--target", "moto", "--seed", "3", "--baseline", str(copy), "--baseline-update",
          "--report-json", str(report)])
    after = {tuple(e.values()) for e in _entries(copy)}
    new = {tuple(e.values()) for e in _report(report)["baseline"]["new_causes"]}
    assert after == before | new  # it grows by exactly the new causes, and loses none
    if not new:  # the same causes: the file is byte for byte the same
        assert copy.read_bytes() == moto_baseline.read_bytes()


# --- 2. one more fault: only it is new ----------------------------------------------------------------------------

class _Proxy(BaseHTTPRequestHandler):
    """Forwards every request to moto as it came; with `fault` on, drops x-amzn-RequestId from the answers to
    StopPiiEntitiesDetectionJob (one operation, one kind of answer changed)."""

    protocol_version = "HTTP/1.1"
    upstream = ("127.0.0.1", 0)
    fault = False

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            answer = connection.getresponse()
            data = answer.read()
            headers = answer.getheaders()
        finally:
            connection.close()
        operation = f"{self.headers.get('X-Amz-Target', '')} {self.path}"
        drop = {"transfer-encoding", "connection", "content-length"}
        if type(self).fault and "StopPiiEntitiesDetectionJob" in operation:
            drop |= {"x-amzn-requestid", "x-amz-request-id"}
        self.send_response_only(answer.status, answer.reason)
        for name, value in headers:
            if name.lower() not in drop:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _forward

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def _faulty_moto() -> Iterator[tuple[str, type[_Proxy]]]:
    """moto behind the proxy: its URL, and the handler class whose `fault` turns the fault on."""
    with moto_server() as url:
        handler = type("MotoProxy", (_Proxy,), {"upstream": ("127.0.0.1", int(url.rsplit(":", 1)[1]))})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", handler
        finally:
            server.shutdown()
            server.server_close()


def test_a_moto_with_one_more_fault_fails_naming_only_the_new_failures(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    baseline, report = tmp_path / "baseline.json", tmp_path / "report.json"
    with _faulty_moto() as (url, handler):
        run = [*MOTO_RUN, "--endpoint-url", url, "--seed", "5", "--baseline", str(baseline)]
        main([*run, "--baseline-update"])  # moto as it is, through the proxy
        assert main(run) == 0
        handler.fault = True
        capsys.readouterr()
        code = main([*run, "--report-json", str(report)])
    verdict = capsys.readouterr().out.strip().splitlines()[-1]
    data = _report(report)
    new = data["baseline"]["new_causes"]
    assert code == 1 and verdict.startswith("DOES NOT CONFORM: ") and "new check failure(s)" in verdict, verdict
    assert new and {(e["operation"], e["check"]) for e in new} == {("StopPiiEntitiesDetectionJob", "request_id_header")}
    fresh = [r for r in data["failures"] if not r["accepted"]]
    assert len(fresh) == data["baseline"]["new"] and {r["check"] for r in fresh} == {"request_id_header"}
    assert all(r["operation"].startswith("StopPiiEntitiesDetectionJob over") for r in fresh)
    assert data["baseline"]["accepted_failures"] > 0 and data["baseline"]["fixed"] == []


# --- 3. a fixed entry -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def max_length_33_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The failures of the reference server's variant max_length_33, as a baseline."""
    path = tmp_path_factory.mktemp("variant") / "baseline.json"
    variant = VARIANTS["max_length_33"]
    with ReferenceServer(app=build_app("max_length_33", timings=FAST_JOBS), http_options=variant.http) as server:
        code = main(["run", "--endpoint-url", server.url, "--max-examples", "10", "--seed", "7", "--settle-timeout",
                     "2", "--baseline", str(path), "--baseline-update"])
    assert code == 1 and _entries(path)
    return path


def test_an_entry_the_run_no_longer_reproduces_is_reported_fixed_and_fails_only_when_strict(
        max_length_33_baseline: Path, live_reference_server: ReferenceServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    entries = {tuple(e.values()) for e in _entries(max_length_33_baseline)}
    run = ["run", "--endpoint-url", live_reference_server.url, "--max-examples", "10", "--seed", "8",
           "--settle-timeout", "2", "--baseline", str(max_length_33_baseline)]
    report = tmp_path / "report.json"
    capsys.readouterr()
    assert main([*run, "--report-json", str(report)]) == 0
    out = capsys.readouterr().out
    data = _report(report)["baseline"]
    fixed = {tuple(e.values()) for e in data["fixed"]}
    assert fixed and fixed <= entries and data["new"] == 0
    assert len(fixed) + data["not_tested"] == len(entries)  # each entry is fixed or was not tested: none reproduced
    assert "fixed: " in out and "remove it from the baseline" in out
    markdown, junit = tmp_path / "summary.md", tmp_path / "junit.xml"
    assert main([*run, "--baseline-strict", "--report-markdown", str(markdown), "--junitxml", str(junit)]) == 1
    assert "baseline entr(ies) fixed, and --baseline-strict" in capsys.readouterr().out.strip().splitlines()[-1]
    assert "| fixed: remove it |" in markdown.read_text(encoding="utf-8")
    assert 'name="baseline"' in junit.read_text(encoding="utf-8")
    # --baseline-prune drops exactly the fixed entries (of a copy: the module's other tests read the file)
    copy = tmp_path / "pruned.json"
    copy.write_bytes(max_length_33_baseline.read_bytes())
    assert main([*run[:-1], str(copy), "--baseline-prune"]) == 0
    assert {tuple(e.values()) for e in _entries(copy)} == entries - fixed


# --- 4. properties ----------------------------------------------------------------------------------------------

_text = st.sampled_from(["a", "b", "StopPHIDetectionJob", "no answer", "400 ValidationException"])
ENTRIES = st.builds(Entry, _text, st.sampled_from(["awsJson1_1", "rpcv2Cbor"]), _text, _text, _text)


@settings(max_examples=200, deadline=None)
@given(failures=st.lists(ENTRIES, max_size=30))
def test_failures_judged_against_their_own_baseline_are_all_accepted(failures: list[Entry]) -> None:
    baseline = Baseline(Path("b.json"), parse(dumps(merged((), failures), "0"), Path("b.json")))
    judgement = judge(baseline, failures, [])
    assert judgement.new == () and judgement.new_failures == 0 and not judgement.fails
    assert judgement.accepted_failures == len(failures) and set(judgement.accepted) == set(failures)
    assert judgement.fixed == () and judgement.not_tested == ()


@settings(max_examples=200, deadline=None)
@given(old=st.lists(ENTRIES, max_size=20), more=st.lists(ENTRIES, max_size=20))
def test_merging_is_idempotent_and_order_independent(old: list[Entry], more: list[Entry]) -> None:
    once = merged(old, more)
    assert merged(once, more) == once and merged(more, old) == once and merged(old, reversed(more)) == once
    assert dumps(once, "0") == dumps(list(reversed(sorted(once))), "0")  # the file does not depend on order either


@settings(max_examples=200, deadline=None)
@given(entries=st.lists(ENTRIES, max_size=20), failures=st.lists(ENTRIES, max_size=20), tested=st.data())
def test_pruning_removes_only_tested_entries_that_did_not_reproduce(entries: list[Entry], failures: list[Entry],
                                                                    tested: st.DataObject) -> None:
    keys = tested.draw(st.lists(st.sampled_from([e.tested_key for e in entries]) if entries else st.nothing()))
    judgement = judge(Baseline(Path("b"), frozenset(entries)), failures, keys)
    left = pruned(entries, judgement.fixed)
    for entry in set(entries) - left:
        assert entry.tested_key in set(keys) | {f.tested_key for f in failures} and entry not in failures
    assert set(judgement.accepted) <= left and set(judgement.not_tested) <= left
    assert set(entries) == left | set(judgement.fixed)


# --- 5. bad baseline files --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "said"), [
    (None, "no such file (create it with --baseline-update)"),
    ("{not json", "not JSON"),
    ("[]", "must be a JSON object"),
    ('{"format": "conformance-baseline/9", "tool_version": "1", "entries": []}', "is not 'conformance-baseline/1'"),
    (f'{{"format": "{BASELINE_FORMAT}", "tool_version": "1", "entries": {{}}}}', "a list of entries"),
    (f'{{"format": "{BASELINE_FORMAT}", "tool_version": "1", "entries": [{{"operation": "X"}}]}}', "entry 1 must"),
    (f'{{"format": "{BASELINE_FORMAT}", "tool_version": "1", "entries": [], "seed": 1}}', "found seed"),
])
def test_a_bad_baseline_file_is_one_line_and_exit_2(content: str | None, said: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["run", "--baseline", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("conformance: error: baseline ") and said in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    with pytest.raises(BaselineError):
        load(path)


@pytest.mark.parametrize(("flags", "said"), [
    (["--baseline-update"], "--baseline-update need(s) --baseline FILE"),
    (["--baseline-strict", "--baseline-prune"], "need(s) --baseline FILE"),
    (["--baseline", "{tmp}/nowhere/b.json", "--baseline-update"], "cannot write --baseline"),
    (["--baseline", "{tmp}/b.json", "--baseline-update", "--dry-run"], "--dry-run judges nothing"),
])
def test_baseline_options_that_cannot_work_are_refused_before_anything_is_sent(
        flags: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", *(flag.replace("{tmp}", str(tmp_path)) for flag in flags)]) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b.json").exists()


# --- the pytest plugin: accepted failures are xfails, fixed entries xpasses (strict: failures) ---------------------

def _plugin(cwd: Path, url: str, baseline: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """The suite under pytest (a subprocess, with the installed plugin), on one lane's too-long JobIds."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rxX", "--pyargs",
                           "conformance.suite", "--conformance-endpoint-url", url, "--conformance-baseline",
                           str(baseline), *flags, "-k", "StopPHI and awsJson1_1 and too_long"],
                          check=False, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_plugin_turns_accepted_failures_into_xfails_and_fixed_entries_into_xpasses(
        max_length_33_baseline: Path, live_reference_server: ReferenceServer, tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(dumps([], "0"), encoding="utf-8")
    with ReferenceServer(app=build_app("max_length_33", timings=FAST_JOBS)) as faulty:
        accepted = _plugin(tmp_path, faulty.url, max_length_33_baseline)
        unaccepted = _plugin(tmp_path, faulty.url, empty)
    assert accepted.returncode == 0 and " xfailed" in accepted.stdout and "accepted by the baseline" in accepted.stdout
    assert " failed" not in accepted.stdout, accepted.stdout[-3000:]
    assert unaccepted.returncode == 1 and " failed" in unaccepted.stdout  # the same failures, with no entry: they fail
    fixed = _plugin(tmp_path, live_reference_server.url, max_length_33_baseline)
    assert fixed.returncode == 0 and " xpassed" in fixed.stdout and "fixed: remove it from the baseline" in fixed.stdout
    strict = _plugin(tmp_path, live_reference_server.url, max_length_33_baseline, "--conformance-baseline-strict")
    assert strict.returncode == 1 and "[XPASS(strict)] fixed" in strict.stdout, strict.stdout[-3000:]


def test_the_plugin_refuses_a_bad_baseline_file_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    result = _plugin(tmp_path, "http://127.0.0.1:9", tmp_path / "bad.json")
    assert result.returncode == 4 and "--conformance-baseline: baseline " in result.stderr and "not JSON" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_the_moto_baseline_example_gates_on_the_baseline_with_commands_the_cli_takes() -> None:
    import re
    import shlex

    yaml = pytest.importorskip("yaml")
    from conformance.cli import build_parser

    text = (REPO / "examples" / "github-actions-moto-baseline.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    steps = workflow["jobs"]["moto-baseline"]["steps"]
    script = " ".join(re.sub(r"\\\n\s*", " ", step.get("run", "")) for step in steps)
    commands = [shlex.split(line.strip())[1:] for line in script.split("\n") if line.strip().startswith("conformance ")]
    parsed = [build_parser().parse_args([part.replace("${{ github.run_id }}", "12345") for part in command])
              for command in commands]
    assert len(parsed) == 1 and parsed[0].target == "moto" and parsed[0].baseline == Path("conformance-baseline.json")
    assert not parsed[0].baseline_update and not parsed[0].baseline_prune  # the gate never rewrites its baseline
    assert "--baseline-update" in text and "--baseline-prune" in text  # the comment says how to update it


def test_the_config_file_takes_the_baseline_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "conformance.toml").write_text('baseline = "b.json"\nbaseline-strict = true\n', encoding="utf-8")
    (tmp_path / "b.json").write_text('{"format": "conformance-baseline/0"}', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    from conformance.cli import build_parser

    args = build_parser().parse_args(["run"])
    assert args.baseline == Path("b.json") and args.baseline_strict is True
    assert main(["run", "--dry-run"]) == 2  # the file's baseline is read, and refused: wrong format
    assert "conformance-baseline/0" in capsys.readouterr().err
